package hubspot

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"supportsync.dev/shared/httpcall"
)

// paceSlack stretches the window a little beyond the exact limit (3%, and at least
// minPaceSlack), so that a request that travels faster than the one n before it never lets n+1
// requests arrive within one window at the server.
const (
	paceSlack    = 0.03
	minPaceSlack = 50 * time.Millisecond
)

// pacer keeps requests under "n in any rolling window", the way HubSpot counts them: it
// remembers when the last n requests were sent and lets the next one go once the oldest of
// them is a window (plus paceSlack) old. So a run may start with a burst of n, and then goes
// at n per window: N requests take floor((N-1)/n) windows, which is the floor the limit sets
// (a token bucket with rate n/window would take N/n windows, nearly a window more on short
// runs; one with burst n would allow 2n in a window). golang.org/x/time/rate has no rolling
// window, hence this small ring.
//
// After a 429 the pacer also holds every caller until the server's window has passed.
type pacer struct {
	n      int
	window time.Duration // including paceSlack

	mu        sync.Mutex
	sent      []time.Time // send times of the last n requests, oldest at next once full
	next      int
	holdUntil time.Time
}

// newPacer returns a pacer for n requests per window; nil when n is 0 (no limit). A
// fractional n (say 2.5 per second) becomes whole requests over a proportionally longer
// window (2 per 0.8 s).
func newPacer(n float64, window time.Duration) *pacer {
	if n <= 0 {
		return nil
	}
	count := max(1, int(math.Floor(n)))
	w := time.Duration(float64(window) * float64(count) / n)
	w += max(time.Duration(float64(w)*paceSlack), minPaceSlack)
	return &pacer{n: count, window: w, sent: make([]time.Time, 0, count)}
}

// hold makes every caller wait at least d from now.
func (p *pacer) hold(d time.Duration) {
	if p == nil || d <= 0 {
		return
	}
	until := time.Now().Add(d)
	p.mu.Lock()
	if until.After(p.holdUntil) {
		p.holdUntil = until
	}
	p.mu.Unlock()
}

// earliest returns the earliest send time allowed at or after now. The caller holds p.mu.
func (p *pacer) earliest(now time.Time) time.Time {
	t := now
	if p.holdUntil.After(t) {
		t = p.holdUntil
	}
	if len(p.sent) == p.n {
		if e := p.sent[p.next].Add(p.window); e.After(t) {
			t = e
		}
	}
	return t
}

// delay returns how long a request asked for at now would wait, booking nothing; 0 for a nil
// pacer (no limit).
func (p *pacer) delay(now time.Time) time.Duration {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(p.earliest(now).Sub(now), 0)
}

// reserve books the earliest send time allowed at or after now and returns it, unless that
// time is after limit (a non-zero limit), in which case nothing is booked.
func (p *pacer) reserve(now, limit time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.earliest(now)
	if !limit.IsZero() && t.After(limit) {
		return t, false
	}
	if len(p.sent) == p.n {
		p.sent[p.next] = t
		p.next = (p.next + 1) % p.n
	} else {
		p.sent = append(p.sent, t)
	}
	return t, true
}

// wait blocks until a request may be sent. It never sleeps past ctx's deadline: a wait
// that would is refused at once with context.DeadlineExceeded (and books nothing).
func (p *pacer) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return nil
	}
	now := time.Now()
	dl, _ := ctx.Deadline()
	at, ok := p.reserve(now, dl)
	d := at.Sub(now)
	if !ok {
		return fmt.Errorf("rate limit wait %s would pass the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	if d <= 0 {
		return nil
	}
	// A cancelled wait keeps its booking: the pacer stays on the safe side.
	return httpcall.Sleep(ctx, d)
}

// NextWait returns how long a request sent now would wait for the client's own pacing: the
// search limit's when search is set, else the general limit's, a 429's hold included. It books
// nothing, so it is only a forecast (a concurrent caller may take the slot first); 0 when the
// request could go at once or that limit is off. A caller that has work to hand on (fetch,
// with records pending) uses it to do that work before the wait rather than after.
func (c *Client) NextWait(search bool) time.Duration {
	if search {
		return c.search.delay(time.Now())
	}
	return c.general.delay(time.Now())
}

// PageWait is NextWait for the request Next(cur) sends first: a search in the incremental
// cursor's window and tie phases, a list call otherwise; 0 for a finished cursor.
func (c *Client) PageWait(cur Cursor) time.Duration {
	if cur.Done {
		return 0
	}
	return c.NextWait(cur.Mode == ModeIncremental && (cur.Phase == phaseWindow || cur.Phase == phaseTie))
}
