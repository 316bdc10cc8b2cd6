package fetch

import (
	"context"
	"fmt"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/livechat"
)

// Chats reads LiveChat threads with list_archives. list_archives filters by thread start
// only, so full and incremental runs read the same way: every thread started in the window,
// oldest first (an incremental run's window starts a look-back before the cursor, long enough
// to pick up ratings added after a thread ended). Every batch carries all agents, bots (those of
// other apps included) and groups, read once per invocation.
type Chats struct {
	Client *livechat.Client
}

// Name implements Source.
func (c *Chats) Name() batch.Source { return batch.Chats }

// Requests implements Source.
func (c *Chats) Requests() int64 { return c.Client.Requests() }

// Open implements Source.
func (c *Chats) Open(ctx context.Context, _ batch.Mode, from, to time.Time) (Stream, error) {
	p, err := c.pager(ctx, livechat.NewCursor(from, to))
	if err != nil {
		return nil, err
	}
	p.from, p.to = from, to
	return p, nil
}

// Resume implements Source.
func (c *Chats) Resume(ctx context.Context, checkpoint []byte) (Stream, error) {
	p, err := c.pager(ctx, livechat.Cursor{})
	if err != nil {
		return nil, err
	}
	return p, resumePager(p, checkpoint)
}

func (c *Chats) pager(ctx context.Context, cur livechat.Cursor) (*pager[livechat.Chat, livechat.Cursor], error) {
	agents, err := c.Client.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("livechat agents: %w", err)
	}
	bots, err := c.Client.Bots(ctx)
	if err != nil {
		return nil, fmt.Errorf("livechat bots: %w", err)
	}
	groups, err := c.Client.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("livechat groups: %w", err)
	}
	return &pager[livechat.Chat, livechat.Cursor]{
		cur:  cur,
		next: c.Client.Next,
		wait: func(livechat.Cursor) time.Duration { return c.Client.NextWait() },
		payload: func(recs []livechat.Chat) any {
			return livechat.Payload{Chats: recs, Agents: agents, Bots: bots, Groups: groups}
		},
	}, nil
}
