package sheetsfake_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/fakeapi"
	"supportsync.dev/shared/sheets/sheetsfake"
)

func client(t *testing.T, srv *sheetsfake.Server) *sheets.Service {
	t.Helper()
	svc, err := sheets.NewService(context.Background(), option.WithEndpoint(srv.URL+"/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func str(s string) *string { return &s }

func TestBatchUpdateIsAtomic(t *testing.T) {
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet("s"))
	defer srv.Close()
	svc := client(t, srv)
	_, err := svc.Spreadsheets.BatchUpdate("s", &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{
		{UpdateCells: &sheets.UpdateCellsRequest{Start: &sheets.GridCoordinate{}, Fields: "userEnteredValue",
			Rows: []*sheets.RowData{{Values: []*sheets.CellData{{UserEnteredValue: &sheets.ExtendedValue{StringValue: str("x")}}}}}}},
		{AddSheet: &sheets.AddSheetRequest{Properties: &sheets.SheetProperties{Title: "New"}}},
		{DeleteDimension: &sheets.DeleteDimensionRequest{Range: &sheets.DimensionRange{SheetId: 999, Dimension: "ROWS", EndIndex: 1}}},
	}}).Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 400 {
		t.Fatalf("err = %v, want a 400", err)
	}
	if cells, _ := srv.Cells("s", "Sheet1"); len(cells) != 0 {
		t.Errorf("Sheet1 = %v after a failed batch, want it unchanged", cells)
	}
	if _, ok := srv.Sheet("s", "New"); ok {
		t.Error("the tab of a failed batch was added")
	}
}

func TestUnknownSpreadsheetAndAutoCreate(t *testing.T) {
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet("s"))
	defer srv.Close()
	_, err := client(t, srv).Spreadsheets.Get("other").Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 404 {
		t.Errorf("err = %v, want a 404", err)
	}
	auto := sheetsfake.NewServer(sheetsfake.AutoCreate())
	defer auto.Close()
	ss, err := client(t, auto).Spreadsheets.Get("any").Do()
	if err != nil || len(ss.Sheets) != 1 {
		t.Errorf("auto-created spreadsheet %+v, %v", ss, err)
	}
}

func TestValuesAPI(t *testing.T) {
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet("s"))
	defer srv.Close()
	svc := client(t, srv)
	_, err := svc.Spreadsheets.Values.Update("s", "Sheet1!A1", &sheets.ValueRange{Values: [][]any{
		{"=SUM(1)", 1.5, true}, {"x", "", 46000.5},
	}}).ValueInputOption("RAW").Do()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Spreadsheets.Values.Append("s", "'Sheet1'!A:C", &sheets.ValueRange{Values: [][]any{{"appended"}}}).
		ValueInputOption("USER_ENTERED").Do(); err != nil {
		t.Fatal(err)
	}
	vr, err := svc.Spreadsheets.Values.Get("s", "Sheet1!A1:C").ValueRenderOption("UNFORMATTED_VALUE").Do()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{"=SUM(1)", 1.5, true}, {"x", "", 46000.5}, {"appended"}}
	if len(vr.Values) != 3 || vr.Values[0][0] != want[0][0] || vr.Values[0][1] != 1.5 || vr.Values[0][2] != true ||
		vr.Values[1][2] != 46000.5 || vr.Values[2][0] != "appended" {
		t.Errorf("values = %v, want %v", vr.Values, want)
	}
	cells, _ := srv.Cells("s", "Sheet1")
	if cells[0][0].Formula {
		t.Error("a RAW string became a formula")
	}
}

func TestFaultsAndQuota(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet("s"), sheetsfake.WithQuota(2), sheetsfake.WithClock(func() time.Time { return now }))
	defer srv.Close()
	svc := client(t, srv)
	srv.Inject(fakeapi.Fault{Code: 503})
	_, err := svc.Spreadsheets.Get("s").Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 503 {
		t.Fatalf("err = %v, want the injected 503", err)
	}
	write := func() error {
		_, err := svc.Spreadsheets.BatchUpdate("s", &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{
			{AppendDimension: &sheets.AppendDimensionRequest{Dimension: "ROWS", Length: 1}}}}).Do()
		return err
	}
	for i := range 2 {
		if err := write(); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := write(); !errors.As(err, &ge) || ge.Code != 429 {
		t.Fatalf("third write in a minute: %v, want 429", err)
	}
	now = now.Add(time.Minute)
	if err := write(); err != nil {
		t.Fatalf("write after the minute: %v", err)
	}
	if r, w := srv.Requests(sheetsfake.Reads), srv.Requests(sheetsfake.Writes); r != 1 || w != 4 {
		t.Errorf("counted %d reads, %d writes; want 1, 4", r, w)
	}
}

// TestSnapshotRestoreAndTabs: a client's write and a person's edit are reported to the
// change hook; Tabs copies the tabs trimmed to the data; a Snapshot restored into a new Fake
// shows the same sheet; a bad snapshot is refused.
func TestSnapshotRestoreAndTabs(t *testing.T) {
	var changes []string
	srv := sheetsfake.NewServer(sheetsfake.AutoCreate(), sheetsfake.WithOnChange(func(id string) { changes = append(changes, id) }))
	defer srv.Close()
	svc := client(t, srv)
	serial := 46082.5 // 2026-03-01 12:00:00
	_, err := svc.Spreadsheets.BatchUpdate("book", &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{
		{UpdateCells: &sheets.UpdateCellsRequest{Start: &sheets.GridCoordinate{}, Fields: "userEnteredValue,userEnteredFormat.numberFormat",
			Rows: []*sheets.RowData{{Values: []*sheets.CellData{
				{UserEnteredValue: &sheets.ExtendedValue{StringValue: str("=1+1")}},
				{UserEnteredValue: &sheets.ExtendedValue{NumberValue: &serial},
					UserEnteredFormat: &sheets.CellFormat{NumberFormat: &sheets.NumberFormat{Type: "DATE_TIME", Pattern: "yyyy-mm-dd hh:mm:ss"}}},
			}}}}},
	}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Spreadsheets.Get("book").Do(); err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0] != "book" {
		t.Fatalf("changes %q after one write and one read, want [book]", changes)
	}
	if err := srv.SetCell("book", "Sheet1", "C1", "note"); err != nil || len(changes) != 2 {
		t.Fatalf("a person's edit: %v, changes %q", err, changes)
	}

	tabs, ok := srv.Tabs("book")
	if !ok || len(tabs) != 1 || len(tabs[0].Rows) != 1 {
		t.Fatalf("tabs %+v, %v", tabs, ok)
	}
	row := tabs[0].Rows[0]
	if tabs[0].Title != "Sheet1" || len(row) < 3 || row[0].Value != "=1+1" || row[1].Value != serial || row[1].Format.Type != "DATE_TIME" || row[2].Value != "note" {
		t.Errorf("tab row %+v", row)
	}
	row[2].Value = "changed in the copy"
	if d, _ := srv.Display("book", "Sheet1"); d[0][2] != "note" {
		t.Error("Tabs shares its rows with the Fake")
	}
	if _, ok := srv.Tabs("nothing"); ok {
		t.Error("Tabs of an unknown spreadsheet")
	}

	snap, err := srv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	again := sheetsfake.New()
	if err := again.Restore(snap); err != nil {
		t.Fatal(err)
	}
	d, err := again.Display("book", "Sheet1")
	if err != nil || len(d) != 1 || d[0][1] != "2026-03-01 12:00:00" || d[0][2] != "note" {
		t.Errorf("restored: %v, %v", d, err)
	}
	for _, bad := range []string{`{"book":`, `{"book":null}`, `[]`} {
		if err := sheetsfake.New().Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%s) accepted", bad)
		}
	}
}

// TestFailedBatchLeavesRowsUnchanged: a transaction shares the tab's rows until it writes them;
// a batch that writes existing cells (values, formats, columns deleted or inserted) and then
// fails leaves every row as it was.
func TestFailedBatchLeavesRowsUnchanged(t *testing.T) {
	bad := &sheets.Request{DeleteDimension: &sheets.DeleteDimensionRequest{Range: &sheets.DimensionRange{SheetId: 999, Dimension: "ROWS", EndIndex: 1}}}
	tests := map[string]*sheets.Request{
		"updateCells": {UpdateCells: &sheets.UpdateCellsRequest{Start: &sheets.GridCoordinate{RowIndex: 1}, Fields: "userEnteredValue",
			Rows: []*sheets.RowData{{Values: []*sheets.CellData{{UserEnteredValue: &sheets.ExtendedValue{StringValue: str("x")}}}}}}},
		"repeatCell": {RepeatCell: &sheets.RepeatCellRequest{Range: &sheets.GridRange{StartRowIndex: 0, EndRowIndex: 3},
			Cell: &sheets.CellData{UserEnteredValue: &sheets.ExtendedValue{StringValue: str("y")}}, Fields: "userEnteredValue"}},
		"delete a column": {DeleteDimension: &sheets.DeleteDimensionRequest{Range: &sheets.DimensionRange{Dimension: "COLUMNS", StartIndex: 0, EndIndex: 1}}},
		"insert a column": {InsertDimension: &sheets.InsertDimensionRequest{Range: &sheets.DimensionRange{Dimension: "COLUMNS", StartIndex: 1, EndIndex: 2}}},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet("s"))
			defer srv.Close()
			for _, a1 := range []string{"A1", "B1", "C1", "A2", "B2", "C2", "A3", "B3", "C3"} {
				srv.SetCell("s", "Sheet1", a1, "v"+a1)
			}
			before, _ := srv.Display("s", "Sheet1")
			_, err := client(t, srv).Spreadsheets.BatchUpdate("s", &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{req, bad}}).Do()
			var ge *googleapi.Error
			if !errors.As(err, &ge) || ge.Code != 400 {
				t.Fatalf("err = %v, want a 400", err)
			}
			if after, _ := srv.Display("s", "Sheet1"); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("Sheet1 = %q after a failed batch, want %q", after, before)
			}
		})
	}
}
