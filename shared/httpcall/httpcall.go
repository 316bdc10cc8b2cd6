// Package httpcall is the one HTTP call helper the API clients share (HubSpot, LiveChat and the
// Sheets sink): exponential backoff with jitter, waits that never pass the context's
// deadline, one rule for which transport failures are worth another attempt, capped body
// reads and errors that carry no URL. Which answers are safe to resend stays with each client:
// an attempt says so in its Verdict.
package httpcall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Backoff is exponential backoff with jitter: the wait before retry n (0-based) is
// Initial·2^n capped at Max, plus up to Initial of jitter, never more than Max.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Wait returns the backoff before retry n.
func (b Backoff) Wait(n int) time.Duration {
	d := b.Max
	if n < 30 {
		if e := b.Initial << n; e > 0 && e < d {
			d = e
		}
	}
	if b.Initial > 0 {
		d += rand.N(b.Initial)
	}
	return min(d, b.Max)
}

// Verdict is what an attempt says about its error.
type Verdict struct {
	// Retry says the same request may be sent again.
	Retry bool
	// Wait is how long to wait first (the server said so); 0 means the backoff.
	Wait time.Duration
	// Free retries at once without counting an attempt (a redirect to another region). One
	// free retry is allowed per call: a second answer that asks for one is not resent.
	Free bool
}

// Resend is the verdict of an answer that may be resent after the backoff.
var Resend = Verdict{Retry: true}

// Stop is the verdict of an answer that must not be resent.
var Stop = Verdict{}

// Loop runs attempts of one call.
type Loop struct {
	// MaxAttempts bounds the attempts, the first included (at least 1).
	MaxAttempts int
	Backoff     Backoff
	// OnRetry, when set, is called before each wait (for a log line).
	OnRetry func(ctx context.Context, attempt int, wait time.Duration, err error)
}

// GiveUpError is returned when the attempts ran out; it wraps the last attempt's error.
type GiveUpError struct {
	Attempts int
	Err      error
}

// Error implements error.
func (e *GiveUpError) Error() string {
	return fmt.Sprintf("giving up after %d attempts: %v", e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *GiveUpError) Unwrap() error { return e.Err }

// DeadlineError is returned when the next wait would end after the context's deadline: the
// call gives up at once instead. It matches context.DeadlineExceeded and wraps the last
// attempt's error.
type DeadlineError struct {
	Wait time.Duration
	Err  error
}

// Error implements error.
func (e *DeadlineError) Error() string {
	return fmt.Sprintf("not retrying, the %v wait would pass the deadline: %v", e.Wait.Round(time.Millisecond), e.Err)
}

// Unwrap returns context.DeadlineExceeded and the last attempt's error.
func (e *DeadlineError) Unwrap() []error { return []error{context.DeadlineExceeded, e.Err} }

// Do calls attempt until it succeeds, its verdict says not to resend, the attempts run out
// (GiveUpError) or the context ends: a wait that would pass the deadline is not started
// (DeadlineError), and a context that ends during a wait or an attempt returns its error with
// the last attempt's. attempt gets the 1-based attempt number.
func (l Loop) Do(ctx context.Context, attempt func(ctx context.Context, n int) (Verdict, error)) error {
	free := false
	retries := 0
	for n := 1; ; n++ {
		v, err := attempt(ctx, n)
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			if errors.Is(err, cerr) {
				return err
			}
			return fmt.Errorf("%w (last error: %w)", cerr, err)
		}
		if !v.Retry {
			return err
		}
		if v.Free {
			if free {
				return err
			}
			free = true
			n--
			continue
		}
		if n >= max(l.MaxAttempts, 1) {
			return &GiveUpError{Attempts: n, Err: err}
		}
		wait := v.Wait
		if wait <= 0 {
			wait = l.Backoff.Wait(retries)
		}
		retries++
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return &DeadlineError{Wait: wait, Err: err}
		}
		if l.OnRetry != nil {
			l.OnRetry(ctx, n, wait, err)
		}
		if serr := Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (last error: %w)", serr, err)
		}
	}
}

// Sleep waits d, returning early with the context's error when it ends first. A wait that
// would pass the context's deadline is not started: it returns context.DeadlineExceeded at
// once.
func Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("waiting %s would pass the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Transient reports whether a transport error (no answer was read) is worth another
// attempt: any network error, a reset, refused or closed connection, or an answer cut short.
func Transient(err error) bool {
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ne), errors.As(err, &oe):
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// Redact drops the URL from a transport error (*url.Error): the caller's message already
// names the call, and a URL could carry user info or a query. It keeps the operation and the
// cause, so errors.Is and errors.As still see the cause.
func Redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// ErrBodyTooLarge is returned by ReadBody for a body over its cap.
var ErrBodyTooLarge = errors.New("response body over the cap")

// ReadBody reads at most limit bytes of r into buf (reset first) and fails with
// ErrBodyTooLarge when there is more.
func ReadBody(buf interface {
	Reset()
	Len() int
	ReadFrom(io.Reader) (int64, error)
}, r io.Reader, limit int64) error {
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return err
	}
	if int64(buf.Len()) > limit {
		return fmt.Errorf("%w of %d bytes", ErrBodyTooLarge, limit)
	}
	return nil
}

// BaseURL checks an API base URL: http(s), a host, an optional path prefix (kept, without a
// trailing slash), and no query, fragment or user info (credentials go in options, never in
// a URL). The error shows the URL without its user info.
func BaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", Redact(err))
	}
	shown := *u
	shown.User = nil
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: want http(s)://host[/prefix]", shown.String())
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("base URL %q: no query, fragment or user info allowed", shown.String())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}
