package hubspot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
)

var now = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

const prefix = "/hubspot-api/v"

// setup starts the fake under a non-empty prefix and a client pointed at it, with limits
// off and short retry waits unless opts say otherwise.
func setup(t *testing.T, ds *hubspotfake.Dataset, fopts []hubspotfake.Option, copts ...hubspot.Option) (*hubspot.Client, *hubspotfake.TestServer) {
	t.Helper()
	fopts = append([]hubspotfake.Option{hubspotfake.WithPrefix(prefix)}, fopts...)
	ts := hubspotfake.NewTestServer(ds, fopts...)
	t.Cleanup(ts.Close)
	opts := append([]hubspot.Option{
		hubspot.WithBaseURL(ts.URL), hubspot.WithToken(hubspotfake.DefaultToken),
		hubspot.WithLimits(0, 0), hubspot.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}),
	}, copts...)
	c, err := hubspot.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	hubspot.SetRetryWaits(c, 5*time.Millisecond, 20*time.Millisecond)
	return c, ts
}

func ids(ts []hubspot.Ticket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func TestListTicketsPaging(t *testing.T) {
	ds := hubspotfake.Fixture(1, 250, now)
	c, ts := setup(t, ds, nil)
	ctx := context.Background()
	var got []hubspot.Ticket
	after := ""
	for {
		p, err := c.ListTickets(ctx, hubspot.ListQuery{After: after})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Tickets...)
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if diff := cmp.Diff(ids(ds.Tickets), ids(got)); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if n := ts.Requests(hubspotfake.EndpointList); n != 3 {
		t.Errorf("list requests = %d, want 3", n)
	}
	for _, k := range hubspot.TicketProperties {
		if _, ok := got[0].Properties[k]; !ok {
			t.Errorf("property %s missing", k)
		}
	}
	// Archived tickets only with archived=true.
	if err := ts.Archive(ds.Tickets[0].ID, now); err != nil {
		t.Fatal(err)
	}
	p, err := c.ListTickets(ctx, hubspot.ListQuery{Archived: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tickets) != 1 || p.Tickets[0].ID != ds.Tickets[0].ID || !p.Tickets[0].Archived || p.Tickets[0].ArchivedAt == nil {
		t.Errorf("archived list = %+v", p.Tickets)
	}
}

func TestWrongBasePathFails(t *testing.T) {
	_, ts := setup(t, hubspotfake.Fixture(1, 5, now), nil)
	c, err := hubspot.NewClient(hubspot.WithBaseURL(ts.HTTP.URL), hubspot.WithToken(hubspotfake.DefaultToken))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pipelines(context.Background())
	var ae *hubspot.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Fatalf("err = %v, want a 404 APIError", err)
	}
}

func TestSearchTicketsWindow(t *testing.T) {
	ds := hubspotfake.Fixture(3, 3000, now)
	c, _ := setup(t, ds, nil)
	from, to := now.Add(-60*24*time.Hour), now.Add(-30*24*time.Hour)
	var want []string
	for _, tk := range ds.Tickets {
		if !tk.UpdatedAt.Before(from) && tk.UpdatedAt.Before(to) {
			want = append(want, tk.ID)
		}
	}
	var got []hubspot.Ticket
	q := hubspot.SearchQuery{ModifiedFrom: from, ModifiedTo: to}
	for {
		p, err := c.SearchTickets(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != len(want) {
			t.Fatalf("total = %d, want %d", p.Total, len(want))
		}
		got = append(got, p.Tickets...)
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	if !slices.IsSortedFunc(got, func(a, b hubspot.Ticket) int { return a.UpdatedAt.Compare(b.UpdatedAt) }) {
		t.Error("search results not sorted by modified time")
	}
	g := ids(got)
	slices.Sort(g)
	slices.Sort(want)
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

// drain runs a cursor to the end, round-tripping it through JSON between pages as a
// checkpointing caller would.
func drain(t *testing.T, c *hubspot.Client, cur hubspot.Cursor) ([]hubspot.Ticket, hubspot.Cursor) {
	t.Helper()
	var all []hubspot.Ticket
	for i := 0; ; i++ {
		if i > 5000 {
			t.Fatal("cursor does not end")
		}
		tks, next, done, err := c.Next(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, tks...)
		b, err := json.Marshal(next)
		if err != nil {
			t.Fatal(err)
		}
		var back hubspot.Cursor
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		cur = back
		if done {
			return all, cur
		}
	}
}

func TestIncrementalCursorPastSearchCap(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		sameTime int // tickets moved to one shared modified time inside the window
	}{
		{"distinct times over 10k", 14000, 0},
		{"10,500 share one time", 14000, 10500},
		{"boundary inside a shared time", 12000, 600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := hubspotfake.Fixture(7, tt.n, now)
			c, ts := setup(t, ds, nil)
			from, to := now.Add(-500*24*time.Hour), now.Add(-time.Hour)
			if tt.sameTime > 0 {
				all := ts.IDs(false, nil)
				// Spread the chosen ids through the id space so some sit before, some after.
				var pick []string
				for i := 0; i < len(all) && len(pick) < tt.sameTime; i += len(all) / tt.sameTime {
					pick = append(pick, all[i])
				}
				for i := 1; len(pick) < tt.sameTime; i += 2 {
					if !slices.Contains(pick, all[i]) {
						pick = append(pick, all[i])
					}
				}
				at := now.Add(-10 * 24 * time.Hour)
				if tt.sameTime < 1000 {
					at = now.Add(-200 * 24 * time.Hour) // near a slice boundary of the sorted window
				}
				if err := ts.UpdateMany(pick, nil, at); err != nil {
					t.Fatal(err)
				}
			}
			want := ts.IDs(false, func(tk hubspot.Ticket) bool { return !tk.UpdatedAt.Before(from) && tk.UpdatedAt.Before(to) })
			if len(want) <= hubspot.SearchCap {
				t.Fatalf("window holds %d tickets, want > 10,000", len(want))
			}
			got, cur := drain(t, c, hubspot.NewIncrementalCursor(from, to))
			g := ids(got)
			slices.Sort(g)
			if dup := len(g) - len(slices.Compact(slices.Clone(g))); dup != 0 {
				t.Errorf("%d duplicate tickets", dup)
			}
			if diff := cmp.Diff(want, slices.Compact(g)); diff != "" {
				t.Errorf("ids (-want +got):\n%.2000s", diff)
			}
			if cur.Restarts == 0 {
				t.Error("expected at least one restart at the 10,000 cap")
			}
			if cur.Fetched != len(got) || cur.Total != len(want) {
				t.Errorf("cursor fetched=%d total=%d, want %d and %d", cur.Fetched, cur.Total, len(got), len(want))
			}
			t.Logf("%d tickets in %d search requests, %d restarts", len(got), ts.Requests(hubspotfake.EndpointSearch), cur.Restarts)
		})
	}
}

func TestIncrementalCursorRecoversFromCap400(t *testing.T) {
	// A custom server: page size forced to 200 but HubSpot refuses offset 400 (as if the cap
	// were lower), so the cursor must restart from its boundary instead of failing.
	ds := hubspotfake.Fixture(11, 900, now)
	fake := hubspotfake.New(ds, hubspotfake.WithToken(""))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/search") {
			b, _ := io.ReadAll(r.Body)
			var req hubspot.SearchRequest
			json.Unmarshal(b, &req)
			if req.After == "400" {
				w.WriteHeader(400)
				io.WriteString(w, `{"status":"error","category":"VALIDATION_ERROR","message":"paging past the limit","correlationId":"x"}`)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, _ := hubspot.NewClient(hubspot.WithBaseURL(srv.URL), hubspot.WithLimits(0, 0))
	from, to := now.Add(-500*24*time.Hour), now
	got, _ := drain(t, c, hubspot.NewIncrementalCursor(from, to))
	g := ids(got)
	slices.Sort(g)
	if diff := cmp.Diff(ids(ds.Tickets), slices.Compact(g)); diff != "" {
		t.Errorf("ids (-want +got):\n%.2000s", diff)
	}
	if len(g) != len(ds.Tickets) {
		t.Errorf("got %d tickets with duplicates, want %d", len(g), len(ds.Tickets))
	}
}

func TestFullCursor(t *testing.T) {
	ds := hubspotfake.Fixture(5, 1234, now)
	c, ts := setup(t, ds, nil)
	createdFrom := now.Add(-200 * 24 * time.Hour)
	var want []string
	for _, tk := range ds.Tickets {
		if !tk.CreatedAt.Before(createdFrom) {
			want = append(want, tk.ID)
		}
	}
	cur := hubspot.NewFullCursor(createdFrom)
	// Stop after three pages, checkpoint, resume with a fresh client.
	var got []hubspot.Ticket
	for range 3 {
		tks, next, _, err := c.Next(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		got, cur = append(got, tks...), next
	}
	b, _ := json.Marshal(cur)
	var resumed hubspot.Cursor
	if err := json.Unmarshal(b, &resumed); err != nil {
		t.Fatal(err)
	}
	c2, _ := hubspot.NewClient(hubspot.WithBaseURL(ts.URL), hubspot.WithToken(hubspotfake.DefaultToken), hubspot.WithLimits(0, 0))
	rest, _ := drain(t, c2, resumed)
	got = append(got, rest...)
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("ids (-want +got):\n%.2000s", diff)
	}
	if n := ts.Requests(hubspotfake.EndpointList); n != 13 {
		t.Errorf("list requests = %d, want 13", n)
	}
}

func TestNextStopsOnlyWithoutPagingNext(t *testing.T) {
	page := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page++
		switch page {
		case 1: // empty page that still has a next link, after as a number
			io.WriteString(w, `{"results":[],"paging":{"next":{"after":7}}}`)
		case 2:
			io.WriteString(w, `{"results":[{"id":"8","properties":{"createdate":"2026-01-01T00:00:00Z","hs_lastmodifieddate":null},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-02T00:00:00Z","archived":false}],"paging":{"next":{"after":"9"}}}`)
		default:
			io.WriteString(w, `{"results":[{"id":"9","properties":{},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-03T00:00:00Z","archived":false}]}`)
		}
	}))
	defer srv.Close()
	c, _ := hubspot.NewClient(hubspot.WithBaseURL(srv.URL+"/x"), hubspot.WithLimits(0, 0))
	got, cur := drain(t, c, hubspot.NewFullCursor(time.Time{}))
	if diff := cmp.Diff([]string{"8", "9"}, ids(got)); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if cur.Pages != 3 {
		t.Errorf("cursor = %+v", cur)
	}
}

func TestOwnersActiveAndArchived(t *testing.T) {
	ds := hubspotfake.Fixture(1, 10, now)
	c, ts := setup(t, ds, nil)
	got, err := c.Owners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ds.Owners, got); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
	var archived int
	for _, o := range got {
		if o.Archived {
			archived++
		}
	}
	if len(got) != 14 || archived != 2 {
		t.Errorf("%d owners, %d archived; want 14 and 2", len(got), archived)
	}
	// Paging: 250 active + 120 archived owners.
	var many []hubspot.Owner
	for i := range 370 {
		many = append(many, hubspot.Owner{ID: itoa(7000000 + i), Type: "PERSON", Archived: i >= 250})
	}
	ts.SetOwners(many)
	got, err = c.Owners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(many, got); diff != "" {
		t.Errorf("paged owners (-want +got):\n%.1000s", diff)
	}
	// 3 active pages + 2 archived pages, plus the first call's 2.
	if n := ts.Requests(hubspotfake.EndpointOwners); n != 7 {
		t.Errorf("owner requests = %d, want 7", n)
	}
	if err := c.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestPipelines(t *testing.T) {
	ds := hubspotfake.Fixture(1, 10, now)
	c, _ := setup(t, ds, nil)
	got, err := c.Pipelines(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ds.Pipelines, got); diff != "" {
		t.Errorf("pipelines (-want +got):\n%s", diff)
	}
	if len(got) < 2 || len(got) > 3 {
		t.Errorf("%d pipelines", len(got))
	}
	for _, p := range got {
		if len(p.Stages) < 4 || len(p.Stages) > 6 {
			t.Errorf("pipeline %s has %d stages", p.ID, len(p.Stages))
		}
	}
}
