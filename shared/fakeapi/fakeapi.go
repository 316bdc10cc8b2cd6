// Package fakeapi holds what the fake API servers (hubspotfake, livechatfake, sheetsfake)
// share: the faults a test injects into them and the count of the requests they received.
//
// A fake embeds a Control and passes each request through Control.Serve with the names it
// gives the request (its endpoint, and any class such as "read" or "write"; each fake lists
// its names). Serve counts the request under each name and answers it with the first pending
// fault that matches, or lets the fake answer normally. The generic answers (a delay, a reset
// connection, a truncated body, a request applied and then answered with an error) are
// served here; an error status is written by the fake in its own wire format.
package fakeapi

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Answer is what a faulty request gets.
type Answer int

// The answers a fault can give.
const (
	// Status answers Fault.Code with the fake's own error body for it (see Fault.Variant),
	// without handling the request.
	Status Answer = iota
	// Delay waits Fault.Delay (or until the client gives up), then answers normally.
	Delay
	// Reset closes the connection without an answer.
	Reset
	// Truncate answers normally, but a successful answer's body is cut in half.
	Truncate
	// AfterApply handles the request, then answers Fault.Code instead of a success: a write
	// that took effect and whose answer was lost. A request that fails on its own gets its
	// own answer and leaves the fault for the next matching request.
	AfterApply
)

// String names the answer.
func (a Answer) String() string {
	switch a {
	case Status:
		return "status"
	case Delay:
		return "delay"
	case Reset:
		return "reset"
	case Truncate:
		return "truncate"
	case AfterApply:
		return "after-apply"
	}
	return "answer(" + strconv.Itoa(int(a)) + ")"
}

// Fault is a misbehaviour for the next Times requests that Match selects.
type Fault struct {
	// Match selects the requests: "" every request, otherwise one of the names the fake
	// gives a request (its endpoint, "read", "write", …: see the fake's doc).
	Match string
	// Times is how many requests the fault answers (0 means 1).
	Times int
	// Answer is what those requests get (Status by default).
	Answer Answer
	// Code is the HTTP status of a Status or AfterApply answer (0 means 500).
	Code int
	// Variant picks one of the fake's error bodies for Code ("" is its usual one), such as
	// hubspotfake.DailyLimit for a 429.
	Variant string
	// Delay is how long a Delay answer waits.
	Delay time.Duration
	// RetryAfter, when positive, is sent as a Retry-After header (seconds) with a Status or
	// AfterApply answer.
	RetryAfter int
}

// matches reports whether the fault selects a request with these names.
func (f *Fault) matches(names []string) bool {
	if f.Match == "" {
		return true
	}
	for _, n := range names {
		if n == f.Match {
			return true
		}
	}
	return false
}

// StatusFunc writes a fake's error answer for a Status or AfterApply fault: f.Code (never 0)
// and the body of f.Variant, in the fake's wire format. Retry-After is already set.
type StatusFunc func(w http.ResponseWriter, f Fault)

// Control is the fault queue and request counter of one fake. The zero value is ready and
// it is safe for concurrent use; it must not be copied after first use.
type Control struct {
	mu     sync.Mutex
	faults []*Fault // pending, in the order injected; Times is what is left
	counts map[string]int64
}

// Inject queues a fault. A request takes the first pending fault that matches it, so faults
// are consumed in the order injected.
func (c *Control) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Code == 0 {
		f.Code = http.StatusInternalServerError
	}
	c.mu.Lock()
	c.faults = append(c.faults, &f)
	c.mu.Unlock()
}

// PendingFaults returns how many injected fault answers are still to come.
func (c *Control) PendingFaults() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.faults {
		n += f.Times
	}
	return n
}

// ClearFaults drops every pending fault.
func (c *Control) ClearFaults() {
	c.mu.Lock()
	c.faults = nil
	c.mu.Unlock()
}

// Requests returns how many requests the fake received under a name ("" counts every
// request), faulty ones included.
func (c *Control) Requests(name string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[name]
}

// ResetRequests sets every request count to zero.
func (c *Control) ResetRequests() {
	c.mu.Lock()
	c.counts = nil
	c.mu.Unlock()
}

// take counts a request under its names and takes one answer of the first pending fault
// that matches it.
func (c *Control) take(names []string) (Fault, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int64{}
	}
	c.counts[""]++
	for _, n := range names {
		if n != "" {
			c.counts[n]++
		}
	}
	for i, f := range c.faults {
		if !f.matches(names) {
			continue
		}
		out := *f
		out.Times = 1
		if f.Times--; f.Times <= 0 {
			c.faults = append(c.faults[:i:i], c.faults[i+1:]...)
		}
		return out, true
	}
	return Fault{}, false
}

// giveBack returns an answer of a fault taken but not used to the front of the queue.
func (c *Control) giveBack(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append([]*Fault{&f}, c.faults...)
}

// Serve answers one request of a fake: it counts the request under names, then answers it
// with the first pending fault that matches — writing an error status through status — or,
// when none matches, with next.
func (c *Control) Serve(w http.ResponseWriter, r *http.Request, names []string, status StatusFunc, next http.HandlerFunc) {
	f, ok := c.take(names)
	if !ok {
		next(w, r)
		return
	}
	switch f.Answer {
	case Status:
		writeStatus(w, f, status)
	case Delay:
		t := time.NewTimer(f.Delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
		next(w, r)
	case Reset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case Truncate:
		rec := httptest.NewRecorder()
		next(rec, r)
		body := rec.Body.Bytes()
		if ok2xx(rec.Code) {
			body = body[:len(body)/2]
		}
		copyHeader(w, rec, len(body))
		w.WriteHeader(rec.Code)
		w.Write(body)
	case AfterApply:
		rec := httptest.NewRecorder()
		next(rec, r)
		if ok2xx(rec.Code) {
			writeStatus(w, f, status)
			return
		}
		c.giveBack(f)
		copyHeader(w, rec, rec.Body.Len())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	default:
		next(w, r)
	}
}

func writeStatus(w http.ResponseWriter, f Fault, status StatusFunc) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	status(w, f)
}

func ok2xx(code int) bool { return code >= 200 && code < 300 }

// copyHeader copies a recorded answer's header to w, with the Content-Length of the body
// about to be written when the answer had one.
func copyHeader(w http.ResponseWriter, rec *httptest.ResponseRecorder, n int) {
	h := w.Header()
	for k, v := range rec.Header() {
		h[k] = v
	}
	if h.Get("Content-Length") != "" {
		h.Set("Content-Length", strconv.Itoa(n))
	}
}
