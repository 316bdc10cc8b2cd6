package devstack

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/table"
)

// mustSyncSource runs one sync of src to the end.
func mustSyncSource(t *testing.T, s *Stack, src batch.Source, mode batch.Mode) Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sum, err := s.Sync(ctx, src, mode, time.Minute)
	if err != nil {
		t.Fatalf("%s %s sync: %v", src, mode, err)
	}
	return sum
}

// waitLog waits until the function's log has a line containing every one of parts.
func waitLog(t *testing.T, s *Stack, function string, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(s.opts.DataDir, "logs", function+".log"))
		for _, line := range strings.Split(string(b), "\n") {
			if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s log line with %q", function, parts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestChatsFullIncrementalReplay runs chats through the whole pipeline, the same way as
// tickets: a full sync of the sandbox LiveChat, then new threads and a rating given a day
// after a thread that had already landed, an incremental sync, then a batch published twice.
func TestChatsFullIncrementalReplay(t *testing.T) {
	s := startStack(t, 50, map[string]string{"BATCH_RECORDS": "400"})
	lc := s.Sandbox.Chats
	r := rand.New(rand.NewPCG(42, 3))
	now := time.Now()
	// A thread older than LOOKBACK_MINUTES but inside LIVECHAT_LOOKBACK_HOURS: rated later.
	rated, err := s.Sandbox.AddChat(r, now.Add(-30*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}

	sum := mustSyncSource(t, s, batch.Chats, batch.Full)
	c := sum.Run.Counts
	from := sum.Run.Started.Add(-365 * 24 * time.Hour)
	inWindow := 0
	for _, ch := range lc.Chats() {
		if at, err := livechat.ParseTime(ch.Thread.CreatedAt); err == nil && !at.Before(from) && !at.After(sum.Run.Started) {
			inWindow++
		}
	}
	header, rows, raw := sheetRows(t, s, table.Chats.Tab)
	if got, want := strings.Join(header, ","), strings.Join(table.Chats.Headers(), ","); got != want {
		t.Fatalf("header\n got %s\nwant %s", got, want)
	}
	if c.Fetched != inWindow || len(rows) != inWindow-c.Rejected || c.Inserted != len(rows) || inWindow < 1000 {
		t.Fatalf("full sync: %d rows, %d threads in the window; counts %+v", len(rows), inWindow, c)
	}
	if sum.Run.Expected < 3 {
		t.Errorf("%d threads at 400 a batch made %d batches", inWindow, sum.Run.Expected)
	}
	handled, bot, agent := col(t, header, "Handled By"), col(t, header, "Bot"), col(t, header, "Agent")
	rating, comment := col(t, header, "Rating"), col(t, header, "Rating Comment")
	seen := map[string]int{}
	for id, row := range rows {
		h := cell(row, handled)
		if !slices.Contains([]string{"Bot", "Bot → Human", "Human", "Unanswered"}, h) {
			t.Fatalf("thread %s: Handled By %q", id, h)
		}
		seen[h]++
		if b := cell(row, bot); !slices.Contains([]string{"", "Wynn AI", "Agent Scrape"}, b) {
			t.Errorf("thread %s: Bot %q is not a standard name", id, b)
		}
		if a := cell(row, agent); a == "Anna Kowalska" || a == "richie@example.com" {
			t.Errorf("thread %s: Agent %q, want the team config's name", id, a)
		}
	}
	if len(seen) != 4 {
		t.Errorf("Handled By values %v: want all four", seen)
	}
	var all strings.Builder
	for _, row := range raw {
		all.WriteString(strings.Join(row, "\x00"))
		all.WriteByte('\n')
	}
	for _, pii := range lc.CustomerPII() {
		if strings.Contains(all.String(), pii) {
			t.Fatalf("customer data %q is in the Chats tab", pii)
		}
	}
	if cell(rows[rated], rating) != "" {
		t.Fatalf("thread %s is rated before the rating: %v", rated, rows[rated])
	}

	// Changes at the source: two new threads, and the older thread rated now.
	var added []string
	for range 2 {
		id, err := s.Sandbox.AddChat(r, time.Now().Add(-10*time.Minute), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, id)
	}
	bad := 0
	if !lc.SetRating(rated, &bad, "Nobody came back to me", time.Now()) {
		t.Fatal("SetRating: no thread", rated)
	}
	sum = mustSyncSource(t, s, batch.Chats, batch.Incremental)
	if f := sum.Run.Counts.Fetched; f < 3 || f > 100 {
		t.Errorf("incremental sync fetched %d threads; want the last %s of threads", f, "48h")
	}
	_, rows, _ = sheetRows(t, s, table.Chats.Tab)
	for _, id := range added {
		if _, ok := rows[id]; !ok {
			t.Errorf("new thread %s is not in the sheet", id)
		}
	}
	if got := [2]string{cell(rows[rated], rating), cell(rows[rated], comment)}; got != [2]string{"bad", "Nobody came back to me"} {
		t.Errorf("late rating of %s = %q", rated, got)
	}
	logHeader, logs, _ := sheetRows(t, s, table.SyncLog.Tab)
	source, status := col(t, logHeader, "Source"), col(t, logHeader, "Status")
	chatRuns := 0
	for id, row := range logs {
		if cell(row, source) == "chats" {
			chatRuns++
			if cell(row, status) != "completed" {
				t.Errorf("Sync_Log %s: status %q", id, cell(row, status))
			}
		}
	}
	if chatRuns != 2 {
		t.Errorf("Sync_Log has %d chats rows, want 2", chatRuns)
	}

	// Replay: one chats batch delivered twice; the second delivery changes nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ds := lc.Payload()
	var replayed []livechat.Chat
	for _, ch := range ds.Chats {
		if ch.Thread.ID == rated || slices.Contains(added, ch.Thread.ID) {
			replayed = append(replayed, ch)
		}
	}
	ds.Chats = replayed
	payload, err := json.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	runStarted := time.Now()
	b := &batch.Batch{Source: batch.Chats, RunID: "chats-replay", Mode: batch.Incremental, Seq: 0, Last: true,
		RunStarted: runStarted, WindowFrom: runStarted.Add(-time.Hour), WindowTo: runStarted, HighWater: runStarted,
		Records: len(replayed), Payload: payload}
	data, attrs, err := batch.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	rawTopic := s.topic("TOPIC_RAW_BATCHES", "raw-batches")
	if _, err := s.pub.Publish(ctx, rawTopic, data, attrs); err != nil {
		t.Fatal(err)
	}
	if _, err := WaitRun(ctx, s.Store, "chats-replay", time.Minute, &syncWriter{t: t}); err != nil {
		t.Fatal(err)
	}
	_, _, snapshot := sheetRows(t, s, table.Chats.Tab)
	w0 := s.Sandbox.Sheets.Requests(sheetsfake.Writes)
	if _, err := s.pub.Publish(ctx, rawTopic, data, attrs); err != nil {
		t.Fatal(err)
	}
	waitLog(t, s, "process", `"batch_duplicate"`, `"chats-replay"`)
	_, _, after := sheetRows(t, s, table.Chats.Tab)
	if !slices.EqualFunc(snapshot, after, slices.Equal) {
		t.Errorf("the replayed batch changed the Chats tab")
	}
	if w1 := s.Sandbox.Sheets.Requests(sheetsfake.Writes); w1 != w0 {
		t.Errorf("the replayed batch made %d write requests", w1-w0)
	}
}
