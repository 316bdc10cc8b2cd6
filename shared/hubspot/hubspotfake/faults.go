package hubspotfake

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultKind is a misbehaviour the server can be told to show.
type FaultKind int

// The faults.
const (
	Fault429           FaultKind = iota + 1 // 429 TEN_SECONDLY_ROLLING with X-HubSpot-RateLimit-* headers
	Fault429NoHeaders                       // 429 TEN_SECONDLY_ROLLING without any rate-limit header
	Fault429Secondly                        // search's 429 "secondly limit" body, no policyName, no headers
	Fault429Daily                           // 429 DAILY
	Fault502HTML                            // 502 with a Cloudflare-like HTML page
	Fault503                                // 503 with a JSON body
	Fault524                                // 524 origin time-out, HTML
	FaultTruncatedJSON                      // the normal 200 answer cut in half
	FaultDelay                              // the normal answer after Fault.Delay
	FaultReset                              // the connection is closed without an answer
)

// Fault makes the next Count requests whose path (after the prefix) contains Path answer
// with Kind. Path "" matches every request. RetryAfter, when set, is sent as a Retry-After
// header (seconds) on 429s.
type Fault struct {
	Kind       FaultKind
	Count      int
	Path       string
	Delay      time.Duration // FaultDelay
	RetryAfter int           // seconds, 429 kinds only
}

// Inject queues a fault; faults are consumed in the order injected.
func (s *Server) Inject(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.faultMu.Lock()
	s.faults = append(s.faults, &f)
	s.faultMu.Unlock()
}

// ClearFaults drops every pending fault.
func (s *Server) ClearFaults() {
	s.faultMu.Lock()
	s.faults = nil
	s.faultMu.Unlock()
}

// PendingFaults returns how many injected fault answers are still to come.
func (s *Server) PendingFaults() int {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.Count
	}
	return n
}

// takeFault consumes one answer of the first fault matching path.
func (s *Server) takeFault(path string) *Fault {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	for i, f := range s.faults {
		if f.Path != "" && !strings.Contains(path, f.Path) {
			continue
		}
		f.Count--
		if f.Count <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		c := *f
		return &c
	}
	return nil
}

const cloudflare502 = `<!DOCTYPE html>
<html><head><title>api.hubapi.com | 502: Bad gateway</title></head>
<body><h1>Bad gateway</h1><p>Error code 502</p><p>Cloudflare Ray ID: 7d1f3c2e9a8b0c1d</p></body></html>
`

const cloudflare524 = `<!DOCTYPE html>
<html><head><title>api.hubapi.com | 524: A timeout occurred</title></head>
<body><h1>A timeout occurred</h1><p>Error code 524</p></body></html>
`

// serveFault answers a request with an injected fault (not FaultDelay/FaultTruncatedJSON).
func (s *Server) serveFault(w http.ResponseWriter, f *Fault) {
	h := w.Header()
	if f.RetryAfter > 0 {
		h.Set("Retry-After", itoa(f.RetryAfter))
	}
	switch f.Kind {
	case Fault429:
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", itoa(int(s.window.Milliseconds())))
		h.Set("X-HubSpot-RateLimit-Max", itoa(max(s.perWindow, 100)))
		h.Set("X-HubSpot-RateLimit-Remaining", "0")
		s.write429(w, "You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING", nil)
	case Fault429NoHeaders:
		s.write429(w, "You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING", nil)
	case Fault429Secondly:
		s.write429(w, "You have reached your secondly limit.", "", nil)
	case Fault429Daily:
		h.Set("X-HubSpot-RateLimit-Daily", "250000")
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", "0")
		s.write429(w, "You have reached your daily limit.", "DAILY", nil)
	case Fault502HTML:
		h.Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(cloudflare502))
	case Fault524:
		h.Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(524)
		w.Write([]byte(cloudflare524))
	case Fault503:
		s.writeError(w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable.")
	case FaultReset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	default:
		s.writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "unknown fault")
	}
}

func itoa(n int) string {
	return strconv.Itoa(n)
}
