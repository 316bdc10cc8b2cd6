// Package geminifake is a local server speaking the Gemini API's generateContent REST wire
// format (POST /v1beta/models/{model}:generateContent, API key in x-goog-api-key) that plays
// scripted model turns, for tests of the real google.golang.org/genai client.
package geminifake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Part is one part of a content, as on the wire.
type Part struct {
	Text             string            `json:"text,omitempty"`
	FunctionCall     *FunctionCall     `json:"functionCall,omitempty"`
	FunctionResponse *FunctionResponse `json:"functionResponse,omitempty"`
}

// FunctionCall is a model's tool call.
type FunctionCall struct {
	ID   string         `json:"id,omitempty"`
	Name string         `json:"name"`
	Args map[string]any `json:"args,omitempty"`
}

// FunctionResponse is a tool result sent back to the model.
type FunctionResponse struct {
	ID       string         `json:"id,omitempty"`
	Name     string         `json:"name"`
	Response map[string]any `json:"response"`
}

// Content is one turn.
type Content struct {
	Role  string `json:"role,omitempty"`
	Parts []Part `json:"parts"`
}

// Declaration is a declared tool.
type Declaration struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  map[string]any `json:"parameters"`
}

// Request is a generateContent request body.
type Request struct {
	Model             string    `json:"-"`
	Contents          []Content `json:"contents"`
	SystemInstruction *Content  `json:"systemInstruction,omitempty"`
	Tools             []struct {
		FunctionDeclarations []Declaration `json:"functionDeclarations"`
	} `json:"tools,omitempty"`
	GenerationConfig map[string]any `json:"generationConfig,omitempty"`
	// Raw is the body as received.
	Raw string `json:"-"`
}

// Responses returns the function responses of the request's last turn.
func (r *Request) Responses() []FunctionResponse {
	if len(r.Contents) == 0 {
		return nil
	}
	var out []FunctionResponse
	for _, p := range r.Contents[len(r.Contents)-1].Parts {
		if p.FunctionResponse != nil {
			out = append(out, *p.FunctionResponse)
		}
	}
	return out
}

// Turn is what the scripted model answers: text, tool calls, or an HTTP error.
type Turn struct {
	Text  string
	Calls []FunctionCall
	// Status, when set, answers with this HTTP status and a Google API error body.
	Status int
	// Tokens is the turn's totalTokenCount (100 when 0).
	Tokens int
}

// Script plays the model: step counts from 0 for each question (a request with one content).
type Script func(step int, req *Request) Turn

// Server is the fake. Requests are recorded.
type Server struct {
	*httptest.Server
	key    string
	mu     sync.Mutex
	script Script
	step   int
	reqs   []*Request
	busy   time.Duration
}

// New starts a fake that accepts key and plays script.
func New(key string, script Script) *Server {
	s := &Server{key: key, script: script}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Busy returns the time the fake spent answering (reading, scripting and writing), the
// "model time" a measurement of the caller's own overhead leaves out.
func (s *Server) Busy() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy
}

// Requests returns the requests received so far.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Request(nil), s.reqs...)
}

func apiError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() {
		s.mu.Lock()
		s.busy += time.Since(start)
		s.mu.Unlock()
	}()
	const prefix, suffix = "/v1beta/models/", ":generateContent"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, suffix) {
		apiError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
		return
	}
	if r.Header.Get("x-goog-api-key") != s.key {
		apiError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "API key not valid.")
		return
	}
	body, _ := io.ReadAll(r.Body)
	req := &Request{Model: strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), suffix), Raw: string(body)}
	if err := json.Unmarshal(body, req); err != nil || len(req.Contents) == 0 {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad request body")
		return
	}
	s.mu.Lock()
	if len(req.Contents) == 1 {
		s.step = 0
	}
	step := s.step
	s.step++
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	t := s.script(step, req)
	if t.Status != 0 {
		apiError(w, t.Status, http.StatusText(t.Status), "scripted error")
		return
	}
	var parts []Part
	if t.Text != "" {
		parts = append(parts, Part{Text: t.Text})
	}
	for i, c := range t.Calls {
		if c.ID == "" {
			c.ID = fmt.Sprintf("call-%d-%d", step, i)
		}
		parts = append(parts, Part{FunctionCall: &c})
	}
	tokens := t.Tokens
	if tokens == 0 {
		tokens = 100
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"candidates":    []any{map[string]any{"content": Content{Role: "model", Parts: parts}, "finishReason": "STOP", "index": 0}},
		"usageMetadata": map[string]any{"promptTokenCount": tokens * 3 / 4, "candidatesTokenCount": tokens - tokens*3/4, "totalTokenCount": tokens},
		"modelVersion":  req.Model,
	})
}
