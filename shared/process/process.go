// Package process lands raw batches: it normalizes a batch's records, upserts the rows into
// the source's tab, records the batch in the run ledger, and when every batch of a run has
// landed (0..last, by sequence number) it finishes the run — trims rows past the retention
// window, removes rows a full run no longer saw, appends the Sync_Log row, advances the cursor
// and announces the run. It also records the failure reports fetch publishes. What becomes of
// a message is decided by runlife; every step is idempotent, so a redelivered or replayed
// message changes nothing.
package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/normalize"
	"supportsync.dev/shared/runlife"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/state"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/team"
)

// Sink is where rows land (the Sheets sink in production).
type Sink interface {
	Ensure(ctx context.Context, schemas ...table.Schema) error
	Upsert(ctx context.Context, s table.Schema, rows []table.Row, remove []string) (sheets.Result, error)
	Prune(ctx context.Context, s table.Schema, pol sheets.PrunePolicy) (sheets.PruneResult, error)
	Append(ctx context.Context, s table.Schema, rows []table.Row) error
	HasKey(ctx context.Context, s table.Schema, key string) (bool, error)
	Requests() (reads, writes int64)
}

// Publisher sends a message and waits until it is accepted.
type Publisher interface {
	Publish(ctx context.Context, topic string, data []byte, attrs map[string]string) (string, error)
}

// Normalizer turns one source's batch payload into rows of its tab.
type Normalizer struct {
	Schema    table.Schema
	Normalize func(payload json.RawMessage, tc *team.Config, syncedAt time.Time) (normalize.Result, error)
}

// ErrPoison marks a batch that can never be processed; it is retried a bounded number of
// times by Pub/Sub and then dead-lettered, and its run stays incomplete.
var ErrPoison = errors.New("poison batch")

// Service lands batches. One Service serves one spreadsheet and must be its only writer.
type Service struct {
	Store   *state.Store
	Sink    Sink
	Team    *team.Config
	Sources map[batch.Source]Normalizer
	// Retention is the rolling window: rows whose Created / Started is older are removed.
	Retention time.Duration
	LeaseTTL  time.Duration
	// Publisher and CompletedTopic announce finished runs (optional).
	Publisher      Publisher
	CompletedTopic string
	// MaxBatchBytes bounds what one message may decompress to (default
	// batch.MaxDecodedBytes); a larger one is poison.
	MaxBatchBytes int64
	Now           func() time.Time
	Log           *slog.Logger

	// prepareSlots and writeTurn are semaphores whose waits honour the context (see Handle):
	// a batch holds a prepare slot from decoding until it has been written, and the write turn
	// for everything that reads or writes the sheet or the run ledger.
	prepareSlots chan struct{}
	writeTurn    chan struct{}
	initOnce     sync.Once
}

// maxPrepared is how many batches one instance holds decoded at once: one being written
// while the next is decoded and normalized (40-90 ms per 5,000 tickets) or waits, prepared,
// for its turn to write.
const maxPrepared = 2

// Outcome says what Handle did with a batch.
type Outcome struct {
	RunID     string
	Seq       int
	Duplicate bool // the batch had landed before; nothing was written
	Stale     bool // a later run has completed since this batch's run started; nothing was written
	Conflict  bool // the batch does not fit its run's sequence (a forked fetch); nothing was written
	Failure   bool // the message was a failure report
	Counts    state.Counts
	// Finished is set when this batch completed its run.
	Finished *state.Run
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// ErrWriteTurn wraps the context's error when a message gave up waiting for its turn to
// prepare or to write: it is retried later rather than burning its deadline in the queue.
var ErrWriteTurn = errors.New("process: waiting for the turn to write")

func (s *Service) init() {
	s.initOnce.Do(func() {
		s.prepareSlots = make(chan struct{}, maxPrepared)
		s.writeTurn = make(chan struct{}, 1)
	})
}

// take waits for a place in the semaphore sem, or until ctx ends; what says what for.
func take(ctx context.Context, sem chan struct{}, what string) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (%s): %w", ErrWriteTurn, what, context.Cause(ctx))
	}
}

// takeWriteTurn waits until no other message is being written, or ctx ends.
func (s *Service) takeWriteTurn(ctx context.Context) error {
	s.init()
	return take(ctx, s.writeTurn, "prepared")
}

func (s *Service) releaseWriteTurn() { <-s.writeTurn }

// takePrepareSlot waits until fewer than maxPrepared batches are held decoded, or ctx ends.
func (s *Service) takePrepareSlot(ctx context.Context) error {
	s.init()
	return take(ctx, s.prepareSlots, "queued undecoded")
}

func (s *Service) releasePrepareSlot() { <-s.prepareSlots }

// Handle lands one raw-batches message: data as published, attrs its attributes (the kind
// tells a batch from a failure report). A batch first takes a prepare slot, then decodes and
// normalizes (prepare), then takes the one turn to write for everything that reads or writes
// the sheet or the run ledger (land), and gives the slot back once written: so one batch is
// decoded and normalized while the one before it is written, at most maxPrepared batches are
// held decoded, and queued deliveries hold only their encoded bytes. A failure report is small:
// it is decoded at once and waits only for the turn to write. A delivery whose context ends
// while it waits returns an error wrapping ErrWriteTurn (retry). An error wrapping ErrPoison
// means the message is bad; any other error is worth a retry.
func (s *Service) Handle(ctx context.Context, data []byte, attrs map[string]string) (Outcome, error) {
	out := Outcome{RunID: attrs[batch.AttrRunID]}
	kind := batch.Kind(attrs)
	if kind != batch.KindBatch && kind != batch.KindFailure {
		return out, fmt.Errorf("%w: unknown message kind %q", ErrPoison, kind)
	}
	if kind == batch.KindFailure {
		f, err := batch.DecodeFailure(data)
		if err != nil {
			return out, fmt.Errorf("%w: %w", ErrPoison, err)
		}
		if err := s.takeWriteTurn(ctx); err != nil {
			return out, err
		}
		defer s.releaseWriteTurn()
		return s.recordFailure(ctx, Outcome{RunID: f.RunID, Failure: true}, f)
	}
	if err := s.takePrepareSlot(ctx); err != nil {
		return out, err
	}
	defer s.releasePrepareSlot()
	p, err := s.prepare(data)
	if err != nil {
		return out, err
	}
	if err := s.takeWriteTurn(ctx); err != nil {
		return out, err
	}
	defer s.releaseWriteTurn()
	return s.land(ctx, p)
}

// prepared is a batch decoded and normalized, ready to land.
type prepared struct {
	b    *batch.Batch // its Payload dropped once normalized
	norm Normalizer
	res  normalize.Result
	// normErr is the normalizer's error: the batch is poison if it is to be written at all (a
	// duplicate or stale one is not, and keeps that outcome).
	normErr     error
	normalizeMS int64
}

// prepare decodes a batch and normalizes its records; it touches neither the sheet nor the
// ledger, so it runs outside the turn to write (the rows' Synced At is stamped here, up to one
// other batch's write before they land). An error wraps ErrPoison.
func (s *Service) prepare(data []byte) (*prepared, error) {
	max := s.MaxBatchBytes
	if max <= 0 {
		max = batch.MaxDecodedBytes
	}
	b, err := batch.DecodeMax(data, max)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPoison, err)
	}
	norm, ok := s.Sources[b.Source]
	if !ok {
		return nil, fmt.Errorf("%w: no normalizer for source %q", ErrPoison, b.Source)
	}
	p := &prepared{b: b, norm: norm}
	syncedAt := s.now().In(s.Team.Location)
	t0 := time.Now()
	p.res, p.normErr = norm.Normalize(b.Payload, s.Team, syncedAt)
	p.normalizeMS = time.Since(t0).Milliseconds()
	b.Payload = nil // the raw records are the biggest thing held; let them go before the write
	return p, nil
}

// land lands a prepared batch as runlife.DecideBatch says. The caller holds the turn to write.
func (s *Service) land(ctx context.Context, p *prepared) (Outcome, error) {
	b, norm := p.b, p.norm
	out := Outcome{RunID: b.RunID, Seq: b.Seq}
	run, exists, err := s.Store.Run(ctx, b.RunID)
	if err != nil {
		return out, err
	}
	cur, found, err := s.Store.Cursor(ctx, string(b.Source))
	if err != nil {
		return out, err
	}
	d := runlife.DecideBatch(run, exists, cur, found, runlife.BatchRef{RunID: b.RunID, Seq: b.Seq, Last: b.Last, RunStarted: b.RunStarted})
	switch d.Verdict {
	case runlife.BatchDuplicate:
		out.Duplicate = true
		s.log().Info("batch already landed", "event", "batch_duplicate", "run_id", b.RunID, "seq", b.Seq)
		// A crash after the last batch landed but before the run finished: finish it now.
		return s.maybeFinish(ctx, out, run, norm.Schema, b)
	case runlife.BatchStale:
		// A later run read everything this batch holds (it started from a cursor no newer than
		// this run's), so writing it now would only put older values back — as when a long
		// dead-lettered batch is replayed.
		out.Stale = true
		s.log().Warn("batch superseded by a later run: not written", "event", "batch_stale", "run_id", b.RunID,
			"seq", b.Seq, "reason", d.Reason)
		return out, nil
	case runlife.BatchConflict:
		out.Conflict = true
		s.log().Error("batch does not fit its run: not written", "event", "batch_conflict", "run_id", b.RunID,
			"seq", b.Seq, "last", b.Last, "reason", d.Reason)
		return out, nil
	}

	if p.normErr != nil {
		return out, fmt.Errorf("%w: %w", ErrPoison, p.normErr)
	}
	res := p.res
	for _, r := range res.Rejected {
		s.log().Warn("record rejected", "event", "record_rejected", "run_id", b.RunID, "seq", b.Seq,
			"record_id", r.ID, "reason", r.Reason)
	}
	if res.Warnings > 0 {
		s.log().Warn("values left empty", "event", "record_warnings", "run_id", b.RunID, "seq", b.Seq,
			"warnings", res.Warnings, "samples", res.WarningSamples)
	}

	t1 := time.Now()
	r0, w0 := s.Sink.Requests()
	if err := s.Sink.Ensure(ctx, s.tabs()...); refused(err) {
		return s.refuse(ctx, out, b, err)
	} else if err != nil {
		return out, err
	}
	up, err := s.Sink.Upsert(ctx, norm.Schema, res.Rows, res.Excluded)
	if refused(err) {
		// A retry cannot help until a person acts: fail the run with the reason in Sync_Log.
		return s.refuse(ctx, out, b, err)
	}
	if err != nil {
		return out, err
	}
	r1, w1 := s.Sink.Requests()
	t2 := time.Now()
	out.Counts = state.Counts{
		Fetched: b.Records, Inserted: up.Inserted, Updated: up.Updated, Deleted: up.Deleted,
		Excluded: len(res.Excluded), Rejected: len(res.Rejected), Warnings: res.Warnings,
		APIRequests: b.APIRequests, SheetsRequests: int((r1 - r0) + (w1 - w0)),
	}
	rec := state.BatchRecord{Seq: b.Seq, Last: b.Last, HighWater: b.HighWater, Counts: out.Counts,
		Source: b.Source, Mode: b.Mode}
	if b.Mode == batch.Full {
		rec.Keys = make([]string, 0, len(res.Rows)+len(res.Excluded))
		for _, row := range res.Rows {
			rec.Keys = append(rec.Keys, row.Key())
		}
	}
	run, recorded, err := s.Store.LandBatch(ctx, b.RunID, rec, s.LeaseTTL)
	if err != nil {
		return out, err
	}
	out.Duplicate = !recorded
	t3 := time.Now()
	s.log().Info("batch landed", "event", "batch_landed", "run_id", b.RunID, "source", b.Source, "seq", b.Seq,
		"last", b.Last, "records", b.Records, "inserted", up.Inserted, "updated", up.Updated, "deleted", up.Deleted,
		"excluded", len(res.Excluded), "rejected", len(res.Rejected), "progress", run.Progress.Describe(),
		"normalize_ms", p.normalizeMS, "sheets_ms", t2.Sub(t1).Milliseconds(), "ledger_ms", t3.Sub(t2).Milliseconds())
	return s.maybeFinish(ctx, out, run, norm.Schema, b)
}

// tabs lists every tab process writes, in the order they appear in a new spreadsheet:
// the sources' tabs (Tickets, then Chats), then Sync_Log. All are created on the first
// batch, whichever source it comes from.
func (s *Service) tabs() []table.Schema {
	var out []table.Schema
	for _, src := range []batch.Source{batch.Tickets, batch.Chats} {
		if n, ok := s.Sources[src]; ok {
			out = append(out, n.Schema)
		}
	}
	return append(out, table.SyncLog)
}

// maybeFinish finishes the run once every batch 0..last has landed and it is not finished
// yet (runlife.ShouldFinish).
func (s *Service) maybeFinish(ctx context.Context, out Outcome, run state.Run, schema table.Schema, b *batch.Batch) (Outcome, error) {
	if !runlife.ShouldFinish(run) {
		return out, nil
	}
	r0, w0 := s.Sink.Requests()
	final := run.Counts
	pr, err := s.prune(ctx, run, schema, b)
	if err != nil {
		return out, err
	}
	final.Deleted += pr.Deleted()
	finished := s.now()
	msg := fmt.Sprintf("%d warnings", final.Warnings)
	if !b.WindowFrom.IsZero() {
		msg = fmt.Sprintf("window %s to %s; %s", b.WindowFrom.UTC().Format(time.RFC3339), b.WindowTo.UTC().Format(time.RFC3339), msg)
	}
	status := "completed"
	if pr.Held > 0 {
		status = "held"
		final.Held = pr.Held
		msg = heldMessage(pr, schema.Tab) + "; " + msg
		s.log().Warn("deletions held", "event", "deletions_held", "run_id", run.ID, "source", run.Source,
			"tab", schema.Tab, "held", pr.Held, "rows", pr.Rows)
	}
	r1, w1 := s.Sink.Requests()
	final.SheetsRequests += int((r1 - r0) + (w1 - w0))
	if err := s.appendLog(ctx, run, status, final, finished, msg); err != nil {
		return out, err
	}
	done, _, err := s.Store.CompleteRun(ctx, run.ID, final, msg)
	if err != nil {
		return out, err
	}
	out.Finished = &done
	s.log().Info("run completed", "event", "run_completed", "run_id", run.ID, "source", run.Source, "mode", run.Mode,
		"fetched", final.Fetched, "inserted", final.Inserted, "updated", final.Updated, "deleted", final.Deleted,
		"excluded", final.Excluded, "rejected", final.Rejected, "api_requests", final.APIRequests,
		"sheets_requests", final.SheetsRequests, "seconds", finished.Sub(run.Started).Seconds())
	s.announce(ctx, done)
	return out, nil
}

// refuse fails b's run with the reason the sink refused its write (a contract column a person
// renamed or moved, the workbook's cell limit): no retry can help until a person acts, so the
// run gets its failed Sync_Log row at once instead of its batches dead-lettering.
func (s *Service) refuse(ctx context.Context, out Outcome, b *batch.Batch, err error) (Outcome, error) {
	return s.recordFailure(ctx, out, &batch.Failure{Source: b.Source, RunID: b.RunID, Mode: b.Mode,
		RunStarted: b.RunStarted, Reason: err.Error()})
}

// recordFailure records a failure report as runlife.DecideFailure says: the Sync_Log row
// (once), the run failed, the cursor untouched; a report of a completed run changes nothing.
func (s *Service) recordFailure(ctx context.Context, out Outcome, f *batch.Failure) (Outcome, error) {
	run, ok, err := s.Store.Run(ctx, f.RunID)
	if err != nil {
		return out, err
	}
	verdict := runlife.DecideFailure(run, ok)
	if verdict == runlife.FailureIgnore {
		s.log().Warn("failure report of a completed run ignored", "event", "failure_ignored", "run_id", f.RunID, "reason", f.Reason)
		return out, nil
	}
	if !ok {
		run = state.Run{ID: f.RunID, Source: f.Source, Mode: f.Mode, Started: f.RunStarted}
	}
	if err := s.Sink.Ensure(ctx, table.SyncLog); err != nil { // the log alone: another tab may be what failed
		return out, err
	}
	if err := s.appendLog(ctx, run, "failed", run.Counts, s.now(), f.Reason); err != nil {
		return out, err
	}
	if verdict == runlife.FailureRecord {
		if err := s.Store.FailRun(ctx, f.RunID, f.Reason); err != nil && !errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrFinished) {
			return out, err
		}
	}
	s.log().Error("run failed", "event", "run_failed", "run_id", f.RunID, "source", f.Source, "abandoned", f.Abandoned, "error", f.Reason)
	return out, nil
}

// appendLog appends the run's Sync_Log row (its Sheets Requests count every request of the
// run except this read-and-append of the log itself) unless the run already has one (a finish that
// crashed after the append and is being redone).
func (s *Service) appendLog(ctx context.Context, run state.Run, status string, c state.Counts, finished time.Time, msg string) error {
	if logged, err := s.Sink.HasKey(ctx, table.SyncLog, run.ID); err != nil || logged {
		return err
	}
	loc := s.Team.Location
	num := func(n int) table.Cell { return table.NumberCell(float64(n)) }
	seconds := finished.Sub(run.Started).Seconds()
	row := table.Row{
		table.TextCell(run.ID), table.TextCell(string(run.Source)), table.TextCell(string(run.Mode)),
		table.TimeCell(run.Started.In(loc)), table.TimeCell(finished.In(loc)), table.TextCell(status),
		num(c.Fetched), num(c.Inserted), num(c.Updated), num(c.Deleted), num(c.Excluded), num(c.Rejected),
		num(c.APIRequests), num(c.SheetsRequests), table.NumberCell(float64(int(seconds*10+0.5)) / 10),
		table.TextCell(strings.TrimSpace(msg)),
	}
	return s.Sink.Append(ctx, table.SyncLog, []table.Row{row})
}

// announce publishes the finished run on the runs-completed topic (best effort: the run has
// landed whatever happens here).
func (s *Service) announce(ctx context.Context, run state.Run) {
	if s.Publisher == nil || s.CompletedTopic == "" {
		return
	}
	data, _ := json.Marshal(map[string]any{
		"run_id": run.ID, "source": run.Source, "mode": run.Mode, "state": run.State,
		"high_water": run.HighWater, "finished": run.Finished,
	})
	if _, err := s.Publisher.Publish(ctx, s.CompletedTopic, data, map[string]string{"source": string(run.Source)}); err != nil {
		s.log().Warn("announce run", "event", "announce_failed", "run_id", run.ID, "error", err.Error())
	}
}
