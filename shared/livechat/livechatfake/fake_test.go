package livechatfake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/livechat/livechatfake"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func TestGenerateIsDeterministicAndVaried(t *testing.T) {
	a := livechatfake.Generate(42, 2000, now).Chats()
	b := livechatfake.Generate(42, 2000, now).Chats()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different datasets")
	}
	var offsets, notes, files, rich, rated, tagged, multi, restricted, transfers, hiddenBot int
	chats := map[string]int{}
	oldest := now
	for _, c := range a {
		chats[c.ID]++
		ct, err := livechat.ParseTime(c.Thread.CreatedAt)
		if err != nil {
			t.Fatal(err)
		}
		if ct.Before(oldest) {
			oldest = ct
		}
		if !strings.HasSuffix(c.Thread.CreatedAt, "Z") {
			offsets++
		}
		if c.Thread.Properties.Rating != nil {
			rated++
		}
		if len(c.Thread.Tags) > 0 {
			tagged++
		}
		if c.Thread.RestrictedAccess != nil {
			restricted++
		}
		for _, e := range c.Thread.Events {
			switch {
			case e.Visibility == livechat.VisibilityAgents:
				notes++
			case e.Type == livechat.EventFile:
				files++
			case e.Type == livechat.EventRichMessage:
				rich++
			case e.SystemMessageType == livechat.SystemChatTransferred:
				transfers++
			}
			if e.AuthorID == livechatfake.AgentScrapeID {
				hiddenBot++
			}
		}
	}
	for _, n := range chats {
		if n > 1 {
			multi++
		}
	}
	for name, n := range map[string]int{"offsets": offsets, "notes": notes, "files": files, "rich": rich, "rated": rated,
		"tagged": tagged, "multi-thread chats": multi, "restricted": restricted, "transfers": transfers, "hidden bot": hiddenBot} {
		if n == 0 {
			t.Errorf("no %s in 2000 threads", name)
		}
	}
	if now.Sub(oldest) < 300*24*time.Hour {
		t.Errorf("oldest thread %v is too recent", oldest)
	}
}

func post(t *testing.T, h http.Handler, action, body string, auth bool) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v3.5/"+action, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.SetBasicAuth("acct", "pat")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestServerWireFormat(t *testing.T) {
	s := livechatfake.New(livechatfake.Generate(1, 30, now), livechatfake.WithCredentials("acct", "pat"))
	if w := post(t, s, "agent/action/list_archives", `{}`, false); w.Code != 401 || !strings.Contains(w.Body.String(), `"authentication"`) {
		t.Errorf("no auth: %d %s", w.Code, w.Body)
	}
	w := post(t, s, "agent/action/list_archives", `{"filters":{"from":"2020-01-01T00:00:00.000000+00:00"},"sort_order":"asc","limit":20}`, true)
	var page struct {
		Chats      []livechat.Chat `json:"chats"`
		Found      int             `json:"found_chats"`
		NextPageID string          `json:"next_page_id"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || len(page.Chats) != 20 || page.Found != 30 || page.NextPageID == "" {
		t.Fatalf("first page: %d %v %d %q", w.Code, err, page.Found, page.NextPageID)
	}
	if w.Header().Get("Legacy") == "" {
		t.Error("no Legacy header")
	}
	if w := post(t, s, "agent/action/list_archives", `{"page_id":"`+page.NextPageID+`","limit":20}`, true); w.Code != 400 || !strings.Contains(w.Body.String(), `"validation"`) {
		t.Errorf("page_id with limit: %d %s", w.Code, w.Body)
	}
	w = post(t, s, "agent/action/list_archives", `{"page_id":"`+page.NextPageID+`"}`, true)
	var page2 struct {
		Chats      []livechat.Chat `json:"chats"`
		NextPageID *string         `json:"next_page_id"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &page2); err != nil || len(page2.Chats) != 10 || page2.NextPageID != nil {
		t.Fatalf("last page: %d %v %v", len(page2.Chats), err, page2.NextPageID)
	}
	var bots []livechat.Bot
	_ = json.Unmarshal(post(t, s, "configuration/action/list_bots", `{}`, true).Body.Bytes(), &bots)
	if len(bots) != 1 {
		t.Errorf("list_bots without all: %d bots, want 1", len(bots))
	}
	_ = json.Unmarshal(post(t, s, "configuration/action/list_bots", `{"all":true}`, true).Body.Bytes(), &bots)
	if len(bots) != 2 {
		t.Errorf("list_bots all:true: %d bots, want 2", len(bots))
	}
	if s.Requests("list_archives") != 4 || s.Requests("") != 6 {
		t.Errorf("counters: %d %d", s.Requests("list_archives"), s.Requests(""))
	}
}

func TestServerRateLimit(t *testing.T) {
	s := livechatfake.New(livechatfake.Generate(1, 5, now), livechatfake.WithRatePerMinute(3))
	codes := []int{}
	for range 4 {
		codes = append(codes, post(t, s, "configuration/action/list_groups", `{}`, true).Code)
	}
	if !reflect.DeepEqual(codes, []int{200, 200, 200, 429}) {
		t.Errorf("codes %v", codes)
	}
}

func TestMutations(t *testing.T) {
	ds := livechatfake.Generate(9, 10, now)
	c := ds.Chats()[3]
	c.Thread.ID, c.Thread.CreatedAt = "NEWTHREAD1", now.Add(-time.Minute).Format(time.RFC3339Nano)
	if err := ds.AddThread(c); err != nil {
		t.Fatal(err)
	}
	all := ds.Chats()
	if len(all) != 11 || all[10].Thread.ID != "NEWTHREAD1" {
		t.Fatalf("added thread not last: %d", len(all))
	}
	one := 1
	if !ds.SetRating("NEWTHREAD1", &one, "great", now) {
		t.Fatal("SetRating: not found")
	}
	got, _ := ds.Chat("NEWTHREAD1")
	if r := got.Thread.Properties.Rating; r == nil || *r.Score != 1 || r.Comment != "great" {
		t.Fatalf("rating %+v", r)
	}
}

// TestStreamLargeAccount reads a large account through the real client: 10,000 threads by
// default, 100,000 with LIVECHATFAKE_THREADS=100000 (about 20 s, most of it JSON decoding in
// the client).
func TestStreamLargeAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	threads := 10_000
	if v, err := strconv.Atoi(os.Getenv("LIVECHATFAKE_THREADS")); err == nil && v > 0 {
		threads = v
	}
	start := time.Now()
	ds := livechatfake.Generate(1, threads, now)
	ts := httptest.NewServer(livechatfake.New(ds, livechatfake.WithRatePerMinute(0)))
	defer ts.Close()
	c, err := livechat.NewClient(livechat.WithBaseURL(ts.URL), livechat.WithCredentials("a", "p"), livechat.WithRatePerMinute(0))
	if err != nil {
		t.Fatal(err)
	}
	cur := livechat.NewCursor(time.Time{}, now)
	n := 0
	for {
		chats, next, done, err := c.Next(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		n += len(chats)
		cur = next
		if done {
			break
		}
	}
	if n != threads || cur.Pages != (threads+99)/100 {
		t.Fatalf("%d threads in %d pages", n, cur.Pages)
	}
	t.Logf("%d threads in %v", threads, time.Since(start))
}

// BenchmarkListArchivesPage measures the fake alone serving 100-thread pages of a
// 100,000-thread account.
func BenchmarkListArchivesPage(b *testing.B) {
	ds := livechatfake.Generate(1, 100_000, now)
	s := livechatfake.New(ds, livechatfake.WithRatePerMinute(0), livechatfake.WithCredentials("acct", "pat"))
	b.ReportAllocs()
	pageID := ""
	for b.Loop() {
		body := `{"sort_order":"asc","limit":100}`
		if pageID != "" {
			body = `{"page_id":"` + pageID + `"}`
		}
		req := httptest.NewRequest(http.MethodPost, "/v3.5/agent/action/list_archives", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("acct", "pat")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		var page struct {
			NextPageID string `json:"next_page_id"`
		}
		if w.Code != 200 {
			b.Fatal(w.Body.String())
		}
		// Only the cursor is needed; find it at the end of the body.
		body = w.Body.String()
		if i := strings.LastIndex(body, `"next_page_id"`); i >= 0 {
			_ = json.Unmarshal([]byte("{"+body[i:]), &page)
		}
		pageID = page.NextPageID
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "threads/s")
}
