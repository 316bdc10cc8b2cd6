package widgetapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/config"
	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/state"
	"supportsync.dev/shared/widgetapi"
	"supportsync.dev/shared/widgets"
	"supportsync.dev/shared/widgets/widgetstest"
	"supportsync.dev/shared/widgetstore"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

var (
	halifax, _ = time.LoadLocation("America/Halifax")
	quiet      = slog.New(slog.NewTextHandler(io.Discard, nil))
	adminKey   = secrets.Secret(strings.Repeat("A", 40))
	keyNew     = config.SigningKey{ID: "k2", Key: secrets.Secret(strings.Repeat("n", 32))}
	keyOld     = config.SigningKey{ID: "k1", Key: secrets.Secret(strings.Repeat("o", 32))}
)

type env struct {
	fs     *firestore.Client
	store  *widgetstore.Store
	srv    *httptest.Server
	api    *widgetapi.Server
	signer *widgetapi.Signer
}

// publishRows stores a dataset of n tickets and m chats (with customer text in the rows the
// dataset must leave out) and returns its pointer.
func publishRows(t *testing.T, store *widgetstore.Store, n, m int, seed uint64, readAt time.Time) widgetstore.Pointer {
	t.Helper()
	blob, err := widgets.Encode(widgetstest.Data(n, m, time.Now(), halifax, seed, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := store.Publish(context.Background(), blob, widgetstore.Meta{AsOf: readAt.Add(-time.Minute), ReadAt: readAt, Tickets: n, Chats: m})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newServerFor is a server over ds with the test keys and no run ledger.
func newServerFor(tb testing.TB, ds widgetapi.DatasetSource) *widgetapi.Server {
	signer, err := widgetapi.NewSigner([]config.SigningKey{keyNew, keyOld})
	if err != nil {
		tb.Fatal(err)
	}
	return widgetapi.New(widgetapi.Options{Datasets: ds, Signer: signer, AdminKey: adminKey, Log: quiet})
}

func setup(t *testing.T, ds widgetapi.DatasetSource) *env {
	t.Helper()
	fs := emulatortest.FirestoreClient(t)
	store := widgetstore.New(fs)
	if ds == nil {
		ds = store
	}
	signer, err := widgetapi.NewSigner([]config.SigningKey{keyNew, keyOld})
	if err != nil {
		t.Fatal(err)
	}
	api := widgetapi.New(widgetapi.Options{Datasets: ds, Runs: state.New(fs), Signer: signer, AdminKey: adminKey,
		Origins: []string{"https://app.hubspot.com"}, Refresh: 20 * time.Millisecond, Log: quiet})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &env{fs: fs, store: store, srv: srv, api: api, signer: signer}
}

func (e *env) token(t *testing.T, c widgetapi.Claims) string {
	t.Helper()
	tok, err := e.signer.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type reply struct {
	code int
	hdr  http.Header
	body string
}

func (e *env) do(t *testing.T, method, path string, hdr map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func bearer(s string) map[string]string { return map[string]string{"Authorization": "Bearer " + s} }

// TestSecurity is the access table: every way in that must fail fails with a clear reason, the
// ways that must work work, and no response carries customer text or internals.
func TestSecurity(t *testing.T) {
	e := setup(t, nil)
	publishRows(t, e.store, 300, 300, 3, time.Now().UTC())
	now := time.Now()
	valid := widgetapi.Claims{Widget: "chat-csat", Issued: now.Unix(), Expires: now.Add(time.Hour).Unix()}
	locked := widgetapi.Claims{Widget: "agent-leaderboard", Filters: map[string]string{"agent": "Alice"}, Issued: now.Unix(), Expires: now.Add(time.Hour).Unix()}
	tok := e.token(t, valid)
	lockedTok := e.token(t, locked)
	expired := e.token(t, widgetapi.Claims{Widget: "chat-csat", Issued: now.Add(-2 * time.Hour).Unix(), Expires: now.Add(-time.Hour).Unix()})
	parts := strings.Split(tok, ".")
	otherWidget := strings.Split(e.token(t, widgetapi.Claims{Widget: "chat-volume", Issued: now.Unix(), Expires: now.Add(time.Hour).Unix()}), ".")
	tamperedClaims := parts[0] + "." + otherWidget[1] + "." + parts[2]
	tamperedSig := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	unknownKid := "k9." + parts[1] + "." + parts[2]
	foreign, _ := widgetapi.NewSigner([]config.SigningKey{{ID: "k2", Key: secrets.Secret(strings.Repeat("x", 32))}})
	foreignTok, _ := foreign.Mint(valid)
	oldSigner, _ := widgetapi.NewSigner([]config.SigningKey{keyOld})
	oldTok, _ := oldSigner.Mint(valid)

	tests := []struct {
		name, method, path string
		hdr                map[string]string
		body               string
		code               int
		reason             string
	}{
		{"no token", "GET", "/api/v1/widgets/chat-csat", nil, "", 401, "embed token"},
		{"valid token in query", "GET", "/api/v1/widgets/chat-csat?token=" + tok, nil, "", 200, ""},
		{"valid token in header", "GET", "/api/v1/widgets/chat-csat", bearer(tok), "", 200, ""},
		{"token twice", "GET", "/api/v1/widgets/chat-csat?token=" + tok, bearer(tok), "", 400, "one token"},
		{"expired", "GET", "/api/v1/widgets/chat-csat?token=" + expired, nil, "", 401, "expired"},
		{"tampered claims", "GET", "/api/v1/widgets/chat-volume?token=" + tamperedClaims, nil, "", 401, "signature"},
		{"tampered signature", "GET", "/api/v1/widgets/chat-csat?token=" + tamperedSig, nil, "", 401, "signature"},
		{"signed with another secret", "GET", "/api/v1/widgets/chat-csat?token=" + foreignTok, nil, "", 401, "signature"},
		{"unknown key id", "GET", "/api/v1/widgets/chat-csat?token=" + unknownKid, nil, "", 401, "key is unknown"},
		{"old key still verifies", "GET", "/api/v1/widgets/chat-csat?token=" + oldTok, nil, "", 200, ""},
		{"garbage token", "GET", "/api/v1/widgets/chat-csat?token=abc", nil, "", 401, "malformed"},
		{"oversize token", "GET", "/api/v1/widgets/chat-csat", bearer(strings.Repeat("a.", 1500)), "", 401, "malformed"},
		{"wrong widget", "GET", "/api/v1/widgets/chat-volume?token=" + tok, nil, "", 403, "for widget chat-csat"},
		{"locked filter applied", "GET", "/api/v1/widgets/agent-leaderboard?token=" + lockedTok, nil, "", 200, ""},
		{"locked filter repeated", "GET", "/api/v1/widgets/agent-leaderboard?agent=Alice&token=" + lockedTok, nil, "", 200, ""},
		{"wrong filter", "GET", "/api/v1/widgets/agent-leaderboard?agent=Bob&token=" + lockedTok, nil, "", 403, "locks agent"},
		{"locked filter given twice", "GET", "/api/v1/widgets/agent-leaderboard?agent=Alice&agent=Bob&token=" + lockedTok, nil, "", 403, "locks agent"},
		{"unlocked filter chosen", "GET", "/api/v1/widgets/agent-leaderboard?source=chats&token=" + lockedTok, nil, "", 200, ""},
		{"admin", "GET", "/api/v1/widgets/load-heatmap?from=2026-01-01&to=2026-12-31", bearer(string(adminKey)), "", 200, ""},
		{"wrong admin key", "GET", "/api/v1/widgets/load-heatmap", bearer(string(adminKey) + "x"), "", 401, "malformed"},
		{"basic auth", "GET", "/api/v1/widgets/chat-csat", map[string]string{"Authorization": "Basic YTpi"}, "", 401, "Bearer"},
		{"unknown widget", "GET", "/api/v1/widgets/revenue", bearer(string(adminKey)), "", 404, "unknown widget"},
		{"unknown widget no auth", "GET", "/api/v1/widgets/revenue", nil, "", 404, "unknown widget"},
		{"oversize query", "GET", "/api/v1/widgets/chat-csat?agent=" + strings.Repeat("x", 3000), bearer(string(adminKey)), "", 400, "query longer than"},
		{"oversize value", "GET", "/api/v1/widgets/chat-csat?agent=" + strings.Repeat("x", 300), bearer(string(adminKey)), "", 400, "longer than 200"},
		{"malformed date", "GET", "/api/v1/widgets/chat-csat?from=2026-13-01", bearer(string(adminKey)), "", 400, "not a valid date"},
		{"from after to", "GET", "/api/v1/widgets/chat-csat?from=2026-02-01&to=2026-01-01", bearer(string(adminKey)), "", 400, "is after to"},
		{"range too long", "GET", "/api/v1/widgets/chat-csat?from=2024-01-01&to=2026-01-01", bearer(string(adminKey)), "", 400, "longer than 400"},
		{"filter not of widget", "GET", "/api/v1/widgets/chat-csat?pipeline=Support", bearer(string(adminKey)), "", 400, "does not apply"},
		{"unknown parameter", "GET", "/api/v1/widgets/chat-csat?debug=1", bearer(string(adminKey)), "", 400, "unknown parameter"},
		{"bad escape", "GET", "/api/v1/widgets/chat-csat?agent=%zz", bearer(string(adminKey)), "", 400, "URL encoding"},
		{"path traversal encoded", "GET", "/api/v1/widgets/..%2fstatus", bearer(tok), "", 404, "unknown widget"},
		{"path extra segment", "GET", "/api/v1/widgets/chat-csat/../../status", bearer(tok), "", 307, ""}, // to /api/v1/status, which needs the admin key
		{"path extra suffix", "GET", "/api/v1/widgets/chat-csat/raw", bearer(string(adminKey)), "", 404, "not found"},
		{"status with token", "GET", "/api/v1/status", bearer(tok), "", 403, "admin key"},
		{"status without auth", "GET", "/api/v1/status", nil, "", 401, "required"},
		{"status admin", "GET", "/api/v1/status", bearer(string(adminKey)), "", 200, ""},
		{"list with token", "GET", "/api/v1/widgets?token=" + tok, nil, "", 200, ""},
		{"list without auth", "GET", "/api/v1/widgets", nil, "", 401, "required"},
		{"mint with token", "POST", "/api/v1/tokens", bearer(tok), `{"widget":"chat-csat"}`, 403, "admin key"},
		{"mint unknown widget", "POST", "/api/v1/tokens", bearer(string(adminKey)), `{"widget":"x"}`, 400, "unknown widget"},
		{"mint bad filter", "POST", "/api/v1/tokens", bearer(string(adminKey)), `{"widget":"chat-csat","filters":{"pipeline":"x"}}`, 400, "does not apply"},
		{"mint ttl too long", "POST", "/api/v1/tokens", bearer(string(adminKey)), `{"widget":"chat-csat","ttl":"10000h"}`, 400, "ttl"},
		{"mint bad body", "POST", "/api/v1/tokens", bearer(string(adminKey)), `{"widget":1}`, 400, "JSON"},
		{"mint oversize body", "POST", "/api/v1/tokens", bearer(string(adminKey)), `{"widget":"` + strings.Repeat("x", 9000) + `"}`, 400, "JSON"},
		{"other method", "DELETE", "/api/v1/widgets/chat-csat", bearer(string(adminKey)), "", 404, "not found"},
		{"unknown path", "GET", "/api/v2/widgets", nil, "", 404, "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, tc.path, tc.hdr, tc.body)
			if r.code != tc.code {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path[:min(len(tc.path), 80)], r.code, r.body, tc.code)
			}
			if tc.reason != "" && !strings.Contains(r.body, tc.reason) {
				t.Errorf("body %s does not say %q", r.body, tc.reason)
			}
			if r.code >= 400 && r.code != 405 {
				var v map[string]string
				if err := json.Unmarshal([]byte(r.body), &v); err != nil || v["error"] == "" {
					t.Errorf("error body %q is not {\"error\": reason}", r.body)
				}
			}
			for _, leak := range []string{"Customer problem", "customer text", "Thanks", "goroutine", ".go:", "panic", string(adminKey), string(keyNew.Key)} {
				if strings.Contains(r.body, leak) {
					t.Errorf("response holds %q", leak)
				}
			}
			if r.hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff header")
			}
		})
	}
}

// TestEveryWidgetHasNoCustomerText asks every widget with the admin key over a whole year.
func TestEveryWidgetHasNoCustomerText(t *testing.T) {
	e := setup(t, nil)
	publishRows(t, e.store, 500, 500, 5, time.Now().UTC())
	for _, w := range widgets.All {
		r := e.do(t, "GET", "/api/v1/widgets/"+w.ID+"?from="+time.Now().AddDate(-1, 0, 1).Format(time.DateOnly), bearer(string(adminKey)), "")
		if r.code != 200 {
			t.Fatalf("%s: %d %s", w.ID, r.code, r.body)
		}
		for _, leak := range []string{"Customer problem", "customer text", "Thanks"} {
			if strings.Contains(r.body, leak) {
				t.Errorf("%s holds %q", w.ID, leak)
			}
		}
		var resp struct {
			Widget string `json:"widget"`
		}
		_ = json.Unmarshal([]byte(r.body), &resp)
		if resp.Widget != w.ID {
			t.Errorf("%s: widget %q", w.ID, resp.Widget)
		}
	}
}

// TestMintedTokenWorks mints through the API and uses the returned path.
func TestMintedTokenWorks(t *testing.T) {
	e := setup(t, nil)
	publishRows(t, e.store, 50, 50, 1, time.Now().UTC())
	r := e.do(t, "POST", "/api/v1/tokens", bearer(string(adminKey)), `{"widget":"tickets-created","filters":{"pipeline":"Support","from":"2026-01-01"},"ttl":"2h"}`)
	if r.code != 200 {
		t.Fatalf("mint: %d %s", r.code, r.body)
	}
	var m widgetapi.MintResponse
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(m.Expires); d < 119*time.Minute || d > 121*time.Minute {
		t.Errorf("expires in %v, want 2h", d)
	}
	got := e.do(t, "GET", m.Path, nil, "")
	if got.code != 200 || !strings.Contains(got.body, `"pipeline":"Support"`) || !strings.Contains(got.body, `"from":"2026-01-01"`) {
		t.Fatalf("minted path: %d %s", got.code, got.body)
	}
	if r := e.do(t, "GET", strings.Replace(m.Path, "pipeline=Support", "pipeline=Billing", 1), nil, ""); r.code != 403 {
		t.Errorf("changed locked pipeline: %d", r.code)
	}
}

// TestCachingAndRefresh: ETag and 304, Cache-Control, a new version served after the refresh
// interval, and the loaded dataset kept while the store is unreachable.
func TestCachingAndRefresh(t *testing.T) {
	var down atomic.Bool
	var base *widgetstore.Store
	src := &flaky{down: &down}
	e := setup(t, src)
	base = e.store
	src.store = base
	p1 := publishRows(t, base, 100, 100, 1, time.Now().UTC())
	path := "/api/v1/widgets/chat-volume?from=" + time.Now().AddDate(0, 0, -300).Format(time.DateOnly)
	r1 := e.do(t, "GET", path, bearer(string(adminKey)), "")
	if r1.code != 200 || r1.hdr.Get("ETag") == "" || !strings.Contains(r1.hdr.Get("Cache-Control"), "max-age") {
		t.Fatalf("first: %d %v", r1.code, r1.hdr)
	}
	if !strings.Contains(r1.body, p1.Version) {
		t.Fatalf("body does not name dataset %s: %s", p1.Version, r1.body)
	}
	hdr := bearer(string(adminKey))
	hdr["If-None-Match"] = r1.hdr.Get("ETag")
	if r := e.do(t, "GET", path, hdr, ""); r.code != 304 || r.body != "" {
		t.Fatalf("conditional: %d %q", r.code, r.body)
	}
	// A new version: after the refresh interval the new numbers come, with a new ETag.
	p2 := publishRows(t, base, 100, 250, 2, time.Now().UTC())
	time.Sleep(50 * time.Millisecond)
	r2 := e.do(t, "GET", path, hdr, "")
	if r2.code != 200 || !strings.Contains(r2.body, p2.Version) || r2.hdr.Get("ETag") == r1.hdr.Get("ETag") {
		t.Fatalf("after publish: %d %s", r2.code, r2.body)
	}
	// The store goes away: the loaded dataset keeps serving.
	down.Store(true)
	time.Sleep(50 * time.Millisecond)
	r3 := e.do(t, "GET", path, bearer(string(adminKey)), "")
	if r3.code != 200 || r3.body != r2.body {
		t.Fatalf("store down: %d %s", r3.code, r3.body)
	}
	if src.calls.Load() < 3 {
		t.Errorf("version checked %d times", src.calls.Load())
	}
}

// flaky is the real store behind a switch that makes it unreachable.
type flaky struct {
	store *widgetstore.Store
	down  *atomic.Bool
	calls atomic.Int32
}

func (f *flaky) Current(ctx context.Context) (widgetstore.Pointer, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return widgetstore.Pointer{}, errors.New("firestore: connection refused")
	}
	return f.store.Current(ctx)
}

func (f *flaky) Load(ctx context.Context) (*widgets.Dataset, widgetstore.Pointer, error) {
	if f.down.Load() {
		return nil, widgetstore.Pointer{}, errors.New("firestore: connection refused")
	}
	return f.store.Load(ctx)
}

// TestNoDatasetYet answers 503 with a reason before anything is published.
func TestNoDatasetYet(t *testing.T) {
	e := setup(t, nil)
	r := e.do(t, "GET", "/api/v1/widgets/chat-csat", bearer(string(adminKey)), "")
	if r.code != 503 || !strings.Contains(r.body, "no widget data has been published yet") {
		t.Fatalf("%d %s", r.code, r.body)
	}
	// The first publish is served within the refresh interval (20 ms here).
	p := publishRows(t, e.store, 10, 10, 1, time.Now().UTC())
	time.Sleep(50 * time.Millisecond)
	if r := e.do(t, "GET", "/api/v1/widgets/chat-csat", bearer(string(adminKey)), ""); r.code != 200 || !strings.Contains(r.body, p.Version) {
		t.Fatalf("after the first publish: %d %s", r.code, r.body)
	}
}

// TestCORS allows exactly the configured origins.
func TestCORS(t *testing.T) {
	e := setup(t, nil)
	publishRows(t, e.store, 10, 10, 1, time.Now().UTC())
	tok := e.token(t, widgetapi.Claims{Widget: "chat-csat", Issued: time.Now().Unix(), Expires: time.Now().Add(time.Hour).Unix()})
	ok := e.do(t, "GET", "/api/v1/widgets/chat-csat?token="+tok, map[string]string{"Origin": "https://app.hubspot.com"}, "")
	if ok.hdr.Get("Access-Control-Allow-Origin") != "https://app.hubspot.com" {
		t.Errorf("allowed origin: headers %v", ok.hdr)
	}
	bad := e.do(t, "GET", "/api/v1/widgets/chat-csat?token="+tok, map[string]string{"Origin": "https://evil.example"}, "")
	if bad.hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin got CORS headers")
	}
	pre := e.do(t, "OPTIONS", "/api/v1/widgets/chat-csat", map[string]string{"Origin": "https://app.hubspot.com", "Access-Control-Request-Method": "GET"}, "")
	if pre.code != 204 || pre.hdr.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight: %d %v", pre.code, pre.hdr)
	}
	if r := e.do(t, "OPTIONS", "/api/v1/widgets/chat-csat", map[string]string{"Origin": "https://evil.example"}, ""); r.code != 403 {
		t.Errorf("preflight from another origin: %d", r.code)
	}
}

// TestStatus builds real runs in the ledger: a completed tickets run with held deletions, a
// failed chats run after a completed one, then a stuck one.
func TestStatus(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	st := state.New(e.fs)
	clock := time.Now().UTC().Add(-2 * time.Hour)
	st.Now = func() time.Time { return clock }
	run := func(id, source string, complete bool, msg string) {
		t.Helper()
		if _, _, err := st.BeginRun(ctx, state.Run{ID: id, Source: batch.Source(source), Mode: "full"}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.LandBatch(ctx, id, state.BatchRecord{Seq: 0, Last: true, HighWater: clock, Counts: state.Counts{Fetched: 7, Inserted: 7}}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if complete {
			if _, _, err := st.CompleteRun(ctx, id, state.Counts{Fetched: 7, Inserted: 7}, msg); err != nil {
				t.Fatal(err)
			}
		} else if err := st.FailRun(ctx, id, msg); err != nil {
			t.Fatal(err)
		}
	}
	run("t1", "tickets", true, "60 deletions held: more than 10% of the tab")
	run("c1", "chats", true, "ok")
	clock = clock.Add(time.Minute)
	run("c2", "chats", false, "LiveChat answered 401")

	var s widgetapi.Status
	get := func() {
		t.Helper()
		r := e.do(t, "GET", "/api/v1/status", bearer(string(adminKey)), "")
		if r.code != 200 {
			t.Fatalf("%d %s", r.code, r.body)
		}
		s = widgetapi.Status{}
		if err := json.Unmarshal([]byte(r.body), &s); err != nil {
			t.Fatal(err)
		}
	}
	get()
	if s.Overall != "failing" || !strings.Contains(s.Reason, "chats: the last run c2 failed: LiveChat answered 401") {
		t.Fatalf("overall %s: %s", s.Overall, s.Reason)
	}
	if len(s.Sources) != 2 || s.Sources[0].Source != "tickets" || s.Sources[0].State != "completed" ||
		fmt.Sprint(s.Sources[0].Held) != "[t1]" || s.Sources[0].Cursor == nil || s.Sources[0].Cursor.AgeSeconds < 7000 {
		t.Errorf("tickets: %+v", s.Sources[0])
	}
	if c := s.Sources[1]; c.State != "failed" || fmt.Sprint(c.Failed) != "[c2]" || len(c.LastRuns) != 2 || c.LastRuns[1].Counts.Fetched != 7 {
		t.Errorf("chats: %+v", c)
	}
	// A newer chats run completes: no longer failing, but two hours old is not stale (3 h).
	clock = clock.Add(time.Minute)
	run("c3", "chats", true, "ok")
	get()
	if s.Overall != "ok" || !strings.Contains(s.Reason, "tickets: run t1 held deletions back") {
		t.Errorf("after a good run: %s: %s", s.Overall, s.Reason)
	}
	// A run whose lease expired unfinished is stuck.
	clock = time.Now().UTC().Add(-3 * time.Hour)
	if _, _, err := st.BeginRun(ctx, state.Run{ID: "t2", Source: "tickets", Mode: "incremental"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	get()
	if s.Overall != "failing" || fmt.Sprint(s.Sources[0].Stuck) != "[t2]" || !strings.Contains(s.Reason, "run t2 is stuck") {
		t.Errorf("stuck: %s: %s %+v", s.Overall, s.Reason, s.Sources[0])
	}
}

// TestStaleAndNever: a source that never synced makes the status stale.
func TestStaleAndNever(t *testing.T) {
	e := setup(t, nil)
	r := e.do(t, "GET", "/api/v1/status", bearer(string(adminKey)), "")
	var s widgetapi.Status
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatal(err)
	}
	if s.Overall != "stale" || !strings.Contains(s.Reason, "tickets: no sync has completed yet") || s.Sources[1].State != "never" {
		t.Errorf("%s: %s", s.Overall, s.Reason)
	}
	if !bytes.Contains([]byte(r.body), []byte(`"dataset":null`)) {
		t.Errorf("dataset not null before a publish: %s", r.body)
	}
}
