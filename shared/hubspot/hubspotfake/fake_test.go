package hubspotfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
)

var now = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

func TestFixture(t *testing.T) {
	a := hubspotfake.Fixture(42, 3000, now)
	if diff := cmp.Diff(a, hubspotfake.Fixture(42, 3000, now)); diff != "" {
		t.Fatalf("not deterministic:\n%.1000s", diff)
	}
	if diff := cmp.Diff(a, hubspotfake.Fixture(43, 3000, now)); diff == "" {
		t.Error("another seed gives the same tickets")
	}
	owners := map[string]hubspot.Owner{}
	for _, o := range a.Owners {
		owners[o.ID] = o
	}
	if len(a.Owners) != 14 || len(a.Pipelines) != 3 || owners[hubspotfake.ManagerOwnerID].Email != "richie.rich@example.com" {
		t.Errorf("account: %d owners, %d pipelines, manager %+v", len(a.Owners), len(a.Pipelines), owners[hubspotfake.ManagerOwnerID])
	}
	closed := 0
	for i, tk := range a.Tickets {
		if i > 0 && tk.ID <= a.Tickets[i-1].ID {
			t.Fatalf("ids not ascending: %s after %s", tk.ID, a.Tickets[i-1].ID)
		}
		for _, k := range hubspot.TicketProperties {
			if _, ok := tk.Properties[k]; !ok {
				t.Fatalf("ticket %s lacks %s", tk.ID, k)
			}
		}
		if tk.CreatedAt.Before(now.Add(-400*24*time.Hour)) || tk.UpdatedAt.Before(tk.CreatedAt) || !tk.UpdatedAt.Before(now) ||
			tk.Prop("hs_lastmodifieddate") != tk.UpdatedAt.Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("ticket %s times out of range: %v %v", tk.ID, tk.CreatedAt, tk.UpdatedAt)
		}
		if o := owners[tk.Prop("hubspot_owner_id")]; o.Type != "PERSON" || o.Archived {
			t.Fatalf("ticket %s owned by %+v", tk.ID, o)
		}
		if tk.Prop("closed_date") != "" {
			closed++
		}
	}
	if closed < 2700 || closed == len(a.Tickets) {
		t.Errorf("%d of %d tickets closed, want those older than two weeks", closed, len(a.Tickets))
	}
}

func post(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func TestSearchWire(t *testing.T) {
	ds := hubspotfake.Fixture(3, 2000, now)
	ts := hubspotfake.NewTestServer(ds, hubspotfake.WithPrefix("/api"))
	defer ts.Close()
	mid := ds.Tickets[1000]
	ms := hubspot.Millis(mid.UpdatedAt)
	cms := hubspot.Millis(mid.CreatedAt)
	count := func(f func(hubspot.Ticket) bool) int {
		n := 0
		for _, tk := range ds.Tickets {
			if f(tk) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name   string
		filter hubspot.Filter
		want   int
	}{
		{"EQ", hubspot.Filter{PropertyName: "hs_lastmodifieddate", Operator: "EQ", Value: ms}, count(func(tk hubspot.Ticket) bool { return tk.UpdatedAt.Equal(mid.UpdatedAt) })},
		{"GT", hubspot.Filter{PropertyName: "hs_lastmodifieddate", Operator: "GT", Value: ms}, count(func(tk hubspot.Ticket) bool { return tk.UpdatedAt.After(mid.UpdatedAt) })},
		{"LTE", hubspot.Filter{PropertyName: "createdate", Operator: "LTE", Value: cms}, count(func(tk hubspot.Ticket) bool { return !tk.CreatedAt.After(mid.CreatedAt) })},
		{"BETWEEN", hubspot.Filter{PropertyName: "createdate", Operator: "BETWEEN", Value: hubspot.Millis(now.Add(-100 * 24 * time.Hour)), HighValue: cms},
			count(func(tk hubspot.Ticket) bool {
				return !tk.CreatedAt.Before(now.Add(-100*24*time.Hour)) && !tk.CreatedAt.After(mid.CreatedAt)
			})},
		{"ISO value", hubspot.Filter{PropertyName: "createdate", Operator: "GTE", Value: mid.CreatedAt.Format(time.RFC3339Nano)}, count(func(tk hubspot.Ticket) bool { return !tk.CreatedAt.Before(mid.CreatedAt) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := post(t, ts.URL+hubspot.PathTicketsSearch, hubspotfake.DefaultToken, hubspot.SearchRequest{
				FilterGroups: []hubspot.FilterGroup{{Filters: []hubspot.Filter{tt.filter}}}, Limit: 1})
			if status != 200 || int(out["total"].(float64)) != tt.want {
				t.Errorf("status %d total %v, want %d", status, out["total"], tt.want)
			}
		})
	}
	status, out := post(t, ts.URL+hubspot.PathTicketsSearch, hubspotfake.DefaultToken, hubspot.SearchRequest{Limit: 200, After: "9900"})
	if status != 400 || out["category"] != "VALIDATION_ERROR" {
		t.Errorf("past the cap: %d %v", status, out)
	}
	status, out = post(t, ts.URL+hubspot.PathTicketsSearch, "wrong", hubspot.SearchRequest{})
	if status != 401 || out["category"] != "INVALID_AUTHENTICATION" || out["correlationId"] == "" {
		t.Errorf("bad token: %d %v", status, out)
	}
}

func TestLargeDatasetFast(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	start := time.Now()
	ds := hubspotfake.Fixture(9, 100_000, now)
	gen := time.Since(start)
	ts := hubspotfake.NewTestServer(ds)
	defer ts.Close()
	c, _ := hubspot.NewClient(hubspot.WithBaseURL(ts.URL), hubspot.WithToken(hubspotfake.DefaultToken), hubspot.WithLimits(0, 0))
	start = time.Now()
	p, err := c.SearchTickets(t.Context(), hubspot.SearchQuery{ModifiedFrom: now.Add(-30 * 24 * time.Hour), ModifiedTo: now})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if p, err = c.SearchTickets(t.Context(), hubspot.SearchQuery{ModifiedFrom: now.Add(-30 * 24 * time.Hour), ModifiedTo: now, After: p.Next}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("fixture 100k: %s; 6 search pages: %s (total %d)", gen, time.Since(start), p.Total)
	if gen > 5*time.Second {
		t.Errorf("Fixture too slow: %s", gen)
	}
}
