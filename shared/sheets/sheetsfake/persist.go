package sheetsfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// snapshotFile is the JSON snapshot Open keeps in its directory.
const snapshotFile = "sheetsfake.json"

// Open returns a Fake whose state lives in dir: it loads dir/sheetsfake.json when present and
// saves it shortly after writes (WithDebounce) and on Close. With WithExport it also writes dir/<spreadsheetId>.<ext> through
// the exporter (an .xlsx for a spreadsheet program, in the CLI's devstack) shortly after
// writes and on Close.
func Open(dir string, opts ...Option) (*Fake, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sheetsfake: %w", err)
	}
	f := New(opts...)
	f.dir = dir
	data, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("sheetsfake: %w", err)
	default:
		var books map[string]*book
		if err := json.Unmarshal(data, &books); err != nil {
			return nil, fmt.Errorf("sheetsfake: %s: %w", snapshotFile, err)
		}
		for id, b := range books {
			f.books[id] = b
		}
	}
	return f, nil
}

// changed records a write to a spreadsheet. f.mu must be held.
func (f *Fake) changed(id string) {
	if f.dir == "" {
		return
	}
	// The snapshot is saved with the export, shortly after writes and on Close, not after
	// every write: saving the whole workbook per write made each write cost as much as the
	// workbook is large, so a sync of many batches was quadratic in the sandbox alone (the
	// real API has no such cost). A crash loses at most the debounce's last writes.
	f.dirty[id] = true
	if f.timer == nil {
		f.timer = time.AfterFunc(f.debounce, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.timer = nil
			if err := f.saveSnapshot(); err != nil {
				f.saveErr = err
			}
			f.flushExport()
		})
	}
}

// saveSnapshot writes the JSON snapshot atomically. f.mu must be held.
func (f *Fake) saveSnapshot() error {
	data, err := json.Marshal(f.books)
	if err != nil {
		return err
	}
	tmp := filepath.Join(f.dir, snapshotFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(f.dir, snapshotFile))
}

// Tab is a copy of one tab's data for an exporter: its title, frozen rows and its rows up to
// the last one holding data.
type Tab struct {
	Title  string
	Frozen int
	Rows   [][]Cell
}

// Exporter writes a spreadsheet's tabs to path.
type Exporter func(path string, tabs []Tab) error

// WithExport makes Open write each changed spreadsheet through write to
// dir/<spreadsheetId>.<ext>, shortly after writes (WithDebounce) and on Close.
func WithExport(ext string, write Exporter) Option {
	return func(f *Fake) { f.exportExt, f.export = ext, write }
}

// flushExport exports every changed spreadsheet. f.mu must be held.
func (f *Fake) flushExport() {
	for id := range f.dirty {
		if b, ok := f.books[id]; ok && f.export != nil {
			if err := f.export(filepath.Join(f.dir, id+"."+f.exportExt), tabsOf(b)); err != nil {
				f.saveErr = err
			}
		}
		delete(f.dirty, id)
	}
}

// tabsOf copies a spreadsheet's data for an exporter.
func tabsOf(b *book) []Tab {
	tabs := make([]Tab, len(b.Sheets))
	for i, s := range b.Sheets {
		nr, _ := extent(s)
		rows := make([][]Cell, nr)
		for r := range rows {
			rows[r] = append([]Cell(nil), s.Rows[r]...)
		}
		tabs[i] = Tab{Title: s.Title, Frozen: int(s.Frozen), Rows: rows}
	}
	return tabs
}

// Close writes pending files; the Fake keeps answering afterwards. It returns the first error
// met while saving.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dir == "" {
		return nil
	}
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	if err := f.saveSnapshot(); err != nil && f.saveErr == nil {
		f.saveErr = err
	}
	f.flushExport()
	return f.saveErr
}
