// Package runlife is the one home of a sync run's life: the domain types a run is made of (its
// state, counts, cursor, progress, fetch turn) and the pure decisions taken along the way —
// which window a request reads, whether a fetch invocation may take the run's turn, whether a
// batch lands, is a duplicate, is stale or conflicts, whether a run is complete, whether a
// lease was abandoned, what a failure report does. Nothing here does I/O or reads a clock:
// state stores these types in Firestore, fetch and process act on the decisions.
package runlife

import (
	"time"

	"supportsync.dev/shared/batch"
)

// State is where a run is in its life.
type State string

// The states. A run is fetching while its fetch still has turns to go, landing once the fetch
// published its last batch, and completed or failed at the end.
const (
	Fetching  State = "fetching"
	Landing   State = "landing"
	Completed State = "completed"
	Failed    State = "failed"
)

// Finished reports whether the state is an end state.
func (s State) Finished() bool { return s == Completed || s == Failed }

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
	// Held counts the rows a full run's finish did not delete because the mass-deletion guard
	// held them (Sync_Log Status held).
	Held int `firestore:"held,omitempty" json:"held,omitempty"`
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
	c.Held += o.Held
}

// Cursor is how far a source has fully landed, and who holds its lease.
type Cursor struct {
	// Source is the source's name (also the document id).
	Source batch.Source `firestore:"source"`
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

// Run is one sync run of one source.
type Run struct {
	// ID is the run id (also the document id).
	ID string `firestore:"id"`
	// Source and Mode are as in the sync request.
	Source batch.Source `firestore:"source"`
	Mode   batch.Mode   `firestore:"mode"`
	// AllowDeletions is the request's allow_deletions: the run's deletions may pass the
	// sink's mass-deletion guard (full runs only).
	AllowDeletions bool `firestore:"allow_deletions"`
	// State is fetching, landing, completed or failed.
	State State `firestore:"state"`
	// Started is when the run began; Finished when it completed or failed.
	Started  time.Time `firestore:"started"`
	Finished time.Time `firestore:"finished,omitempty"`
	// WindowFrom and WindowTo are what the run reads, decided once when it begins.
	WindowFrom time.Time `firestore:"window_from,omitempty"`
	WindowTo   time.Time `firestore:"window_to,omitempty"`
	// Progress says which batches have landed.
	Progress
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
	// Turn is the fetch's current turn.
	Turn
	// Checkpoint is the fetch's resume point, opaque JSON owned by the fetcher.
	Checkpoint []byte `firestore:"checkpoint,omitempty"`
	// NextSeq is the sequence number of the next batch the fetch will publish.
	NextSeq int `firestore:"next_seq"`
	// CheckpointAPIRequests is the API request count the fetch reported at its last
	// checkpoint, kept as given for diagnosis.
	CheckpointAPIRequests int `firestore:"checkpoint_api_requests"`
	// Updated is when the document last changed.
	Updated time.Time `firestore:"updated"`
}

// Turn is the right to fetch the next part of a run. Exactly one turn is current; the
// invocation that claimed it is the only one that may publish batches and hand on the next
// turn, whose token travels in the continuation request it publishes.
type Turn struct {
	// TurnNumber counts the turns, from 1.
	TurnNumber int `firestore:"turn"`
	// TurnToken is the current turn's token ("" for the first turn, which the run's own sync
	// request holds).
	TurnToken string `firestore:"turn_token,omitempty"`
	// TurnHolder identifies the invocation working on the turn; empty while unclaimed.
	TurnHolder string `firestore:"turn_holder,omitempty"`
	// TurnClaimedUntil is when the holder's claim lapses: a redelivery of the same turn's
	// request may then take it over (the holder crashed).
	TurnClaimedUntil time.Time `firestore:"turn_claimed_until,omitempty"`
}
