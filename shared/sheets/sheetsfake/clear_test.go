package sheetsfake_test

import (
	"context"
	"net/http"
	"testing"

	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/sheets/sheetsfake"
)

// TestValuesClear: spreadsheets.values.clear through the real client empties the range's
// values and leaves the cells around it.
func TestValuesClear(t *testing.T) {
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet("s"))
	defer srv.Close()
	svc := client(t, srv)
	ctx := context.Background()
	if _, err := svc.Spreadsheets.BatchUpdate("s", &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{
		{AddSheet: &sheets.AddSheetRequest{Properties: &sheets.SheetProperties{Title: "Tab"}}}}}).Context(ctx).Do(); err != nil {
		t.Fatal(err)
	}
	vals := [][]any{{"a", "b", "c"}, {"1", "2", "3"}, {"x", "y", "z"}}
	if _, err := svc.Spreadsheets.Values.Update("s", "Tab!A1", &sheets.ValueRange{Values: vals}).ValueInputOption("RAW").Context(ctx).Do(); err != nil {
		t.Fatal(err)
	}
	// Google's Node client sends values.clear with no body at all; the API takes that as {}.
	resp, err := http.Post(srv.URL+"/v4/spreadsheets/s/values/Tab!C3:clear", "application/json", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("clear without a body: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	res, err := svc.Spreadsheets.Values.Clear("s", "Tab!A2:B3", &sheets.ClearValuesRequest{}).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if res.ClearedRange != "Tab!A2:B3" {
		t.Errorf("clearedRange %q, want Tab!A2:B3", res.ClearedRange)
	}
	got, err := srv.Display("s", "Tab")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b", "c"}, {"", "", "3"}} // the emptied last row is not displayed
	if len(got) != len(want) {
		t.Fatalf("after clear: %q, want %q", got, want)
	}
	for i := range want {
		for j := range want[i] {
			if i >= len(got) || j >= len(got[i]) || got[i][j] != want[i][j] {
				t.Fatalf("after clear: %q, want %q", got, want)
			}
		}
	}
}
