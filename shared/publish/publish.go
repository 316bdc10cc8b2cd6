// Package publish turns the spreadsheet into the widget dataset: triggered by each completed
// run (the runs-completed topic), it reads the Tickets and Chats tabs from Sheets in pages
// (corrections people made there included), builds the columnar dataset of package widgets and
// stores it in Firestore through widgetstore (chunks first, then one pointer flip).
//
// Bursts collapse: a completion the current dataset already reflects (the sheet was read
// after the run finished) is skipped, and one publish runs at a time (a lease); a completion
// that arrives while another publish holds the lease is retried by Pub/Sub and then, in most
// cases, skipped. A failed publish leaves the previous dataset serving.
package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/api/sheets/v4"

	"supportsync.dev/shared/state"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/widgets"
	"supportsync.dev/shared/widgetstore"
)

// ErrBusy is returned when another publish holds the lease: retry later (the message is
// redelivered with backoff).
var ErrBusy = widgetstore.ErrBusy

// Completed is a runs-completed message, as process announces it.
type Completed struct {
	RunID    string    `json:"run_id"`
	Source   string    `json:"source"`
	Mode     string    `json:"mode"`
	State    string    `json:"state"`
	Finished time.Time `json:"finished"`
}

// RunLister lists runs (state.Store in production); publish reads it for as_of.
type RunLister interface {
	Runs(ctx context.Context, source string, limit int) ([]state.Run, error)
}

// Service publishes the dataset.
type Service struct {
	Sheets        *sheets.Service
	SpreadsheetID string
	// Timezone is the team timezone the sheet is written in.
	Timezone string
	// PageRows is the rows per read request (DefaultPageRows when 0).
	PageRows int
	// ReadBackoff is the first wait before a failed read is retried (1 s when 0).
	ReadBackoff time.Duration
	Store       *widgetstore.Store
	// Runs, when set, gives as_of: the newest completed run's finish time.
	Runs RunLister
	// LeaseTTL is how long one publish keeps others waiting (3 minutes when 0): long enough
	// for 400,000 rows, short enough that a publish killed mid-way does not make the retries
	// of the next completions run out. A publish that outlives it is harmless: the pointer
	// flip refuses an older read of the sheet.
	LeaseTTL time.Duration
	Now      func() time.Time
	Log      *slog.Logger
}

// Result says what a publish did.
type Result struct {
	// Skipped is set when nothing was published; Reason says why.
	Skipped bool
	Reason  string
	// Pointer is the dataset now serving.
	Pointer widgetstore.Pointer
	// Requests is the Sheets read requests made; Seconds the time taken.
	Requests int
	Seconds  float64
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Handle publishes for one runs-completed message. A message that does not decode is still a
// reason to publish (its run finished some time before now).
func (s *Service) Handle(ctx context.Context, data []byte) (Result, error) {
	var c Completed
	if err := json.Unmarshal(data, &c); err != nil {
		s.log().Warn("runs-completed message does not decode; publishing anyway", "event", "publish_bad_message", "error", err.Error())
		c = Completed{}
	}
	return s.Publish(ctx, c.Finished)
}

// Publish reads the sheet and publishes the dataset, unless the current one was read after
// finished (a zero finished always publishes).
func (s *Service) Publish(ctx context.Context, finished time.Time) (Result, error) {
	start := s.now()
	if res, skip, err := s.reflected(ctx, finished); skip || err != nil {
		return res, err
	}
	holder := randomID()
	ttl := s.LeaseTTL
	if ttl <= 0 {
		ttl = 3 * time.Minute
	}
	if err := s.Store.Acquire(ctx, holder, ttl); err != nil {
		return Result{}, err
	}
	defer func() {
		if err := s.Store.Release(context.WithoutCancel(ctx), holder); err != nil {
			s.log().Warn("release publish lease", "event", "publish_release_failed", "error", err.Error())
		}
	}()
	// Another publish may have finished while this one waited for the lease.
	if res, skip, err := s.reflected(ctx, finished); skip || err != nil {
		return res, err
	}

	readAt := s.now()
	asOf := s.asOf(ctx, finished, readAt)
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return Result{}, fmt.Errorf("publish: timezone: %w", err)
	}
	rd := &Reader{Svc: s.Sheets, SpreadsheetID: s.SpreadsheetID, Loc: loc, PageRows: s.PageRows, Backoff: s.ReadBackoff}
	b := widgets.NewBuilder(s.Timezone)
	nt, err := rd.Tab(ctx, table.Tickets, b.AddTicket)
	if err != nil {
		return Result{Requests: rd.Requests()}, err
	}
	nc, err := rd.Tab(ctx, table.Chats, b.AddChat)
	if err != nil {
		return Result{Requests: rd.Requests()}, err
	}
	// as_of lives in the pointer, so unchanged rows encode to the same bytes.
	blob, err := widgets.Encode(b.Data(time.Time{}))
	if err != nil {
		return Result{Requests: rd.Requests()}, err
	}
	p, err := s.Store.Publish(ctx, blob, widgetstore.Meta{AsOf: asOf, ReadAt: readAt, Tickets: nt, Chats: nc})
	res := Result{Pointer: p, Requests: rd.Requests(), Seconds: s.now().Sub(start).Seconds()}
	if errors.Is(err, widgetstore.ErrSuperseded) {
		res.Skipped, res.Reason = true, "a dataset read later was published meanwhile"
		return res, nil
	}
	if err != nil {
		return res, err
	}
	if n, err := s.Store.Cleanup(ctx); err != nil {
		s.log().Warn("clean up old widget datasets", "event", "publish_cleanup_failed", "error", err.Error())
	} else if n > 0 {
		s.log().Debug("old widget datasets deleted", "event", "publish_cleanup", "versions", n)
	}
	s.log().Info("widget dataset published", "event", "published", "dataset", p.Version, "as_of", p.AsOf,
		"tickets", nt, "chats", nc, "bytes", p.Bytes, "chunks", p.Chunks, "sheets_requests", res.Requests,
		"seconds", res.Seconds)
	return res, nil
}

// reflected reports whether the current dataset already reflects a run finished at finished.
func (s *Service) reflected(ctx context.Context, finished time.Time) (Result, bool, error) {
	cur, err := s.Store.Current(ctx)
	switch {
	case errors.Is(err, widgetstore.ErrNoDataset):
		return Result{}, false, nil
	case err != nil:
		return Result{}, false, err
	case !finished.IsZero() && !cur.ReadAt.Before(finished):
		return Result{Skipped: true, Reason: "the published dataset was read after the run finished", Pointer: cur}, true, nil
	}
	return Result{}, false, nil
}

// asOf is when the newest run reflected by a read at readAt finished: the newest completed
// run's finish time (from the run ledger), else the message's, else readAt.
func (s *Service) asOf(ctx context.Context, finished, readAt time.Time) time.Time {
	best := finished
	if s.Runs != nil {
		runs, err := s.Runs.Runs(ctx, "", 50)
		if err != nil {
			s.log().Warn("list runs for as_of", "event", "publish_runs_failed", "error", err.Error())
		}
		for _, r := range runs {
			if r.State == state.StateCompleted && !r.Finished.After(readAt) && r.Finished.After(best) {
				best = r.Finished
			}
		}
	}
	if best.IsZero() || best.After(readAt) {
		best = readAt
	}
	return best.UTC()
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
