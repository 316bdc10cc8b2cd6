package emulator

import (
	"errors"
	"syscall"
)

// groupSignalable reports whether signal 0 reaches any process in group pgid.
func groupSignalable(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
