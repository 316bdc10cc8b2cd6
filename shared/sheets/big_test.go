package sheets_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	if err := fill(sink, srv, n, base); err != nil {
		t.Fatal(err)
	}
}

func fill(sink *sheets.Sink, srv *sheetsfake.Server, n int, base time.Time) error {
	if err := sink.Ensure(context.Background(), table.Chats); err != nil {
		return err
	}
	const chunk = 50_000
	for from := 0; from < n; from += chunk {
		rows := make([][]any, 0, chunk)
		for i := from; i < min(from+chunk, n); i++ {
			started := sheets.Serial(base.Add(-time.Duration(i) * time.Minute))
			r := []any{fmt.Sprintf("T%08d", i), fmt.Sprintf("C%08d", i), started}
			if os.Getenv(helperWideEnv) != "" { // every Chats column, as a real tab
				r = append(r, started+0.01, 14.4, "Sales", "Bot → Human", "Wynn AI", "Richie", true, 12, 95, 9, 7,
					"good", "Thanks, that fixed it", "billing,refund", false, started)
			}
			rows = append(rows, r)
		}
		if err := srv.Fill(sheetID, "Chats", int64(from+1), rows); err != nil {
			return err
		}
	}
	return nil
}

// helperRowsEnv makes the test binary a Sheets fake with that many Chats rows (see
// TestMain): the memory benchmark runs the fake in its own process, so it measures the Sink
// alone.
const helperRowsEnv = "SHEETSFAKE_HELPER_ROWS"

// helperWideEnv makes the helper fill every Chats column, not only the first three.
const helperWideEnv = "SHEETSFAKE_HELPER_WIDE"

func TestMain(m *testing.M) {
	if n, err := strconv.Atoi(os.Getenv(helperRowsEnv)); err == nil {
		if err := serveFake(n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// serveFake serves a fake with n Chats rows, prints its URL and serves until stdin closes.
func serveFake(n int) error {
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet(sheetID))
	defer srv.Close()
	svc, err := sheets.NewService(context.Background(), srv.URL, nil)
	if err != nil {
		return err
	}
	if err := fill(sheets.New(svc, sheetID, halifax), srv, n, at(benchBase)); err != nil {
		return err
	}
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

const benchBase = "2026-11-30 12:00:00"

// fakeProcess starts a fake with n Chats rows in a child process and returns its URL.
func fakeProcess(b *testing.B, n int) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", helperRowsEnv, n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("fake process: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestPruneReadsPages: Prune reads the key and date columns in ranges of pageRows rows (in one
// request), and finds what to delete across range boundaries and blank rows.
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
	if r-r0 != 1 || w-w0 != 2 {
		t.Errorf("%d reads, %d writes; want 1 (5 ranges of 1000 rows in one request), protect + write", r-r0, w-w0)
	}
	d := display(t, srv, "Chats")
	if len(d) != 3001 || d[1500][0] != "T00001499" || d[1501][0] != "T00001501" || d[3000][0] != "T00003000" {
		t.Errorf("%d rows left (row 1502 %q, last %q), want 3000 + header, the blank row gone", len(d), d[1501][0], d[len(d)-1][0])
	}
}

// peakHeap samples the live heap and all the memory the Go runtime holds every millisecond
// until stop is called, and returns their peaks.
func peakHeap() (stop func() (heap, total uint64)) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}
	var peak, peakTotal atomic.Uint64
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
			if v := sample[1].Value.Uint64(); v > peakTotal.Load() {
				peakTotal.Store(v)
			}
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	return func() (uint64, uint64) { close(done); wg.Wait(); return peak.Load(), peakTotal.Load() }
}

// BenchmarkFullRunFinish400k measures a full run's finish on a Chats tab of 400,000 rows:
// Prune with retention and the run's seen keys (399,000 of them, as process holds them), the
// 1,000 unseen rows deleted. The fake runs in a child process, so the figures are the Sink's
// (and the seen-key map's): the peak live heap above the heap before the finish, the peak of
// all memory the Go runtime holds, and the requests.
//
//	go test -run '^$' -bench FullRunFinish400k -benchtime 1x ./shared/sheets/
func BenchmarkFullRunFinish400k(b *testing.B) {
	const n = 400_000
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		url := fakeProcess(b, n)
		svc, err := sheets.NewService(ctx, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		sink := sheets.New(svc, sheetID, halifax)
		base := at(benchBase)
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
		res, err := sink.Prune(ctx, table.Chats, sheets.PrunePolicy{
			Expired: func(r sheets.PruneRow) bool { return !r.Date.IsZero() && r.Date.Before(cutoff) },
			Unseen:  func(r sheets.PruneRow) bool { _, ok := seen[r.Key]; return !ok },
		})
		peak, total := stop()
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		r, w := sink.Requests()
		if res.Unseen != 1000 || res.Rows != n {
			b.Fatalf("result %+v, want 1000 unseen of %d", res, n)
		}
		b.ReportMetric(float64(peak-before)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(total)/(1<<20), "peak-go-total-MiB")
		b.ReportMetric(float64(r), "reads")
		b.ReportMetric(float64(w), "writes")
	}
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func metricsHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkUpsertInto400k measures one batch of 10,000 rows (5,000 updates scattered over the
// tab, 5,000 new) into a Chats tab of 400,000 rows: the peak live heap above the heap before the
// batch (the batch's rows included), and the requests. The fake runs in a child process.
//
//	go test -run '^$' -bench UpsertInto400k -benchtime 1x ./shared/sheets/
func BenchmarkUpsertInto400k(b *testing.B) {
	const n = 400_000
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		url := fakeProcess(b, n)
		svc, err := sheets.NewService(ctx, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		sink := sheets.New(svc, sheetID, halifax)
		if err := sink.Ensure(ctx, table.Chats); err != nil {
			b.Fatal(err)
		}
		base := at(benchBase)
		runtime.GC()
		before := metricsHeap()
		b.StartTimer()
		stop := peakHeap()
		rows := make([]table.Row, 0, 10_000)
		for i := range 10_000 {
			id := i * 80 // scattered over the tab
			if i >= 5_000 {
				id = n + i
			}
			r := make(table.Row, len(table.Chats.Columns))
			r[0], r[1] = table.TextCell(fmt.Sprintf("T%08d", id)), table.TextCell(fmt.Sprintf("C%08d", id))
			r[2], r[5], r[6] = table.TimeCell(base.Add(-time.Duration(id)*time.Minute)), table.TextCell("Sales"), table.TextCell("Human")
			rows = append(rows, r)
		}
		r0, w0 := sink.Requests()
		res, err := sink.Upsert(ctx, table.Chats, rows, nil)
		peak, total := stop()
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		r, w := sink.Requests()
		if res.Updated != 5_000 || res.Inserted != 5_000 {
			b.Fatalf("result %+v, want 5,000 updated and 5,000 inserted", res)
		}
		b.ReportMetric(float64(peak-before)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(total)/(1<<20), "peak-go-total-MiB")
		b.ReportMetric(float64(r-r0), "reads")
		b.ReportMetric(float64(w-w0), "writes")
	}
}

// BenchmarkBatchInto400k lands 5,000-record batches into a Chats tab of 400,000 rows (every
// column filled) and into an empty one, the fake in a child process: the time of one batch once
// the Sink knows the tab (its layout kept from the batch before, as in a running sync), of
// new records and of updates to existing ones, and of the first batch of an instance, which
// reads the key column. Compare the ms/batch of the two sizes (wall time, the fake's work
// included: an in-memory fake holding 400,000 rows pays for its own garbage collection, which
// the real API does not) and the Sink's own CPU per batch:
//
//	go test -run '^$' -bench BatchInto400k -benchtime 4x ./shared/sheets/
func BenchmarkBatchInto400k(b *testing.B) {
	const batch = 5_000
	for _, n := range []int{0, 400_000} {
		for _, kind := range []string{"new", "changed", "unchanged"} {
			b.Run(fmt.Sprintf("rows=%d/%s", n, kind), func(b *testing.B) {
				b.Setenv(helperWideEnv, "1")
				ctx := context.Background()
				svc, err := sheets.NewService(ctx, fakeProcess(b, n), nil)
				if err != nil {
					b.Fatal(err)
				}
				sink := sheets.New(svc, sheetID, halifax, sheets.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
				base := at(benchBase)
				next := n
				version := 0 // a changed batch rewrites a number in every record
				rows := func(from int) []table.Row {
					out := make([]table.Row, 0, batch)
					for i := from; i < from+batch; i++ {
						started := base.Add(-time.Duration(i%500_000) * time.Minute)
						out = append(out, table.Row{table.TextCell(fmt.Sprintf("T%08d", i)), table.TextCell(fmt.Sprintf("C%08d", i)),
							table.TimeCell(started), table.TimeCell(started.Add(15 * time.Minute)), table.NumberCell(14.4 + float64(version)),
							table.TextCell("Sales"), table.TextCell("Bot → Human"), table.TextCell("Wynn AI"), table.TextCell("Richie"),
							table.BoolCell(true), table.NumberCell(12), table.NumberCell(95), table.NumberCell(9), table.NumberCell(7),
							table.TextCell("good"), table.TextCell("Thanks, that fixed it"), table.TextCell("billing,refund"),
							table.BoolCell(false), table.TimeCell(started)})
					}
					return out
				}
				var cpu time.Duration // the Sink's CPU (this process; the fake is a child)
				land := func(from int) time.Duration {
					batch := rows(from)
					start, c0 := time.Now(), cpuTime()
					if _, err := sink.Upsert(ctx, table.Chats, batch, nil); err != nil {
						b.Fatal(err)
					}
					cpu += cpuTime() - c0
					return time.Since(start)
				}
				if err := sink.Ensure(ctx, table.Chats); err != nil {
					b.Fatal(err)
				}
				cold := land(next) // the first batch of an instance reads the key column
				next += batch
				var total time.Duration
				cpu = 0
				r0, w0 := sink.Requests()
				for range b.N {
					if kind == "new" {
						total += land(next)
						next += batch
					} else {
						if kind == "changed" {
							version++
						}
						total += land(n) // the first batch's records, which exist
					}
				}
				r, w := sink.Requests()
				b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/batch")
				b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "sink-cpu-ms/batch")
				b.ReportMetric(float64(cold.Milliseconds()), "first-batch-ms")
				b.ReportMetric(float64(r-r0+w-w0)/float64(b.N), "requests/batch")
			})
		}
	}
}
