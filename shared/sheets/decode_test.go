package sheets_test

import (
	"testing"
	"time"

	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/table"
)

// TestDecodeCell: values read back with UNFORMATTED_VALUE become cells of their column's kind;
// what a person typed as text is read as what it says when it fits the kind, else kept.
func TestDecodeCell(t *testing.T) {
	loc, err := time.LoadLocation("America/Halifax")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 8, 9, 30, 0, 0, loc)
	for _, tc := range []struct {
		name string
		v    any
		kind table.Kind
		want table.Cell
	}{
		{"empty", nil, table.Number, table.Cell{}},
		{"empty text", "", table.Text, table.Cell{}},
		{"number", 12.5, table.Number, table.NumberCell(12.5)},
		{"number typed as text", " 42 ", table.Number, table.NumberCell(42)},
		{"words in a number column", "n/a", table.Number, table.TextCell("n/a")},
		{"serial date-time", sheets.Serial(at), table.DateTime, table.TimeCell(at)},
		{"date-time typed as text", "2026-03-08 09:30:00", table.DateTime, table.TimeCell(at)},
		{"words in a date column", "Unknown", table.DateTime, table.TextCell("Unknown")},
		{"number in a text column", 1001.0, table.Text, table.TextCell("1001")},
		{"boolean", true, table.Bool, table.BoolCell(true)},
		{"boolean in a text column", false, table.Text, table.TextCell("FALSE")},
	} {
		got := sheets.DecodeCell(tc.v, tc.kind, loc)
		if got.Kind != tc.want.Kind || got.S != tc.want.S || got.N != tc.want.N || got.B != tc.want.B || !got.T.Equal(tc.want.T) {
			t.Errorf("%s: DecodeCell(%#v) = %+v, want %+v", tc.name, tc.v, got, tc.want)
		}
	}
}
