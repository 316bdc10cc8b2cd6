package widgetapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"supportsync.dev/shared/ask"
	"supportsync.dev/shared/askbudget"
)

// AskScope is the "widget" of an embed token that may call POST /api/v1/ask (and nothing else).
const AskScope = "ask"

// MaxQuestionRunes is the longest question accepted.
const MaxQuestionRunes = 1000

// Budget counts the questions of a day across instances (askbudget.Budget in production).
type Budget interface {
	// Take counts one question and returns the tokens left today, or an *askbudget.SpentError.
	Take(ctx context.Context) (tokensLeft int, err error)
	// Charge adds a question's tokens.
	Charge(ctx context.Context, tokens int) error
}

// AskOptions configure POST /api/v1/ask.
type AskOptions struct {
	// Model answers; nil answers 503 with Unavailable as the reason.
	Model       ask.Model
	Unavailable string
	// Budget is the daily budget; nil answers 503 (a model without a budget is not served).
	Budget Budget
	// Limits bound one question.
	Limits ask.Limits
}

// AskRequest is the body of POST /api/v1/ask.
type AskRequest struct {
	Question string `json:"question"`
}

// AskStatus is the answer of GET /api/v1/ask: whether the dashboard shows the Ask box.
type AskStatus struct {
	Enabled bool   `json:"enabled"`
	Model   string `json:"model,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// AskAvailable reports whether /api/v1/ask can answer, and why not (for the dashboard, which
// hides its Ask box when it cannot).
func (s *Server) AskAvailable() AskStatus {
	switch {
	case s.o.Ask.Model == nil:
		r := s.o.Ask.Unavailable
		if r == "" {
			r = ask.ErrNotConfigured.Error()
		}
		return AskStatus{Reason: r}
	case s.o.Ask.Budget == nil:
		return AskStatus{Reason: "the ask budget is not configured"}
	}
	return AskStatus{Enabled: true, Model: s.o.Ask.Model.Name()}
}

// authorizeAsk lets the admin key or an embed token scoped to ask through.
func (s *Server) authorizeAsk(r *http.Request) (int, string) {
	a, code, reason := s.authorize(r)
	if code != 0 {
		return code, reason
	}
	if !a.admin && a.claims.Widget != AskScope {
		return http.StatusForbidden, fmt.Sprintf("the token is for widget %s, not scoped to %s", a.claims.Widget, AskScope)
	}
	return 0, ""
}

func (s *Server) askStatus(w http.ResponseWriter, r *http.Request) {
	if code, reason := s.authorizeAsk(r); code != 0 {
		fail(w, code, reason)
		return
	}
	body, _ := json.Marshal(s.AskAvailable())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(append(body, '\n'))
}

func (s *Server) ask(w http.ResponseWriter, r *http.Request) {
	if code, reason := s.authorizeAsk(r); code != 0 {
		fail(w, code, reason)
		return
	}
	if st := s.AskAvailable(); !st.Enabled {
		fail(w, http.StatusServiceUnavailable, st.Reason)
		return
	}
	var req AskRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, `the body must be JSON {"question": "..."} under 8 KiB`)
		return
	}
	q := strings.TrimSpace(req.Question)
	switch {
	case q == "":
		fail(w, http.StatusBadRequest, "question: empty")
		return
	case !utf8.ValidString(q):
		fail(w, http.StatusBadRequest, "question: not valid UTF-8")
		return
	case utf8.RuneCountInString(q) > MaxQuestionRunes:
		fail(w, http.StatusBadRequest, fmt.Sprintf("question: longer than %d characters", MaxQuestionRunes))
		return
	case strings.ContainsFunc(q, func(c rune) bool { return unicode.IsControl(c) && c != '\n' && c != '\t' }):
		fail(w, http.StatusBadRequest, "question: contains control characters")
		return
	}
	l, err := s.dataset(r.Context())
	if err != nil {
		s.unavailable(w, err)
		return
	}
	left, err := s.o.Ask.Budget.Take(r.Context())
	var spent *askbudget.SpentError
	if errors.As(err, &spent) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(spent.Resets.Sub(s.now()).Seconds()))))
		fail(w, http.StatusTooManyRequests, spent.Error())
		return
	}
	if err != nil {
		s.o.Log.Error("ask budget", "event", "ask_budget_error", "error", err.Error())
		fail(w, http.StatusServiceUnavailable, "the ask budget cannot be checked; try again shortly")
		return
	}
	lim := s.o.Ask.Limits
	if lim.Tokens <= 0 {
		lim.Tokens = ask.DefaultTokens
	}
	lim.Tokens = min(lim.Tokens, left) // never past the day's budget
	start := time.Now()
	res, err := ask.Run(r.Context(), s.o.Ask.Model, l.ds, q, lim, s.now())
	if cerr := s.o.Ask.Budget.Charge(context.WithoutCancel(r.Context()), res.Tokens); cerr != nil {
		s.o.Log.Error("ask budget", "event", "ask_budget_error", "error", cerr.Error())
	}
	if err != nil {
		s.o.Log.Error("ask", "event", "ask_failed", "model", s.o.Ask.Model.Name(), "error", err.Error())
		if errors.Is(err, ask.ErrModel) {
			fail(w, http.StatusBadGateway, "the model did not answer; try again shortly")
			return
		}
		fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.o.Log.Info("ask answered", "event", "ask_answered", "model", res.Model, "stop", string(res.Stop), "steps", res.Steps,
		"tool_calls", res.ToolCalls, "tool_ms", res.ToolTime.Milliseconds(), "tokens", res.Tokens, "facts", len(res.Facts), "question_chars", utf8.RuneCountInString(q),
		"ms", time.Since(start).Milliseconds())
	if res.Facts == nil {
		res.Facts = []ask.Fact{}
	}
	body, err := json.Marshal(res)
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(append(body, '\n'))
}
