//go:build !linux

package emulator

// GroupAlive reports whether a process in group pgid still exists (signal 0 reaches it).
func GroupAlive(pgid int) bool { return groupSignalable(pgid) }
