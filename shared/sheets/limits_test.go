package sheets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	sheetsapi "google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/table"
)

func api(t *testing.T, srv *sheetsfake.Server) *sheetsapi.Service {
	t.Helper()
	svc, err := sheets.NewService(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestHeaderCheckedBeforeEachBatch: a person inserts a column inside the contract columns
// after the Sink ensured the tab; the next batch writes nothing, and its error names the
// columns.
func TestHeaderCheckedBeforeEachBatch(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	if _, err := sink.Upsert(ctx, small, []table.Row{row("a", "A", "2026-01-01 00:00:00", 1, true)}, nil); err != nil {
		t.Fatal(err)
	}
	info, _ := srv.Sheet(sheetID, "T")
	_, err := api(t, srv).Spreadsheets.BatchUpdate(sheetID, &sheetsapi.BatchUpdateSpreadsheetRequest{Requests: []*sheetsapi.Request{
		{InsertDimension: &sheetsapi.InsertDimensionRequest{Range: &sheetsapi.DimensionRange{SheetId: info.ID, Dimension: "COLUMNS", StartIndex: 2, EndIndex: 3}}},
	}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	srv.SetCell(sheetID, "T", "C1", "My column")
	before := display(t, srv, "T")
	_, err = sink.Upsert(ctx, small, []table.Row{row("a", "A2", "2026-01-02 00:00:00", 2, false), row("b", "B", "2026-01-02 00:00:00", 3, true)}, nil)
	var he *sheets.HeaderError
	if !errors.As(err, &he) {
		t.Fatalf("error %v, want a *sheets.HeaderError", err)
	}
	for _, w := range []string{`column C is "My column", want "When"`, `column D is "When", want "N"`, `column E is "N", want "Ok"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if after := display(t, srv, "T"); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the tab changed: %q, was %q", after, before)
	}
	if prot, _ := srv.Protections(sheetID, "T"); len(prot) != 0 {
		t.Errorf("protections left: %q", prot)
	}
}

// TestTabsSizedToTheirColumns: a new tab has exactly its contract columns; an existing tab with
// empty columns beyond the contract and the user's columns loses only those.
func TestTabsSizedToTheirColumns(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	if err := sink.Ensure(ctx, table.Tickets, table.Chats, table.SyncLog); err != nil {
		t.Fatal(err)
	}
	for _, s := range []table.Schema{table.Tickets, table.Chats, table.SyncLog} {
		if info, _ := srv.Sheet(sheetID, s.Tab); info.ColumnCount != int64(len(s.Columns)) {
			t.Errorf("%s has %d columns, want %d", s.Tab, info.ColumnCount, len(s.Columns))
		}
	}
	// An older tab of 26 columns, a user column "Note" (F) and a value without header in H.
	_, err := api(t, srv).Spreadsheets.BatchUpdate(sheetID, &sheetsapi.BatchUpdateSpreadsheetRequest{Requests: []*sheetsapi.Request{
		{AddSheet: &sheetsapi.AddSheetRequest{Properties: &sheetsapi.SheetProperties{Title: "T", GridProperties: &sheetsapi.GridProperties{RowCount: 100, ColumnCount: 26}}}},
	}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range append(small.Headers(), "Note") {
		srv.SetCell(sheetID, "T", string(rune('A'+i))+"1", h)
	}
	srv.SetCell(sheetID, "T", "H5", "kept")
	if err := newSink(t, srv).Ensure(ctx, small); err != nil {
		t.Fatal(err)
	}
	if info, _ := srv.Sheet(sheetID, "T"); info.ColumnCount != 8 {
		t.Errorf("T has %d columns, want 8 (A..H: the contract, Note, the value in H)", info.ColumnCount)
	}
	if d := display(t, srv, "T"); d[4][7] != "kept" {
		t.Errorf("H5 is %q, want kept", d[4][7])
	}
}

// TestCellBudget: a write that would cross the workbook's 10,000,000 cells is refused before
// anything is written, saying how much room is left; from 80% a warning is logged.
func TestCellBudget(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	sink, srv := setup(t, sheets.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if _, err := sink.Upsert(ctx, small, []table.Row{row("a", "A", "2026-01-01 00:00:00", 1, true)}, nil); err != nil {
		t.Fatal(err)
	}
	info, _ := srv.Sheet(sheetID, "T")
	if err := srv.SetGrid(sheetID, "T", 2, info.ColumnCount); err != nil { // no spare rows
		t.Fatal(err)
	}
	used := int64(0)
	for _, tab := range []string{"T", sheets.ScratchTab} {
		i, _ := srv.Sheet(sheetID, tab)
		used += i.RowCount * i.ColumnCount
	}
	// Sheet1 (a person's tab) leaves about 400 cells: 80 rows of T.
	room := int64(400)
	sheet1 := (sheets.CellLimit - used - room) / 5
	if err := srv.SetGrid(sheetID, "Sheet1", sheet1, 5); err != nil {
		t.Fatal(err)
	}
	room = sheets.CellLimit - used - sheet1*5
	var rows []table.Row
	for i := range 100 {
		rows = append(rows, row(fmt.Sprintf("k%03d", i), "n", "2026-01-01 00:00:00", 1, true))
	}
	before := display(t, srv, "T")
	_, err := sink.Upsert(ctx, small, rows, nil)
	var ce *sheets.CellLimitError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a *sheets.CellLimitError", err)
	}
	if ce.Limit-ce.Used != room || ce.Need < 500 {
		t.Errorf("%+v: want %d cells left and at least 500 needed", ce, room)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("(%d left)", room)) {
		t.Errorf("error %q does not say how much room is left", err)
	}
	if after := display(t, srv, "T"); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the tab changed")
	}
	if prot, _ := srv.Protections(sheetID, "T"); len(prot) != 0 {
		t.Errorf("protections left: %q", prot)
	}
	// 60 rows fit (300 cells + the scratch tab), past 80%: written, with a warning.
	logs.Reset()
	if _, err := sink.Upsert(ctx, small, rows[:60], nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "sheets_cells_warning") {
		t.Errorf("no warning near the limit; logs:\n%s", logs.String())
	}
}

// TestColumnsMovedDuringTheWriteAreReported: the owner (whom protection does not stop) inserts a
// column between the Sink's read and its write; the write's own response shows the header moved
// and the Sink says so rather than carrying on.
func TestColumnsMovedDuringTheWriteAreReported(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	if _, err := sink.Upsert(ctx, small, []table.Row{row("a", "A", "2026-01-01 00:00:00", 1, true)}, nil); err != nil {
		t.Fatal(err)
	}
	n := 0
	srv.OnRequest(func(c sheetsfake.Call) {
		if n++; n == 3 {
			if err := srv.InsertColumns(sheetID, "T", sheetsfake.Owner, 1, 1); err != nil {
				t.Error(err)
			}
		}
	})
	_, err := sink.Upsert(ctx, small, []table.Row{row("a", "A2", "2026-01-02 00:00:00", 2, false)}, nil)
	var he *sheets.HeaderError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "columns moved while the batch was written") {
		t.Fatalf("error %v, want a *sheets.HeaderError saying columns moved", err)
	}
	if prot, _ := srv.Protections(sheetID, "T"); len(prot) != 0 {
		t.Errorf("protections left: %q", prot)
	}
}
