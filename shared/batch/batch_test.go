package batch

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"reflect"
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

// TestEncodeDecodeRoundTrip encodes a batch and decodes it back (gzip, and plain JSON as a
// hand-made replay is), with the attributes a subscriber routes on.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	started := time.Date(2026, 11, 2, 3, 4, 5, 600, time.UTC)
	b := &Batch{Source: Tickets, RunID: "tickets-20261102", Mode: Full, AllowDeletions: true, Seq: 3, Last: true,
		RunStarted: started, HighWater: started.Add(time.Hour), APIRequests: 12, Records: 2,
		Payload: json.RawMessage(`{"tickets":[{"id":"1"},{"id":"2"}]}`)}
	data, attrs, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{AttrSource: "tickets", AttrRunID: "tickets-20261102", AttrSeq: "3", AttrLast: "true",
		AttrEncoding: EncodingGzip, AttrKind: KindBatch}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, attrs[k], v)
		}
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		t.Errorf("Encode did not gzip: % x", data[:min(len(data), 4)])
	}
	plain, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"gzip": data, "plain": plain} {
		got, err := Decode(in)
		if err != nil {
			t.Fatalf("%s: Decode: %v", name, err)
		}
		if !got.RunStarted.Equal(b.RunStarted) || !got.HighWater.Equal(b.HighWater) || string(got.Payload) != string(b.Payload) {
			t.Errorf("%s: times or payload changed: %+v", name, got)
		}
		got.RunStarted, got.HighWater, got.Payload = b.RunStarted, b.HighWater, b.Payload
		if !reflect.DeepEqual(*got, *b) {
			t.Errorf("%s: Decode = %+v, want %+v", name, got, b)
		}
	}
}

// TestDecodeRefusesBadBookkeeping reports every problem of a batch at once.
func TestDecodeRefusesBadBookkeeping(t *testing.T) {
	for _, tt := range []struct {
		body string
		want []string
	}{
		{`{"source":"emails","run_id":"r","mode":"full","run_started":"2026-01-01T00:00:00Z"}`, []string{`unknown source "emails"`}},
		{`{"source":"chats","run_id":"a b","mode":"weekly","seq":-1}`, []string{`run_id "a b"`, `mode "weekly"`, "seq -1 is negative", "run_started is missing"}},
		{`{"source":"chats","run_id":"..","mode":"full","run_started":"2026-01-01T00:00:00Z"}`, []string{`run_id ".."`}},
		{`not json`, []string{"batch.Decode"}},
		{`{"source":"chats","run_id":"r","mode":"incremental","run_started":"2026-01-01T00:00:00Z"}`, nil},
	} {
		_, err := Decode([]byte(tt.body))
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.body, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: decoded", tt.body)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tt.body, err, w)
			}
		}
	}
}

func TestParseSyncRequestMore(t *testing.T) {
	at := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	got, since, err := ParseSyncRequest([]byte(` {"since":"2026-10-01T08:00:00Z","run_id":"manual.1"} `))
	if err != nil || got.Mode != Incremental || !since.Equal(at) || got.RunID != "manual.1" {
		t.Errorf("= %+v, %v, %v", got, since, err)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"mode":"full","extra":1}`, "unknown field"},
		{`{"run_id":"has space"}`, "run_id"},
		{`{"run_id":"` + strings.Repeat("x", 101) + `"}`, "run_id"},
		{`[1]`, "sync request"},
	} {
		if _, _, err := ParseSyncRequest([]byte(tt.body)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.body, err, tt.want)
		}
	}
	// every problem at once
	_, _, err = ParseSyncRequest([]byte(`{"mode":"weekly","since":"x","run_id":"a b","continue":true}`))
	for _, w := range []string{"mode", "since", "run_id", "continuation"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("combined error %v does not name %s", err, w)
		}
	}
}

func TestParseSource(t *testing.T) {
	for _, s := range []string{"tickets", "chats"} {
		if got, err := ParseSource(s); err != nil || string(got) != s {
			t.Errorf("ParseSource(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseSource("Tickets"); err == nil {
		t.Error("ParseSource accepted a wrong-case name")
	}
}
