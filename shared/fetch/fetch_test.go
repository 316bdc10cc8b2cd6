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
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/state"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

// recorder is a Publisher that keeps what was published, per topic.
type recorder struct {
	mu   sync.Mutex
	msgs map[string][][]byte
}

func (r *recorder) Publish(_ context.Context, topic string, data []byte, _ map[string]string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.msgs == nil {
		r.msgs = map[string][][]byte{}
	}
	r.msgs[topic] = append(r.msgs[topic], append([]byte(nil), data...))
	return "id", nil
}

func (r *recorder) batches(t *testing.T) []*batch.Batch {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*batch.Batch
	for _, data := range r.msgs["raw"] {
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
	hs := hubspotfake.NewTestServer(hubspotfake.Generate(3, tickets, time.Now()), hubspotfake.WithToken("tok"))
	t.Cleanup(hs.Close)
	c, err := hubspot.NewClient(hubspot.WithBaseURL(hs.URL), hubspot.WithToken("tok"), hubspot.WithLimits(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	store := state.New(emulatortest.FirestoreClient(t))
	store.Now = clock.Now
	return &Service{
		Source: &Tickets{Client: c}, Store: store, Publisher: rec, RawTopic: "raw", SyncTopic: "sync",
		Retention: 365 * 24 * time.Hour, Lookback: 15 * time.Minute, Budget: budget,
		BatchRecords: 250, LeaseTTL: 10 * time.Minute, Now: clock.Now,
	}, rec, hs
}

// TestContinuationGetsEveryTicketOnce runs a full fetch whose budget runs out after a few
// pages: it checkpoints, asks for a continuation, and the follow-up invocations resume where
// it stopped, so the batches cover every ticket exactly once with contiguous sequence numbers.
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
		rec.mu.Lock()
		next := rec.msgs["sync"][len(rec.msgs["sync"])-1]
		rec.mu.Unlock()
		req, since, err := batch.ParseSyncRequest(next)
		if err != nil || !req.Continue || req.RunID != "cont-run" {
			t.Fatalf("continuation request %s: %v", next, err)
		}
		if res, err = svc.Run(ctx, req, since); err != nil {
			t.Fatal(err)
		}
		if invocations++; invocations > 50 {
			t.Fatal("no end after 50 invocations")
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

// TestFetchFailureIsRecorded makes HubSpot fail for good: the run ends with an error batch
// for process to log, and the error says the run failed.
func TestFetchFailureIsRecorded(t *testing.T) {
	clock := &fakeClock{now: time.Now(), step: time.Millisecond}
	svc, rec, hs := newService(t, 300, time.Minute, clock)
	hs.Inject(hubspotfake.Fault{Kind: hubspotfake.Fault429Daily, Count: 100})
	_, err := svc.Run(context.Background(), batch.SyncRequest{Mode: batch.Full, RunID: "doomed"}, time.Time{})
	if err == nil || !errors.Is(err, ErrRunFailed) {
		t.Fatalf("err = %v, want ErrRunFailed", err)
	}
	bs := rec.batches(t)
	if len(bs) != 1 || bs[0].Error == "" || !bs[0].Last {
		t.Fatalf("batches = %+v, want one error batch", bs)
	}
}

// TestWindow checks which window a new run reads.
func TestWindow(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	svc := &Service{Retention: 10 * 24 * time.Hour, Lookback: 15 * time.Minute}
	hw := now.Add(-time.Hour)
	since := now.Add(-3 * time.Hour)
	tests := []struct {
		name  string
		mode  batch.Mode
		since time.Time
		cur   state.Cursor
		found bool
		want  time.Time
	}{
		{"full ignores the cursor", batch.Full, time.Time{}, state.Cursor{HighWater: hw}, true, now.Add(-10 * 24 * time.Hour)},
		{"incremental from cursor minus look-back", batch.Incremental, time.Time{}, state.Cursor{HighWater: hw}, true, hw.Add(-15 * time.Minute)},
		{"first incremental reads the retention window", batch.Incremental, time.Time{}, state.Cursor{}, false, now.Add(-10 * 24 * time.Hour)},
		{"since wins", batch.Incremental, since, state.Cursor{HighWater: hw}, true, since},
	}
	for _, tt := range tests {
		from, to := svc.window(tt.mode, tt.since, tt.cur, tt.found, now)
		if !from.Equal(tt.want) || !to.Equal(now) {
			t.Errorf("%s: window %s..%s, want from %s", tt.name, from, to, tt.want)
		}
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
	if int64(requests) != hs.Requests() {
		t.Errorf("batches account for %d API requests, the server saw %d", requests, hs.Requests())
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
	var marker *batch.Batch
	for _, b := range rec.batches(t) {
		if b.RunID == "stalled" && b.Error != "" {
			marker = b
		}
	}
	if marker == nil || marker.Seq != batch.AbandonedSeq || !marker.Last || !strings.Contains(marker.Error, "abandoned") {
		t.Fatalf("no abandonment marker for the stalled run: %+v", marker)
	}
	old, _, err := svc.Store.Run(ctx, "stalled")
	if err != nil || old.State != state.StateFailed {
		t.Fatalf("stalled run = %+v, %v; want failed", old, err)
	}
}
