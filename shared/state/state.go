// Package state keeps the sync's bookkeeping in Firestore: a ledger of runs, each source's
// cursor (the high-water mark that has fully landed in Sheets) and the lease that lets only
// one run per source go at a time.
//
// Documents (field names are snake_case so people and the status endpoint can read them):
//
//	cursors/{source}              Cursor: high_water, run_id, updated, lease_run_id, lease_expires
//	runs/{runId}                  Run: source, mode, state, expected, landed, counts, checkpoint, …
//	runs/{runId}/batches/{seq}    BatchRecord: one per landed batch (seq zero-padded to 6 digits)
//
// Every change that touches more than one document happens in one transaction, so a crash
// or a concurrent invocation never leaves a half-recorded batch or a cursor ahead of what
// landed. Runs of one source listed by Runs need the composite index (source ASC,
// started DESC) on the runs collection in production; the emulator needs none.
package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Collection names.
const (
	CursorsCollection = "cursors"
	RunsCollection    = "runs"
	BatchesCollection = "batches"
)

// Run states.
const (
	StateFetching  = "fetching"
	StateLanding   = "landing"
	StateCompleted = "completed"
	StateFailed    = "failed"
)

// MaxBatchKeyBytes bounds a batch record's key list (the sum of the keys' lengths plus one
// byte each): the record is one document, and documents are limited to 1 MiB. 10,000 ticket
// or thread ids take about 100–400 KB.
const MaxBatchKeyBytes = 900_000

// transactionAttempts is how often a transaction is tried. LandBatch of many batches of one
// run at once contend on the run document; each conflict costs an attempt.
const transactionAttempts = 30

// Errors. BusyError matches ErrBusy with errors.Is.
var (
	// ErrBusy: another run holds the source's lease and it has not expired.
	ErrBusy = errors.New("state: another run holds the source's lease")
	// ErrNotFound: the run does not exist.
	ErrNotFound = errors.New("state: run not found")
	// ErrFinished: CompleteRun of a failed run, or FailRun of a completed one.
	ErrFinished = errors.New("state: run already finished")
	// ErrLeaseLost: the run no longer holds its source's lease (it expired and another run
	// took it over), so it must stop.
	ErrLeaseLost = errors.New("state: run lost its lease")
	// ErrNotLanded: CompleteRun of a run whose batches have not all landed.
	ErrNotLanded = errors.New("state: not every batch of the run has landed")
)

// BusyError says which run holds a source's lease and until when.
type BusyError struct {
	Source  string
	Holder  string
	Expires time.Time
}

// Error implements error.
func (e *BusyError) Error() string {
	return fmt.Sprintf("state: source %s is busy: run %s holds the lease until %s", e.Source, e.Holder, e.Expires.Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrBusy) true for a *BusyError.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Store reads and writes the run ledger, cursors and leases.
type Store struct {
	// Now is the clock; default time.Now. Tests inject one to expire leases.
	Now func() time.Time

	client *firestore.Client
}

// New returns a Store over client.
func New(client *firestore.Client) *Store {
	return &Store{Now: time.Now, client: client}
}

// Counts are a run's (or a batch's) tallies, as Sync_Log shows them.
type Counts struct {
	Fetched        int `firestore:"fetched" json:"fetched"`
	Inserted       int `firestore:"inserted" json:"inserted"`
	Updated        int `firestore:"updated" json:"updated"`
	Deleted        int `firestore:"deleted" json:"deleted"`
	Excluded       int `firestore:"excluded" json:"excluded"`
	Rejected       int `firestore:"rejected" json:"rejected"`
	Warnings       int `firestore:"warnings" json:"warnings"`
	APIRequests    int `firestore:"api_requests" json:"api_requests"`
	SheetsRequests int `firestore:"sheets_requests" json:"sheets_requests"`
}

// Add adds o to c, field by field.
func (c *Counts) Add(o Counts) {
	c.Fetched += o.Fetched
	c.Inserted += o.Inserted
	c.Updated += o.Updated
	c.Deleted += o.Deleted
	c.Excluded += o.Excluded
	c.Rejected += o.Rejected
	c.Warnings += o.Warnings
	c.APIRequests += o.APIRequests
	c.SheetsRequests += o.SheetsRequests
}

// Cursor is the document cursors/{source}: how far the source has fully landed, and who
// holds its lease.
type Cursor struct {
	// Source is the source's name (also the document id).
	Source string `firestore:"source"`
	// HighWater is the high-water mark of the last completed run; it only moves forward.
	HighWater time.Time `firestore:"high_water,omitempty"`
	// RunID is the run whose completion set HighWater.
	RunID string `firestore:"run_id,omitempty"`
	// Updated is when HighWater was last set.
	Updated time.Time `firestore:"updated,omitempty"`
	// LeaseRunID is the run that holds the source's lease; empty when free.
	LeaseRunID string `firestore:"lease_run_id,omitempty"`
	// LeaseExpires is when the lease lapses unless extended.
	LeaseExpires time.Time `firestore:"lease_expires,omitempty"`
}

// Run is the document runs/{id}: one sync run of one source.
type Run struct {
	// ID is the run id (also the document id).
	ID string `firestore:"id"`
	// Source and Mode are as in the sync request.
	Source string `firestore:"source"`
	Mode   string `firestore:"mode"`
	// State is fetching, landing, completed or failed.
	State string `firestore:"state"`
	// Started is when the run began; Finished when it completed or failed.
	Started  time.Time `firestore:"started"`
	Finished time.Time `firestore:"finished,omitempty"`
	// Expected is the number of batches, -1 until the last batch has landed.
	Expected int `firestore:"expected"`
	// Landed is the number of distinct batches recorded as landed.
	Landed int `firestore:"landed"`
	// HighWater is the run's high-water mark, from its last batch.
	HighWater time.Time `firestore:"high_water,omitempty"`
	// Counts are the sums over the landed batches, replaced by the final counts on
	// completion.
	Counts Counts `firestore:"counts"`
	// LeaseExpires mirrors the lease expiry on the cursor while the run holds it.
	LeaseExpires time.Time `firestore:"lease_expires,omitempty"`
	// Error is why the run failed; Message the summary of a completed run.
	Error   string `firestore:"error,omitempty"`
	Message string `firestore:"message,omitempty"`
	// Checkpoint is the fetch's resume point, opaque JSON owned by the fetcher.
	Checkpoint []byte `firestore:"checkpoint,omitempty"`
	// NextSeq is the sequence number of the next batch the fetch will publish.
	NextSeq int `firestore:"next_seq"`
	// CheckpointAPIRequests is the API request count the fetch reported at its last
	// checkpoint, kept as given for diagnosis. It is not added to Counts: batches carry their
	// API requests into Counts when they land.
	CheckpointAPIRequests int `firestore:"checkpoint_api_requests"`
	// Updated is when the document last changed.
	Updated time.Time `firestore:"updated"`
}

// finished reports whether the run is completed or failed.
func (r Run) finished() bool { return r.State == StateCompleted || r.State == StateFailed }

// BatchRecord is the document runs/{id}/batches/{seq}: one batch that landed in Sheets.
type BatchRecord struct {
	// Seq is the batch's sequence number in its run, from 0.
	Seq int `firestore:"seq"`
	// Last marks the run's last batch.
	Last bool `firestore:"last"`
	// HighWater is the run's high-water mark as the batch carries it (used from the last).
	HighWater time.Time `firestore:"high_water,omitempty"`
	// Counts are what landing the batch did.
	Counts Counts `firestore:"counts"`
	// Keys are the row keys the batch wrote, for a full run's removal of vanished records.
	// Bounded by MaxBatchKeyBytes (one document is at most 1 MiB).
	Keys []string `firestore:"keys"`
	// Source and Mode are the run's, as the batch says; used only when the run document
	// does not exist (a replayed batch of an unknown run).
	Source string `firestore:"source,omitempty"`
	Mode   string `firestore:"mode,omitempty"`
	// LandedAt is set by LandBatch.
	LandedAt time.Time `firestore:"landed_at"`
}

func (s *Store) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	// Firestore keeps microseconds; returning what is stored keeps values comparable.
	return now().UTC().Truncate(time.Microsecond)
}

func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func (s *Store) cursorRef(source string) *firestore.DocumentRef {
	return s.client.Collection(CursorsCollection).Doc(source)
}

func (s *Store) runRef(id string) *firestore.DocumentRef {
	return s.client.Collection(RunsCollection).Doc(id)
}

func (s *Store) batchRef(runID string, seq int) *firestore.DocumentRef {
	return s.runRef(runID).Collection(BatchesCollection).Doc(fmt.Sprintf("%06d", seq))
}

func (s *Store) transact(ctx context.Context, name string, f func(context.Context, *firestore.Transaction) error) error {
	err := s.client.RunTransaction(ctx, f, firestore.MaxAttempts(transactionAttempts))
	if err != nil && !isOwn(err) {
		return fmt.Errorf("state.%s: %w", name, err)
	}
	return err
}

// isOwn reports whether err is one of this package's errors, already phrased for callers.
func isOwn(err error) bool {
	var busy *BusyError
	return errors.As(err, &busy) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrFinished) ||
		errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrNotLanded)
}

// getAll reads refs in tx; missing documents come back with Exists() false.
func getAll(tx *firestore.Transaction, refs ...*firestore.DocumentRef) ([]*firestore.DocumentSnapshot, error) {
	return tx.GetAll(refs)
}

func decodeCursor(snap *firestore.DocumentSnapshot, source string) (Cursor, error) {
	c := Cursor{Source: source}
	if !snap.Exists() {
		return c, nil
	}
	if err := snap.DataTo(&c); err != nil {
		return c, fmt.Errorf("decoding %s: %w", snap.Ref.Path, err)
	}
	c.Source = source
	return c, nil
}

func decodeRun(snap *firestore.DocumentSnapshot) (Run, error) {
	var r Run
	if err := snap.DataTo(&r); err != nil {
		return r, fmt.Errorf("decoding %s: %w", snap.Ref.Path, err)
	}
	r.ID = snap.Ref.ID
	return r, nil
}

// Cursor returns cursors/{source}; ok is false when the source has none yet.
func (s *Store) Cursor(ctx context.Context, source string) (Cursor, bool, error) {
	snap, err := s.cursorRef(source).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Cursor{Source: source}, false, nil
	}
	if err != nil {
		return Cursor{}, false, fmt.Errorf("state.Cursor: %w", err)
	}
	c, err := decodeCursor(snap, source)
	if err != nil {
		return Cursor{}, false, fmt.Errorf("state.Cursor: %w", err)
	}
	return c, true, nil
}

// BeginRun takes the source's lease for r.ID and creates runs/{r.ID} in state fetching, with
// Expected -1 and Started r.Started or now, in one transaction. The lease fields live on
// cursors/{source} (lease_run_id, lease_expires).
//
// If r.ID already holds the lease, or its run is still unfinished and the lease is free, the
// call is a continuation: it extends the lease and returns the stored run otherwise
// unchanged (State, Checkpoint, NextSeq, Counts as stored). A lease held by another run that
// has not expired gives a *BusyError (errors.Is ErrBusy); an expired one is taken over and
// that run is marked failed ("lease expired"). A run id that already completed or failed
// (a redelivered request) is returned as stored, without taking the lease: check State.
func (s *Store) BeginRun(ctx context.Context, r Run, leaseTTL time.Duration) (Run, error) {
	if r.ID == "" || r.Source == "" {
		return Run{}, errors.New("state.BeginRun: run needs an ID and a Source")
	}
	if leaseTTL <= 0 {
		return Run{}, errors.New("state.BeginRun: lease TTL must be positive")
	}
	var out Run
	err := s.transact(ctx, "BeginRun", func(ctx context.Context, tx *firestore.Transaction) error {
		now := s.now()
		expires := now.Add(leaseTTL)
		cref, rref := s.cursorRef(r.Source), s.runRef(r.ID)
		snaps, err := getAll(tx, cref, rref)
		if err != nil {
			return err
		}
		cur, err := decodeCursor(snaps[0], r.Source)
		if err != nil {
			return err
		}
		var stored Run
		exists := snaps[1].Exists()
		if exists {
			if stored, err = decodeRun(snaps[1]); err != nil {
				return err
			}
			if stored.finished() {
				out = stored
				return nil
			}
		}
		var prev *Run // an expired holder to mark failed
		if cur.LeaseRunID != "" && cur.LeaseRunID != r.ID {
			if now.Before(cur.LeaseExpires) {
				return &BusyError{Source: r.Source, Holder: cur.LeaseRunID, Expires: cur.LeaseExpires}
			}
			psnap, err := tx.Get(s.runRef(cur.LeaseRunID))
			if err != nil && status.Code(err) != codes.NotFound {
				return err
			}
			if psnap != nil && psnap.Exists() {
				p, err := decodeRun(psnap)
				if err != nil {
					return err
				}
				if !p.finished() {
					prev = &p
				}
			}
		}

		if prev != nil {
			prev.State, prev.Error, prev.Finished = StateFailed, "lease expired", now
			prev.LeaseExpires, prev.Updated = time.Time{}, now
			if err := tx.Set(s.runRef(prev.ID), *prev); err != nil {
				return err
			}
		}
		cur.LeaseRunID, cur.LeaseExpires = r.ID, expires
		if err := tx.Set(cref, cur); err != nil {
			return err
		}
		if exists {
			stored.LeaseExpires, stored.Updated = expires, now
			out = stored
			return tx.Set(rref, stored)
		}
		n := r
		n.State, n.Expected, n.Landed = StateFetching, -1, 0
		n.Started = norm(r.Started)
		if n.Started.IsZero() {
			n.Started = now
		}
		n.Finished, n.HighWater = time.Time{}, norm(r.HighWater)
		n.LeaseExpires, n.Updated = expires, now
		n.Error, n.Message = "", ""
		out = n
		return tx.Create(rref, n)
	})
	return out, err
}

// Checkpoint saves the fetch's resume point and next batch sequence number, records
// apiRequests as CheckpointAPIRequests (not added to Counts, which the landed batches fill)
// and extends the lease. It fails with ErrLeaseLost when the run no longer holds the lease
// or has finished, and with ErrNotFound for an unknown run.
func (s *Store) Checkpoint(ctx context.Context, runID string, checkpoint []byte, nextSeq int, apiRequests int, leaseTTL time.Duration) error {
	if leaseTTL <= 0 {
		return errors.New("state.Checkpoint: lease TTL must be positive")
	}
	return s.transact(ctx, "Checkpoint", func(ctx context.Context, tx *firestore.Transaction) error {
		now := s.now()
		r, cref, cur, err := s.runAndCursor(tx, runID)
		if err != nil {
			return err
		}
		if r.finished() || cur.LeaseRunID != runID {
			return fmt.Errorf("%w: run %s is %s and the lease of %s is held by %q", ErrLeaseLost, runID, r.State, r.Source, cur.LeaseRunID)
		}
		expires := now.Add(leaseTTL)
		r.Checkpoint, r.NextSeq = checkpoint, nextSeq
		r.CheckpointAPIRequests = apiRequests
		r.LeaseExpires, r.Updated = expires, now
		cur.LeaseExpires = expires
		if err := tx.Set(s.runRef(runID), r); err != nil {
			return err
		}
		return tx.Set(cref, cur)
	})
}

// runAndCursor reads the run and then its source's cursor in tx.
func (s *Store) runAndCursor(tx *firestore.Transaction, runID string) (Run, *firestore.DocumentRef, Cursor, error) {
	snap, err := tx.Get(s.runRef(runID))
	if status.Code(err) == codes.NotFound {
		return Run{}, nil, Cursor{}, fmt.Errorf("%w: %s", ErrNotFound, runID)
	}
	if err != nil {
		return Run{}, nil, Cursor{}, err
	}
	r, err := decodeRun(snap)
	if err != nil {
		return Run{}, nil, Cursor{}, err
	}
	cref := s.cursorRef(r.Source)
	csnaps, err := getAll(tx, cref)
	if err != nil {
		return Run{}, nil, Cursor{}, err
	}
	cur, err := decodeCursor(csnaps[0], r.Source)
	return r, cref, cur, err
}

// LandBatch records that batch b of the run landed in Sheets, in one transaction: it
// creates runs/{runID}/batches/{seq} and updates the run (Landed+1, Counts.Add(b.Counts),
// Expected = Seq+1 and HighWater when b.Last, state landing, lease extended while the run
// holds it). recorded is false when the batch had already landed (a redelivery): then
// nothing changes. It returns the run after the update.
//
// If the run document does not exist (a replayed batch of an unknown run) it is created in
// state landing from b.Source and b.Mode, without taking the lease. A batch of a run that
// already completed or failed is recorded and counted, but the run's state stays.
func (s *Store) LandBatch(ctx context.Context, runID string, b BatchRecord, leaseTTL time.Duration) (run Run, recorded bool, err error) {
	if b.Seq < 0 {
		return Run{}, false, fmt.Errorf("state.LandBatch: negative seq %d", b.Seq)
	}
	if n := keyBytes(b.Keys); n > MaxBatchKeyBytes {
		return Run{}, false, fmt.Errorf("state.LandBatch: batch %d has %d keys (%d bytes), over the %d-byte bound of one record", b.Seq, len(b.Keys), n, MaxBatchKeyBytes)
	}
	err = s.transact(ctx, "LandBatch", func(ctx context.Context, tx *firestore.Transaction) error {
		now := s.now()
		rref, bref := s.runRef(runID), s.batchRef(runID, b.Seq)
		snaps, err := getAll(tx, rref, bref)
		if err != nil {
			return err
		}
		var r Run
		if snaps[0].Exists() {
			if r, err = decodeRun(snaps[0]); err != nil {
				return err
			}
		} else {
			if b.Source == "" {
				return fmt.Errorf("%w: %s (and batch %d names no source to create it from)", ErrNotFound, runID, b.Seq)
			}
			r = Run{ID: runID, Source: b.Source, Mode: b.Mode, State: StateLanding, Started: now, Expected: -1,
				Message: "created by a batch of a run not in the ledger"}
		}
		if snaps[1].Exists() {
			run, recorded = r, false
			return nil
		}
		cref := s.cursorRef(r.Source)
		csnaps, err := getAll(tx, cref)
		if err != nil {
			return err
		}
		cur, err := decodeCursor(csnaps[0], r.Source)
		if err != nil {
			return err
		}

		rec := b
		rec.HighWater, rec.LandedAt = norm(b.HighWater), now
		if rec.Keys == nil {
			rec.Keys = []string{}
		}
		if err := tx.Create(bref, rec); err != nil {
			return err
		}
		r.Landed++
		r.Counts.Add(b.Counts)
		if b.Last {
			r.Expected, r.HighWater = b.Seq+1, rec.HighWater
		}
		if !r.finished() {
			r.State = StateLanding
		}
		r.Updated = now
		if cur.LeaseRunID == runID && !r.finished() {
			r.LeaseExpires = now.Add(leaseTTL)
			cur.LeaseExpires = r.LeaseExpires
			if err := tx.Set(cref, cur); err != nil {
				return err
			}
		}
		run, recorded = r, true
		return tx.Set(rref, r)
	})
	if err != nil {
		return Run{}, false, err
	}
	return run, recorded, nil
}

func keyBytes(keys []string) int {
	n := 0
	for _, k := range keys {
		n += len(k) + 1
	}
	return n
}

// Landed reports whether every batch of run has landed: the last batch is in (Expected is
// known) and as many batches as expected are recorded.
func (s *Store) Landed(run Run) bool { return run.Expected >= 0 && run.Landed >= run.Expected }

// SeenKeys returns the union of Keys over the run's landed batches.
func (s *Store) SeenKeys(ctx context.Context, runID string) (map[string]struct{}, error) {
	snaps, err := s.runRef(runID).Collection(BatchesCollection).Select("keys").Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("state.SeenKeys: %w", err)
	}
	seen := map[string]struct{}{}
	for _, snap := range snaps {
		var b struct {
			Keys []string `firestore:"keys"`
		}
		if err := snap.DataTo(&b); err != nil {
			return nil, fmt.Errorf("state.SeenKeys: decoding %s: %w", snap.Ref.Path, err)
		}
		for _, k := range b.Keys {
			seen[k] = struct{}{}
		}
	}
	return seen, nil
}

// CompleteRun, in one transaction, marks the run completed with Finished now, counts final
// (they replace the run's counts: pass run.Counts plus what the end-of-run work did) and
// message; moves cursors/{source} to the run's HighWater (only ever forward; RunID and
// Updated change with it) and releases the lease if the run holds it.
//
// It is idempotent: a completed run is returned as is with completed false. It fails with
// ErrNotLanded unless every batch has landed (Landed), with ErrFinished for a failed run and
// with ErrNotFound for an unknown one.
func (s *Store) CompleteRun(ctx context.Context, runID string, final Counts, message string) (run Run, completed bool, err error) {
	err = s.transact(ctx, "CompleteRun", func(ctx context.Context, tx *firestore.Transaction) error {
		now := s.now()
		r, cref, cur, err := s.runAndCursor(tx, runID)
		if err != nil {
			return err
		}
		switch {
		case r.State == StateCompleted:
			run, completed = r, false
			return nil
		case r.State == StateFailed:
			return fmt.Errorf("%w: run %s failed: %s", ErrFinished, runID, r.Error)
		case !s.Landed(r):
			return fmt.Errorf("%w: run %s has %d of %d batches", ErrNotLanded, runID, r.Landed, r.Expected)
		}
		r.State, r.Finished, r.Counts, r.Message = StateCompleted, now, final, message
		r.LeaseExpires, r.Updated = time.Time{}, now
		curChanged := false
		if !r.HighWater.Before(cur.HighWater) {
			cur.HighWater, cur.RunID, cur.Updated = r.HighWater, runID, now
			curChanged = true
		}
		if cur.LeaseRunID == runID {
			cur.LeaseRunID, cur.LeaseExpires = "", time.Time{}
			curChanged = true
		}
		if curChanged {
			if err := tx.Set(cref, cur); err != nil {
				return err
			}
		}
		run, completed = r, true
		return tx.Set(s.runRef(runID), r)
	})
	if err != nil {
		return Run{}, false, err
	}
	return run, completed, nil
}

// FailRun marks the run failed with errMsg, sets Finished and releases its lease; the cursor
// does not move. Failing a failed run again changes nothing; a completed run gives
// ErrFinished and stays completed.
func (s *Store) FailRun(ctx context.Context, runID, errMsg string) error {
	return s.transact(ctx, "FailRun", func(ctx context.Context, tx *firestore.Transaction) error {
		now := s.now()
		r, cref, cur, err := s.runAndCursor(tx, runID)
		if err != nil {
			return err
		}
		switch r.State {
		case StateFailed:
			return nil
		case StateCompleted:
			return fmt.Errorf("%w: run %s is completed", ErrFinished, runID)
		}
		r.State, r.Error, r.Finished = StateFailed, errMsg, now
		r.LeaseExpires, r.Updated = time.Time{}, now
		if cur.LeaseRunID == runID {
			cur.LeaseRunID, cur.LeaseExpires = "", time.Time{}
			if err := tx.Set(cref, cur); err != nil {
				return err
			}
		}
		return tx.Set(s.runRef(runID), r)
	})
}

// ReleaseLease frees the source's lease if runID holds it (and clears the run's
// LeaseExpires); otherwise it does nothing.
func (s *Store) ReleaseLease(ctx context.Context, source, runID string) error {
	return s.transact(ctx, "ReleaseLease", func(ctx context.Context, tx *firestore.Transaction) error {
		cref, rref := s.cursorRef(source), s.runRef(runID)
		snaps, err := getAll(tx, cref, rref)
		if err != nil {
			return err
		}
		cur, err := decodeCursor(snaps[0], source)
		if err != nil || !snaps[0].Exists() || cur.LeaseRunID != runID {
			return err
		}
		cur.LeaseRunID, cur.LeaseExpires = "", time.Time{}
		if err := tx.Set(cref, cur); err != nil {
			return err
		}
		if snaps[1].Exists() {
			r, err := decodeRun(snaps[1])
			if err != nil {
				return err
			}
			r.LeaseExpires, r.Updated = time.Time{}, s.now()
			return tx.Set(rref, r)
		}
		return nil
	})
}

// Run returns runs/{runID}; ok is false when there is no such run.
func (s *Store) Run(ctx context.Context, runID string) (Run, bool, error) {
	snap, err := s.runRef(runID).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("state.Run: %w", err)
	}
	r, err := decodeRun(snap)
	if err != nil {
		return Run{}, false, fmt.Errorf("state.Run: %w", err)
	}
	return r, true, nil
}

// Runs returns up to limit runs of source, newest Started first (all sources when source is
// empty; limit <= 0 means no limit). In production the query needs the composite index
// runs (source ASC, started DESC).
func (s *Store) Runs(ctx context.Context, source string, limit int) ([]Run, error) {
	q := s.client.Collection(RunsCollection).Query
	if source != "" {
		q = q.Where("source", "==", source)
	}
	q = q.OrderBy("started", firestore.Desc)
	if limit > 0 {
		q = q.Limit(limit)
	}
	snaps, err := q.Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("state.Runs: %w", err)
	}
	runs := make([]Run, 0, len(snaps))
	for _, snap := range snaps {
		r, err := decodeRun(snap)
		if err != nil {
			return nil, fmt.Errorf("state.Runs: %w", err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}
