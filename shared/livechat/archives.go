package livechat

import (
	"context"
	"errors"
	"time"
)

// MaxLimit is the largest page list_archives returns.
const MaxLimit = 100

// ArchivesQuery selects a page of list_archives. Either PageID is set (a follow-up page:
// only the page id is sent, as the API requires) or From / To (a zero bound is left out)
// describe the first page, sorted oldest first.
type ArchivesQuery struct {
	From, To time.Time
	PageID   string
	// Limit is the page size, 1..MaxLimit; 0 means MaxLimit. Ignored with PageID.
	Limit int
}

// ArchivesPage is one page of list_archives.
type ArchivesPage struct {
	// Chats holds one entry per thread.
	Chats []Chat
	// NextPageID is the cursor of the next page; "" on the last page.
	NextPageID string
	// FoundThreads is the API's estimate of the total (found_chats); never a loop bound.
	FoundThreads int
}

type archivesFilters struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

type archivesRequest struct {
	Filters   *archivesFilters `json:"filters,omitempty"`
	SortOrder string           `json:"sort_order,omitempty"`
	Limit     int              `json:"limit,omitempty"`
	PageID    string           `json:"page_id,omitempty"`
}

type archivesResponse struct {
	Chats          []Chat `json:"chats"`
	FoundChats     int    `json:"found_chats"`
	FoundThreads   int    `json:"found_threads"`
	NextPageID     string `json:"next_page_id"`
	PreviousPageID string `json:"previous_page_id"`
}

// ListArchives calls agent/action/list_archives for one page.
func (c *Client) ListArchives(ctx context.Context, q ArchivesQuery) (*ArchivesPage, error) {
	var req archivesRequest
	if q.PageID != "" {
		req.PageID = q.PageID
	} else {
		limit := q.Limit
		if limit <= 0 || limit > MaxLimit {
			limit = MaxLimit
		}
		f := &archivesFilters{}
		if !q.From.IsZero() {
			f.From = FormatTime(q.From)
		}
		if !q.To.IsZero() {
			f.To = FormatTime(q.To)
		}
		if f.From != "" || f.To != "" {
			req.Filters = f
		}
		req.SortOrder = "asc"
		req.Limit = limit
	}
	var resp archivesResponse
	if err := c.call(ctx, "agent", "list_archives", req, &resp); err != nil {
		return nil, err
	}
	found := resp.FoundChats
	if found == 0 {
		found = resp.FoundThreads
	}
	return &ArchivesPage{Chats: resp.Chats, NextPageID: resp.NextPageID, FoundThreads: found}, nil
}

// Cursor is the serializable position of a list_archives stream over [From, To], for
// checkpointing a fetch and resuming it in another process. A page id lives at most one month
// at LiveChat; a cursor older than that must be restarted.
type Cursor struct {
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// PageID is the next page to read; "" before the first page.
	PageID string `json:"page_id,omitempty"`
	// Pages counts the pages read so far.
	Pages int `json:"pages,omitempty"`
	// Done is set once the last page has been read.
	Done bool `json:"done,omitempty"`
}

// NewCursor starts a stream of the threads in [from, to] (a zero bound is open), oldest first.
func NewCursor(from, to time.Time) Cursor {
	return Cursor{From: from, To: to}
}

// ErrCursorDone is returned by Next for a cursor that is already done.
var ErrCursorDone = errors.New("livechat: cursor is done")

// Next reads the page at cur and returns its threads, the cursor after it and whether that
// was the last page. On error cur is still valid: retrying Next(ctx, cur) resumes.
func (c *Client) Next(ctx context.Context, cur Cursor) (chats []Chat, next Cursor, done bool, err error) {
	if cur.Done {
		return nil, cur, true, ErrCursorDone
	}
	q := ArchivesQuery{PageID: cur.PageID}
	if cur.PageID == "" {
		q.From, q.To = cur.From, cur.To
	}
	page, err := c.ListArchives(ctx, q)
	if err != nil {
		return nil, cur, false, err
	}
	next = cur
	next.Pages++
	next.PageID = page.NextPageID
	next.Done = page.NextPageID == ""
	return page.Chats, next, next.Done, nil
}
