// Package livechatfake is a fake LiveChat API v3.5 server for tests and the local sandbox. It
// speaks the wire format of list_archives (page_id paging), list_agents, list_bots and
// list_groups over a deterministic generated account (Generate), checks HTTP Basic
// credentials, rate-limits like a real account, sends the Legacy header, and answers the
// faults a test injects (fakeapi.Fault: 429, 502 with an HTML body, truncated JSON, delays…).
package livechatfake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"supportsync.dev/shared/fakeapi"
	"supportsync.dev/shared/livechat"
)

// DefaultLegacy is the Legacy header value the fake sends by default (API v3.5 is legacy).
const DefaultLegacy = "2027-02-15"

// Server is the fake API, an http.Handler. Mount it at the root of a server, or under a
// prefix with http.StripPrefix. Its fakeapi.Control takes injected faults (a Status fault
// is answered with LiveChat's error envelope, a 502 with a load balancer's HTML page) and
// counts requests by action: a request is named by the last element of its path
// ("list_archives", "list_agents", …).
type Server struct {
	fakeapi.Control

	ds          *Dataset
	account     string
	pat         string
	legacy      string
	deprecation string
	now         func() time.Time

	mu      sync.Mutex
	perMin  int
	window  []time.Time // accepted requests in the last minute
	limited atomic.Int64
}

// Option configures a Server.
type Option func(*Server)

// WithCredentials requires HTTP Basic with this account id and PAT (default: any
// credentials are accepted, but some must be sent).
func WithCredentials(accountID, pat string) Option {
	return func(s *Server) { s.account, s.pat = accountID, pat }
}

// WithRatePerMinute rejects requests beyond n in any minute with 429 too_many_requests
// (default 180; 0 turns the limit off).
func WithRatePerMinute(n int) Option { return func(s *Server) { s.perMin = n } }

// WithLegacyHeader sets the Legacy header value ("" sends none).
func WithLegacyHeader(v string) Option { return func(s *Server) { s.legacy = v } }

// WithDeprecationHeader sets a Deprecation header value (default none).
func WithDeprecationHeader(v string) Option { return func(s *Server) { s.deprecation = v } }

// WithClock sets the clock the rate limiter uses (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New returns a server over ds.
func New(ds *Dataset, opts ...Option) *Server {
	s := &Server{ds: ds, perMin: 180, legacy: DefaultLegacy, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Dataset returns the server's dataset (for mutations).
func (s *Server) Dataset() *Dataset { return s.ds }

// SetRatePerMinute changes the rate limit (0 = off).
func (s *Server) SetRatePerMinute(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perMin = n
	s.window = nil
}

// RateLimited returns how many requests the rate limit rejected.
func (s *Server) RateLimited() int64 { return s.limited.Load() }

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": typ, "message": msg}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	s.Serve(w, r, []string{action}, s.writeFault, s.serve)
}

// setHeaders sets the headers of every answer.
func (s *Server) setHeaders(w http.ResponseWriter) {
	if s.legacy != "" {
		w.Header().Set("Legacy", s.legacy)
	}
	if s.deprecation != "" {
		w.Header().Set("Deprecation", s.deprecation)
	}
}

// writeFault answers an injected fault's status as LiveChat does: a 502 with a load
// balancer's HTML page, every other code with the error envelope of its type.
func (s *Server) writeFault(w http.ResponseWriter, f fakeapi.Fault) {
	s.setHeaders(w)
	switch f.Code {
	case http.StatusBadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n"))
	case http.StatusTooManyRequests:
		writeError(w, f.Code, "too_many_requests", "Too many requests")
	case http.StatusBadRequest:
		writeError(w, f.Code, "validation", "Wrong format of request")
	case http.StatusUnauthorized:
		writeError(w, f.Code, "authentication", "Invalid access token")
	case http.StatusForbidden:
		writeError(w, f.Code, "authorization", "Missing access")
	case http.StatusServiceUnavailable:
		writeError(w, f.Code, "service_unavailable", "Service unavailable")
	default:
		writeError(w, f.Code, "internal", "Internal server error")
	}
}

// serve answers a request as LiveChat does.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.setHeaders(w)
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "validation", "Method not allowed")
		return
	}
	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, "authentication", "Invalid access token")
		return
	}
	if !s.allow() {
		s.limited.Add(1)
		writeError(w, http.StatusTooManyRequests, "too_many_requests", "Too many requests")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusBadRequest, "validation", "Wrong format of request: Content-Type must be application/json")
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "validation", "Wrong format of request")
		return
	}
	switch r.URL.Path {
	case "/v3.5/agent/action/list_archives":
		s.listArchives(w, body)
	case "/v3.5/configuration/action/list_agents":
		writeJSON(w, s.ds.Agents)
	case "/v3.5/configuration/action/list_bots":
		var all bool
		if raw, ok := body["all"]; ok && json.Unmarshal(raw, &all) != nil {
			writeError(w, http.StatusBadRequest, "validation", "Wrong format of request: all must be a boolean")
			return
		}
		bots := make([]livechat.Bot, 0, len(s.ds.Bots))
		for _, b := range s.ds.Bots {
			if all || !s.ds.HiddenBots[b.ID] {
				bots = append(bots, b)
			}
		}
		writeJSON(w, bots)
	case "/v3.5/configuration/action/list_groups":
		writeJSON(w, s.ds.Groups)
	default:
		writeError(w, http.StatusNotFound, "not_found", "Unknown action")
	}
}

func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	if s.account == "" && s.pat == "" {
		return true
	}
	return user == s.account && pass == s.pat
}

// allow applies the sliding one-minute window.
func (s *Server) allow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perMin <= 0 {
		return true
	}
	now := s.now()
	cut := 0
	for cut < len(s.window) && now.Sub(s.window[cut]) >= time.Minute {
		cut++
	}
	s.window = s.window[cut:]
	if len(s.window) >= s.perMin {
		return false
	}
	s.window = append(s.window, now)
	return true
}

// pageToken is the server-side state behind a page_id: the frozen query and the position
// after the last thread returned (keyset paging, stable under inserts).
type pageToken struct {
	From    time.Time `json:"f,omitzero"`
	To      time.Time `json:"t,omitzero"`
	Desc    bool      `json:"d,omitempty"`
	Limit   int       `json:"l"`
	Created time.Time `json:"c"`
	Thread  string    `json:"i"`
}

func (s *Server) listArchives(w http.ResponseWriter, body map[string]json.RawMessage) {
	var q pageToken
	var err error
	if raw, ok := body["page_id"]; ok {
		for _, k := range []string{"filters", "limit", "sort_order"} {
			if _, bad := body[k]; bad {
				writeError(w, http.StatusBadRequest, "validation", "Wrong format of request: "+k+" cannot be used with page_id")
				return
			}
		}
		var id string
		if err = json.Unmarshal(raw, &id); err == nil {
			q, err = decodePageID(id)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "validation", "Wrong format of request: invalid page_id")
			return
		}
	} else {
		q, err = firstPage(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "validation", "Wrong format of request: "+err.Error())
			return
		}
	}

	s.ds.mu.RLock()
	hs := s.ds.headers
	lo, hi := 0, len(hs)
	if !q.From.IsZero() {
		lo, _ = slices.BinarySearchFunc(hs, q.From, func(h header, t time.Time) int { return h.created.Compare(t) })
	}
	if !q.To.IsZero() {
		hi, _ = slices.BinarySearchFunc(hs, q.To, func(h header, t time.Time) int {
			if !h.created.After(t) {
				return -1
			}
			return 1
		})
	}
	found := max(hi-lo, 0)
	start, end := lo, hi
	if q.Thread != "" {
		pos, _ := slices.BinarySearchFunc(hs, header{created: q.Created, threadID: q.Thread}, cmpHeader)
		if !q.Desc {
			if pos < len(hs) && hs[pos].threadID == q.Thread {
				pos++
			}
			start = max(start, pos)
		} else {
			end = min(end, pos)
		}
	}
	var idx []int
	if !q.Desc {
		for i := start; i < end && len(idx) < q.Limit; i++ {
			idx = append(idx, i)
		}
	} else {
		for i := end - 1; i >= start && len(idx) < q.Limit; i-- {
			idx = append(idx, i)
		}
	}
	resp := struct {
		Chats      []livechat.Chat `json:"chats"`
		FoundChats int             `json:"found_chats"`
		NextPageID string          `json:"next_page_id,omitempty"`
	}{Chats: make([]livechat.Chat, 0, len(idx)), FoundChats: found}
	for _, i := range idx {
		resp.Chats = append(resp.Chats, s.ds.chatLocked(i))
	}
	if n := len(idx); n > 0 {
		last := hs[idx[n-1]]
		more := (!q.Desc && idx[n-1]+1 < end) || (q.Desc && idx[n-1] > start)
		if more {
			nq := q
			nq.Created, nq.Thread = last.created, last.threadID
			resp.NextPageID = encodePageID(nq)
		}
	}
	s.ds.mu.RUnlock()
	writeJSON(w, resp)
}

func firstPage(body map[string]json.RawMessage) (pageToken, error) {
	q := pageToken{Limit: 10}
	if raw, ok := body["limit"]; ok {
		if err := json.Unmarshal(raw, &q.Limit); err != nil || q.Limit < 1 {
			return q, errString("limit must be a positive integer")
		}
		q.Limit = min(q.Limit, livechat.MaxLimit)
	}
	if raw, ok := body["sort_order"]; ok {
		var so string
		_ = json.Unmarshal(raw, &so)
		switch so {
		case "asc":
		case "desc":
			q.Desc = true
		default:
			return q, errString("sort_order must be asc or desc")
		}
	} else {
		q.Desc = true
	}
	if raw, ok := body["filters"]; ok {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(raw, &f); err != nil {
			return q, errString("filters must be an object")
		}
		if _, ok := f["date_from"]; ok {
			return q, errString("filters.date_from is not supported, use filters.from")
		}
		for name, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
			raw, ok := f[name]
			if !ok {
				continue
			}
			var v string
			if json.Unmarshal(raw, &v) != nil {
				return q, errString("filters." + name + " must be a string")
			}
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return q, errString("RFC3339 date format required for filters." + name)
			}
			*dst = t.UTC()
		}
	}
	return q, nil
}

type errString string

// Error implements error.
func (e errString) Error() string { return string(e) }

func encodePageID(q pageToken) string {
	data, _ := json.Marshal(q)
	return base64.StdEncoding.EncodeToString(data)
}

func decodePageID(id string) (pageToken, error) {
	var q pageToken
	data, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return q, err
	}
	if err := json.Unmarshal(data, &q); err != nil {
		return q, err
	}
	if q.Limit < 1 || q.Limit > livechat.MaxLimit || q.Thread == "" {
		return q, errString("bad page id")
	}
	return q, nil
}
