package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"supportsync.dev/shared/httpcall"
)

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

// Default limits: the Free/Starter private-app allowance of 100 requests per rolling 10 s,
// and the CRM search limit of 5 requests per second.
const (
	DefaultGeneralPer10s   = 100
	DefaultSearchPerSecond = 5.0
	DefaultMaxAttempts     = 5
)

// maxBody caps a response body; a search page of 200 tickets is around 200 KB.
const maxBody = 32 << 20

// Client calls the HubSpot CRM v3 API. It is safe for concurrent use; create one per
// process and reuse it.
type Client struct {
	base        string // base URL without a trailing slash; may carry a path prefix
	hc          *http.Client
	token       string
	log         *slog.Logger
	maxAttempts int

	generalPerWindow int
	window           time.Duration // the rolling window of the general limit (10 s)
	searchPerSecond  float64
	general          *pacer // nil: no limit
	search           *pacer // nil: no limit

	// Retry waits (tests shorten them).
	backoffInitial time.Duration // first wait after a 5xx, network error or bad body
	backoffMax     time.Duration
	secondlyWait   time.Duration // after a SECONDLY / search "secondly limit" 429

	requests atomic.Int64
	bufs     sync.Pool
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the API base URL (default https://api.hubapi.com). A path prefix is kept:
// "http://localhost:8080/hubspot" sends tickets searches to
// "http://localhost:8080/hubspot/crm/v3/objects/tickets/search".
func WithBaseURL(base string) Option {
	return func(c *Client) error {
		u, err := httpcall.BaseURL(base)
		if err != nil {
			return err
		}
		c.base = u.String()
		return nil
	}
}

// WithHTTPClient sets the HTTP client (default: one with a 60 s timeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("nil http client")
		}
		c.hc = hc
		return nil
	}
}

// WithToken sets the private app or service key token, sent as "Authorization: Bearer".
func WithToken(token string) Option {
	return func(c *Client) error {
		if strings.ContainsAny(token, " \t\r\n") {
			return errors.New("token contains white space")
		}
		c.token = token
		return nil
	}
}

// WithLimits sets the client-side pacing: at most generalPer10s requests (other than search)
// in any rolling 10 s window, and at most searchPerSecond searches a second. 0 disables a
// limit. Defaults: 100 and 5.
func WithLimits(generalPer10s int, searchPerSecond float64) Option {
	return func(c *Client) error {
		if generalPer10s < 0 || searchPerSecond < 0 {
			return errors.New("limits must not be negative")
		}
		c.generalPerWindow = generalPer10s
		c.searchPerSecond = searchPerSecond
		return nil
	}
}

// WithLimitWindow changes the length of the general limit's rolling window (default 10 s,
// HubSpot's). Only a test against a fake server with a shorter window needs it; the 429 wait
// for TEN_SECONDLY_ROLLING without an interval header is this window too.
func WithLimitWindow(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return errors.New("limit window must be positive")
		}
		c.window = d
		return nil
	}
}

// WithMaxAttempts bounds the attempts per call, the first one included (default 5).
func WithMaxAttempts(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return errors.New("max attempts must be at least 1")
		}
		c.maxAttempts = n
		return nil
	}
}

// WithLogger sets the logger for retries and rate limiting (default: discard). The token is
// never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.log = l
		return nil
	}
}

// NewClient returns a client configured by opts.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{
		base:             DefaultBaseURL,
		hc:               &http.Client{Timeout: 60 * time.Second},
		log:              slog.New(slog.DiscardHandler),
		maxAttempts:      DefaultMaxAttempts,
		generalPerWindow: DefaultGeneralPer10s,
		window:           10 * time.Second,
		searchPerSecond:  DefaultSearchPerSecond,
		backoffInitial:   500 * time.Millisecond,
		backoffMax:       15 * time.Second,
		secondlyWait:     time.Second,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("hubspot.NewClient: %w", err)
		}
	}
	c.general = newPacer(float64(c.generalPerWindow), c.window)
	c.search = newPacer(c.searchPerSecond, time.Second)
	c.bufs.New = func() any { return new(bytes.Buffer) }
	return c, nil
}

// Requests returns the number of HTTP requests sent so far, retries included.
func (c *Client) Requests() int64 { return c.requests.Load() }

// request is one logical API call.
type request struct {
	method string
	path   string // e.g. /crm/v3/objects/tickets
	query  url.Values
	body   any  // JSON-encoded when not nil
	search bool // paced by the search limiter instead of the general one
}

// do sends r with pacing and retries and decodes a 2xx JSON body into out.
func (c *Client) do(ctx context.Context, r request, out any) error {
	var reqBody []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("hubspot: %s %s: encode body: %w", r.method, r.path, err)
		}
		reqBody = b
	}
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	p := c.general
	if r.search {
		p = c.search
	}
	loop := httpcall.Loop{
		MaxAttempts: c.maxAttempts,
		Backoff:     httpcall.Backoff{Initial: c.backoffInitial, Max: c.backoffMax},
		OnRetry: func(ctx context.Context, attempt int, wait time.Duration, err error) {
			c.log.LogAttrs(ctx, slog.LevelWarn, "hubspot: retrying",
				slog.String("method", r.method), slog.String("path", r.path),
				slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
		},
	}
	var last error // the last attempt's error, already naming the call
	err := loop.Do(ctx, func(ctx context.Context, _ int) (httpcall.Verdict, error) {
		ticket, err := p.wait(ctx)
		if err != nil {
			return httpcall.Stop, err
		}
		v, err := c.attempt(ctx, r, u, reqBody, out)
		p.answered(ticket)
		last = err
		return v, err
	})
	if err == nil || err == last {
		return err
	}
	return fmt.Errorf("hubspot: %s %s: %w", r.method, r.path, err)
}

// attempt sends one HTTP request; its verdict says whether the error is worth resending.
func (c *Client) attempt(ctx context.Context, r request, u string, reqBody []byte, out any) (httpcall.Verdict, error) {
	var body io.Reader
	if reqBody != nil {
		body = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return httpcall.Stop, fmt.Errorf("hubspot: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "supportsync-hubspot/1")
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return httpcall.Stop, fmt.Errorf("hubspot: %s %s: %w", r.method, r.path, ctx.Err())
		}
		return httpcall.Verdict{Retry: httpcall.Transient(err)}, fmt.Errorf("hubspot: %s %s: %w", r.method, r.path, httpcall.Redact(err))
	}
	buf := c.bufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4<<20 {
			c.bufs.Put(buf)
		}
	}()
	rerr := httpcall.ReadBody(buf, resp.Body, maxBody)
	resp.Body.Close()
	switch {
	case errors.Is(rerr, httpcall.ErrBodyTooLarge):
		return httpcall.Stop, fmt.Errorf("hubspot: %s %s: %w", r.method, r.path, rerr)
	case rerr != nil && ctx.Err() != nil:
		return httpcall.Stop, fmt.Errorf("hubspot: %s %s: %w", r.method, r.path, ctx.Err())
	case rerr != nil:
		return httpcall.Resend, fmt.Errorf("hubspot: %s %s: reading body: %w", r.method, r.path, httpcall.Redact(rerr))
	}
	data := buf.Bytes()

	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		if out == nil {
			return httpcall.Stop, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			err = fmt.Errorf("hubspot: %s %s: HTTP %d with a bad JSON body (%d bytes): %w", r.method, r.path, s, len(data), err)
			return httpcall.Resend, err
		}
		return httpcall.Stop, nil
	case s == http.StatusTooManyRequests:
		apiErr, eb := newAPIError(r.method, r.path, s, data, c.token)
		policy, wait := c.rateLimitWait(resp.Header, eb, r.search)
		rl := &RateLimitError{Policy: policy, RetryAfter: wait, Err: apiErr}
		if policy == "DAILY" {
			c.log.LogAttrs(ctx, slog.LevelError, "hubspot: daily limit reached",
				slog.String("path", r.path), slog.String("correlationId", apiErr.CorrelationID))
			return httpcall.Stop, rl
		}
		if !r.search && policy != "SECONDLY" {
			c.general.hold(wait)
		}
		return httpcall.Verdict{Retry: true, Wait: wait}, rl
	case s >= 500 && s != http.StatusNotImplemented:
		apiErr, _ := newAPIError(r.method, r.path, s, data, c.token)
		return httpcall.Resend, apiErr
	default:
		apiErr, _ := newAPIError(r.method, r.path, s, data, c.token)
		return httpcall.Stop, apiErr
	}
}

// rateLimitWait reads a 429: its policy and how long to wait before the next attempt.
func (c *Client) rateLimitWait(h http.Header, eb errorBody, search bool) (string, time.Duration) {
	policy := strings.ToUpper(eb.PolicyName)
	msg := strings.ToLower(eb.Message)
	switch {
	case policy != "":
	case strings.Contains(msg, "daily"):
		policy = "DAILY"
	case strings.Contains(msg, "ten_secondly") || strings.Contains(msg, "ten secondly"):
		policy = "TEN_SECONDLY_ROLLING"
	case strings.Contains(msg, "secondly"):
		policy = "SECONDLY"
	}
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
			return policy, time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return policy, max(time.Until(t), 0)
		}
	}
	switch policy {
	case "SECONDLY":
		return policy, c.secondlyWait
	case "TEN_SECONDLY_ROLLING":
	case "":
		if search {
			return policy, c.secondlyWait
		}
	default:
		return policy, 0 // unknown policy: exponential backoff
	}
	if v := h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 60_000 {
			return policy, time.Duration(n) * time.Millisecond
		}
	}
	return policy, c.window
}
