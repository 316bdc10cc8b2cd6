package sheetsfake_test

import (
	"errors"
	"testing"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/fakeapi"
	"supportsync.dev/shared/sheets/sheetsfake"
)

// TestProtectionCopyPasteAndResponse: addProtectedRange answers the new range's id and stops
// an editor (not the owner); copyPaste copies values and formats; the response carries the
// spreadsheet as it is after the batch, limited to responseRanges; deleting an unknown
// protected range fails the whole batch.
func TestProtectionCopyPasteAndResponse(t *testing.T) {
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet("s"))
	defer srv.Close()
	svc := client(t, srv)
	if _, err := svc.Spreadsheets.BatchUpdate("s", &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{
		{AddSheet: &sheets.AddSheetRequest{Properties: &sheets.SheetProperties{SheetId: 7, Title: "Scratch", Hidden: true,
			GridProperties: &sheets.GridProperties{RowCount: 3, ColumnCount: 2}}}},
	}}).Do(); err != nil {
		t.Fatal(err)
	}
	srv.SetCell("s", "Sheet1", "A2", "k1")
	srv.SetCell("s", "Sheet1", "B2", 42)
	resp, err := svc.Spreadsheets.BatchUpdate("s", &sheets.BatchUpdateSpreadsheetRequest{
		Requests: []*sheets.Request{
			{AddProtectedRange: &sheets.AddProtectedRangeRequest{ProtectedRange: &sheets.ProtectedRange{Range: &sheets.GridRange{SheetId: 0}, Description: "busy"}}},
			{CopyPaste: &sheets.CopyPasteRequest{Source: &sheets.GridRange{SheetId: 0, StartRowIndex: 1, EndRowIndex: 2, EndColumnIndex: 2},
				Destination: &sheets.GridRange{SheetId: 7, StartRowIndex: 1, EndRowIndex: 2, EndColumnIndex: 2}, PasteType: "PASTE_NORMAL"}},
		},
		IncludeSpreadsheetInResponse: true, ResponseIncludeGridData: true, ResponseRanges: []string{"Scratch!A2:B2"},
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Replies[0].AddProtectedRange.ProtectedRange.ProtectedRangeId
	if id == 0 {
		t.Fatal("no protected range id in the reply")
	}
	ss := resp.UpdatedSpreadsheet
	if len(ss.Sheets) != 1 || ss.Sheets[0].Properties.Title != "Scratch" || !ss.Sheets[0].Properties.Hidden {
		t.Fatalf("updatedSpreadsheet sheets %+v, want the hidden Scratch only", ss.Sheets)
	}
	row := ss.Sheets[0].Data[0].RowData[0].Values
	if got := *row[0].UserEnteredValue.StringValue; got != "k1" || *row[1].UserEnteredValue.NumberValue != 42 {
		t.Errorf("copied row %v, want k1, 42", row)
	}
	if err := srv.SortRows("s", "Sheet1", sheetsfake.AnEditor, 0, nil); !errors.Is(err, sheetsfake.ErrProtected) {
		t.Errorf("an editor's sort: %v, want ErrProtected", err)
	}
	if err := srv.InsertRows("s", "Sheet1", sheetsfake.Owner, 1, 1); err != nil {
		t.Errorf("the owner's insert: %v", err)
	}
	// Deleting a protection that does not exist fails the batch, and nothing of it applies.
	_, err = svc.Spreadsheets.BatchUpdate("s", &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{
		{DeleteProtectedRange: &sheets.DeleteProtectedRangeRequest{ProtectedRangeId: id}},
		{DeleteProtectedRange: &sheets.DeleteProtectedRangeRequest{ProtectedRangeId: id + 1}},
	}}).Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 400 {
		t.Fatalf("err = %v, want a 400", err)
	}
	if p, _ := srv.Protections("s", "Sheet1"); len(p) != 1 {
		t.Errorf("protections %q, want the one (the failed batch changed nothing)", p)
	}
}

// TestFailAfterApply: the request takes effect, then the answer is a 500.
func TestFailAfterApply(t *testing.T) {
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet("s"))
	defer srv.Close()
	svc := client(t, srv)
	srv.Inject(fakeapi.Fault{Answer: fakeapi.AfterApply, Code: 500})
	_, err := svc.Spreadsheets.BatchUpdate("s", &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{
		{AppendCells: &sheets.AppendCellsRequest{SheetId: 0, Fields: "userEnteredValue",
			Rows: []*sheets.RowData{{Values: []*sheets.CellData{{UserEnteredValue: &sheets.ExtendedValue{StringValue: str("x")}}}}}}},
	}}).Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 500 {
		t.Fatalf("err = %v, want a 500", err)
	}
	if d, _ := srv.Display("s", "Sheet1"); len(d) != 1 || d[0][0] != "x" {
		t.Errorf("sheet %q, want the appended row (applied before the 500)", d)
	}
}
