package livechat

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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"supportsync.dev/shared/httpcall"
)

// DefaultBaseURL is the LiveChat API host.
const DefaultBaseURL = "https://api.livechatinc.com"

// APIVersion is the API version in every request path.
const APIVersion = "3.5"

// Defaults of the client options.
const (
	DefaultRatePerMinute = 180
	DefaultMaxAttempts   = 6
	DefaultTimeout       = 30 * time.Second
)

// maxBody caps a success body; a page of 100 archived chats is a few MB at most.
const maxBody = 32 << 20

// maxErrorBody caps how much of a failed response is kept in an APIError.
const maxErrorBody = 512

// Client calls the LiveChat API. It is safe for concurrent use; requests are paced by one
// shared limiter.
type Client struct {
	base        *url.URL
	hc          *http.Client
	account     string
	pat         string
	limiter     *rate.Limiter
	maxAttempts int
	minWait     time.Duration
	maxWait     time.Duration
	logger      *slog.Logger
	userAgent   string

	requests atomic.Int64
	region   atomic.Value // string: X-Region learnt from misdirected_request
	seen     sync.Map     // "Header: value" already logged
	perMin   int
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the API base URL (default DefaultBaseURL). A path prefix is kept:
// "http://host/prefix" sends requests to http://host/prefix/v3.5/….
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := httpcall.BaseURL(raw)
		if err != nil {
			return fmt.Errorf("livechat: %w", err)
		}
		c.base = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client (default: one with a DefaultTimeout timeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("livechat: nil HTTP client")
		}
		c.hc = hc
		return nil
	}
}

// WithCredentials sets the Personal Access Token credentials, sent as HTTP Basic
// (username the account id, password the PAT).
func WithCredentials(accountID, pat string) Option {
	return func(c *Client) error {
		c.account, c.pat = accountID, pat
		return nil
	}
}

// WithRatePerMinute paces requests to at most n per minute, evenly spaced (default
// DefaultRatePerMinute); 0 turns pacing off.
func WithRatePerMinute(n int) Option {
	return func(c *Client) error {
		if n < 0 {
			return fmt.Errorf("livechat: rate %d per minute is negative", n)
		}
		c.perMin = n
		return nil
	}
}

// WithMaxAttempts bounds the attempts per call, the first included (default
// DefaultMaxAttempts); 1 turns retries off.
func WithMaxAttempts(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("livechat: max attempts %d is below 1", n)
		}
		c.maxAttempts = n
		return nil
	}
}

// WithRetryWait sets the exponential backoff between attempts: from min (with jitter) up to
// max (defaults 1 s and 60 s). Tests use milliseconds.
func WithRetryWait(min, max time.Duration) Option {
	return func(c *Client) error {
		if min <= 0 || max < min {
			return fmt.Errorf("livechat: retry wait %v..%v is not a positive range", min, max)
		}
		c.minWait, c.maxWait = min, max
		return nil
	}
}

// WithLogger sets the logger for retries and Legacy / Deprecation headers (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("livechat: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithUserAgent sets the User-Agent header (default "supportsync").
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// NewClient returns a client configured by opts.
func NewClient(opts ...Option) (*Client, error) {
	base, _ := url.Parse(DefaultBaseURL)
	c := &Client{
		base:        base,
		hc:          &http.Client{Timeout: DefaultTimeout},
		maxAttempts: DefaultMaxAttempts,
		minWait:     time.Second,
		maxWait:     60 * time.Second,
		logger:      slog.Default(),
		userAgent:   "supportsync",
		perMin:      DefaultRatePerMinute,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.perMin > 0 {
		c.limiter = rate.NewLimiter(rate.Every(time.Minute/time.Duration(c.perMin)), 1)
	}
	return c, nil
}

// Requests returns how many HTTP requests the client has sent, retries included.
func (c *Client) Requests() int64 { return c.requests.Load() }

// NextWait returns how long a request sent now would wait for the client's own pacing,
// booking nothing (a forecast: a concurrent caller may take the slot first); 0 when it could go
// at once or pacing is off. A caller with work to hand on (fetch, with records pending) uses it
// to do that work before a long wait rather than after.
func (c *Client) NextWait() time.Duration {
	if c.limiter == nil {
		return 0
	}
	// One token is one request (burst 1): the wait is the time the missing part takes to refill.
	missing := 1 - c.limiter.Tokens()
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / float64(c.limiter.Limit()) * float64(time.Second))
}

// APIError is a failed call: a non-200 response, with the LiveChat error envelope when the
// body had one. It never holds credentials.
type APIError struct {
	// Action is the API action called, e.g. "agent/list_archives".
	Action string
	// StatusCode is the HTTP status.
	StatusCode int
	// Type is error.type (too_many_requests, authentication, validation, …); empty when the
	// body was not the JSON envelope.
	Type string
	// Message is error.message, or the start of a non-JSON body.
	Message string
	// Region is error.data.region of a misdirected_request.
	Region string
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("livechat: ")
	b.WriteString(e.Action)
	fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	if e.Type != "" {
		b.WriteString(" ")
		b.WriteString(e.Type)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Type == "authentication" {
		b.WriteString(" (check the account id and PAT, sent as HTTP Basic)")
	}
	return b.String()
}

// Temporary reports whether retrying the same request may succeed.
func (e *APIError) Temporary() bool {
	switch e.Type {
	case "too_many_requests", "request_timeout", "internal", "service_unavailable":
		return true
	}
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// DecodeError is a 200 response whose body was not the JSON expected (for example a
// truncated body). It is retried.
type DecodeError struct {
	Action string
	Err    error
}

// Error implements error.
func (e *DecodeError) Error() string {
	return "livechat: " + e.Action + ": bad response body: " + e.Err.Error()
}

// Unwrap returns the decoding error.
func (e *DecodeError) Unwrap() error { return e.Err }

// call POSTs body to /v3.5/<api>/action/<action> and decodes a 200 response into out,
// pacing, retrying and logging as configured.
func (c *Client) call(ctx context.Context, api, action string, body, out any) error {
	name := api + "/" + action
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("livechat: %s: encode request: %w", name, err)
	}
	u := *c.base
	u.Path = c.base.Path + "/v" + APIVersion + "/" + api + "/action/" + action

	loop := httpcall.Loop{
		MaxAttempts: c.maxAttempts,
		Backoff:     httpcall.Backoff{Initial: c.minWait, Max: c.maxWait},
		OnRetry: func(ctx context.Context, attempt int, wait time.Duration, err error) {
			c.logger.LogAttrs(ctx, slog.LevelWarn, "livechat: retrying",
				slog.String("action", name), slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
		},
	}
	var last error // the last attempt's error, already naming the call
	err = loop.Do(ctx, func(ctx context.Context, _ int) (httpcall.Verdict, error) {
		if c.limiter != nil {
			if err := c.limiter.Wait(ctx); err != nil {
				if ctxErr := ctx.Err(); ctxErr != nil {
					return httpcall.Stop, ctxErr
				}
				// The wait would outlive the deadline.
				return httpcall.Stop, fmt.Errorf("livechat: %s: rate limit wait exceeds the deadline: %w", name, context.DeadlineExceeded)
			}
		}
		err := c.once(ctx, name, u.String(), payload, out)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Type == "misdirected_request" && apiErr.Region != "" {
			c.region.Store(apiErr.Region)
			c.logger.LogAttrs(ctx, slog.LevelInfo, "livechat: switching region", slog.String("action", name), slog.String("region", apiErr.Region))
			return httpcall.Verdict{Retry: true, Free: true}, err
		}
		last = err
		return httpcall.Verdict{Retry: retryable(err)}, err
	})
	if err == nil || err == last {
		return err
	}
	return fmt.Errorf("livechat: %s: %w", name, err)
}

// retryable reports whether a failed attempt may be resent: a temporary API error, a 200
// with a bad body, or a transport failure.
func retryable(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	var de *DecodeError
	return errors.As(err, &de) || httpcall.Transient(err)
}

// once sends one request.
func (c *Client) once(ctx context.Context, name, u string, payload []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("livechat: %s: %w", name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.account != "" || c.pat != "" {
		req.SetBasicAuth(c.account, c.pat)
	}
	if r, _ := c.region.Load().(string); r != "" {
		req.Header.Set("X-Region", r)
	}
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("livechat: %s: %w", name, httpcall.Redact(err))
	}
	defer resp.Body.Close()
	c.logLifecycle(ctx, resp.Header)
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return newAPIError(name, resp.StatusCode, data)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return nil
	}
	var buf bytes.Buffer
	if err := httpcall.ReadBody(&buf, resp.Body, maxBody); err != nil {
		if errors.Is(err, httpcall.ErrBodyTooLarge) {
			return fmt.Errorf("livechat: %s: %w", name, err)
		}
		return fmt.Errorf("livechat: %s: read response: %w", name, httpcall.Redact(err))
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		return &DecodeError{Action: name, Err: err}
	}
	return nil
}

func newAPIError(name string, status int, body []byte) *APIError {
	e := &APIError{Action: name, StatusCode: status}
	var env struct {
		Error *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Data    struct {
				Region string `json:"region"`
			} `json:"data"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		e.Type, e.Message, e.Region = env.Error.Type, env.Error.Message, env.Error.Data.Region
		return e
	}
	msg := strings.Join(strings.Fields(string(body)), " ")
	if len(msg) > maxErrorBody {
		msg = msg[:maxErrorBody] + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	e.Message = msg
	return e
}

// logLifecycle logs the Legacy and Deprecation headers, once per value.
func (c *Client) logLifecycle(ctx context.Context, h http.Header) {
	for _, name := range [...]string{"Legacy", "Deprecation"} {
		v := h.Get(name)
		if v == "" {
			continue
		}
		if _, loaded := c.seen.LoadOrStore(name+": "+v, true); loaded {
			continue
		}
		level := slog.LevelInfo
		msg := "livechat: API v" + APIVersion + " is legacy; migrate before the end date"
		if name == "Deprecation" {
			level = slog.LevelWarn
			msg = "livechat: API v" + APIVersion + " is deprecated; it will be decommissioned"
		}
		c.logger.LogAttrs(ctx, level, msg, slog.String("header", name), slog.String("date", v))
	}
}
