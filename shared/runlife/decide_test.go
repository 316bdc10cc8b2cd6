package runlife

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"supportsync.dev/shared/batch"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// landed returns the progress after landing seqs in order (the last one given marks the last).
func landed(last int, seqs ...int) Progress {
	p := Progress{Expected: -1}
	for _, s := range seqs {
		p = p.Add(s, s == last)
	}
	return p
}

func TestProgress(t *testing.T) {
	tests := []struct {
		name     string
		p        Progress
		want     Progress
		complete bool
		missing  []int
	}{
		{"nothing landed", landed(-1), Progress{Expected: -1}, false, nil},
		{"in order, last landed", landed(2, 0, 1, 2), Progress{Expected: 3, Landed: 3, Contiguous: 3}, true, nil},
		{"out of order", landed(3, 3, 1, 0, 2), Progress{Expected: 4, Landed: 4, Contiguous: 4}, true, nil},
		{"lost middle batch: never complete", landed(3, 0, 1, 3), Progress{Expected: 4, Landed: 3, Contiguous: 2, Ahead: []int{3}}, false, []int{2}},
		{"late last batch: the last landed first", landed(2, 2), Progress{Expected: 3, Landed: 1, Ahead: []int{2}}, false, []int{0, 1}},
		{"redelivered batches count once", landed(1, 0, 0, 1, 1, 0), Progress{Expected: 2, Landed: 2, Contiguous: 2}, true, nil},
		{"count reached but a seq is missing", landed(4, 0, 1, 3, 4, 5), Progress{Expected: 5, Landed: 5, Contiguous: 2, Ahead: []int{3, 4, 5}}, false, []int{2}},
		{"only batch is the last", landed(0, 0), Progress{Expected: 1, Landed: 1, Contiguous: 1}, true, nil},
		{"last not landed yet", landed(-1, 0, 1, 2), Progress{Expected: -1, Landed: 3, Contiguous: 3}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.p); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
			if got := tt.p.Complete(); got != tt.complete {
				t.Errorf("Complete() = %v, want %v", got, tt.complete)
			}
			if diff := cmp.Diff(tt.missing, tt.p.Missing(10)); diff != "" {
				t.Errorf("Missing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanWindow(t *testing.T) {
	const retention, lookback = 10 * 24 * time.Hour, 15 * time.Minute
	hw := now.Add(-time.Hour)
	cur := Cursor{Source: batch.Tickets, HighWater: hw}
	full := batch.SyncRequest{Mode: batch.Full}
	incr := batch.SyncRequest{Mode: batch.Incremental}
	tests := []struct {
		name    string
		req     batch.SyncRequest
		since   time.Time
		cur     Cursor
		found   bool
		from    time.Time
		wantErr string
	}{
		{"full reads the retention window, whatever the cursor", full, time.Time{}, cur, true, now.Add(-retention), ""},
		{"full with allow_deletions", batch.SyncRequest{Mode: batch.Full, AllowDeletions: true}, time.Time{}, cur, true, now.Add(-retention), ""},
		{"full refuses since", full, now.Add(-48 * time.Hour), cur, true, time.Time{}, "incremental runs only"},
		{"incremental from the cursor minus the look-back", incr, time.Time{}, cur, true, hw.Add(-lookback), ""},
		{"first incremental reads the retention window", incr, time.Time{}, Cursor{}, false, now.Add(-retention), ""},
		{"since earlier than the cursor re-reads further back", incr, now.Add(-3 * time.Hour), cur, true, now.Add(-3 * time.Hour), ""},
		{"since inside the look-back keeps the look-back", incr, hw.Add(-time.Minute), cur, true, hw.Add(-lookback), ""},
		{"since at the cursor", incr, hw, cur, true, hw.Add(-lookback), ""},
		{"since later than the cursor leaves a gap", incr, hw.Add(time.Minute), cur, true, time.Time{}, "later than the tickets cursor"},
		{"since later than the window of a first run", incr, now.Add(-time.Hour), Cursor{}, false, time.Time{}, "no cursor yet"},
		{"since earlier than a first run's window", incr, now.Add(-20 * 24 * time.Hour), Cursor{}, false, now.Add(-20 * 24 * time.Hour), ""},
		{"incremental refuses allow_deletions", batch.SyncRequest{Mode: batch.Incremental, AllowDeletions: true}, time.Time{}, cur, true, time.Time{}, "full runs only"},
		{"every problem at once", batch.SyncRequest{Mode: batch.Incremental, AllowDeletions: true}, hw.Add(time.Hour), cur, true, time.Time{}, "full runs only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := PlanWindow(tt.req, tt.since, tt.cur, tt.found, now, retention, lookback)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrRequest) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrRequest saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !w.From.Equal(tt.from) || !w.To.Equal(now) {
				t.Errorf("window %s..%s, want %s..%s", w.From, w.To, tt.from, now)
			}
		})
	}
	_, err := PlanWindow(batch.SyncRequest{Mode: batch.Incremental, AllowDeletions: true}, hw.Add(time.Hour), cur, true, now, retention, lookback)
	if err == nil || !strings.Contains(err.Error(), "full runs only") || !strings.Contains(err.Error(), "gap") {
		t.Errorf("both problems reported at once: %v", err)
	}
}

func TestDecideTurn(t *testing.T) {
	fetching := Run{ID: "r", State: Fetching, Turn: Turn{TurnNumber: 3, TurnToken: "tok-3"}}
	claimed := fetching
	claimed.TurnHolder, claimed.TurnClaimedUntil = "inv-a", now.Add(time.Minute)
	lapsed := claimed
	lapsed.TurnClaimedUntil = now.Add(-time.Second)
	withLanded := fetching
	withLanded.Progress = landed(-1, 0, 1, 2, 3, 4) // batches landed meanwhile
	first := Run{ID: "r", State: Fetching, Turn: Turn{TurnNumber: 1, TurnHolder: "inv-a", TurnClaimedUntil: now.Add(time.Minute)}}
	landing := fetching
	landing.State = Landing
	done := fetching
	done.State = Completed
	failed := fetching
	failed.State = Failed
	tests := []struct {
		name   string
		run    Run
		exists bool
		token  string
		want   TurnVerdict
	}{
		{"a new run", Run{}, false, "", TurnNew},
		{"a continuation of an unknown run", Run{}, false, "tok", TurnStale},
		{"the continuation of the current turn", fetching, true, "tok-3", TurnTake},
		{"a continuation after batches landed", withLanded, true, "tok-3", TurnTake},
		{"a redelivered continuation while it is worked on", claimed, true, "tok-3", TurnBusy},
		{"a redelivered continuation after the worker crashed", lapsed, true, "tok-3", TurnTake},
		{"a late continuation of an earlier turn", fetching, true, "tok-2", TurnStale},
		{"the run's own request redelivered after a hand-on", fetching, true, "", TurnStale},
		{"the run's own request redelivered while the first turn runs", first, true, "", TurnBusy},
		{"a continuation once the last batch is published", landing, true, "tok-3", TurnOver},
		{"a continuation of a completed run", done, true, "tok-3", TurnOver},
		{"a continuation of a run failed by lease expiry", failed, true, "tok-3", TurnOver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := DecideTurn(tt.run, tt.exists, tt.token, now)
			if d.Verdict != tt.want {
				t.Errorf("verdict %v (%s), want %v", d.Verdict, d.Reason, tt.want)
			}
			if d.Verdict != TurnNew && d.Verdict != TurnTake && d.Reason == "" {
				t.Error("a no-op verdict without a reason")
			}
		})
	}
	if !HoldsTurn(claimed, "tok-3", "inv-a") || HoldsTurn(claimed, "tok-3", "inv-b") || HoldsTurn(claimed, "tok-2", "inv-a") || HoldsTurn(done, "tok-3", "") {
		t.Error("HoldsTurn is wrong")
	}
}

func TestDecideLease(t *testing.T) {
	tests := []struct {
		name string
		cur  Cursor
		want LeaseVerdict
	}{
		{"free", Cursor{}, LeaseFree},
		{"own", Cursor{LeaseRunID: "me", LeaseExpires: now.Add(-time.Hour)}, LeaseOwn},
		{"held by another run", Cursor{LeaseRunID: "other", LeaseExpires: now.Add(time.Second)}, LeaseBusy},
		{"lease expiry mid-run: abandoned", Cursor{LeaseRunID: "other", LeaseExpires: now}, LeaseAbandoned},
	}
	for _, tt := range tests {
		if got := DecideLease(tt.cur, "me", now); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	msg := AbandonedMessage(Run{Progress: landed(-1, 0, 1, 3)})
	if !strings.Contains(msg, "3 of ? batches landed") || !strings.Contains(msg, "missing [2]") {
		t.Errorf("abandoned message %q does not say what landed", msg)
	}
}

func TestDecideBatch(t *testing.T) {
	started := now.Add(-time.Hour)
	run := Run{ID: "r", State: Fetching, Started: started, Progress: landed(-1, 0, 1, 2)}
	completed := Run{ID: "r", State: Completed, Started: started, Progress: landed(3, 0, 1, 2, 3)}
	lastFirst := Run{ID: "r", State: Landing, Started: started, Progress: landed(4, 4)}
	ahead := Run{ID: "r", State: Fetching, Started: started, Progress: landed(-1, 0, 5)}
	ownCursor := Cursor{RunID: "r", HighWater: now}
	laterRun := Cursor{RunID: "r2", HighWater: started.Add(time.Minute)}
	earlierRun := Cursor{RunID: "r0", HighWater: started.Add(-time.Minute)}
	ref := func(seq int, last bool) BatchRef {
		return BatchRef{RunID: "r", Seq: seq, Last: last, RunStarted: started}
	}
	tests := []struct {
		name   string
		run    Run
		exists bool
		cur    Cursor
		found  bool
		b      BatchRef
		want   BatchVerdict
		finish bool // ShouldFinish of the run after landing (or as it is, when not landed)
	}{
		{"the next batch lands", run, true, earlierRun, true, ref(3, false), BatchLand, false},
		{"a batch of an unknown run lands", Run{}, false, Cursor{}, false, ref(0, true), BatchLand, true},
		{"a redelivered batch is a duplicate", run, true, earlierRun, true, ref(1, false), BatchDuplicate, false},
		{"a batch redelivered after completion is a duplicate, no second finish", completed, true, ownCursor, true, ref(3, true), BatchDuplicate, false},
		{"a batch of a run superseded by a later run is stale", run, true, laterRun, true, ref(3, false), BatchStale, false},
		{"the last batch completes the run", run, true, earlierRun, true, ref(3, true), BatchLand, true},
		{"a late middle batch lands after the last", lastFirst, true, earlierRun, true, ref(2, false), BatchLand, false},
		{"a batch beyond the landed last conflicts", lastFirst, true, earlierRun, true, ref(5, false), BatchConflict, false},
		{"a second, earlier last batch conflicts", lastFirst, true, earlierRun, true, ref(3, true), BatchConflict, false},
		{"a last batch below a landed seq conflicts", ahead, true, earlierRun, true, ref(3, true), BatchConflict, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := DecideBatch(tt.run, tt.exists, tt.cur, tt.found, tt.b)
			if d.Verdict != tt.want {
				t.Fatalf("verdict %v (%s), want %v", d.Verdict, d.Reason, tt.want)
			}
			if d.Verdict != BatchLand && d.Reason == "" {
				t.Error("verdict without a reason")
			}
			after := tt.run
			if d.Verdict == BatchLand {
				after.Progress = after.Progress.Add(tt.b.Seq, tt.b.Last)
			}
			if got := ShouldFinish(after); got != tt.finish {
				t.Errorf("ShouldFinish after = %v, want %v (%s)", got, tt.finish, after.Progress.Describe())
			}
		})
	}
	// A lost middle batch: every other batch, the last included, lands; the run never finishes.
	r := Run{ID: "r", State: Landing, Progress: Progress{Expected: -1}}
	for _, seq := range []int{0, 1, 3, 4} {
		r.Progress = r.Progress.Add(seq, seq == 4)
	}
	if ShouldFinish(r) {
		t.Errorf("a run with batch 2 lost finishes: %s", r.Progress.Describe())
	}
}

func TestDecideFailure(t *testing.T) {
	tests := []struct {
		name   string
		run    Run
		exists bool
		want   FailureVerdict
	}{
		{"a fetching run fails", Run{State: Fetching}, true, FailureRecord},
		{"a landing run fails", Run{State: Landing}, true, FailureRecord},
		{"an unknown run is recorded", Run{}, false, FailureRecord},
		{"a redelivered report of a failed run logs once", Run{State: Failed}, true, FailureLogOnly},
		{"a late report of a completed run changes nothing", Run{State: Completed}, true, FailureIgnore},
	}
	for _, tt := range tests {
		if got := DecideFailure(tt.run, tt.exists); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
