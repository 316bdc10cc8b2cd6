package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/ask/geminifake"
	"supportsync.dev/shared/batch"
)

// TestAskUsesTheConfiguredModel: with GEMINI_API_KEY and ASK_MODEL_BASE_URL in the
// environment, devstack's widgetapi answers POST /api/v1/ask with that model (here a local
// server speaking the Gemini REST wire format), from the data the sync published.
func TestAskUsesTheConfiguredModel(t *testing.T) {
	fake := geminifake.New("devstack-key", func(step int, req *geminifake.Request) geminifake.Turn {
		if step == 0 {
			return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "ticket-backlog"}}}
		}
		total := req.Responses()[0].Response["value"].(map[string]any)["total"].(float64)
		return geminifake.Turn{Text: fmt.Sprintf("%.0f tickets are open.", total)}
	})
	defer fake.Close()
	s := startStack(t, 200, map[string]string{"GEMINI_API_KEY": "devstack-key", "ASK_MODEL_BASE_URL": fake.URL, "ASK_MODEL": "gemini-sandbox"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := s.AskStatus(ctx)
	if err != nil || !st.Enabled || st.Model != "gemini-sandbox" {
		t.Fatalf("ask status %+v %v", st, err)
	}
	sum, err := s.Sync(ctx, batch.Tickets, batch.Full, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitPublished(ctx, sum.Run.Finished, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	var backlog struct {
		Value struct{ Total int } `json:"value"`
	}
	get(t, s, "/api/v1/widgets/ticket-backlog", true, &backlog)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.WidgetsURL()+"/api/v1/ask", strings.NewReader(`{"question": "How many tickets are open?"}`))
	req.Header.Set("Authorization", "Bearer "+string(s.AdminKey()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var res struct {
		Answer   string
		Grounded bool
		Model    string
	}
	json.Unmarshal(b, &res)
	if resp.StatusCode != 200 || !res.Grounded || res.Model != "gemini-sandbox" || res.Answer != fmt.Sprintf("%d tickets are open.", backlog.Value.Total) {
		t.Fatalf("%d %s (backlog %d)", resp.StatusCode, b, backlog.Value.Total)
	}
	if len(fake.Requests()) != 2 {
		t.Errorf("%d model calls, want 2", len(fake.Requests()))
	}
}
