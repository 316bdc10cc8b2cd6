package batch

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFailureRoundTrip(t *testing.T) {
	f := &Failure{Source: Tickets, RunID: "tickets-1", Mode: Full, RunStarted: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Reason: "hubspot: 429 daily", Abandoned: true}
	data, attrs, err := EncodeFailure(f)
	if err != nil {
		t.Fatal(err)
	}
	if Kind(attrs) != KindFailure || attrs[AttrRunID] != "tickets-1" {
		t.Errorf("attributes %v", attrs)
	}
	got, err := DecodeFailure(data)
	if err != nil || *got != *f {
		t.Errorf("DecodeFailure = %+v, %v; want %+v", got, err, f)
	}
	if _, err := DecodeFailure([]byte(`{"source":"x","run_id":"a b"}`)); err == nil || !strings.Contains(err.Error(), "reason is missing") {
		t.Errorf("a bad failure report: %v", err)
	}
}

func TestKind(t *testing.T) {
	_, attrs, err := Encode(&Batch{Source: Chats, RunID: "r", Mode: Incremental, RunStarted: time.Now(), Payload: json.RawMessage("{}")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		attrs map[string]string
		want  string
	}{{attrs, KindBatch}, {nil, KindBatch}, {map[string]string{AttrKind: KindFailure}, KindFailure}} {
		if got := Kind(tt.attrs); got != tt.want {
			t.Errorf("Kind(%v) = %q, want %q", tt.attrs, got, tt.want)
		}
	}
}

// TestDecodeBoundsTheDecompressedSize sends a small gzip that inflates past the bound: it is
// refused with ErrTooLarge, while the same batch under the bound decodes.
func TestDecodeBoundsTheDecompressedSize(t *testing.T) {
	b := &Batch{Source: Tickets, RunID: "r", Mode: Full, RunStarted: time.Now(),
		Payload: json.RawMessage(`{"pad":"` + strings.Repeat("a", 1<<20) + `"}`)}
	data, _, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 1<<16 {
		t.Fatalf("the test batch compresses to %d bytes; want a small message", len(data))
	}
	if _, err := DecodeMax(data, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeMax over the bound: err = %v, want ErrTooLarge", err)
	}
	if got, err := DecodeMax(data, 2<<20); err != nil || got.RunID != "r" {
		t.Errorf("DecodeMax under the bound = %v, %v", got, err)
	}
	var plain bytes.Buffer // plain JSON is bounded too
	json.NewEncoder(&plain).Encode(b)
	if _, err := DecodeMax(plain.Bytes(), 1<<19); !errors.Is(err, ErrTooLarge) {
		t.Errorf("plain JSON over the bound: err = %v", err)
	}
	var bad bytes.Buffer
	zw := gzip.NewWriter(&bad)
	zw.Write([]byte("not json"))
	zw.Close()
	if _, err := Decode(bad.Bytes()); err == nil || errors.Is(err, ErrTooLarge) {
		t.Errorf("bad gzip JSON: err = %v", err)
	}
}

func TestParseSyncRequest(t *testing.T) {
	for _, tt := range []struct {
		body, wantErr string
		want          SyncRequest
	}{
		{``, "", SyncRequest{Mode: Incremental}},
		{`{"mode":"full","allow_deletions":true}`, "", SyncRequest{Mode: Full, AllowDeletions: true}},
		{`{"mode":"full","run_id":"r","continue":true,"turn":"t1"}`, "", SyncRequest{Mode: Full, RunID: "r", Continue: true, Turn: "t1"}},
		{`{"mode":"full","continue":true}`, "needs run_id and turn", SyncRequest{}},
		{`{"mode":"weekly","since":"yesterday"}`, "since", SyncRequest{}},
	} {
		got, _, err := ParseSyncRequest([]byte(tt.body))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.body, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s = %+v, %v; want %+v", tt.body, got, err, tt.want)
		}
	}
}
