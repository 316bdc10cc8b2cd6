package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/bus"
	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/table"
)

// TestMain makes the test binary double as the function server the stack re-executes.
func TestMain(m *testing.M) {
	if os.Getenv(ChildEnv) != "" {
		if err := ServeFunction(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	emulatortest.Main(m)
}

// syncWriter lets the stack's progress lines go to the test log.
type syncWriter struct {
	mu sync.Mutex
	t  *testing.T
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startStack starts a stack on the shared emulators, isolated by project.
func startStack(t *testing.T, tickets int, env map[string]string) *Stack {
	t.Helper()
	return startStackWith(t, Options{SandboxTickets: tickets}, env)
}

// startStackWith is startStack with sandbox options (size, latency) given.
func startStackWith(t *testing.T, o Options, env map[string]string) *Stack {
	t.Helper()
	fsHost, psHost := emulatortest.Firestore(t), emulatortest.PubSub(t)
	vars := map[string]string{
		"GOOGLE_CLOUD_PROJECT":    emulatortest.ProjectID(t),
		"FIRESTORE_EMULATOR_HOST": fsHost,
		"PUBSUB_EMULATOR_HOST":    psHost,
		"LOG_LEVEL":               "debug",
	}
	for k, v := range env {
		vars[k] = v
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o.DataDir, o.Getenv, o.Out, o.Executable = t.TempDir(), func(k string) string { return vars[k] }, &syncWriter{t: t}, exe
	o.Seed, o.MinBackoff, o.MaxDeliveryAttempts = 42, 500*time.Millisecond, 5
	o.WidgetsAddr = "127.0.0.1:0"
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range Functions {
				if b, err := os.ReadFile(s.opts.DataDir + "/logs/" + f.Name + ".log"); err == nil {
					t.Logf("--- %s log (tail) ---\n%s", f.Name, tail(string(b), 6000))
				}
			}
		}
		s.Close()
	})
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func mustSync(t *testing.T, s *Stack, mode batch.Mode) Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sum, err := s.Sync(ctx, batch.Tickets, mode, time.Minute)
	if err != nil {
		t.Fatalf("%s sync: %v", mode, err)
	}
	return sum
}

// sheetRows returns a tab as display strings keyed by the first column, plus the header.
func sheetRows(t *testing.T, s *Stack, tab string) ([]string, map[string][]string, [][]string) {
	t.Helper()
	rows, err := s.Sandbox.Sheets.Display(s.Env["SPREADSHEET_ID"], tab)
	if err != nil {
		t.Fatalf("read %s: %v", tab, err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s is empty", tab)
	}
	byKey := map[string][]string{}
	for i, r := range rows[1:] {
		if len(r) == 0 || r[0] == "" {
			t.Fatalf("%s row %d is blank inside the data", tab, i+2)
		}
		if _, dup := byKey[r[0]]; dup {
			t.Fatalf("%s: key %s appears twice", tab, r[0])
		}
		byKey[r[0]] = r
	}
	return rows[0], byKey, rows
}

func col(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %q in %v", name, header)
	return -1
}

func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

// TestTicketsFullIncrementalFull runs the whole pipeline through the real clients, the
// emulators and push subscriptions: a full sync, changes at the source (edit, new ticket,
// reassignment to a manager, archive), an incremental sync, then a full sync.
func TestTicketsFullIncrementalFull(t *testing.T) {
	s := startStack(t, 700, map[string]string{"BATCH_RECORDS": "150"})
	hs := s.Sandbox.HubSpot

	sum := mustSync(t, s, batch.Full)
	c := sum.Run.Counts
	header, rows, _ := sheetRows(t, s, table.Tickets.Tab)
	if got, want := strings.Join(header[:len(table.Tickets.Columns)], ","), strings.Join(table.Tickets.Headers(), ","); got != want {
		t.Fatalf("header\n got %s\nwant %s", got, want)
	}
	if len(rows) != c.Inserted || c.Inserted != c.Fetched-c.Excluded-c.Rejected || c.Fetched < 600 {
		t.Fatalf("full sync: %d rows; counts %+v", len(rows), c)
	}
	// Every tab exists with its header after the first batch, whichever source it came from.
	for _, sc := range []table.Schema{table.Chats, table.SyncLog} {
		h, _, _ := sheetRows(t, s, sc.Tab)
		if got, want := strings.Join(h, ","), strings.Join(sc.Headers(), ","); got != want {
			t.Errorf("%s header\n got %s\nwant %s", sc.Tab, got, want)
		}
	}
	if c.Excluded == 0 {
		t.Fatalf("the sandbox's manager owns tickets, none excluded: %+v", c)
	}
	if sum.Run.Expected < 4 {
		t.Fatalf("700 tickets at 150 a batch should make several batches, got %d", sum.Run.Expected)
	}
	agent, subject := col(t, header, "Agent"), col(t, header, "Subject")
	for id, r := range rows {
		if cell(r, agent) == "Richie" {
			t.Fatalf("ticket %s of the manager is in the sheet", id)
		}
	}

	// Pick tickets that are in the sheet for the changes.
	var ids []string
	for _, id := range hs.IDs(false, nil) {
		if _, ok := rows[id]; ok {
			ids = append(ids, id)
		}
	}
	edited, toManager, archived, noted := ids[0], ids[1], ids[2], ids[3]
	// A user's note in the first column right of the contract columns, beside one record.
	_, _, raw := sheetRows(t, s, table.Tickets.Tab)
	noteRow := -1
	for i, r := range raw {
		if r[0] == noted {
			noteRow = i + 1
		}
	}
	noteCol := string(rune('A' + len(table.Tickets.Columns)))
	// Tabs are exactly as wide as their contract: the user adds a column for notes first.
	info, _ := s.Sandbox.Sheets.Sheet(s.Env["SPREADSHEET_ID"], table.Tickets.Tab)
	if err := s.Sandbox.Sheets.SetGrid(s.Env["SPREADSHEET_ID"], table.Tickets.Tab, info.RowCount, info.ColumnCount+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Sandbox.Sheets.SetCell(s.Env["SPREADSHEET_ID"], table.Tickets.Tab, fmt.Sprintf("%s%d", noteCol, noteRow), "call back Monday"); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	newSubject := "=HYPERLINK(\"http://evil\") edited ✅"
	if err := hs.Update(edited, map[string]*string{"subject": &newSubject}, now); err != nil {
		t.Fatal(err)
	}
	if err := hs.Reassign(toManager, hubspotfake.ManagerOwnerID, now); err != nil {
		t.Fatal(err)
	}
	if err := hs.Archive(archived, now); err != nil {
		t.Fatal(err)
	}
	subj := "Brand new ticket"
	newID, err := hs.Add(hubspot.Ticket{Properties: map[string]*string{"subject": &subj}}, now)
	if err != nil {
		t.Fatal(err)
	}

	sum = mustSync(t, s, batch.Incremental)
	if sum.Run.Counts.Fetched > 50 {
		t.Errorf("incremental sync fetched %d tickets; it should read only what changed", sum.Run.Counts.Fetched)
	}
	header, rows, _ = sheetRows(t, s, table.Tickets.Tab)
	if got := cell(rows[edited], subject); got != newSubject {
		t.Errorf("edited subject = %q, want %q (as text)", got, newSubject)
	}
	if _, ok := rows[toManager]; ok {
		t.Errorf("ticket %s reassigned to the manager is still in the sheet", toManager)
	}
	if _, ok := rows[newID]; !ok {
		t.Errorf("new ticket %s missing", newID)
	}
	if _, ok := rows[archived]; !ok {
		t.Errorf("an incremental run cannot see archiving; ticket %s should still be there", archived)
	}
	if got := cell(rows[noted], len(table.Tickets.Columns)); got != "call back Monday" {
		t.Errorf("user's note beside %s = %q after the incremental sync", noted, got)
	}

	sum = mustSync(t, s, batch.Full)
	_, rows, _ = sheetRows(t, s, table.Tickets.Tab)
	if _, ok := rows[archived]; ok {
		t.Errorf("archived ticket %s still in the sheet after a full sync", archived)
	}
	if sum.Run.Counts.Deleted == 0 {
		t.Errorf("full sync deleted nothing: %+v", sum.Run.Counts)
	}
	if got := cell(rows[noted], len(table.Tickets.Columns)); got != "call back Monday" {
		t.Errorf("user's note beside %s = %q after the full sync", noted, got)
	}

	logHeader, logs, _ := sheetRows(t, s, table.SyncLog.Tab)
	if len(logs) != 3 {
		t.Fatalf("Sync_Log has %d rows, want 3", len(logs))
	}
	status := col(t, logHeader, "Status")
	for id, r := range logs {
		if cell(r, status) != "completed" {
			t.Errorf("Sync_Log %s status %q", id, cell(r, status))
		}
	}
	cur, ok, err := s.Store.Cursor(context.Background(), "tickets")
	if err != nil || !ok || cur.RunID != sum.Run.ID {
		t.Errorf("cursor = %+v, %v, %v; want the last run %s", cur, ok, err, sum.Run.ID)
	}
}

// TestCrashBetweenBatches kills the process function in the middle of a run and starts it
// again: Pub/Sub redelivers what was not acknowledged, and every ticket lands exactly once.
func TestCrashBetweenBatches(t *testing.T) {
	s := startStack(t, 2400, map[string]string{"BATCH_RECORDS": "60"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runID := "crash-test-run"
	data, _ := json.Marshal(batch.SyncRequest{Mode: batch.Full, RunID: runID})
	if _, err := s.pub.Publish(ctx, s.topic("TOPIC_SYNC_TICKETS", "sync-tickets"), data, nil); err != nil {
		t.Fatal(err)
	}
	// Wait until a few batches landed, then crash the process function.
	for {
		run, ok, err := s.Store.Run(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		if ok && run.Landed >= 2 {
			if run.State == "completed" {
				t.Fatal("run completed before the crash; make it longer")
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.RestartFunction(ctx, "process"); err != nil {
		t.Fatal(err)
	}
	// A kill inside a Firestore transaction (the ledger's) leaves its locks until the
	// transaction expires, 60 s idle in Firestore and its emulator: the next process instance
	// may wait that long before the run moves again (3 of 27 runs here stalled about 60 s; with
	// this allowance each then completed), so the stall allowed is longer than that.
	run, err := WaitRun(ctx, s.Store, runID, 150*time.Second, &syncWriter{t: t})
	if err != nil {
		t.Fatal(err)
	}
	_, rows, _ := sheetRows(t, s, table.Tickets.Tab)
	c := run.Counts
	if len(rows) != c.Fetched-c.Excluded-c.Rejected {
		t.Fatalf("%d rows after the crash; counts %+v", len(rows), c)
	}
}

// TestRedeliveryAndPoison publishes batches by hand: a batch delivered twice changes nothing
// the second time; a poison batch is dead-lettered and its run stays incomplete, with the
// cursor where it was.
func TestRedeliveryAndPoison(t *testing.T) {
	s := startStack(t, 50, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	mustSync(t, s, batch.Full)
	raw := s.topic("TOPIC_RAW_BATCHES", "raw-batches")

	subj := "Replayed ticket"
	created := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	payload, _ := json.Marshal(hubspot.Payload{
		Tickets:   []hubspot.Ticket{{ID: "777000001", Properties: map[string]*string{"subject": &subj, "createdate": &created}}},
		Owners:    s.Sandbox.Tickets.Owners,
		Pipelines: s.Sandbox.Tickets.Pipelines,
	})
	good := &batch.Batch{Source: batch.Tickets, RunID: "manual-replay", Mode: batch.Incremental, Seq: 0, Last: true,
		RunStarted: time.Now(), HighWater: time.Now(), Records: 1, Payload: payload}
	data, attrs, _ := batch.Encode(good)
	if _, err := s.pub.Publish(ctx, raw, data, attrs); err != nil {
		t.Fatal(err)
	}
	if _, err := WaitRun(ctx, s.Store, "manual-replay", time.Minute, &syncWriter{t: t}); err != nil {
		t.Fatal(err)
	}
	before, _, err := s.Store.Cursor(ctx, "tickets")
	if err != nil {
		t.Fatal(err)
	}
	_, _, snapshot := sheetRows(t, s, table.Tickets.Tab)
	r0, w0 := s.Sandbox.Sheets.Requests(sheetsfake.Reads), s.Sandbox.Sheets.Requests(sheetsfake.Writes)
	if _, err := s.pub.Publish(ctx, raw, data, attrs); err != nil {
		t.Fatal(err)
	}

	// A batch of a run older than the cursor (a long dead-lettered batch, replayed): it would
	// put an older subject back, so it is not written.
	oldSubj := "Stale subject from an abandoned run"
	stalePayload, _ := json.Marshal(hubspot.Payload{
		Tickets:   []hubspot.Ticket{{ID: "777000001", Properties: map[string]*string{"subject": &oldSubj, "createdate": &created}}},
		Owners:    s.Sandbox.Tickets.Owners,
		Pipelines: s.Sandbox.Tickets.Pipelines,
	})
	stale := &batch.Batch{Source: batch.Tickets, RunID: "abandoned-long-ago", Mode: batch.Incremental, Seq: 3,
		RunStarted: time.Now().Add(-2 * time.Hour), Records: 1, Payload: stalePayload}
	sdata, sattrs, _ := batch.Encode(stale)
	if _, err := s.pub.Publish(ctx, raw, sdata, sattrs); err != nil {
		t.Fatal(err)
	}

	// A poison batch of another run: valid bookkeeping, a payload that is not tickets.
	poison := &batch.Batch{Source: batch.Tickets, RunID: "poison-run", Mode: batch.Full, Seq: 0, Last: true,
		RunStarted: time.Now(), Records: 1, Payload: json.RawMessage(`{"tickets": 5}`)}
	pdata, pattrs, _ := batch.Encode(poison)
	if _, err := s.pub.Publish(ctx, raw, pdata, pattrs); err != nil {
		t.Fatal(err)
	}
	dead := pullOne(t, ctx, s, s.topic("TOPIC_DEAD_LETTER", "dead-letter")+"-replay")
	if !bytes.Equal(dead.Data, pdata) {
		t.Fatalf("dead-lettered message is not the poison batch (attrs %v)", dead.Attributes)
	}
	_, _, after := sheetRows(t, s, table.Tickets.Tab)
	if fmt.Sprint(after) != fmt.Sprint(snapshot) {
		t.Errorf("the redelivered or the stale batch changed the sheet")
	}
	if logs, _ := os.ReadFile(s.opts.DataDir + "/logs/process.log"); !strings.Contains(string(logs), `"event":"batch_stale"`) {
		t.Errorf("the stale batch was not reported as superseded")
	}
	if r1, w1 := s.Sandbox.Sheets.Requests(sheetsfake.Reads), s.Sandbox.Sheets.Requests(sheetsfake.Writes); w1 != w0 {
		t.Errorf("redelivery and poison made %d write requests (%d reads)", w1-w0, r1-r0)
	}
	run, ok, err := s.Store.Run(ctx, "poison-run")
	if err != nil || (ok && run.State == "completed") {
		t.Errorf("poison run = %+v, %v", run, err)
	}
	cur, _, err := s.Store.Cursor(ctx, "tickets")
	if err != nil || !cur.HighWater.Equal(before.HighWater) || cur.RunID != "manual-replay" {
		t.Errorf("cursor moved to %+v (before %+v)", cur, before)
	}
}

// pullOne waits for one message on a pull subscription and acks it.
func pullOne(t *testing.T, ctx context.Context, s *Stack, sub string) *pubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var got *pubsub.Message
	err := s.ps.Subscriber(bus.SubscriptionName(s.Project, sub)).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		if got == nil {
			got = m
		}
		cancel()
	})
	if got == nil {
		t.Fatalf("nothing arrived on %s: %v", sub, err)
	}
	return got
}

// TestReplayMovesDeadLetteredBatchesBack dead-letters a poison batch, replays the dead-letter
// subscription the way `supportsync replay` does, and sees the batch processed again (and,
// still poison, dead-lettered again).
func TestReplayMovesDeadLetteredBatchesBack(t *testing.T) {
	s := startStack(t, 10, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	poison := &batch.Batch{Source: batch.Tickets, RunID: "replayed-poison", Mode: batch.Full, Seq: 0, Last: true,
		RunStarted: time.Now(), Records: 1, Payload: json.RawMessage(`{"owners": "nobody"}`)}
	data, attrs, _ := batch.Encode(poison)
	raw := s.topic("TOPIC_RAW_BATCHES", "raw-batches")
	if _, err := s.pub.Publish(ctx, raw, data, attrs); err != nil {
		t.Fatal(err)
	}
	replaySub := s.ps.Subscriber(bus.SubscriptionName(s.Project, s.topic("TOPIC_DEAD_LETTER", "dead-letter")+"-replay"))
	n, err := bus.Replay(ctx, replaySub, s.pub, raw, 1, time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("replay moved %d, %v; want 1", n, err)
	}
	again := pullOne(t, ctx, s, s.topic("TOPIC_DEAD_LETTER", "dead-letter")+"-replay")
	if !bytes.Equal(again.Data, data) {
		t.Fatal("the replayed batch is not the one that was dead-lettered")
	}
	logs, err := os.ReadFile(s.opts.DataDir + "/logs/process.log")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(logs), `"run_id":"replayed-poison"`); got < 2*s.opts.MaxDeliveryAttempts {
		t.Errorf("process saw the batch %d times, want at least %d (two rounds of delivery attempts)", got, 2*s.opts.MaxDeliveryAttempts)
	}
}
