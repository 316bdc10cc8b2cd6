// Package app wires the services for the Cloud Functions from configuration: it reads the
// environment once, resolves secrets, builds the API, Firestore, Pub/Sub and Sheets clients,
// and keeps them for the life of the instance. Function packages call it lazily on their first
// invocation (never in init) and map its results to ack or retry.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/bus"
	"supportsync.dev/shared/config"
	"supportsync.dev/shared/fetch"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/logx"
	"supportsync.dev/shared/process"
	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/state"
)

// Lazy builds a value once, on first use, and keeps it. A failed build is not kept, so a
// transient failure (a secret not readable yet) is retried on the next invocation, while a
// bad configuration fails every invocation with the same clear error.
type Lazy[T any] struct {
	mu    sync.Mutex
	val   T
	ok    bool
	build func(ctx context.Context) (T, error)
}

// NewLazy returns a Lazy that builds with build.
func NewLazy[T any](build func(ctx context.Context) (T, error)) *Lazy[T] {
	return &Lazy[T]{build: build}
}

// Get returns the value, building it if needed.
func (l *Lazy[T]) Get(ctx context.Context) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ok {
		return l.val, nil
	}
	v, err := l.build(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	l.val, l.ok = v, true
	return v, nil
}

// Logger returns the process's JSON logger for the configured level.
func Logger(cfg *config.Config) *slog.Logger { return logx.New(os.Stdout, cfg.LogLevel) }

// httpClient is shared by the API clients; per-request deadlines come from contexts.
var httpClient = &http.Client{Timeout: 60 * time.Second}

// clients holds what both kinds of function need.
type clients struct {
	fs  *firestore.Client
	ps  *pubsub.Client
	pub *bus.Publisher
}

func newClients(ctx context.Context, cfg *config.Config) (*clients, error) {
	// The clients outlive the invocation that builds them.
	bg := context.WithoutCancel(ctx)
	fs, err := firestore.NewClient(bg, cfg.Project)
	if err != nil {
		return nil, fmt.Errorf("firestore.NewClient: %w", err)
	}
	ps, err := pubsub.NewClient(bg, cfg.Project)
	if err != nil {
		fs.Close()
		return nil, fmt.Errorf("pubsub.NewClient: %w", err)
	}
	return &clients{fs: fs, ps: ps, pub: bus.NewPublisher(ps)}, nil
}

// Fetch is a fetch function's service and logger.
type Fetch struct {
	Service *fetch.Service
	Log     *slog.Logger
}

// NewTicketsFetch builds the fetchtickets service from the environment.
func NewTicketsFetch(ctx context.Context, getenv func(string) string) (*Fetch, error) {
	cfg, err := config.Load(getenv, config.NeedHubSpot|config.NeedPubSub|config.NeedFirestore)
	if err != nil {
		return nil, err
	}
	log := Logger(cfg)
	token, err := secrets.NewResolver().Resolve(ctx, cfg.HubSpotToken, cfg.HubSpotTokenSecret)
	if err != nil {
		return nil, fmt.Errorf("hubspot token: %w", err)
	}
	hs, err := hubspot.NewClient(hubspot.WithBaseURL(cfg.HubSpotBaseURL), hubspot.WithHTTPClient(httpClient),
		hubspot.WithToken(token), hubspot.WithLimits(cfg.HubSpotRatePer10s, cfg.HubSpotSearchRatePerSecond),
		hubspot.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("hubspot.NewClient: %w", err)
	}
	return newFetch(ctx, cfg, log, &fetch.Tickets{Client: hs}, cfg.TopicSyncTickets, cfg.Lookback)
}

// newFetch builds a fetch function's service for src: Firestore state, the Pub/Sub publisher,
// and the settings every source shares. syncTopic receives the source's continuations;
// lookback is how far before the cursor its incremental runs re-read.
func newFetch(ctx context.Context, cfg *config.Config, log *slog.Logger, src fetch.Source, syncTopic string, lookback time.Duration) (*Fetch, error) {
	c, err := newClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Fetch{Log: log, Service: &fetch.Service{
		Source: src, Store: state.New(c.fs), Publisher: c.pub,
		RawTopic: cfg.TopicRawBatches, SyncTopic: syncTopic,
		Retention: cfg.Retention, Lookback: lookback, Budget: cfg.FetchBudget,
		BatchRecords: cfg.BatchRecords, BatchAge: cfg.BatchAge, LeaseTTL: cfg.LeaseTTL, Log: log,
	}}, nil
}

// HandleSync runs a fetch for one sync-request message and decides ack or retry: it returns
// nil (ack) for bad requests, skipped runs and recorded failures, and an error (retry) for
// failures worth retrying before the run started and for a turn another invocation is
// working on (if that one crashed, a retry takes the turn over once its claim lapses).
func (f *Fetch) HandleSync(ctx context.Context, msg batch.PubSubMessage) error {
	req, since, err := batch.ParseSyncRequest(msg.Data)
	if err != nil {
		f.Log.Error("bad sync request", "event", "bad_request", "message_id", msg.MessageID, "error", err.Error())
		return nil
	}
	res, err := f.Service.Run(ctx, req, since)
	return f.syncVerdict(msg.MessageID, res, err)
}

// syncVerdict maps a fetch run's result to ack (nil) or retry (an error) and logs it.
func (f *Fetch) syncVerdict(messageID string, res fetch.Result, err error) error {
	switch {
	case errors.Is(err, fetch.ErrBadRequest):
		f.Log.Error("bad sync request", "event", "bad_request", "message_id", messageID, "error", err.Error())
		return nil
	case errors.Is(err, fetch.ErrRunFailed):
		return nil // recorded: logged as run_failed, the cursor holds, the next run starts over
	case err != nil:
		f.Log.Error("fetch", "event", "fetch_error", "run_id", res.RunID, "error", err.Error())
		return err
	}
	if res.Busy {
		f.Log.Info(res.Message, "event", "turn_busy", "run_id", res.RunID)
		return fmt.Errorf("fetch: %s: retry later", res.Message)
	}
	if res.Skipped {
		f.Log.Info(res.Message, "event", "run_skipped", "run_id", res.RunID)
	}
	return nil
}

// Process is the process function's service and logger.
type Process struct {
	Service *process.Service
	Log     *slog.Logger
}

// NewProcess builds the process service from the environment.
func NewProcess(ctx context.Context, getenv func(string) string) (*Process, error) {
	cfg, err := config.Load(getenv, config.NeedSheets|config.NeedPubSub|config.NeedFirestore)
	if err != nil {
		return nil, err
	}
	log := Logger(cfg)
	svc, err := sheets.NewService(context.WithoutCancel(ctx), cfg.SheetsEndpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("sheets.NewService: %w", err)
	}
	c, err := newClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Process{Log: log, Service: &process.Service{
		Store: state.New(c.fs), Sink: sheets.New(svc, cfg.SpreadsheetID, cfg.Team.Location, sheets.WithLogger(log)),
		Team: cfg.Team, Retention: cfg.Retention, LeaseTTL: cfg.LeaseTTL,
		Sources:   Normalizers(),
		Publisher: c.pub, CompletedTopic: cfg.TopicRunsCompleted, Log: log,
	}}, nil
}

// HandleBatch lands one raw-batch message. It returns an error (nack: Pub/Sub retries with
// backoff and dead-letters after the maximum attempts) for poison and transient failures alike,
// so a bad batch ends on the dead-letter topic and its run stays incomplete.
func (p *Process) HandleBatch(ctx context.Context, msg batch.PubSubMessage) error {
	out, err := p.Service.Handle(ctx, msg.Data, msg.Attributes)
	if err != nil {
		ev := "batch_error"
		if errors.Is(err, process.ErrPoison) {
			ev = "batch_poison"
		}
		p.Log.Error("batch not landed", "event", ev, "message_id", msg.MessageID, "run_id", out.RunID,
			"seq", out.Seq, "error", err.Error())
		return err
	}
	return nil
}

// HandleSyncEvent is a fetch function's whole CloudEvent handler: it builds the service on
// first use, decodes the Pub/Sub message from the event data and runs HandleSync. An event
// that is not a Pub/Sub message is logged and acknowledged.
func HandleSyncEvent(ctx context.Context, svc *Lazy[*Fetch], eventID string, data []byte) error {
	f, err := svc.Get(ctx)
	if err != nil {
		return err
	}
	msg, err := decodeEvent(data)
	if err != nil {
		f.Log.Error("bad event", "event", "bad_request", "id", eventID, "error", err.Error())
		return nil
	}
	return f.HandleSync(ctx, msg)
}

// HandleBatchEvent is the process function's whole CloudEvent handler: it builds the service
// on first use, decodes the Pub/Sub message and runs HandleBatch. An event that is not a
// Pub/Sub message is an error, so it is retried and then dead-lettered like any bad batch.
func HandleBatchEvent(ctx context.Context, svc *Lazy[*Process], eventID string, data []byte) error {
	p, err := svc.Get(ctx)
	if err != nil {
		return err
	}
	msg, err := decodeEvent(data)
	if err != nil {
		p.Log.Error("bad event", "event", "batch_poison", "id", eventID, "error", err.Error())
		return err
	}
	return p.HandleBatch(ctx, msg)
}

// decodeEvent extracts the Pub/Sub message from a CloudEvent's data.
func decodeEvent(data []byte) (batch.PubSubMessage, error) {
	var m batch.MessagePublishedData
	if err := json.Unmarshal(data, &m); err != nil {
		return batch.PubSubMessage{}, fmt.Errorf("pub/sub event data: %w", err)
	}
	return m.Message, nil
}
