package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Cursor modes.
const (
	ModeFull        = "full"
	ModeIncremental = "incremental"
)

// Phases of an incremental cursor.
const (
	phaseWindow = ""     // search the window slice [Lo, To) by hs_lastmodifieddate
	phaseTie    = "tie"  // search hs_lastmodifieddate == TieAt by hs_object_id (keyset)
	phaseList   = "list" // fallback: scan the list endpoint, filter the window client-side
)

// Cursor is the position of a ticket stream, serializable as JSON so that a fetch can
// checkpoint and resume in another process. Create one with NewFullCursor or
// NewIncrementalCursor and advance it with Client.Next; treat the fields as opaque apart
// from the counters. The high-water mark a run stores is decided by its caller (fetch stores
// the window's end, the run's start).
//
// How an incremental cursor gets past search's 10,000-result ceiling: it searches the
// window [From, To) sorted by hs_lastmodifieddate ascending, 200 a page. Before the next page
// would pass offset 10,000 (or when HubSpot answers that page with a 400) it notes the latest
// modified time T it has seen in the slice and the ids it saw at T, then reads every ticket
// modified exactly at T with a second search (hs_lastmodifieddate EQ T, sorted by
// hs_object_id, restarted with hs_object_id GT last id every 10,000), skipping the ids already
// seen, and then resumes the window at hs_lastmodifieddate GT T. Each ticket of the window is
// returned once even when more than 10,000 share one timestamp, and the loop always advances.
// If a timestamp cannot be read it falls back to scanning the list endpoint and filtering
// updatedAt into the window client-side.
type Cursor struct {
	Mode        string    `json:"mode"`
	CreatedFrom time.Time `json:"created_from,omitzero"` // full: keep tickets created at or after
	From        time.Time `json:"from,omitzero"`         // incremental: window start (inclusive)
	To          time.Time `json:"to,omitzero"`           // incremental: window end (exclusive); zero = open

	Phase       string    `json:"phase,omitempty"`
	After       string    `json:"after,omitempty"` // list cursor or search offset of the next page
	Lo          time.Time `json:"lo,omitzero"`     // lower bound of the current window slice
	LoExclusive bool      `json:"lo_exclusive,omitempty"`
	BoundaryAt  time.Time `json:"boundary_at,omitzero"`   // latest modified time seen in the slice
	BoundaryIDs []string  `json:"boundary_ids,omitempty"` // ids seen at BoundaryAt (skipped in the tie phase)
	TieAt       time.Time `json:"tie_at,omitzero"`
	TieAfterID  string    `json:"tie_after_id,omitempty"`
	TieMaxID    string    `json:"tie_max_id,omitempty"`

	Total    int  `json:"total,omitempty"`    // matches the first search reported
	Pages    int  `json:"pages"`              // pages fetched
	Fetched  int  `json:"fetched"`            // tickets returned
	Restarts int  `json:"restarts,omitempty"` // 10,000-cap restarts
	Done     bool `json:"done,omitempty"`
}

// NewFullCursor streams every (non-archived) ticket created at or after createdFrom
// through the list endpoint, 100 a page. A zero createdFrom keeps every ticket.
func NewFullCursor(createdFrom time.Time) Cursor {
	return Cursor{Mode: ModeFull, CreatedFrom: createdFrom.UTC()}
}

// NewIncrementalCursor streams every ticket whose hs_lastmodifieddate is in [from, to)
// through search, 200 a page, past the 10,000-result ceiling (see Cursor). Bounds are
// truncated to milliseconds, HubSpot's precision. A zero to leaves the window open; give
// one (the run's start, or now minus a little) so the window is stable.
func NewIncrementalCursor(from, to time.Time) Cursor {
	from, to = from.UTC().Truncate(time.Millisecond), to.UTC().Truncate(time.Millisecond)
	return Cursor{Mode: ModeIncremental, From: from, To: to, Lo: from}
}

// Next fetches one page of the stream at cur. It returns the tickets, the cursor for the
// following call and whether the stream is finished (done tickets may be non-empty). On
// error cur is unchanged and can be retried. The stream stops only when HubSpot's answer has
// no paging.next: a short or empty page with a next link is not the end.
func (c *Client) Next(ctx context.Context, cur Cursor) (tickets []Ticket, next Cursor, done bool, err error) {
	if cur.Done {
		return nil, cur, true, nil
	}
	next = cur
	next.BoundaryIDs = slices.Clone(cur.BoundaryIDs)
	switch {
	case cur.Mode == ModeFull:
		tickets, err = c.nextFull(ctx, &next)
	case cur.Mode == ModeIncremental && cur.Phase == phaseWindow:
		tickets, err = c.nextWindow(ctx, &next)
	case cur.Mode == ModeIncremental && cur.Phase == phaseTie:
		tickets, err = c.nextTie(ctx, &next)
	case cur.Mode == ModeIncremental && cur.Phase == phaseList:
		tickets, err = c.nextList(ctx, &next)
	default:
		return nil, cur, false, fmt.Errorf("hubspot.Next: bad cursor (mode %q, phase %q)", cur.Mode, cur.Phase)
	}
	if err != nil {
		return nil, cur, false, err
	}
	next.Pages++
	next.Fetched += len(tickets)
	return tickets, next, next.Done, nil
}

func (c *Client) nextFull(ctx context.Context, cur *Cursor) ([]Ticket, error) {
	page, err := c.ListTickets(ctx, ListQuery{After: cur.After})
	if err != nil {
		return nil, err
	}
	if page.Next != "" && page.Next == cur.After {
		return nil, fmt.Errorf("hubspot.Next: list cursor %q repeats", page.Next)
	}
	kept := page.Tickets[:0]
	for _, t := range page.Tickets {
		if cr := createdAt(&t); cur.CreatedFrom.IsZero() || cr.IsZero() || !cr.Before(cur.CreatedFrom) {
			kept = append(kept, t)
		}
	}
	cur.After = page.Next
	cur.Done = page.Next == ""
	return kept, nil
}

func (c *Client) nextList(ctx context.Context, cur *Cursor) ([]Ticket, error) {
	page, err := c.ListTickets(ctx, ListQuery{After: cur.After})
	if err != nil {
		return nil, err
	}
	if page.Next != "" && page.Next == cur.After {
		return nil, fmt.Errorf("hubspot.Next: list cursor %q repeats", page.Next)
	}
	kept := page.Tickets[:0]
	for _, t := range page.Tickets {
		if cur.inWindow(modifiedAt(&t)) {
			kept = append(kept, t)
		}
	}
	cur.After = page.Next
	cur.Done = page.Next == ""
	return kept, nil
}

// inWindow reports whether m is in [From, To).
func (c *Cursor) inWindow(m time.Time) bool {
	return !m.IsZero() && !m.Before(c.From) && (c.To.IsZero() || m.Before(c.To))
}

func (c *Client) nextWindow(ctx context.Context, cur *Cursor) ([]Ticket, error) {
	op := "GTE"
	if cur.LoExclusive {
		op = "GT"
	}
	fs := []Filter{{PropertyName: "hs_lastmodifieddate", Operator: op, Value: Millis(cur.Lo)}}
	if !cur.To.IsZero() {
		fs = append(fs, Filter{PropertyName: "hs_lastmodifieddate", Operator: "LT", Value: Millis(cur.To)})
	}
	page, err := c.Search(ctx, SearchRequest{
		FilterGroups: []FilterGroup{{Filters: fs}},
		Sorts:        []Sort{{PropertyName: "hs_lastmodifieddate", Direction: "ASCENDING"}},
		Limit:        MaxSearchLimit,
		After:        cur.After,
	})
	if err != nil {
		if cur.After != "" && isCapError(err) {
			c.log.InfoContext(ctx, "hubspot: search refused the next page, restarting the window", "after", cur.After)
			return nil, cur.capWindow()
		}
		return nil, err
	}
	if cur.After == "" && cur.Pages == 0 {
		cur.Total = page.Total
	}
	for i := range page.Tickets {
		t := &page.Tickets[i]
		m := modifiedAt(t)
		if !cur.inWindow(m) || m.Before(cur.BoundaryAt) {
			continue
		}
		if m.After(cur.BoundaryAt) {
			cur.BoundaryAt, cur.BoundaryIDs = m, cur.BoundaryIDs[:0]
		}
		cur.BoundaryIDs = append(cur.BoundaryIDs, t.ID)
	}
	if page.Next == "" {
		cur.Done = true
		cur.After, cur.BoundaryAt, cur.BoundaryIDs = "", time.Time{}, nil
		return page.Tickets, nil
	}
	if past, err := pastCap(page.Next); err != nil {
		return nil, err
	} else if past {
		return page.Tickets, cur.capWindow()
	}
	cur.After = page.Next
	return page.Tickets, nil
}

// capWindow switches a window slice that reached the 10,000 ceiling to the tie phase on
// the latest modified time seen (or to the list fallback when none could be read).
func (cur *Cursor) capWindow() error {
	cur.Restarts++
	cur.After = ""
	if cur.BoundaryAt.IsZero() {
		cur.Phase = phaseList
		cur.BoundaryIDs = nil
		return nil
	}
	cur.Phase = phaseTie
	cur.TieAt, cur.TieAfterID, cur.TieMaxID = cur.BoundaryAt, "", ""
	slices.Sort(cur.BoundaryIDs)
	cur.BoundaryIDs = slices.Compact(cur.BoundaryIDs)
	return nil
}

func (c *Client) nextTie(ctx context.Context, cur *Cursor) ([]Ticket, error) {
	fs := []Filter{{PropertyName: "hs_lastmodifieddate", Operator: "EQ", Value: Millis(cur.TieAt)}}
	if cur.TieAfterID != "" {
		fs = append(fs, Filter{PropertyName: "hs_object_id", Operator: "GT", Value: cur.TieAfterID})
	}
	page, err := c.Search(ctx, SearchRequest{
		FilterGroups: []FilterGroup{{Filters: fs}},
		Sorts:        []Sort{{PropertyName: "hs_object_id", Direction: "ASCENDING"}},
		Limit:        MaxSearchLimit,
		After:        cur.After,
	})
	capped := false
	if err != nil {
		if cur.After == "" || !isCapError(err) {
			return nil, err
		}
		capped = true
		page = &TicketPage{}
	}
	kept := page.Tickets[:0]
	for _, t := range page.Tickets {
		if idLess(cur.TieMaxID, t.ID) {
			cur.TieMaxID = t.ID
		}
		if _, seen := slices.BinarySearch(cur.BoundaryIDs, t.ID); !seen {
			kept = append(kept, t)
		}
	}
	if !capped && page.Next == "" {
		// Every ticket at TieAt is read: resume the window just after it.
		cur.Phase, cur.After = phaseWindow, ""
		cur.Lo, cur.LoExclusive = cur.TieAt, true
		cur.BoundaryAt, cur.BoundaryIDs = time.Time{}, nil
		cur.TieAt, cur.TieAfterID, cur.TieMaxID = time.Time{}, "", ""
		return kept, nil
	}
	if !capped {
		past, err := pastCap(page.Next)
		if err != nil {
			return nil, err
		}
		if !past {
			cur.After = page.Next
			return kept, nil
		}
	}
	// Restart the keyset after the largest id seen.
	cur.Restarts++
	if cur.TieMaxID == "" || !idLess(cur.TieAfterID, cur.TieMaxID) {
		cur.Phase, cur.After, cur.BoundaryIDs = phaseList, "", nil
		return kept, nil
	}
	cur.TieAfterID, cur.After = cur.TieMaxID, ""
	return kept, nil
}

// pastCap reports whether the page at offset next would pass search's 10,000 ceiling.
func pastCap(next string) (bool, error) {
	n, err := strconv.Atoi(next)
	if err != nil {
		return false, fmt.Errorf("hubspot.Next: search paging offset %q is not a number", next)
	}
	return n+MaxSearchLimit > SearchCap, nil
}

// isCapError reports whether err is HubSpot's 400 for paging past 10,000 results.
func isCapError(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest
}

// idLess orders numeric ids ("" first), falling back to string order.
func idLess(a, b string) bool {
	if a == "" {
		return b != ""
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// modifiedAt is a ticket's hs_lastmodifieddate (or updatedAt), zero when unknown.
func modifiedAt(t *Ticket) time.Time {
	if m, err := time.Parse(time.RFC3339Nano, t.Prop("hs_lastmodifieddate")); err == nil {
		return m.UTC()
	}
	return t.UpdatedAt.UTC()
}

// createdAt is a ticket's createdate (or createdAt), zero when unknown.
func createdAt(t *Ticket) time.Time {
	if !t.CreatedAt.IsZero() {
		return t.CreatedAt
	}
	if m, err := time.Parse(time.RFC3339Nano, t.Prop("createdate")); err == nil {
		return m
	}
	return time.Time{}
}
