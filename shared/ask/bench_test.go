package ask_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"supportsync.dev/shared/ask"
	"supportsync.dev/shared/ask/geminifake"
	"supportsync.dev/shared/widgets/widgetstest"
)

// scriptedSet is the benchmark's questions: the model turns of a typical set (one call; three
// calls over two turns; bad arguments then a fix; an invented number; a loop that never ends).
func scriptedSet() map[string]geminifake.Script {
	oct := map[string]any{"from": "2026-10-01", "to": "2026-10-31"}
	sep := map[string]any{"from": "2026-09-01", "to": "2026-09-30"}
	num := func(req *geminifake.Request, i int, key string) float64 {
		return req.Responses()[i].Response["value"].(map[string]any)[key].(float64)
	}
	return map[string]geminifake.Script{
		"one-call": func(step int, req *geminifake.Request) geminifake.Turn {
			if step == 0 {
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "tickets-created", Args: oct}}}
			}
			return geminifake.Turn{Text: fmt.Sprintf("%.0f tickets were created from 2026-10-01 to 2026-10-31.", num(req, 0, "total"))}
		},
		"several": func(step int, req *geminifake.Request) geminifake.Turn {
			switch step {
			case 0:
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "ticket-time-to-close", Args: oct}, {Name: "ticket-time-to-close", Args: sep}}}
			case 1:
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "agent-leaderboard", Args: oct}}}
			}
			return geminifake.Turn{Text: "The leaderboard and both months' time to close are in the facts."}
		},
		"bad-args": func(step int, req *geminifake.Request) geminifake.Turn {
			switch step {
			case 0:
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-missed", Args: map[string]any{"from": "October"}}}}
			case 1:
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-missed", Args: oct}}}
			}
			return geminifake.Turn{Text: fmt.Sprintf("%.0f chats were missed.", num(req, 0, "missed"))}
		},
		"invented": func(step int, req *geminifake.Request) geminifake.Turn {
			if step == 0 {
				return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-csat", Args: oct}}}
			}
			return geminifake.Turn{Text: "CSAT rose 4.2 points to 97.3%."}
		},
		"endless": func(step int, req *geminifake.Request) geminifake.Turn {
			return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "load-heatmap", Args: map[string]any{"to": fmt.Sprintf("2026-11-%02d", step+1)}}}}
		},
	}
}

// BenchmarkQuestion answers each scripted question over a year of 50,000 tickets and 100,000
// chats with the real Gemini client against the local fake, and reports the server-side
// overhead per question (wall time less the time the fake spent answering: building the
// requests, the HTTP round trips on loopback, running the tools, the number check), the part
// of it spent in the tools (the widgets' own computation, as for the JSON API), the tool
// calls and the model calls per question.
func BenchmarkQuestion(b *testing.B) {
	ds, err := widgetstest.Dataset(50_000, 100_000, end, halifax, 3)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"one-call", "several", "bad-args", "invented", "endless"} {
		b.Run(name, func(b *testing.B) {
			m, fake := model(b, scriptedSet()[name])
			var calls, steps int
			var tools time.Duration
			var stop ask.Stop
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				res, err := ask.Run(context.Background(), m, ds, "How did October go?", ask.Limits{}, end)
				if err != nil {
					b.Fatal(err)
				}
				calls, steps, stop, tools = calls+res.ToolCalls, steps+res.Steps, res.Stop, tools+res.ToolTime
			}
			total := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64((total-fake.Busy()).Microseconds())/1000/float64(b.N), "overhead-ms/question")
			b.ReportMetric(float64(tools.Microseconds())/1000/float64(b.N), "tools-ms/question")
			b.ReportMetric(float64(calls)/float64(b.N), "tool-calls/question")
			b.ReportMetric(float64(steps)/float64(b.N), "model-calls/question")
			b.Logf("%s: stop %s", name, stop)
		})
	}
}
