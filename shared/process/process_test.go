package process

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
)

// TestQueuedDeliveryWaitsWithoutDecodingAndGivesUp holds the turn to write as a landing batch
// would: a second delivery waits without decoding (its bytes are not even valid), and when its
// context ends it fails fast with ErrWriteTurn, to be retried, instead of poison.
func TestQueuedDeliveryWaitsWithoutDecodingAndGivesUp(t *testing.T) {
	s := &Service{}
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
	s.releaseWriteTurn()
	// With the turn free, the same bytes are decoded: poison.
	if _, err := s.Handle(context.Background(), []byte("not a batch"), nil); !errors.Is(err, ErrPoison) {
		t.Errorf("free turn: err = %v, want ErrPoison", err)
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
