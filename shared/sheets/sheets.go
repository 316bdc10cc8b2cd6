// Package sheets is the Google Sheets sink: it creates the contract tabs, upserts typed rows by
// key, prunes rows and appends the run log, on the Sheets API v4 with few, batched requests.
//
// People work in the same tabs while the Sink writes (they sort, insert and delete rows): every
// write that addresses rows by position is made safe by protecting the tab during the batch and
// verifying, in the write's own atomic response, that the rows still held the records they were
// computed for, repairing from a snapshot when not (safe.go). The header is checked before every
// batch, the workbook's cell limit before every write, and large tabs are read a column or two
// at a time, in pages (scan.go).
//
// A Sink assumes it is the only program writing its spreadsheet's contract columns: the process
// function runs as one instance (which may serve several invocations at once), and inside it
// the Sink serializes the calls on each tab with a mutex; calls on different tabs may run
// concurrently, except their positional writes (Upsert, Prune), which share the scratch tab.
package sheets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/httpcall"
	"supportsync.dev/shared/table"
)

// NewService builds a Sheets API client. With an endpoint (a fake or a local store) the client
// talks to it without Google credentials, through hc when given; without one it uses
// Application Default Credentials with the spreadsheets scope.
func NewService(ctx context.Context, endpoint string, hc *http.Client) (*sheets.Service, error) {
	var opts []option.ClientOption
	if endpoint != "" {
		if !strings.HasSuffix(endpoint, "/") {
			endpoint += "/"
		}
		opts = append(opts, option.WithEndpoint(endpoint), option.WithoutAuthentication())
		if hc != nil {
			opts = append(opts, option.WithHTTPClient(hc))
		}
	} else {
		opts = append(opts, option.WithScopes(sheets.SpreadsheetsScope))
	}
	svc, err := sheets.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("sheets.NewService: %w", err)
	}
	return svc, nil
}

// Default limits of a Sink.
const (
	// DefaultMaxCells is the default cell budget of one write request: a batch of 10,000 rows
	// of the widest contract tab (19 columns) fits in one request.
	DefaultMaxCells = 200_000
	// DefaultMaxBytes is the default size budget of one write request's JSON body; the API
	// rejects bodies over 10 MiB.
	DefaultMaxBytes = 8 << 20
	// DefaultMaxAttempts bounds the attempts of one HTTP call (the first one included).
	DefaultMaxAttempts = 8
	// MaxCellChars is the most characters the API stores in one cell; longer texts are truncated.
	MaxCellChars = 50_000
)

// Option configures a Sink.
type Option func(*Sink)

// WithLogger sets the logger for warnings and retries (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(k *Sink) {
		if l != nil {
			k.log = l
		}
	}
}

// WithMaxCells sets the cell budget of one write request (default DefaultMaxCells); a larger
// write is split into several requests, in order.
func WithMaxCells(n int) Option {
	return func(k *Sink) {
		if n > 0 {
			k.maxCells = n
		}
	}
}

// WithMaxBytes sets the estimated JSON size budget of one write request (default DefaultMaxBytes).
func WithMaxBytes(n int) Option {
	return func(k *Sink) {
		if n > 0 {
			k.maxBytes = n
		}
	}
}

// WithBackoff sets the retry policy for 429 and 5xx answers: the wait before retry n (from 0)
// is initial·2^n plus up to initial of jitter, at most max; attempts bounds the calls (the first
// included). The default is 1 s, 32 s, DefaultMaxAttempts, which outlasts a per-minute quota.
func WithBackoff(initial, max time.Duration, attempts int) Option {
	return func(k *Sink) {
		if initial > 0 {
			k.initialBackoff = initial
		}
		if max > 0 {
			k.maxBackoff = max
		}
		if attempts > 0 {
			k.maxAttempts = attempts
		}
	}
}

// Sink writes contract tabs of one spreadsheet. It caches the tabs' sheet ids, so build it once
// and reuse it across invocations. It is safe for concurrent use.
type Sink struct {
	svc            *sheets.Service
	id             string
	loc            *time.Location
	log            *slog.Logger
	maxCells       int
	maxBytes       int
	pageRows       int
	maxAttempts    int
	initialBackoff time.Duration
	maxBackoff     time.Duration

	reads, writes atomic.Int64

	ensureMu sync.Mutex // serializes Ensure
	writeMu  sync.Mutex // serializes the positional writes of every tab: they share the scratch tab
	mu       sync.Mutex // guards ids and tabs
	ids      map[string]int64
	tabs     map[string]*sync.Mutex

	// Guarded by writeMu: the marker this Sink's last write left in the scratch tab, and the
	// layouts kept between batches (layout.go).
	marker  string
	layouts map[string]*layout
	now     func() time.Time
}

// New returns a Sink writing to the spreadsheet with id spreadsheetID through svc; loc is the
// team timezone, in which date-time serials read back are interpreted.
func New(svc *sheets.Service, spreadsheetID string, loc *time.Location, opts ...Option) *Sink {
	if loc == nil {
		loc = time.UTC
	}
	k := &Sink{
		svc: svc, id: spreadsheetID, loc: loc, log: slog.Default(),
		maxCells: DefaultMaxCells, maxBytes: DefaultMaxBytes, maxAttempts: DefaultMaxAttempts, pageRows: DefaultPageRows,
		initialBackoff: time.Second, maxBackoff: 32 * time.Second,
		ids: map[string]int64{}, tabs: map[string]*sync.Mutex{},
		layouts: map[string]*layout{}, now: time.Now,
	}
	for _, o := range opts {
		o(k)
	}
	return k
}

// Requests returns how many HTTP read and write requests the Sink has sent, retries included.
func (k *Sink) Requests() (reads, writes int64) { return k.reads.Load(), k.writes.Load() }

// tabLock returns the mutex that serializes the calls on one tab.
func (k *Sink) tabLock(tab string) *sync.Mutex {
	k.mu.Lock()
	defer k.mu.Unlock()
	m, ok := k.tabs[tab]
	if !ok {
		m = &sync.Mutex{}
		k.tabs[tab] = m
	}
	return m
}

func (k *Sink) cachedID(tab string) (int64, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id, ok := k.ids[tab]
	return id, ok
}

func (k *Sink) setIDs(ids map[string]int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for t, id := range ids {
		k.ids[t] = id
	}
}

func (k *Sink) forget(tab string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.ids, tab)
}

// sheetID returns the tab's sheet id, ensuring the tab first when it is not cached.
func (k *Sink) sheetID(ctx context.Context, s table.Schema) (int64, error) {
	if id, ok := k.cachedID(s.Tab); ok {
		return id, nil
	}
	if err := k.Ensure(ctx, s); err != nil {
		return 0, err
	}
	id, ok := k.cachedID(s.Tab)
	if !ok {
		return 0, fmt.Errorf("sheets: tab %q has no sheet id after Ensure", s.Tab)
	}
	return id, nil
}

// onTab runs op with the tab's sheet id, holding the tab's lock. When op fails with a 400 (the
// tab was deleted or re-created by a user, so its range or sheet id is gone), it forgets the
// cached id, ensures the tab again and, if the sheet id changed, runs op once more.
func (k *Sink) onTab(ctx context.Context, s table.Schema, op func(id int64) error) error {
	m := k.tabLock(s.Tab)
	m.Lock()
	defer m.Unlock()
	id, err := k.sheetID(ctx, s)
	if err != nil {
		return err
	}
	err = op(id)
	var ge *googleapi.Error
	if err == nil || !errors.As(err, &ge) || ge.Code != http.StatusBadRequest {
		return err
	}
	k.forget(s.Tab)
	nid, eerr := k.sheetID(ctx, s)
	if eerr != nil {
		return errors.Join(err, eerr)
	}
	if nid == id {
		return err
	}
	k.log.WarnContext(ctx, "sheets: tab was re-created, retrying", "tab", s.Tab, "old_sheet_id", id, "sheet_id", nid)
	return op(nid)
}

// call runs one HTTP call with retries on 429 and 5xx (and transport errors), counting every
// attempt. It never waits past ctx's deadline: when the next wait would end after it, it gives
// up with the last error.
func (k *Sink) call(ctx context.Context, write bool, what string, f func() error) error {
	return k.callRetrying(ctx, write, what, retryable, f)
}

// callRetrying is call with the retry decision given: an append that is not idempotent
// retries only answers that say nothing was applied (see unapplied).
func (k *Sink) callRetrying(ctx context.Context, write bool, what string, retryable func(error) bool, f func() error) error {
	loop := httpcall.Loop{
		MaxAttempts: k.maxAttempts,
		OnRetry: func(ctx context.Context, attempt int, wait time.Duration, err error) {
			k.log.WarnContext(ctx, "sheets: retrying", "call", what, "attempt", attempt, "wait", wait, "error", err)
		},
	}
	err := loop.Do(ctx, func(ctx context.Context, n int) (httpcall.Verdict, error) {
		if write {
			k.writes.Add(1)
		} else {
			k.reads.Add(1)
		}
		err := f()
		if err == nil || !retryable(err) {
			return httpcall.Stop, err
		}
		return httpcall.Verdict{Retry: true, Wait: k.wait(n-1, err)}, err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// wait is the backoff before retry n (httpcall.Backoff), or the server's Retry-After when it
// asks for longer (up to the maximum backoff).
func (k *Sink) wait(n int, err error) time.Duration {
	d := httpcall.Backoff{Initial: k.initialBackoff, Max: k.maxBackoff}.Wait(n)
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Header != nil {
		if s, perr := strconv.Atoi(ge.Header.Get("Retry-After")); perr == nil {
			if ra := time.Duration(s) * time.Second; ra > d && ra <= k.maxBackoff {
				d = ra
			}
		}
	}
	return d
}

// unapplied reports whether err certainly means the request changed nothing: a quota refusal
// (429). A 5xx or a broken connection may come after the write was applied, so retrying a
// non-idempotent append could write it twice; its caller retries instead after checking.
func unapplied(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusTooManyRequests
}

// retryable reports whether err is a quota answer (429 RESOURCE_EXHAUSTED), a server error or a
// transport failure.
func retryable(err error) bool {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code == http.StatusTooManyRequests || ge.Code >= 500
	}
	return httpcall.Transient(err)
}
