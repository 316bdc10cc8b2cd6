// Package fetch runs the fetch half of a sync: it takes the source's lease, reads records page
// by page from a source API, and publishes them as self-contained raw batches for process,
// checkpointing and continuing in a follow-up invocation when its time budget runs out.
// Sources plug in through the Source and Stream interfaces (tickets.go, chats.go).
package fetch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/state"
)

// Source is one API that a run reads.
type Source interface {
	// Name is the source's name (tickets, chats).
	Name() batch.Source
	// Requests counts the API requests the client has sent so far.
	Requests() int64
	// Open starts reading a run's window: it loads the reference data every batch carries
	// and positions a stream at the start.
	Open(ctx context.Context, mode batch.Mode, from, to time.Time) (Stream, error)
	// Resume reopens a stream at a checkpoint written by Stream.Checkpoint.
	Resume(ctx context.Context, checkpoint []byte) (Stream, error)
}

// Stream reads one run's records page by page into a pending buffer.
type Stream interface {
	// Next reads one page into the pending buffer; done reports that nothing is left.
	Next(ctx context.Context) (done bool, err error)
	// Pending is the number of records read and not yet dropped.
	Pending() int
	// Payload encodes the first n pending records with the reference data as a batch payload.
	Payload(n int) (json.RawMessage, error)
	// Drop removes the first n pending records (after they were published).
	Drop(n int)
	// Checkpoint returns the resume point after every page read so far.
	Checkpoint() ([]byte, error)
	// Window is what the run reads.
	Window() (from, to time.Time)
}

// Publisher sends a message and waits until it is accepted.
type Publisher interface {
	Publish(ctx context.Context, topic string, data []byte, attrs map[string]string) (string, error)
}

// Service runs fetches of one source.
type Service struct {
	Source    Source
	Store     *state.Store
	Publisher Publisher
	// RawTopic receives raw batches; SyncTopic receives continuation requests.
	RawTopic, SyncTopic string
	Retention           time.Duration
	Lookback            time.Duration
	// Budget is how long one invocation fetches before it checkpoints and continues in a
	// follow-up invocation; keep it well below the function timeout.
	Budget time.Duration
	// BatchRecords is the most records one raw batch carries.
	BatchRecords int
	LeaseTTL     time.Duration
	// MaxMessageBytes bounds an encoded batch (Pub/Sub's limit is 10 MB); default 9 MB.
	MaxMessageBytes int
	Now             func() time.Time
	Log             *slog.Logger
}

// Result says what one invocation did.
type Result struct {
	RunID   string
	Mode    batch.Mode
	Skipped bool // another run holds the lease: this request was a no-op
	// Continued means the budget ran out and a continuation request was published.
	Continued bool
	Done      bool
	Batches   int
	Records   int
	Message   string
}

// ErrBadRequest marks requests that can never succeed (acknowledge, do not retry).
var ErrBadRequest = errors.New("bad sync request")

// ErrRunFailed wraps a fetch failure that has been recorded (the run is marked failed and its
// cursor holds): the trigger should be acknowledged, the next scheduled run starts over.
var ErrRunFailed = errors.New("run failed")

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

// NewRunID returns a run id that sorts by time: <source>-<UTC yyyymmddThhmmssZ>-<random>.
func NewRunID(source batch.Source, now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%s", source, now.UTC().Format("20060102T150405Z"), hex.EncodeToString(b[:]))
}

// Run handles one sync request: a new run, or the continuation of one.
func (s *Service) Run(ctx context.Context, req batch.SyncRequest, since time.Time) (Result, error) {
	start := s.now()
	src := s.Source.Name()
	res := Result{Mode: req.Mode}

	var (
		run    state.Run
		stream Stream
		seq    int
	)
	reqBefore := s.Source.Requests() // counts the reference-data calls of Open/Resume too
	if req.Continue {
		if req.RunID == "" {
			return res, fmt.Errorf("%w: continue needs run_id", ErrBadRequest)
		}
		stored, ok, err := s.Store.Run(ctx, req.RunID)
		if err != nil {
			return res, err
		}
		if !ok || stored.State != state.StateFetching || len(stored.Checkpoint) == 0 {
			res.RunID, res.Skipped = req.RunID, true
			res.Message = fmt.Sprintf("run %s has nothing to continue (state %q)", req.RunID, stored.State)
			return res, nil
		}
		if run, err = s.Store.BeginRun(ctx, stored, s.LeaseTTL); err != nil {
			return s.busy(res, req.RunID, err)
		}
		res.RunID, res.Mode = run.ID, batch.Mode(run.Mode)
		seq = run.NextSeq
		if stream, err = s.Source.Resume(ctx, run.Checkpoint); err != nil {
			return res, s.fail(ctx, run, seq, start, fmt.Errorf("resume: %w", err))
		}
	} else {
		runID := req.RunID
		if runID == "" {
			runID = NewRunID(src, start)
		}
		res.RunID = runID
		cursor, found, err := s.Store.Cursor(ctx, string(src))
		if err != nil {
			return res, err
		}
		from, to := s.window(req.Mode, since, cursor, found, start)
		if _, exists, err := s.Store.Run(ctx, runID); err != nil {
			return res, err
		} else if exists {
			// The same request delivered twice: the first delivery owns the run.
			res.Skipped = true
			res.Message = fmt.Sprintf("run %s already exists", runID)
			return res, nil
		}
		run, err = s.Store.BeginRun(ctx, state.Run{ID: runID, Source: string(src), Mode: string(req.Mode), Started: start}, s.LeaseTTL)
		if err != nil {
			return s.busy(res, runID, err)
		}
		if found && cursor.LeaseRunID != "" && cursor.LeaseRunID != runID && !start.Before(cursor.LeaseExpires) {
			s.reportAbandoned(ctx, cursor.LeaseRunID)
		}
		if run.State != state.StateFetching || run.NextSeq > 0 {
			// A delivery racing the first one past the check above.
			res.Skipped = true
			res.Message = fmt.Sprintf("run %s already started", runID)
			return res, nil
		}
		s.log().Info("run started", "event", "run_started", "run_id", runID, "source", src, "mode", req.Mode,
			"from", from, "to", to, "cursor_found", found)
		if stream, err = s.Source.Open(ctx, req.Mode, from, to); err != nil {
			return res, s.fail(ctx, run, 0, start, fmt.Errorf("open: %w", err))
		}
	}

	deadline := start.Add(s.Budget)
	for {
		done, err := stream.Next(ctx)
		if err != nil {
			return res, s.fail(ctx, run, seq, start, err)
		}
		outOfTime := !s.now().Before(deadline)
		// Publish full batches as they fill; the remainder when the stream ends or the time
		// budget is used up (so the checkpoint has nothing pending); and at the end, a last
		// batch even if it is empty, as the run's end marker.
		for stream.Pending() >= s.batchRecords() || (done || outOfTime) && stream.Pending() > 0 || done {
			n, err := s.publish(ctx, run, stream, seq, done, reqBefore)
			if err != nil {
				return res, s.fail(ctx, run, seq, start, err)
			}
			reqBefore = s.Source.Requests()
			res.Batches++
			res.Records += n
			seq++
			if done && stream.Pending() == 0 {
				res.Done = true
				s.log().Info("fetch finished", "event", "fetch_finished", "run_id", run.ID, "source", src,
					"batches", seq, "records", res.Records)
				return res, nil
			}
		}
		if outOfTime {
			cp, err := stream.Checkpoint()
			if err != nil {
				return res, s.fail(ctx, run, seq, start, err)
			}
			if err := s.Store.Checkpoint(ctx, run.ID, cp, seq, int(s.Source.Requests()), s.LeaseTTL); err != nil {
				return res, s.fail(ctx, run, seq, start, err)
			}
			next, _ := json.Marshal(batch.SyncRequest{Mode: batch.Mode(run.Mode), RunID: run.ID, Continue: true})
			if _, err := s.Publisher.Publish(ctx, s.SyncTopic, next, map[string]string{batch.AttrRunID: run.ID}); err != nil {
				return res, s.fail(ctx, run, seq, start, err)
			}
			res.Continued = true
			res.Message = fmt.Sprintf("time budget used: continuing run %s at batch %d", run.ID, seq)
			s.log().Info("fetch continues", "event", "fetch_continued", "run_id", run.ID, "source", src, "next_seq", seq)
			return res, nil
		}
	}
}

func (s *Service) batchRecords() int {
	if s.BatchRecords > 0 {
		return s.BatchRecords
	}
	return 5000
}

func (s *Service) maxBytes() int {
	if s.MaxMessageBytes > 0 {
		return s.MaxMessageBytes
	}
	return 9_000_000
}

// window decides what a new run reads: full → the retention window; incremental → from the
// cursor minus the look-back (or the request's since); the first incremental run of a source
// (no cursor) reads the retention window too.
func (s *Service) window(mode batch.Mode, since time.Time, cur state.Cursor, found bool, now time.Time) (time.Time, time.Time) {
	from := now.Add(-s.Retention)
	switch {
	case !since.IsZero():
		from = since
	case mode == batch.Incremental && found && !cur.HighWater.IsZero():
		from = cur.HighWater.Add(-s.Lookback)
	}
	return from, now
}

// publish encodes up to BatchRecords pending records as batch seq and publishes it, halving
// the batch until it fits the message limit. It returns how many records it carried.
func (s *Service) publish(ctx context.Context, run state.Run, stream Stream, seq int, done bool, reqBefore int64) (int, error) {
	n := min(stream.Pending(), s.batchRecords())
	from, to := stream.Window()
	for {
		payload, err := stream.Payload(n)
		if err != nil {
			return 0, fmt.Errorf("batch payload: %w", err)
		}
		last := done && n == stream.Pending()
		b := &batch.Batch{
			Source: s.Source.Name(), RunID: run.ID, Mode: batch.Mode(run.Mode), Seq: seq, Last: last,
			RunStarted: run.Started, WindowFrom: from, WindowTo: to,
			APIRequests: int(s.Source.Requests() - reqBefore), Records: n, Payload: payload,
		}
		if last {
			b.HighWater = to
		}
		data, attrs, err := batch.Encode(b)
		if err != nil {
			return 0, err
		}
		if len(data) > s.maxBytes() && n > 1 {
			n /= 2
			continue
		}
		if len(data) > s.maxBytes() {
			return 0, fmt.Errorf("one record encodes to %d bytes, over the %d-byte message limit", len(data), s.maxBytes())
		}
		if _, err := s.Publisher.Publish(ctx, s.RawTopic, data, attrs); err != nil {
			return 0, err
		}
		stream.Drop(n)
		s.log().Debug("batch published", "event", "batch_published", "run_id", run.ID, "seq", seq,
			"records", n, "bytes", len(data), "last", last)
		return n, nil
	}
}

// busy turns a lease conflict into a no-op result that says so.
func (s *Service) busy(res Result, runID string, err error) (Result, error) {
	var be *state.BusyError
	if errors.As(err, &be) {
		res.Skipped = true
		res.Message = fmt.Sprintf("run %s not started: run %s holds the %s lease until %s",
			runID, be.Holder, s.Source.Name(), be.Expires.UTC().Format(time.RFC3339))
		return res, nil
	}
	return res, err
}

// reportAbandoned publishes a failure batch for a run whose lease this run took over (BeginRun
// marked it failed), so that process writes its Sync_Log row: every run gets one, including
// one that never finished because a batch was dead-lettered or a function crashed.
func (s *Service) reportAbandoned(ctx context.Context, runID string) {
	old, ok, err := s.Store.Run(ctx, runID)
	if err != nil || !ok || old.State != state.StateFailed {
		return
	}
	msg := fmt.Sprintf("abandoned: the lease expired with %d of %s batches landed (%s); "+
		"a dead-lettered batch can be replayed with `supportsync replay`, the next run starts from the last cursor",
		old.Landed, expectedText(old.Expected), old.Error)
	b := &batch.Batch{Source: s.Source.Name(), RunID: old.ID, Mode: batch.Mode(old.Mode), Seq: batch.AbandonedSeq,
		Last: true, RunStarted: old.Started, Error: msg, Payload: json.RawMessage("null")}
	data, attrs, err := batch.Encode(b)
	if err == nil {
		_, err = s.Publisher.Publish(ctx, s.RawTopic, data, attrs)
	}
	if err != nil {
		s.log().Warn("report abandoned run", "event", "abandoned_report_failed", "run_id", old.ID, "error", err.Error())
		return
	}
	s.log().Warn("run abandoned", "event", "run_abandoned", "run_id", old.ID, "source", s.Source.Name(), "landed", old.Landed)
}

func expectedText(n int) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

// fail ends a run whose fetch failed: it publishes an error batch so that process records
// the failure in Sync_Log (the cursor stays), falling back to marking the run failed directly.
// The returned error wraps ErrRunFailed and the cause once the failure is recorded.
func (s *Service) fail(ctx context.Context, run state.Run, seq int, start time.Time, cause error) error {
	s.log().Error("fetch failed", "event", "run_failed", "run_id", run.ID, "source", s.Source.Name(), "error", cause.Error())
	b := &batch.Batch{
		Source: s.Source.Name(), RunID: run.ID, Mode: batch.Mode(run.Mode), Seq: seq, Last: true,
		RunStarted: run.Started, Error: cause.Error(), Payload: json.RawMessage("null"),
	}
	if b.RunStarted.IsZero() {
		b.RunStarted = start
	}
	data, attrs, err := batch.Encode(b)
	if err == nil {
		_, err = s.Publisher.Publish(ctx, s.RawTopic, data, attrs)
	}
	if err != nil {
		if ferr := s.Store.FailRun(context.WithoutCancel(ctx), run.ID, cause.Error()); ferr != nil {
			return errors.Join(cause, ferr)
		}
	}
	return fmt.Errorf("%w: %w", ErrRunFailed, cause)
}
