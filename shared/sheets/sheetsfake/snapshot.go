package sheetsfake

import (
	"encoding/json"
	"fmt"
)

// WithOnChange calls fn after each change to a spreadsheet, by a client's write or a test
// hook. fn runs with the Fake's lock held, so it must not call the Fake: a store marks the
// spreadsheet and saves later (Snapshot, Tabs).
func WithOnChange(fn func(spreadsheetID string)) Option {
	return func(f *Fake) { f.onChange = fn }
}

// changed records a change to a spreadsheet. f.mu must be held.
func (f *Fake) changed(id string) {
	if f.onChange != nil {
		f.onChange(id)
	}
}

// Snapshot returns the state of every spreadsheet as JSON, for Restore.
func (f *Fake) Snapshot() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := json.Marshal(f.books)
	if err != nil {
		return nil, fmt.Errorf("sheetsfake: snapshot: %w", err)
	}
	return data, nil
}

// Restore loads the spreadsheets of a Snapshot, replacing those with the same ids.
func (f *Fake) Restore(snapshot []byte) error {
	var books map[string]*book
	if err := json.Unmarshal(snapshot, &books); err != nil {
		return fmt.Errorf("sheetsfake: restore: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, b := range books {
		if b == nil {
			return fmt.Errorf("sheetsfake: restore: spreadsheet %q is null", id)
		}
		f.books[id] = b
	}
	return nil
}

// Tab is a copy of one tab's data for an exporter: its title, frozen rows and its rows up to
// the last one holding data.
type Tab struct {
	Title  string
	Frozen int
	Rows   [][]Cell
}

// Tabs returns a copy of a spreadsheet's tabs, in order (false when there is no such
// spreadsheet).
func (f *Fake) Tabs(spreadsheetID string) ([]Tab, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.books[spreadsheetID]
	if !ok {
		return nil, false
	}
	tabs := make([]Tab, len(b.Sheets))
	for i, s := range b.Sheets {
		nr, _ := extent(s)
		rows := make([][]Cell, nr)
		for r := range rows {
			rows[r] = append([]Cell(nil), s.Rows[r]...)
		}
		tabs[i] = Tab{Title: s.Title, Frozen: int(s.Frozen), Rows: rows}
	}
	return tabs, true
}
