package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"cloud.google.com/go/firestore"

	"supportsync.dev/shared/config"
	"supportsync.dev/shared/logx"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/state"
	"supportsync.dev/shared/widgetstore"
)

// FromEnv builds the publish service from the environment (shared/config): the Sheets client,
// the Firestore client, the run ledger and the team timezone. Every configuration problem is
// reported at once.
func FromEnv(ctx context.Context, getenv func(string) string) (*Service, error) {
	cfg, err := config.Load(getenv, config.NeedSheets|config.NeedFirestore)
	if err != nil {
		return nil, err
	}
	log := logx.New(os.Stdout, cfg.LogLevel)
	bg := context.WithoutCancel(ctx) // the clients outlive the invocation that builds them
	api, err := sheets.NewService(bg, cfg.SheetsEndpoint, nil)
	if err != nil {
		return nil, err
	}
	fs, err := firestore.NewClient(bg, cfg.Project)
	if err != nil {
		return nil, fmt.Errorf("firestore.NewClient: %w", err)
	}
	return &Service{
		Sheets: api, SpreadsheetID: cfg.SpreadsheetID, Timezone: cfg.Team.Timezone,
		Store: widgetstore.New(fs), Runs: state.New(fs), Log: log,
	}, nil
}

// Instance holds one function instance's service, built on first use; a failed build is
// retried on the next invocation.
type Instance struct {
	mu    sync.Mutex
	svc   *Service
	build func(ctx context.Context) (*Service, error)
}

// NewInstance returns an Instance that builds its service with build.
func NewInstance(build func(ctx context.Context) (*Service, error)) *Instance {
	return &Instance{build: build}
}

// Get returns the service, building it if needed.
func (in *Instance) Get(ctx context.Context) (*Service, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.svc != nil {
		return in.svc, nil
	}
	svc, err := in.build(ctx)
	if err != nil {
		return nil, err
	}
	in.svc = svc
	return svc, nil
}

// pushEnvelope is the data of a Pub/Sub CloudEvent (MessagePublishedData).
type pushEnvelope struct {
	Message struct {
		Data      []byte `json:"data"`
		MessageID string `json:"messageId"`
	} `json:"message"`
}

// HandleEvent is the publish function's whole CloudEvent handler. It acknowledges (nil) a
// publish that succeeded or was skipped and an event that is not a Pub/Sub message, and asks
// for a retry (an error) when another publish holds the lease or the publish failed; the
// subscription dead-letters after its maximum attempts, and the previous dataset serves
// meanwhile.
func HandleEvent(ctx context.Context, in *Instance, eventID string, data []byte) error {
	svc, err := in.Get(ctx)
	if err != nil {
		return err
	}
	var env pushEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		svc.log().Error("bad event", "event", "bad_request", "id", eventID, "error", err.Error())
		return nil
	}
	res, err := svc.Handle(ctx, env.Message.Data)
	switch {
	case errors.Is(err, ErrBusy):
		svc.log().Info("another publish is running; retry later", "event", "publish_busy", "message_id", env.Message.MessageID)
		return err
	case err != nil:
		svc.log().Error("publish failed; the previous dataset keeps serving", "event", "publish_failed",
			"message_id", env.Message.MessageID, "error", err.Error())
		return err
	case res.Skipped:
		svc.log().Info(res.Reason, "event", "publish_skipped", "message_id", env.Message.MessageID, "dataset", res.Pointer.Version)
	}
	return nil
}
