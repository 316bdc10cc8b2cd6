package state_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"supportsync.dev/shared/state"
)

// TestForceReleaseLease: a lease held by a live run is released, the run is failed so it can
// no longer land, the cursor keeps its mark, and the next run can start at once.
func TestForceReleaseLease(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	// A completed run sets the mark.
	first := begin(t, s, "run-1", "tickets")
	land(t, s, first.ID, state.BatchRecord{Seq: 0, Last: true, HighWater: t0.Add(-time.Hour)})
	if _, _, err := s.CompleteRun(ctx, first.ID, state.Counts{}, "ok"); err != nil {
		t.Fatal(err)
	}
	stuck := begin(t, s, "run-2", "tickets")
	if _, err := s.BeginRun(ctx, state.Run{ID: "run-3", Source: "tickets", Mode: "incremental"}, ttl); !errors.Is(err, state.ErrBusy) {
		t.Fatalf("BeginRun while held: %v, want ErrBusy", err)
	}
	// The wrong run id is refused, nothing changes.
	if _, err := s.ForceReleaseLease(ctx, "tickets", "run-9", "test"); !errors.Is(err, state.ErrOtherHolder) {
		t.Fatalf("release of another run: %v, want ErrOtherHolder", err)
	}
	clk.Advance(time.Minute)
	rel, err := s.ForceReleaseLease(ctx, "tickets", stuck.ID, "stuck in test")
	if err != nil {
		t.Fatal(err)
	}
	if rel.RunID != "run-2" || rel.Expired || !rel.FailedRun || rel.RunState != string(state.StateFetching) {
		t.Errorf("released %+v", rel)
	}
	r, _, err := s.Run(ctx, "run-2")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != state.StateFailed || r.Error != "lease released by an operator: stuck in test" || !r.Finished.Equal(t0.Add(time.Minute)) {
		t.Errorf("run after release: state %s error %q finished %v", r.State, r.Error, r.Finished)
	}
	cur, _, err := s.Cursor(ctx, "tickets")
	if err != nil {
		t.Fatal(err)
	}
	if cur.LeaseRunID != "" || !cur.HighWater.Equal(t0.Add(-time.Hour)) || cur.RunID != "run-1" {
		t.Errorf("cursor after release: %+v (the mark must stay)", cur)
	}
	// The released run cannot land any more; a new run starts.
	if _, _, err := s.LandBatch(ctx, "run-2", state.BatchRecord{Seq: 0, Last: true, HighWater: t0}, ttl); err == nil {
		if _, _, err := s.CompleteRun(ctx, "run-2", state.Counts{}, "late"); err == nil {
			t.Error("the released run completed after the release")
		}
	}
	begin(t, s, "run-3", "tickets")
	// Releasing a free lease does nothing.
	if _, err := s.ForceReleaseLease(ctx, "chats", "", "nothing"); err != nil {
		t.Errorf("release of a source never run: %v", err)
	}
}

// TestResetCursor: the mark goes, the lease stays; refused while a run holds the lease;
// allowed once it expired.
func TestResetCursor(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	if _, found, err := s.ResetCursor(ctx, "chats"); err != nil || found {
		t.Fatalf("reset of a source never run: found %v, %v", found, err)
	}
	r := begin(t, s, "run-1", "chats")
	land(t, s, r.ID, state.BatchRecord{Seq: 0, Last: true, HighWater: t0.Add(-time.Hour)})
	if _, _, err := s.CompleteRun(ctx, r.ID, state.Counts{}, "ok"); err != nil {
		t.Fatal(err)
	}
	begin(t, s, "run-2", "chats")
	if _, _, err := s.ResetCursor(ctx, "chats"); !errors.Is(err, state.ErrBusy) {
		t.Fatalf("reset while run-2 holds the lease: %v, want ErrBusy", err)
	}
	clk.Advance(ttl + time.Second)
	before, found, err := s.ResetCursor(ctx, "chats")
	if err != nil || !found || !before.HighWater.Equal(t0.Add(-time.Hour)) || before.RunID != "run-1" {
		t.Fatalf("reset: %+v found %v err %v", before, found, err)
	}
	cur, found, err := s.Cursor(ctx, "chats")
	if err != nil || !found {
		t.Fatalf("cursor after reset: found %v, %v", found, err)
	}
	if !cur.HighWater.IsZero() || cur.RunID != "" || cur.LeaseRunID != "run-2" {
		t.Errorf("cursor after reset: %+v, want no mark and the (expired) lease kept", cur)
	}
}
