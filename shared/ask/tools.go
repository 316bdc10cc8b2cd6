package ask

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"google.golang.org/genai"

	"supportsync.dev/shared/widgets"
)

// filterDoc describes each filter to the model, in the contract's words.
var filterDoc = map[string]string{
	widgets.FilterFrom:     "First local date of the range, YYYY-MM-DD (inclusive). Default: 29 days before to.",
	widgets.FilterTo:       "Last local date of the range, YYYY-MM-DD (inclusive). Default: today. At most 400 days in a range.",
	widgets.FilterPipeline: "Ticket pipeline label; keeps only that pipeline's tickets (and leaves chats out where a widget mixes both).",
	widgets.FilterAgent:    "Agent's standard name, exactly as the data spells it (agent-leaderboard lists them).",
	widgets.FilterSource:   "tickets or chats: count only one source (default both).",
}

// Tools returns one function declaration per widget of the contract: the name is the widget
// id and the parameters are exactly the widget's filters (all strings, all optional), so a
// tool call is the same request as GET /api/v1/widgets/{id}?filter=value.
func Tools() []*genai.FunctionDeclaration {
	out := make([]*genai.FunctionDeclaration, 0, len(widgets.All))
	for _, w := range widgets.All {
		props := map[string]*genai.Schema{}
		order := []string{}
		filters := w.Filters
		if w.IgnoresRange {
			filters = slices.DeleteFunc(slices.Clone(filters), func(f string) bool {
				return f == widgets.FilterFrom || f == widgets.FilterTo
			})
		}
		for _, f := range filters {
			s := &genai.Schema{Type: genai.TypeString, Description: filterDoc[f]}
			if f == widgets.FilterSource {
				s.Enum = []string{"tickets", "chats"}
			}
			props[f] = s
			order = append(order, f)
		}
		out = append(out, &genai.FunctionDeclaration{
			Name:        w.ID,
			Description: w.Title + ": " + w.Description + " Durations are in seconds; ratios are between 0 and 1.",
			Parameters:  &genai.Schema{Type: genai.TypeObject, Properties: props, PropertyOrdering: order},
		})
	}
	return out
}

// Fact is one widget answer the model was given: what the JSON API returns for the same
// widget and filters, plus the link to the widget page with those filters.
type Fact struct {
	Widget  string            `json:"widget"`
	Filters map[string]string `json:"filters"`
	Value   any               `json:"value"`
	Dataset string            `json:"dataset"`
	// Link is the widget's page with these filters: /widgets/{id}?filters.
	Link string `json:"link"`
}

// Call runs one tool call against ds exactly as the JSON API runs a request: the arguments
// become query parameters, widgets.ParseFilters validates them (today is the local date) and
// Dataset.Compute answers. Bad arguments are a *widgets.BadRequestError whose reason is fed
// back to the model.
func Call(ds *widgets.Dataset, name string, args map[string]any, today string) (Fact, error) {
	w, ok := widgets.ByID(name)
	if !ok {
		return Fact{}, &widgets.BadRequestError{Reason: fmt.Sprintf("unknown tool %q (the tools are the widget ids)", clip(name))}
	}
	q := url.Values{}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []string
	for _, k := range keys {
		switch v := args[k].(type) {
		case string:
			q.Set(k, v)
		case nil:
		default:
			errs = append(errs, fmt.Sprintf("%s: must be a string, got %s", clip(k), jsonKind(v)))
		}
	}
	if len(errs) > 0 {
		return Fact{}, &widgets.BadRequestError{Reason: strings.Join(errs, "; ")}
	}
	f, err := widgets.ParseFilters(w, q, today)
	if err != nil {
		return Fact{}, err
	}
	r := ds.Compute(w, f)
	// The value as the JSON API encodes it: generic JSON, so the check and the model see the
	// same numbers a client of /api/v1/widgets would.
	b, err := json.Marshal(r.Value)
	if err != nil {
		return Fact{}, fmt.Errorf("ask: encode %s: %w", w.ID, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return Fact{}, fmt.Errorf("ask: decode %s: %w", w.ID, err)
	}
	link := "/widgets/" + w.ID
	if e := f.Values(w).Encode(); e != "" {
		link += "?" + e
	}
	return Fact{Widget: w.ID, Filters: r.Filters, Value: v, Dataset: r.Dataset, Link: link}, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case float64, int, int64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	r := []rune(s)
	if len(r) <= 40 {
		return s
	}
	return string(r[:40]) + "…"
}
