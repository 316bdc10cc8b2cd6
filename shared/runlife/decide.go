package runlife

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"supportsync.dev/shared/batch"
)

// Progress records which batches of a run have landed, so that completion is decided by
// sequence numbers (every batch 0..last landed), never by counting.
type Progress struct {
	// Expected is the number of batches (the last batch's seq + 1) once the last batch has
	// landed; 0 or -1 while unknown (a run always has at least one batch).
	Expected int `firestore:"expected"`
	// Landed is the number of distinct batches landed (for display).
	Landed int `firestore:"landed"`
	// Contiguous is how many batches from seq 0 on have all landed: 0..Contiguous-1.
	Contiguous int `firestore:"contiguous"`
	// Ahead lists, sorted, the landed seqs above Contiguous (batches landed out of order).
	Ahead []int `firestore:"ahead,omitempty"`
}

// Has reports whether batch seq has landed.
func (p Progress) Has(seq int) bool {
	if seq < p.Contiguous {
		return true
	}
	_, ok := slices.BinarySearch(p.Ahead, seq)
	return ok
}

// LastKnown reports whether the last batch has landed.
func (p Progress) LastKnown() bool { return p.Expected > 0 }

// Complete reports whether every batch 0..last has landed.
func (p Progress) Complete() bool { return p.LastKnown() && p.Contiguous >= p.Expected }

// highest is the highest landed seq, or -1.
func (p Progress) highest() int {
	if n := len(p.Ahead); n > 0 {
		return p.Ahead[n-1]
	}
	return p.Contiguous - 1
}

// Add returns the progress with batch seq landed (last marks the run's last batch). Adding a
// landed seq changes nothing.
func (p Progress) Add(seq int, last bool) Progress {
	if p.Has(seq) || seq < 0 {
		return p
	}
	out := p
	out.Ahead = nil
	ahead := slices.Clone(p.Ahead)
	i, _ := slices.BinarySearch(ahead, seq)
	ahead = slices.Insert(ahead, i, seq)
	for len(ahead) > 0 && ahead[0] == out.Contiguous {
		out.Contiguous++
		ahead = ahead[1:]
	}
	if len(ahead) > 0 {
		out.Ahead = ahead
	}
	out.Landed++
	if last {
		out.Expected = seq + 1
	}
	return out
}

// Missing lists up to max seqs below the highest landed (or below Expected) that have not
// landed, for messages.
func (p Progress) Missing(max int) []int {
	end := p.highest() + 1
	if p.LastKnown() {
		end = p.Expected
	}
	var out []int
	for s := p.Contiguous; s < end && len(out) < max; s++ {
		if !p.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// Describe says how far the run has landed, e.g. "3 of 5 batches landed (missing 1, 3)".
func (p Progress) Describe() string {
	exp := "?"
	if p.LastKnown() {
		exp = fmt.Sprint(p.Expected)
	}
	s := fmt.Sprintf("%d of %s batches landed", p.Landed, exp)
	if m := p.Missing(5); len(m) > 0 {
		s += fmt.Sprintf(" (missing %v)", m)
	}
	return s
}

// ErrRequest marks a sync request that can never be served as asked; its message says why.
var ErrRequest = errors.New("sync request rejected")

// Window is what a run reads.
type Window struct {
	From, To time.Time
}

// PlanWindow decides which window a new run reads, or rejects the request with the reason
// (wrapping ErrRequest):
//   - full: the whole retention window; since is refused (a full run must see every record
//     to know which are gone);
//   - incremental: from the cursor minus the look-back, or earlier when since asks for it;
//     since later than the cursor would leave a gap the cursor then skips, so it is refused;
//     without a cursor the first incremental run reads the retention window, and since may
//     only start it earlier;
//   - allow_deletions confirms a full run's deletions, so an incremental request with it is
//     refused too (it would do nothing, and a user who sent it expected deletions).
func PlanWindow(req batch.SyncRequest, since time.Time, cur Cursor, found bool, now time.Time, retention, lookback time.Duration) (Window, error) {
	w := Window{From: now.Add(-retention), To: now}
	var errs []error
	switch req.Mode {
	case batch.Full:
		if !since.IsZero() {
			errs = append(errs, errors.New("since is for incremental runs only: a full run always reads the whole retention window"))
		}
	case batch.Incremental:
		if req.AllowDeletions {
			errs = append(errs, errors.New("allow_deletions is for full runs only: an incremental run removes no rows that left the source"))
		}
		natural := w.From
		if found && !cur.HighWater.IsZero() {
			natural = cur.HighWater.Add(-lookback)
		}
		switch {
		case since.IsZero():
			w.From = natural
		case found && !cur.HighWater.IsZero() && since.After(cur.HighWater):
			errs = append(errs, fmt.Errorf("since %s is later than the %s cursor %s: that would leave a gap the cursor then skips",
				since.UTC().Format(time.RFC3339), cur.Source, cur.HighWater.UTC().Format(time.RFC3339)))
		case (!found || cur.HighWater.IsZero()) && since.After(natural):
			errs = append(errs, fmt.Errorf("since %s is later than the start of the retention window %s: the source has no cursor yet, so its first run reads the whole window",
				since.UTC().Format(time.RFC3339), natural.UTC().Format(time.RFC3339)))
		default:
			w.From = natural
			if since.Before(natural) {
				w.From = since
			}
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q is not full or incremental", req.Mode))
	}
	if err := errors.Join(errs...); err != nil {
		return Window{}, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	return w, nil
}

// TurnVerdict is what a fetch invocation may do with a run's turn.
type TurnVerdict int

// The verdicts.
const (
	// TurnNew: no such run yet; begin it (with the first turn claimed).
	TurnNew TurnVerdict = iota + 1
	// TurnTake: the request holds the current turn and nobody works on it (or the claim of
	// an invocation that crashed has lapsed): claim it and fetch.
	TurnTake
	// TurnBusy: another invocation is working on this very turn (a redelivered request).
	TurnBusy
	// TurnStale: the turn was handed on already (a late or redelivered continuation).
	TurnStale
	// TurnOver: the run needs no more fetching (the last batch was published, or the run
	// finished).
	TurnOver
)

var turnNames = map[TurnVerdict]string{TurnNew: "new", TurnTake: "take", TurnBusy: "busy", TurnStale: "stale", TurnOver: "over"}

// String names the verdict.
func (v TurnVerdict) String() string { return turnNames[v] }

// TurnDecision is a verdict with the reason a no-op gives.
type TurnDecision struct {
	Verdict TurnVerdict
	Reason  string
}

// DecideTurn decides whether a request carrying token may fetch run (exists false: no such
// run). The run's own sync request carries the empty token, which is the first turn's.
func DecideTurn(run Run, exists bool, token string, now time.Time) TurnDecision {
	switch {
	case !exists && token == "":
		return TurnDecision{Verdict: TurnNew}
	case !exists:
		return TurnDecision{Verdict: TurnStale, Reason: "a continuation of a run that is not in the ledger"}
	case run.State.Finished():
		return TurnDecision{Verdict: TurnOver, Reason: fmt.Sprintf("run %s is %s", run.ID, run.State)}
	case run.State != Fetching:
		return TurnDecision{Verdict: TurnOver, Reason: fmt.Sprintf("run %s has published its last batch (state %s)", run.ID, run.State)}
	case token != run.TurnToken:
		return TurnDecision{Verdict: TurnStale, Reason: fmt.Sprintf("run %s is at turn %d; this request's turn was handed on already", run.ID, run.TurnNumber)}
	case run.TurnHolder != "" && now.Before(run.TurnClaimedUntil):
		return TurnDecision{Verdict: TurnBusy, Reason: fmt.Sprintf("turn %d of run %s is being fetched by another invocation until %s",
			run.TurnNumber, run.ID, run.TurnClaimedUntil.UTC().Format(time.RFC3339))}
	}
	return TurnDecision{Verdict: TurnTake}
}

// HoldsTurn reports whether holder still holds run's turn token (so it may publish, hand on
// the next turn or mark the fetch done).
func HoldsTurn(run Run, token, holder string) bool {
	return run.State == Fetching && run.TurnToken == token && run.TurnHolder == holder && holder != ""
}

// LeaseVerdict is what a new run finds on its source's lease.
type LeaseVerdict int

// The lease verdicts.
const (
	LeaseFree      LeaseVerdict = iota + 1 // nobody holds it
	LeaseOwn                               // the run holds it already
	LeaseBusy                              // another run holds it and it has not expired
	LeaseAbandoned                         // another run held it and it expired: take it over, that run failed
)

// DecideLease decides whether runID may take cur's lease at now.
func DecideLease(cur Cursor, runID string, now time.Time) LeaseVerdict {
	switch {
	case cur.LeaseRunID == "":
		return LeaseFree
	case cur.LeaseRunID == runID:
		return LeaseOwn
	case now.Before(cur.LeaseExpires):
		return LeaseBusy
	}
	return LeaseAbandoned
}

// AbandonedMessage is the Sync_Log message of a run whose lease expired before it finished.
func AbandonedMessage(r Run) string {
	return fmt.Sprintf("abandoned: the lease expired with %s; a dead-lettered batch can be replayed with `supportsync replay`, the next run starts from the last cursor",
		r.Progress.Describe())
}

// BatchVerdict is what process does with a batch.
type BatchVerdict int

// The batch verdicts.
const (
	// BatchLand: write it and record it.
	BatchLand BatchVerdict = iota + 1
	// BatchDuplicate: it landed before (a redelivery); nothing is written, but the run is
	// finished if it is complete and not yet finished (a crash after the last landing).
	BatchDuplicate
	// BatchStale: a later run has moved the cursor past this run's start; writing would put
	// older values back.
	BatchStale
	// BatchConflict: its seq does not fit the run (beyond the landed last batch, or a second
	// last batch): it could only come from a forked fetch; nothing is written.
	BatchConflict
)

var batchNames = map[BatchVerdict]string{BatchLand: "land", BatchDuplicate: "duplicate", BatchStale: "stale", BatchConflict: "conflict"}

// String names the verdict.
func (v BatchVerdict) String() string { return batchNames[v] }

// BatchDecision is a verdict with its reason.
type BatchDecision struct {
	Verdict BatchVerdict
	Reason  string
}

// BatchRef is what a batch decision needs to know of a batch.
type BatchRef struct {
	RunID      string
	Seq        int
	Last       bool
	RunStarted time.Time
}

// DecideBatch decides what becomes of batch b given its run (exists false: not in the ledger)
// and the source's cursor. A batch of a failed run still lands unless it is stale: its records
// are as fresh as any (a dead-lettered batch replayed), only the run stays failed.
func DecideBatch(run Run, exists bool, cur Cursor, found bool, b BatchRef) BatchDecision {
	if exists && run.Progress.Has(b.Seq) {
		return BatchDecision{Verdict: BatchDuplicate, Reason: fmt.Sprintf("batch %d of run %s has landed before", b.Seq, b.RunID)}
	}
	if found && cur.RunID != b.RunID && cur.HighWater.After(b.RunStarted) {
		return BatchDecision{Verdict: BatchStale, Reason: fmt.Sprintf("run %s started %s, before run %s moved the cursor to %s",
			b.RunID, b.RunStarted.UTC().Format(time.RFC3339), cur.RunID, cur.HighWater.UTC().Format(time.RFC3339))}
	}
	if exists {
		p := run.Progress
		switch {
		case p.LastKnown() && b.Seq >= p.Expected:
			return BatchDecision{Verdict: BatchConflict, Reason: fmt.Sprintf("batch %d is beyond run %s's last batch %d", b.Seq, b.RunID, p.Expected-1)}
		case b.Last && p.highest() > b.Seq:
			return BatchDecision{Verdict: BatchConflict, Reason: fmt.Sprintf("last batch %d of run %s comes after batch %d landed", b.Seq, b.RunID, p.highest())}
		}
	}
	return BatchDecision{Verdict: BatchLand}
}

// ShouldFinish reports whether the run is due its finish: every batch landed, not finished.
// A failed run is never finished again (its batches may still land).
func ShouldFinish(run Run) bool { return !run.State.Finished() && run.Progress.Complete() }

// FailureVerdict is what process does with a failure report.
type FailureVerdict int

// The failure verdicts.
const (
	// FailureRecord: log the failure in Sync_Log and mark the run failed.
	FailureRecord FailureVerdict = iota + 1
	// FailureLogOnly: the run is failed already (the report is redelivered, or the run was
	// marked failed when its lease was taken over): make sure its Sync_Log row exists.
	FailureLogOnly
	// FailureIgnore: the run completed; a late report changes nothing.
	FailureIgnore
)

// DecideFailure decides what a failure report for run does (exists false: not in the ledger,
// which is recorded as a failed run so that it gets its Sync_Log row).
func DecideFailure(run Run, exists bool) FailureVerdict {
	switch {
	case exists && run.State == Completed:
		return FailureIgnore
	case exists && run.State == Failed:
		return FailureLogOnly
	}
	return FailureRecord
}
