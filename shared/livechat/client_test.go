package livechat_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"supportsync.dev/shared/fakeapi"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/livechat/livechatfake"
)

const (
	testAccount = "8f3c2a10-SECRET-ACCOUNT-2f0c5e9d7b34"
	testPAT     = "fra:SECRET-PAT-ExamplePersonalAccessToken"
)

var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type env struct {
	c    *livechat.Client
	fake *livechatfake.Server
	ds   *livechatfake.Dataset
	logs *syncBuffer

	mu     sync.Mutex
	bodies map[string][]map[string]json.RawMessage
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setup serves the fake under a non-empty base path, so that a wrong absolute path fails.
func setup(t *testing.T, threads int, opts ...livechat.Option) *env {
	t.Helper()
	e := &env{ds: livechatfake.Generate(7, threads, testNow), logs: &syncBuffer{}, bodies: map[string][]map[string]json.RawMessage{}}
	e.fake = livechatfake.New(e.ds, livechatfake.WithCredentials(testAccount, testPAT), livechatfake.WithRatePerMinute(0))
	mux := http.NewServeMux()
	mux.Handle("/api/lc/", http.StripPrefix("/api/lc", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var body map[string]json.RawMessage
		_ = json.Unmarshal(data, &body)
		e.mu.Lock()
		action := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		e.bodies[action] = append(e.bodies[action], body)
		e.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(data))
		e.fake.ServeHTTP(w, r)
	})))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	base := []livechat.Option{
		livechat.WithBaseURL(ts.URL + "/api/lc/"),
		livechat.WithCredentials(testAccount, testPAT),
		livechat.WithRatePerMinute(0),
		livechat.WithRetryWait(time.Millisecond, 5*time.Millisecond),
		livechat.WithLogger(slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}
	c, err := livechat.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

func TestStreamReadsEveryThreadWithPageIDOnlyFollowUps(t *testing.T) {
	e := setup(t, 1234)
	cur := livechat.NewCursor(time.Time{}, testNow)
	seen := map[string]bool{}
	var lastCreated time.Time
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("no end of stream")
		}
		// The cursor survives a trip through JSON (checkpoint in another process).
		data, err := json.Marshal(cur)
		if err != nil {
			t.Fatal(err)
		}
		var resumed livechat.Cursor
		if err := json.Unmarshal(data, &resumed); err != nil {
			t.Fatal(err)
		}
		chats, next, done, err := e.c.Next(context.Background(), resumed)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, c := range chats {
			if seen[c.Thread.ID] {
				t.Fatalf("thread %s twice", c.Thread.ID)
			}
			seen[c.Thread.ID] = true
			ct, err := livechat.ParseTime(c.Thread.CreatedAt)
			if err != nil {
				t.Fatal(err)
			}
			if ct.Before(lastCreated) {
				t.Fatalf("thread %s out of order", c.Thread.ID)
			}
			lastCreated = ct
		}
		cur = next
		if done {
			break
		}
	}
	if len(seen) != e.ds.Len() {
		t.Fatalf("read %d threads, dataset has %d", len(seen), e.ds.Len())
	}
	if _, _, _, err := e.c.Next(context.Background(), cur); !errors.Is(err, livechat.ErrCursorDone) {
		t.Fatalf("Next on a done cursor: %v", err)
	}
	bodies := e.bodies["list_archives"]
	if len(bodies) != 13 {
		t.Fatalf("%d list_archives requests, want 13", len(bodies))
	}
	first := bodies[0]
	if string(first["sort_order"]) != `"asc"` || string(first["limit"]) != "100" {
		t.Errorf("first page body: %s %s", first["sort_order"], first["limit"])
	}
	var f struct{ From, To string }
	_ = json.Unmarshal(first["filters"], &f)
	if f.To != "2026-11-20T12:00:00.000000+00:00" || f.From != "" {
		t.Errorf("filters = %+v", f)
	}
	for i, b := range bodies[1:] {
		if len(b) != 1 || b["page_id"] == nil {
			t.Errorf("follow-up %d carries more than page_id: %v", i+1, b)
		}
	}
	if got := e.c.Requests(); got != 13 {
		t.Errorf("Requests() = %d, want 13", got)
	}
}

func TestListArchivesFiltersWithOffset(t *testing.T) {
	e := setup(t, 300)
	halifax, _ := time.LoadLocation("America/Halifax")
	from := time.Date(2026, 3, 8, 1, 30, 0, 123456000, halifax)
	page, err := e.c.ListArchives(context.Background(), livechat.ArchivesQuery{From: from, To: testNow, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ From string }
	_ = json.Unmarshal(e.bodies["list_archives"][0]["filters"], &f)
	if f.From != "2026-03-08T01:30:00.123456-04:00" {
		t.Errorf("from = %s", f.From)
	}
	if len(page.Chats) != 5 || page.NextPageID == "" || page.FoundThreads <= 5 {
		t.Errorf("page: %d chats, next %q, found %d", len(page.Chats), page.NextPageID, page.FoundThreads)
	}
	for _, c := range page.Chats {
		ct, _ := livechat.ParseTime(c.Thread.CreatedAt)
		if ct.Before(from) {
			t.Errorf("thread %s created %s before from", c.Thread.ID, c.Thread.CreatedAt)
		}
	}
}

func TestRetriesTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault fakeapi.Fault
	}{
		{"429 too_many_requests", fakeapi.Fault{Code: 429}},
		{"502 HTML", fakeapi.Fault{Code: 502}},
		{"500 internal", fakeapi.Fault{Code: 500}},
		{"truncated JSON", fakeapi.Fault{Answer: fakeapi.Truncate}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, 50)
			tc.fault.Times = 2
			e.fake.Inject(tc.fault)
			page, err := e.c.ListArchives(context.Background(), livechat.ArchivesQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Chats) != 50 {
				t.Errorf("%d chats", len(page.Chats))
			}
			if got := e.c.Requests(); got != 3 {
				t.Errorf("Requests() = %d, want 3", got)
			}
			if !strings.Contains(e.logs.String(), "retrying") {
				t.Error("retries not logged")
			}
		})
	}
}

func TestRetryTimeout(t *testing.T) {
	e := setup(t, 10, livechat.WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
	e.fake.Inject(fakeapi.Fault{Answer: fakeapi.Delay, Delay: time.Second})
	if _, err := e.c.Groups(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.c.Requests(); got != 2 {
		t.Errorf("Requests() = %d, want 2", got)
	}
}

func TestErrors(t *testing.T) {
	t.Run("retries exhausted", func(t *testing.T) {
		e := setup(t, 10, livechat.WithMaxAttempts(3))
		e.fake.Inject(fakeapi.Fault{Code: 429, Times: 10})
		_, err := e.c.ListArchives(context.Background(), livechat.ArchivesQuery{})
		var apiErr *livechat.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type != "too_many_requests" {
			t.Fatalf("err = %v", err)
		}
		if e.c.Requests() != 3 {
			t.Errorf("Requests() = %d, want 3", e.c.Requests())
		}
	})
	t.Run("HTML body", func(t *testing.T) {
		e := setup(t, 10, livechat.WithMaxAttempts(1))
		e.fake.Inject(fakeapi.Fault{Code: 502})
		_, err := e.c.Agents(context.Background())
		var apiErr *livechat.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || apiErr.Type != "" || !strings.Contains(apiErr.Message, "502 Bad Gateway") {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("bad JSON is a DecodeError", func(t *testing.T) {
		e := setup(t, 10, livechat.WithMaxAttempts(2))
		e.fake.Inject(fakeapi.Fault{Answer: fakeapi.Truncate, Times: 2})
		_, err := e.c.Bots(context.Background())
		var de *livechat.DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("authentication is not retried", func(t *testing.T) {
		e := setup(t, 10, livechat.WithCredentials(testAccount, "wrong"))
		_, err := e.c.ListArchives(context.Background(), livechat.ArchivesQuery{})
		var apiErr *livechat.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Type != "authentication" {
			t.Fatalf("err = %v", err)
		}
		if e.c.Requests() != 1 {
			t.Errorf("Requests() = %d, want 1", e.c.Requests())
		}
		if err := e.c.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "authentication") {
			t.Errorf("Check: %v", err)
		}
	})
	t.Run("validation: follow-up with filters", func(t *testing.T) {
		e := setup(t, 10)
		// The client never sends this; the fake must refuse it as LiveChat does.
		req, _ := http.NewRequest(http.MethodPost, "/v3.5/agent/action/list_archives",
			strings.NewReader(`{"page_id":"eyJsIjoxLCJpIjoiQSJ9","filters":{"from":"2026-01-01T00:00:00.000000+00:00"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(testAccount, testPAT)
		w := httptest.NewRecorder()
		e.fake.ServeHTTP(w, req)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"validation"`) {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		e := setup(t, 10)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := e.c.ListArchives(ctx, livechat.ArchivesQuery{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no wait outlives the deadline", func(t *testing.T) {
		e := setup(t, 10, livechat.WithRetryWait(10*time.Second, time.Minute))
		e.fake.Inject(fakeapi.Fault{Code: 429, Times: 5})
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := e.c.ListArchives(ctx, livechat.ArchivesQuery{})
		if err == nil || time.Since(start) > 400*time.Millisecond {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
	})
	t.Run("slow server and deadline", func(t *testing.T) {
		e := setup(t, 10)
		e.fake.Inject(fakeapi.Fault{Answer: fakeapi.Delay, Delay: 5 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := e.c.Groups(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
	})
}

func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(testAccount + ":" + testPAT))
	var texts []string
	check := func(err error) {
		if err != nil {
			texts = append(texts, err.Error())
		}
	}
	e := setup(t, 10, livechat.WithMaxAttempts(2))
	for _, f := range []fakeapi.Fault{{Code: 429}, {Code: 502}, {Code: 500}, {Answer: fakeapi.Truncate}} {
		f.Times = 2
		e.fake.Inject(f)
		_, err := e.c.ListArchives(context.Background(), livechat.ArchivesQuery{})
		check(err)
	}
	bad := setup(t, 10, livechat.WithCredentials(testAccount, testPAT+"x"))
	_, err := bad.c.Agents(context.Background())
	check(err)
	check(bad.c.Check(context.Background()))
	// A transport error against a closed server.
	dead, err := livechat.NewClient(livechat.WithBaseURL("http://127.0.0.1:1/x"), livechat.WithCredentials(testAccount, testPAT),
		livechat.WithMaxAttempts(1), livechat.WithLogger(slog.New(slog.NewTextHandler(e.logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	_, err = dead.Groups(context.Background())
	check(err)
	_, err = livechat.NewClient(livechat.WithBaseURL("ftp://" + testAccount + ":" + testPAT + "@example.com"))
	check(err)
	texts = append(texts, e.logs.String(), bad.logs.String())
	if len(texts) < 8 {
		t.Fatalf("only %d errors/logs collected", len(texts))
	}
	for _, s := range texts {
		for _, secret := range []string{testAccount, testPAT, "SECRET", basic} {
			if strings.Contains(s, secret) {
				t.Errorf("secret %q in %q", secret, s)
			}
		}
	}
}

func TestLegacyHeaderLoggedOnce(t *testing.T) {
	e := setup(t, 10)
	for range 3 {
		if _, err := e.c.Groups(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(e.logs.String(), livechatfake.DefaultLegacy); n != 1 {
		t.Errorf("Legacy logged %d times:\n%s", n, e.logs)
	}
}

func TestPacing(t *testing.T) {
	e := setup(t, 10, livechat.WithRatePerMinute(1200)) // one request per 50 ms
	start := time.Now()
	for range 4 {
		if _, err := e.c.Groups(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 140*time.Millisecond {
		t.Errorf("4 requests at 1200/min took %v", d)
	}
}

// TestNextWaitForecastsThePacing: NextWait is 0 while a request could go at once, about the
// spacing of the rate right after one went, shrinking as time passes; 0 with pacing off.
func TestNextWaitForecastsThePacing(t *testing.T) {
	e := setup(t, 10, livechat.WithRatePerMinute(60)) // one request a second
	if w := e.c.NextWait(); w != 0 {
		t.Fatalf("before any request: NextWait = %s, want 0", w)
	}
	if _, err := e.c.Groups(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := e.c.NextWait()
	if first < 800*time.Millisecond || first > time.Second {
		t.Fatalf("right after a request at 60/min: NextWait = %s, want about 1s", first)
	}
	time.Sleep(200 * time.Millisecond)
	if w := e.c.NextWait(); w >= first || w < first-400*time.Millisecond {
		t.Errorf("200ms later: NextWait = %s, want about %s", w, first-200*time.Millisecond)
	}
	off := setup(t, 10)
	if _, err := off.c.Groups(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := off.c.NextWait(); w != 0 {
		t.Errorf("pacing off: NextWait = %s, want 0", w)
	}
}

func TestServerRateLimitIsRetried(t *testing.T) {
	e := setup(t, 10, livechat.WithRetryWait(20*time.Millisecond, 50*time.Millisecond))
	clock := time.Now()
	var mu sync.Mutex
	e.fake = livechatfake.New(e.ds, livechatfake.WithCredentials(testAccount, testPAT), livechatfake.WithRatePerMinute(2),
		livechatfake.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(10 * time.Second); return clock }))
	for range 4 {
		if _, err := e.c.Groups(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if e.fake.RateLimited() == 0 {
		t.Error("the fake never rate-limited")
	}
}

func TestConfiguration(t *testing.T) {
	e := setup(t, 10)
	bots, err := e.c.Bots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, b := range bots {
		names[b.Name] = true
	}
	if !names["Wynn AI"] || !names["Agent Scrape"] {
		t.Errorf("bots = %v (all:true must list the other app's bot)", names)
	}
	if string(e.bodies["list_bots"][0]["all"]) != "true" {
		t.Error("list_bots without all:true")
	}
	agents, err := e.c.Agents(context.Background())
	if err != nil || len(agents) == 0 || !strings.Contains(agents[0].ID, "@") {
		t.Fatalf("agents %v, %v", agents, err)
	}
	groups, err := e.c.Groups(context.Background())
	if err != nil || len(groups) < 2 {
		t.Fatalf("groups %v, %v", groups, err)
	}
	if err := e.c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}
