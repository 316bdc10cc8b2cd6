package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/fetch"
	"supportsync.dev/shared/logx"
	"supportsync.dev/shared/process"
)

func testLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return logx.New(&buf, "debug"), &buf
}

// TestSyncVerdict is the fetch functions' ack/retry mapping: what can never succeed or is
// already recorded is acknowledged, a transient failure and a busy turn are retried.
func TestSyncVerdict(t *testing.T) {
	transient := errors.New("firestore: unavailable")
	for _, tt := range []struct {
		name      string
		res       fetch.Result
		err       error
		retry     bool
		wantEvent string
	}{
		{"done", fetch.Result{RunID: "r", Done: true}, nil, false, ""},
		{"continued", fetch.Result{RunID: "r", Continued: true}, nil, false, ""},
		{"skipped", fetch.Result{RunID: "r", Skipped: true, Message: "another run holds the lease"}, nil, false, "run_skipped"},
		{"busy turn", fetch.Result{RunID: "r", Busy: true, Message: "turn t1 is being worked on"}, nil, true, "turn_busy"},
		{"bad request", fetch.Result{}, fmt.Errorf("%w: since is in the future", fetch.ErrBadRequest), false, "bad_request"},
		{"recorded failure", fetch.Result{RunID: "r"}, fmt.Errorf("%w: hubspot 401", fetch.ErrRunFailed), false, ""},
		{"transient", fetch.Result{RunID: "r"}, transient, true, "fetch_error"},
	} {
		log, buf := testLog()
		f := &Fetch{Log: log}
		err := f.syncVerdict("m1", tt.res, tt.err)
		if (err != nil) != tt.retry {
			t.Errorf("%s: verdict %v, want retry=%v", tt.name, err, tt.retry)
		}
		if tt.err != nil && err != nil && !errors.Is(err, tt.err) {
			t.Errorf("%s: the retry error %v does not wrap the cause", tt.name, err)
		}
		if tt.wantEvent != "" && !strings.Contains(buf.String(), `"event":"`+tt.wantEvent+`"`) {
			t.Errorf("%s: log %q has no event %s", tt.name, buf.String(), tt.wantEvent)
		}
	}
}

func pubsubEventData(t *testing.T, data []byte, attrs map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(batch.MessagePublishedData{Message: batch.PubSubMessage{Data: data, Attributes: attrs, MessageID: "m1"}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHandleSyncEventAcksWhatCannotSucceed: an event that is not a Pub/Sub message and a sync
// request that does not parse are logged and acknowledged before any fetch starts (the
// service has no source: reaching it would panic).
func TestHandleSyncEventAcksWhatCannotSucceed(t *testing.T) {
	log, buf := testLog()
	svc := NewLazy(func(context.Context) (*Fetch, error) { return &Fetch{Log: log, Service: &fetch.Service{}}, nil })
	for name, data := range map[string][]byte{
		"not an event":    []byte("not json"),
		"bad request":     pubsubEventData(t, []byte(`{"mode":"weekly"}`), nil),
		"unknown field":   pubsubEventData(t, []byte(`{"mode":"full","force":true}`), nil),
		"bad run id":      pubsubEventData(t, []byte(`{"run_id":"a/b"}`), nil),
		"continue no run": pubsubEventData(t, []byte(`{"continue":true}`), nil),
	} {
		buf.Reset()
		if err := HandleSyncEvent(context.Background(), svc, "e1", data); err != nil {
			t.Errorf("%s: %v, want ack", name, err)
		}
		if !strings.Contains(buf.String(), `"event":"bad_request"`) {
			t.Errorf("%s: not logged as bad_request: %s", name, buf.String())
		}
	}
}

// TestHandleBatchEventRetriesPoison: for process, an event that is not a Pub/Sub message and
// a message of an unknown kind are errors (retried, then dead-lettered), logged as poison.
func TestHandleBatchEventRetriesPoison(t *testing.T) {
	log, buf := testLog()
	svc := NewLazy(func(context.Context) (*Process, error) { return &Process{Log: log, Service: &process.Service{}}, nil })
	for name, data := range map[string][]byte{
		"not an event": []byte("{"),
		"unknown kind": pubsubEventData(t, []byte("{}"), map[string]string{batch.AttrKind: "mystery", batch.AttrRunID: "r"}),
	} {
		buf.Reset()
		if err := HandleBatchEvent(context.Background(), svc, "e1", data); err == nil {
			t.Errorf("%s: acknowledged, want retry", name)
		}
		if !strings.Contains(buf.String(), `"event":"batch_poison"`) {
			t.Errorf("%s: not logged as batch_poison: %s", name, buf.String())
		}
	}
}

// TestBuildFailureIsRetried: a handler whose service cannot be built returns the error (the
// message is retried), and a failed build is not kept: the next call builds again.
func TestBuildFailureIsRetried(t *testing.T) {
	calls := 0
	log, _ := testLog()
	svc := NewLazy(func(context.Context) (*Fetch, error) {
		calls++
		if calls == 1 {
			return nil, errors.New("secret not readable yet")
		}
		return &Fetch{Log: log, Service: &fetch.Service{}}, nil
	})
	data := pubsubEventData(t, []byte(`{"mode":"weekly"}`), nil)
	if err := HandleSyncEvent(context.Background(), svc, "e1", data); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("first call = %v, want the build error", err)
	}
	for range 2 {
		if err := HandleSyncEvent(context.Background(), svc, "e1", data); err != nil {
			t.Errorf("after a good build: %v", err)
		}
	}
	if calls != 2 {
		t.Errorf("built %d times, want 2 (a success is kept)", calls)
	}
}

// TestNormalizersCoverEverySource: the wiring injects a normalizer for each source, writing
// its own tab, and a payload that does not decode is an error (process makes it poison).
func TestNormalizersCoverEverySource(t *testing.T) {
	ns := Normalizers()
	for src, tab := range map[batch.Source]string{batch.Tickets: "Tickets", batch.Chats: "Chats"} {
		n, ok := ns[src]
		if !ok || n.Schema.Tab != tab {
			t.Fatalf("%s: normalizer %v, want tab %s", src, n.Schema.Tab, tab)
		}
		if _, err := n.Normalize(json.RawMessage(`[1,2]`), nil, time.Now()); err == nil {
			t.Errorf("%s: a bad payload normalized", src)
		}
		if res, err := n.Normalize(json.RawMessage(`{}`), nil, time.Now()); err != nil || len(res.Rows) != 0 {
			t.Errorf("%s: empty payload = %+v, %v", src, res, err)
		}
	}
	if len(ns) != 2 {
		t.Errorf("%d normalizers, want 2", len(ns))
	}
}
