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
	"supportsync.dev/shared/runlife"
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

// Waiter is implemented by a Stream whose client paces its own requests (HubSpot's rolling
// window, LiveChat's rate): NextWait forecasts how long that pacing would hold the next page.
// fetch publishes its pending records before a long wait instead of after it, so process lands
// them while the fetch waits anyway. A Stream that is not a Waiter never waits, as far as
// fetch knows.
type Waiter interface {
	NextWait() time.Duration
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
	// BatchAge is the most a fetched record waits in a pending batch before it is published,
	// checked between pages; default DefaultBatchAge. A source slower than BatchRecords per
	// BatchAge then publishes what it has every BatchAge, so process lands records as they come
	// and the batch left when the last page arrives is small (the run's tail).
	BatchAge time.Duration
	LeaseTTL time.Duration
	// TurnGrace is how long past the budget an invocation's claim on its turn lasts: a
	// redelivered request may take the turn over only after that (the holder crashed or was
	// stopped at the function timeout). The first page of an invocation may run until half
	// of it has passed. Default 1 minute, the margin Terraform keeps between the budget and
	// the function timeout.
	TurnGrace time.Duration
	// MaxMessageBytes bounds an encoded batch (Pub/Sub's limit is 10 MB); default 9 MB.
	MaxMessageBytes int
	Now             func() time.Time
	Log             *slog.Logger
}

// Result says what one invocation did.
type Result struct {
	RunID   string
	Mode    batch.Mode
	Skipped bool // a no-op: another run holds the lease, or the request's turn is not current
	// Busy means the request carries the current turn but another invocation is working on
	// it: retry the request later, so that if that invocation crashed, the turn is taken over
	// once its claim lapses.
	Busy bool
	// Continued means the budget ran out and a continuation request was published.
	Continued bool
	Done      bool
	Batches   int
	Records   int
	Message   string
}

// DefaultBatchAge is BatchAge when unset (the configuration's BATCH_SECONDS default).
const DefaultBatchAge = 20 * time.Second

// idleFlushWait is the shortest wait in the client's pacing, after a burst of pages, for which
// the pending records are published first (see earlyFlush): process lands them while the
// fetch waits. HubSpot's client waits most of its 10 s window after each burst of 100
// requests; shorter waits (LiveChat's third of a second between requests) are not worth a
// batch of their own, which costs process a few Sheets writes.
const idleFlushWait = time.Second

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

// Run handles one sync request: a new run, its redelivery, or a continuation carrying a
// fetch turn. Only the invocation that claims the run's current turn fetches; any other
// request is a no-op whose Result says why (Skipped, Message). since is the request's parsed
// since; a request runlife.PlanWindow refuses fails with ErrBadRequest and the reason.
func (s *Service) Run(ctx context.Context, req batch.SyncRequest, since time.Time) (Result, error) {
	start := s.now()
	src := s.Source.Name()
	res := Result{Mode: req.Mode, RunID: req.RunID}
	holder := newToken()
	claimUntil := start.Add(s.Budget + s.turnGrace())
	reqBefore := s.Source.Requests() // counts the reference-data calls of Open/Resume too

	var (
		run    state.Run
		stream Stream
		err    error
	)
	if !req.Continue {
		if res.RunID == "" {
			res.RunID = NewRunID(src, start)
		}
		cursor, found, err := s.Store.Cursor(ctx, string(src))
		if err != nil {
			return res, err
		}
		w, err := runlife.PlanWindow(req, since, cursor, found, start, s.Retention, s.Lookback)
		if err != nil {
			return res, fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
		var created bool
		run, created, err = s.Store.BeginRun(ctx, state.Run{
			ID: res.RunID, Source: src, Mode: req.Mode, AllowDeletions: req.AllowDeletions, Started: start,
			WindowFrom: w.From, WindowTo: w.To, Turn: runlife.Turn{TurnHolder: holder, TurnClaimedUntil: claimUntil},
		}, s.LeaseTTL)
		if err != nil {
			return s.busy(res, res.RunID, err)
		}
		if created {
			if found && runlife.DecideLease(cursor, run.ID, start) == runlife.LeaseAbandoned {
				s.reportAbandoned(ctx, cursor.LeaseRunID)
			}
			s.log().Info("run started", "event", "run_started", "run_id", run.ID, "source", src, "mode", req.Mode,
				"from", w.From, "to", w.To, "cursor_found", found, "allow_deletions", req.AllowDeletions)
		}
	}
	if req.Continue || run.TurnHolder != holder {
		// A continuation, or the run's own request delivered again: claim the turn it carries.
		var d runlife.TurnDecision
		run, d, err = s.Store.ClaimTurn(ctx, res.RunID, req.Turn, holder, claimUntil, s.LeaseTTL)
		if err != nil {
			return res, err
		}
		if d.Verdict != runlife.TurnTake {
			res.Skipped, res.Busy = true, d.Verdict == runlife.TurnBusy
			res.Message = fmt.Sprintf("turn not taken (%s): %s", d.Verdict, d.Reason)
			return res, nil
		}
		s.log().Info("fetch turn taken", "event", "turn_taken", "run_id", run.ID, "source", src, "turn", run.TurnNumber,
			"next_seq", run.NextSeq)
	}
	res.Mode = run.Mode
	if len(run.Checkpoint) > 0 {
		stream, err = s.Source.Resume(ctx, run.Checkpoint)
	} else {
		stream, err = s.Source.Open(ctx, run.Mode, run.WindowFrom, run.WindowTo)
	}
	if err != nil {
		return res, s.fail(ctx, run, start, fmt.Errorf("open: %w", err))
	}
	return s.fetch(ctx, res, run, holder, stream, start, reqBefore)
}

// fetch reads pages until the stream ends or the time budget is spent, publishing batches
// as flushReason says (full ones as they fill, and smaller ones before a long rate-limit
// wait or once the oldest pending record has waited BatchAge), then marks the fetch done or
// hands the next turn on. A page's request and its retries get the budget's deadline (at
// least the first page of an invocation gets until the turn's claim lapses, so a slow page
// still makes progress): on that deadline the fetch checkpoints at the last full page.
//
// Publishing early changes only where batches split: records stay in order, sequence numbers
// stay contiguous, only the batch published once the stream is done is the last, and the
// checkpoint is still written with nothing pending.
func (s *Service) fetch(ctx context.Context, res Result, run state.Run, holder string, stream Stream, start time.Time, reqBefore int64) (Result, error) {
	src := s.Source.Name()
	token, seq := run.TurnToken, run.NextSeq
	deadline := start.Add(s.Budget)
	pages := 0
	var ages arrivals
	lastPage, lastGap := s.now(), time.Duration(0) // when the last page came, after how long
	for {
		pageDeadline := deadline
		if pages == 0 {
			pageDeadline = run.TurnClaimedUntil.Add(-s.turnGrace() / 2)
		}
		pctx, cancel := context.WithDeadline(ctx, pageDeadline)
		before := stream.Pending()
		done, err := stream.Next(pctx)
		cancel()
		now := s.now()
		outOfTime := !now.Before(deadline)
		if err != nil {
			if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
				return res, s.fail(ctx, run, start, err)
			}
			// The page (with its retries) outlasted the budget: resume at it next turn.
			s.log().Warn("page cut at the time budget", "event", "page_deadline", "run_id", run.ID, "source", src, "error", err.Error())
			done, outOfTime = false, true
		} else {
			pages++
			ages.add(stream.Pending()-before, now)
			lastPage, lastGap = now, now.Sub(lastPage)
		}
		for {
			reason := s.flushReason(stream, &ages, done, outOfTime, now, lastGap)
			if reason == "" {
				break
			}
			n, err := s.publish(ctx, run, stream, seq, done, reqBefore, reason)
			if err != nil {
				return res, s.fail(ctx, run, start, err)
			}
			ages.drop(n)
			reqBefore = s.Source.Requests()
			res.Batches++
			res.Records += n
			seq++
			if done && stream.Pending() == 0 {
				if err := s.Store.FetchDone(ctx, run.ID, token, holder, seq, int(s.Source.Requests())); err != nil {
					return s.lost(res, run, err)
				}
				res.Done = true
				s.log().Info("fetch finished", "event", "fetch_finished", "run_id", run.ID, "source", src,
					"batches", seq, "turn", run.TurnNumber, "records", res.Records)
				return res, nil
			}
		}
		if outOfTime {
			return s.handOn(ctx, res, run, holder, stream, seq, start)
		}
	}
}

// handOn saves the checkpoint, makes a new turn current and publishes the continuation
// request that carries it.
func (s *Service) handOn(ctx context.Context, res Result, run state.Run, holder string, stream Stream, seq int, start time.Time) (Result, error) {
	cp, err := stream.Checkpoint()
	if err != nil {
		return res, s.fail(ctx, run, start, err)
	}
	next := newToken()
	if err := s.Store.HandOn(ctx, run.ID, run.TurnToken, holder, cp, seq, int(s.Source.Requests()), next, s.LeaseTTL); err != nil {
		return s.lost(res, run, err)
	}
	data, _ := json.Marshal(batch.SyncRequest{Mode: run.Mode, RunID: run.ID, Continue: true, Turn: next})
	if _, err := s.Publisher.Publish(ctx, s.SyncTopic, data, map[string]string{batch.AttrRunID: run.ID}); err != nil {
		// Nobody else can take the new turn without this request: the run cannot go on.
		return res, s.fail(ctx, run, start, fmt.Errorf("publish the continuation: %w", err))
	}
	res.Continued = true
	res.Message = fmt.Sprintf("time budget used: continuing run %s at batch %d (turn %d)", run.ID, seq, run.TurnNumber+1)
	s.log().Info("fetch continues", "event", "fetch_continued", "run_id", run.ID, "source", s.Source.Name(),
		"next_seq", seq, "turn", run.TurnNumber+1)
	return res, nil
}

// lost turns ErrTurnLost into a no-op result: another invocation took the turn over (this one
// was too slow) or the run ended; what this one published were duplicates by seq.
func (s *Service) lost(res Result, run state.Run, err error) (Result, error) {
	if errors.Is(err, state.ErrTurnLost) {
		res.Skipped = true
		res.Message = fmt.Sprintf("run %s: stopped, the turn is no longer ours: %v", run.ID, err)
		s.log().Warn("fetch turn lost", "event", "turn_lost", "run_id", run.ID, "error", err.Error())
		return res, nil
	}
	return res, err
}

func (s *Service) turnGrace() time.Duration {
	if s.TurnGrace > 0 {
		return s.TurnGrace
	}
	return time.Minute
}

// newToken returns a random token for a turn or an invocation.
func newToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Service) batchRecords() int {
	if s.BatchRecords > 0 {
		return s.BatchRecords
	}
	return 5000
}

func (s *Service) batchAge() time.Duration {
	if s.BatchAge > 0 {
		return s.BatchAge
	}
	return DefaultBatchAge
}

func (s *Service) maxBytes() int {
	if s.MaxMessageBytes > 0 {
		return s.MaxMessageBytes
	}
	return 9_000_000
}

// publish encodes up to BatchRecords pending records as batch seq and publishes it, halving
// the batch until it fits the message limit. It returns how many records it carried; reason
// (why it was published) is logged.
func (s *Service) publish(ctx context.Context, run state.Run, stream Stream, seq int, done bool, reqBefore int64, reason flushReason) (int, error) {
	n := min(stream.Pending(), s.batchRecords())
	from, to := stream.Window()
	for {
		payload, err := stream.Payload(n)
		if err != nil {
			return 0, fmt.Errorf("batch payload: %w", err)
		}
		last := done && n == stream.Pending()
		b := &batch.Batch{
			Source: s.Source.Name(), RunID: run.ID, Mode: run.Mode, Seq: seq, Last: last,
			RunStarted: run.Started, WindowFrom: from, WindowTo: to, AllowDeletions: run.AllowDeletions,
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
			"records", n, "bytes", len(data), "last", last, "reason", string(reason))
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

// reportAbandoned publishes a failure report for a run whose lease this run took over
// (BeginRun marked it failed), so that process writes its Sync_Log row: every run gets one,
// including one that never finished because a batch was dead-lettered or a function crashed.
func (s *Service) reportAbandoned(ctx context.Context, runID string) {
	old, ok, err := s.Store.Run(ctx, runID)
	if err != nil || !ok || old.State != state.StateFailed {
		return
	}
	f := &batch.Failure{Source: s.Source.Name(), RunID: old.ID, Mode: old.Mode, RunStarted: old.Started,
		Reason: runlife.AbandonedMessage(old), Abandoned: true}
	if err := s.publishFailure(ctx, f); err != nil {
		s.log().Warn("report abandoned run", "event", "abandoned_report_failed", "run_id", old.ID, "error", err.Error())
		return
	}
	s.log().Warn("run abandoned", "event", "run_abandoned", "run_id", old.ID, "source", s.Source.Name(), "landed", old.Landed)
}

func (s *Service) publishFailure(ctx context.Context, f *batch.Failure) error {
	data, attrs, err := batch.EncodeFailure(f)
	if err == nil {
		_, err = s.Publisher.Publish(ctx, s.RawTopic, data, attrs)
	}
	return err
}

// fail ends a run whose fetch failed: it publishes a failure report so that process records
// the failure in Sync_Log (the cursor stays), falling back to marking the run failed directly.
// The returned error wraps ErrRunFailed and the cause once the failure is recorded.
func (s *Service) fail(ctx context.Context, run state.Run, start time.Time, cause error) error {
	s.log().Error("fetch failed", "event", "run_failed", "run_id", run.ID, "source", s.Source.Name(), "error", cause.Error())
	f := &batch.Failure{Source: s.Source.Name(), RunID: run.ID, Mode: run.Mode, RunStarted: run.Started, Reason: cause.Error()}
	if f.RunStarted.IsZero() {
		f.RunStarted = start
	}
	if err := s.publishFailure(context.WithoutCancel(ctx), f); err != nil {
		if ferr := s.Store.FailRun(context.WithoutCancel(ctx), run.ID, cause.Error()); ferr != nil {
			return errors.Join(cause, ferr)
		}
	}
	return fmt.Errorf("%w: %w", ErrRunFailed, cause)
}
