// Package table holds the sheet contract: the tabs, their columns and the typed cells that
// normalization produces and the Sheets sink writes. It is pure data, with no I/O.
package table

import (
	"fmt"
	"time"
)

// Kind is the type of a column or a cell.
type Kind int

// The cell kinds. Empty is the zero value so that a zero Cell is an empty cell.
const (
	Empty Kind = iota
	Text
	Number
	Bool
	DateTime
)

// String names the kind for messages and tests.
func (k Kind) String() string {
	switch k {
	case Empty:
		return "empty"
	case Text:
		return "text"
	case Number:
		return "number"
	case Bool:
		return "bool"
	case DateTime:
		return "datetime"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Cell is one typed value. A Text cell is always written as text and is never evaluated as a
// formula; a DateTime cell holds a wall-clock time already in the team timezone.
type Cell struct {
	Kind Kind
	S    string
	N    float64
	B    bool
	T    time.Time
}

// TextCell returns a text cell; the empty string gives an empty cell.
func TextCell(s string) Cell {
	if s == "" {
		return Cell{}
	}
	return Cell{Kind: Text, S: s}
}

// NumberCell returns a number cell.
func NumberCell(n float64) Cell { return Cell{Kind: Number, N: n} }

// BoolCell returns a boolean cell.
func BoolCell(b bool) Cell { return Cell{Kind: Bool, B: b} }

// TimeCell returns a date-time cell; the zero time gives an empty cell.
func TimeCell(t time.Time) Cell {
	if t.IsZero() {
		return Cell{}
	}
	return Cell{Kind: DateTime, T: t}
}

// String renders the cell the way a person reads it in the sheet (dates as
// yyyy-mm-dd hh:mm:ss); golden files use it.
func (c Cell) String() string {
	switch c.Kind {
	case Text:
		return c.S
	case Number:
		return fmt.Sprint(c.N)
	case Bool:
		if c.B {
			return "TRUE"
		}
		return "FALSE"
	case DateTime:
		return c.T.Format(DateTimeLayout)
	}
	return ""
}

// DateTimeLayout is how date-times are displayed in the sheet (Sheets pattern
// "yyyy-mm-dd hh:mm:ss").
const DateTimeLayout = "2006-01-02 15:04:05"

// SheetsDateTimePattern is the Sheets number-format pattern for date-time columns.
const SheetsDateTimePattern = "yyyy-mm-dd hh:mm:ss"

// Row is one record's cells, in the order of its schema's columns. The key is the first cell.
type Row []Cell

// Key returns the row's key: the text of its first cell.
func (r Row) Key() string {
	if len(r) == 0 {
		return ""
	}
	return r[0].String()
}

// Column is one contract column.
type Column struct {
	Name string
	Kind Kind
}

// Schema is one tab of the spreadsheet: its title and its contract columns, key first.
// Columns a user adds to the right of these are not part of the schema and are left alone.
type Schema struct {
	Tab     string
	Columns []Column
	// DateColumn is the index of the column the rolling retention window is measured on
	// (Created / Started); -1 when the tab is not trimmed.
	DateColumn int
}

// Headers returns the header row.
func (s Schema) Headers() []string {
	h := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		h[i] = c.Name
	}
	return h
}

// Index returns the position of the named column, or -1.
func (s Schema) Index(name string) int {
	for i, c := range s.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func cols(kinds map[string]Kind, names ...string) []Column {
	out := make([]Column, len(names))
	for i, n := range names {
		k, ok := kinds[n]
		if !ok {
			k = Text
		}
		out[i] = Column{Name: n, Kind: k}
	}
	return out
}

// Tickets is the Tickets tab, one row per HubSpot ticket, key Ticket ID.
var Tickets = Schema{
	Tab: "Tickets",
	Columns: cols(map[string]Kind{
		"Created": DateTime, "Last Modified": DateTime, "Closed": DateTime, "First Agent Reply": DateTime,
		"First Response Minutes": Number, "Time To Close Hours": Number, "Weekend": Bool, "Synced At": DateTime,
	},
		"Ticket ID", "Subject", "Pipeline", "Stage", "Status", "Priority", "Category", "Source", "Owner ID", "Agent",
		"Created", "Last Modified", "Closed", "First Agent Reply", "First Response Minutes", "Time To Close Hours",
		"Weekend", "Synced At"),
	DateColumn: 10,
}

// Chats is the Chats tab, one row per LiveChat thread, key Thread ID.
var Chats = Schema{
	Tab: "Chats",
	Columns: cols(map[string]Kind{
		"Started": DateTime, "Ended": DateTime, "Duration Minutes": Number, "Transferred": Bool,
		"First Response Seconds": Number, "First Human Response Seconds": Number, "Customer Messages": Number,
		"Agent Messages": Number, "Weekend": Bool, "Synced At": DateTime,
	},
		"Thread ID", "Chat ID", "Started", "Ended", "Duration Minutes", "Group", "Handled By", "Bot", "Agent",
		"Transferred", "First Response Seconds", "First Human Response Seconds", "Customer Messages",
		"Agent Messages", "Rating", "Rating Comment", "Tags", "Weekend", "Synced At"),
	DateColumn: 2,
}

// SyncLog is the Sync_Log tab: one row appended per run.
var SyncLog = Schema{
	Tab: "Sync_Log",
	Columns: cols(map[string]Kind{
		"Started": DateTime, "Finished": DateTime, "Fetched": Number, "Inserted": Number, "Updated": Number,
		"Deleted": Number, "Excluded": Number, "Rejected": Number, "API Requests": Number,
		"Sheets Requests": Number, "Seconds": Number,
	},
		"Run ID", "Source", "Mode", "Started", "Finished", "Status", "Fetched", "Inserted", "Updated", "Deleted",
		"Excluded", "Rejected", "API Requests", "Sheets Requests", "Seconds", "Message"),
	DateColumn: -1,
}
