package sheetsfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/xuri/excelize/v2"
)

// snapshotFile is the JSON snapshot Open keeps in its directory.
const snapshotFile = "sheetsfake.json"

// Open returns a Fake whose state lives in dir: it loads dir/sheetsfake.json when present, saves
// it after every write, and writes dir/<spreadsheetId>.xlsx (dates, numbers, booleans and texts
// typed, for a spreadsheet program) shortly after writes and on Close.
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
	if err := f.saveSnapshot(); err != nil {
		f.saveErr = err
	}
	f.dirty[id] = true
	if f.timer == nil {
		f.timer = time.AfterFunc(f.debounce, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.timer = nil
			f.flushXLSX()
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

// flushXLSX writes the .xlsx copy of every changed spreadsheet. f.mu must be held.
func (f *Fake) flushXLSX() {
	for id := range f.dirty {
		if b, ok := f.books[id]; ok {
			if err := writeXLSX(filepath.Join(f.dir, id+".xlsx"), b); err != nil {
				f.saveErr = err
			}
		}
		delete(f.dirty, id)
	}
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
	f.flushXLSX()
	return f.saveErr
}

// writeXLSX writes a spreadsheet as an .xlsx file.
func writeXLSX(path string, b *book) error {
	x := excelize.NewFile()
	defer x.Close()
	styles := map[string]int{}
	style := func(c Cell) (int, error) {
		key := fmt.Sprintf("%s|%s|%v", c.Format.Type, c.Format.Pattern, c.Bold)
		if id, ok := styles[key]; ok {
			return id, nil
		}
		st := &excelize.Style{}
		if c.Bold {
			st.Font = &excelize.Font{Bold: true}
		}
		if _, isNum := c.Value.(float64); isNum && c.Format.Pattern != "" && c.Format.Type != "TEXT" {
			p := c.Format.Pattern
			st.CustomNumFmt = &p
		} else if isNum && isDate(c.Format.Type) {
			p := "yyyy-mm-dd hh:mm:ss"
			st.CustomNumFmt = &p
		}
		id, err := x.NewStyle(st)
		styles[key] = id
		return id, err
	}
	names := map[string]bool{}
	for i, s := range b.Sheets {
		name := s.Title
		if len([]rune(name)) > 31 {
			name = string([]rune(name)[:31])
		}
		for names[name] {
			name = fmt.Sprintf("%.28s_%d", name, i)
		}
		names[name] = true
		if i == 0 {
			if err := x.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else if _, err := x.NewSheet(name); err != nil {
			return err
		}
		sw, err := x.NewStreamWriter(name)
		if err != nil {
			return err
		}
		if s.Frozen > 0 {
			cell, _ := excelize.CoordinatesToCellName(1, int(s.Frozen)+1)
			if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: int(s.Frozen), TopLeftCell: cell, ActivePane: "bottomLeft"}); err != nil {
				return err
			}
		}
		nr, _ := extent(s)
		for r := 0; r < nr; r++ {
			row := make([]any, len(s.Rows[r]))
			for c, cell := range s.Rows[r] {
				if !cell.hasValue() {
					continue
				}
				id, err := style(cell)
				if err != nil {
					return err
				}
				v := cell.Value
				if cell.Formula {
					v = fmt.Sprint(v) // kept as text: the fake does not evaluate formulas
				}
				row[c] = excelize.Cell{StyleID: id, Value: v}
			}
			addr, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := sw.SetRow(addr, row); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	buf, err := x.WriteToBuffer()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
