package ask

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/genai"

	"supportsync.dev/shared/secrets"
)

// DefaultModel is the model asked when none is configured: a current Flash model.
const DefaultModel = "gemini-2.5-flash"

// Settings choose the model and its credentials. With APIKey the Gemini API is used; else
// with Project and Location, Vertex AI with the application default credentials (the
// function's own service account in the cloud).
type Settings struct {
	APIKey   secrets.Secret
	Project  string
	Location string
	// Model is the model name (DefaultModel when empty).
	Model string
	// BaseURL points the client at another server speaking the same REST wire format (a test
	// fake or a sandbox); empty is Google's endpoint.
	BaseURL string
	// HTTPClient is used for the Gemini API (http.DefaultClient's transport when nil).
	HTTPClient *http.Client
}

// ErrNotConfigured is returned by NewGemini when neither an API key nor Vertex AI settings
// are given; its text is safe to show a caller.
var ErrNotConfigured = errors.New("no model is configured: set GEMINI_API_KEY (or GEMINI_API_KEY_SECRET) or ASK_VERTEX_LOCATION with GOOGLE_CLOUD_PROJECT")

// Gemini is a Model served by Google's Gen AI SDK.
type Gemini struct {
	c     *genai.Client
	model string
}

// NewGemini returns the model the settings choose.
func NewGemini(ctx context.Context, s Settings) (*Gemini, error) {
	cc := &genai.ClientConfig{HTTPOptions: genai.HTTPOptions{BaseURL: s.BaseURL}, HTTPClient: s.HTTPClient}
	switch {
	case s.APIKey != "":
		cc.Backend, cc.APIKey = genai.BackendGeminiAPI, string(s.APIKey)
		if cc.HTTPClient == nil {
			cc.HTTPClient = &http.Client{}
		}
	case s.Project != "" && s.Location != "":
		cc.Backend, cc.Project, cc.Location = genai.BackendVertexAI, s.Project, s.Location
	default:
		return nil, ErrNotConfigured
	}
	c, err := genai.NewClient(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("genai.NewClient: %w", err)
	}
	m := s.Model
	if m == "" {
		m = DefaultModel
	}
	return &Gemini{c: c, model: m}, nil
}

// Name returns the model name.
func (g *Gemini) Name() string { return g.model }

// Generate calls generateContent once.
func (g *Gemini) Generate(ctx context.Context, contents []*genai.Content, cfg *genai.GenerateContentConfig) (*genai.GenerateContentResponse, error) {
	r, err := g.c.Models.GenerateContent(ctx, g.model, contents, cfg)
	if err != nil {
		return nil, fmt.Errorf("generateContent %s: %w", g.model, err)
	}
	return r, nil
}
