package process

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/normalize"
	"supportsync.dev/shared/state"
	"supportsync.dev/shared/team"
)

// TestQueuedDeliveryWaitsWithoutDecodingAndGivesUp holds both prepare slots as two batches
// being prepared or written would: a third delivery waits without decoding (its bytes are not
// even valid), and when its context ends it fails fast with ErrWriteTurn, to be retried,
// instead of poison. With a slot free, the same bytes are decoded at once, the turn to write
// being held or not: poison.
func TestQueuedDeliveryWaitsWithoutDecodingAndGivesUp(t *testing.T) {
	s := &Service{}
	for range maxPrepared {
		if err := s.takePrepareSlot(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.takeWriteTurn(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Handle(ctx, []byte("not a batch"), map[string]string{batch.AttrRunID: "r"})
	if !errors.Is(err, ErrWriteTurn) || errors.Is(err, ErrPoison) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued delivery: err = %v, want ErrWriteTurn (deadline), not poison", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the wait took %s past a 100ms deadline", d)
	}
	s.releasePrepareSlot()
	// A slot free, the turn to write still held: decoded at once, poison.
	if _, err := s.Handle(context.Background(), []byte("not a batch"), nil); !errors.Is(err, ErrPoison) {
		t.Errorf("free slot: err = %v, want ErrPoison", err)
	}
	if n := len(s.prepareSlots); n != maxPrepared-1 {
		t.Errorf("%d prepare slots held after a poison delivery, want %d", n, maxPrepared-1)
	}
}

// TestPreparedBatchWaitsForTheTurnToWrite: with the turn to write held, a valid batch is
// decoded and normalized, then waits; when its context ends it gives up with ErrWriteTurn and
// gives its prepare slot back.
func TestPreparedBatchWaitsForTheTurnToWrite(t *testing.T) {
	var normalized atomic.Int32
	n := testNormalizers()[batch.Tickets]
	s := &Service{Team: team.Default(), Sources: map[batch.Source]Normalizer{batch.Tickets: {Schema: n.Schema,
		Normalize: func(p json.RawMessage, tc *team.Config, at time.Time) (normalize.Result, error) {
			normalized.Add(1)
			return n.Normalize(p, tc, at)
		}}}}
	if err := s.takeWriteTurn(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, attrs := ticketBatch(t, state.Run{ID: "r", Mode: batch.Full, Started: time.Now()}, 0, false, "1", "2")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := s.Handle(ctx, data, attrs)
	if !errors.Is(err, ErrWriteTurn) || errors.Is(err, ErrPoison) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrWriteTurn (deadline)", err)
	}
	if normalized.Load() != 1 {
		t.Errorf("normalized %d times while waiting for the turn to write, want 1", normalized.Load())
	}
	if n := len(s.prepareSlots); n != 0 {
		t.Errorf("%d prepare slots still held", n)
	}
}

func TestPoisonMessages(t *testing.T) {
	big, _, err := batch.Encode(&batch.Batch{Source: batch.Tickets, RunID: "r", Mode: batch.Full, RunStarted: time.Now(),
		Payload: json.RawMessage(`{"pad":"` + strings.Repeat("x", 1<<20) + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		data  []byte
		attrs map[string]string
		want  string
	}{
		{"decompresses past the bound", big, nil, "decompresses to more than"},
		{"unknown kind", []byte("{}"), map[string]string{batch.AttrKind: "weather"}, "unknown message kind"},
		{"bad failure report", []byte(`{"source":"tickets"}`), map[string]string{batch.AttrKind: batch.KindFailure}, "run_id"},
		{"bad batch", []byte(`{"source":"tickets","run_id":"r","mode":"full","seq":-1}`), nil, "seq -1"},
	} {
		s := &Service{MaxBatchBytes: 512 << 10}
		_, err := s.Handle(context.Background(), tt.data, tt.attrs)
		if !errors.Is(err, ErrPoison) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrPoison saying %q", tt.name, err, tt.want)
		}
	}
}
