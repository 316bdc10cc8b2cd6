package devstack

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"supportsync.dev/shared/sheets/sheetsfake"
)

// snapshotFile is the JSON snapshot the local sheet keeps in its directory.
const snapshotFile = "sheetsfake.json"

// exporter writes a spreadsheet's tabs to path (writeXLSX).
type exporter func(path string, tabs []sheetsfake.Tab) error

// localSheet is the sandbox's Sheets store: a sheetsfake.Fake whose state lives in a
// directory. It loads dir/sheetsfake.json when present and, shortly after writes (the
// debounce) and on Close, saves it and writes each changed spreadsheet through the exporter
// to dir/<spreadsheetId>.xlsx.
//
// The snapshot is saved after a quiet moment, not after every write: saving the whole
// workbook per write made each write cost as much as the workbook is large, so a sync of many
// batches was quadratic in the sandbox alone (the real API has no such cost). A crash loses
// at most the debounce's last writes.
type localSheet struct {
	*sheetsfake.Fake
	dir      string
	debounce time.Duration
	export   exporter

	saving sync.Mutex // one save at a time

	mu    sync.Mutex // guards what follows; never held while calling the Fake
	dirty map[string]bool
	timer *time.Timer
	err   error
}

// openLocalSheet opens the local sheet kept in dir.
func openLocalSheet(dir string, debounce time.Duration, export exporter, opts ...sheetsfake.Option) (*localSheet, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("local sheet: %w", err)
	}
	ls := &localSheet{dir: dir, debounce: debounce, export: export, dirty: map[string]bool{}}
	ls.Fake = sheetsfake.New(append(slices.Clone(opts), sheetsfake.WithOnChange(ls.changed))...)
	data, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("local sheet: %w", err)
	default:
		if err := ls.Restore(data); err != nil {
			return nil, fmt.Errorf("local sheet %s: %w", filepath.Join(dir, snapshotFile), err)
		}
	}
	return ls, nil
}

// changed marks a spreadsheet to save after the debounce (the Fake's change hook).
func (ls *localSheet) changed(id string) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.dirty[id] = true
	if ls.timer == nil {
		ls.timer = time.AfterFunc(ls.debounce, func() { ls.save() })
	}
}

// save writes the snapshot and exports the spreadsheets changed since the last save,
// remembering the first error for Close.
func (ls *localSheet) save() error {
	ls.saving.Lock()
	defer ls.saving.Unlock()
	ls.mu.Lock()
	ids := slices.Sorted(maps.Keys(ls.dirty))
	clear(ls.dirty)
	if ls.timer != nil {
		ls.timer.Stop()
		ls.timer = nil
	}
	ls.mu.Unlock()

	err := ls.saveSnapshot()
	for _, id := range ids {
		if tabs, ok := ls.Tabs(id); ok && ls.export != nil {
			if e := ls.export(filepath.Join(ls.dir, id+".xlsx"), tabs); e != nil && err == nil {
				err = fmt.Errorf("local sheet: export %s: %w", id, e)
			}
		}
	}
	if err != nil {
		ls.mu.Lock()
		if ls.err == nil {
			ls.err = err
		}
		ls.mu.Unlock()
	}
	return err
}

// saveSnapshot writes the JSON snapshot atomically.
func (ls *localSheet) saveSnapshot() error {
	data, err := ls.Snapshot()
	if err != nil {
		return fmt.Errorf("local sheet: %w", err)
	}
	tmp := filepath.Join(ls.dir, snapshotFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("local sheet: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(ls.dir, snapshotFile)); err != nil {
		return fmt.Errorf("local sheet: %w", err)
	}
	return nil
}

// Close saves what is pending; the Fake keeps answering afterwards. It returns the first
// error met while saving.
func (ls *localSheet) Close() error {
	ls.save()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.err
}
