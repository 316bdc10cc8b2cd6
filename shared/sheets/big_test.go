package sheets_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/table"
)

// fillChats gives the Chats tab n rows (Thread ID, Chat ID, Started): the columns Prune reads,
// and one more. Row i started i minutes before base.
func fillChats(t testing.TB, sink *sheets.Sink, srv *sheetsfake.Server, n int, base time.Time) {
	t.Helper()
	if err := sink.Ensure(context.Background(), table.Chats); err != nil {
		t.Fatal(err)
	}
	const chunk = 50_000
	for from := 0; from < n; from += chunk {
		rows := make([][]any, 0, chunk)
		for i := from; i < min(from+chunk, n); i++ {
			rows = append(rows, []any{fmt.Sprintf("T%08d", i), fmt.Sprintf("C%08d", i), sheets.Serial(base.Add(-time.Duration(i) * time.Minute))})
		}
		if err := srv.Fill(sheetID, "Chats", int64(from+1), rows); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPruneReadsPages: Prune reads the key and date columns in pages, and finds what to delete
// across page boundaries and blank rows.
func TestPruneReadsPages(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t, sheets.WithPageRows(1000))
	base := at("2026-11-30 12:00:00")
	fillChats(t, sink, srv, 4500, base)
	srv.SetCell(sheetID, "Chats", "A1502", nil) // a blank key inside the data
	srv.SetCell(sheetID, "Chats", "B1502", nil)
	srv.SetCell(sheetID, "Chats", "C1502", nil)
	cutoff := base.Add(-3000 * time.Minute)
	r0, w0 := sink.Requests()
	res, err := sink.Prune(ctx, table.Chats, sheets.PrunePolicy{Expired: func(r sheets.PruneRow) bool { return r.Date.Before(cutoff) }})
	if err != nil {
		t.Fatal(err)
	}
	r, w := sink.Requests()
	if res.Expired != 1499 || res.Rows != 4499 { // rows 3001..4499 started before the cutoff
		t.Errorf("result %+v, want 1499 expired of 4499", res)
	}
	if r-r0 != 5 || w-w0 != 2 {
		t.Errorf("%d reads, %d writes; want 5 pages of 1000 rows, protect + write", r-r0, w-w0)
	}
	d := display(t, srv, "Chats")
	if len(d) != 3001 || d[1500][0] != "T00001499" || d[1501][0] != "T00001501" || d[3000][0] != "T00003000" {
		t.Errorf("%d rows left (row 1502 %q, last %q), want 3000 + header, the blank row gone", len(d), d[1501][0], d[len(d)-1][0])
	}
}

// peakHeap samples the live heap every millisecond until stop is called and returns the peak.
func peakHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// BenchmarkFullRunFinish400k measures a full run's finish on a Chats tab of 400,000 rows:
// Prune with retention and the run's seen keys (399,000 of them, as process holds them), the
// 1,000 unseen rows deleted. It reports the peak live heap above the heap before the finish
// (the seen-key map included) — the fake's own page answers are counted too, so this bounds
// what the Sink needs — and the requests.
//
//	go test -run '^$' -bench FullRunFinish400k -benchtime 1x ./shared/sheets/
func BenchmarkFullRunFinish400k(b *testing.B) {
	const n = 400_000
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		sink, srv := setup(b)
		base := at("2026-11-30 12:00:00")
		fillChats(b, sink, srv, n, base)
		runtime.GC()
		before := metricsHeap()
		b.StartTimer()
		stop := peakHeap()
		seen := make(map[string]struct{}, n)
		for i := range n {
			if i%400 != 7 {
				seen[fmt.Sprintf("T%08d", i)] = struct{}{}
			}
		}
		cutoff := base.Add(-365 * 24 * time.Hour)
		r0, w0 := sink.Requests()
		res, err := sink.Prune(ctx, table.Chats, sheets.PrunePolicy{
			Expired: func(r sheets.PruneRow) bool { return !r.Date.IsZero() && r.Date.Before(cutoff) },
			Unseen:  func(r sheets.PruneRow) bool { _, ok := seen[r.Key]; return !ok },
		})
		peak := stop()
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		r, w := sink.Requests()
		if res.Unseen != 1000 || res.Rows != n {
			b.Fatalf("result %+v, want 1000 unseen of %d", res, n)
		}
		b.ReportMetric(float64(peak-before)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(r-r0), "reads")
		b.ReportMetric(float64(w-w0), "writes")
		srv.Close()
	}
}

func metricsHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
