package sheets

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/table"
)

// The byte budget relies on estimateBytes never underestimating the JSON the client sends.
func TestEstimateBytesIsAnUpperBound(t *testing.T) {
	base := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	rows := []table.Row{
		{table.TextCell("1000000"), table.TextCell("Printer on fire, again #1234"), table.TextCell("Support"),
			table.TextCell("Waiting on us"), table.TextCell("Open"), table.TextCell("HIGH"), table.TextCell("Hardware"),
			table.TextCell("EMAIL"), table.TextCell("1001"), table.TextCell("Richie"), table.TimeCell(base),
			table.TimeCell(base), {}, table.TimeCell(base), table.NumberCell(5.123456789), {}, table.BoolCell(false),
			table.TimeCell(base)},
		{table.TextCell(`<script>"&"</script>` + "\x00\t\n é 🎉 \xff"), table.TextCell(strings.Repeat("<", 1000)),
			table.NumberCell(-1.2345678901234567e-300)},
	}
	for i, r := range rows {
		rd := newEncoder(table.Tickets).row(r)
		b, err := json.Marshal(rd)
		if err != nil {
			t.Fatal(err)
		}
		if est := estimateBytes(rd); est < len(b) {
			t.Errorf("row %d: estimate %d < actual %d bytes", i, est, len(b))
		} else {
			t.Logf("row %d: %d bytes, estimated %d", i, len(b), est)
		}
	}
}
