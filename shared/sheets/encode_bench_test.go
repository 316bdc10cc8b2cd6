package sheets

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/table"
)

// benchTickets is 5,000 Tickets rows, a batch, as the normalizer makes them.
func benchTickets() []table.Row {
	base := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	rows := make([]table.Row, 5000)
	for i := range rows {
		t := base.Add(time.Duration(i) * time.Minute)
		rows[i] = table.Row{
			table.TextCell(strconv.Itoa(1_000_000 + i)), table.TextCell("Printer on fire, again #" + strconv.Itoa(i)),
			table.TextCell("Support"), table.TextCell("Waiting on us"), table.TextCell("Open"), table.TextCell("HIGH"),
			table.TextCell("Hardware"), table.TextCell("EMAIL"), table.TextCell("1001"), table.TextCell("Richie"),
			table.TimeCell(t), table.TimeCell(t.Add(time.Hour)), {}, table.TimeCell(t.Add(5 * time.Minute)),
			table.NumberCell(5), {}, table.BoolCell(false), table.TimeCell(base),
		}
	}
	return rows
}

// BenchmarkEncode compares the two request shapes for a batch of 5,000 tickets, as the API
// client sends them (encoding/json through the generated types) and as a server decodes them:
// typed cells in a batchUpdate (what the positional write must use, atomic with its
// snapshot) and values with RAW (what new records use, insert.go). bytes/op is the body.
//
//	go test -run '^$' -bench BenchmarkEncode ./shared/sheets/
func BenchmarkEncode(b *testing.B) {
	rows := benchTickets()
	enc := newEncoder(table.Tickets)
	typed := make([]*sheets.RowData, len(rows))
	values := make([][]any, len(rows))
	for i, r := range rows {
		typed[i] = enc.row(r)
		values[i] = enc.raw(r)
	}
	bodies := map[string]any{
		"typed": &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{{AppendCells: &sheets.AppendCellsRequest{
			SheetId: 1, Rows: typed, Fields: cellFields}}}},
		"values": &sheets.ValueRange{MajorDimension: "ROWS", Values: values},
	}
	for _, shape := range []string{"typed", "values"} {
		body := bodies[shape]
		b.Run(shape+"/encode", func(b *testing.B) {
			var n int
			for b.Loop() {
				out, err := json.Marshal(body)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "bytes/op")
		})
		b.Run(shape+"/decode", func(b *testing.B) {
			data, err := json.Marshal(body)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				var err error
				if shape == "typed" {
					err = json.Unmarshal(data, new(sheets.BatchUpdateSpreadsheetRequest))
				} else {
					err = json.Unmarshal(data, new(sheets.ValueRange))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
