package httpcall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBackoffWait(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for n, lo := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		lo *= time.Millisecond
		for range 50 {
			d := b.Wait(n)
			hi := min(lo+b.Initial, b.Max)
			if d < lo || d > hi {
				t.Fatalf("Wait(%d) = %v, want %v..%v", n, d, lo, hi)
			}
		}
	}
	if d := b.Wait(200); d != b.Max {
		t.Errorf("Wait(200) = %v, want the cap", d)
	}
}

var errBusy = errors.New("503 busy")

// TestLoop: attempts are counted and bounded, a stop verdict returns at once, a server-asked
// wait is honoured, one free retry is allowed, and a wait past the deadline is never started.
func TestLoop(t *testing.T) {
	fast := Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}
	for _, tt := range []struct {
		name      string
		verdicts  []Verdict // one per attempt; the last repeats
		succeedAt int       // 0: never
		timeout   time.Duration
		wantCalls int
		check     func(error) bool
	}{
		{"success after two retries", []Verdict{Resend}, 3, 0, 3, func(err error) bool { return err == nil }},
		{"gives up after max attempts", []Verdict{Resend}, 0, 0, 4, func(err error) bool {
			var gu *GiveUpError
			return errors.As(err, &gu) && gu.Attempts == 4 && errors.Is(err, errBusy)
		}},
		{"stop is not resent", []Verdict{Stop}, 0, 0, 1, func(err error) bool { return err == errBusy }},
		{"one free retry", []Verdict{{Retry: true, Free: true}, Resend}, 5, 0, 5, func(err error) bool { return err == nil }},
		{"a second free retry is refused", []Verdict{{Retry: true, Free: true}}, 0, 0, 2, func(err error) bool { return err == errBusy }},
		{"no wait past the deadline", []Verdict{{Retry: true, Wait: time.Hour}}, 0, time.Second, 1, func(err error) bool {
			var de *DeadlineError
			return errors.As(err, &de) && errors.Is(err, context.DeadlineExceeded) && errors.Is(err, errBusy)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			calls, retries := 0, 0
			l := Loop{MaxAttempts: 4, Backoff: fast, OnRetry: func(context.Context, int, time.Duration, error) { retries++ }}
			start := time.Now()
			err := l.Do(ctx, func(_ context.Context, n int) (Verdict, error) {
				calls++
				if tt.succeedAt > 0 && calls == tt.succeedAt {
					return Stop, nil
				}
				return tt.verdicts[min(calls, len(tt.verdicts))-1], errBusy
			})
			if calls != tt.wantCalls || !tt.check(err) {
				t.Errorf("%d calls, err %v; want %d calls", calls, err, tt.wantCalls)
			}
			if time.Since(start) > 500*time.Millisecond {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestLoopHonoursServerWaitAndCancel(t *testing.T) {
	l := Loop{MaxAttempts: 3, Backoff: Backoff{Initial: time.Millisecond, Max: time.Millisecond}}
	start := time.Now()
	_ = l.Do(context.Background(), func(context.Context, int) (Verdict, error) {
		return Verdict{Retry: true, Wait: 50 * time.Millisecond}, errBusy
	})
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("two 50 ms server waits took %v", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start = time.Now()
	err := Loop{MaxAttempts: 3, Backoff: Backoff{Initial: time.Minute, Max: time.Minute}}.Do(ctx,
		func(context.Context, int) (Verdict, error) { return Resend, errBusy })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errBusy) || time.Since(start) > time.Second {
		t.Errorf("cancel during a wait: %v after %v", err, time.Since(start))
	}
}

func TestTransient(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&url.Error{Op: "Post", URL: "http://x", Err: io.EOF}, true},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{syscall.ECONNRESET, true},
		{net.ErrClosed, true},
		{errors.New("HTTP 400"), false},
		{context.Canceled, false},
	} {
		if got := Transient(tt.err); got != tt.want {
			t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	err := Redact(&url.Error{Op: "Post", URL: "http://acct:secret@host/x?token=t", Err: io.EOF})
	if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "token") || !errors.Is(err, io.EOF) {
		t.Errorf("Redact = %v", err)
	}
}

func TestBaseURL(t *testing.T) {
	for _, tt := range []struct{ raw, want, wantErr string }{
		{"https://api.example.com", "https://api.example.com", ""},
		{" http://localhost:8080/hubspot/ ", "http://localhost:8080/hubspot", ""},
		{"ftp://example.com", "", "want http(s)"},
		{"https://", "", "want http(s)"},
		{"https://acct:pat@example.com", "", "user info"},
		{"https://example.com/?a=1", "", "no query"},
		{"https://example.com/#f", "", "no query"},
	} {
		u, err := BaseURL(tt.raw)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "pat") {
				t.Errorf("BaseURL(%q) = %v, %v; want error %q without credentials", tt.raw, u, err, tt.wantErr)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("BaseURL(%q) = %v, %v; want %s", tt.raw, u, err, tt.want)
		}
	}
}

func TestReadBody(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("stale")
	if err := ReadBody(&buf, strings.NewReader("0123456789"), 10); err != nil || buf.String() != "0123456789" {
		t.Errorf("at the cap: %q, %v", buf.String(), err)
	}
	if err := ReadBody(&buf, strings.NewReader("0123456789X"), 10); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("over the cap: %v", err)
	}
}
