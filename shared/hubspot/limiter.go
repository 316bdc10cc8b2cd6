package hubspot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// paceSlack stretches the limiter's spacing a little beyond the exact limit, so that jitter
// between the client's clock and the server's never lets n+1 requests land in one window.
const paceSlack = 0.03

// pacer keeps requests under "n in any rolling window". It is a token bucket with burst 1
// and rate n/(window·(1+paceSlack)): consecutive requests are at least window·1.03/n apart,
// so n+1 requests span more than the window. (A bucket with burst b and rate r allows
// b + r·window requests in one window: rate n/window with burst n would allow 2n.) A
// sequential caller runs at 1/1.03 of the limit, about 3 % above the floor the limit sets.
//
// After a 429 the pacer also holds every caller until the server's window has passed.
type pacer struct {
	lim *rate.Limiter

	mu        sync.Mutex
	holdUntil time.Time
}

// newPacer returns a pacer for n requests per window; nil when n is 0 (no limit).
func newPacer(n float64, window time.Duration) *pacer {
	if n <= 0 {
		return nil
	}
	r := rate.Limit(n / (window.Seconds() * (1 + paceSlack)))
	return &pacer{lim: rate.NewLimiter(r, 1)}
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

// wait blocks until a request may be sent. It never sleeps past ctx's deadline: a wait
// that would is refused at once with context.DeadlineExceeded.
func (p *pacer) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return nil
	}
	p.mu.Lock()
	held := time.Until(p.holdUntil)
	p.mu.Unlock()
	if held > 0 {
		if err := sleep(ctx, held); err != nil {
			return err
		}
	}
	res := p.lim.Reserve()
	d := res.Delay()
	if d == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		res.Cancel()
		return fmt.Errorf("rate limit wait %s would pass the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.Cancel()
		return ctx.Err()
	}
}
