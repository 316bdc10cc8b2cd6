package process

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/normalize/chats"
	"supportsync.dev/shared/normalize/tickets"
	"supportsync.dev/shared/runlife"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/state"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/team"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

const sheetID = "sheet-process"

// testNormalizers are the real normalizers, as the wiring (app.Normalizers) injects them.
func testNormalizers() map[batch.Source]Normalizer {
	return map[batch.Source]Normalizer{
		batch.Tickets: {Schema: table.Tickets, Normalize: tickets.NormalizeJSON},
		batch.Chats:   {Schema: table.Chats, Normalize: chats.NormalizeJSON},
	}
}

// newService returns a process Service on the Firestore emulator and a fake Sheets server.
func newService(t *testing.T) (*Service, *sheetsfake.Server) {
	t.Helper()
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet(sheetID))
	t.Cleanup(func() { srv.Close() })
	svc, err := sheets.NewService(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := team.Default()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &Service{
		Store: state.New(emulatortest.FirestoreClient(t)), Sink: sheets.New(svc, sheetID, tc.Location, sheets.WithLogger(log)),
		Team: tc, Sources: testNormalizers(), Retention: 365 * 24 * time.Hour, LeaseTTL: 10 * time.Minute, Log: log,
	}, srv
}

// ticketBatch encodes batch seq of run with tickets ids.
func ticketBatch(t *testing.T, run state.Run, seq int, last bool, ids ...string) ([]byte, map[string]string) {
	t.Helper()
	var p hubspot.Payload
	created := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, id := range ids {
		subject := "ticket " + id
		p.Tickets = append(p.Tickets, hubspot.Ticket{ID: id, Properties: map[string]*string{"subject": &subject, "createdate": &created}})
	}
	payload, _ := json.Marshal(p)
	b := &batch.Batch{Source: batch.Tickets, RunID: run.ID, Mode: run.Mode, Seq: seq, Last: last, RunStarted: run.Started,
		Records: len(ids), Payload: payload}
	if last {
		b.HighWater = run.Started
	}
	data, attrs, err := batch.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return data, attrs
}

func rows(t *testing.T, srv *sheetsfake.Server, tab string) int {
	t.Helper()
	r, err := srv.Display(sheetID, tab)
	if err != nil {
		return 0
	}
	return len(r) - 1
}

// TestRunLife lands a run's batches out of order, with a lost middle batch for a while, a
// redelivery, a batch beyond the last and late failure reports: the run completes only when
// batches 0..last have all landed, exactly once, and every other message changes nothing.
func TestRunLife(t *testing.T) {
	s, srv := newService(t)
	ctx := context.Background()
	run, _, err := s.Store.BeginRun(ctx, state.Run{ID: "run-1", Source: batch.Tickets, Mode: batch.Full, AllowDeletions: true}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	handle := func(data []byte, attrs map[string]string) Outcome {
		t.Helper()
		out, err := s.Handle(ctx, data, attrs)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	b0, a0 := ticketBatch(t, run, 0, false, "1", "2")
	b1, a1 := ticketBatch(t, run, 1, false, "3", "4")
	b2, a2 := ticketBatch(t, run, 2, true, "5")
	b3, a3 := ticketBatch(t, run, 3, false, "6")

	if out := handle(b2, a2); out.Finished != nil || out.Duplicate { // the last batch first
		t.Fatalf("last batch first: %+v", out)
	}
	if out := handle(b0, a0); out.Finished != nil {
		t.Fatal("the run finished with batch 1 missing")
	}
	if out := handle(b2, a2); !out.Duplicate || out.Finished != nil {
		t.Errorf("redelivered last batch: %+v", out)
	}
	if out := handle(b3, a3); !out.Conflict {
		t.Errorf("batch beyond the last: %+v, want a conflict", out)
	}
	if n := rows(t, srv, table.Tickets.Tab); n != 3 {
		t.Errorf("%d rows before the middle batch, want 3 (the conflicting batch not written)", n)
	}
	if n := rows(t, srv, table.SyncLog.Tab); n != 0 {
		t.Errorf("Sync_Log has %d rows before the run completed", n)
	}
	out := handle(b1, a1)
	if out.Finished == nil || out.Finished.State != runlife.Completed || !out.Finished.AllowDeletions {
		t.Fatalf("the middle batch did not complete the run: %+v", out)
	}
	if got := out.Finished.Progress; got.Expected != 3 || got.Contiguous != 3 || got.Landed != 3 {
		t.Errorf("progress %+v", got)
	}
	if out := handle(b1, a1); !out.Duplicate || out.Finished != nil {
		t.Errorf("a batch redelivered after completion: %+v", out)
	}
	fdata, fattrs, _ := batch.EncodeFailure(&batch.Failure{Source: batch.Tickets, RunID: "run-1", Mode: batch.Full, RunStarted: run.Started, Reason: "late"})
	if out := handle(fdata, fattrs); !out.Failure {
		t.Errorf("failure report outcome %+v", out)
	}
	if r, _, _ := s.Store.Run(ctx, "run-1"); r.State != runlife.Completed {
		t.Errorf("a late failure report changed a completed run to %s", r.State)
	}
	if n, m := rows(t, srv, table.Tickets.Tab), rows(t, srv, table.SyncLog.Tab); n != 5 || m != 1 {
		t.Errorf("%d rows and %d Sync_Log rows, want 5 and 1", n, m)
	}

	// A failure report of another run, delivered twice: one failed row, the run failed.
	run2, _, err := s.Store.BeginRun(ctx, state.Run{ID: "run-2", Source: batch.Tickets, Mode: batch.Incremental}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fdata, fattrs, _ = batch.EncodeFailure(&batch.Failure{Source: batch.Tickets, RunID: run2.ID, Mode: run2.Mode, RunStarted: run2.Started, Reason: "hubspot: daily limit"})
	handle(fdata, fattrs)
	handle(fdata, fattrs)
	if r, _, _ := s.Store.Run(ctx, "run-2"); r.State != runlife.Failed || r.Error != "hubspot: daily limit" {
		t.Errorf("run-2 = %s %q", r.State, r.Error)
	}
	logRows, _ := srv.Display(sheetID, table.SyncLog.Tab)
	if len(logRows) != 3 {
		t.Fatalf("Sync_Log rows %v, want a header and 2 rows", logRows)
	}
	if got := fmt.Sprint(logRows[2][0], " ", logRows[2][5]); got != "run-2 failed" {
		t.Errorf("Sync_Log row %q, want run-2 failed", got)
	}
	if cur, _, _ := s.Store.Cursor(ctx, "tickets"); cur.RunID != "run-1" {
		t.Errorf("cursor %+v, want run-1's", cur)
	}
}
