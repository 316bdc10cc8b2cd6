package widgetapi_test

import (
	"context"
	stdb64 "encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/state"
	"supportsync.dev/shared/widgetapi"
	"supportsync.dev/shared/widgetpage"
	"supportsync.dev/shared/widgets"
	"supportsync.dev/shared/widgets/widgetstest"
	"supportsync.dev/shared/widgetstore"
)

// staticDataset builds a dataset of n tickets and m chats ending now.
func staticDataset(t testing.TB, n, m int) staticSource {
	t.Helper()
	end := time.Now()
	tickets, chats := widgetstest.Rows(n, m, end, halifax, 7)
	b := widgets.NewBuilder("America/Halifax")
	for _, r := range tickets {
		b.AddTicket(r)
	}
	for _, r := range chats {
		b.AddChat(r)
	}
	ds, err := widgets.Load(b.Data(end), "pages")
	if err != nil {
		t.Fatal(err)
	}
	return staticSource{ds: ds, p: widgetstore.Pointer{Version: "pages", AsOf: end.Add(-time.Minute)}}
}

func basic(key string) map[string]string {
	return map[string]string{"Authorization": "Basic " + stdb64.StdEncoding.EncodeToString([]byte("lead:"+key))}
}

var (
	svgRe    = regexp.MustCompile(`(?s)<svg class="chart"[^>]*role="img"[^>]*aria-labelledby="([^" ]+) ([^"]+)"[^>]*><title id="([^"]+)">[^<]+</title><desc id="([^"]+)">[^<]+</desc>`)
	scriptRe = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	styleRe  = regexp.MustCompile(`(?i)\sstyle=`)
	titleRe  = regexp.MustCompile(`<title>([^<]+)</title>`)
	tableRe  = regexp.MustCompile(`(?s)<table>\s*<caption>[^<]+</caption>\s*<thead><tr>(<th scope="col">[^<]*</th>)+</tr></thead>`)
)

// htmlChecks are the HTML checks every widget page passes: a document title, a chart with
// role="img", a title and a description, a data table with a caption and column headers, and
// no script (inline or not, with or without a nonce) nor inline style.
func htmlChecks(t *testing.T, what, body string) {
	t.Helper()
	if m := titleRe.FindStringSubmatch(body); m == nil || strings.TrimSpace(m[1]) == "" {
		t.Errorf("%s: no document title", what)
	}
	m := svgRe.FindStringSubmatch(body)
	if m == nil || m[1] != m[3] || m[2] != m[4] {
		t.Errorf("%s: the chart has no role=img with a title and description it is labelled by", what)
	}
	if !tableRe.MatchString(body) {
		t.Errorf("%s: no data table with caption and column headers", what)
	}
	for _, s := range scriptRe.FindAllString(body, -1) {
		if !strings.Contains(s, "nonce=") {
			t.Errorf("%s: inline script without a nonce: %s", what, s)
		}
	}
	if styleRe.MatchString(body) {
		t.Errorf("%s: an inline style attribute (blocked by the CSP)", what)
	}
}

// TestWidgetPagesShowTheAPINumbers renders every widget page over 20,000 + 20,000 rows and
// checks the HTML, the headers and that the page's CSV carries exactly the JSON API's numbers.
func TestWidgetPagesShowTheAPINumbers(t *testing.T) {
	e := setup(t, staticDataset(t, 20_000, 20_000))
	admin := bearer(string(adminKey))
	for _, wd := range widgets.All {
		t.Run(wd.ID, func(t *testing.T) {
			q := "?agent=Alice"
			if wd.ID == "tickets-created" {
				q = "?from=2026-01-01&to=2026-12-31"
			}
			r := e.do(t, "GET", "/widgets/"+wd.ID+q, admin, "")
			if r.code != 200 {
				t.Fatalf("%d %s", r.code, r.body)
			}
			htmlChecks(t, wd.ID, r.body)
			csp := r.hdr.Get("Content-Security-Policy")
			for _, want := range []string{"frame-ancestors 'self' https://app.hubspot.com https://app-eu1.hubspot.com", "script-src 'none'", "style-src 'self'", "default-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if r.hdr.Get("Set-Cookie") != "" || r.hdr.Get("X-Frame-Options") != "" {
				t.Errorf("cookie or X-Frame-Options sent: %v", r.hdr)
			}
			if !strings.Contains(r.body, `href="`+widgetpage.StylePath()+`"`) {
				t.Error("the page does not link the hashed stylesheet")
			}
			if !strings.Contains(r.body, "As of <time") {
				t.Error("no as-of time")
			}
			// The CSV (both spellings) against the JSON.
			c1 := e.do(t, "GET", "/widgets/"+wd.ID+".csv"+q, admin, "")
			sep := "?"
			if q != "" {
				sep = "&"
			}
			c2 := e.do(t, "GET", "/widgets/"+wd.ID+q+sep+"format=csv", admin, "")
			if c1.code != 200 || c1.body != c2.body || !strings.HasPrefix(c1.hdr.Get("Content-Type"), "text/csv") {
				t.Fatalf("csv: %d %q / %d", c1.code, c1.hdr.Get("Content-Type"), c2.code)
			}
			j := e.do(t, "GET", "/api/v1/widgets/"+wd.ID+q, admin, "")
			var resp struct {
				Value map[string]any `json:"value"`
			}
			if err := json.Unmarshal([]byte(j.body), &resp); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(strings.NewReader(strings.SplitN(c1.body, "\n\n", 2)[0])).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			checkCSV(t, wd.ID, resp.Value, recs, r.body)
		})
	}
}

func f64(v any) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(v.(float64), 'f', -1, 64)
}

// checkCSV compares the CSV's raw values with the JSON value, widget by widget, and checks
// that the headline shown on the page is the JSON's number formatted.
func checkCSV(t *testing.T, id string, v map[string]any, recs [][]string, page string) {
	t.Helper()
	cell := func(label string) string {
		for _, r := range recs[1:] {
			if r[0] == label {
				return r[1]
			}
		}
		t.Fatalf("%s: no CSV row %q in %v", id, label, recs)
		return ""
	}
	shows := func(s string) {
		t.Helper()
		if !strings.Contains(page, "<dd>"+html.EscapeString(s)+"</dd>") {
			t.Errorf("%s: the headline does not show %q: %s", id, s, regexp.MustCompile(`<dl class="headline">.*</dl>`).FindString(page))
		}
	}
	switch id {
	case "tickets-created":
		sum := 0
		for _, r := range recs[1:] {
			n, _ := strconv.Atoi(r[1])
			sum += n
		}
		if want := int(v["total"].(float64)); sum != want || sum == 0 || len(recs)-1 != len(v["by_day"].([]any)) {
			t.Errorf("CSV sums to %d over %d days, JSON total %d", sum, len(recs)-1, want)
		}
		shows(widgetpage.Count(int(v["total"].(float64))))
	case "ticket-first-response", "ticket-time-to-close", "chat-duration":
		if cell("Median (seconds)") != f64(v["median"]) || cell("P90 (seconds)") != f64(v["p90"]) || cell("Count") != f64(v["count"]) {
			t.Errorf("CSV %v, JSON %v", recs, v)
		}
		med, p90 := v["median"].(float64), v["p90"].(float64)
		shows(widgetpage.Duration(&med))
		shows(widgetpage.Duration(&p90))
	case "chat-csat":
		if cell("CSAT") != f64(v["csat"]) || cell("Rated good") != f64(v["good"]) {
			t.Errorf("CSV %v, JSON %v", recs, v)
		}
		c := v["csat"].(float64)
		shows(widgetpage.Percent(&c))
	case "chat-missed":
		if cell("Missed rate") != f64(v["rate"]) || cell("Missed") != f64(v["missed"]) {
			t.Errorf("CSV %v, JSON %v", recs, v)
		}
	case "ticket-backlog":
		for _, b := range v["buckets"].([]any) {
			b := b.(map[string]any)
			if cell(b["label"].(string)) != f64(b["count"]) {
				t.Errorf("bucket %v: CSV %v", b, recs)
			}
		}
	case "agent-leaderboard":
		agents := v["agents"].([]any)
		if len(recs)-1 != len(agents) {
			t.Fatalf("%d CSV rows, %d agents", len(recs)-1, len(agents))
		}
		for i, a := range agents {
			a := a.(map[string]any)
			if recs[i+1][0] != a["name"] || recs[i+1][1] != f64(a["tickets_closed"]) || recs[i+1][3] != f64(a["ticket_first_response_median"]) {
				t.Errorf("agent %d: CSV %v, JSON %v", i, recs[i+1], a)
			}
		}
	case "chat-volume":
		for k, n := range v["by_handled_by"].(map[string]any) {
			if cell(k) != f64(n) {
				t.Errorf("%s: CSV %s, JSON %v", k, cell(k), n)
			}
		}
	case "chat-first-response":
		fr := v["first_response"].(map[string]any)
		if recs[1][2] != f64(fr["median"]) || recs[1][3] != f64(fr["p90"]) {
			t.Errorf("CSV %v, JSON %v", recs, fr)
		}
	case "bot-containment":
		if len(recs)-1 != len(v["bots"].([]any)) {
			t.Errorf("CSV %d bots, JSON %d", len(recs)-1, len(v["bots"].([]any)))
		}
	case "load-heatmap":
		cells := v["cells"].([]any)
		for d := range 7 {
			for h := range 24 {
				if got, want := recs[d+1][h+1], f64(cells[d].([]any)[h]); got != want {
					t.Fatalf("cell %d,%d: CSV %q, JSON %q", d, h, got, want)
				}
			}
		}
	}
}

// TestWidgetPageTokens: a token page works with its locked filters, keeps its token in the
// form and the CSV link; expired, tampered, foreign and lock-breaking tokens get a clear page.
func TestWidgetPageTokens(t *testing.T) {
	e := setup(t, staticDataset(t, 5_000, 5_000))
	now := time.Now()
	good := e.token(t, widgetapi.Claims{Widget: "chat-csat", Filters: map[string]string{"agent": "Alice"}, Issued: now.Unix(), Expires: now.Add(time.Hour).Unix()})
	r := e.do(t, "GET", "/widgets/chat-csat?token="+url.QueryEscape(good), nil, "")
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	for _, want := range []string{"agent Alice (locked)", `<input type="hidden" name="token" value="` + good + `">`, `name="agent" value="Alice" disabled`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("token page lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`href="(/widgets/chat-csat.csv\?[^"]+)"`).FindStringSubmatch(r.body); m == nil || !strings.Contains(m[1], "token="+url.QueryEscape(good)) {
		t.Errorf("the CSV link does not carry the token: %v", m)
	} else if c := e.do(t, "GET", html.UnescapeString(m[1]), nil, ""); c.code != 200 || !strings.HasPrefix(c.body, "Measure,Value\n") {
		t.Errorf("CSV by the page's link: %d %s", c.code, c.body)
	}
	if strings.Contains(r.body, "no sync has completed") {
		t.Error("a token viewer sees the status's reasons")
	}
	if !strings.Contains(r.body, `<p class="warn" role="status"><strong>Warning:</strong> the data may be stale`) {
		t.Error("no stale warning while no sync ever completed")
	}
	// A minted token's page is the embeddable widget.
	mr := e.do(t, "POST", "/api/v1/tokens", bearer(string(adminKey)), `{"widget":"load-heatmap","filters":{"source":"chats"}}`)
	var minted widgetapi.MintResponse
	if err := json.Unmarshal([]byte(mr.body), &minted); err != nil || !strings.HasPrefix(minted.Page, "/widgets/load-heatmap?token=") {
		t.Fatalf("mint: %s %v", mr.body, err)
	}
	if p := e.do(t, "GET", minted.Page, nil, ""); p.code != 200 || !strings.Contains(p.body, "source chats (locked)") {
		t.Errorf("minted page: %d", p.code)
	}
	expired := e.token(t, widgetapi.Claims{Widget: "chat-csat", Issued: now.Add(-2 * time.Hour).Unix(), Expires: now.Add(-time.Hour).Unix()})
	tampered := good[:len(good)-3] + "AAA"
	other := e.token(t, widgetapi.Claims{Widget: "chat-volume", Issued: now.Unix(), Expires: now.Add(time.Hour).Unix()})
	for _, c := range []struct {
		name, path string
		code       int
		want       string
	}{
		{"expired", "/widgets/chat-csat?token=" + expired, 401, "This widget link has expired"},
		{"tampered", "/widgets/chat-csat?token=" + tampered, 401, "token signature does not match"},
		{"other widget", "/widgets/chat-csat?token=" + other, 403, "the token is for widget chat-volume"},
		{"lock broken", "/widgets/chat-csat?agent=Bob&token=" + good, 403, "the token locks agent"},
		{"none", "/widgets/chat-csat", 401, "an embed token"},
		{"bad filter", "/widgets/chat-csat?pipeline=Support&token=" + good, 400, "pipeline: does not apply to chat-csat"},
		{"unknown", "/widgets/nope", 404, "There is no widget"},
	} {
		r := e.do(t, "GET", c.path, nil, "")
		if r.code != c.code || !strings.Contains(r.body, html.EscapeString(c.want)) || !strings.Contains(r.hdr.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s, want %d with %q", c.name, r.code, r.body, c.code, c.want)
		}
	}
}

// TestGallery: the dashboard needs the admin key (the browser's login prompt), shows every
// widget under the shared filters with a signed embed snippet that locks them, has the ask
// slot, and TV mode rotates with a meta refresh.
func TestGallery(t *testing.T) {
	e := setup(t, staticDataset(t, 5_000, 5_000))
	if r := e.do(t, "GET", "/widgets", nil, ""); r.code != 401 || !strings.HasPrefix(r.hdr.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("no credentials: %d %q", r.code, r.hdr.Get("WWW-Authenticate"))
	}
	if r := e.do(t, "GET", "/widgets", basic("wrong"), ""); r.code != 401 {
		t.Errorf("wrong password: %d", r.code)
	}
	r := e.do(t, "GET", "/widgets?agent=Alice&ttl=168h0m0s", basic(string(adminKey)), "")
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	if !strings.Contains(r.hdr.Get("Content-Security-Policy"), "frame-ancestors 'self'") || strings.Contains(r.hdr.Get("Content-Security-Policy"), "hubspot") {
		t.Errorf("dashboard CSP %q", r.hdr.Get("Content-Security-Policy"))
	}
	if r.hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("dashboard Cache-Control %q", r.hdr.Get("Cache-Control"))
	}
	if strings.Contains(r.body, `id="ask"`) || !strings.Contains(r.body, "Sync stale") {
		t.Error("an Ask box without a model, or no sync status")
	}
	if n := len(svgRe.FindAllString(r.body, -1)); n != len(widgets.All) || strings.Count(r.body, "<table>") < len(widgets.All) || scriptRe.MatchString(r.body) || styleRe.MatchString(r.body) {
		t.Errorf("dashboard: %d labelled charts, %d tables, script %v, inline style %v", n, strings.Count(r.body, "<table>"), scriptRe.MatchString(r.body), styleRe.MatchString(r.body))
	}
	srcs := regexp.MustCompile(`&lt;iframe src=&#34;([^&]+)&#34;`).FindAllStringSubmatch(r.body, -1)
	if len(srcs) != len(widgets.All) {
		t.Fatalf("%d embed snippets, want %d", len(srcs), len(widgets.All))
	}
	for i, m := range srcs {
		u, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil || u.Host != strings.TrimPrefix(e.srv.URL, "http://") {
			t.Fatalf("embed src %q", m[1])
		}
		c, err := e.signer.Verify(u.Query().Get("token"), time.Now())
		if err != nil || c.Widget != widgets.All[i].ID || c.Filters["agent"] != "Alice" || c.Expires-c.Issued != 7*24*3600 {
			t.Errorf("embed %d: %+v %v", i, c, err)
		}
		// The embed URL works with no other credentials.
		if p := e.do(t, "GET", u.RequestURI(), nil, ""); p.code != 200 {
			t.Errorf("embed %s: %d %s", u, p.code, p.body)
		}
	}
	if r := e.do(t, "GET", "/widgets?from=2026-13-01", bearer(string(adminKey)), ""); r.code != 200 || !strings.Contains(r.body, "The filters were not applied") {
		t.Errorf("bad filter: %d", r.code)
	}
	tv := e.do(t, "GET", "/widgets?tv=1&i=11&every=30", bearer(string(adminKey)), "")
	if !strings.Contains(tv.body, `<meta http-equiv="refresh" content="30;url=/widgets?every=30&amp;i=0&amp;tv=1">`) || !strings.Contains(tv.body, "widget 12 of 12") ||
		strings.Count(tv.body, `class="card"`) != 1 || !strings.Contains(tv.body, "Load heatmap") {
		t.Errorf("tv mode: %s", tv.body)
	}
}

// TestStaticAssets: the stylesheet is served at its content-hash URL, cached for a year.
func TestStaticAssets(t *testing.T) {
	e := setup(t, staticDataset(t, 100, 100))
	r := e.do(t, "GET", widgetpage.StylePath(), nil, "")
	if r.code != 200 || r.hdr.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/css") || !strings.Contains(r.body, "prefers-color-scheme: dark") {
		t.Errorf("%d %v", r.code, r.hdr)
	}
	if r := e.do(t, "GET", "/widgets/assets/style-000000000000.css", nil, ""); r.code != 404 {
		t.Errorf("unknown asset: %d", r.code)
	}
}

// TestFailedSyncWarning: when the last sync failed, the page says so (the admin also sees why).
func TestFailedSyncWarning(t *testing.T) {
	e := setup(t, staticDataset(t, 100, 100))
	ctx := context.Background()
	st := state.New(e.fs)
	if _, _, err := st.BeginRun(ctx, state.Run{ID: "c9", Source: "chats", Mode: "full"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.FailRun(ctx, "c9", "LiveChat answered 401"); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, "GET", "/widgets/chat-volume", bearer(string(adminKey)), "")
	if !strings.Contains(r.body, "the last sync failed") || !strings.Contains(r.body, "LiveChat answered 401") {
		t.Errorf("admin page: %s", r.body)
	}
	tok := e.token(t, widgetapi.Claims{Widget: "chat-volume", Issued: time.Now().Unix(), Expires: time.Now().Add(time.Hour).Unix()})
	r = e.do(t, "GET", "/widgets/chat-volume?token="+tok, nil, "")
	if !strings.Contains(r.body, "the last sync failed") || strings.Contains(r.body, "401") {
		t.Errorf("token page: %s", fmt.Sprint(r.code))
	}
}
