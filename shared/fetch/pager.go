package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// pager is the Stream every source uses: it holds a source cursor C, reads records R page by
// page, and builds payloads with the reference data. It is a Waiter when wait is set.
type pager[R, C any] struct {
	next    func(ctx context.Context, cur C) ([]R, C, bool, error)
	payload func(records []R) any
	wait    func(cur C) time.Duration // how long the client would hold the page at cur (optional)
	cur     C
	pending []R
	done    bool
	from    time.Time
	to      time.Time
}

// pagerCheckpoint is the resume point of a pager, as stored with the run.
type pagerCheckpoint[C any] struct {
	Cursor C         `json:"cursor"`
	Done   bool      `json:"done"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
}

func (p *pager[R, C]) Next(ctx context.Context) (bool, error) {
	if p.done {
		return true, nil
	}
	recs, next, done, err := p.next(ctx, p.cur)
	if err != nil {
		return false, err
	}
	p.pending = append(p.pending, recs...)
	p.cur, p.done = next, done
	return done, nil
}

func (p *pager[R, C]) Pending() int { return len(p.pending) }

// NextWait implements Waiter.
func (p *pager[R, C]) NextWait() time.Duration {
	if p.done || p.wait == nil {
		return 0
	}
	return p.wait(p.cur)
}

func (p *pager[R, C]) Payload(n int) (json.RawMessage, error) {
	b, err := json.Marshal(p.payload(p.pending[:n]))
	if err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	return b, nil
}

func (p *pager[R, C]) Drop(n int) {
	rest := copy(p.pending, p.pending[n:])
	clear(p.pending[rest:])
	p.pending = p.pending[:rest]
}

func (p *pager[R, C]) Checkpoint() ([]byte, error) {
	return json.Marshal(pagerCheckpoint[C]{Cursor: p.cur, Done: p.done, From: p.from, To: p.to})
}

func (p *pager[R, C]) Window() (time.Time, time.Time) { return p.from, p.to }

// resumePager restores a pager's cursor and window from a checkpoint.
func resumePager[R, C any](p *pager[R, C], checkpoint []byte) error {
	var cp pagerCheckpoint[C]
	if err := json.Unmarshal(checkpoint, &cp); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	p.cur, p.done, p.from, p.to = cp.Cursor, cp.Done, cp.From, cp.To
	return nil
}
