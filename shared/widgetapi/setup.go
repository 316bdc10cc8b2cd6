package widgetapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"cloud.google.com/go/firestore"

	"supportsync.dev/shared/ask"
	"supportsync.dev/shared/askbudget"
	"supportsync.dev/shared/config"
	"supportsync.dev/shared/logx"
	"supportsync.dev/shared/secrets"
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
	return FromConfig(ctx, cfg, fs, log)
}

// FromConfig builds the server from a loaded configuration and a Firestore client.
func FromConfig(ctx context.Context, cfg *config.Config, fs *firestore.Client, log *slog.Logger) (*Server, error) {
	signer, err := NewSigner(cfg.WidgetSigningKeys)
	if err != nil {
		return nil, err
	}
	return New(Options{
		Datasets: widgetstore.New(fs), Runs: state.New(fs), Signer: signer, AdminKey: cfg.WidgetAdminKey,
		Origins: cfg.WidgetOrigins, FrameAncestors: cfg.WidgetFrameAncestors, Refresh: cfg.WidgetRefresh, Stale: cfg.WidgetStale, Log: log,
		Ask: AskFromConfig(ctx, cfg, fs, log),
	}), nil
}

// AskFromConfig builds the options of POST /api/v1/ask: the model the configuration chooses
// (a Gemini API key, read from Secret Manager for GEMINI_API_KEY_SECRET; else Vertex AI in
// GOOGLE_CLOUD_PROJECT at ASK_VERTEX_LOCATION with the service account's credentials), the
// daily budget in fs and the per-question limits. Without a model the options keep the
// reason, which /api/v1/ask answers with a 503.
func AskFromConfig(ctx context.Context, cfg *config.Config, fs *firestore.Client, log *slog.Logger) AskOptions {
	o := AskOptions{
		Budget: askbudget.New(fs, askbudget.Limits{Requests: cfg.AskDailyRequests, Tokens: cfg.AskDailyTokens}, nil),
		Limits: ask.Limits{Steps: cfg.AskMaxSteps, Time: cfg.AskTimeout},
	}
	st := ask.Settings{Model: cfg.AskModel, BaseURL: cfg.AskBaseURL}
	if cfg.AskGeminiKey != "" || cfg.AskGeminiKeySecret != "" {
		key, err := secrets.NewResolver().Resolve(ctx, cfg.AskGeminiKey, cfg.AskGeminiKeySecret)
		if err != nil {
			log.Error("ask: read the Gemini API key", "event", "ask_config", "error", err.Error())
			o.Unavailable = "the Gemini API key could not be read from Secret Manager; see the logs"
			return o
		}
		st.APIKey = secrets.Secret(key)
	} else if cfg.AskVertexLocation != "" {
		st.Project, st.Location = cfg.Project, cfg.AskVertexLocation
	}
	m, err := ask.NewGemini(ctx, st)
	if err != nil {
		if !errors.Is(err, ask.ErrNotConfigured) {
			log.Error("ask: model client", "event", "ask_config", "error", err.Error())
			err = errors.New("the model client could not be built; see the logs")
		}
		o.Unavailable = err.Error()
		return o
	}
	o.Model = m
	return o
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
