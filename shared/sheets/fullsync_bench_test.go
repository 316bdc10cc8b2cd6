package sheets_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"supportsync.dev/shared/table"
)

// BenchmarkFullSync100k lands a full sync of 100,000 new Chats rows as process does: 20
// batches of 5,000, one Upsert each, into a tab that grows from empty, the fake in this
// process (so a CPU profile shows the Sink and the fake together). It reports records/s and
// Sheets requests per 1,000 records.
//
//	go test -run '^$' -bench FullSync100k -benchtime 1x -cpuprofile cpu.out ./shared/sheets/
func BenchmarkFullSync100k(b *testing.B) {
	const n, batch = 100_000, 5_000
	ctx := context.Background()
	base := at(benchBase)
	for range b.N {
		b.StopTimer()
		sink, _ := setup(b)
		if err := sink.Ensure(ctx, table.Chats); err != nil {
			b.Fatal(err)
		}
		r0, w0 := sink.Requests()
		b.StartTimer()
		start := time.Now()
		inserted := 0
		for from := 0; from < n; from += batch {
			rows := make([]table.Row, 0, batch)
			for i := from; i < from+batch; i++ {
				r := make(table.Row, len(table.Chats.Columns))
				r[0], r[1] = table.TextCell(fmt.Sprintf("T%08d", i)), table.TextCell(fmt.Sprintf("C%08d", i))
				r[2], r[5], r[6] = table.TimeCell(base.Add(-time.Duration(i)*time.Minute)), table.TextCell("Sales"), table.TextCell("Human")
				rows = append(rows, r)
			}
			res, err := sink.Upsert(ctx, table.Chats, rows, nil)
			if err != nil {
				b.Fatal(err)
			}
			inserted += res.Inserted
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if inserted != n {
			b.Fatalf("inserted %d, want %d", inserted, n)
		}
		r, w := sink.Requests()
		b.ReportMetric(float64(n)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(r-r0+w-w0)*1000/n, "requests/1000rec")
	}
}
