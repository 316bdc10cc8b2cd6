package devstack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
)

// get fetches a widgetapi path with the admin key (or none) and decodes the JSON body.
func get(t *testing.T, s *Stack, path string, admin bool, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.WidgetsURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+string(s.AdminKey()))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
	} else if resp.StatusCode != http.StatusOK {
		t.Logf("%s: %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// TestWidgetsMatchTheSheet runs the whole chain on the emulators: sync tickets and chats,
// publish (triggered by runs-completed through its push subscription), then widgetapi's
// numbers against counts taken from the sheet itself; then a person's edit in the sheet and
// an incremental sync change the numbers.
func TestWidgetsMatchTheSheet(t *testing.T) {
	s := startStack(t, 400, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var last time.Time
	for _, src := range []batch.Source{batch.Tickets, batch.Chats} {
		sum, err := s.Sync(ctx, src, batch.Full, time.Minute)
		if err != nil {
			t.Fatalf("%s sync: %v", src, err)
		}
		if sum.Run.Finished.After(last) {
			last = sum.Run.Finished
		}
	}
	p, err := s.WaitPublished(ctx, last, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if p.AsOf.Before(last.Add(-time.Second)) || p.AsOf.After(p.ReadAt) {
		t.Errorf("as_of %v, want the last run's finish %v", p.AsOf, last)
	}

	hdr, tickets, _ := sheetRows(t, s, "Tickets")
	created, status, pipeline := col(t, hdr, "Created"), col(t, hdr, "Status"), col(t, hdr, "Pipeline")
	loc := time.Now().Location()
	if l, err := time.LoadLocation("America/Halifax"); err == nil {
		loc = l
	}
	to := time.Now().In(loc)
	from := to.AddDate(0, 0, -399)
	rng := "?from=" + from.Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly)
	inRange := func(dt string) bool {
		d := dt
		if len(d) >= 10 {
			d = d[:10]
		}
		return d >= from.Format(time.DateOnly) && d <= to.Format(time.DateOnly)
	}
	wantCreated, wantOpen := 0, 0
	byPipeline := map[string]int{}
	for _, r := range tickets {
		if inRange(cell(r, created)) {
			wantCreated++
			byPipeline[cell(r, pipeline)]++
		}
		if cell(r, status) == "Open" {
			wantOpen++
		}
	}
	if wantCreated == 0 || wantOpen == 0 {
		t.Fatalf("sandbox sheet has %d tickets in range, %d open", wantCreated, wantOpen)
	}
	var tc struct {
		Dataset string `json:"dataset"`
		Value   struct {
			Total int `json:"total"`
			ByDay []struct {
				ByPipeline map[string]int `json:"by_pipeline"`
			} `json:"by_day"`
		} `json:"value"`
	}
	if code := get(t, s, "/api/v1/widgets/tickets-created"+rng, true, &tc); code != 200 {
		t.Fatalf("tickets-created: %d", code)
	}
	if tc.Value.Total != wantCreated || tc.Dataset != p.Version {
		t.Errorf("tickets-created total %d (dataset %s), the sheet has %d (dataset %s)", tc.Value.Total, tc.Dataset, wantCreated, p.Version)
	}
	gotPipe := map[string]int{}
	for _, d := range tc.Value.ByDay {
		for k, n := range d.ByPipeline {
			gotPipe[k] += n
		}
	}
	for k, n := range byPipeline {
		if gotPipe[k] != n {
			t.Errorf("pipeline %q: %d, the sheet has %d", k, gotPipe[k], n)
		}
	}
	var backlog struct {
		Value struct{ Total int } `json:"value"`
	}
	get(t, s, "/api/v1/widgets/ticket-backlog", true, &backlog)
	if backlog.Value.Total != wantOpen {
		t.Errorf("backlog %d, the sheet has %d open tickets", backlog.Value.Total, wantOpen)
	}

	chdr, chats, _ := sheetRows(t, s, "Chats")
	started, handled := col(t, chdr, "Started"), col(t, chdr, "Handled By")
	wantHandled := map[string]int{}
	wantChats := 0
	for _, r := range chats {
		if inRange(cell(r, started)) {
			wantChats++
			wantHandled[cell(r, handled)]++
		}
	}
	var cv struct {
		Value struct {
			Total       int            `json:"total"`
			ByHandledBy map[string]int `json:"by_handled_by"`
		} `json:"value"`
	}
	get(t, s, "/api/v1/widgets/chat-volume"+rng, true, &cv)
	if cv.Value.Total != wantChats || wantChats == 0 {
		t.Errorf("chat-volume %d, the sheet has %d", cv.Value.Total, wantChats)
	}
	for k, n := range wantHandled {
		if cv.Value.ByHandledBy[k] != n {
			t.Errorf("handled by %q: %d, the sheet has %d", k, cv.Value.ByHandledBy[k], n)
		}
	}

	// A signed URL works without the admin key; the status is reachable with it.
	u, err := s.MintURL(ctx, "chat-csat", map[string]string{"from": from.Format(time.DateOnly)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if code := get(t, s, strings.TrimPrefix(u, s.WidgetsURL()), false, nil); code != 200 {
		t.Errorf("signed URL: %d", code)
	}
	var st struct{ Overall string }
	if code := get(t, s, "/api/v1/status", true, &st); code != 200 || st.Overall != "ok" {
		t.Errorf("status %d %q", code, st.Overall)
	}

	// A person renames a pipeline in five rows; the next run's publish shows it.
	letter := string(rune('A' + pipeline))
	for row := 2; row <= 6; row++ {
		if err := s.Sandbox.Sheets.SetCell(s.Env["SPREADSHEET_ID"], "Tickets", letter+strconv.Itoa(row), "Renamed by hand"); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := s.Sync(ctx, batch.Chats, batch.Incremental, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitPublished(ctx, sum.Run.Finished, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	var renamed struct {
		Value struct{ Total int } `json:"value"`
	}
	wantRenamed := 0
	_, tickets2, _ := sheetRows(t, s, "Tickets")
	for _, r := range tickets2 {
		if cell(r, pipeline) == "Renamed by hand" && inRange(cell(r, created)) {
			wantRenamed++
		}
	}
	// widgetapi checks the version at most every WIDGETAPI_REFRESH_SECONDS (5 s).
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		get(t, s, "/api/v1/widgets/tickets-created"+rng+"&pipeline=Renamed+by+hand", true, &renamed)
		if renamed.Value.Total == wantRenamed {
			break
		}
	}
	if renamed.Value.Total != wantRenamed || wantRenamed == 0 {
		t.Errorf("renamed pipeline: %d tickets, the sheet has %d", renamed.Value.Total, wantRenamed)
	}
}
