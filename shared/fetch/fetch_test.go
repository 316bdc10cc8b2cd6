package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/fakeapi"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/runlife"
	"supportsync.dev/shared/state"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

// recorder is a Publisher that keeps what was published, and when, per topic.
type recorder struct {
	mu    sync.Mutex
	msgs  map[string][][]byte
	attrs map[string][]map[string]string
	at    map[string][]time.Time
}

func (r *recorder) Publish(_ context.Context, topic string, data []byte, attrs map[string]string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.msgs == nil {
		r.msgs, r.attrs, r.at = map[string][][]byte{}, map[string][]map[string]string{}, map[string][]time.Time{}
	}
	r.msgs[topic] = append(r.msgs[topic], append([]byte(nil), data...))
	r.attrs[topic] = append(r.attrs[topic], attrs)
	r.at[topic] = append(r.at[topic], time.Now())
	return "id", nil
}

// failures returns the failure reports published on the raw topic.
func (r *recorder) failures(t *testing.T) []*batch.Failure {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*batch.Failure
	for i, data := range r.msgs["raw"] {
		if batch.Kind(r.attrs["raw"][i]) != batch.KindFailure {
			continue
		}
		f, err := batch.DecodeFailure(data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// lastRequest returns the last continuation request published.
func (r *recorder) lastRequest(t *testing.T) batch.SyncRequest {
	t.Helper()
	r.mu.Lock()
	next := r.msgs["sync"][len(r.msgs["sync"])-1]
	r.mu.Unlock()
	req, _, err := batch.ParseSyncRequest(next)
	if err != nil {
		t.Fatalf("continuation request %s: %v", next, err)
	}
	return req
}

// batches returns the raw batches published (not the failure reports).
func (r *recorder) batches(t *testing.T) []*batch.Batch {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*batch.Batch
	for i, data := range r.msgs["raw"] {
		if batch.Kind(r.attrs["raw"][i]) != batch.KindBatch {
			continue
		}
		b, err := batch.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// fakeClock advances by step on every call, so a budget runs out after a known number of pages.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func newService(t *testing.T, tickets int, budget time.Duration, clock *fakeClock) (*Service, *recorder, *hubspotfake.TestServer) {
	t.Helper()
	hs := hubspotfake.NewTestServer(hubspotfake.Fixture(3, tickets, time.Now()), hubspotfake.WithToken("tok"))
	t.Cleanup(hs.Close)
	c, err := hubspot.NewClient(hubspot.WithBaseURL(hs.URL), hubspot.WithToken("tok"), hubspot.WithLimits(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	svc, rec := newServiceFor(t, &Tickets{Client: c}, budget, clock.Now)
	return svc, rec, hs
}

// newServiceFor returns a Service reading src on the Firestore emulator, on clock (time.Now
// when nil), with batches of 250 records.
func newServiceFor(t *testing.T, src Source, budget time.Duration, clock func() time.Time) (*Service, *recorder) {
	t.Helper()
	if clock == nil {
		clock = time.Now
	}
	rec := &recorder{}
	store := state.New(emulatortest.FirestoreClient(t))
	store.Now = clock
	return &Service{
		Source: src, Store: store, Publisher: rec, RawTopic: "raw", SyncTopic: "sync",
		Retention: 365 * 24 * time.Hour, Lookback: 15 * time.Minute, Budget: budget,
		BatchRecords: 250, LeaseTTL: 10 * time.Minute, Now: clock,
	}, rec
}

// landAll records every published batch as landed, as process would between invocations.
func landAll(t *testing.T, svc *Service, rec *recorder) {
	t.Helper()
	for _, b := range rec.batches(t) {
		if _, _, err := svc.Store.LandBatch(context.Background(), b.RunID, state.BatchRecord{Seq: b.Seq, Last: b.Last, HighWater: b.HighWater}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
}

// TestContinuationGetsEveryTicketOnce runs a full fetch whose budget runs out after a few
// pages: it checkpoints, hands on its turn in a continuation request, and the follow-up
// invocations resume where it stopped — while the batches published so far land in between,
// as they do in a real run — so the batches cover every ticket exactly once with contiguous
// sequence numbers. Every continuation is also delivered a second time, late: that one is a
// no-op that says so and publishes nothing.
func TestContinuationGetsEveryTicketOnce(t *testing.T) {
	clock := &fakeClock{now: time.Now(), step: time.Second}
	svc, rec, hs := newService(t, 1200, 5*time.Second, clock)
	ctx := context.Background()

	res, err := svc.Run(ctx, batch.SyncRequest{Mode: batch.Full, RunID: "cont-run"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Continued || res.Done {
		t.Fatalf("first invocation = %+v, want a continuation", res)
	}
	invocations := 1
	for !res.Done {
		landAll(t, svc, rec)
		req := rec.lastRequest(t)
		if !req.Continue || req.RunID != "cont-run" || req.Turn == "" {
			t.Fatalf("continuation request %+v", req)
		}
		if res, err = svc.Run(ctx, req, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if invocations++; invocations > 50 {
			t.Fatal("no end after 50 invocations")
		}
		published := len(rec.batches(t))
		again, err := svc.Run(ctx, req, time.Time{}) // the same continuation, redelivered
		if err != nil || !again.Skipped || !strings.Contains(again.Message, "stale") && !strings.Contains(again.Message, "over") {
			t.Fatalf("redelivered continuation = %+v, %v; want a no-op that says why", again, err)
		}
		if len(rec.batches(t)) != published {
			t.Fatal("a redelivered continuation published batches")
		}
	}
	seen := map[string]int{}
	batches := rec.batches(t)
	for i, b := range batches {
		if b.Seq != i || b.RunID != "cont-run" || b.Mode != batch.Full {
			t.Fatalf("batch %d: seq %d run %s mode %s", i, b.Seq, b.RunID, b.Mode)
		}
		if b.Last != (i == len(batches)-1) {
			t.Fatalf("batch %d: last=%v of %d", i, b.Last, len(batches))
		}
		var p hubspot.Payload
		if err := json.Unmarshal(b.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Owners) == 0 || len(p.Pipelines) == 0 || len(p.Tickets) != b.Records {
			t.Fatalf("batch %d is not self-contained: %d owners, %d pipelines, %d/%d tickets", i, len(p.Owners), len(p.Pipelines), len(p.Tickets), b.Records)
		}
		for _, tk := range p.Tickets {
			seen[tk.ID]++
		}
	}
	want := hs.IDs(false, func(tk hubspot.Ticket) bool {
		c, err := time.Parse(time.RFC3339Nano, tk.Prop("createdate"))
		return err == nil && c.After(time.Now().Add(-364*24*time.Hour))
	})
	for _, id := range want {
		if seen[id] != 1 {
			t.Fatalf("ticket %s published %d times", id, seen[id])
		}
	}
	if invocations < 3 {
		t.Errorf("only %d invocations; the budget should have forced continuations", invocations)
	}
	last := batches[len(batches)-1]
	if last.HighWater.IsZero() {
		t.Error("the last batch carries no high-water mark")
	}
}

// TestOverlappingRunIsANoOp starts a second run while the first holds the lease.
func TestOverlappingRunIsANoOp(t *testing.T) {
	clock := &fakeClock{now: time.Now(), step: time.Second}
	svc, rec, _ := newService(t, 600, 3*time.Second, clock)
	ctx := context.Background()
	first, err := svc.Run(ctx, batch.SyncRequest{Mode: batch.Full, RunID: "first"}, time.Time{})
	if err != nil || !first.Continued {
		t.Fatalf("first = %+v, %v; want it still running (continued)", first, err)
	}
	n := len(rec.batches(t))
	second, err := svc.Run(ctx, batch.SyncRequest{Mode: batch.Incremental}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !second.Skipped || second.Message == "" {
		t.Fatalf("second = %+v, want skipped with a reason", second)
	}
	if len(rec.batches(t)) != n {
		t.Fatal("the skipped run published batches")
	}
	// The same request delivered again is a no-op too.
	again, err := svc.Run(ctx, batch.SyncRequest{Mode: batch.Full, RunID: "first"}, time.Time{})
	if err != nil || !again.Skipped {
		t.Fatalf("redelivered request = %+v, %v", again, err)
	}
}

// TestFetchFailureIsRecorded makes HubSpot fail for good: the run ends with a failure report
// for process to log, and the error says the run failed.
func TestFetchFailureIsRecorded(t *testing.T) {
	clock := &fakeClock{now: time.Now(), step: time.Millisecond}
	svc, rec, hs := newService(t, 300, time.Minute, clock)
	hs.Inject(fakeapi.Fault{Code: 429, Variant: hubspotfake.DailyLimit, Times: 100})
	_, err := svc.Run(context.Background(), batch.SyncRequest{Mode: batch.Full, RunID: "doomed"}, time.Time{})
	if err == nil || !errors.Is(err, ErrRunFailed) {
		t.Fatalf("err = %v, want ErrRunFailed", err)
	}
	if bs := rec.batches(t); len(bs) != 0 {
		t.Fatalf("batches = %+v, want none", bs)
	}
	fs := rec.failures(t)
	if len(fs) != 1 || fs[0].RunID != "doomed" || fs[0].Reason == "" || fs[0].Abandoned {
		t.Fatalf("failures = %+v, want one failure report for the run", fs)
	}
}

// TestRequestsRefusedWithTheirReason sends requests runlife.PlanWindow refuses: each fails
// with ErrBadRequest naming the reason, and no run begins.
func TestRequestsRefusedWithTheirReason(t *testing.T) {
	clock := &fakeClock{now: time.Now(), step: time.Millisecond}
	svc, rec, _ := newService(t, 10, time.Minute, clock)
	for _, tt := range []struct {
		req   batch.SyncRequest
		since time.Time
		want  string
	}{
		{batch.SyncRequest{Mode: batch.Full, RunID: "full-since"}, time.Now().Add(-time.Hour), "incremental runs only"},
		{batch.SyncRequest{Mode: batch.Incremental, RunID: "incr-del", AllowDeletions: true}, time.Time{}, "full runs only"},
		{batch.SyncRequest{Mode: batch.Incremental, RunID: "incr-late"}, time.Now().Add(-time.Hour), "retention window"},
	} {
		_, err := svc.Run(context.Background(), tt.req, tt.since)
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrBadRequest saying %q", tt.req.RunID, err, tt.want)
		}
		if _, ok, _ := svc.Store.Run(context.Background(), tt.req.RunID); ok {
			t.Errorf("%s: a refused request began a run", tt.req.RunID)
		}
	}
	if len(rec.batches(t)) != 0 {
		t.Error("a refused request published")
	}
}

// TestSlowPageIsCutAtTheBudget makes one page answer long after the budget (HubSpot slow,
// the client retrying): the invocation stops at the budget, not when the page ends, checkpoints
// at the last full page and the continuation still gets every ticket once.
func TestSlowPageIsCutAtTheBudget(t *testing.T) {
	svc, rec, hs := newService(t, 800, time.Second, &fakeClock{})
	svc.Now, svc.Store.Now, svc.TurnGrace = nil, time.Now, 2*time.Second
	hs.Inject(fakeapi.Fault{Answer: fakeapi.Delay, Match: hubspotfake.EndpointTickets, Delay: 200 * time.Millisecond, Times: 5})
	hs.Inject(fakeapi.Fault{Answer: fakeapi.Delay, Match: hubspotfake.EndpointTickets, Delay: 8 * time.Second})
	ctx := context.Background()
	start := time.Now()
	res, err := svc.Run(ctx, batch.SyncRequest{Mode: batch.Full, RunID: "slow"}, time.Time{})
	took := time.Since(start)
	if err != nil || !res.Continued {
		t.Fatalf("first invocation = %+v, %v; want a continuation", res, err)
	}
	t.Logf("first invocation: %s, %+v; faults left %d", took, res, hs.PendingFaults())
	if took > 3*time.Second {
		t.Errorf("the invocation took %s with a 1s budget: the slow page was not cut", took)
	}
	for i := 0; !res.Done; i++ {
		if res, err = svc.Run(ctx, rec.lastRequest(t), time.Time{}); err != nil || i > 20 {
			t.Fatalf("continuation %d = %+v, %v", i, res, err)
		}
	}
	seen := map[string]int{}
	for i, b := range rec.batches(t) {
		if b.Seq != i {
			t.Fatalf("batch %d has seq %d", i, b.Seq)
		}
		var p hubspot.Payload
		if err := json.Unmarshal(b.Payload, &p); err != nil {
			t.Fatal(err)
		}
		for _, tk := range p.Tickets {
			seen[tk.ID]++
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("ticket %s published %d times", id, n)
		}
	}
	if want := len(hs.IDs(false, func(hubspot.Ticket) bool { return true })); len(seen) < want*9/10 {
		t.Errorf("%d tickets published of %d", len(seen), want)
	}
}

// TestBatchesAreFull checks that a run without continuations publishes full batches and one
// shorter last batch, and counts the reference-data requests too.
func TestBatchesAreFull(t *testing.T) {
	clock := &fakeClock{now: time.Now(), step: time.Millisecond}
	svc, rec, hs := newService(t, 1500, time.Hour, clock)
	res, err := svc.Run(context.Background(), batch.SyncRequest{Mode: batch.Full, RunID: "full-batches"}, time.Time{})
	if err != nil || !res.Done || res.Continued {
		t.Fatalf("run = %+v, %v", res, err)
	}
	bs := rec.batches(t)
	requests := 0
	for i, b := range bs {
		requests += b.APIRequests
		if i < len(bs)-1 && b.Records != svc.BatchRecords {
			t.Errorf("batch %d has %d records, want %d (only the last may be short)", i, b.Records, svc.BatchRecords)
		}
	}
	if int64(requests) != hs.Requests("") {
		t.Errorf("batches account for %d API requests, the server saw %d", requests, hs.Requests(""))
	}
}

// TestTakeoverReportsAbandonedRun lets a run's lease expire (as when a batch is dead-lettered):
// the next run takes the lease over and publishes a failure batch for the abandoned run, so
// that it gets its Sync_Log row.
func TestTakeoverReportsAbandonedRun(t *testing.T) {
	clock := &fakeClock{now: time.Now(), step: time.Second}
	svc, rec, _ := newService(t, 600, 3*time.Second, clock)
	ctx := context.Background()
	if res, err := svc.Run(ctx, batch.SyncRequest{Mode: batch.Full, RunID: "stalled"}, time.Time{}); err != nil || !res.Continued {
		t.Fatalf("first run = %+v, %v", res, err)
	}
	clock.mu.Lock()
	clock.now = clock.now.Add(svc.LeaseTTL + time.Minute)
	clock.mu.Unlock()
	if res, err := svc.Run(ctx, batch.SyncRequest{Mode: batch.Incremental, RunID: "next"}, time.Time{}); err != nil || res.Skipped {
		t.Fatalf("next run = %+v, %v; want it to take the expired lease", res, err)
	}
	var marker *batch.Failure
	for _, f := range rec.failures(t) {
		if f.RunID == "stalled" {
			marker = f
		}
	}
	if marker == nil || !marker.Abandoned || !strings.Contains(marker.Reason, "abandoned") {
		t.Fatalf("no abandonment report for the stalled run: %+v", marker)
	}
	old, _, err := svc.Store.Run(ctx, "stalled")
	if err != nil || old.State != state.StateFailed {
		t.Fatalf("stalled run = %+v, %v; want failed", old, err)
	}
}

// TestBusyTurnIsRetriedAndTakenOverWhenItsClaimLapses delivers a continuation while another
// invocation holds its turn (claimed, as by a redelivery racing the first delivery): it is
// busy (retry), and once that invocation's claim lapses (it crashed) the retry takes the turn.
func TestBusyTurnIsRetriedAndTakenOverWhenItsClaimLapses(t *testing.T) {
	clock := &fakeClock{now: time.Now(), step: time.Second}
	svc, rec, _ := newService(t, 600, 3*time.Second, clock)
	ctx := context.Background()
	if res, err := svc.Run(ctx, batch.SyncRequest{Mode: batch.Full, RunID: "busy"}, time.Time{}); err != nil || !res.Continued {
		t.Fatalf("first invocation = %+v, %v", res, err)
	}
	req := rec.lastRequest(t)
	if _, d, err := svc.Store.ClaimTurn(ctx, "busy", req.Turn, "crashed-invocation", clock.Now().Add(time.Hour), time.Hour); err != nil || d.Verdict != runlife.TurnTake {
		t.Fatalf("claim by the other invocation: %v, %v", d.Verdict, err)
	}
	published := len(rec.batches(t))
	res, err := svc.Run(ctx, req, time.Time{})
	if err != nil || !res.Busy || !res.Skipped || len(rec.batches(t)) != published {
		t.Fatalf("delivery while the turn is claimed = %+v, %v; want busy, nothing published", res, err)
	}
	clock.mu.Lock()
	clock.now = clock.now.Add(2 * time.Hour)
	clock.mu.Unlock()
	if res, err = svc.Run(ctx, req, time.Time{}); err != nil || res.Skipped || res.Batches == 0 {
		t.Fatalf("retry after the claim lapsed = %+v, %v; want the turn taken over", res, err)
	}
}
