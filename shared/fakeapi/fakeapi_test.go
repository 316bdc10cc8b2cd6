package fakeapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"supportsync.dev/shared/fakeapi"
)

// fake is a tiny fake API over a Control: a request to /<name> is named by its path and
// by "read" (GET) or "write"; a success is 200 with a JSON body, /bad answers 400 itself,
// and every write is applied (counted in applied) before its answer.
type fake struct {
	fakeapi.Control
	applied atomic.Int64
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	class := "write"
	if r.Method == http.MethodGet {
		class = "read"
	}
	f.Serve(w, r, []string{strings.TrimPrefix(r.URL.Path, "/"), class}, func(w http.ResponseWriter, f fakeapi.Fault) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(f.Code)
		io.WriteString(w, "fault "+strconv.Itoa(f.Code)+" "+f.Variant)
	}, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if r.Method != http.MethodGet {
			f.applied.Add(1)
		}
		body := `{"answer":"the whole of it"}`
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body)
	})
}

type answer struct {
	status int
	body   string
	err    bool // the connection broke
}

func do(t *testing.T, c *http.Client, url, method string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return answer{err: true}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{err: true}
	}
	return answer{status: resp.StatusCode, body: string(b)}
}

const whole = `{"answer":"the whole of it"}`

func TestFaultAnswers(t *testing.T) {
	type req struct{ method, path string }
	get := func(p string) req { return req{http.MethodGet, p} }
	post := func(p string) req { return req{http.MethodPost, p} }
	tests := []struct {
		name    string
		faults  []fakeapi.Fault
		reqs    []req
		want    []answer
		applied int
		pending int
	}{
		{"no fault", nil, []req{get("/a")}, []answer{{200, whole, false}}, 0, 0},
		{"status, default code",
			[]fakeapi.Fault{{}},
			[]req{get("/a"), get("/a")},
			[]answer{{500, "fault 500 ", false}, {200, whole, false}}, 0, 0},
		{"status with a variant, twice",
			[]fakeapi.Fault{{Code: 429, Variant: "daily", Times: 2}},
			[]req{get("/a"), post("/a"), get("/a")},
			[]answer{{429, "fault 429 daily", false}, {429, "fault 429 daily", false}, {200, whole, false}}, 0, 0},
		{"a status fault does not apply the write",
			[]fakeapi.Fault{{Code: 503}},
			[]req{post("/a")},
			[]answer{{503, "fault 503 ", false}}, 0, 0},
		{"match by endpoint",
			[]fakeapi.Fault{{Code: 502, Match: "b"}},
			[]req{get("/a"), get("/b"), get("/b")},
			[]answer{{200, whole, false}, {502, "fault 502 ", false}, {200, whole, false}}, 0, 0},
		{"match by class",
			[]fakeapi.Fault{{Code: 503, Match: "write"}},
			[]req{get("/a"), post("/a"), post("/a")},
			[]answer{{200, whole, false}, {503, "fault 503 ", false}, {200, whole, false}}, 1, 0},
		{"in the order injected",
			[]fakeapi.Fault{{Code: 500}, {Code: 503}},
			[]req{get("/a"), get("/a"), get("/a")},
			[]answer{{500, "fault 500 ", false}, {503, "fault 503 ", false}, {200, whole, false}}, 0, 0},
		{"a request takes the first fault that matches it",
			[]fakeapi.Fault{{Code: 500, Match: "b"}, {Code: 503}},
			[]req{get("/a"), get("/b")},
			[]answer{{503, "fault 503 ", false}, {500, "fault 500 ", false}}, 0, 0},
		{"unmatched faults stay pending",
			[]fakeapi.Fault{{Code: 500, Match: "nowhere", Times: 3}},
			[]req{get("/a")},
			[]answer{{200, whole, false}}, 0, 3},
		{"truncate cuts a success in half",
			[]fakeapi.Fault{{Answer: fakeapi.Truncate}},
			[]req{get("/a"), get("/a")},
			[]answer{{200, whole[:len(whole)/2], false}, {200, whole, false}}, 0, 0},
		{"truncate leaves an error whole",
			[]fakeapi.Fault{{Answer: fakeapi.Truncate}},
			[]req{get("/bad")},
			[]answer{{400, "bad request\n", false}}, 0, 0},
		{"reset breaks the connection",
			[]fakeapi.Fault{{Answer: fakeapi.Reset}},
			[]req{get("/a"), get("/a")},
			[]answer{{err: true}, {200, whole, false}}, 0, 0},
		{"delay then the normal answer",
			[]fakeapi.Fault{{Answer: fakeapi.Delay, Delay: 50 * time.Millisecond}},
			[]req{post("/a")},
			[]answer{{200, whole, false}}, 1, 0},
		{"after-apply applies the write, then answers the error",
			[]fakeapi.Fault{{Answer: fakeapi.AfterApply, Code: 500}},
			[]req{post("/a"), post("/a")},
			[]answer{{500, "fault 500 ", false}, {200, whole, false}}, 2, 0},
		{"after-apply waits while the request fails on its own",
			[]fakeapi.Fault{{Answer: fakeapi.AfterApply, Code: 503}},
			[]req{post("/bad"), post("/a")},
			[]answer{{400, "bad request\n", false}, {503, "fault 503 ", false}}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			ts := httptest.NewServer(f)
			defer ts.Close()
			for _, ft := range tt.faults {
				f.Inject(ft)
			}
			for i, r := range tt.reqs {
				start := time.Now()
				got := do(t, ts.Client(), ts.URL+r.path, r.method)
				if got != tt.want[i] {
					t.Errorf("request %d (%s %s) = %+v, want %+v", i, r.method, r.path, got, tt.want[i])
				}
				if i == 0 && len(tt.faults) > 0 && tt.faults[0].Answer == fakeapi.Delay && time.Since(start) < tt.faults[0].Delay {
					t.Errorf("answered after %s, before the delay", time.Since(start))
				}
			}
			if f.applied.Load() != int64(tt.applied) {
				t.Errorf("%d writes applied, want %d", f.applied.Load(), tt.applied)
			}
			if n := f.PendingFaults(); n != tt.pending {
				t.Errorf("PendingFaults = %d, want %d", n, tt.pending)
			}
			if n := f.Requests(""); n != int64(len(tt.reqs)) {
				t.Errorf("Requests(\"\") = %d, want %d", n, len(tt.reqs))
			}
		})
	}
}

// TestTruncateFixesContentLength: a truncated answer says its own length, so the client
// reads the half body and fails to decode it rather than waiting for the rest.
func TestTruncateFixesContentLength(t *testing.T) {
	f := &fake{}
	ts := httptest.NewServer(f)
	defer ts.Close()
	f.Inject(fakeapi.Fault{Answer: fakeapi.Truncate})
	resp, err := ts.Client().Get(ts.URL + "/a")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.ContentLength != int64(len(whole)/2) || string(b) != whole[:len(whole)/2] {
		t.Errorf("Content-Length %d, body %q, %v", resp.ContentLength, b, err)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		fault fakeapi.Fault
		want  string
	}{
		{fakeapi.Fault{Code: 429, RetryAfter: 30}, "30"},
		{fakeapi.Fault{Code: 429}, ""},
		{fakeapi.Fault{Answer: fakeapi.AfterApply, Code: 503, RetryAfter: 2}, "2"},
	} {
		f := &fake{}
		ts := httptest.NewServer(f)
		f.Inject(tt.fault)
		resp, err := ts.Client().Post(ts.URL+"/a", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Retry-After"); resp.StatusCode != tt.fault.Code || got != tt.want {
			t.Errorf("%+v: %d with Retry-After %q, want %d with %q", tt.fault, resp.StatusCode, got, tt.fault.Code, tt.want)
		}
		ts.Close()
	}
}

func TestRequestsAndClear(t *testing.T) {
	f := &fake{}
	ts := httptest.NewServer(f)
	defer ts.Close()
	f.Inject(fakeapi.Fault{Code: 503, Times: 2})
	f.Inject(fakeapi.Fault{Answer: fakeapi.Truncate, Match: "b"})
	if n := f.PendingFaults(); n != 3 {
		t.Errorf("PendingFaults = %d, want 3", n)
	}
	do(t, ts.Client(), ts.URL+"/a", http.MethodGet)
	if n := f.PendingFaults(); n != 2 {
		t.Errorf("PendingFaults = %d after one answer, want 2", n)
	}
	f.ClearFaults()
	if n := f.PendingFaults(); n != 0 {
		t.Errorf("PendingFaults = %d after ClearFaults", n)
	}
	for _, r := range []struct{ method, path string }{{"GET", "/a"}, {"GET", "/b"}, {"POST", "/b"}, {"POST", "/b"}} {
		if got := do(t, ts.Client(), ts.URL+r.path, r.method); got.status != 200 {
			t.Errorf("%s %s after ClearFaults: %+v", r.method, r.path, got)
		}
	}
	for name, want := range map[string]int64{"": 5, "a": 2, "b": 3, "read": 3, "write": 2, "c": 0} {
		if got := f.Requests(name); got != want {
			t.Errorf("Requests(%q) = %d, want %d", name, got, want)
		}
	}
	f.ResetRequests()
	if n := f.Requests(""); n != 0 {
		t.Errorf("Requests after ResetRequests = %d", n)
	}
}

// TestDelayEndsWithTheClient: a client that gives up during a delay gets no answer and the
// request is not handled.
func TestDelayEndsWithTheClient(t *testing.T) {
	f := &fake{}
	ts := httptest.NewServer(f)
	defer ts.Close()
	f.Inject(fakeapi.Fault{Answer: fakeapi.Delay, Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/a", nil)
	start := time.Now()
	_, err := ts.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
	ts.Close() // waits for the handler to return
	if f.applied.Load() != 0 {
		t.Errorf("the abandoned write was applied")
	}
}

func TestAnswerString(t *testing.T) {
	for a, want := range map[fakeapi.Answer]string{fakeapi.Status: "status", fakeapi.Delay: "delay", fakeapi.Reset: "reset",
		fakeapi.Truncate: "truncate", fakeapi.AfterApply: "after-apply", fakeapi.Answer(9): "answer(9)"} {
		if got := a.String(); got != want {
			t.Errorf("%d: %q, want %q", int(a), got, want)
		}
	}
}
