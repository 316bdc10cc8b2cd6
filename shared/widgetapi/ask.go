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
	res, code, reason, retry := s.answerQuestion(r.Context(), req.Question)
	if code != 0 {
		if retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retry))
		}
		fail(w, code, reason)
		return
	}
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

// answerQuestion runs one question through the ask engine for the JSON endpoint and the
// dashboard's form alike: the question checked, the day's budget taken, the bounded loop run
// and its tokens charged. A non-zero code is the HTTP status to answer with, reason its text,
// and retryAfter (seconds) is set when the day's budget is spent.
func (s *Server) answerQuestion(ctx context.Context, question string) (res ask.Result, code int, reason string, retryAfter int) {
	q := strings.TrimSpace(question)
	switch {
	case q == "":
		return ask.Result{}, http.StatusBadRequest, "question: empty", 0
	case !utf8.ValidString(q):
		return ask.Result{}, http.StatusBadRequest, "question: not valid UTF-8", 0
	case utf8.RuneCountInString(q) > MaxQuestionRunes:
		return ask.Result{}, http.StatusBadRequest, fmt.Sprintf("question: longer than %d characters", MaxQuestionRunes), 0
	case strings.ContainsFunc(q, func(c rune) bool { return unicode.IsControl(c) && c != '\n' && c != '\t' }):
		return ask.Result{}, http.StatusBadRequest, "question: contains control characters", 0
	}
	l, err := s.dataset(ctx)
	if err != nil {
		return ask.Result{}, http.StatusServiceUnavailable, s.unavailableReason(err), 0
	}
	left, err := s.o.Ask.Budget.Take(ctx)
	var spent *askbudget.SpentError
	if errors.As(err, &spent) {
		return ask.Result{}, http.StatusTooManyRequests, spent.Error(), max(1, int(math.Ceil(spent.Resets.Sub(s.now()).Seconds())))
	}
	if err != nil {
		s.o.Log.Error("ask budget", "event", "ask_budget_error", "error", err.Error())
		return ask.Result{}, http.StatusServiceUnavailable, "the ask budget cannot be checked; try again shortly", 0
	}
	lim := s.o.Ask.Limits
	if lim.Tokens <= 0 {
		lim.Tokens = ask.DefaultTokens
	}
	lim.Tokens = min(lim.Tokens, left) // never past the day's budget
	start := time.Now()
	res, err = ask.Run(ctx, s.o.Ask.Model, l.ds, q, lim, s.now())
	if cerr := s.o.Ask.Budget.Charge(context.WithoutCancel(ctx), res.Tokens); cerr != nil {
		s.o.Log.Error("ask budget", "event", "ask_budget_error", "error", cerr.Error())
	}
	if err != nil {
		s.o.Log.Error("ask", "event", "ask_failed", "model", s.o.Ask.Model.Name(), "error", err.Error())
		if errors.Is(err, ask.ErrModel) {
			return ask.Result{}, http.StatusBadGateway, "the model did not answer; try again shortly", 0
		}
		return ask.Result{}, http.StatusInternalServerError, "internal error", 0
	}
	s.o.Log.Info("ask answered", "event", "ask_answered", "model", res.Model, "stop", string(res.Stop), "steps", res.Steps,
		"tool_calls", res.ToolCalls, "tool_ms", res.ToolTime.Milliseconds(), "tokens", res.Tokens, "facts", len(res.Facts), "question_chars", utf8.RuneCountInString(q),
		"ms", time.Since(start).Milliseconds())
	return res, 0, "", 0
}
