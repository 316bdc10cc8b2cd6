package process

import (
	"context"
	"errors"
	"fmt"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/state"
	"supportsync.dev/shared/table"
)

// The mass-deletion guard (DESIGN "Writing into a sheet people use"): a full run that would
// remove more than GuardShare of a tab's rows, and more than GuardMin rows, beyond retention
// trimming, removes none of them unless the sync request allowed it.
const (
	GuardShare = 0.10
	GuardMin   = 50
)

// holdDeletions reports whether a full run's unseen deletions (beyond retention) of a tab of
// rows keyed rows are held by the guard. allow is the request's allow_deletions.
func holdDeletions(unseen, rows int, allow bool) bool {
	return !allow && unseen > GuardMin && float64(unseen) > GuardShare*float64(rows)
}

// heldMessage is the Sync_Log message of a run whose deletions were held.
func heldMessage(pr sheets.PruneResult, tab string) string {
	return fmt.Sprintf("%d of %d %s rows were not seen by this full run and were NOT deleted (more than %.0f%% and %d); "+
		"if the source really no longer has them, run a full sync with allow_deletions (supportsync sync --mode full --allow-deletions)",
		pr.Held, pr.Rows, tab, GuardShare*100, GuardMin)
}

// prune trims the run's tab at its finish: rows past the retention window always, and after a
// full run the rows whose record the run did not see, unless the guard holds them.
func (s *Service) prune(ctx context.Context, run state.Run, schema table.Schema, b *batch.Batch) (sheets.PruneResult, error) {
	pol := sheets.PrunePolicy{Expired: s.expired(schema)}
	if batch.Mode(run.Mode) == batch.Full {
		seen, err := s.Store.SeenKeys(ctx, run.ID)
		if err != nil {
			return sheets.PruneResult{}, err
		}
		pol.Unseen = func(r sheets.PruneRow) bool {
			_, ok := seen[r.Key]
			return !ok
		}
		allow := run.AllowDeletions || b.AllowDeletions
		pol.Hold = func(unseen, rows int) bool { return holdDeletions(unseen, rows, allow) }
	}
	return s.Sink.Prune(ctx, schema, pol)
}

// expired reports rows whose date is older than the retention window (a row whose date could
// not be read is kept rather than guessed old).
func (s *Service) expired(schema table.Schema) func(sheets.PruneRow) bool {
	if schema.DateColumn < 0 || s.Retention <= 0 {
		return nil
	}
	cutoff := s.now().Add(-s.Retention)
	return func(r sheets.PruneRow) bool { return !r.Date.IsZero() && r.Date.Before(cutoff) }
}

// refused reports whether the sink refused a write that no retry can fix before a person acts:
// a contract header changed, or the workbook's cell limit.
func refused(err error) bool {
	var he *sheets.HeaderError
	var ce *sheets.CellLimitError
	return errors.As(err, &he) || errors.As(err, &ce)
}
