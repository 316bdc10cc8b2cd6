package hubspot

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"supportsync.dev/shared/httpcall"
)

// paceSlack is added to the window: the gap between a request's answer and the send of the
// request n after it, so the server can never count n+1 in one window (see pacer).
const paceSlack = 50 * time.Millisecond

// pacer keeps requests under "n in any rolling window", the way HubSpot counts them: it
// remembers the last n requests and lets the next one go once the oldest of them is a window
// (plus paceSlack) old, counted from when its answer came back. The server counted that
// request at some instant between its send and its answer, so anchoring on the answer keeps n+1
// requests out of any window whatever the network's latency does (anchoring on the send needs a
// margin for latency jitter, 3 % of the window it was, which the floor then pays at every
// window). So a run may start with a burst of n, and then goes at n per window: N requests take
// floor((N-1)/n) windows, which is the floor the limit sets (a token bucket with rate n/window
// would take N/n windows, nearly a window more on short runs; one with burst n would allow 2n
// in a window). golang.org/x/time/rate has no rolling window, hence this small ring.
//
// After a 429 the pacer also holds every caller until the server's window has passed.
type pacer struct {
	n      int
	window time.Duration // including paceSlack

	mu        sync.Mutex
	sent      []time.Time // per slot: the send time, then the answer's time; oldest at next once full
	tickets   []uint64    // per slot: the request that holds it (see answered)
	issued    uint64
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
	return &pacer{n: count, window: w + paceSlack, sent: make([]time.Time, 0, count), tickets: make([]uint64, 0, count)}
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

// reserve books the earliest send time allowed at or after now and returns it with the
// booking's ticket, unless that time is after limit (a non-zero limit), in which case nothing
// is booked.
func (p *pacer) reserve(now, limit time.Time) (time.Time, uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.earliest(now)
	if !limit.IsZero() && t.After(limit) {
		return t, 0, false
	}
	p.issued++
	if len(p.sent) == p.n {
		p.sent[p.next], p.tickets[p.next] = t, p.issued
		p.next = (p.next + 1) % p.n
	} else {
		p.sent, p.tickets = append(p.sent, t), append(p.tickets, p.issued)
	}
	return t, p.issued, true
}

// answered moves a booking to now, when the request's answer (or failure) came back: the
// request n after it is timed from there. A booking already reused by a later one is left.
func (p *pacer) answered(ticket uint64) {
	if p == nil || ticket == 0 {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, tk := range p.tickets {
		if tk == ticket && now.After(p.sent[i]) {
			p.sent[i] = now
		}
	}
}

// wait blocks until a request may be sent and returns its booking's ticket, for answered. It
// never sleeps past ctx's deadline: a wait that would is refused at once with
// context.DeadlineExceeded (and books nothing).
func (p *pacer) wait(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p == nil {
		return 0, nil
	}
	now := time.Now()
	dl, _ := ctx.Deadline()
	at, ticket, ok := p.reserve(now, dl)
	d := at.Sub(now)
	if !ok {
		return 0, fmt.Errorf("rate limit wait %s would pass the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	if d <= 0 {
		return ticket, nil
	}
	// A cancelled wait keeps its booking: the pacer stays on the safe side.
	return ticket, httpcall.Sleep(ctx, d)
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
