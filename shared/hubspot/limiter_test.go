package hubspot_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
)

// TestPacingNearFloor checks that, with limits on in both the client and the fake, N
// requests take close to the floor the limits set (N / rate), and the fake never answers 429.
// The windows are shortened so the test stays fast; the pacing arithmetic is the same.
func TestPacingNearFloor(t *testing.T) {
	tests := []struct {
		name      string
		perWindow int
		window    time.Duration
		searchPS  int
		requests  int
		search    bool
	}{
		{"general 100 per 2s", 100, 2 * time.Second, 0, 150, false},
		{"general 20 per second", 20, time.Second, 0, 60, false},
		{"search 40 per second", 0, time.Second, 40, 60, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ds := hubspotfake.Fixture(1, 20, now)
			c, ts := setup(t, ds,
				[]hubspotfake.Option{hubspotfake.WithLimits(tt.perWindow, tt.searchPS), hubspotfake.WithLimitWindow(tt.window)},
				hubspot.WithLimits(tt.perWindow, float64(tt.searchPS)), hubspot.WithLimitWindow(tt.window))
			start := time.Now()
			for range tt.requests {
				var err error
				if tt.search {
					_, err = c.SearchTickets(context.Background(), hubspot.SearchQuery{Limit: 5})
				} else {
					_, err = c.ListTickets(context.Background(), hubspot.ListQuery{Limit: 5})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			// The floor "n in any rolling window" sets: request k (from 0) cannot go before
			// floor(k/n) windows, so N requests need floor((N-1)/n) windows.
			n, window := tt.perWindow, tt.window
			if tt.search {
				n, window = tt.searchPS, time.Second
			}
			floor := time.Duration((tt.requests-1)/n) * window
			t.Logf("%d requests in %s, floor %s (%.2fx)", tt.requests, elapsed, floor, float64(elapsed)/float64(floor))
			if elapsed > floor*12/10 {
				t.Errorf("took %s, more than 1.2x the floor %s", elapsed, floor)
			}
			if elapsed < floor*8/10 {
				t.Errorf("took %s, well under the floor %s: not pacing", elapsed, floor)
			}
			if n := ts.RateLimited(); n != 0 {
				t.Errorf("fake answered %d 429s under the client's pacing", n)
			}
			if c.Requests() != int64(tt.requests) {
				t.Errorf("%d requests sent, want %d", c.Requests(), tt.requests)
			}
		})
	}
}

// TestFakeLimiterAnswers429 checks the fake's own limits (an unpaced client gets 429s with
// the right shape and recovers by honouring them).
func TestFakeLimiterAnswers429(t *testing.T) {
	ds := hubspotfake.Fixture(1, 20, now)
	c, ts := setup(t, ds,
		[]hubspotfake.Option{hubspotfake.WithLimits(10, 4), hubspotfake.WithLimitWindow(200 * time.Millisecond)},
		hubspot.WithLimits(0, 0), hubspot.WithMaxAttempts(10), hubspot.WithLimitWindow(200*time.Millisecond))
	hubspot.SetRetryWaits(c, 5*time.Millisecond, 300*time.Millisecond) // the fake's search window is 1 s
	for range 30 {
		if _, err := c.ListTickets(context.Background(), hubspot.ListQuery{Limit: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for range 6 {
		if _, err := c.SearchTickets(context.Background(), hubspot.SearchQuery{Limit: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if ts.RateLimited() == 0 {
		t.Error("the fake never rate limited an unpaced client")
	}
}

// TestNextWaitForecastsThePacer: NextWait and PageWait say how long the next request would
// wait in the client's pacing without booking anything: nothing while the window has room, about
// a window once it is full (the limit's own pacer only: a full general window leaves search
// free), nothing with the limits off, and asking does not change what the next request waits.
func TestNextWaitForecastsThePacer(t *testing.T) {
	const window = 600 * time.Millisecond
	ds := hubspotfake.Fixture(1, 20, now)
	c, _ := setup(t, ds, nil, hubspot.WithLimits(5, 2), hubspot.WithLimitWindow(window))
	full, incr := hubspot.NewFullCursor(time.Time{}), hubspot.NewIncrementalCursor(now.Add(-time.Hour), now)
	for i := range 5 {
		if w := c.NextWait(false); w != 0 {
			t.Fatalf("before request %d of 5: NextWait = %s, want 0", i+1, w)
		}
		if _, err := c.ListTickets(context.Background(), hubspot.ListQuery{Limit: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // asking books nothing: the forecast stays put
		if w := c.NextWait(false); w < window*8/10 || w > window*11/10 {
			t.Fatalf("window full: NextWait = %s, want about %s", w, window)
		}
	}
	tests := []struct {
		name string
		got  time.Duration
		min  time.Duration
		max  time.Duration
	}{
		{"PageWait of a full cursor (list)", c.PageWait(full), window / 2, window * 11 / 10},
		{"PageWait of an incremental cursor (search, free)", c.PageWait(incr), 0, 0},
		{"NextWait of a search", c.NextWait(true), 0, 0},
		{"PageWait of a finished cursor", c.PageWait(hubspot.Cursor{Done: true}), 0, 0},
	}
	for _, tt := range tests {
		if tt.got < tt.min || tt.got > tt.max {
			t.Errorf("%s = %s, want %s..%s", tt.name, tt.got, tt.min, tt.max)
		}
	}
	forecast := c.NextWait(false)
	start := time.Now()
	if _, err := c.ListTickets(context.Background(), hubspot.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < forecast-50*time.Millisecond {
		t.Errorf("the sixth request went after %s, before the forecast %s", took, forecast)
	}

	off, _ := setup(t, ds, nil) // setup turns the client's limits off
	if _, err := off.ListTickets(context.Background(), hubspot.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if w, p := off.NextWait(false), off.PageWait(full); w != 0 || p != 0 {
		t.Errorf("limits off: NextWait %s, PageWait %s; want 0", w, p)
	}
}

// slowUplink delays the sending of the first request of every twenty, as a network whose
// latency varies from one request to the next: the server counts a request when it arrives, not when
// the client sent it.
type slowUplink struct {
	n     atomic.Int64
	delay time.Duration
}

func (s *slowUplink) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.n.Add(1)%20 == 1 {
		time.Sleep(s.delay)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestPacingHoldsWhateverTheLatency: requests whose latency to the server varies by far more
// than the pacing's margin never exceed the limit as the server counts them, because the next
// window is timed from the answer of the request a window before (it arrived before its
// answer), not from its send.
func TestPacingHoldsWhateverTheLatency(t *testing.T) {
	ds := hubspotfake.Fixture(1, 20, now)
	const window = 500 * time.Millisecond
	c, ts := setup(t, ds,
		[]hubspotfake.Option{hubspotfake.WithLimits(10, 0), hubspotfake.WithLimitWindow(window)},
		hubspot.WithLimits(10, 0), hubspot.WithLimitWindow(window), hubspot.WithMaxAttempts(1),
		hubspot.WithHTTPClient(&http.Client{Transport: &slowUplink{delay: 250 * time.Millisecond}, Timeout: 5 * time.Second}))
	for i := range 35 {
		if _, err := c.ListTickets(context.Background(), hubspot.ListQuery{Limit: 1}); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if n := ts.RateLimited(); n != 0 {
		t.Errorf("the server rate limited %d requests", n)
	}
}
