package table

import (
	"testing"
	"time"
)

func TestCellString(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tt := range []struct {
		name string
		cell Cell
		kind Kind
		want string
	}{
		{"empty text is an empty cell", TextCell(""), Empty, ""},
		{"text", TextCell("=SUM(A1)"), Text, "=SUM(A1)"},
		{"number", NumberCell(12.5), Number, "12.5"},
		{"zero number is not empty", NumberCell(0), Number, "0"},
		{"true", BoolCell(true), Bool, "TRUE"},
		{"false", BoolCell(false), Bool, "FALSE"},
		{"date-time", TimeCell(at), DateTime, "2026-03-04 05:06:07"},
		{"zero time is an empty cell", TimeCell(time.Time{}), Empty, ""},
		{"zero cell", Cell{}, Empty, ""},
	} {
		if tt.cell.Kind != tt.kind || tt.cell.String() != tt.want {
			t.Errorf("%s: kind %v, %q; want %v, %q", tt.name, tt.cell.Kind, tt.cell.String(), tt.kind, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Empty: "empty", Text: "text", Number: "number", Bool: "bool", DateTime: "datetime", Kind(9): "kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestRowKey(t *testing.T) {
	if got := (Row{TextCell("42"), NumberCell(1)}).Key(); got != "42" {
		t.Errorf("Key = %q, want 42", got)
	}
	if got := (Row{NumberCell(7)}).Key(); got != "7" {
		t.Errorf("a numeric key = %q, want 7", got)
	}
	if got := (Row{}).Key(); got != "" {
		t.Errorf("empty row key = %q", got)
	}
}

// TestSchemas checks the contract the sink and the analytics rely on: each tab's key comes
// first, column names are unique, the retention column is the date it is named for and is a
// date-time, and a typed column has the kind the sink formats it with.
func TestSchemas(t *testing.T) {
	for _, tt := range []struct {
		s             Schema
		key, dateName string
		typed         map[string]Kind
	}{
		{Tickets, "Ticket ID", "Created", map[string]Kind{"Subject": Text, "First Response Minutes": Number, "Weekend": Bool, "Synced At": DateTime}},
		{Chats, "Thread ID", "Started", map[string]Kind{"Chat ID": Text, "Duration Minutes": Number, "Transferred": Bool, "Ended": DateTime}},
		{SyncLog, "Run ID", "", map[string]Kind{"Status": Text, "Fetched": Number, "Finished": DateTime}},
	} {
		h := tt.s.Headers()
		if len(h) != len(tt.s.Columns) || h[0] != tt.key {
			t.Errorf("%s: headers %v, want key %q first", tt.s.Tab, h, tt.key)
		}
		seen := map[string]bool{}
		for i, n := range h {
			if seen[n] {
				t.Errorf("%s: column %q twice", tt.s.Tab, n)
			}
			seen[n] = true
			if tt.s.Index(n) != i {
				t.Errorf("%s: Index(%q) = %d, want %d", tt.s.Tab, n, tt.s.Index(n), i)
			}
		}
		if tt.s.Index("No Such Column") != -1 {
			t.Errorf("%s: Index of an unknown column is not -1", tt.s.Tab)
		}
		if tt.dateName == "" {
			if tt.s.DateColumn != -1 {
				t.Errorf("%s: DateColumn = %d, want -1 (not trimmed)", tt.s.Tab, tt.s.DateColumn)
			}
		} else if tt.s.DateColumn != tt.s.Index(tt.dateName) || tt.s.Columns[tt.s.DateColumn].Kind != DateTime {
			t.Errorf("%s: DateColumn = %d, want %q (%d) typed date-time", tt.s.Tab, tt.s.DateColumn, tt.dateName, tt.s.Index(tt.dateName))
		}
		for name, k := range tt.typed {
			if i := tt.s.Index(name); i < 0 || tt.s.Columns[i].Kind != k {
				t.Errorf("%s: column %q at %d, want kind %v", tt.s.Tab, name, i, k)
			}
		}
	}
}
