package widgetapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"cloud.google.com/go/firestore"

	"supportsync.dev/shared/config"
	"supportsync.dev/shared/logx"
	"supportsync.dev/shared/state"
	"supportsync.dev/shared/widgetstore"
)

// FromEnv builds the server from the environment (shared/config): the Firestore client (reads
// only), the keys, the allowed origins and the refresh and staleness settings. Every
// configuration problem is reported at once.
func FromEnv(ctx context.Context, getenv func(string) string) (*Server, error) {
	cfg, err := config.Load(getenv, config.NeedFirestore|config.NeedWidgets)
	if err != nil {
		return nil, err
	}
	log := logx.New(os.Stdout, cfg.LogLevel)
	fs, err := firestore.NewClient(context.WithoutCancel(ctx), cfg.Project)
	if err != nil {
		return nil, fmt.Errorf("firestore.NewClient: %w", err)
	}
	return FromConfig(cfg, fs, log)
}

// FromConfig builds the server from a loaded configuration and a Firestore client.
func FromConfig(cfg *config.Config, fs *firestore.Client, log *slog.Logger) (*Server, error) {
	signer, err := NewSigner(cfg.WidgetSigningKeys)
	if err != nil {
		return nil, err
	}
	return New(Options{
		Datasets: widgetstore.New(fs), Runs: state.New(fs), Signer: signer, AdminKey: cfg.WidgetAdminKey,
		Origins: cfg.WidgetOrigins, FrameAncestors: cfg.WidgetFrameAncestors, Refresh: cfg.WidgetRefresh, Stale: cfg.WidgetStale, Log: log,
	}), nil
}

// Handler is the HTTP function's handler: it builds the server on the first request (a failed
// build is retried on the next) and answers 503 without details when the configuration is
// bad (the details are logged).
type Handler struct {
	mu    sync.Mutex
	srv   *Server
	build func(ctx context.Context) (*Server, error)
}

// NewHandler returns a Handler that builds its server with build.
func NewHandler(build func(ctx context.Context) (*Server, error)) *Handler {
	return &Handler{build: build}
}

// ServeHTTP serves r with the server, building it first if needed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	srv := h.srv
	if srv == nil {
		var err error
		srv, err = h.build(r.Context())
		if err != nil {
			h.mu.Unlock()
			slog.Error("widgetapi not configured", "event", "widgetapi_config", "error", err.Error())
			fail(w, http.StatusServiceUnavailable, "the widget API is not configured; see the logs")
			return
		}
		h.srv = srv
	}
	h.mu.Unlock()
	srv.ServeHTTP(w, r)
}
