// Package hubspotfake is a fake HubSpot CRM v3 API for the endpoints supportsync reads:
// ticket list and search, owners and ticket pipelines. It speaks HubSpot's wire format
// (paging, search filters and sorts, the 10,000-result search ceiling, error and 429 bodies,
// rate-limit headers), is safe for concurrent use, stays fast with 100,000+ tickets, and
// answers the faults a test injects (fakeapi.Fault; see Server for the request names).
// Tests and the local sandbox (supportsync devstack) use it.
package hubspotfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"supportsync.dev/shared/fakeapi"
	"supportsync.dev/shared/hubspot"
)

// DefaultToken is the bearer token a Server accepts unless WithToken says otherwise.
const DefaultToken = "pat-na1-00000000-0000-4000-8000-fake0token00"

// The names the server gives requests, for Requests and fakeapi.Fault.Match: each request
// is named by its endpoint, and list and search requests by EndpointTickets too.
const (
	EndpointList      = "list"      // GET /crm/v3/objects/tickets
	EndpointSearch    = "search"    // POST /crm/v3/objects/tickets/search
	EndpointOwners    = "owners"    // GET /crm/v3/owners
	EndpointPipelines = "pipelines" // GET /crm/v3/pipelines/tickets
	EndpointOther     = "other"     // anything else (answered 404)
	EndpointTickets   = "tickets"   // list and search
)

// Server is the fake API, an http.Handler. Paths are served under an optional prefix
// (WithPrefix), so a client whose base URL lacks the prefix gets 404s. Its fakeapi.Control
// takes injected faults (a Status fault is answered in HubSpot's wire format: see
// TenSecondly for the 429 variants) and counts requests by the Endpoint names.
type Server struct {
	fakeapi.Control

	prefix string
	token  string

	mu        sync.RWMutex
	active    []*rec // ascending id
	archived  []*rec // ascending id
	byID      map[string]*rec
	owners    []hubspot.Owner
	pipelines []hubspot.Pipeline
	version   uint64
	cache     map[string][]*rec // sorted search matches by query, for version
	cacheVer  uint64

	// Rate limits.
	limMu       sync.Mutex
	perWindow   int
	window      time.Duration
	searchPerS  int
	generalLog  []time.Time // accepted general requests inside the window
	searchLog   []time.Time
	dailyLimit  int
	dailyCount  int
	rateLimited atomic.Int64

	corr atomic.Uint64
}

// rec is a stored ticket with its sort keys.
type rec struct {
	id       int64
	created  int64 // epoch ms
	modified int64 // epoch ms
	t        *hubspot.Ticket
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the accepted bearer token; "" accepts any request, with or without one.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithPrefix serves the API under a path prefix such as "/hubspot".
func WithPrefix(prefix string) Option {
	return func(s *Server) {
		s.prefix = "/" + strings.Trim(prefix, "/")
		s.prefix = strings.TrimSuffix(s.prefix, "/")
	}
}

// WithLimits turns on HubSpot's rate limits: at most perWindow non-search requests in any
// rolling window (10 s unless WithLimitWindow) answered otherwise with a TEN_SECONDLY_ROLLING
// 429 and X-HubSpot-RateLimit-* headers, and at most searchPerSecond searches in any rolling
// second answered otherwise with the "secondly limit" 429 and no rate-limit headers. 0 turns a
// limit off; both are off by default. The sandbox uses WithLimits(100, 5).
func WithLimits(perWindow, searchPerSecond int) Option {
	return func(s *Server) { s.perWindow, s.searchPerS = perWindow, searchPerSecond }
}

// WithLimitWindow sets the rolling window of the general limit (default 10 s).
func WithLimitWindow(d time.Duration) Option { return func(s *Server) { s.window = d } }

// WithDailyLimit answers every request after the first n with a DAILY 429 (0: off).
func WithDailyLimit(n int) Option { return func(s *Server) { s.dailyLimit = n } }

// New returns a server for ds. The server copies what it needs: later mutations through the
// Server never change ds.
func New(ds *Dataset, opts ...Option) *Server {
	s := &Server{token: DefaultToken, window: 10 * time.Second, byID: make(map[string]*rec, len(ds.Tickets))}
	for _, o := range opts {
		o(s)
	}
	s.owners = slices.Clone(ds.Owners)
	s.pipelines = slices.Clone(ds.Pipelines)
	s.active = make([]*rec, 0, len(ds.Tickets))
	for i := range ds.Tickets {
		t := ds.Tickets[i]
		r := newRec(&t)
		if t.Archived {
			s.archived = append(s.archived, r)
		} else {
			s.active = append(s.active, r)
		}
		s.byID[t.ID] = r
	}
	byID := func(a, b *rec) int { return cmpInt(a.id, b.id) }
	slices.SortFunc(s.active, byID)
	slices.SortFunc(s.archived, byID)
	return s
}

func newRec(t *hubspot.Ticket) *rec {
	r := &rec{t: t}
	r.id, _ = strconv.ParseInt(t.ID, 10, 64)
	r.created = t.CreatedAt.UnixMilli()
	if c, err := time.Parse(time.RFC3339Nano, t.Prop("createdate")); err == nil {
		r.created = c.UnixMilli()
	}
	r.modified = t.UpdatedAt.UnixMilli()
	if m, err := time.Parse(time.RFC3339Nano, t.Prop("hs_lastmodifieddate")); err == nil {
		r.modified = m.UnixMilli()
	}
	return r
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestServer is a Server listening on a local httptest server.
type TestServer struct {
	*Server
	HTTP *httptest.Server
	URL  string // base URL for the client, prefix included
}

// NewTestServer starts New(ds, opts...) on a local httptest server; Close it when done.
func NewTestServer(ds *Dataset, opts ...Option) *TestServer {
	s := New(ds, opts...)
	hs := httptest.NewServer(s)
	return &TestServer{Server: s, HTTP: hs, URL: hs.URL + s.prefix}
}

// Close shuts the listener down.
func (ts *TestServer) Close() { ts.HTTP.Close() }

// RateLimited returns how many 429s the server's own limits answered (injected faults not
// counted).
func (s *Server) RateLimited() int64 { return s.rateLimited.Load() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, s.prefix)
	if !ok || (s.prefix != "" && path != "" && path[0] != '/') {
		s.writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Not found: "+r.URL.Path)
		return
	}
	path = strings.TrimSuffix(path, "/")
	endpoint := EndpointOther
	switch {
	case path == hubspot.PathTickets && r.Method == http.MethodGet:
		endpoint = EndpointList
	case path == hubspot.PathTicketsSearch && r.Method == http.MethodPost:
		endpoint = EndpointSearch
	case path == hubspot.PathOwners && r.Method == http.MethodGet:
		endpoint = EndpointOwners
	case path == hubspot.PathPipelines && r.Method == http.MethodGet:
		endpoint = EndpointPipelines
	}
	names := []string{endpoint}
	if endpoint == EndpointList || endpoint == EndpointSearch {
		names = append(names, EndpointTickets)
	}
	s.Serve(w, r, names, s.writeFault, func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, path, endpoint)
	})
}

// serve answers a request to endpoint as HubSpot does.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, path, endpoint string) {
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		s.writeError(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION",
			"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
		return
	}
	if endpoint != EndpointOther && !s.admit(w, endpoint == EndpointSearch) {
		return
	}

	var body any
	status := http.StatusOK
	var err *apiErr
	switch endpoint {
	case EndpointList:
		body, err = s.list(r)
	case EndpointSearch:
		body, err = s.search(r)
	case EndpointOwners:
		body, err = s.listOwners(r)
	case EndpointPipelines:
		s.mu.RLock()
		body = map[string]any{"results": s.pipelines}
		s.mu.RUnlock()
	default:
		err = &apiErr{http.StatusNotFound, "OBJECT_NOT_FOUND", "No route for " + r.Method + " " + path}
	}
	if err != nil {
		s.writeError(w, err.status, err.category, err.message)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if e := json.NewEncoder(buf).Encode(body); e != nil {
		s.writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", e.Error())
		return
	}
	out := buf.Bytes()
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	w.Write(out)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

type apiErr struct {
	status   int
	category string
	message  string
}

func (s *Server) correlationID() string {
	n := s.corr.Add(1)
	return fmt.Sprintf("c033cdaa-2c40-4a64-ae48-%012x", n)
}

// writeError writes HubSpot's error schema.
func (s *Server) writeError(w http.ResponseWriter, status int, category, message string) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{
		"status": "error", "category": category, "message": message, "correlationId": s.correlationID(),
	})
}

// admit applies the rate limits, answering 429 itself when a limit is reached.
func (s *Server) admit(w http.ResponseWriter, search bool) bool {
	now := time.Now()
	s.limMu.Lock()
	defer s.limMu.Unlock()
	if s.dailyLimit > 0 {
		if s.dailyCount >= s.dailyLimit {
			s.rateLimited.Add(1)
			s.write429(w, "You have reached your daily limit.", "DAILY")
			return false
		}
		s.dailyCount++
	}
	if search {
		if s.searchPerS <= 0 {
			return true
		}
		s.searchLog = trimLog(s.searchLog, now.Add(-time.Second))
		if len(s.searchLog) >= s.searchPerS {
			s.rateLimited.Add(1)
			s.write429(w, "You have reached your secondly limit.", "")
			return false
		}
		s.searchLog = append(s.searchLog, now)
		return true
	}
	if s.perWindow <= 0 {
		return true
	}
	s.generalLog = trimLog(s.generalLog, now.Add(-s.window))
	h := w.Header()
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(s.window.Milliseconds(), 10))
	h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.perWindow))
	if s.dailyLimit > 0 {
		h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(s.dailyLimit))
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(s.dailyLimit-s.dailyCount))
	}
	if len(s.generalLog) >= s.perWindow {
		s.rateLimited.Add(1)
		h.Set("X-HubSpot-RateLimit-Remaining", "0")
		s.write429(w, "You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING")
		return false
	}
	s.generalLog = append(s.generalLog, now)
	h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(s.perWindow-len(s.generalLog)))
	return true
}

// trimLog drops the times at or before cutoff (a window is (now-len, now]).
func trimLog(log []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(log) && !log[i].After(cutoff) {
		i++
	}
	if i == 0 {
		return log
	}
	return append(log[:0], log[i:]...)
}

// write429 writes a rate-limit body; policy "" leaves policyName out (search's shape).
func (s *Server) write429(w http.ResponseWriter, message, policy string) {
	b := map[string]string{
		"status": "error", "message": message, "errorType": "RATE_LIMIT",
		"correlationId": s.correlationID(), "requestId": s.correlationID(),
	}
	if policy != "" {
		b["policyName"] = policy
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	json.NewEncoder(w).Encode(b)
}
