package sheets

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/table"
)

// rawRow is a typed row as the values API would take it with RAW (the oracle of
// TestRawMatchesTyped): each cell's value as its JSON type (nil for an empty cell).
func rawRow(rd *sheets.RowData) []any {
	out := make([]any, len(rd.Values))
	for i, cd := range rd.Values {
		if cd != nil {
			out[i] = extValue(cd.UserEnteredValue)
		}
	}
	return out
}

// TestRawMatchesTyped: a row appended as values holds exactly the cells a typed write would
// give it, for every kind, empty cells, values the API cannot store and over-long texts.
func TestRawMatchesTyped(t *testing.T) {
	when := time.Date(2026, 3, 8, 2, 30, 15, 0, time.UTC)
	long := strings.Repeat("é", MaxCellChars+10)
	tests := map[string]table.Row{
		"every kind":     {table.TextCell("T1"), table.TextCell("=SUM(A1)"), table.TimeCell(when), table.NumberCell(4.5), table.BoolCell(true)},
		"empty cells":    {table.TextCell("T2"), {}, {}, {}, {}},
		"short row":      {table.TextCell("T3")},
		"cannot store":   {table.TextCell("T4"), table.TextCell(""), table.TimeCell(when), table.NumberCell(math.NaN()), table.BoolCell(false)},
		"infinite":       {table.TextCell("T5"), table.TextCell("x"), {}, table.NumberCell(math.Inf(1)), {}},
		"over-long text": {table.TextCell("T6"), table.TextCell(long), {}, {}, {}},
	}
	s := table.Schema{Tab: "T", Columns: []table.Column{{Name: "ID", Kind: table.Text}, {Name: "Name", Kind: table.Text},
		{Name: "When", Kind: table.DateTime}, {Name: "N", Kind: table.Number}, {Name: "Ok", Kind: table.Bool}}}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			enc := newEncoder(s)
			if diff := cmp.Diff(rawRow(enc.row(r)), enc.raw(r)); diff != "" {
				t.Errorf("raw differs from typed (-typed +raw):\n%s", diff)
			}
			if got, want := enc.truncations(r), enc.truncated; got != want {
				t.Errorf("truncations %d, the typed encoding cut %d", got, want)
			}
		})
	}
}

// TestSameValue: what a read cell must hold for a record to count as unchanged.
func TestSameValue(t *testing.T) {
	serial := Serial(time.Date(2026, 3, 8, 2, 30, 15, 0, time.UTC))
	tests := []struct {
		name        string
		read, write any
		want        bool
	}{
		{"same text", "abc", "abc", true},
		{"other text", "abc", "abd", false},
		{"text against number", "123", 123.0, false},
		{"empty text against empty cell", nil, "", true},
		{"empty cell against nothing", nil, nil, true},
		{"value against nothing", "x", nil, false},
		{"same serial", serial, serial, true},
		{"serial as printed with 15 digits", 46089.1043402778, 46089.104340277775, true},
		{"one second later", serial + 1.0/86400, serial, false},
		{"same bool", true, true, true},
		{"other bool", false, true, false},
		{"number against text", 5.0, "5", false},
	}
	for _, tt := range tests {
		if got := sameValue(tt.read, tt.write); got != tt.want {
			t.Errorf("%s: sameValue(%v, %v) = %v, want %v", tt.name, tt.read, tt.write, got, tt.want)
		}
	}
}
