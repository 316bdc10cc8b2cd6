package ask_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/ask"
	"supportsync.dev/shared/ask/geminifake"
	"supportsync.dev/shared/widgets"
	"supportsync.dev/shared/widgets/widgetstest"
)

const apiKey = "test-gemini-key"

var (
	halifax, _ = time.LoadLocation("America/Halifax")
	end        = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
)

// dataset is a year of realistic rows (5,000 tickets, 8,000 chats) ending at end.
func dataset(tb testing.TB) *widgets.Dataset {
	tb.Helper()
	tickets, chats := widgetstest.Rows(5000, 8000, end, halifax, 7)
	b := widgets.NewBuilder("America/Halifax")
	for _, r := range tickets {
		b.AddTicket(r)
	}
	for _, r := range chats {
		b.AddChat(r)
	}
	ds, err := widgets.Load(b.Data(end.Add(-time.Minute)), "v1")
	if err != nil {
		tb.Fatal(err)
	}
	return ds
}

// model starts a fake playing script and returns the real client pointed at it.
func model(tb testing.TB, script geminifake.Script) (*ask.Gemini, *geminifake.Server) {
	tb.Helper()
	fake := geminifake.New(apiKey, script)
	tb.Cleanup(fake.Close)
	m, err := ask.NewGemini(context.Background(), ask.Settings{APIKey: apiKey, BaseURL: fake.URL, Model: "gemini-test-flash"})
	if err != nil {
		tb.Fatal(err)
	}
	return m, fake
}

// value reads a number at a dotted path of the last tool result named widget.
func value(tb testing.TB, req *geminifake.Request, widget, path string) float64 {
	tb.Helper()
	for _, r := range req.Responses() {
		if r.Name != widget {
			continue
		}
		var v any = r.Response["value"]
		for _, k := range strings.Split(path, ".") {
			v = v.(map[string]any)[k]
		}
		return v.(float64)
	}
	tb.Fatalf("no result of %s in %s", widget, req.Raw)
	return 0
}

// jsonAPI is what GET /api/v1/widgets/{id}?q returns as value, as generic JSON.
func jsonAPI(tb testing.TB, ds *widgets.Dataset, id string, filters map[string]string) any {
	tb.Helper()
	w, _ := widgets.ByID(id)
	q := map[string][]string{}
	for k, v := range filters {
		q[k] = []string{v}
	}
	f, err := widgets.ParseFilters(w, q, end.In(halifax).Format(time.DateOnly))
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := json.Marshal(ds.Compute(w, f).Value)
	var v any
	json.Unmarshal(b, &v)
	return v
}

func TestToolsAreTheContract(t *testing.T) {
	decls := ask.Tools()
	if len(decls) != len(widgets.All) {
		t.Fatalf("%d tools for %d widgets", len(decls), len(widgets.All))
	}
	for i, d := range decls {
		w := widgets.All[i]
		want := slices.DeleteFunc(slices.Clone(w.Filters), func(f string) bool {
			return w.IgnoresRange && (f == widgets.FilterFrom || f == widgets.FilterTo)
		})
		if d.Name != w.ID || !slices.Equal(d.Parameters.PropertyOrdering, want) || len(d.Parameters.Properties) != len(want) {
			t.Errorf("tool %s %v, want %s %v", d.Name, d.Parameters.PropertyOrdering, w.ID, want)
		}
	}
}

func TestScriptedQuestions(t *testing.T) {
	ds := dataset(t)
	oct := map[string]any{"from": "2026-10-01", "to": "2026-10-31"}
	sep := map[string]any{"from": "2026-09-01", "to": "2026-09-30"}
	for _, tc := range []struct {
		name     string
		script   geminifake.Script
		lim      ask.Limits
		stop     ask.Stop
		calls    int
		facts    []string // widget ids
		contains []string // in the answer
		check    func(t *testing.T, reqs []*geminifake.Request)
	}{{
		name: "one tool call",
		script: func(step int, req *geminifake.Request) geminifake.Turn {
			if step == 0 {
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-csat", Args: oct}}}
			}
			return geminifake.Turn{Text: fmt.Sprintf("CSAT in October was %.1f%% over %.0f rated threads of %.0f.",
				100*value(t, req, "chat-csat", "csat"), value(t, req, "chat-csat", "good")+value(t, req, "chat-csat", "bad"), value(t, req, "chat-csat", "threads"))}
		},
		stop: ask.StopUngrounded, calls: 1, facts: []string{"chat-csat"}, contains: []string{"stated numbers that no widget returned", "Chat CSAT (from 2026-10-01, to 2026-10-31): bad "},
	}, {
		name: "one tool call, grounded",
		script: func(step int, req *geminifake.Request) geminifake.Turn {
			if step == 0 {
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-csat", Args: oct}}}
			}
			return geminifake.Turn{Text: fmt.Sprintf("CSAT from 2026-10-01 to 2026-10-31 was %.1f%% (%.0f good, %.0f bad of %.0f threads).",
				100*value(t, req, "chat-csat", "csat"), value(t, req, "chat-csat", "good"), value(t, req, "chat-csat", "bad"), value(t, req, "chat-csat", "threads"))}
		},
		stop: ask.StopAnswered, calls: 1, facts: []string{"chat-csat"}, contains: []string{"CSAT from 2026-10-01"},
	}, {
		name: "several tool calls over two turns",
		script: func(step int, req *geminifake.Request) geminifake.Turn {
			switch step {
			case 0:
				a, b := map[string]any{"agent": "Alice"}, map[string]any{"agent": "Alice"}
				for k, v := range oct {
					a[k] = v
				}
				for k, v := range sep {
					b[k] = v
				}
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-first-response", Args: a}, {Name: "chat-first-response", Args: b}}}
			case 1:
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-volume", Args: oct}}}
			}
			prev := req.Contents[len(req.Contents)-3] // the two first-response results
			var med []float64
			for _, p := range prev.Parts {
				med = append(med, p.FunctionResponse.Response["value"].(map[string]any)["first_human_response"].(map[string]any)["median"].(float64))
			}
			return geminifake.Turn{Text: fmt.Sprintf("Alice's median first human response was %.1f minutes in October against %.1f minutes in September; %.0f chats started in October.",
				med[0]/60, med[1]/60, value(t, req, "chat-volume", "total"))}
		},
		stop: ask.StopAnswered, calls: 3, facts: []string{"chat-first-response", "chat-first-response", "chat-volume"}, contains: []string{"Alice's median"},
	}, {
		name: "bad arguments go back to the model",
		script: func(step int, req *geminifake.Request) geminifake.Turn {
			switch step {
			case 0:
				return geminifake.Turn{Calls: []geminifake.FunctionCall{
					{Name: "chat-missed", Args: map[string]any{"from": "last month"}},
					{Name: "chat-missed", Args: map[string]any{"pipeline": "Support"}},
					{Name: "ticket-backlog", Args: map[string]any{"agent": 7.0}},
					{Name: "tickets-deleted", Args: nil},
				}}
			case 1:
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-missed", Args: oct}}}
			}
			return geminifake.Turn{Text: fmt.Sprintf("%.0f of %.0f chats that needed a human were missed.", value(t, req, "chat-missed", "missed"), value(t, req, "chat-missed", "needed_human"))}
		},
		stop: ask.StopAnswered, calls: 5, facts: []string{"chat-missed"},
		check: func(t *testing.T, reqs []*geminifake.Request) {
			var errs []string
			for _, r := range reqs[1].Responses() {
				e, _ := r.Response["error"].(string)
				errs = append(errs, e)
			}
			want := []string{`from: "last month" is not a date`, "pipeline: does not apply to chat-missed", "agent: must be a string, got a number", `unknown tool "tickets-deleted"`}
			for i, w := range want {
				if i >= len(errs) || !strings.Contains(errs[i], w) {
					t.Errorf("error %d sent back = %q, want it to contain %q", i, errs, w)
				}
			}
		},
	}, {
		name: "an invented number is caught",
		script: func(step int, req *geminifake.Request) geminifake.Turn {
			if step == 0 {
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "tickets-created", Args: oct}}}
			}
			return geminifake.Turn{Text: fmt.Sprintf("%.0f tickets were created in October, 12.5%% more than September.", value(t, req, "tickets-created", "total"))}
		},
		stop: ask.StopUngrounded, calls: 1, facts: []string{"tickets-created"}, contains: []string{"(12.5%)", "Tickets created (from 2026-10-01, to 2026-10-31): by_day: 31 rows; total "},
	}, {
		name: "a loop that never ends stops at the step limit",
		script: func(step int, req *geminifake.Request) geminifake.Turn {
			return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-duration", Args: map[string]any{"to": fmt.Sprintf("2026-10-%02d", step+1)}}}}
		},
		lim:  ask.Limits{Steps: 4},
		stop: ask.StopSteps, calls: 4, facts: []string{"chat-duration", "chat-duration", "chat-duration", "chat-duration"}, contains: []string{"limit of steps"},
	}, {
		name: "the same call again and again stops at the tool-call limit, then the step limit",
		script: func(step int, req *geminifake.Request) geminifake.Turn {
			return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-duration", Args: oct}, {Name: "chat-duration", Args: oct}}}
		},
		lim:  ask.Limits{Steps: 5, Calls: 3},
		stop: ask.StopSteps, calls: 3, facts: []string{"chat-duration"},
		check: func(t *testing.T, reqs []*geminifake.Request) {
			if e, _ := reqs[2].Responses()[1].Response["error"].(string); !strings.Contains(e, "limit of 3 tool calls") {
				t.Errorf("4th call answered %q", e)
			}
		},
	}, {
		name: "a token-hungry loop stops at the token limit",
		script: func(step int, req *geminifake.Request) geminifake.Turn {
			return geminifake.Turn{Tokens: 5000, Calls: []geminifake.FunctionCall{{Name: "load-heatmap", Args: oct}}}
		},
		lim:  ask.Limits{Tokens: 12000},
		stop: ask.StopTokens, calls: 3, facts: []string{"load-heatmap"}, contains: []string{"limit of tokens"},
	}, {
		name: "a slow loop stops at the time limit",
		script: func(step int, req *geminifake.Request) geminifake.Turn {
			time.Sleep(60 * time.Millisecond)
			return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "bot-containment", Args: oct}}}
		},
		lim:  ask.Limits{Time: 200 * time.Millisecond, Steps: 100},
		stop: ask.StopTime, facts: []string{"bot-containment"}, calls: -1, contains: []string{"limit of time"},
	}, {
		name: "an answer without numbers needs no tool",
		script: func(step int, req *geminifake.Request) geminifake.Turn {
			return geminifake.Turn{Text: "I can only answer questions about the support data."}
		},
		stop: ask.StopAnswered,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m, fake := model(t, tc.script)
			start := time.Now()
			res, err := ask.Run(context.Background(), m, ds, "How did October go for Alice?", tc.lim, end)
			if err != nil {
				t.Fatal(err)
			}
			if tc.lim.Time > 0 && time.Since(start) > tc.lim.Time+150*time.Millisecond {
				t.Errorf("took %s past the %s limit", time.Since(start), tc.lim.Time)
			}
			if res.Stop != tc.stop || (tc.calls >= 0 && res.ToolCalls != tc.calls) {
				t.Errorf("stop %s after %d tool calls, want %s after %d; answer %q", res.Stop, res.ToolCalls, tc.stop, tc.calls, res.Answer)
			}
			if res.Grounded != (tc.stop == ask.StopAnswered) || res.Model != "gemini-test-flash" || res.AsOf != "2026-11-30T11:59:00Z" {
				t.Errorf("grounded %v model %q as_of %q", res.Grounded, res.Model, res.AsOf)
			}
			var ids []string
			for _, f := range res.Facts {
				ids = append(ids, f.Widget)
				if f.Dataset != "v1" || !strings.HasPrefix(f.Link, "/widgets/"+f.Widget) {
					t.Errorf("fact %+v", f)
				}
				if want := jsonAPI(t, ds, f.Widget, f.Filters); !reflect.DeepEqual(f.Value, want) {
					t.Errorf("fact %s %v differs from the JSON API", f.Widget, f.Filters)
				}
			}
			if tc.stop != ask.StopTime && !slices.Equal(ids, tc.facts) || tc.stop == ask.StopTime && len(ids) == 0 {
				t.Errorf("facts %v, want %v", ids, tc.facts)
			}
			for _, s := range tc.contains {
				if !strings.Contains(res.Answer, s) {
					t.Errorf("answer %q does not contain %q", res.Answer, s)
				}
			}
			reqs := fake.Requests()
			if len(reqs) != res.Steps {
				t.Errorf("%d requests for %d steps", len(reqs), res.Steps)
			}
			for _, r := range reqs {
				for _, leak := range []string{"Customer problem", "customer text", "Thanks"} {
					if strings.Contains(r.Raw, leak) {
						t.Fatalf("customer text %q reached the model", leak)
					}
				}
				if len(r.Tools) != 1 || len(r.Tools[0].FunctionDeclarations) != len(widgets.All) || r.SystemInstruction == nil {
					t.Fatalf("request without the tools or the instruction: %s", r.Raw[:200])
				}
			}
			if tc.check != nil {
				tc.check(t, reqs)
			}
		})
	}
}

func TestModelErrors(t *testing.T) {
	ds := dataset(t)
	if _, err := ask.NewGemini(context.Background(), ask.Settings{Model: "x"}); !errors.Is(err, ask.ErrNotConfigured) {
		t.Errorf("no credentials: %v", err)
	}
	m, _ := model(t, func(int, *geminifake.Request) geminifake.Turn { return geminifake.Turn{Status: 429} })
	if _, err := ask.Run(context.Background(), m, ds, "q", ask.Limits{}, end); !errors.Is(err, ask.ErrModel) || !strings.Contains(err.Error(), "429") {
		t.Errorf("a model error before any tool: %v", err)
	}
	m, _ = model(t, func(step int, _ *geminifake.Request) geminifake.Turn {
		if step == 0 {
			return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-volume"}}}
		}
		return geminifake.Turn{Status: 503}
	})
	res, err := ask.Run(context.Background(), m, ds, "q", ask.Limits{}, end)
	if err != nil || res.Stop != ask.StopModel || len(res.Facts) != 1 || !strings.Contains(res.Answer, "Chat volume (from 2026-11-01, to 2026-11-30): by_day: 30 rows") {
		t.Errorf("a model error after a tool: %v %+v", err, res)
	}
	bad, err := ask.NewGemini(context.Background(), ask.Settings{APIKey: "wrong", BaseURL: geminifake.New(apiKey, nil).URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ask.Run(context.Background(), bad, ds, "q", ask.Limits{}, end); !errors.Is(err, ask.ErrModel) || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong key: %v", err)
	}
}
