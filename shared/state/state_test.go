package state_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/runlife"
	"supportsync.dev/shared/state"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

const ttl = 10 * time.Minute

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// newStore returns a Store over a fresh emulator project, with a test clock at t0.
func newStore(t *testing.T) (*state.Store, *clock) {
	t.Helper()
	t.Parallel()
	s := state.New(emulatortest.FirestoreClient(t))
	c := &clock{now: t0}
	s.Now = c.Now
	return s, c
}

func begin(t *testing.T, s *state.Store, id, source string) state.Run {
	t.Helper()
	r, created, err := s.BeginRun(context.Background(), state.Run{ID: id, Source: batch.Source(source), Mode: "full", Turn: runlife.Turn{TurnHolder: "inv-1", TurnClaimedUntil: t0.Add(time.Minute)}}, ttl)
	if err != nil || !created {
		t.Fatalf("BeginRun(%s): created %v, %v", id, created, err)
	}
	return r
}

func land(t *testing.T, s *state.Store, runID string, b state.BatchRecord) (state.Run, bool) {
	t.Helper()
	r, recorded, err := s.LandBatch(context.Background(), runID, b, ttl)
	if err != nil {
		t.Fatalf("LandBatch(%s, %d): %v", runID, b.Seq, err)
	}
	return r, recorded
}

func cursor(t *testing.T, s *state.Store, source string) state.Cursor {
	t.Helper()
	c, _, err := s.Cursor(context.Background(), source)
	if err != nil {
		t.Fatalf("Cursor: %v", err)
	}
	return c
}

func getRun(t *testing.T, s *state.Store, id string) state.Run {
	t.Helper()
	r, ok, err := s.Run(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("Run(%s) = ok %v, err %v", id, ok, err)
	}
	return r
}

func TestCountsAdd(t *testing.T) {
	c := state.Counts{Fetched: 1, Inserted: 2, Updated: 3, Deleted: 4, Excluded: 5, Rejected: 6, Warnings: 7, APIRequests: 8, SheetsRequests: 9}
	c.Add(state.Counts{Fetched: 10, Inserted: 20, Updated: 30, Deleted: 40, Excluded: 50, Rejected: 60, Warnings: 70, APIRequests: 80, SheetsRequests: 90})
	want := state.Counts{Fetched: 11, Inserted: 22, Updated: 33, Deleted: 44, Excluded: 55, Rejected: 66, Warnings: 77, APIRequests: 88, SheetsRequests: 99}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Add (-want +got):\n%s", diff)
	}
}

func TestBeginRunLeaseIsExclusive(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	got := begin(t, s, "run-a", "tickets")
	want := state.Run{ID: "run-a", Source: "tickets", Mode: "full", State: state.StateFetching, Started: t0,
		Progress: runlife.Progress{Expected: -1}, LeaseExpires: t0.Add(ttl), Updated: t0,
		Turn: runlife.Turn{TurnNumber: 1, TurnHolder: "inv-1", TurnClaimedUntil: t0.Add(time.Minute)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BeginRun (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, getRun(t, s, "run-a")); diff != "" {
		t.Errorf("stored run (-want +got):\n%s", diff)
	}
	if c := cursor(t, s, "tickets"); c.LeaseRunID != "run-a" || !c.LeaseExpires.Equal(t0.Add(ttl)) || !c.HighWater.IsZero() {
		t.Errorf("cursor = %+v, want lease run-a until %v and no high water", c, t0.Add(ttl))
	}

	_, _, err := s.BeginRun(ctx, state.Run{ID: "run-b", Source: "tickets"}, ttl)
	var busy *state.BusyError
	if !errors.Is(err, state.ErrBusy) || !errors.As(err, &busy) {
		t.Fatalf("second BeginRun: err = %v, want ErrBusy / *BusyError", err)
	}
	if busy.Holder != "run-a" || !busy.Expires.Equal(t0.Add(ttl)) {
		t.Errorf("BusyError = %+v, want holder run-a until %v", busy, t0.Add(ttl))
	}
	if _, ok, _ := s.Run(ctx, "run-b"); ok {
		t.Error("busy BeginRun created runs/run-b")
	}
	// Another source has a lease of its own.
	begin(t, s, "run-c", "chats")
}

// TestTurns walks a run through its fetch turns: a redelivered request while the first turn
// is worked on is busy, a hand-on makes the next token current, the old token is then stale,
// a claim that lapsed (a crashed invocation) is taken over, and the done fetch needs no turn.
func TestTurns(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	begin(t, s, "run-a", "tickets")
	claim := func(token, holder string) (state.Run, runlife.TurnDecision) {
		t.Helper()
		r, d, err := s.ClaimTurn(ctx, "run-a", token, holder, clk.Now().Add(time.Minute), ttl)
		if err != nil {
			t.Fatalf("ClaimTurn(%q, %s): %v", token, holder, err)
		}
		return r, d
	}
	if _, d := claim("", "inv-2"); d.Verdict != runlife.TurnBusy || d.Reason == "" {
		t.Errorf("redelivered first request while it runs: %+v, want busy with a reason", d)
	}
	clk.Advance(30 * time.Second)
	if err := s.HandOn(ctx, "run-a", "", "inv-2", []byte(`{"after":"1"}`), 3, 7, "tok-2", ttl); !errors.Is(err, state.ErrTurnLost) {
		t.Errorf("HandOn by a non-holder: err = %v, want ErrTurnLost", err)
	}
	if err := s.HandOn(ctx, "run-a", "", "inv-1", []byte(`{"after":"123"}`), 3, 7, "tok-2", ttl); err != nil {
		t.Fatal(err)
	}
	r := getRun(t, s, "run-a")
	if r.TurnNumber != 2 || r.TurnToken != "tok-2" || r.TurnHolder != "" || r.NextSeq != 3 || string(r.Checkpoint) != `{"after":"123"}` ||
		r.CheckpointAPIRequests != 7 || !r.LeaseExpires.Equal(clk.Now().Add(ttl)) {
		t.Errorf("after hand-on: %+v", r)
	}
	if _, d := claim("", "inv-3"); d.Verdict != runlife.TurnStale {
		t.Errorf("the first request redelivered after the hand-on: %v, want stale", d.Verdict)
	}
	if r, d := claim("tok-2", "inv-3"); d.Verdict != runlife.TurnTake || r.TurnHolder != "inv-3" {
		t.Errorf("continuation: %v holder %q, want take by inv-3", d.Verdict, r.TurnHolder)
	}
	if _, d := claim("tok-2", "inv-4"); d.Verdict != runlife.TurnBusy {
		t.Errorf("redelivered continuation while claimed: %v, want busy", d.Verdict)
	}
	clk.Advance(2 * time.Minute) // inv-3 crashed: its claim lapses
	if r, d := claim("tok-2", "inv-4"); d.Verdict != runlife.TurnTake || r.TurnHolder != "inv-4" {
		t.Errorf("redelivery after the claim lapsed: %v holder %q, want take by inv-4", d.Verdict, r.TurnHolder)
	}
	if err := s.FetchDone(ctx, "run-a", "tok-2", "inv-3", 5, 9); !errors.Is(err, state.ErrTurnLost) {
		t.Errorf("FetchDone by the crashed holder: err = %v, want ErrTurnLost", err)
	}
	if err := s.FetchDone(ctx, "run-a", "tok-2", "inv-4", 5, 9); err != nil {
		t.Fatal(err)
	}
	if r := getRun(t, s, "run-a"); r.State != state.StateLanding || r.NextSeq != 5 || r.Checkpoint != nil {
		t.Errorf("after FetchDone: state %s next %d checkpoint %q", r.State, r.NextSeq, r.Checkpoint)
	}
	if _, d := claim("tok-2", "inv-5"); d.Verdict != runlife.TurnOver {
		t.Errorf("a continuation after the fetch is done: %v, want over", d.Verdict)
	}
	if _, d, err := s.ClaimTurn(ctx, "no-such-run", "tok", "inv", clk.Now(), ttl); err != nil || d.Verdict != runlife.TurnStale {
		t.Errorf("ClaimTurn of an unknown run: %v, %v; want stale", d.Verdict, err)
	}
}

func TestBeginRunTakesOverExpiredLease(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	begin(t, s, "run-a", "tickets")
	clk.Advance(ttl - time.Second)
	if _, _, err := s.BeginRun(ctx, state.Run{ID: "run-b", Source: "tickets"}, ttl); !errors.Is(err, state.ErrBusy) {
		t.Fatalf("before expiry: err = %v, want ErrBusy", err)
	}
	clk.Advance(2 * time.Second)
	b := begin(t, s, "run-b", "tickets")
	if b.State != state.StateFetching {
		t.Errorf("run-b state = %s", b.State)
	}
	a := getRun(t, s, "run-a")
	if a.State != state.StateFailed || a.Error != "lease expired" || !a.Finished.Equal(t0.Add(ttl+time.Second)) {
		t.Errorf("run-a = state %s, error %q, finished %v; want failed, lease expired, %v", a.State, a.Error, a.Finished, t0.Add(ttl+time.Second))
	}
	if c := cursor(t, s, "tickets"); c.LeaseRunID != "run-b" {
		t.Errorf("lease holder = %q, want run-b", c.LeaseRunID)
	}
	// The old run must stop.
	if err := s.HandOn(ctx, "run-a", "", "inv-1", nil, 1, 0, "tok", ttl); !errors.Is(err, state.ErrTurnLost) {
		t.Errorf("HandOn of the old run: err = %v, want ErrTurnLost", err)
	}
	if _, d, err := s.ClaimTurn(ctx, "run-a", "", "inv-9", clk.Now().Add(time.Minute), ttl); err != nil || d.Verdict != runlife.TurnOver {
		t.Errorf("ClaimTurn of the old run: %v, %v; want over", d.Verdict, err)
	}
	// A redelivered request of the failed run gets the stored run back and no lease.
	again, created, err := s.BeginRun(ctx, state.Run{ID: "run-a", Source: "tickets"}, ttl)
	if err != nil || created || again.State != state.StateFailed {
		t.Errorf("BeginRun of the failed run = state %q, err %v; want the stored failed run", again.State, err)
	}
	if c := cursor(t, s, "tickets"); c.LeaseRunID != "run-b" {
		t.Errorf("lease holder after BeginRun of a failed run = %q, want run-b", c.LeaseRunID)
	}
}

func TestLandBatchRedeliveryCountsOnce(t *testing.T) {
	s, clk := newStore(t)
	begin(t, s, "run-a", "tickets")
	b := state.BatchRecord{Seq: 0, Counts: state.Counts{Fetched: 10, Inserted: 8, Updated: 2, SheetsRequests: 3}, Keys: []string{"1", "2"}}
	clk.Advance(time.Minute)
	r, recorded := land(t, s, "run-a", b)
	if !recorded || r.Landed != 1 || r.State != state.StateFetching || r.Counts != b.Counts || !r.LeaseExpires.Equal(t0.Add(time.Minute+ttl)) {
		t.Fatalf("first landing: recorded %v, run %+v", recorded, r)
	}
	if c := cursor(t, s, "tickets"); !c.LeaseExpires.Equal(r.LeaseExpires) {
		t.Errorf("cursor lease expires %v, want extended to %v", c.LeaseExpires, r.LeaseExpires)
	}
	clk.Advance(time.Minute)
	r2, recorded := land(t, s, "run-a", b)
	if recorded {
		t.Error("redelivered batch recorded again")
	}
	if diff := cmp.Diff(r, r2); diff != "" {
		t.Errorf("redelivery changed the run (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(r, getRun(t, s, "run-a")); diff != "" {
		t.Errorf("stored run differs (-returned +stored):\n%s", diff)
	}
}

// TestLandBatchConcurrent lands different batches of one run at once (two of them twice),
// as concurrent push deliveries do. Every distinct batch counts exactly once. (Contending
// transactions are retried by the client after a backoff of about a second or more, so the
// test keeps the number modest.)
func TestLandBatchConcurrent(t *testing.T) {
	s, _ := newStore(t)
	begin(t, s, "run-a", "tickets")
	const n = 6
	hw := t0.Add(-time.Hour)
	deliveries := []int{0, 1, 2, 3, 4, 5, 0, 5}
	var wg sync.WaitGroup
	var mu sync.Mutex
	recordedSeqs := map[int]int{}
	errs := make(chan error, len(deliveries))
	for _, seq := range deliveries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, recorded, err := s.LandBatch(context.Background(), "run-a", state.BatchRecord{
				Seq: seq, Last: seq == n-1, HighWater: hw, Counts: state.Counts{Fetched: 1, Inserted: 1},
				Keys: []string{fmt.Sprint(seq)},
			}, ttl)
			if recorded {
				mu.Lock()
				recordedSeqs[seq]++
				mu.Unlock()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for seq := range n {
		if recordedSeqs[seq] != 1 {
			t.Errorf("batch %d recorded %d times, want once", seq, recordedSeqs[seq])
		}
	}
	r := getRun(t, s, "run-a")
	if r.Landed != n || r.Expected != n || r.Counts.Fetched != n || r.Counts.Inserted != n || !r.HighWater.Equal(hw) || !s.Landed(r) {
		t.Errorf("after %d concurrent deliveries of %d batches: landed %d, expected %d, counts %+v, high water %v, Landed %v",
			len(deliveries), n, r.Landed, r.Expected, r.Counts, r.HighWater, s.Landed(r))
	}
	keys, err := s.SeenKeys(context.Background(), "run-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n {
		t.Errorf("SeenKeys has %d keys, want %d", len(keys), n)
	}
}

func TestLandedOnlyWhenEveryBatchIsIn(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	begin(t, s, "run-a", "tickets")
	hw := t0.Add(-time.Minute)

	steps := []struct {
		b                      state.BatchRecord
		wantLanded, wantExpect int
		want                   bool
	}{
		{state.BatchRecord{Seq: 0}, 1, -1, false},
		{state.BatchRecord{Seq: 3, Last: true, HighWater: hw}, 2, 4, false}, // the last arrives early
		{state.BatchRecord{Seq: 2}, 3, 4, false},                            // 1 is still missing
		{state.BatchRecord{Seq: 1}, 4, 4, true},
	}
	for _, st := range steps {
		if _, _, err := s.CompleteRun(ctx, "run-a", state.Counts{}, ""); !errors.Is(err, state.ErrNotLanded) {
			t.Fatalf("CompleteRun before every batch landed: err = %v, want ErrNotLanded", err)
		}
		r, _ := land(t, s, "run-a", st.b)
		if r.Landed != st.wantLanded || r.Expected != st.wantExpect || s.Landed(r) != st.want {
			t.Errorf("after seq %d: landed %d expected %d Landed %v; want %d %d %v", st.b.Seq, r.Landed, r.Expected, s.Landed(r), st.wantLanded, st.wantExpect, st.want)
		}
	}
	if c := cursor(t, s, "tickets"); !c.HighWater.IsZero() {
		t.Errorf("cursor moved before CompleteRun: %v", c.HighWater)
	}
	if _, completed, err := s.CompleteRun(ctx, "run-a", state.Counts{}, "ok"); err != nil || !completed {
		t.Fatalf("CompleteRun: completed %v, err %v", completed, err)
	}
	if c := cursor(t, s, "tickets"); !c.HighWater.Equal(hw) {
		t.Errorf("cursor high water %v, want %v", c.HighWater, hw)
	}
}

// completeOneBatchRun begins a run, lands its only batch with high water hw and completes it.
func completeOneBatchRun(t *testing.T, s *state.Store, id string, hw time.Time) state.Run {
	t.Helper()
	begin(t, s, id, "tickets")
	land(t, s, id, state.BatchRecord{Seq: 0, Last: true, HighWater: hw, Counts: state.Counts{Fetched: 1}})
	r, completed, err := s.CompleteRun(context.Background(), id, state.Counts{Fetched: 1, Deleted: 2}, "done "+id)
	if err != nil || !completed {
		t.Fatalf("CompleteRun(%s): completed %v, err %v", id, completed, err)
	}
	return r
}

func TestCursorOnlyMovesForward(t *testing.T) {
	s, clk := newStore(t)
	newer, older := t0.Add(-time.Hour), t0.Add(-2*time.Hour)
	completeOneBatchRun(t, s, "run-1", newer)
	want := state.Cursor{Source: "tickets", HighWater: newer, RunID: "run-1", Updated: t0}
	if diff := cmp.Diff(want, cursor(t, s, "tickets")); diff != "" {
		t.Errorf("cursor after run-1 (-want +got):\n%s", diff)
	}
	clk.Advance(time.Minute)
	completeOneBatchRun(t, s, "run-2", older)
	if diff := cmp.Diff(want, cursor(t, s, "tickets")); diff != "" {
		t.Errorf("an older high water moved the cursor back (-want +got):\n%s", diff)
	}
	clk.Advance(time.Minute)
	completeOneBatchRun(t, s, "run-3", t0)
	want = state.Cursor{Source: "tickets", HighWater: t0, RunID: "run-3", Updated: t0.Add(2 * time.Minute)}
	if diff := cmp.Diff(want, cursor(t, s, "tickets")); diff != "" {
		t.Errorf("cursor after run-3 (-want +got):\n%s", diff)
	}
}

func TestCompleteRunIsIdempotent(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	first := completeOneBatchRun(t, s, "run-1", t0)
	if first.State != state.StateCompleted || !first.Finished.Equal(t0) || first.Message != "done run-1" ||
		first.Counts != (state.Counts{Fetched: 1, Deleted: 2}) || !first.LeaseExpires.IsZero() {
		t.Errorf("completed run = %+v", first)
	}
	if c := cursor(t, s, "tickets"); c.LeaseRunID != "" || !c.LeaseExpires.IsZero() {
		t.Errorf("lease not released: %+v", c)
	}
	clk.Advance(time.Minute)
	again, completed, err := s.CompleteRun(ctx, "run-1", state.Counts{Fetched: 99}, "again")
	if err != nil || completed {
		t.Fatalf("second CompleteRun: completed %v, err %v; want false, nil", completed, err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("second CompleteRun changed the run (-first +second):\n%s", diff)
	}
	if _, _, err := s.CompleteRun(ctx, "no-such-run", state.Counts{}, ""); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("CompleteRun of an unknown run: err = %v, want ErrNotFound", err)
	}
	if err := s.FailRun(ctx, "run-1", "late failure"); !errors.Is(err, state.ErrFinished) {
		t.Errorf("FailRun of a completed run: err = %v, want ErrFinished", err)
	}
	if r := getRun(t, s, "run-1"); r.State != state.StateCompleted {
		t.Errorf("state = %s after FailRun of a completed run", r.State)
	}
	// A redelivered sync request of the completed run: stored run back, no lease taken.
	r, _, err := s.BeginRun(ctx, state.Run{ID: "run-1", Source: "tickets"}, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, r); diff != "" {
		t.Errorf("BeginRun of a completed run (-stored +got):\n%s", diff)
	}
	if c := cursor(t, s, "tickets"); c.LeaseRunID != "" {
		t.Errorf("BeginRun of a completed run took the lease: %+v", c)
	}
}

func TestFailRunKeepsCursor(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	completeOneBatchRun(t, s, "run-1", t0.Add(-time.Hour))
	before := cursor(t, s, "tickets")

	clk.Advance(time.Minute)
	begin(t, s, "run-2", "tickets")
	land(t, s, "run-2", state.BatchRecord{Seq: 0, Last: true, HighWater: t0})
	if err := s.FailRun(ctx, "run-2", "sheets: quota exceeded"); err != nil {
		t.Fatal(err)
	}
	r := getRun(t, s, "run-2")
	if r.State != state.StateFailed || r.Error != "sheets: quota exceeded" || !r.Finished.Equal(t0.Add(time.Minute)) || !r.LeaseExpires.IsZero() {
		t.Errorf("failed run = %+v", r)
	}
	if diff := cmp.Diff(before, cursor(t, s, "tickets")); diff != "" {
		t.Errorf("FailRun moved the cursor or kept the lease (-before +after):\n%s", diff)
	}
	if err := s.FailRun(ctx, "run-2", "second error"); err != nil {
		t.Errorf("FailRun again: %v", err)
	}
	if r := getRun(t, s, "run-2"); r.Error != "sheets: quota exceeded" {
		t.Errorf("error after a second FailRun = %q, want the first", r.Error)
	}
	if _, _, err := s.CompleteRun(ctx, "run-2", state.Counts{}, ""); !errors.Is(err, state.ErrFinished) {
		t.Errorf("CompleteRun of a failed run: err = %v, want ErrFinished", err)
	}
	begin(t, s, "run-3", "tickets") // the lease is free
	if err := s.FailRun(ctx, "no-such-run", "x"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("FailRun of an unknown run: err = %v, want ErrNotFound", err)
	}
}

func TestLandBatchOfUnknownRun(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if _, _, err := s.LandBatch(ctx, "ghost", state.BatchRecord{Seq: 0}, ttl); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("LandBatch without source of an unknown run: err = %v, want ErrNotFound", err)
	}
	r, recorded := land(t, s, "replayed", state.BatchRecord{Seq: 4, Last: true, HighWater: t0, Source: "chats", Mode: "incremental", Counts: state.Counts{Fetched: 3}})
	if !recorded || r.ID != "replayed" || r.Source != "chats" || r.Mode != "incremental" || r.State != state.StateLanding ||
		r.Landed != 1 || r.Expected != 5 || r.Counts.Fetched != 3 || !r.LeaseExpires.IsZero() {
		t.Errorf("run created from a batch = %+v", r)
	}
	if c, ok, err := s.Cursor(ctx, "chats"); err != nil || ok {
		t.Errorf("a replayed batch touched the cursor: %+v, %v, %v", c, ok, err)
	}
}

func TestLandBatchKeyBound(t *testing.T) {
	s := state.New(nil) // the bound is checked before any I/O
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%010d", i)
	}
	if _, _, err := s.LandBatch(context.Background(), "run", state.BatchRecord{Keys: keys}, ttl); err == nil {
		t.Error("LandBatch accepted 1.1 MB of keys")
	}
}

func TestLandBatchTenThousandKeys(t *testing.T) {
	s, _ := newStore(t)
	begin(t, s, "run-a", "tickets")
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%012d", 10_000_000_000+i)
	}
	land(t, s, "run-a", state.BatchRecord{Seq: 0, Keys: keys})
	seen, err := s.SeenKeys(context.Background(), "run-a")
	if err != nil || len(seen) != len(keys) {
		t.Fatalf("SeenKeys: %d keys, err %v; want %d", len(seen), err, len(keys))
	}
}

func TestSeenKeysIsTheUnion(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	begin(t, s, "run-a", "tickets")
	begin(t, s, "run-b", "chats")
	land(t, s, "run-a", state.BatchRecord{Seq: 0, Keys: []string{"1", "2", "3"}})
	land(t, s, "run-a", state.BatchRecord{Seq: 1, Keys: []string{"3", "4"}})
	land(t, s, "run-a", state.BatchRecord{Seq: 2, Last: true})
	land(t, s, "run-b", state.BatchRecord{Seq: 0, Keys: []string{"x"}})
	got, err := s.SeenKeys(ctx, "run-a")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{}{"1": {}, "2": {}, "3": {}, "4": {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SeenKeys (-want +got):\n%s", diff)
	}
	if got, err := s.SeenKeys(ctx, "no-such-run"); err != nil || len(got) != 0 {
		t.Errorf("SeenKeys of an unknown run = %v, %v; want empty", got, err)
	}
}

func TestRunsNewestFirst(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for i, id := range []string{"t-2", "t-1", "t-3"} { // created out of order
		started := map[string]time.Time{"t-1": t0, "t-2": t0.Add(time.Hour), "t-3": t0.Add(2 * time.Hour)}[id]
		if _, _, err := s.BeginRun(ctx, state.Run{ID: id, Source: "tickets", Started: started}, ttl); err != nil {
			t.Fatalf("BeginRun %d: %v", i, err)
		}
		if err := s.ReleaseLease(ctx, "tickets", id); err != nil {
			t.Fatal(err)
		}
	}
	begin(t, s, "c-1", "chats")
	ids := func(rs []state.Run) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tt := range []struct {
		source string
		limit  int
		want   []string
	}{
		{"tickets", 0, []string{"t-3", "t-2", "t-1"}},
		{"tickets", 2, []string{"t-3", "t-2"}},
		{"chats", 10, []string{"c-1"}},
		{"", 0, []string{"c-1", "t-3", "t-2", "t-1"}}, // c-1 started at t0 too; ties are unordered
		{"nothing", 5, nil},
	} {
		got, err := s.Runs(ctx, tt.source, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if tt.source == "" {
			if len(got) != 4 || got[0].ID != "t-3" || got[1].ID != "t-2" {
				t.Errorf("Runs(all) = %v, want t-3, t-2, then t-1 and c-1", ids(got))
			}
			continue
		}
		if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
			t.Errorf("Runs(%q, %d) (-want +got):\n%s", tt.source, tt.limit, diff)
		}
	}
}

func TestReleaseLease(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	begin(t, s, "run-a", "tickets")
	if err := s.ReleaseLease(ctx, "tickets", "run-other"); err != nil {
		t.Fatal(err)
	}
	if c := cursor(t, s, "tickets"); c.LeaseRunID != "run-a" {
		t.Errorf("ReleaseLease by another run freed the lease: %+v", c)
	}
	if err := s.ReleaseLease(ctx, "tickets", "run-a"); err != nil {
		t.Fatal(err)
	}
	if c := cursor(t, s, "tickets"); c.LeaseRunID != "" || !c.LeaseExpires.IsZero() {
		t.Errorf("lease still held: %+v", c)
	}
	if r := getRun(t, s, "run-a"); !r.LeaseExpires.IsZero() || r.State != state.StateFetching {
		t.Errorf("run after ReleaseLease = %+v", r)
	}
	if err := s.ReleaseLease(ctx, "never-seen", "run-a"); err != nil {
		t.Errorf("ReleaseLease of a source without cursor: %v", err)
	}
	// A released but unfinished run can resume (its turn, claim lapsed) while the lease is free,
	// and takes the lease again.
	clk.Advance(2 * time.Minute) // the first invocation's claim lapsed
	r, d, err := s.ClaimTurn(ctx, "run-a", "", "inv-2", t0.Add(3*time.Minute), ttl)
	if err != nil || d.Verdict != runlife.TurnTake || r.State != state.StateFetching {
		t.Errorf("resumed run = %v %+v, %v", d.Verdict, r, err)
	}
	if c := cursor(t, s, "tickets"); c.LeaseRunID != "run-a" {
		t.Errorf("lease after resuming = %+v, want run-a", c)
	}
}
