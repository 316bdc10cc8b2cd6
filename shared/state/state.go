// Package state keeps the sync's bookkeeping in Firestore: a ledger of runs, each source's
// cursor (the high-water mark that has fully landed in Sheets), the lease that lets only one
// run per source go at a time, and the fetch turn that lets only one invocation fetch a run.
// The types and every decision about them live in runlife; state only stores them, each
// change in one transaction that applies a runlife decision to what it read.
//
// Documents (field names are snake_case so people and the status endpoint can read them):
//
//	cursors/{source}              Cursor: high_water, run_id, updated, lease_run_id, lease_expires
//	runs/{runId}                  Run: source, mode, state, expected, landed, contiguous, ahead, turn, checkpoint, …
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

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/runlife"
)

// Collection names.
const (
	CursorsCollection = "cursors"
	RunsCollection    = "runs"
	BatchesCollection = "batches"
)

// Run states (runlife's, named here for the callers that read the ledger).
const (
	StateFetching  = runlife.Fetching
	StateLanding   = runlife.Landing
	StateCompleted = runlife.Completed
	StateFailed    = runlife.Failed
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
	// ErrTurnLost: the invocation no longer holds the run's fetch turn (its claim lapsed and
	// another invocation took it, or the run ended), so it must stop publishing.
	ErrTurnLost = errors.New("state: the invocation no longer holds the run's fetch turn")
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

// Counts, Cursor and Run are runlife's: cursors/{source} holds a Cursor, runs/{id} a Run.
type (
	Counts = runlife.Counts
	Cursor = runlife.Cursor
	Run    = runlife.Run
)

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
	Source batch.Source `firestore:"source,omitempty"`
	Mode   batch.Mode   `firestore:"mode,omitempty"`
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
	c := Cursor{Source: batch.Source(source)}
	if !snap.Exists() {
		return c, nil
	}
	if err := snap.DataTo(&c); err != nil {
		return c, fmt.Errorf("decoding %s: %w", snap.Ref.Path, err)
	}
	c.Source = batch.Source(source)
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
		return Cursor{Source: batch.Source(source)}, false, nil
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

// BeginRun begins a new run r: in one transaction it takes the source's lease for r.ID and
// creates runs/{r.ID} in state fetching with its first turn claimed by r.TurnHolder until
// r.TurnClaimedUntil, Expected -1 and Started r.Started or now. The lease fields live on
// cursors/{source} (lease_run_id, lease_expires); runlife.DecideLease decides: a lease held
// by another run that has not expired gives a *BusyError (errors.Is ErrBusy); an expired one
// is taken over and that run is marked failed ("lease expired").
//
// If runs/{r.ID} exists already (a redelivered request) nothing changes and created is
// false: the caller then claims the run's turn like any continuation.
func (s *Store) BeginRun(ctx context.Context, r Run, leaseTTL time.Duration) (out Run, created bool, err error) {
	if r.ID == "" || r.Source == "" {
		return Run{}, false, errors.New("state.BeginRun: run needs an ID and a Source")
	}
	if leaseTTL <= 0 {
		return Run{}, false, errors.New("state.BeginRun: lease TTL must be positive")
	}
	err = s.transact(ctx, "BeginRun", func(ctx context.Context, tx *firestore.Transaction) error {
		now := s.now()
		expires := now.Add(leaseTTL)
		cref, rref := s.cursorRef(string(r.Source)), s.runRef(r.ID)
		snaps, err := getAll(tx, cref, rref)
		if err != nil {
			return err
		}
		cur, err := decodeCursor(snaps[0], string(r.Source))
		if err != nil {
			return err
		}
		if snaps[1].Exists() {
			out, created = Run{}, false
			out, err = decodeRun(snaps[1])
			return err
		}
		var prev *Run // an expired holder to mark failed
		switch runlife.DecideLease(cur, r.ID, now) {
		case runlife.LeaseBusy:
			return &BusyError{Source: string(r.Source), Holder: cur.LeaseRunID, Expires: cur.LeaseExpires}
		case runlife.LeaseAbandoned:
			psnap, err := tx.Get(s.runRef(cur.LeaseRunID))
			if err != nil && status.Code(err) != codes.NotFound {
				return err
			}
			if psnap != nil && psnap.Exists() {
				p, err := decodeRun(psnap)
				if err != nil {
					return err
				}
				if !p.State.Finished() {
					prev = &p
				}
			}
		}
		if prev != nil {
			prev.State, prev.Error, prev.Finished = StateFailed, "lease expired", now
			prev.LeaseExpires, prev.Updated = time.Time{}, now
			prev.TurnHolder, prev.TurnClaimedUntil = "", time.Time{}
			if err := tx.Set(s.runRef(prev.ID), *prev); err != nil {
				return err
			}
		}
		cur.LeaseRunID, cur.LeaseExpires = r.ID, expires
		if err := tx.Set(cref, cur); err != nil {
			return err
		}
		n := r
		n.State = StateFetching
		n.Progress = runlife.Progress{Expected: -1}
		n.TurnNumber, n.TurnToken = 1, ""
		n.TurnClaimedUntil = norm(r.TurnClaimedUntil)
		n.Started = norm(r.Started)
		if n.Started.IsZero() {
			n.Started = now
		}
		n.WindowFrom, n.WindowTo = norm(r.WindowFrom), norm(r.WindowTo)
		n.Finished, n.HighWater = time.Time{}, norm(r.HighWater)
		n.LeaseExpires, n.Updated = expires, now
		n.Error, n.Message = "", ""
		out, created = n, true
		return tx.Create(rref, n)
	})
	return out, created, err
}

// ClaimTurn lets the invocation holder claim the run's current fetch turn with the token its
// request carries, until claimUntil; runlife.DecideTurn decides. Only with verdict TurnTake
// does anything change: the claim is stored, the run takes its source's lease again if it had
// lapsed with nobody else taking it, and the lease is extended. Any other verdict is a no-op
// the decision's Reason explains. An unknown run gives verdict TurnStale.
func (s *Store) ClaimTurn(ctx context.Context, runID, token, holder string, claimUntil time.Time, leaseTTL time.Duration) (run Run, d runlife.TurnDecision, err error) {
	if holder == "" || leaseTTL <= 0 {
		return Run{}, d, errors.New("state.ClaimTurn: needs a holder and a positive lease TTL")
	}
	err = s.transact(ctx, "ClaimTurn", func(ctx context.Context, tx *firestore.Transaction) error {
		now := s.now()
		r, cref, cur, err := s.runAndCursor(tx, runID)
		if errors.Is(err, ErrNotFound) {
			run, d = Run{}, runlife.DecideTurn(Run{}, false, token, now)
			return nil
		}
		if err != nil {
			return err
		}
		run, d = r, runlife.DecideTurn(r, true, token, now)
		if d.Verdict != runlife.TurnTake {
			return nil
		}
		if runlife.DecideLease(cur, runID, now) == runlife.LeaseBusy {
			d = runlife.TurnDecision{Verdict: runlife.TurnOver, Reason: fmt.Sprintf("run %s lost the %s lease to run %s", runID, r.Source, cur.LeaseRunID)}
			return nil
		}
		expires := now.Add(leaseTTL)
		r.TurnHolder, r.TurnClaimedUntil = holder, norm(claimUntil)
		r.LeaseExpires, r.Updated = expires, now
		cur.LeaseRunID, cur.LeaseExpires = runID, expires
		if err := tx.Set(cref, cur); err != nil {
			return err
		}
		run = r
		return tx.Set(s.runRef(runID), r)
	})
	return run, d, err
}

// HandOn ends the turn token that holder holds and makes next the run's current turn
// (unclaimed, for the continuation request the caller then publishes), saving the fetch's
// resume point, next batch sequence number and API request count and extending the lease, in
// one transaction. It fails with ErrTurnLost when holder no longer holds the turn.
func (s *Store) HandOn(ctx context.Context, runID, token, holder string, checkpoint []byte, nextSeq, apiRequests int, next string, leaseTTL time.Duration) error {
	if leaseTTL <= 0 || next == "" || next == token {
		return errors.New("state.HandOn: needs a positive lease TTL and a new turn token")
	}
	return s.transact(ctx, "HandOn", func(ctx context.Context, tx *firestore.Transaction) error {
		now := s.now()
		r, cref, cur, err := s.runAndCursor(tx, runID)
		if err != nil {
			return err
		}
		if !runlife.HoldsTurn(r, token, holder) || cur.LeaseRunID != runID {
			return fmt.Errorf("%w: run %s is %s at turn %d, lease held by %q", ErrTurnLost, runID, r.State, r.TurnNumber, cur.LeaseRunID)
		}
		expires := now.Add(leaseTTL)
		r.Checkpoint, r.NextSeq, r.CheckpointAPIRequests = checkpoint, nextSeq, apiRequests
		r.TurnNumber, r.TurnToken, r.TurnHolder, r.TurnClaimedUntil = r.TurnNumber+1, next, "", time.Time{}
		r.LeaseExpires, r.Updated = expires, now
		cur.LeaseExpires = expires
		if err := tx.Set(s.runRef(runID), r); err != nil {
			return err
		}
		return tx.Set(cref, cur)
	})
}

// FetchDone records that holder, holding turn token, published the run's last batch as
// batch nextSeq-1: the run moves from fetching to landing and needs no more turns. A run that
// already finished (its batches landed and process completed it first) is left as it is. It
// fails with ErrTurnLost when holder no longer holds the turn.
func (s *Store) FetchDone(ctx context.Context, runID, token, holder string, nextSeq, apiRequests int) error {
	return s.transact(ctx, "FetchDone", func(ctx context.Context, tx *firestore.Transaction) error {
		now := s.now()
		r, _, _, err := s.runAndCursor(tx, runID)
		if err != nil {
			return err
		}
		if r.State.Finished() {
			return nil
		}
		if !runlife.HoldsTurn(r, token, holder) {
			return fmt.Errorf("%w: run %s is %s at turn %d", ErrTurnLost, runID, r.State, r.TurnNumber)
		}
		r.State, r.Checkpoint, r.NextSeq, r.CheckpointAPIRequests = StateLanding, nil, nextSeq, apiRequests
		r.TurnHolder, r.TurnClaimedUntil, r.Updated = "", time.Time{}, now
		return tx.Set(s.runRef(runID), r)
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
	cref := s.cursorRef(string(r.Source))
	csnaps, err := getAll(tx, cref)
	if err != nil {
		return Run{}, nil, Cursor{}, err
	}
	cur, err := decodeCursor(csnaps[0], string(r.Source))
	return r, cref, cur, err
}

// LandBatch records that batch b of the run landed in Sheets, in one transaction: it
// creates runs/{runID}/batches/{seq} and updates the run (its Progress with b.Seq, Counts
// plus b.Counts, HighWater when b.Last, lease extended while the run holds it; the state
// stays). recorded is false when the batch had already landed (a redelivery): then nothing
// changes. It returns the run after the update.
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
			r = Run{ID: runID, Source: b.Source, Mode: b.Mode, State: StateLanding, Started: now,
				Progress: runlife.Progress{Expected: -1}, Message: "created by a batch of a run not in the ledger"}
		}
		if snaps[1].Exists() || r.Progress.Has(b.Seq) {
			run, recorded = r, false
			return nil
		}
		cref := s.cursorRef(string(r.Source))
		csnaps, err := getAll(tx, cref)
		if err != nil {
			return err
		}
		cur, err := decodeCursor(csnaps[0], string(r.Source))
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
		r.Progress = r.Progress.Add(b.Seq, b.Last)
		r.Counts.Add(b.Counts)
		if b.Last {
			r.HighWater = rec.HighWater
		}
		r.Updated = now
		if cur.LeaseRunID == runID && !r.State.Finished() {
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

// Landed reports whether every batch of run has landed: batches 0..last, by sequence number.
func (s *Store) Landed(run Run) bool { return run.Progress.Complete() }

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
		case !r.Progress.Complete():
			return fmt.Errorf("%w: run %s: %s", ErrNotLanded, runID, r.Progress.Describe())
		}
		r.State, r.Finished, r.Counts, r.Message = StateCompleted, now, final, message
		r.LeaseExpires, r.Updated = time.Time{}, now
		r.TurnHolder, r.TurnClaimedUntil = "", time.Time{}
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
		r.TurnHolder, r.TurnClaimedUntil = "", time.Time{}
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
