package sheets

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/table"
)

// cellFields is the field mask of every data write: values and number formats only, so other
// formatting a user applies (colours, fonts) stays.
const cellFields = "userEnteredValue,userEnteredFormat.numberFormat"

// The number formats of the contract columns, by kind. Bool columns keep the automatic format.
var (
	dateTimeFormat = &sheets.NumberFormat{Type: "DATE_TIME", Pattern: table.SheetsDateTimePattern}
	numberFormat   = &sheets.NumberFormat{Type: "NUMBER"}
	textFormat     = &sheets.NumberFormat{Type: "TEXT", Pattern: "@"}
)

// columnFormat is the cell format a column of kind k carries, nil for none.
func columnFormat(k table.Kind) *sheets.CellFormat {
	switch k {
	case table.DateTime:
		return &sheets.CellFormat{NumberFormat: dateTimeFormat}
	case table.Number:
		return &sheets.CellFormat{NumberFormat: numberFormat}
	case table.Text:
		return &sheets.CellFormat{NumberFormat: textFormat}
	}
	return nil
}

// serialEpoch is day 0 of Sheets date serials.
var serialEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// Serial returns the Sheets date serial of t's wall clock (its zone is not converted): days
// since 1899-12-30, the fraction being the time of day.
func Serial(t time.Time) float64 {
	y, m, d := t.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(serialEpoch).Hours() / 24
	secs := float64(t.Hour()*3600+t.Minute()*60+t.Second()) + float64(t.Nanosecond())/1e9
	return math.Round(days) + secs/86400
}

// FromSerial returns the wall-clock time in loc that a Sheets date serial stands for, to the
// millisecond.
func FromSerial(serial float64, loc *time.Location) time.Time {
	days := math.Floor(serial)
	ms := int64(math.Round((serial - days) * 86400e3))
	return time.Date(1899, 12, 30+int(days), 0, 0, 0, int(ms)*int(time.Millisecond), loc)
}

// encoder turns rows into RowData, counting truncated texts.
type encoder struct {
	formats   []*sheets.CellFormat
	kinds     []table.Kind
	truncated int
}

func newEncoder(s table.Schema) *encoder {
	e := &encoder{formats: make([]*sheets.CellFormat, len(s.Columns)), kinds: make([]table.Kind, len(s.Columns))}
	for i, c := range s.Columns {
		// Only date-time cells need their format on every write (a serial without it reads
		// as a number); texts are stringValues and numbers numberValues whatever the format,
		// and leaving theirs out makes a write about a third smaller.
		if c.Kind == table.DateTime {
			e.formats[i] = columnFormat(c.Kind)
		}
		e.kinds[i] = c.Kind
	}
	return e
}

// row encodes one row as exactly len(columns) cells: missing cells are empty, extra ones are
// dropped.
func (e *encoder) row(r table.Row) *sheets.RowData {
	vals := make([]*sheets.CellData, len(e.formats))
	for i := range vals {
		var c table.Cell
		if i < len(r) {
			c = r[i]
		}
		vals[i] = e.cell(c, i)
	}
	return &sheets.RowData{Values: vals}
}

// cell encodes one cell. Texts are always stringValue (never a formula, whatever they start
// with); date-times are serial numbers with the date-time format; an empty cell has no value,
// so writing it clears the cell.
func (e *encoder) cell(c table.Cell, col int) *sheets.CellData {
	cd := &sheets.CellData{UserEnteredFormat: e.formats[col]}
	switch c.Kind {
	case table.Text:
		s := c.S
		if len(s) > MaxCellChars && utf16Len(s) > MaxCellChars {
			s = truncate(s, MaxCellChars)
			e.truncated++
		}
		cd.UserEnteredValue = &sheets.ExtendedValue{StringValue: &s}
	case table.Number:
		n := c.N
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return cd // the API cannot store them: leave the cell empty
		}
		cd.UserEnteredValue = &sheets.ExtendedValue{NumberValue: &n}
	case table.Bool:
		b := c.B
		cd.UserEnteredValue = &sheets.ExtendedValue{BoolValue: &b}
	case table.DateTime:
		n := Serial(c.T)
		cd.UserEnteredValue = &sheets.ExtendedValue{NumberValue: &n}
		cd.UserEnteredFormat = &sheets.CellFormat{NumberFormat: dateTimeFormat}
	}
	return cd
}

// raw encodes one row as the values API takes it with RAW: the same cells as row, each as its
// JSON value (nil for an empty cell). It counts no truncation (see truncations).
func (e *encoder) raw(r table.Row) []any {
	out := make([]any, len(e.kinds))
	for i := range out {
		var c table.Cell
		if i < len(r) {
			c = r[i]
		}
		switch c.Kind {
		case table.Text:
			s := c.S
			if len(s) > MaxCellChars && utf16Len(s) > MaxCellChars {
				s = truncate(s, MaxCellChars)
			}
			out[i] = s
		case table.Number:
			if !math.IsNaN(c.N) && !math.IsInf(c.N, 0) {
				out[i] = c.N
			}
		case table.Bool:
			out[i] = c.B
		case table.DateTime:
			out[i] = Serial(c.T)
		}
	}
	return out
}

// truncations counts the texts of r that a write cuts to MaxCellChars.
func (e *encoder) truncations(r table.Row) int {
	n := 0
	for i, c := range r {
		if i < len(e.kinds) && c.Kind == table.Text && len(c.S) > MaxCellChars && utf16Len(c.S) > MaxCellChars {
			n++
		}
	}
	return n
}

// utf16Len is the length of s in UTF-16 code units, how the API counts characters.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncate cuts s to at most max UTF-16 code units, on a rune boundary.
func truncate(s string, max int) string {
	n := 0
	for i, r := range s {
		l := utf16.RuneLen(r)
		if l < 0 {
			l = 1
		}
		if n+l > max {
			return s[:i]
		}
		n += l
	}
	return s
}

// estimateBytes is an upper estimate of the JSON size of an encoded row.
func estimateBytes(r *sheets.RowData) int {
	n := 16
	for _, c := range r.Values {
		n += 12
		if c.UserEnteredFormat != nil && c.UserEnteredFormat.NumberFormat != nil {
			nf := c.UserEnteredFormat.NumberFormat
			n += 60 + len(nf.Pattern) + len(nf.Type)
		}
		if v := c.UserEnteredValue; v != nil {
			switch {
			case v.StringValue != nil:
				n += 40 + jsonLen(*v.StringValue)
			default:
				n += 45
			}
		}
	}
	return n
}

// jsonLen bounds the length of s as a JSON string body (escapes included).
func jsonLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '<', c == '>', c == '&':
			n += 5
		case c == '"', c == '\\':
			n++
		case c >= utf8.RuneSelf:
			// invalid UTF-8 becomes \ufffd: at most 6 bytes for 1
			n += 5
		}
	}
	return n
}

// DecodeCell turns one value read with UNFORMATTED_VALUE and SERIAL_NUMBER back into a cell
// of the column's kind: a date-time typed as text in the display layout and a number typed as
// text are read as what they say. Any other value that does not fit the kind (a user typed words
// into a number column) is kept as it is.
func DecodeCell(v any, k table.Kind, loc *time.Location) table.Cell {
	switch x := v.(type) {
	case nil:
		return table.Cell{}
	case string:
		if x == "" {
			return table.Cell{}
		}
		if k == table.DateTime {
			if t, err := time.ParseInLocation(table.DateTimeLayout, x, loc); err == nil {
				return table.TimeCell(t)
			}
		}
		if k == table.Number {
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return table.NumberCell(f)
			}
		}
		return table.TextCell(x)
	case float64:
		switch k {
		case table.DateTime:
			return table.TimeCell(FromSerial(x, loc))
		case table.Text:
			return table.TextCell(strconv.FormatFloat(x, 'f', -1, 64))
		}
		return table.NumberCell(x)
	case bool:
		if k == table.Text {
			return table.TextCell(strings.ToUpper(strconv.FormatBool(x)))
		}
		return table.BoolCell(x)
	}
	return table.TextCell(fmt.Sprint(v))
}

// keyOf is the key a read key cell stands for, as table.Row.Key would render it.
func keyOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return table.NumberCell(x).String()
	case bool:
		return table.BoolCell(x).String()
	}
	return fmt.Sprint(v)
}

// colName is the A1 letters of the 0-based column i.
func colName(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}

// quoteTab quotes a tab title for an A1 range.
func quoteTab(tab string) string {
	return "'" + strings.ReplaceAll(tab, "'", "''") + "'"
}
