package widgetapi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"supportsync.dev/shared/state"
	"supportsync.dev/shared/widgetstore"
)

// RunReader reads the run ledger and cursors (state.Store in production; reads only).
type RunReader interface {
	Cursor(ctx context.Context, source string) (state.Cursor, bool, error)
	Runs(ctx context.Context, source string, limit int) ([]state.Run, error)
}

// Sources are the sources the status reports on.
var Sources = []string{"tickets", "chats"}

// statusRuns is how many recent runs per source the status lists.
const statusRuns = 10

// Status is the body of /api/v1/status.
type Status struct {
	// Overall is ok, stale or failing; Reason says why.
	Overall   string         `json:"overall"`
	Reason    string         `json:"reason"`
	CheckedAt time.Time      `json:"checked_at"`
	Dataset   *DatasetStatus `json:"dataset"`
	Sources   []SourceStatus `json:"sources"`
}

// DatasetStatus describes the published widget dataset.
type DatasetStatus struct {
	Version   string    `json:"version"`
	AsOf      time.Time `json:"as_of"`
	Published time.Time `json:"published"`
	Tickets   int       `json:"tickets"`
	Chats     int       `json:"chats"`
}

// SourceStatus is one source's sync state.
type SourceStatus struct {
	Source string `json:"source"`
	// State is the newest run's state (fetching, landing, completed, failed), "stuck" when
	// that run's lease expired unfinished, or "never" when it never ran.
	State  string        `json:"state"`
	Cursor *CursorStatus `json:"cursor"`
	Lease  *LeaseStatus  `json:"lease"`
	// LastRuns are the newest runs, newest first.
	LastRuns []RunStatus `json:"last_runs"`
	// InProgress, Stuck, Failed and Held list run ids among LastRuns: running with a live
	// lease, running with an expired lease, failed, and completed with deletions held back by
	// the mass-deletion guard.
	InProgress []string `json:"in_progress"`
	Stuck      []string `json:"stuck"`
	Failed     []string `json:"failed"`
	Held       []string `json:"held"`
}

// CursorStatus is a source's cursor and its age.
type CursorStatus struct {
	HighWater  time.Time `json:"high_water"`
	RunID      string    `json:"run_id"`
	Updated    time.Time `json:"updated"`
	AgeSeconds int64     `json:"age_seconds"`
}

// LeaseStatus is who holds a source's lease.
type LeaseStatus struct {
	RunID   string    `json:"run_id"`
	Expires time.Time `json:"expires"`
	Expired bool      `json:"expired"`
}

// RunStatus is one run.
type RunStatus struct {
	ID       string       `json:"id"`
	Mode     string       `json:"mode"`
	State    string       `json:"state"`
	Started  time.Time    `json:"started"`
	Finished *time.Time   `json:"finished"`
	Batches  string       `json:"batches"`
	Counts   state.Counts `json:"counts"`
	Message  string       `json:"message,omitempty"`
	Error    string       `json:"error,omitempty"`
	Held     bool         `json:"held"`
}

// held reports whether a completed run held deletions back (the mass-deletion guard): its
// counts say so (runs recorded before the count existed: its summary).
func held(r state.Run) bool {
	return r.Counts.Held > 0 || (r.State == state.StateCompleted && strings.Contains(strings.ToLower(r.Message), "held"))
}

// BuildStatus reads every source's cursor and recent runs and judges the whole: failing when a
// source's newest finished run failed or a run is stuck, stale when a source never completed
// or its cursor is older than stale, ok otherwise.
func BuildStatus(ctx context.Context, runs RunReader, ptr *widgetstore.Pointer, stale time.Duration, now time.Time) (Status, error) {
	st := Status{CheckedAt: now.UTC(), Sources: []SourceStatus{}}
	if ptr != nil {
		st.Dataset = &DatasetStatus{Version: ptr.Version, AsOf: ptr.AsOf, Published: ptr.Published, Tickets: ptr.Tickets, Chats: ptr.Chats}
	}
	var failing, stales, notes []string
	for _, src := range Sources {
		ss := SourceStatus{Source: src, State: "never", LastRuns: []RunStatus{}, InProgress: []string{}, Stuck: []string{}, Failed: []string{}, Held: []string{}}
		cur, ok, err := runs.Cursor(ctx, src)
		if err != nil {
			return Status{}, fmt.Errorf("widgetapi: status of %s: %w", src, err)
		}
		if ok && !cur.HighWater.IsZero() {
			ss.Cursor = &CursorStatus{HighWater: cur.HighWater, RunID: cur.RunID, Updated: cur.Updated, AgeSeconds: int64(now.Sub(cur.Updated).Seconds())}
		}
		if ok && cur.LeaseRunID != "" {
			ss.Lease = &LeaseStatus{RunID: cur.LeaseRunID, Expires: cur.LeaseExpires, Expired: !now.Before(cur.LeaseExpires)}
		}
		rs, err := runs.Runs(ctx, src, statusRuns)
		if err != nil {
			return Status{}, fmt.Errorf("widgetapi: status of %s: %w", src, err)
		}
		newestFinishedFailed := false
		sawFinished := false
		for i, r := range rs {
			rst := RunStatus{ID: r.ID, Mode: string(r.Mode), State: string(r.State), Started: r.Started, Counts: r.Counts,
				Message: r.Message, Error: r.Error, Held: held(r)}
			if !r.Finished.IsZero() {
				f := r.Finished
				rst.Finished = &f
			}
			rst.Batches = r.Describe()
			switch r.State {
			case state.StateFetching, state.StateLanding:
				if !r.LeaseExpires.IsZero() && !now.Before(r.LeaseExpires) {
					rst.State = "stuck"
					ss.Stuck = append(ss.Stuck, r.ID)
					failing = append(failing, fmt.Sprintf("%s: run %s is stuck (its lease expired %s ago)", src, r.ID, human(now.Sub(r.LeaseExpires))))
				} else {
					ss.InProgress = append(ss.InProgress, r.ID)
				}
			case state.StateFailed:
				ss.Failed = append(ss.Failed, r.ID)
				if !sawFinished {
					newestFinishedFailed = true
					failing = append(failing, fmt.Sprintf("%s: the last run %s failed: %s", src, r.ID, clipText(r.Error, 200)))
				}
				sawFinished = true
			case state.StateCompleted:
				sawFinished = true
			}
			if rst.Held {
				ss.Held = append(ss.Held, r.ID)
				if i == 0 || !newestFinishedFailed {
					notes = append(notes, fmt.Sprintf("%s: run %s held deletions back", src, r.ID))
				}
			}
			if i == 0 {
				ss.State = rst.State
			}
			ss.LastRuns = append(ss.LastRuns, rst)
		}
		switch {
		case ss.Cursor == nil:
			stales = append(stales, fmt.Sprintf("%s: no sync has completed yet", src))
		case now.Sub(cur.Updated) > stale:
			stales = append(stales, fmt.Sprintf("%s: last completed sync %s ago (more than %s)", src, human(now.Sub(cur.Updated)), human(stale)))
		}
		st.Sources = append(st.Sources, ss)
	}
	switch {
	case len(failing) > 0:
		st.Overall, st.Reason = "failing", strings.Join(append(failing, stales...), "; ")
	case len(stales) > 0:
		st.Overall, st.Reason = "stale", strings.Join(stales, "; ")
	default:
		st.Overall, st.Reason = "ok", fmt.Sprintf("every source completed a sync within %s", human(stale))
	}
	if len(notes) > 0 {
		st.Reason += "; " + strings.Join(notes, "; ")
	}
	return st, nil
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// human writes a duration the way a person reads it: "3h", "2h5m", "45s", "1d4h".
func human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d >= 48*time.Hour:
		d = d.Round(time.Hour)
		s := fmt.Sprintf("%dd", d/(24*time.Hour))
		if h := d % (24 * time.Hour) / time.Hour; h > 0 {
			s += fmt.Sprintf("%dh", h)
		}
		return s
	}
	s := d.Round(time.Minute).String() // "3h0m0s", "10m0s", "2h5m0s"
	s = strings.TrimSuffix(s, "m0s") + "m"
	if strings.HasSuffix(s, "h0m") {
		return strings.TrimSuffix(s, "0m")
	}
	return s
}
