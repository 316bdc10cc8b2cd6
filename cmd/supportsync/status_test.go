package main

import (
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/state"
)

// TestDiagnose: what status calls stuck, why, and the command it suggests.
func TestDiagnose(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	// run fills in r (whose State the caller sets, whatever its Go type).
	run := func(r state.Run, id string, updated time.Time, landed, expected int) state.Run {
		r.ID, r.Landed, r.Expected, r.Updated, r.Started = id, landed, expected, updated, updated.Add(-time.Minute)
		return r
	}
	tests := []struct {
		name string
		cur  state.Cursor
		runs []state.Run
		want []string // substrings, one per line, in order; nil = nothing stuck
	}{
		{"healthy", state.Cursor{}, []state.Run{run(state.Run{State: state.StateCompleted}, "r1", now.Add(-time.Hour), 2, 2)}, nil},
		{"running normally", state.Cursor{LeaseRunID: "r2", LeaseExpires: now.Add(20 * time.Minute)},
			[]state.Run{run(state.Run{State: state.StateFetching}, "r2", now.Add(-2*time.Minute), 0, -1)}, nil},
		{"lease expired", state.Cursor{LeaseRunID: "r2", LeaseExpires: now.Add(-5 * time.Minute)},
			[]state.Run{run(state.Run{State: state.StateFetching}, "r2", now.Add(-40*time.Minute), 0, -1)},
			[]string{"run r2's lease expired 5m0s ago", "supportsync sync --source tickets"}},
		{"fetch died", state.Cursor{LeaseRunID: "r3", LeaseExpires: now.Add(10 * time.Hour)},
			[]state.Run{run(state.Run{State: state.StateFetching}, "r3", now.Add(-2*time.Hour), 0, -1)},
			[]string{"run r3 (fetching) holds the lease", "has not changed for 2h0m0s", "its fetch stopped", "supportsync lease release --source tickets --run r3"}},
		{"batches missing", state.Cursor{LeaseRunID: "r4", LeaseExpires: now.Add(10 * time.Hour)},
			[]state.Run{run(state.Run{State: state.StateLanding}, "r4", now.Add(-time.Hour), 3, 5)},
			[]string{"3 of 5 batches landed", "supportsync replay --peek", "--run r4"}},
		{"last failed", state.Cursor{}, []state.Run{func() state.Run {
			r := run(state.Run{State: state.StateFailed}, "r5", now, 0, -1)
			r.Error = "hubspot: 401"
			return r
		}()},
			[]string{"the last run failed: hubspot: 401"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diagnose("tickets", tt.cur, tt.runs, now)
			if len(tt.want) == 0 {
				if len(got) != 0 {
					t.Fatalf("stuck: %q, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d lines %q, want 1", len(got), got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0], w) {
					t.Errorf("%q lacks %q", got[0], w)
				}
			}
		})
	}
}
