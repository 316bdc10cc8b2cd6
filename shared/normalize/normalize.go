// Package normalize is the core the per-source normalizers share (normalize/tickets for
// HubSpot tickets, normalize/chats for LiveChat threads), which turn source records into the
// sheet's typed rows by the design's rules: the Result of a batch, warnings counted and
// sampled, workdays in the team calendar, and the last-key-wins rule for duplicates. It
// imports no API client, so process depends on none. Everything here is pure: no I/O, no
// clock (the sync time is passed in), no context.
package normalize

import (
	"strconv"
	"time"

	"supportsync.dev/shared/table"
	"supportsync.dev/shared/team"
)

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

// MinYear and MaxYear bound a usable date: a date outside them is a bad value (an empty cell
// and a warning), in every source.
const (
	MinYear = 2000
	MaxYear = 2100
)

// YearOK reports whether year y is within MinYear..MaxYear.
func YearOK(y int) bool { return y >= MinYear && y <= MaxYear }

// MaxWarningSamples bounds Result.WarningSamples.
const MaxWarningSamples = 20

// Warn counts a warning and keeps a sample of it.
func (r *Result) Warn(msg string) {
	r.Warnings++
	if len(r.WarningSamples) < MaxWarningSamples {
		r.WarningSamples = append(r.WarningSamples, msg)
	}
}

// WarnValue counts a warning about an unusable value. msg builds the sample from the value,
// quoted and cut to 64 bytes; it is called only while samples are kept.
func (r *Result) WarnValue(raw string, msg func(quoted string) string) {
	if len(r.WarningSamples) >= MaxWarningSamples {
		r.Warnings++
		return
	}
	if len(raw) > 64 {
		raw = raw[:64] + "…"
	}
	r.Warn(msg(strconv.Quote(raw)))
}

// Workdays answers team.Config.IsWorkday once per local date: a batch holds many records of
// each day.
type Workdays struct {
	tc   *team.Config
	days map[int]bool // local yyyymmdd -> is a workday
}

// NewWorkdays returns a cache over tc.
func NewWorkdays(tc *team.Config) *Workdays { return &Workdays{tc: tc, days: map[int]bool{}} }

// Is reports whether the local date of t is a workday.
func (w *Workdays) Is(local time.Time) bool {
	y, m, d := local.Date()
	k := y*10000 + int(m)*100 + d
	is, ok := w.days[k]
	if !ok {
		is = w.tc.IsWorkday(local)
		w.days[k] = is
	}
	return is
}

// LastIndex maps each non-empty key among n records to the index of its last occurrence:
// when a batch holds a record twice, the last entry wins (at its position).
func LastIndex(n int, key func(i int) string) map[string]int {
	last := make(map[string]int, n)
	for i := range n {
		if k := key(i); k != "" {
			last[k] = i
		}
	}
	return last
}
