package fetch

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/livechat/livechatfake"
)

func TestEarlyFlush(t *testing.T) {
	now := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		oldest   time.Time
		maxAge   time.Duration
		nextWait time.Duration
		lastGap  time.Duration
		want     flushReason
	}{
		{"fresh records, no wait", now.Add(-time.Second), 20 * time.Second, 0, 10 * time.Millisecond, ""},
		{"LiveChat's spacing is too short to flush for", now.Add(-time.Second), 20 * time.Second, 300 * time.Millisecond, 330 * time.Millisecond, ""},
		{"just under the idle threshold", now, 20 * time.Second, idleFlushWait - time.Millisecond, 10 * time.Millisecond, ""},
		{"a wait of the idle threshold after a burst", now, 20 * time.Second, idleFlushWait, 10 * time.Millisecond, flushIdle},
		{"HubSpot's window after a burst", now, 20 * time.Second, 9 * time.Second, 15 * time.Millisecond, flushIdle},
		{"the first page after the wait, then the wait again", now, 20 * time.Second, 9 * time.Second, 9 * time.Second, ""},
		{"every page spaced 2 s (a limit below 1/s)", now.Add(-4 * time.Second), 20 * time.Second, 1900 * time.Millisecond, 2 * time.Second, ""},
		{"a wait just twice the last gap", now, 20 * time.Second, 2 * time.Second, time.Second, flushIdle},
		{"oldest just under the age", now.Add(-20*time.Second + time.Millisecond), 20 * time.Second, 0, 0, ""},
		{"oldest at the age", now.Add(-20 * time.Second), 20 * time.Second, 0, 0, flushAge},
		{"oldest past the age, every page spaced", now.Add(-time.Minute), 20 * time.Second, 2 * time.Second, 2 * time.Second, flushAge},
		{"both: the wait says why", now.Add(-time.Minute), 20 * time.Second, 5 * time.Second, 0, flushIdle},
		{"nothing pending", time.Time{}, 20 * time.Second, 0, 0, ""},
	}
	for _, tt := range tests {
		if got := earlyFlush(tt.oldest, now, tt.maxAge, tt.nextWait, tt.lastGap); got != tt.want {
			t.Errorf("%s: earlyFlush = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestArrivals(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name string
		ops  func(a *arrivals)
		want time.Time // zero: none pending
	}{
		{"empty", func(a *arrivals) {}, time.Time{}},
		{"one page", func(a *arrivals) { a.add(100, at(1)) }, at(1)},
		{"an empty page is not an arrival", func(a *arrivals) { a.add(0, at(1)); a.add(100, at(2)) }, at(2)},
		{"part of the oldest page dropped", func(a *arrivals) { a.add(100, at(1)); a.add(100, at(2)); a.drop(99) }, at(1)},
		{"the oldest page dropped exactly", func(a *arrivals) { a.add(100, at(1)); a.add(100, at(2)); a.drop(100) }, at(2)},
		{"a batch across pages", func(a *arrivals) {
			a.add(100, at(1))
			a.add(100, at(2))
			a.add(100, at(3))
			a.drop(250)
		}, at(3)},
		{"everything dropped", func(a *arrivals) { a.add(100, at(1)); a.add(50, at(2)); a.drop(150) }, time.Time{}},
		{"dropping more than pending", func(a *arrivals) { a.add(10, at(1)); a.drop(20); a.add(5, at(4)) }, at(4)},
	}
	for _, tt := range tests {
		var a arrivals
		tt.ops(&a)
		got, ok := a.oldest()
		if ok == tt.want.IsZero() || !got.Equal(tt.want) {
			t.Errorf("%s: oldest = %s, %v; want %s", tt.name, got, ok, tt.want)
		}
	}
}

// batchTimes returns when each raw batch (not the failure reports) was published.
func (r *recorder) batchTimes() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Time
	for i, at := range r.at["raw"] {
		if batch.Kind(r.attrs["raw"][i]) == batch.KindBatch {
			out = append(out, at)
		}
	}
	return out
}

// checkRun checks the batches of a finished single-invocation run: contiguous seqs, only the
// final one last and carrying the high-water mark, every record once; it returns the ids.
func checkRun(t *testing.T, bs []*batch.Batch, ids func(json.RawMessage) []string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for i, b := range bs {
		if b.Seq != i || b.Last != (i == len(bs)-1) || b.HighWater.IsZero() == b.Last {
			t.Fatalf("batch %d: seq %d, last %v, high water %s", i, b.Seq, b.Last, b.HighWater)
		}
		got := ids(b.Payload)
		if len(got) != b.Records {
			t.Fatalf("batch %d carries %d records, says %d", i, len(got), b.Records)
		}
		for _, id := range got {
			if seen[id]++; seen[id] > 1 {
				t.Fatalf("record %s published twice", id)
			}
		}
	}
	return seen
}

func ticketIDs(t *testing.T) func(json.RawMessage) []string {
	return func(raw json.RawMessage) []string {
		var p hubspot.Payload
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(p.Tickets))
		for i, tk := range p.Tickets {
			out[i] = tk.ID
		}
		return out
	}
}

// TestLimitedRunFlushesBeforeEachLimiterWait runs a full fetch with HubSpot's limit kept by the
// client and by the fake (10 requests per rolling 2 s window, shortened from 100 per 10 s): the
// pages come in bursts of 10, then the client waits out the window. Batches of 5,000 would hold
// the whole run until its end; instead the pending records are published before each wait, so
// each window's pages make one batch, published within that window, and the last batch after
// the final page holds only the last window's pages.
func TestLimitedRunFlushesBeforeEachLimiterWait(t *testing.T) {
	const perWindow, window, tickets = 10, 2 * time.Second, 2000
	hs := hubspotfake.NewTestServer(hubspotfake.Fixture(3, tickets, time.Now()), hubspotfake.WithToken("tok"),
		hubspotfake.WithLimits(perWindow, 0), hubspotfake.WithLimitWindow(window))
	t.Cleanup(hs.Close)
	c, err := hubspot.NewClient(hubspot.WithBaseURL(hs.URL), hubspot.WithToken("tok"),
		hubspot.WithLimits(perWindow, 0), hubspot.WithLimitWindow(window))
	if err != nil {
		t.Fatal(err)
	}
	svc, rec := newServiceFor(t, &Tickets{Client: c}, time.Hour, nil)
	svc.BatchRecords = 5000
	svc.Retention = 50 * 365 * 24 * time.Hour // every generated ticket is in the window: pages are whole
	start := time.Now()
	res, err := svc.Run(context.Background(), batch.SyncRequest{Mode: batch.Full, RunID: "limited"}, time.Time{})
	if err != nil || !res.Done {
		t.Fatalf("run = %+v, %v", res, err)
	}
	bs, times := rec.batches(t), rec.batchTimes()
	seen := checkRun(t, bs, ticketIDs(t))
	if len(seen) != tickets {
		t.Fatalf("%d tickets published, want %d", len(seen), tickets)
	}
	requests := int(c.Requests())
	pages := tickets / 100
	ref := requests - pages // owners (active, archived) and pipelines, in the first window
	windows := (requests-1)/perWindow + 1
	if n := hs.RateLimited(); n != 0 {
		t.Errorf("the fake answered %d 429s", n)
	}
	// Request k goes in window k/perWindow: the first window reads perWindow-ref pages, the
	// next ones perWindow each, the last what is left.
	var want []int
	for w, left := 0, pages; left > 0; w++ {
		n := perWindow
		if w == 0 {
			n -= ref
		}
		n = min(n, left)
		want = append(want, n*100)
		left -= n
	}
	var got []int
	for i, b := range bs {
		got = append(got, b.Records)
		t.Logf("batch %d: %d records, published %s after the start", i, b.Records, times[i].Sub(start).Round(time.Millisecond))
	}
	if len(want) != windows || !equalInts(got, want) {
		t.Fatalf("batch sizes %v, want %v: one batch per %d-request window (%d requests)", got, want, perWindow, requests)
	}
	// Each batch is published within its own window, before the wait that ends it: batch k
	// at k windows (the requests of window k go then) plus the burst, well before window k+1.
	w := window + window*3/100 // the client's pacing window includes its slack
	for k, at := range times {
		off := at.Sub(times[0])
		if off < time.Duration(k)*w-200*time.Millisecond || off > time.Duration(k)*w+w*6/10 {
			t.Errorf("batch %d published %s after batch 0, want within window %d (%s..%s)", k, off.Round(time.Millisecond), k,
				time.Duration(k)*w, time.Duration(k)*w+w*6/10)
		}
	}
	if last := bs[len(bs)-1]; last.Records > perWindow*100 {
		t.Errorf("the last batch holds %d records, more than one window's pages", last.Records)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSlowSourceFlushesByAge reads LiveChat through a fake that answers each list_archives page
// after 120 ms, with BatchAge 400 ms: the run's records would fit one batch, but every batch is
// published once its oldest record has waited BatchAge, so it holds a few pages, never more
// than BatchAge's worth plus the page in flight, and the batches follow each other about
// BatchAge apart.
func TestSlowSourceFlushesByAge(t *testing.T) {
	const delay, age = 120 * time.Millisecond, 400 * time.Millisecond
	now := time.Now()
	fake := livechatfake.New(livechatfake.Generate(7, 1500, now), livechatfake.WithCredentials("acct", "pat"),
		livechatfake.WithRatePerMinute(0))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/list_archives") {
			time.Sleep(delay)
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c, err := livechat.NewClient(livechat.WithBaseURL(ts.URL+"/"), livechat.WithCredentials("acct", "pat"),
		livechat.WithRatePerMinute(0))
	if err != nil {
		t.Fatal(err)
	}
	svc, rec := newServiceFor(t, &Chats{Client: c}, time.Hour, nil)
	svc.BatchRecords, svc.BatchAge = 5000, age
	res, err := svc.Run(context.Background(), batch.SyncRequest{Mode: batch.Full, RunID: "slow-chats"}, time.Time{})
	if err != nil || !res.Done {
		t.Fatalf("run = %+v, %v", res, err)
	}
	bs, times := rec.batches(t), rec.batchTimes()
	seen := checkRun(t, bs, func(raw json.RawMessage) []string {
		var p livechat.Payload
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(p.Chats))
		for i, ch := range p.Chats {
			out[i] = ch.Thread.ID
		}
		return out
	})
	if len(seen) < 500 || len(seen) > svc.BatchRecords {
		t.Fatalf("%d threads in the window; the test wants one batch's worth, and a few pages", len(seen))
	}
	// A flush comes after the page on which the oldest record turns age old: at most
	// age/delay + 1 pages after the page that brought it, whatever the machine's speed (a
	// slower page only makes fewer pages per batch).
	maxPages := int(age/delay) + 2
	for i, b := range bs[:len(bs)-1] {
		t.Logf("batch %d: %d records, published %s after batch 0", i, b.Records, times[i].Sub(times[0]).Round(time.Millisecond))
		if b.Records > maxPages*livechat.MaxLimit {
			t.Errorf("batch %d holds %d records, more than %d pages (BatchAge %s, %s a page)", i, b.Records, maxPages, age, delay)
		}
		if i > 0 {
			if gap := times[i].Sub(times[i-1]); gap < age || gap > age+time.Second {
				t.Errorf("batch %d published %s after batch %d, want about BatchAge %s (plus a page)", i, gap, i-1, age)
			}
		}
	}
	if len(bs) < 3 {
		t.Errorf("%d batches for %d records over %d pages: no flush by age", len(bs), len(seen), c.Requests())
	}
}

// TestSpacedPacingDoesNotMakeABatchPerPage paces the client at one request per 1.15 s (a limit
// below a request a second): every page waits about as long as the last one took, so none of
// those waits ends a burst, and the run's pages make one batch instead of one batch per page.
func TestSpacedPacingDoesNotMakeABatchPerPage(t *testing.T) {
	const tickets = 300
	hs := hubspotfake.NewTestServer(hubspotfake.Fixture(3, tickets, time.Now()), hubspotfake.WithToken("tok"))
	t.Cleanup(hs.Close)
	c, err := hubspot.NewClient(hubspot.WithBaseURL(hs.URL), hubspot.WithToken("tok"),
		hubspot.WithLimits(1, 0), hubspot.WithLimitWindow(1100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	svc, rec := newServiceFor(t, &Tickets{Client: c}, time.Hour, nil)
	svc.BatchRecords = 5000
	svc.Retention = 50 * 365 * 24 * time.Hour
	res, err := svc.Run(context.Background(), batch.SyncRequest{Mode: batch.Full, RunID: "spaced"}, time.Time{})
	if err != nil || !res.Done {
		t.Fatalf("run = %+v, %v", res, err)
	}
	bs := rec.batches(t)
	if seen := checkRun(t, bs, ticketIDs(t)); len(seen) != tickets {
		t.Fatalf("%d tickets published, want %d", len(seen), tickets)
	}
	if len(bs) != 1 {
		t.Errorf("%d batches for %d pages spaced by the pacing, want 1", len(bs), tickets/100)
	}
}
