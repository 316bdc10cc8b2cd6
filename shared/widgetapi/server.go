// Package widgetapi is the widget HTTP API: GET /api/v1/widgets/{id} (the numbers of one
// widget of the contract), GET /api/v1/widgets (the list), GET /api/v1/status (every source's
// sync state, admin only), POST /api/v1/tokens (mint an embed token, admin only) and POST
// /api/v1/ask (a question answered from the widgets by a model; see ask.go).
//
// The dataset is loaded from Firestore once per instance and reloaded when its version
// changes (one cheap pointer read at most every Options.Refresh); if Firestore cannot be
// reached the loaded dataset keeps serving. Responses carry an ETag (a hash of the body) and
// Cache-Control; If-None-Match gets 304. Access needs a signed, expiring embed token scoped to
// one widget and its locked filters (?token= or Authorization: Bearer), or the admin key.
// Errors are JSON {"error": reason} with no internals; no response holds ticket subjects,
// rating comments or any customer text (the dataset does not contain them).
package widgetapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/widgetpage"
	"supportsync.dev/shared/widgets"
	"supportsync.dev/shared/widgetstore"
)

// DatasetSource is where the published dataset is read (widgetstore.Store in production).
type DatasetSource interface {
	Current(ctx context.Context) (widgetstore.Pointer, error)
	Load(ctx context.Context) (*widgets.Dataset, widgetstore.Pointer, error)
}

// Options configure a Server.
type Options struct {
	Datasets DatasetSource
	// Runs gives the status; nil answers /api/v1/status with 503.
	Runs     RunReader
	Signer   *Signer
	AdminKey secrets.Secret
	// Origins are the browser origins CORS allows.
	Origins []string
	// Refresh is the most time between two dataset version checks (5 s when 0).
	Refresh time.Duration
	// Stale is the cursor age past which a source is stale (3 h when 0).
	Stale time.Duration
	// FrameAncestors are the origins allowed to frame the widget pages (CSP frame-ancestors,
	// with 'self'); DefaultFrameAncestors when nil.
	FrameAncestors []string
	Now            func() time.Time
	Log            *slog.Logger
	// Ask configures POST /api/v1/ask (see ask.go).
	Ask AskOptions
}

// Limits of a request.
const (
	maxQueryBytes = 2048
	maxBodyBytes  = 8 << 10
	maxCached     = 4096
	cacheControl  = "private, max-age=30"
)

// loaded is the dataset an instance serves.
type loaded struct {
	ds  *widgets.Dataset
	ptr widgetstore.Pointer
}

// Server serves the API. It is safe for concurrent use.
type Server struct {
	o       Options
	mux     *http.ServeMux
	cur     atomic.Pointer[loaded]
	checked atomic.Int64 // UnixNano of the last version check
	loadMu  sync.Mutex
	lastErr error // why the last check found nothing to serve (guarded by loadMu)

	statusMu sync.Mutex
	statusAt time.Time
	statusV  *Status
	statusE  error

	cacheMu sync.Mutex
	cacheOf string // the dataset version + as_of the cache holds answers for
	cache   map[string]cached
}

type cached struct {
	body []byte
	etag string
}

// New returns a Server.
func New(o Options) *Server {
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Second
	}
	if o.Stale <= 0 {
		o.Stale = 3 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.FrameAncestors == nil {
		o.FrameAncestors = DefaultFrameAncestors
	}
	s := &Server{o: o, mux: http.NewServeMux(), cache: map[string]cached{}}
	s.mux.HandleFunc("GET /api/v1/widgets/{id}", s.widget)
	s.mux.HandleFunc("GET /api/v1/widgets", s.list)
	s.mux.HandleFunc("GET /api/v1/status", s.status)
	s.mux.HandleFunc("POST /api/v1/tokens", s.mint)
	s.mux.HandleFunc("POST /api/v1/ask", s.ask)
	s.mux.HandleFunc("GET /api/v1/ask", s.askStatus)
	s.mux.HandleFunc("GET /widgets", s.gallery)
	s.mux.HandleFunc("POST /widgets/ask", s.askForm)
	s.mux.HandleFunc("GET /widgets/{id}", s.page)
	s.mux.HandleFunc("GET "+widgetpage.AssetPrefix+"{name}", s.asset)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "not found")
	})
	return s
}

func (s *Server) now() time.Time {
	if s.o.Now != nil {
		return s.o.Now()
	}
	return time.Now()
}

// ServeHTTP applies the common headers, CORS and panic recovery, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.o.Log.Error("widgetapi panic", "event", "widgetapi_panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
			fail(w, http.StatusInternalServerError, "internal error")
		}
	}()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex")
	if origin := r.Header.Get("Origin"); origin != "" {
		h.Add("Vary", "Origin")
		if slices.Contains(s.o.Origins, strings.ToLower(origin)) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Headers", "Authorization, If-None-Match, Content-Type")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Expose-Headers", "ETag")
			h.Set("Access-Control-Max-Age", "600")
		} else if r.Method == http.MethodOptions {
			fail(w, http.StatusForbidden, "origin not allowed")
			return
		}
	}
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if len(r.URL.RawQuery) > maxQueryBytes {
		fail(w, http.StatusBadRequest, fmt.Sprintf("query longer than %d bytes", maxQueryBytes))
		return
	}
	s.mux.ServeHTTP(w, r)
}

func fail(w http.ResponseWriter, code int, reason string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Del("ETag")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]string{"error": reason})
	w.Write(append(b, '\n'))
}

// access is who is asking.
type access struct {
	admin  bool
	claims Claims
}

// authorize finds the admin key or a valid embed token in the request.
func (s *Server) authorize(r *http.Request) (access, int, string) {
	tok := ""
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, v, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Basic") {
			// A browser's login prompt (the dashboard): any user name, the admin key as password.
			if _, pw, ok := r.BasicAuth(); ok && s.o.AdminKey != "" && hmac.Equal([]byte(pw), []byte(s.o.AdminKey)) {
				return access{admin: true}, 0, ""
			}
			return access{}, http.StatusUnauthorized, "Basic credentials need the admin key as password (or use Authorization: Bearer <token or admin key>)"
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") || v == "" {
			return access{}, http.StatusUnauthorized, "Authorization must be Bearer <token or admin key>"
		}
		if s.o.AdminKey != "" && hmac.Equal([]byte(v), []byte(s.o.AdminKey)) {
			return access{admin: true}, 0, ""
		}
		tok = v
	}
	if qt := r.URL.Query()["token"]; len(qt) > 0 {
		if tok != "" || len(qt) > 1 {
			return access{}, http.StatusBadRequest, "give one token, in ?token= or in Authorization"
		}
		tok = qt[0]
	}
	if tok == "" {
		return access{}, http.StatusUnauthorized, "an embed token (?token=) or the admin key (Authorization: Bearer) is required"
	}
	if s.o.Signer == nil {
		return access{}, http.StatusUnauthorized, "embed tokens are not configured"
	}
	c, err := s.o.Signer.Verify(tok, s.now())
	if err != nil {
		return access{}, http.StatusUnauthorized, err.Error()
	}
	return access{claims: c}, 0, ""
}

// dataset returns the dataset to serve, checking the published version at most every
// Refresh; one request checks while the others keep serving the loaded one.
func (s *Server) dataset(ctx context.Context) (*loaded, error) {
	l := s.cur.Load()
	if l != nil && time.Duration(s.now().UnixNano()-s.checked.Load()) < s.o.Refresh {
		return l, nil
	}
	if l != nil {
		if !s.loadMu.TryLock() {
			return l, nil
		}
	} else {
		s.loadMu.Lock()
	}
	defer s.loadMu.Unlock()
	if l2 := s.cur.Load(); l2 != l && l2 != nil {
		return l2, nil // another request loaded it while this one waited
	}
	if l == nil && s.lastErr != nil && time.Duration(s.now().UnixNano()-s.checked.Load()) < s.o.Refresh {
		return nil, s.lastErr // nothing loaded yet: ask the store again only every Refresh
	}
	nl, err := s.refresh(ctx, l)
	if err != nil {
		s.checked.Store(s.now().UnixNano())
		if l != nil {
			s.o.Log.Warn("widget dataset check failed; serving the loaded one", "event", "widgetapi_refresh_failed",
				"dataset", l.ptr.Version, "error", err.Error())
			return l, nil
		}
		s.lastErr = err
		return nil, err
	}
	s.lastErr = nil
	s.checked.Store(s.now().UnixNano())
	s.cur.Store(nl)
	return nl, nil
}

func (s *Server) refresh(ctx context.Context, l *loaded) (*loaded, error) {
	p, err := s.o.Datasets.Current(ctx)
	if err != nil {
		return nil, err
	}
	if l != nil && p.Version == l.ptr.Version {
		if p.AsOf.Equal(l.ptr.AsOf) {
			return l, nil
		}
		ds := *l.ds // same rows, a newer as_of
		ds.AsOf = p.AsOf
		return &loaded{ds: &ds, ptr: p}, nil
	}
	ds, p, err := s.o.Datasets.Load(ctx)
	if err != nil {
		return nil, err
	}
	tk, ch := ds.Rows()
	s.o.Log.Info("widget dataset loaded", "event", "widgetapi_loaded", "dataset", p.Version, "as_of", p.AsOf, "tickets", tk, "chats", ch)
	return &loaded{ds: ds, ptr: p}, nil
}

// Refresh checks the published version now (devstack calls it after a publish).
func (s *Server) Refresh(ctx context.Context) error {
	s.loadMu.Lock()
	s.lastErr = nil
	s.loadMu.Unlock()
	s.checked.Store(0)
	_, err := s.dataset(ctx)
	return err
}

// write sends a JSON body with its ETag, answering 304 when the client has it.
func write(w http.ResponseWriter, r *http.Request, body []byte, etag string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", cacheControl)
	h.Add("Vary", "Authorization")
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			if t = strings.TrimSpace(t); t == etag || t == "W/"+etag || t == "*" {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	w.Write(body)
}

func etagOf(body []byte) string {
	h := sha256.Sum256(body)
	return `"` + hex.EncodeToString(h[:12]) + `"`
}

func (s *Server) widget(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	wd, ok := widgets.ByID(id)
	if !ok {
		fail(w, http.StatusNotFound, fmt.Sprintf("unknown widget %q", clip(id)))
		return
	}
	a, code, reason := s.authorize(r)
	if code != 0 {
		fail(w, code, reason)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		fail(w, http.StatusBadRequest, "the query string is not valid URL encoding")
		return
	}
	ans, code, reason := s.answer(r.Context(), wd, a, q)
	if code != 0 {
		fail(w, code, reason)
		return
	}
	write(w, r, ans.c.body, ans.c.etag)
}

// answered is a widget's JSON answer and what it was computed from.
type answered struct {
	l *loaded
	f widgets.Filters
	c cached
}

// answer computes (or finds in the cache) widget wd's JSON body for query q as a asks it:
// a token's locked filters are applied and may not be changed. A failure is a status code

// unavailableReason says why the dataset cannot be read (the reason of a 503), logging the
// cause when it is not simply that nothing has been published yet.
func (s *Server) unavailableReason(err error) string {
	if errors.Is(err, widgetstore.ErrNoDataset) {
		return "no widget data has been published yet"
	}
	s.o.Log.Error("load widget dataset", "event", "widgetapi_unavailable", "error", err.Error())
	return "widget data is unavailable; try again shortly"
}

// unavailable answers 503 with unavailableReason.
func (s *Server) unavailable(w http.ResponseWriter, err error) {
	fail(w, http.StatusServiceUnavailable, s.unavailableReason(err))
}

// and a reason safe to show.
func (s *Server) answer(ctx context.Context, wd widgets.Widget, a access, q url.Values) (answered, int, string) {
	if !a.admin {
		if a.claims.Widget != wd.ID {
			return answered{}, http.StatusForbidden, fmt.Sprintf("the token is for widget %s", a.claims.Widget)
		}
		for _, k := range a.claims.lockedKeys() {
			v := a.claims.Filters[k]
			if got, given := q[k]; given && (len(got) != 1 || (got[0] != v && got[0] != "")) {
				return answered{}, http.StatusForbidden, fmt.Sprintf("the token locks %s", k)
			}
			q[k] = []string{v}
		}
	}
	l, err := s.dataset(ctx)
	if err != nil {
		return answered{}, http.StatusServiceUnavailable, s.unavailableReason(err)
	}
	today := s.now().In(l.ds.Location()).Format(time.DateOnly)
	f, err := widgets.ParseFilters(wd, q, today, "token")
	if err != nil {
		return answered{}, http.StatusBadRequest, err.Error()
	}
	key := wd.ID + "?" + f.Values(wd).Encode()
	if c, ok := s.cached(l, key); ok {
		return answered{l, f, c}, 0, ""
	}
	body, err := json.Marshal(l.ds.Compute(wd, f))
	if err != nil {
		s.o.Log.Error("encode widget", "event", "widgetapi_error", "widget", wd.ID, "error", err.Error())
		return answered{}, http.StatusInternalServerError, "internal error"
	}
	body = append(body, '\n')
	c := cached{body: body, etag: etagOf(body)}
	s.store(l, key, c)
	return answered{l, f, c}, 0, ""
}

func (s *Server) cached(l *loaded, key string) (cached, bool) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.cacheOf != l.ptr.Version+l.ptr.AsOf.String() {
		return cached{}, false
	}
	c, ok := s.cache[key]
	return c, ok
}

func (s *Server) store(l *loaded, key string, c cached) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if of := l.ptr.Version + l.ptr.AsOf.String(); s.cacheOf != of || len(s.cache) >= maxCached {
		s.cache, s.cacheOf = map[string]cached{}, of
	}
	s.cache[key] = c
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if _, code, reason := s.authorize(r); code != 0 {
		fail(w, code, reason)
		return
	}
	body, _ := json.Marshal(map[string]any{"widgets": widgets.All})
	body = append(body, '\n')
	write(w, r, body, etagOf(body))
}

// admin reports whether r carries the admin key, answering the JSON error itself when not:
// what names the action in the 403 ("the status", "minting tokens").
func (s *Server) admin(w http.ResponseWriter, r *http.Request, what string) bool {
	a, code, reason := s.authorize(r)
	switch {
	case code != 0:
		fail(w, code, reason)
	case !a.admin:
		fail(w, http.StatusForbidden, what+" needs the admin key")
	}
	return code == 0 && a.admin
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	if !s.admin(w, r, "the status") {
		return
	}
	if s.o.Runs == nil {
		fail(w, http.StatusServiceUnavailable, "the run ledger is not configured")
		return
	}
	var ptr *widgetstore.Pointer
	if l, err := s.dataset(r.Context()); err == nil {
		ptr = &l.ptr
	}
	st, err := BuildStatus(r.Context(), s.o.Runs, ptr, s.o.Stale, s.now())
	if err != nil {
		s.o.Log.Error("status", "event", "widgetapi_error", "error", err.Error())
		fail(w, http.StatusServiceUnavailable, "the run ledger is unavailable; try again shortly")
		return
	}
	body, _ := json.Marshal(st)
	body = append(body, '\n')
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(body)
}

// MintRequest is the body of POST /api/v1/tokens.
type MintRequest struct {
	Widget  string            `json:"widget"`
	Filters map[string]string `json:"filters"`
	// TTL is a Go duration ("24h", "720h"); DefaultTTL when empty.
	TTL string `json:"ttl"`
}

// MintResponse is the answer: the token, the JSON path that uses it and the widget page to
// embed (an iframe's src).
type MintResponse struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
	Path    string    `json:"path"`
	Page    string    `json:"page"`
}

func (s *Server) mint(w http.ResponseWriter, r *http.Request) {
	if !s.admin(w, r, "minting tokens") {
		return
	}
	if s.o.Signer == nil {
		fail(w, http.StatusServiceUnavailable, "embed tokens are not configured")
		return
	}
	var req MintRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "the body must be JSON {\"widget\", \"filters\", \"ttl\"} under 8 KiB")
		return
	}
	var ttl time.Duration
	if req.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(req.TTL); err != nil || ttl <= 0 {
			fail(w, http.StatusBadRequest, fmt.Sprintf("ttl %q is not a positive duration such as 24h", clip(req.TTL)))
			return
		}
	}
	c, err := NewClaims(req.Widget, req.Filters, ttl, s.now())
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	tok, err := s.o.Signer.Mint(c)
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	q := url.Values{"token": {tok}}
	for k, v := range c.Filters {
		q.Set(k, v)
	}
	resp := MintResponse{Token: tok, Expires: time.Unix(c.Expires, 0).UTC(), Path: "/api/v1/widgets/" + c.Widget + "?" + q.Encode(),
		Page: "/widgets/" + c.Widget + "?" + url.Values{"token": {tok}}.Encode()}
	if c.Widget == AskScope {
		resp.Path = "/api/v1/ask" // POST, with the token in Authorization: Bearer
		resp.Page = ""
	}
	body, _ := json.Marshal(resp)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(append(body, '\n'))
}
