// Package normalize turns source records (HubSpot tickets, LiveChat threads) into the sheet's
// typed rows by the design's rules: team timezone, one name per person, bot vs human,
// managers left out, labels instead of ids, bad values tolerated and counted. It is pure: no
// I/O, no clock (the sync time is passed in), no context.
package normalize

import "supportsync.dev/shared/table"

// Result is what normalizing one batch produced.
type Result struct {
	// Rows are the rows to upsert, in record order, one per key (a later duplicate wins).
	Rows []table.Row
	// Excluded are the keys of records that must not be in the sheet (tickets of a manager);
	// rows with these keys are removed if present.
	Excluded []string
	// Rejected are records that could not be keyed; nothing of them is written.
	Rejected []Rejection
	// Warnings counts values that were unusable and written as empty cells (bad dates, …).
	Warnings int
	// WarningSamples holds the first few warnings, for the log.
	WarningSamples []string
}

// Rejection says which record was rejected and why.
type Rejection struct {
	ID     string
	Reason string
}

// MaxWarningSamples bounds Result.WarningSamples.
const MaxWarningSamples = 20

// Warn counts a warning and keeps a sample of it.
func (r *Result) Warn(msg string) {
	r.Warnings++
	if len(r.WarningSamples) < MaxWarningSamples {
		r.WarningSamples = append(r.WarningSamples, msg)
	}
}
