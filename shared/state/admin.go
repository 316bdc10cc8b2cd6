package state

// Operator actions (`supportsync lease release`, `supportsync cursor reset`). They read and
// write the documents by field name, so they stay correct whatever the Go shapes of Run and
// Cursor become: cursors/{source} high_water, run_id, updated, lease_run_id, lease_expires;
// runs/{id} state, error, finished, lease_expires, updated.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// isNotFound reports whether err is Firestore's answer for a missing document.
func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }

// ErrOtherHolder: ReleaseLease was told which run to release, and another run holds the lease
// (it may have started after the operator looked).
var ErrOtherHolder = errors.New("state: the lease is held by another run")

// Released is what ForceReleaseLease did.
type Released struct {
	// Source is the source whose lease was looked at.
	Source string
	// RunID is the run that held the lease; empty when the lease was free (nothing done).
	RunID string
	// Expires is when the lease would have lapsed; Expired whether it already had.
	Expires time.Time
	Expired bool
	// RunState is the holding run's state before the release ("" when its document is
	// missing); FailedRun whether the release marked it failed.
	RunState  string
	FailedRun bool
}

// ForceReleaseLease frees source's lease whoever holds it, expired or not, and marks the
// holding run failed with "lease released by an operator: <reason>" unless it had already
// finished, so a late batch or continuation of that run can no longer land or advance the
// cursor; the cursor does not move. With runID set, the lease must be held by that run, else
// ErrOtherHolder and nothing changes. A free lease changes nothing (Released.RunID empty).
func (s *Store) ForceReleaseLease(ctx context.Context, source, runID, reason string) (Released, error) {
	var out Released
	err := s.transact(ctx, "ForceReleaseLease", func(ctx context.Context, tx *firestore.Transaction) error {
		now := s.now()
		out = Released{Source: source}
		csnap, err := tx.Get(s.cursorRef(source))
		if err != nil && !isNotFound(err) {
			return err
		}
		if csnap == nil || !csnap.Exists() {
			if runID != "" {
				return fmt.Errorf("%w: source %s has no lease, not run %s", ErrOtherHolder, source, runID)
			}
			return nil
		}
		cur, err := decodeCursor(csnap, source)
		if err != nil {
			return err
		}
		if runID != "" && cur.LeaseRunID != runID {
			holder := cur.LeaseRunID
			if holder == "" {
				holder = "no run"
			}
			return fmt.Errorf("%w: %s holds the %s lease, not %s", ErrOtherHolder, holder, source, runID)
		}
		if cur.LeaseRunID == "" {
			return nil
		}
		out.RunID, out.Expires, out.Expired = cur.LeaseRunID, cur.LeaseExpires, !cur.LeaseExpires.After(now)
		rref := s.runRef(cur.LeaseRunID)
		rsnap, err := tx.Get(rref)
		if err != nil && !isNotFound(err) {
			return err
		}
		if rsnap != nil && rsnap.Exists() {
			out.RunState, _ = rsnap.Data()["state"].(string)
		}
		if err := tx.Update(s.cursorRef(source), []firestore.Update{
			{Path: "lease_run_id", Value: firestore.Delete},
			{Path: "lease_expires", Value: firestore.Delete},
		}); err != nil {
			return err
		}
		if rsnap == nil || !rsnap.Exists() || out.RunState == string(StateCompleted) || out.RunState == string(StateFailed) {
			return nil
		}
		out.FailedRun = true
		return tx.Update(rref, []firestore.Update{
			{Path: "state", Value: string(StateFailed)},
			{Path: "error", Value: "lease released by an operator: " + reason},
			{Path: "finished", Value: now},
			{Path: "lease_expires", Value: firestore.Delete},
			{Path: "updated", Value: now},
		})
	})
	if err != nil {
		return Released{}, err
	}
	return out, nil
}

// ResetCursor removes source's high-water mark (high_water, run_id, updated), so its next run
// starts from the beginning of the retention window, as the first run did. The lease fields
// stay. While a run holds an unexpired lease it refuses with a *BusyError (that run's
// completion would set the mark again): reset between runs, or release the lease first. It
// returns the cursor as it was; found is false when the source had none (nothing to reset).
func (s *Store) ResetCursor(ctx context.Context, source string) (before Cursor, found bool, err error) {
	err = s.transact(ctx, "ResetCursor", func(ctx context.Context, tx *firestore.Transaction) error {
		before, found = Cursor{Source: source}, false
		ref := s.cursorRef(source)
		snap, err := tx.Get(ref)
		if err != nil && !isNotFound(err) {
			return err
		}
		if snap == nil || !snap.Exists() {
			return nil
		}
		if before, err = decodeCursor(snap, source); err != nil {
			return err
		}
		found = true
		if before.LeaseRunID != "" && before.LeaseExpires.After(s.now()) {
			return &BusyError{Source: source, Holder: before.LeaseRunID, Expires: before.LeaseExpires}
		}
		return tx.Update(ref, []firestore.Update{
			{Path: "high_water", Value: firestore.Delete},
			{Path: "run_id", Value: firestore.Delete},
			{Path: "updated", Value: firestore.Delete},
		})
	})
	if err != nil {
		return Cursor{}, false, err
	}
	return before, found, nil
}
