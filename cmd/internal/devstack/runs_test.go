package devstack

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/table"
)

// slowEnv makes every run take several fetch invocations: the smallest fetch budget the
// configuration allows, small batches (the sandbox APIs are slowed by the stack options).
var slowEnv = map[string]string{"FETCH_BUDGET_SECONDS": "10", "BATCH_RECORDS": "400", "LEASE_MINUTES": "5"}

// checkRun checks that a run completed with batches 0..last all landed and, when several is
// set, that its fetch took more than one invocation (turn).
func checkRun(t *testing.T, sum Summary, several bool) {
	t.Helper()
	r := sum.Run
	if r.State != "completed" || !r.Progress.Complete() || r.Landed != r.Expected {
		t.Fatalf("run %s: state %s, %s", r.ID, r.State, r.Progress.Describe())
	}
	t.Logf("run %s (%s): %d fetch invocations, %d batches, %d fetched, %.1fs", r.ID, r.Mode, r.TurnNumber, r.Expected, r.Counts.Fetched, sum.Seconds)
	if several && r.TurnNumber < 2 {
		t.Errorf("run %s took %d fetch invocation; the budget should have forced continuations", r.ID, r.TurnNumber)
	}
}

// checkLog checks that Sync_Log has one completed row per run.
func checkLog(t *testing.T, s *Stack, runs ...Summary) {
	t.Helper()
	header, logs, _ := sheetRows(t, s, table.SyncLog.Tab)
	status := col(t, header, "Status")
	for _, sum := range runs {
		if got := cell(logs[sum.Run.ID], status); got != "completed" {
			t.Errorf("Sync_Log %s status %q, want completed", sum.Run.ID, got)
		}
	}
	if len(logs) != len(runs) {
		t.Errorf("Sync_Log has %d rows for %d runs", len(logs), len(runs))
	}
}

// TestTicketRunsAlwaysFinish is the first sync of an account larger than one fetch budget,
// then an incremental and another full run, on a slow HubSpot: every run needs several fetch
// invocations (while its first batches land), every run completes, and every ticket in the
// window lands exactly once.
func TestTicketRunsAlwaysFinish(t *testing.T) {
	s := startStackWith(t, Options{SandboxTickets: 4500, SandboxChats: 10, SandboxLatency: 250 * time.Millisecond}, slowEnv)
	hs := s.Sandbox.HubSpot

	full := mustSync(t, s, batch.Full)
	checkRun(t, full, true)
	inWindow := func(started time.Time) map[string]bool {
		ids := map[string]bool{}
		for _, id := range hs.IDs(false, func(tk hubspot.Ticket) bool {
			c, err := time.Parse(time.RFC3339Nano, tk.Prop("createdate"))
			return err == nil && !c.Before(started.Add(-365*24*time.Hour))
		}) {
			ids[id] = true
		}
		return ids
	}
	want := inWindow(full.Run.Started)
	c := full.Run.Counts
	_, rows, _ := sheetRows(t, s, table.Tickets.Tab) // fails on a duplicated key or a blank row
	if c.Fetched != len(want) || len(rows) != c.Fetched-c.Excluded-c.Rejected || c.Inserted != len(rows) {
		t.Fatalf("full run: %d tickets in the window, %d rows; counts %+v", len(want), len(rows), c)
	}
	for id := range rows {
		if !want[id] {
			t.Errorf("row %s is not a ticket of the window", id)
		}
	}

	subj := "Arrived between runs"
	newID, err := hs.Add(hubspot.Ticket{Properties: map[string]*string{"subject": &subj}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	incr := mustSync(t, s, batch.Incremental)
	checkRun(t, incr, false)
	_, rows, _ = sheetRows(t, s, table.Tickets.Tab)
	if _, ok := rows[newID]; !ok || len(rows) != c.Inserted+1 {
		t.Errorf("after the incremental run: %d rows (new ticket %s there: %v), want %d", len(rows), newID, ok, c.Inserted+1)
	}

	// The second full run confirms its deletions (sync --allow-deletions): the run carries it.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	again, err := s.SyncRequest(ctx, batch.Tickets, batch.SyncRequest{Mode: batch.Full, AllowDeletions: true}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, again, true)
	if !again.Run.AllowDeletions || full.Run.AllowDeletions {
		t.Errorf("allow_deletions on the runs: first %v, second %v; want false, true", full.Run.AllowDeletions, again.Run.AllowDeletions)
	}
	_, rows2, _ := sheetRows(t, s, table.Tickets.Tab)
	c2 := again.Run.Counts
	if len(rows2) != len(rows) || c2.Inserted != 0 || c2.Deleted != 0 || c2.Fetched != len(inWindow(again.Run.Started)) {
		t.Errorf("second full run: %d rows (was %d); counts %+v", len(rows2), len(rows), c2)
	}
	checkLog(t, s, full, incr, again)
}

// TestChatRunsAlwaysFinish is the same for chats on a slow LiveChat.
func TestChatRunsAlwaysFinish(t *testing.T) {
	s := startStackWith(t, Options{SandboxTickets: 10, SandboxChats: 4500, SandboxLatency: 250 * time.Millisecond}, slowEnv)
	lc := s.Sandbox.Chats
	inWindow := func(started time.Time) map[string]bool {
		ids := map[string]bool{}
		for _, ch := range lc.Chats() {
			if at, err := livechat.ParseTime(ch.Thread.CreatedAt); err == nil && !at.Before(started.Add(-365*24*time.Hour)) && !at.After(started) {
				ids[ch.Thread.ID] = true
			}
		}
		return ids
	}

	full := mustSyncSource(t, s, batch.Chats, batch.Full)
	checkRun(t, full, true)
	want := inWindow(full.Run.Started)
	c := full.Run.Counts
	header, rows, _ := sheetRows(t, s, table.Chats.Tab)
	if c.Fetched != len(want) || len(rows) != c.Fetched-c.Rejected || c.Inserted != len(rows) {
		t.Fatalf("full run: %d threads in the window, %d rows; counts %+v", len(want), len(rows), c)
	}
	started, ended := col(t, header, "Started"), col(t, header, "Ended")
	for id, r := range rows {
		if !want[id] {
			t.Errorf("row %s is not a thread of the window", id)
		}
		if cell(r, ended) < cell(r, started) {
			t.Errorf("thread %s ends %s before it starts %s", id, cell(r, ended), cell(r, started))
		}
	}

	added, err := s.Sandbox.AddChat(rand.New(rand.NewPCG(7, 7)), time.Now().Add(-10*time.Minute), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	incr := mustSyncSource(t, s, batch.Chats, batch.Incremental)
	checkRun(t, incr, false)
	_, rows, _ = sheetRows(t, s, table.Chats.Tab)
	if len(rows) != c.Inserted+1 {
		t.Errorf("after the incremental run: %d rows, want %d (thread %v added)", len(rows), c.Inserted+1, added)
	}

	again := mustSyncSource(t, s, batch.Chats, batch.Full)
	checkRun(t, again, true)
	_, rows2, _ := sheetRows(t, s, table.Chats.Tab)
	if c2 := again.Run.Counts; len(rows2) != len(rows) || c2.Inserted != 0 || c2.Deleted != 0 {
		t.Errorf("second full run: %d rows (was %d); counts %+v", len(rows2), len(rows), c2)
	}
	checkLog(t, s, full, incr, again)
}
