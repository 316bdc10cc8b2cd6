package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"supportsync.dev/shared/state"
)

// stallAfter is how long an unfinished run may go without any change before status calls it
// stuck (a fetch invocation checkpoints well within the 9-minute function timeout, and
// batches land within minutes).
const stallAfter = 30 * time.Minute

// printSource prints one source the way Sync_Log reads, newest run first, then what is stuck
// and why.
func printSource(out io.Writer, source string, cur state.Cursor, found bool, runs []state.Run, now time.Time) {
	fmt.Fprintf(out, "== %s\n", source)
	switch {
	case !found || cur.HighWater.IsZero():
		fmt.Fprintln(out, "cursor:  none (the next run reads the whole retention window)")
	default:
		fmt.Fprintf(out, "cursor:  %s (run %s, set %s ago)\n", cur.HighWater.Format(time.RFC3339), cur.RunID, age(now, cur.Updated))
	}
	switch {
	case cur.LeaseRunID == "":
		fmt.Fprintln(out, "lease:   free")
	case cur.LeaseExpires.After(now):
		fmt.Fprintf(out, "lease:   held by run %s until %s (%s left)\n", cur.LeaseRunID, cur.LeaseExpires.Format(time.RFC3339), cur.LeaseExpires.Sub(now).Round(time.Second))
	default:
		fmt.Fprintf(out, "lease:   held by run %s, expired %s ago\n", cur.LeaseRunID, age(now, cur.LeaseExpires))
	}
	if len(runs) == 0 {
		fmt.Fprintln(out, "runs:    none")
	} else {
		fmt.Fprintf(out, "%-28s %-11s %-20s %-20s %-9s %7s %8s %7s %7s %8s %8s %7s %7s  %s\n",
			"Run ID", "Mode", "Started", "Finished", "Status", "Batches", "Fetched", "Inserted", "Updated", "Deleted", "Excluded", "Rejected", "Seconds", "Message")
		for _, r := range runs {
			finished, secs := "", ""
			if !r.Finished.IsZero() {
				finished = r.Finished.Format(time.RFC3339)
				secs = fmt.Sprintf("%.0f", r.Finished.Sub(r.Started).Seconds())
			}
			batches := fmt.Sprintf("%d/%d", r.Landed, r.Expected)
			if r.Expected < 0 {
				batches = fmt.Sprintf("%d/?", r.Landed)
			}
			msg := r.Message
			if r.Error != "" {
				msg = r.Error
			}
			fmt.Fprintf(out, "%-28s %-11s %-20s %-20s %-9s %7s %8d %7d %7d %8d %8d %7d %7s  %s\n",
				r.ID, r.Mode, r.Started.Format(time.RFC3339), finished, syncLogStatus(r), batches,
				r.Counts.Fetched, r.Counts.Inserted, r.Counts.Updated, r.Counts.Deleted, r.Counts.Excluded, r.Counts.Rejected, secs, msg)
		}
	}
	for _, p := range diagnose(source, cur, runs, now) {
		fmt.Fprintln(out, "STUCK   "+p)
	}
}

// age is a rounded duration since t.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	d := now.Sub(t)
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	default:
		return d.Round(time.Second).String()
	}
}

// diagnose says what is stuck and why, with the command that unsticks it.
func diagnose(source string, cur state.Cursor, runs []state.Run, now time.Time) []string {
	var out []string
	var holder *state.Run
	for i := range runs {
		if runs[i].ID == cur.LeaseRunID {
			holder = &runs[i]
		}
	}
	finished := func(r *state.Run) bool {
		return string(r.State) == string(state.StateCompleted) || string(r.State) == string(state.StateFailed)
	}
	if cur.LeaseRunID != "" {
		switch {
		case !cur.LeaseExpires.After(now):
			out = append(out, fmt.Sprintf("run %s's lease expired %s ago without the run finishing: the next sync request takes the lease over and marks it failed (supportsync sync --source %s)",
				cur.LeaseRunID, age(now, cur.LeaseExpires), source))
		case holder != nil && !finished(holder) && now.Sub(holder.Updated) > stallAfter:
			why := "its fetch stopped (function crash or timeout)"
			if string(holder.State) == string(state.StateLanding) && holder.LastKnown() && !holder.Complete() {
				why = fmt.Sprintf("%s; the others may be dead-lettered (supportsync replay --peek)", holder.Describe())
			}
			out = append(out, fmt.Sprintf("run %s (%s) holds the lease until %s but has not changed for %s: %s; if it is dead: supportsync lease release --source %s --run %s",
				holder.ID, holder.State, cur.LeaseExpires.Format(time.RFC3339), age(now, holder.Updated), why, source, holder.ID))
		}
	}
	for _, r := range runs {
		if r.ID == cur.LeaseRunID || finished(&r) {
			continue
		}
		if string(r.State) == string(state.StateLanding) && r.LastKnown() && !r.Complete() {
			out = append(out, fmt.Sprintf("run %s gave up its lease with %s: the rest are dead-lettered or lost (supportsync replay --peek)", r.ID, r.Describe()))
		}
	}
	if len(runs) > 0 && string(runs[0].State) == string(state.StateFailed) {
		out = append(out, fmt.Sprintf("the last run failed: %s", strings.TrimSpace(runs[0].Error)))
	}
	return out
}

// syncLogStatus is a run's state as its Sync_Log row says it: a completed run whose
// deletions the mass-deletion guard held is "held".
func syncLogStatus(r state.Run) string {
	if string(r.State) == string(state.StateCompleted) && r.Counts.Held > 0 {
		return "held"
	}
	return string(r.State)
}
