package widgetapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/ask"
	"supportsync.dev/shared/ask/geminifake"
	"supportsync.dev/shared/askbudget"
	"supportsync.dev/shared/config"
	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/widgetapi"
	"supportsync.dev/shared/widgetstore"
)

const geminiKey = "test-gemini-key"

// askEnv is a widgetapi over a published dataset, its ask model a scripted generateContent
// fake through the real client, its budget in the Firestore emulator.
type askEnv struct {
	*env
	fake *geminifake.Server
	bud  *askbudget.Budget
}

func setupAsk(t *testing.T, lim askbudget.Limits, script geminifake.Script) *askEnv {
	t.Helper()
	fs := emulatortest.FirestoreClient(t)
	store := widgetstore.New(fs)
	publishRows(t, store, 2000, 3000, 11, time.Now().UTC())
	signer, _ := widgetapi.NewSigner([]config.SigningKey{keyNew, keyOld})
	fake := geminifake.New(geminiKey, script)
	t.Cleanup(fake.Close)
	m, err := ask.NewGemini(context.Background(), ask.Settings{APIKey: geminiKey, BaseURL: fake.URL, Model: "gemini-test-flash"})
	if err != nil {
		t.Fatal(err)
	}
	bud := askbudget.New(fs, lim, nil)
	api := widgetapi.New(widgetapi.Options{Datasets: store, Signer: signer, AdminKey: adminKey, Log: quiet,
		Origins: []string{"https://app.hubspot.com"}, Ask: widgetapi.AskOptions{Model: m, Budget: bud}})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &askEnv{env: &env{fs: fs, store: store, srv: srv, api: api, signer: signer}, fake: fake, bud: bud}
}

// csatScript asks chat-csat for the last 30 days of the agent Alice and quotes it.
func csatScript(t *testing.T) geminifake.Script {
	return func(step int, req *geminifake.Request) geminifake.Turn {
		if step == 0 {
			return geminifake.Turn{Calls: []geminifake.FunctionCall{{Name: "chat-csat", Args: map[string]any{"agent": "Alice"}}}}
		}
		v := req.Responses()[0].Response["value"].(map[string]any)
		return geminifake.Turn{Text: fmt.Sprintf("Alice's CSAT was %.0f%% (%.0f good, %.0f bad).", 100*v["csat"].(float64), v["good"], v["bad"])}
	}
}

func TestAskAnswersFromTheWidgets(t *testing.T) {
	e := setupAsk(t, askbudget.Limits{Requests: 100, Tokens: 1 << 20}, csatScript(t))
	r := e.do(t, "POST", "/api/v1/ask", bearer(string(adminKey)), `{"question": "How happy were Alice's chat customers this month?"}`)
	if r.code != 200 || r.hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %s", r.code, r.body)
	}
	var res struct {
		Answer string `json:"answer"`
		Facts  []struct {
			Widget  string            `json:"widget"`
			Filters map[string]string `json:"filters"`
			Value   any               `json:"value"`
			Dataset string            `json:"dataset"`
			Link    string            `json:"link"`
		} `json:"facts"`
		Model    string `json:"model"`
		AsOf     string `json:"as_of"`
		Grounded bool   `json:"grounded"`
	}
	if err := json.Unmarshal([]byte(r.body), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Grounded || !strings.HasPrefix(res.Answer, "Alice's CSAT was ") || res.Model != "gemini-test-flash" || len(res.Facts) != 1 {
		t.Fatalf("answer %s", r.body)
	}
	f := res.Facts[0]
	// The fact is what the JSON API returns for the same widget and filters.
	q := url.Values{}
	for k, v := range f.Filters {
		q.Set(k, v)
	}
	api := e.do(t, "GET", "/api/v1/widgets/"+f.Widget+"?"+q.Encode(), bearer(string(adminKey)), "")
	var want struct {
		Widget, AsOf, Dataset string
		Value                 any
	}
	json.Unmarshal([]byte(api.body), &want)
	if api.code != 200 || !reflect.DeepEqual(f.Value, want.Value) || f.Dataset != want.Dataset || f.Filters["agent"] != "Alice" {
		t.Errorf("fact %+v, JSON API %s", f, api.body)
	}
	if var2 := fmt.Sprintf("%v", want.AsOf); res.AsOf == "" || !strings.Contains(api.body, res.AsOf) {
		t.Errorf("as_of %q, JSON API %s", res.AsOf, var2)
	}
	if f.Link != "/widgets/chat-csat?agent=Alice&from="+f.Filters["from"]+"&to="+f.Filters["to"] {
		t.Errorf("link %q", f.Link)
	}
	s, _ := e.bud.Today(context.Background())
	if s.Requests != 1 || s.Tokens != 200 {
		t.Errorf("budget %+v, want 1 request and the 2 turns' 200 tokens", s)
	}
	for _, req := range e.fake.Requests() {
		if strings.Contains(req.Raw, "Customer problem") || strings.Contains(req.Raw, "customer text") {
			t.Fatal("customer text reached the model")
		}
	}
}

func TestAskAccessAndBadInput(t *testing.T) {
	e := setupAsk(t, askbudget.Limits{Requests: 100, Tokens: 1 << 20}, csatScript(t))
	// An ask token is minted like a widget token, and only opens /api/v1/ask.
	m := e.do(t, "POST", "/api/v1/tokens", bearer(string(adminKey)), `{"widget": "ask", "ttl": "1h"}`)
	var mint widgetapi.MintResponse
	json.Unmarshal([]byte(m.body), &mint)
	if m.code != 200 || mint.Path != "/api/v1/ask" {
		t.Fatalf("mint %d %s", m.code, m.body)
	}
	now := time.Now()
	widgetTok := e.token(t, widgetapi.Claims{Widget: "chat-csat", Issued: now.Unix(), Expires: now.Add(time.Hour).Unix()})
	q := `{"question": "CSAT?"}`
	for _, tc := range []struct {
		name, method string
		hdr          map[string]string
		body         string
		code         int
		reason       string
	}{
		{"no token", "POST", nil, q, 401, "admin key"},
		{"a widget token", "POST", bearer(widgetTok), q, 403, "not scoped to ask"},
		{"the ask token", "POST", bearer(mint.Token), q, 200, ""},
		{"the ask token on a widget", "GET", bearer(mint.Token), "", 200, ""}, // GET /api/v1/ask: status
		{"not JSON", "POST", bearer(mint.Token), "CSAT?", 400, "must be JSON"},
		{"unknown field", "POST", bearer(mint.Token), `{"question": "x", "model": "pro"}`, 400, "must be JSON"},
		{"empty", "POST", bearer(mint.Token), `{"question": "  "}`, 400, "question: empty"},
		{"too long", "POST", bearer(mint.Token), `{"question": "` + strings.Repeat("é", 1001) + `"}`, 400, "longer than 1000"},
		{"control characters", "POST", bearer(mint.Token), `{"question": "a\u0000b"}`, 400, "control characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, "/api/v1/ask", tc.hdr, tc.body)
			if r.code != tc.code || !strings.Contains(r.body, tc.reason) {
				t.Errorf("%d %s, want %d %q", r.code, r.body, tc.code, tc.reason)
			}
		})
	}
	if r := e.do(t, "GET", "/api/v1/widgets/chat-csat", bearer(mint.Token), ""); r.code != 403 {
		t.Errorf("an ask token read a widget: %d", r.code)
	}
	if r := e.do(t, "POST", "/api/v1/tokens", bearer(string(adminKey)), `{"widget": "ask", "filters": {"agent": "Alice"}}`); r.code != 400 {
		t.Errorf("an ask token with filters: %d %s", r.code, r.body)
	}
	// CORS lets the dashboard's origin POST JSON.
	r := e.do(t, "OPTIONS", "/api/v1/ask", map[string]string{"Origin": "https://app.hubspot.com", "Access-Control-Request-Method": "POST"}, "")
	if r.code != 204 || !strings.Contains(r.hdr.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(r.hdr.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight %d %v", r.code, r.hdr)
	}
}

func TestAskBudgetSpent(t *testing.T) {
	e := setupAsk(t, askbudget.Limits{Requests: 2, Tokens: 1 << 20}, csatScript(t))
	for i := range 2 {
		if r := e.do(t, "POST", "/api/v1/ask", bearer(string(adminKey)), `{"question": "CSAT?"}`); r.code != 200 {
			t.Fatalf("question %d: %d %s", i, r.code, r.body)
		}
	}
	before := len(e.fake.Requests())
	r := e.do(t, "POST", "/api/v1/ask", bearer(string(adminKey)), `{"question": "CSAT?"}`)
	if r.code != 429 || !strings.Contains(r.body, "today's ask budget is spent (2 of 2 questions") || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("%d %s %v", r.code, r.body, r.hdr)
	}
	if len(e.fake.Requests()) != before {
		t.Error("a question past the budget reached the model")
	}

	// Tokens: 300 a day; a question whose turns cost 250 each stops at the token limit (the
	// facts alone) and spends the day's tokens.
	e = setupAsk(t, askbudget.Limits{Requests: 100, Tokens: 300}, func(step int, req *geminifake.Request) geminifake.Turn {
		return geminifake.Turn{Tokens: 250, Calls: []geminifake.FunctionCall{{Name: "chat-volume"}}}
	})
	r = e.do(t, "POST", "/api/v1/ask", bearer(string(adminKey)), `{"question": "volume?"}`)
	if r.code != 200 || !strings.Contains(r.body, `"stop":"tokens"`) || !strings.Contains(r.body, `"grounded":false`) {
		t.Fatalf("%d %s", r.code, r.body)
	}
	r = e.do(t, "POST", "/api/v1/ask", bearer(string(adminKey)), `{"question": "volume?"}`)
	if r.code != 429 || !strings.Contains(r.body, "500 of 300 tokens") {
		t.Fatalf("%d %s", r.code, r.body)
	}
}

func TestAskUnavailable(t *testing.T) {
	// No credentials: the configuration gives no model, and ask says why with a 503.
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "WIDGETAPI_ADMIN_KEY": string(adminKey), "WIDGETAPI_SIGNING_KEYS": "k2:" + string(keyNew.Key)}[k]
	}, config.NeedFirestore|config.NeedWidgets)
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, nil)
	o := widgetapi.AskFromConfig(context.Background(), cfg, e.fs, quiet)
	if o.Model != nil || !strings.Contains(o.Unavailable, "GEMINI_API_KEY") {
		t.Fatalf("%+v", o)
	}
	api := widgetapi.New(widgetapi.Options{Datasets: e.store, AdminKey: adminKey, Log: quiet, Ask: o})
	srv := httptest.NewServer(api)
	defer srv.Close()
	e.srv = srv
	r := e.do(t, "POST", "/api/v1/ask", bearer(string(adminKey)), `{"question": "CSAT?"}`)
	if r.code != 503 || !strings.Contains(r.body, "no model is configured: set GEMINI_API_KEY") {
		t.Errorf("%d %s", r.code, r.body)
	}
	r = e.do(t, "GET", "/api/v1/ask", bearer(string(adminKey)), "")
	if r.code != 200 || !strings.Contains(r.body, `"enabled":false`) {
		t.Errorf("%d %s", r.code, r.body)
	}

	// A model that fails before any tool: 502, and nothing internal in the answer.
	a := setupAsk(t, askbudget.Limits{Requests: 10, Tokens: 1000}, func(int, *geminifake.Request) geminifake.Turn {
		return geminifake.Turn{Status: 500}
	})
	r = a.do(t, "POST", "/api/v1/ask", bearer(string(adminKey)), `{"question": "CSAT?"}`)
	if r.code != 502 || strings.Contains(r.body, a.fake.URL) || !strings.Contains(r.body, "the model did not answer") {
		t.Errorf("%d %s", r.code, r.body)
	}
}

// TestDashboardAskBox: the dashboard's Ask box is a plain form (the dashboard runs no
// JavaScript); a question posted from it is answered on the page with each fact a link to its
// widget, the dashboard's filters kept; a form posted from another site is refused before it
// reaches the model; without a model there is no box.
func TestDashboardAskBox(t *testing.T) {
	e := setupAsk(t, askbudget.Limits{Requests: 100, Tokens: 1 << 20}, csatScript(t))
	admin := basic(string(adminKey))
	page := e.do(t, "GET", "/widgets?agent=Alice", admin, "")
	if page.code != 200 || !strings.Contains(page.body, `action="/widgets/ask?agent=Alice"`) || !strings.Contains(page.body, `name="question"`) {
		t.Fatalf("dashboard without the Ask form: %d %.300s", page.code, page.body)
	}

	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}
	for k, v := range admin {
		form[k] = v
	}
	body := url.Values{"question": {"How happy were Alice's chat customers this month?"}}.Encode()
	r := e.do(t, "POST", "/widgets/ask?agent=Alice", form, body)
	if r.code != 200 {
		t.Fatalf("ask form: %d %.300s", r.code, r.body)
	}
	for _, want := range []string{"CSAT was", `<a href="/widgets/chat-csat?`, "(agent Alice", "every number in it was checked", "How happy were Alice&#39;s chat customers"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("answer page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<script") {
		t.Error("the answer page carries a script")
	}
	if !strings.Contains(r.body, `name="agent" value="Alice"`) {
		t.Error("the dashboard's agent filter was not kept")
	}
	asked := len(e.fake.Requests())

	cross := map[string]string{}
	for k, v := range form {
		cross[k] = v
	}
	cross["Sec-Fetch-Site"] = "cross-site"
	if r := e.do(t, "POST", "/widgets/ask", cross, body); r.code != 403 {
		t.Errorf("cross-site form: %d, want 403", r.code)
	}
	delete(cross, "Sec-Fetch-Site")
	cross["Origin"] = "https://evil.example"
	if r := e.do(t, "POST", "/widgets/ask", cross, body); r.code != 403 {
		t.Errorf("form from another origin: %d, want 403", r.code)
	}
	if r := e.do(t, "POST", "/widgets/ask", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body); r.code != 401 {
		t.Errorf("form without the admin key: %d, want 401", r.code)
	}
	if n := len(e.fake.Requests()); n != asked {
		t.Errorf("refused forms reached the model: %d requests, want %d", n, asked)
	}

	plain := setup(t, nil)
	publishRows(t, plain.store, 50, 50, 3, time.Now().UTC())
	if p := plain.do(t, "GET", "/widgets", admin, ""); p.code != 200 || strings.Contains(p.body, `id="ask"`) {
		t.Errorf("dashboard without a model shows the Ask box: %d", p.code)
	}
}
