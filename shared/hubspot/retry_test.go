package hubspot_test

import (
	"bytes"
	"context"
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
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
)

func TestRetriedFaults(t *testing.T) {
	tests := []struct {
		name   string
		fault  fakeapi.Fault
		search bool
	}{
		{"429 with headers", fakeapi.Fault{Code: 429}, false},
		{"429 without headers", fakeapi.Fault{Code: 429, Variant: hubspotfake.NoRateHeaders}, false},
		{"429 with Retry-After", fakeapi.Fault{Code: 429, Variant: hubspotfake.NoRateHeaders, RetryAfter: 1}, false},
		{"search secondly 429", fakeapi.Fault{Code: 429, Variant: hubspotfake.SecondlyLimit}, true},
		{"502 HTML", fakeapi.Fault{Code: 502, Times: 2}, false},
		{"503", fakeapi.Fault{Code: 503}, true},
		{"524 HTML", fakeapi.Fault{Code: 524}, false},
		{"truncated JSON", fakeapi.Fault{Answer: fakeapi.Truncate, Times: 2}, false},
		{"truncated JSON search", fakeapi.Fault{Answer: fakeapi.Truncate}, true},
		{"connection reset", fakeapi.Fault{Answer: fakeapi.Reset}, false},
		{"timeout", fakeapi.Fault{Answer: fakeapi.Delay, Delay: 300 * time.Millisecond}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ds := hubspotfake.Fixture(1, 150, now)
			c, ts := setup(t, ds, []hubspotfake.Option{hubspotfake.WithLimitWindow(50 * time.Millisecond)},
				hubspot.WithLimitWindow(50*time.Millisecond),
				hubspot.WithHTTPClient(&http.Client{Timeout: 150 * time.Millisecond}))
			ts.Inject(tt.fault)
			var err error
			var n int
			if tt.search {
				var p *hubspot.TicketPage
				p, err = c.SearchTickets(context.Background(), hubspot.SearchQuery{})
				if p != nil {
					n = len(p.Tickets)
				}
			} else {
				var p *hubspot.TicketPage
				p, err = c.ListTickets(context.Background(), hubspot.ListQuery{})
				if p != nil {
					n = len(p.Tickets)
				}
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			want := max(tt.fault.Times, 1) + 1
			if n == 0 || c.Requests() != int64(want) || ts.PendingFaults() != 0 {
				t.Errorf("got %d tickets in %d requests (pending faults %d), want %d requests", n, c.Requests(), ts.PendingFaults(), want)
			}
		})
	}
}

func TestNotRetried(t *testing.T) {
	tests := []struct {
		name       string
		fault      *fakeapi.Fault
		token      string
		wantStatus int
		wantPolicy string
	}{
		{"daily limit", &fakeapi.Fault{Code: 429, Variant: hubspotfake.DailyLimit}, hubspotfake.DefaultToken, 429, "DAILY"},
		{"wrong token", nil, "pat-na1-wrong-token-123", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ts := setup(t, hubspotfake.Fixture(1, 5, now), nil, hubspot.WithToken(tt.token))
			if tt.fault != nil {
				ts.Inject(*tt.fault)
			}
			_, err := c.ListTickets(context.Background(), hubspot.ListQuery{})
			var ae *hubspot.APIError
			if !errors.As(err, &ae) || ae.StatusCode != tt.wantStatus || ae.CorrelationID == "" {
				t.Fatalf("err = %v, want APIError %d with a correlation id", err, tt.wantStatus)
			}
			var rl *hubspot.RateLimitError
			if got := errors.As(err, &rl); got != (tt.wantPolicy != "") || (got && rl.Policy != tt.wantPolicy) {
				t.Errorf("RateLimitError = %v, want policy %q", rl, tt.wantPolicy)
			}
			if c.Requests() != 1 {
				t.Errorf("%d requests, want 1", c.Requests())
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("token in error %q", err)
			}
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	tests := []struct {
		name  string
		fault fakeapi.Fault
		check func(error) bool
	}{
		{"503", fakeapi.Fault{Code: 503}, func(err error) bool {
			var ae *hubspot.APIError
			return errors.As(err, &ae) && ae.StatusCode == 503 && ae.Category == "SERVICE_UNAVAILABLE"
		}},
		{"502 HTML", fakeapi.Fault{Code: 502}, func(err error) bool {
			var ae *hubspot.APIError
			return errors.As(err, &ae) && ae.StatusCode == 502 && strings.Contains(ae.Body, "Bad gateway")
		}},
		{"429", fakeapi.Fault{Code: 429, Variant: hubspotfake.SecondlyLimit}, func(err error) bool {
			var rl *hubspot.RateLimitError
			return errors.As(err, &rl) && rl.Policy == "SECONDLY" && rl.Err.StatusCode == 429
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ts := setup(t, hubspotfake.Fixture(1, 5, now), nil, hubspot.WithMaxAttempts(3))
			tt.fault.Times = 10
			ts.Inject(tt.fault)
			_, err := c.Pipelines(context.Background())
			if err == nil || !tt.check(err) {
				t.Fatalf("err = %v", err)
			}
			if c.Requests() != 3 || ts.Requests(hubspotfake.EndpointPipelines) != 3 {
				t.Errorf("%d requests, want 3", c.Requests())
			}
		})
	}
}

func TestContextEndsRetriesPromptly(t *testing.T) {
	tests := []struct {
		name   string
		fault  fakeapi.Fault
		cancel bool // cancel instead of a deadline
	}{
		{"deadline before Retry-After", fakeapi.Fault{Code: 429, Variant: hubspotfake.NoRateHeaders, RetryAfter: 30, Times: 5}, false},
		{"deadline before 10 s window", fakeapi.Fault{Code: 429, Times: 5}, false},
		{"cancel during a slow answer", fakeapi.Fault{Answer: fakeapi.Delay, Delay: 5 * time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ts := setup(t, hubspotfake.Fixture(1, 5, now), nil)
			ts.Inject(tt.fault)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			if tt.cancel {
				go func() { time.Sleep(100 * time.Millisecond); cancel() }()
			}
			start := time.Now()
			_, err := c.ListTickets(ctx, hubspot.ListQuery{})
			if el := time.Since(start); el > 400*time.Millisecond {
				t.Errorf("returned after %s", el)
			}
			want := context.DeadlineExceeded
			if tt.cancel {
				want = context.Canceled
			}
			if !errors.Is(err, want) {
				t.Errorf("err = %v, want %v", err, want)
			}
		})
	}
}

// syncBuffer is a goroutine-safe log sink.
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

func TestTokenNeverInErrorsOrLogs(t *testing.T) {
	const token = "pat-na1-11111111-2222-3333-4444-secretsecret"
	var status int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A hostile server echoes the Authorization header everywhere.
		auth := r.Header.Get("Authorization")
		w.Header().Set("X-Echo", auth)
		w.WriteHeader(status)
		io.WriteString(w, `{"status":"error","category":"`+auth+`","message":"bad `+auth+`","correlationId":"`+auth+`","policyName":"`+auth+`"}`)
	}))
	defer srv.Close()
	for _, s := range []int{400, 401, 403, 404, 429, 500, 502} {
		status = s
		logs := &syncBuffer{}
		c, err := hubspot.NewClient(hubspot.WithBaseURL(srv.URL+"/p"), hubspot.WithToken(token), hubspot.WithMaxAttempts(2), hubspot.WithLimits(0, 0),
			hubspot.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		if err != nil {
			t.Fatal(err)
		}
		hubspot.SetRetryWaits(c, time.Millisecond, time.Millisecond)
		_, err = c.Search(context.Background(), hubspot.SearchRequest{})
		if err == nil {
			t.Fatalf("%d: no error", s)
		}
		var ae *hubspot.APIError
		errors.As(err, &ae)
		for what, text := range map[string]string{"error": err.Error(), "logs": logs.String(), "body": ae.Body, "fields": ae.Category + ae.Message + ae.CorrelationID} {
			if strings.Contains(text, token) || strings.Contains(text, "secretsecret") {
				t.Errorf("%d: token in %s: %s", s, what, text)
			}
		}
	}
	// And a transport error.
	c, _ := hubspot.NewClient(hubspot.WithBaseURL("http://127.0.0.1:1/p"), hubspot.WithToken(token), hubspot.WithMaxAttempts(1))
	if err := c.Check(context.Background()); err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("transport error %v", err)
	}
}

func TestNewClientOptions(t *testing.T) {
	for _, o := range []hubspot.Option{
		hubspot.WithBaseURL("ftp://x"), hubspot.WithBaseURL("https://user:pw@x"), hubspot.WithBaseURL("http://x?a=1"),
		hubspot.WithToken("a b"), hubspot.WithLimits(-1, 5), hubspot.WithMaxAttempts(0), hubspot.WithHTTPClient(nil),
		hubspot.WithLogger(nil), hubspot.WithLimitWindow(0),
	} {
		c, err := hubspot.NewClient(o)
		if err == nil || c != nil {
			t.Errorf("NewClient accepted a bad option: %v", err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("credentials in %v", err)
		}
	}
}
