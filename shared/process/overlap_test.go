package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/normalize"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/state"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/team"
)

// gateSink is a Sink whose Upserts each wait for a release, announcing their start first, so
// a test can hold a batch in the middle of its write.
type gateSink struct {
	Sink
	entered chan int // rows of each Upsert, as it starts
	release chan struct{}
}

func (g *gateSink) Upsert(ctx context.Context, s table.Schema, rows []table.Row, remove []string) (sheets.Result, error) {
	g.entered <- len(rows)
	select {
	case <-g.release:
	case <-ctx.Done():
		return sheets.Result{}, ctx.Err()
	}
	return g.Sink.Upsert(ctx, s, rows, remove)
}

// countingNormalizers wraps the real normalizers, counting the calls that started.
func countingNormalizers(started *atomic.Int32) map[batch.Source]Normalizer {
	out := map[batch.Source]Normalizer{}
	for src, n := range testNormalizers() {
		out[src] = Normalizer{Schema: n.Schema, Normalize: func(p json.RawMessage, tc *team.Config, at time.Time) (normalize.Result, error) {
			started.Add(1)
			return n.Normalize(p, tc, at)
		}}
	}
	return out
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestPreparationOverlapsTheWrite delivers five batches of one run at once to a sink that holds
// every write until released: while batch k is being written, exactly one more batch is
// decoded and normalized (k+2 normalizations in all, never more: at most two batches held
// decoded, the others waiting undecoded), and each release lets one more in. Every batch lands
// once, the run completes once, and a redelivery is still a duplicate.
func TestPreparationOverlapsTheWrite(t *testing.T) {
	const batches, perBatch = 5, 2000
	s, srv := newService(t)
	var normalized atomic.Int32
	s.Sources = countingNormalizers(&normalized)
	gate := &gateSink{Sink: s.Sink, entered: make(chan int), release: make(chan struct{})}
	s.Sink = gate
	ctx := context.Background()
	run, _, err := s.Store.BeginRun(ctx, state.Run{ID: "overlap", Source: batch.Tickets, Mode: batch.Full}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	type msg struct {
		data  []byte
		attrs map[string]string
	}
	var msgs []msg
	for seq := range batches {
		ids := make([]string, perBatch)
		for i := range ids {
			ids[i] = fmt.Sprint(seq*perBatch + i + 1)
		}
		data, attrs := ticketBatch(t, run, seq, seq == batches-1, ids...)
		msgs = append(msgs, msg{data, attrs})
	}
	type result struct {
		out Outcome
		err error
	}
	results := make(chan result, batches)
	for _, m := range msgs {
		go func() {
			out, err := s.Handle(ctx, m.data, m.attrs)
			results <- result{out, err}
		}()
	}
	for k := range batches {
		select {
		case rows := <-gate.entered:
			if rows != perBatch {
				t.Fatalf("write %d: %d rows, want %d", k, rows, perBatch)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("write %d never started (%d normalized)", k, normalized.Load())
		}
		want := int32(min(k+2, batches))
		if !waitFor(10*time.Second, func() bool { return normalized.Load() >= want }) {
			t.Fatalf("while write %d is held: %d batches normalized, want %d (the next one prepared meanwhile)", k, normalized.Load(), want)
		}
		time.Sleep(150 * time.Millisecond) // would a third batch be decoded meanwhile?
		if got := normalized.Load(); got != want {
			t.Fatalf("while write %d is held: %d batches normalized, want %d: more than %d held decoded", k, got, want, maxPrepared)
		}
		gate.release <- struct{}{}
	}
	finished := 0
	for range batches {
		r := <-results
		if r.err != nil {
			t.Fatalf("batch %d: %v", r.out.Seq, r.err)
		}
		if r.out.Duplicate || r.out.Stale || r.out.Conflict || r.out.Failure || r.out.Counts.Inserted != perBatch {
			t.Errorf("batch %d: outcome %+v, want landed with %d rows inserted", r.out.Seq, r.out, perBatch)
		}
		if r.out.Finished != nil {
			finished++
		}
	}
	if finished != 1 {
		t.Errorf("%d batches finished the run, want 1", finished)
	}
	if n := rows(t, srv, table.Tickets.Tab); n != batches*perBatch {
		t.Errorf("%d rows, want %d", n, batches*perBatch)
	}
	// A redelivery is decoded and normalized, then found a duplicate: nothing written.
	go func() { <-gate.entered; t.Error("a duplicate was written") }()
	if out, err := s.Handle(ctx, msgs[2].data, msgs[2].attrs); err != nil || !out.Duplicate {
		t.Errorf("redelivered batch: %+v, %v; want a duplicate", out, err)
	}
}

// TestNormalizeErrorKeepsTheOutcome: batches are normalized before the ledger is read, but a
// normalizer's error makes a batch poison only when it is to be written: a duplicate stays a
// duplicate, as when normalization came after the decision.
func TestNormalizeErrorKeepsTheOutcome(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	run, _, err := s.Store.BeginRun(ctx, state.Run{ID: "norm-err", Source: batch.Tickets, Mode: batch.Full}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b0, a0 := ticketBatch(t, run, 0, false, "1", "2")
	if _, err := s.Handle(ctx, b0, a0); err != nil {
		t.Fatal(err)
	}
	s.Sources = map[batch.Source]Normalizer{batch.Tickets: {Schema: table.Tickets,
		Normalize: func(json.RawMessage, *team.Config, time.Time) (normalize.Result, error) {
			return normalize.Result{}, errors.New("unreadable payload")
		}}}
	if out, err := s.Handle(ctx, b0, a0); err != nil || !out.Duplicate {
		t.Errorf("landed batch redelivered: %+v, %v; want a duplicate", out, err)
	}
	b1, a1 := ticketBatch(t, run, 1, true, "3")
	if _, err := s.Handle(ctx, b1, a1); !errors.Is(err, ErrPoison) {
		t.Errorf("new batch: err = %v, want poison", err)
	}
}
