package devstack

import (
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"

	"supportsync.dev/shared/sheets/sheetsfake"
)

// TestWriteXLSX: the local sheet's .xlsx holds a date-time as a formatted serial, a formula as
// text, keeps a frozen header and writes every tab.
func TestWriteXLSX(t *testing.T) {
	path := filepath.Join(t.TempDir(), "local.xlsx")
	serial := 46082.5 // 2026-03-01 12:00:00
	tabs := []sheetsfake.Tab{
		{Title: "Chats", Frozen: 1, Rows: [][]sheetsfake.Cell{
			{{Value: "Thread ID", Bold: true}, {Value: "Started", Bold: true}},
			{{Value: "=1+1", Formula: true}, {Value: serial, Format: sheetsfake.NumberFormat{Type: "DATE_TIME", Pattern: "yyyy-mm-dd hh:mm:ss"}}},
			{{Value: true}, {Value: 42.0}},
		}},
		{Title: "Sync_Log", Rows: [][]sheetsfake.Cell{{{Value: "Run ID"}}}},
	}
	if err := writeXLSX(path, tabs); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := x.GetSheetList(); len(got) != 2 || got[0] != "Chats" || got[1] != "Sync_Log" {
		t.Errorf("sheets %v", got)
	}
	for _, tt := range []struct {
		cell, want string
		raw        bool
	}{
		{"A1", "Thread ID", false}, {"B2", "2026-03-01 12:00:00", false}, {"B2", "46082.5", true},
		{"A2", "=1+1", false}, {"A3", "TRUE", false}, {"B3", "42", false},
	} {
		v, err := x.GetCellValue("Chats", tt.cell, excelize.Options{RawCellValue: tt.raw})
		if err != nil || v != tt.want {
			t.Errorf("%s (raw %v) = %q, %v; want %q", tt.cell, tt.raw, v, err, tt.want)
		}
	}
	if f, _ := x.GetCellFormula("Chats", "A2"); f != "" {
		t.Errorf("A2 is a formula %q; want text", f)
	}
	panes, err := x.GetPanes("Chats")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v, %v; want the header frozen", panes, err)
	}
}
