package fetch

import (
	"context"
	"fmt"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/hubspot"
)

// Tickets reads HubSpot tickets: a full run lists every ticket created in the window (the list
// endpoint has no 10,000-result cap); an incremental run searches by last-modified time.
// Every batch carries all owners (active and archived) and pipelines.
type Tickets struct {
	Client *hubspot.Client
}

// Name implements Source.
func (t *Tickets) Name() batch.Source { return batch.Tickets }

// Requests implements Source.
func (t *Tickets) Requests() int64 { return t.Client.Requests() }

// Open implements Source.
func (t *Tickets) Open(ctx context.Context, mode batch.Mode, from, to time.Time) (Stream, error) {
	cur := hubspot.NewIncrementalCursor(from, to)
	if mode == batch.Full {
		cur = hubspot.NewFullCursor(from)
	}
	p, err := t.pager(ctx, cur)
	if err != nil {
		return nil, err
	}
	p.from, p.to = from, to
	return p, nil
}

// Resume implements Source.
func (t *Tickets) Resume(ctx context.Context, checkpoint []byte) (Stream, error) {
	p, err := t.pager(ctx, hubspot.Cursor{})
	if err != nil {
		return nil, err
	}
	return p, resumePager(p, checkpoint)
}

func (t *Tickets) pager(ctx context.Context, cur hubspot.Cursor) (*pager[hubspot.Ticket, hubspot.Cursor], error) {
	owners, err := t.Client.Owners(ctx)
	if err != nil {
		return nil, fmt.Errorf("hubspot owners: %w", err)
	}
	pipelines, err := t.Client.Pipelines(ctx)
	if err != nil {
		return nil, fmt.Errorf("hubspot pipelines: %w", err)
	}
	return &pager[hubspot.Ticket, hubspot.Cursor]{
		cur:  cur,
		next: t.Client.Next,
		wait: t.Client.PageWait,
		payload: func(recs []hubspot.Ticket) any {
			return hubspot.Payload{Tickets: recs, Owners: owners, Pipelines: pipelines}
		},
	}, nil
}
