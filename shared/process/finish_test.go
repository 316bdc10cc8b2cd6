package process_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/normalize"
	"supportsync.dev/shared/process"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/state"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/team"
)

const spreadsheet = "book"

// now is the tests' clock: Started dates are relative to it.
var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// chat is a record of the test source: a Chats row with its key and Started.
type chat struct {
	ID      string    `json:"id"`
	Started time.Time `json:"started"`
}

// normalizeChats turns a payload of chats into Chats rows (Thread ID, Chat ID, Started).
func normalizeChats(payload json.RawMessage, tc *team.Config, syncedAt time.Time) (normalize.Result, error) {
	var cs []chat
	if err := json.Unmarshal(payload, &cs); err != nil {
		return normalize.Result{}, err
	}
	var res normalize.Result
	for _, c := range cs {
		r := make(table.Row, len(table.Chats.Columns))
		r[0], r[1], r[2] = table.TextCell(c.ID), table.TextCell("chat-"+c.ID), table.TimeCell(c.Started.In(tc.Location))
		res.Rows = append(res.Rows, r)
	}
	return res, nil
}

type env struct {
	svc   *process.Service
	sink  *sheets.Sink
	srv   *sheetsfake.Server
	store *state.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet(spreadsheet))
	t.Cleanup(func() { srv.Close() })
	api, err := sheets.NewService(ctx, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := team.Default()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sink := sheets.New(api, spreadsheet, tc.Location, sheets.WithLogger(quiet), sheets.WithBackoff(time.Millisecond, 10*time.Millisecond, 4))
	store := state.New(emulatortest.FirestoreClient(t))
	store.Now = func() time.Time { return now }
	svc := &process.Service{
		Store: store, Sink: sink, Team: tc,
		Sources:   map[batch.Source]process.Normalizer{batch.Chats: {Schema: table.Chats, Normalize: normalizeChats}},
		Retention: 365 * 24 * time.Hour, LeaseTTL: time.Hour, Now: func() time.Time { return now }, Log: quiet,
	}
	return &env{svc: svc, sink: sink, srv: srv, store: store}
}

// run lands a one-batch run of the given chats and returns the Sync_Log row it appended.
func (e *env) run(t *testing.T, id string, mode batch.Mode, allow bool, chats []chat) []string {
	t.Helper()
	ctx := context.Background()
	if _, _, err := e.store.BeginRun(ctx, state.Run{ID: id, Source: batch.Chats, Mode: mode, AllowDeletions: allow, Started: now}, time.Hour); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(chats)
	data, attrs, err := batch.Encode(&batch.Batch{Source: batch.Chats, RunID: id, Mode: mode, AllowDeletions: allow, Seq: 0, Last: true,
		RunStarted: now, HighWater: now, Records: len(chats), Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Handle(ctx, data, attrs); err != nil {
		t.Fatalf("run %s: %v", id, err)
	}
	log := e.display(t, table.SyncLog.Tab)
	for _, r := range log[1:] {
		if r[0] == id {
			return r
		}
	}
	t.Fatalf("run %s has no Sync_Log row: %q", id, log)
	return nil
}

func (e *env) display(t *testing.T, tab string) [][]string {
	t.Helper()
	d, err := e.srv.Display(spreadsheet, tab)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) keys(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, r := range e.display(t, "Chats")[1:] {
		out[r[0]] = true
	}
	return out
}

// Sync_Log columns.
const (
	colStatus  = 5
	colDeleted = 9
	colMessage = 15
)

func chats(from, to int, started time.Time) []chat {
	var out []chat
	for i := from; i < to; i++ {
		out = append(out, chat{ID: fmt.Sprintf("t%04d", i), Started: started.Add(-time.Duration(i) * time.Minute)})
	}
	return out
}

// TestFullRunDeletionsAreHeldThenAllowed: a full run that no longer sees 40% of a tab's rows
// deletes none of them (Sync_Log `held`, the count in the message, the rows still there) while
// retention trimming still applies; the same run with allow_deletions deletes them.
func TestFullRunDeletionsAreHeldThenAllowed(t *testing.T) {
	e := newEnv(t)
	recent := now.Add(-24 * time.Hour)
	old := now.Add(-400 * 24 * time.Hour)
	all := append(chats(0, 190, recent), chats(190, 200, old)...) // ten rows past retention
	seenAgain := append(chats(0, 110, recent), chats(190, 200, old)...)

	e.svc.Retention = 0 // the first run writes the old rows too
	if first := e.run(t, "run-1", batch.Full, false, all); first[colStatus] != "completed" {
		t.Fatalf("first run: %q", first)
	}
	e.svc.Retention = 365 * 24 * time.Hour
	if n := len(e.keys(t)); n != 200 {
		t.Fatalf("%d rows before the full run, want 200", n)
	}

	held := e.run(t, "run-2", batch.Full, false, seenAgain)
	if held[colStatus] != "held" {
		t.Errorf("Status %q, want held (%q)", held[colStatus], held)
	}
	if !strings.Contains(held[colMessage], "80 of 200 Chats rows") {
		t.Errorf("message %q does not give the held count", held[colMessage])
	}
	if held[colDeleted] != "10" {
		t.Errorf("Deleted %s, want 10 (retention trimming is never held)", held[colDeleted])
	}
	keys := e.keys(t)
	if len(keys) != 190 || !keys["t0150"] || keys["t0195"] {
		t.Errorf("%d rows after the held run (t0150 %v, t0195 %v); want the 190 recent ones, the old ones trimmed", len(keys), keys["t0150"], keys["t0195"])
	}
	// The ledger says so too (status and widgetapi read it there).
	if r, ok, err := e.store.Run(context.Background(), "run-2"); err != nil || !ok || r.Counts.Held != 80 || r.State != state.StateCompleted {
		t.Errorf("run-2 in the ledger: %+v %v %v; want completed with 80 held", r.Counts, ok, err)
	}

	allowed := e.run(t, "run-3", batch.Full, true, seenAgain[:110])
	if allowed[colStatus] != "completed" || allowed[colDeleted] != "80" {
		t.Errorf("allowed run: Status %q, Deleted %q; want completed, 80", allowed[colStatus], allowed[colDeleted])
	}
	keys = e.keys(t)
	if len(keys) != 110 || keys["t0150"] {
		t.Errorf("%d rows after the allowed run, want 110 without t0150", len(keys))
	}
}

// TestGuardThresholds: the guard holds more than 10% and more than 50 rows, only.
func TestGuardThresholds(t *testing.T) {
	e := newEnv(t)
	recent := now.Add(-time.Hour)
	e.run(t, "g-1", batch.Full, false, chats(0, 1000, recent))
	// 60 unseen of 1000: over 50 but 6%: deleted.
	if r := e.run(t, "g-2", batch.Full, false, chats(0, 940, recent)); r[colStatus] != "completed" || r[colDeleted] != "60" {
		t.Errorf("6%% of the rows: Status %q, Deleted %q; want completed, 60", r[colStatus], r[colDeleted])
	}
	// 40 unseen of 100 rows after a fresh start: 40% but not over 50: deleted.
	e2 := newEnv(t)
	e2.run(t, "h-1", batch.Full, false, chats(0, 100, recent))
	if r := e2.run(t, "h-2", batch.Full, false, chats(0, 60, recent)); r[colStatus] != "completed" || r[colDeleted] != "40" {
		t.Errorf("40 rows: Status %q, Deleted %q; want completed, 40", r[colStatus], r[colDeleted])
	}
}

// TestCellLimitFailsTheRunWithRoomLeft: a batch that would take the workbook past 10,000,000
// cells writes nothing; the run fails with a Sync_Log row that says how much room is left.
func TestCellLimitFailsTheRunWithRoomLeft(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.sink.Ensure(ctx, table.Tickets, table.Chats, table.SyncLog); err != nil {
		t.Fatal(err)
	}
	// A person's big tab fills the workbook to 2,000 cells under the limit, and the Chats
	// grid is exactly its header.
	if err := e.srv.SetGrid(spreadsheet, "Chats", 2, 19); err != nil {
		t.Fatal(err)
	}
	used := int64(0)
	for _, tab := range []string{"Tickets", "Chats", "Sync_Log", sheets.ScratchTab} {
		info, _ := e.srv.Sheet(spreadsheet, tab)
		used += info.RowCount * info.ColumnCount
	}
	rest := sheets.CellLimit - used - 2000
	if err := e.srv.SetGrid(spreadsheet, "Sheet1", rest/10, 10); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, "big", batch.Full, false, chats(0, 200, now.Add(-time.Hour)))
	if r[colStatus] != "failed" || !strings.Contains(r[colMessage], "left") || !strings.Contains(r[colMessage], "cells") {
		t.Errorf("Sync_Log row %q, want failed with the room left", r)
	}
	if n := len(e.keys(t)); n != 0 {
		t.Errorf("%d rows written, want none", n)
	}
	run, _, _ := e.store.Run(ctx, "big")
	if run.State != state.StateFailed {
		t.Errorf("run state %q, want failed", run.State)
	}
	// With room for it (the person shrinks their tab), a run lands.
	if err := e.srv.SetGrid(spreadsheet, "Sheet1", rest/10-1000, 10); err != nil {
		t.Fatal(err)
	}
	if r := e.run(t, "fits", batch.Full, false, chats(0, 200, now.Add(-time.Hour))); r[colStatus] != "completed" {
		t.Errorf("run with room: %q", r)
	}
}

// TestHeaderChangedByAPersonStopsTheBatch: a person renames a contract column; the batch writes
// nothing and the run fails with a message naming the column.
func TestHeaderChangedByAPersonStopsTheBatch(t *testing.T) {
	e := newEnv(t)
	e.run(t, "h-0", batch.Full, false, chats(0, 5, now.Add(-time.Hour)))
	if err := e.srv.SetCell(spreadsheet, "Chats", "C1", "Start time"); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, "h-1", batch.Incremental, false, chats(0, 10, now.Add(-30*time.Minute)))
	if r[colStatus] != "failed" || !strings.Contains(r[colMessage], `column C is "Start time", want "Started"`) {
		t.Errorf("Sync_Log row %q, want failed naming column C", r)
	}
	if n := len(e.keys(t)); n != 5 {
		t.Errorf("%d rows, want the 5 of before (nothing written)", n)
	}
	if prot, _ := e.srv.Protections(spreadsheet, "Chats"); len(prot) != 0 {
		t.Errorf("protections left: %q", prot)
	}
	// A cold instance (a new Sink) finds it when it ensures the tabs: the same failed run,
	// not a batch retried until it is dead-lettered.
	api, err := sheets.NewService(context.Background(), e.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Sink = sheets.New(api, spreadsheet, e.svc.Team.Location, sheets.WithLogger(e.svc.Log))
	r = e.run(t, "h-2", batch.Incremental, false, chats(0, 10, now.Add(-20*time.Minute)))
	if r[colStatus] != "failed" || !strings.Contains(r[colMessage], `column C is "Start time", want "Started"`) {
		t.Errorf("cold instance: Sync_Log row %q, want failed naming column C", r)
	}
}
