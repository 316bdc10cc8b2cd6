package devstack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/option"
	"google.golang.org/api/sheets/v4"

	"supportsync.dev/shared/sheets/sheetsfake"
)

// exports records what a local sheet exports.
type exports struct {
	mu    sync.Mutex
	paths []string
	tabs  [][]sheetsfake.Tab
	err   error // returned by write
}

func (e *exports) write(path string, tabs []sheetsfake.Tab) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.paths, e.tabs = append(e.paths, path), append(e.tabs, tabs)
	return e.err
}

func (e *exports) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.paths)
}

// TestLocalSheetPersistsAndExports: a client's write is exported (trimmed to the data) and
// saved on Close, not before the debounce; reopened, the sheet shows the same values.
func TestLocalSheetPersistsAndExports(t *testing.T) {
	dir := t.TempDir()
	var ex exports
	ls, err := openLocalSheet(dir, time.Hour, ex.write, sheetsfake.AutoCreate())
	if err != nil {
		t.Fatal(err)
	}
	hs := sheetsfake.Serve(ls.Fake)
	defer hs.Close()
	svc, err := sheets.NewService(context.Background(), option.WithEndpoint(hs.URL+"/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	serial := 46082.5 // 2026-03-01 12:00:00
	_, err = svc.Spreadsheets.BatchUpdate("book", &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{
		{UpdateCells: &sheets.UpdateCellsRequest{Start: &sheets.GridCoordinate{}, Fields: "userEnteredValue,userEnteredFormat.numberFormat",
			Rows: []*sheets.RowData{{Values: []*sheets.CellData{
				{UserEnteredValue: &sheets.ExtendedValue{StringValue: ptr("=1+1")}},
				{UserEnteredValue: &sheets.ExtendedValue{NumberValue: &serial},
					UserEnteredFormat: &sheets.CellFormat{NumberFormat: &sheets.NumberFormat{Type: "DATE_TIME", Pattern: "yyyy-mm-dd hh:mm:ss"}}},
			}}}}},
	}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if ex.count() != 0 {
		t.Error("exported before the debounce or Close")
	}
	if _, err := os.Stat(filepath.Join(dir, snapshotFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snapshot saved before the debounce or Close: %v", err)
	}
	if err := ls.Close(); err != nil {
		t.Fatal(err)
	}
	if len(ex.paths) != 1 || ex.paths[0] != filepath.Join(dir, "book.xlsx") || len(ex.tabs[0]) != 1 || len(ex.tabs[0][0].Rows) != 1 {
		t.Fatalf("exported %q: %+v", ex.paths, ex.tabs)
	}
	row := ex.tabs[0][0].Rows[0]
	if ex.tabs[0][0].Title != "Sheet1" || len(row) < 2 || row[0].Value != "=1+1" || row[1].Value != serial || row[1].Format.Type != "DATE_TIME" {
		t.Errorf("exported row %+v", row)
	}

	again, err := openLocalSheet(dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := again.Display("book", "Sheet1")
	if err != nil || len(d) != 1 || d[0][1] != "2026-03-01 12:00:00" {
		t.Errorf("after reopening: %v, %v", d, err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestLocalSheetSavesAfterTheDebounce: without Close, edits are saved and exported once the
// debounce has passed, each changed spreadsheet once per save.
func TestLocalSheetSavesAfterTheDebounce(t *testing.T) {
	dir := t.TempDir()
	var ex exports
	ls, err := openLocalSheet(dir, 30*time.Millisecond, ex.write, sheetsfake.WithSpreadsheet("a"), sheetsfake.WithSpreadsheet("b"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := ls.SetCell("a", "Sheet1", "A1", float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ls.SetCell("b", "Sheet1", "B2", "x"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return ex.count() == 2 })
	if _, err := os.Stat(filepath.Join(dir, snapshotFile)); err != nil {
		t.Fatalf("no snapshot after the debounce: %v", err)
	}
	ex.mu.Lock()
	got := strings.Join(ex.paths, " ")
	ex.mu.Unlock()
	if want := filepath.Join(dir, "a.xlsx") + " " + filepath.Join(dir, "b.xlsx"); got != want {
		t.Errorf("exported %s, want %s", got, want)
	}
	if err := ls.SetCell("a", "Sheet1", "A1", "later"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return ex.count() == 3 })
	reopened, err := openLocalSheet(dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := reopened.Display("a", "Sheet1"); err != nil || d[0][0] != "later" {
		t.Errorf("saved sheet a: %v, %v", d, err)
	}
	if err := ls.Close(); err != nil || ex.count() != 3 {
		t.Errorf("Close with nothing pending: %v, %d exports", err, ex.count())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLocalSheetErrors: an export that fails is reported by Close; a damaged snapshot is
// refused when opening, naming the file.
func TestLocalSheetErrors(t *testing.T) {
	dir := t.TempDir()
	ex := exports{err: errors.New("disk full")}
	ls, err := openLocalSheet(dir, time.Hour, ex.write, sheetsfake.WithSpreadsheet("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.SetCell("a", "Sheet1", "A1", "x"); err != nil {
		t.Fatal(err)
	}
	if err := ls.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close = %v, want the export's error", err)
	}
	if err := os.WriteFile(filepath.Join(dir, snapshotFile), []byte(`{"a":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openLocalSheet(dir, time.Hour, nil); err == nil || !strings.Contains(err.Error(), snapshotFile) {
		t.Errorf("open with a damaged snapshot: %v", err)
	}
}
