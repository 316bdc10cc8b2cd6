package browsertest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/config"
	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/state"
	"supportsync.dev/shared/widgetapi"
	"supportsync.dev/shared/widgetpage"
	"supportsync.dev/shared/widgets"
	"supportsync.dev/shared/widgets/widgetstest"
	"supportsync.dev/shared/widgetstore"
)

var docs = flag.String("docs", "", "write the README's screenshots into this directory")

func TestMain(m *testing.M) { emulatortest.Main(m) }

var (
	adminKey = secrets.Secret(strings.Repeat("A", 40))
	key      = config.SigningKey{ID: "k1", Key: secrets.Secret(strings.Repeat("s", 32))}
	halifax  *time.Location
)

type static struct {
	ds *widgets.Dataset
	p  widgetstore.Pointer
}

func (s static) Current(context.Context) (widgetstore.Pointer, error) { return s.p, nil }
func (s static) Load(context.Context) (*widgets.Dataset, widgetstore.Pointer, error) {
	return s.ds, s.p, nil
}

var (
	dsOnce sync.Once
	dsVal  static
)

// dataset is 20,000 tickets and 20,000 chats over the last 400 days, built once.
func dataset(t *testing.T) static {
	dsOnce.Do(func() {
		var err error
		if halifax, err = time.LoadLocation("America/Halifax"); err != nil {
			t.Fatal(err)
		}
		end := time.Now()
		tickets, chats := widgetstest.Rows(20_000, 20_000, end, halifax, 3)
		b := widgets.NewBuilder("America/Halifax")
		for _, r := range tickets {
			b.AddTicket(r)
		}
		for _, r := range chats {
			b.AddChat(r)
		}
		ds, err := widgets.Load(b.Data(end), "browser")
		if err != nil {
			t.Fatal(err)
		}
		dsVal = static{ds: ds, p: widgetstore.Pointer{Version: "browser", AsOf: end.Add(-2 * time.Minute), Tickets: 20_000, Chats: 20_000}}
	})
	if dsVal.ds == nil {
		t.Fatal("no dataset")
	}
	return dsVal
}

type stack struct {
	url    string
	signer *widgetapi.Signer
}

// serve starts widgetapi over the dataset with a run ledger in the Firestore emulator where
// both sources completed a sync a few minutes ago; ancestors may frame the widgets.
func serve(t *testing.T, ancestors []string) *stack {
	t.Helper()
	fs := emulatortest.FirestoreClient(t)
	st := state.New(fs)
	ctx := context.Background()
	for _, src := range []string{"tickets", "chats"} {
		id := src[:1] + "1"
		if _, _, err := st.BeginRun(ctx, state.Run{ID: id, Source: batch.Source(src), Mode: "incremental"}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.LandBatch(ctx, id, state.BatchRecord{Seq: 0, Last: true, HighWater: time.Now(), Counts: state.Counts{Fetched: 40, Updated: 40}}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.CompleteRun(ctx, id, state.Counts{Fetched: 40, Updated: 40}, "ok"); err != nil {
			t.Fatal(err)
		}
	}
	signer, err := widgetapi.NewSigner([]config.SigningKey{key})
	if err != nil {
		t.Fatal(err)
	}
	api := widgetapi.New(widgetapi.Options{Datasets: dataset(t), Runs: st, Signer: signer, AdminKey: adminKey,
		FrameAncestors: ancestors, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &stack{url: srv.URL, signer: signer}
}

func (s *stack) token(t *testing.T, widget string, filters map[string]string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	tok, err := s.signer.Mint(widgetapi.Claims{Widget: widget, Filters: filters, Issued: now.Add(-time.Hour).Unix(), Expires: now.Add(ttl).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// getJSON reads the JSON API as the admin.
func (s *stack) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+string(adminKey))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
)

// browser starts one headless Chromium for the test binary. A missing Chromium fails the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		path, err := exec.LookPath("chromium")
		if err != nil {
			browserErr = fmt.Errorf("chromium is not installed (apt-get install -y chromium; .ci/run does it): %w", err)
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(1280, 900))
		alloc, _ := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, _ := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil {
			browserErr = fmt.Errorf("start chromium: %w", err)
			return
		}
		browserCtx = ctx
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

// tab is a browser tab that records console errors and warnings, uncaught exceptions and
// browser log errors (CSP violations among them).
type tab struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newTab(t *testing.T, headers map[string]string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t))
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				tb.mu.Lock()
				tb.errors = append(tb.errors, fmt.Sprintf("%s: %s (%s)", m.Type, m.Text, m.URL))
				tb.mu.Unlock()
			}
		}
	}()
	if len(headers) > 0 {
		h := network.Headers{}
		for k, v := range headers {
			h[k] = v
		}
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h}); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

// do runs actions in the tab, each step within 60 s.
func (tb *tab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func get[T any](t *testing.T, tb *tab, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func eval[T any](t *testing.T, tb *tab, js string) T {
	t.Helper()
	return get(t, tb, chromedp.Evaluate[T](js))
}

func text(t *testing.T, tb *tab, css string) string {
	t.Helper()
	return strings.TrimSpace(get(t, tb, chromedp.Text(chromedp.CSS(css))))
}

func (tb *tab) viewport(t *testing.T, w, h int64, mobile bool, scheme string) {
	t.Helper()
	if _, err := chromedp.Call(tb.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: w, Height: h, DeviceScaleFactor: 1, Mobile: mobile}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
		t.Fatal(err)
	}
}

// takeErrors returns and clears the errors seen so far.
func (tb *tab) takeErrors() []string {
	time.Sleep(150 * time.Millisecond) // let late messages arrive
	tb.mu.Lock()
	defer tb.mu.Unlock()
	e := tb.errors
	tb.errors = nil
	return e
}

func (tb *tab) noErrors(t *testing.T, what string) {
	t.Helper()
	if e := tb.takeErrors(); len(e) > 0 {
		t.Errorf("%s: browser errors: %s", what, strings.Join(e, "; "))
	}
}

func admin() map[string]string {
	return map[string]string{"Authorization": "Bearer " + string(adminKey)}
}

func screenshot(t *testing.T, tb *tab, name string, full bool) {
	t.Helper()
	if *docs == "" {
		return
	}
	act := chromedp.CaptureScreenshot()
	if full {
		act = chromedp.FullScreenshot(100)
	}
	if err := os.WriteFile(filepath.Join(*docs, name), get(t, tb, act), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGalleryLoads: the dashboard shows every widget with a chart, its embed snippet, the
// sync status and the filters, with no console error and no CSP violation.
func TestGalleryLoads(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, admin())
	tb.viewport(t, 1280, 900, false, "light")
	tb.do(t, chromedp.Navigate(s.url+"/widgets"))
	title := get(t, tb, chromedp.Title())
	cards := eval[int](t, tb, `document.querySelectorAll("section.card").length`)
	charts := eval[int](t, tb, `[...document.querySelectorAll("section.card svg.chart")].filter(e => e.getBoundingClientRect().width > 200).length`)
	snippets := eval[int](t, tb, `[...document.querySelectorAll("textarea.embed")].filter(e => e.value.startsWith("<iframe src=\"http")).length`)
	status := text(t, tb, "section.status")
	if title != "Support dashboard · supportsync" || cards != len(widgets.All) || charts != len(widgets.All) || snippets != len(widgets.All) {
		t.Errorf("title %q, %d cards, %d charts drawn, %d snippets; want %d", title, cards, charts, snippets, len(widgets.All))
	}
	if !strings.Contains(status, "Sync ok") || !strings.Contains(status, "tickets: completed") {
		t.Errorf("status %q", status)
	}
	tb.noErrors(t, "gallery")
	screenshot(t, tb, "widgets-gallery.png", false)
}

// TestEveryWidgetRenders: each widget's page, opened with an embed token as HubSpot would,
// draws its chart and table, shows its headline, and logs no error.
func TestEveryWidgetRenders(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, nil)
	for _, wd := range widgets.All {
		tok := s.token(t, wd.ID, nil, time.Hour)
		tb.do(t, chromedp.Navigate(s.url+"/widgets/"+wd.ID+"?token="+url.QueryEscape(tok)))
		h1 := text(t, tb, "h1")
		w := eval[float64](t, tb, `document.querySelector("svg.chart").getBoundingClientRect().width`)
		rows := eval[int](t, tb, `document.querySelectorAll("table tbody tr").length`)
		marks := eval[int](t, tb, `document.querySelectorAll("svg.chart rect.bar, svg.chart rect.cell").length`)
		headline := eval[int](t, tb, `document.querySelectorAll(".headline dd").length`)
		if h1 != wd.Title || w < 200 || rows == 0 || marks == 0 || headline == 0 {
			t.Errorf("%s: h1 %q, chart %.0f px wide with %d marks, %d table rows, %d headline numbers", wd.ID, h1, w, marks, rows, headline)
		}
		tb.noErrors(t, wd.ID)
	}
}

// TestFilterChangesTheNumbers: choosing an agent in a widget page's form (a plain GET form
// that keeps the token) changes the headline, and the new number is the JSON API's.
func TestFilterChangesTheNumbers(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, nil)
	tok := s.token(t, "chat-volume", nil, time.Hour)
	tb.do(t, chromedp.Navigate(s.url+"/widgets/chat-volume?token="+url.QueryEscape(tok)))
	before := text(t, tb, ".headline dd")
	var lb struct {
		Value struct {
			Agents []struct{ Name string } `json:"agents"`
		} `json:"value"`
	}
	s.getJSON(t, "/api/v1/widgets/agent-leaderboard", &lb)
	if len(lb.Value.Agents) == 0 {
		t.Fatal("no agents in the data")
	}
	agent := lb.Value.Agents[len(lb.Value.Agents)-1].Name
	tb.do(t, chromedp.SetValue(chromedp.CSS(`input[name="agent"]`), agent),
		chromedp.Click(chromedp.CSS(`form.filters button`)),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.WaitVisible(chromedp.CSS(`p.scope`)))
	after := text(t, tb, ".headline dd")
	scope := text(t, tb, "p.scope")
	var api struct {
		Value struct {
			Total int `json:"total"`
		} `json:"value"`
	}
	s.getJSON(t, "/api/v1/widgets/chat-volume?agent="+url.QueryEscape(agent), &api)
	if after == before || after != widgetpage.Count(api.Value.Total) || !strings.Contains(scope, "agent "+agent) {
		t.Errorf("agent %s: headline %q -> %q (JSON %d), scope %q", agent, before, after, api.Value.Total, scope)
	}
	tb.noErrors(t, "filter")
}

// TestBadTokensSayWhy: an expired or tampered token shows a clear message.
func TestBadTokensSayWhy(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, nil)
	good := s.token(t, "chat-csat", nil, time.Hour)
	expired := s.token(t, "chat-csat", nil, -time.Minute)
	for _, c := range []struct{ name, tok, h1, msg string }{
		{"expired", expired, "This widget link has expired", "Ask an admin for a new embed snippet"},
		{"tampered", good[:len(good)-4] + "abcd", "This widget link is not valid", "token signature does not match"},
	} {
		tb.do(t, chromedp.Navigate(s.url+"/widgets/chat-csat?token="+url.QueryEscape(c.tok)))
		if h1, msg := text(t, tb, "h1"), text(t, tb, ".error"); h1 != c.h1 || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %q / %q", c.name, h1, msg)
		}
		tb.takeErrors() // the browser logs the 401 itself
	}
}

// TestFraming: a page on an allowed origin can frame a widget; one on any other origin is
// refused by the browser (CSP frame-ancestors).
func TestFraming(t *testing.T) {
	var frameURL string
	host := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>host</title><iframe id="f" src="%s" width="600" height="500"></iframe>`, frameURL)
	}
	allowed := httptest.NewServer(http.HandlerFunc(host))
	defer allowed.Close()
	other := httptest.NewServer(http.HandlerFunc(host))
	defer other.Close()
	s := serve(t, []string{allowed.URL})
	frameURL = s.url + "/widgets/chat-csat?token=" + url.QueryEscape(s.token(t, "chat-csat", nil, time.Hour))

	tb := newTab(t, nil)
	tb.do(t, chromedp.Navigate(allowed.URL), chromedp.Sleep(700*time.Millisecond))
	if h1 := frameH1(t, tb); h1 != "Chat CSAT" {
		t.Errorf("allowed origin: the frame shows %q", h1)
	}
	tb.noErrors(t, "allowed origin")

	tb.do(t, chromedp.Navigate(other.URL), chromedp.Sleep(700*time.Millisecond))
	h1 := frameH1(t, tb)
	errs := strings.Join(tb.takeErrors(), "; ")
	if h1 == "Chat CSAT" || !strings.Contains(errs, "frame-ancestors") {
		t.Errorf("other origin: the frame shows %q; the browser said %q", h1, errs)
	}
}

// frameH1 reads the h1 inside the iframe #f through the protocol (the page's script could
// not: the frame is another origin); "" when the frame holds no such document.
func frameH1(t *testing.T, tb *tab) string {
	t.Helper()
	nodes := get(t, tb, chromedp.Nodes(chromedp.CSS("#f")))
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"), chromedp.FromNode(nodes[0])))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(h1)
}

// TestDarkAndNarrow: at 320 px wide in dark mode every widget fits without a horizontal
// scroll bar and paints a dark background; light at a card's size; a 1920 px TV rotates.
func TestDarkAndNarrow(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, nil)
	tb.viewport(t, 320, 720, true, "dark")
	for _, wd := range widgets.All {
		tb.do(t, chromedp.Navigate(s.url+"/widgets/"+wd.ID+"?token="+url.QueryEscape(s.token(t, wd.ID, nil, time.Hour))))
		sw := eval[float64](t, tb, `document.documentElement.scrollWidth`)
		cw := eval[float64](t, tb, `document.documentElement.clientWidth`)
		bg := eval[string](t, tb, `getComputedStyle(document.body).backgroundColor`)
		if sw > cw || cw != 320 || bg != "rgb(15, 23, 32)" {
			t.Errorf("%s at 320 px dark: scrollWidth %.0f, clientWidth %.0f, background %s", wd.ID, sw, cw, bg)
		}
		tb.noErrors(t, wd.ID)
		if wd.ID == "ticket-first-response" {
			screenshot(t, tb, "widget-ticket-first-response-dark-320.png", true)
		}
	}
	tb.viewport(t, 640, 560, false, "light")
	tb.do(t, chromedp.Navigate(s.url+"/widgets/load-heatmap?token="+url.QueryEscape(s.token(t, "load-heatmap", nil, time.Hour))))
	if bg := eval[string](t, tb, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(255, 255, 255)" {
		t.Errorf("light background %s", bg)
	}
	screenshot(t, tb, "widget-load-heatmap-light.png", false)

	tv := newTab(t, admin())
	tv.viewport(t, 1920, 1080, false, "dark")
	tv.do(t, chromedp.Navigate(s.url+"/widgets?tv=1&i=0"))
	sw := eval[float64](t, tv, `document.documentElement.scrollWidth`)
	cw := eval[float64](t, tv, `document.documentElement.clientWidth`)
	refresh := eval[string](t, tv, `document.querySelector('meta[http-equiv="refresh"]').content`)
	if sw > cw || !strings.Contains(refresh, "i=1") {
		t.Errorf("tv: scrollWidth %.0f > %.0f or refresh %q", sw, cw, refresh)
	}
	tv.noErrors(t, "tv")
	screenshot(t, tv, "widgets-tv.png", false)
}
