// Package ask answers a question about the support data with a language model that may only
// read the widgets: each widget of the contract is a tool (its id and its filters), every tool
// call runs against the loaded dataset through the same code as GET /api/v1/widgets/{id}, and
// the loop is bounded in model calls, tool calls, tokens and time. Before an answer is given,
// every number in it is checked against what the tools returned (see Evidence); an answer
// that states a number no tool returned, or a loop that ran out of budget, is replaced by the
// facts alone, saying so. The tools return aggregates only, so no ticket subject, rating
// comment or other customer text ever reaches the model.
package ask

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/genai"

	"supportsync.dev/shared/widgets"
)

// Model generates one turn of a conversation (Gemini through google.golang.org/genai in
// production; see NewGemini).
type Model interface {
	// Name is the model's name, reported with each answer.
	Name() string
	// Generate returns the model's next turn for contents.
	Generate(ctx context.Context, contents []*genai.Content, cfg *genai.GenerateContentConfig) (*genai.GenerateContentResponse, error)
}

// Limits bound one question.
type Limits struct {
	// Steps is the most model calls (6 when 0).
	Steps int
	// Calls is the most tool calls (12 when 0).
	Calls int
	// Tokens is the most tokens (prompt + answer, summed over the model calls; DefaultTokens
	// when 0).
	Tokens int
	// Time is the most wall time (45 s when 0).
	Time time.Duration
}

// DefaultTokens is a question's token limit when Limits.Tokens is 0.
const DefaultTokens = 60000

func (l Limits) withDefaults() Limits {
	if l.Steps <= 0 {
		l.Steps = 6
	}
	if l.Calls <= 0 {
		l.Calls = 12
	}
	if l.Tokens <= 0 {
		l.Tokens = DefaultTokens
	}
	if l.Time <= 0 {
		l.Time = 45 * time.Second
	}
	return l
}

// Stop says how a question ended.
type Stop string

// How a question ends.
const (
	// StopAnswered: the model answered and every number in it was found in the tool results.
	StopAnswered Stop = "answered"
	// StopUngrounded: the model stated numbers no tool returned; the facts alone are given.
	StopUngrounded Stop = "ungrounded"
	// StopSteps, StopTokens, StopTime: the loop ran out of model calls, tokens or time.
	StopSteps  Stop = "steps"
	StopTokens Stop = "tokens"
	StopTime   Stop = "time"
	// StopModel: the model failed or gave no answer after some tool calls.
	StopModel Stop = "model"
)

// Result is the answer to one question.
type Result struct {
	Answer string `json:"answer"`
	Facts  []Fact `json:"facts"`
	Model  string `json:"model"`
	AsOf   string `json:"as_of"`
	// Grounded is true when Answer is the model's own text, every number checked.
	Grounded bool `json:"grounded"`
	Stop     Stop `json:"stop"`
	// Unsupported are the numbers of a rejected answer that no tool returned.
	Unsupported []string `json:"unsupported,omitempty"`
	Steps       int      `json:"steps"`
	ToolCalls   int      `json:"tool_calls"`
	Tokens      int      `json:"tokens"`
	// ToolTime is the time spent running the tools (the widgets' own computation).
	ToolTime time.Duration `json:"-"`
}

// tools are the declarations, made once (they depend only on the contract).
var tools = sync.OnceValue(Tools)

// ErrModel wraps a model failure before any tool ran (nothing to answer with).
var ErrModel = errors.New("ask: the model did not answer")

// Instruction returns the system instruction for a question asked on today (local date) of a
// dataset whose data is as of asOf.
func Instruction(today, timezone, asOf string) string {
	return "You answer questions about a support team's HubSpot tickets and LiveChat chats. " +
		"The only source of truth is the tools: each is one dashboard widget, called with its filters. " +
		"Rules: every number you write must be copied from a tool result; you may round it, write a ratio (0 to 1) as a percentage, " +
		"or convert seconds to minutes, hours or days, naming the unit. Never add, subtract or compute changes: " +
		"to compare periods call the widget for each period and state both numbers. Write dates as YYYY-MM-DD. " +
		"Answer in at most 80 words, in plain text. If the tools cannot answer the question, say so without numbers. " +
		"Today is " + today + " (time zone " + timezone + "); the data is as of " + asOf + "."
}

// Run answers question over ds with model m within lim; now gives today's local date.
// A model error before any tool result is ErrModel; every other outcome is a Result.
func Run(ctx context.Context, m Model, ds *widgets.Dataset, question string, lim Limits, now time.Time) (Result, error) {
	lim = lim.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, lim.Time)
	defer cancel()
	loc := ds.Location()
	today := now.In(loc).Format(time.DateOnly)
	res := Result{Model: m.Name(), AsOf: ds.AsOf.UTC().Format(time.RFC3339)}
	cfg := &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText(Instruction(today, loc.String(), res.AsOf), genai.RoleUser),
		Tools:             []*genai.Tool{{FunctionDeclarations: tools()}},
		Temperature:       genai.Ptr[float32](0),
		MaxOutputTokens:   1024,
	}
	contents := []*genai.Content{genai.NewContentFromText(question, genai.RoleUser)}
	ev := NewEvidence()
	seen := map[string]bool{}
	for {
		if res.Steps >= lim.Steps {
			return finish(res, StopSteps, nil), nil
		}
		if res.Tokens >= lim.Tokens {
			return finish(res, StopTokens, nil), nil
		}
		resp, err := m.Generate(ctx, contents, cfg)
		res.Steps++
		if err != nil {
			if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
				return finish(res, StopTime, nil), nil
			}
			if len(res.Facts) == 0 {
				return res, fmt.Errorf("%w: %w", ErrModel, err)
			}
			return finish(res, StopModel, nil), nil
		}
		if u := resp.UsageMetadata; u != nil {
			res.Tokens += int(u.TotalTokenCount)
		}
		if len(resp.Candidates) == 0 || resp.Candidates[0].Content == nil {
			if len(res.Facts) == 0 {
				return res, fmt.Errorf("%w: no candidate (blocked: %s)", ErrModel, blockReason(resp))
			}
			return finish(res, StopModel, nil), nil
		}
		contents = append(contents, resp.Candidates[0].Content)
		calls := resp.FunctionCalls()
		if len(calls) == 0 {
			text := strings.TrimSpace(resp.Text())
			if text == "" {
				if len(res.Facts) == 0 {
					return res, fmt.Errorf("%w: an empty answer", ErrModel)
				}
				return finish(res, StopModel, nil), nil
			}
			if bad := ev.Unsupported(text); len(bad) > 0 {
				return finish(res, StopUngrounded, bad), nil
			}
			res.Answer, res.Grounded, res.Stop = text, true, StopAnswered
			return res, nil
		}
		parts := make([]*genai.Part, 0, len(calls))
		for _, c := range calls {
			out := map[string]any{}
			if res.ToolCalls >= lim.Calls {
				out["error"] = fmt.Sprintf("the limit of %d tool calls per question is reached; answer with the results you have", lim.Calls)
			} else {
				res.ToolCalls++
				t0 := time.Now()
				f, err := Call(ds, c.Name, c.Args, today)
				res.ToolTime += time.Since(t0)
				switch {
				case widgets.IsBadRequest(err):
					out["error"] = err.Error()
				case err != nil:
					return res, err
				default:
					out["widget"], out["filters"], out["as_of"], out["value"] = f.Widget, f.Filters, res.AsOf, f.Value
					ev.Add(f.Value)
					ev.Add(f.Filters)
					if !seen[f.Link] {
						seen[f.Link] = true
						res.Facts = append(res.Facts, f)
					}
				}
			}
			parts = append(parts, &genai.Part{FunctionResponse: &genai.FunctionResponse{ID: c.ID, Name: c.Name, Response: out}})
		}
		contents = append(contents, &genai.Content{Role: genai.RoleUser, Parts: parts})
		if ctx.Err() != nil {
			return finish(res, StopTime, nil), nil
		}
	}
}

func blockReason(r *genai.GenerateContentResponse) string {
	if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
		return string(r.PromptFeedback.BlockReason)
	}
	return "none given"
}

// finish replaces the answer with the facts alone, saying why.
func finish(res Result, stop Stop, unsupported []string) Result {
	res.Stop, res.Grounded, res.Unsupported = stop, false, unsupported
	var why string
	switch stop {
	case StopUngrounded:
		why = fmt.Sprintf("The model's answer stated numbers that no widget returned (%s), so it is not shown.", strings.Join(unsupported, ", "))
	case StopSteps, StopTokens, StopTime:
		why = fmt.Sprintf("The model did not finish within its limit of %s.", map[Stop]string{StopSteps: "steps", StopTokens: "tokens", StopTime: "time"}[stop])
	default:
		why = "The model did not give an answer."
	}
	if len(res.Facts) == 0 {
		res.Answer = why + " No widget data was read; try a narrower question."
		return res
	}
	var b strings.Builder
	b.WriteString(why)
	b.WriteString(" These are the figures the widgets returned:")
	for _, f := range res.Facts {
		b.WriteString("\n- ")
		b.WriteString(Describe(f))
	}
	res.Answer = b.String()
	return res
}

// Describe is one fact in words: the widget's title, its filters and its scalar figures.
func Describe(f Fact) string {
	title := f.Widget
	if w, ok := widgets.ByID(f.Widget); ok {
		title = w.Title
	}
	var fs []string
	for _, k := range []string{widgets.FilterFrom, widgets.FilterTo, widgets.FilterPipeline, widgets.FilterAgent, widgets.FilterSource} {
		if v, ok := f.Filters[k]; ok {
			fs = append(fs, k+" "+v)
		}
	}
	s := title
	if len(fs) > 0 {
		s += " (" + strings.Join(fs, ", ") + ")"
	}
	if figs := figures("", f.Value); len(figs) > 0 {
		s += ": " + strings.Join(figs, "; ")
	}
	return s
}

// figures lists the scalar figures of a value (nested objects by dotted name; lists by length).
func figures(prefix string, v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if prefix != "" {
			name = prefix + " " + k
		}
		switch x := m[k].(type) {
		case nil:
			out = append(out, name+" none")
		case float64:
			out = append(out, name+" "+formatNum(x))
		case map[string]any:
			out = append(out, figures(name, x)...)
		case []any:
			out = append(out, fmt.Sprintf("%s: %d rows", name, len(x)))
		}
	}
	return out
}

func formatNum(x float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.4f", x), "0"), ".")
}
