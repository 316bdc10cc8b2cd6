package widgets

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"supportsync.dev/shared/table"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const tz = "America/Halifax"

var halifax, _ = time.LoadLocation(tz)

// at parses a sheet wall-clock time in the team timezone; "" is an empty cell.
func at(s string) table.Cell {
	if s == "" {
		return table.Cell{}
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, halifax)
	if err != nil {
		panic(err)
	}
	return table.TimeCell(t)
}

func num(n float64) table.Cell { return table.NumberCell(n) }

var none = table.Cell{}

// ticket builds a Tickets row with the widget columns set and some text the widgets must never
// show (Subject).
func ticket(id, pipeline, status, agent, created, closed, reply string, frMin, ttcH table.Cell, weekend bool) table.Row {
	r := make(table.Row, len(table.Tickets.Columns))
	r[0] = table.TextCell(id)
	r[table.Tickets.Index("Subject")] = table.TextCell("SECRET customer subject " + id)
	r[tPipeline], r[tStatus], r[tAgent] = table.TextCell(pipeline), table.TextCell(status), table.TextCell(agent)
	r[tCreated], r[tClosed], r[tReply] = at(created), at(closed), at(reply)
	r[tFRMinutes], r[tTTCHours], r[tWeekend] = frMin, ttcH, table.BoolCell(weekend)
	return r
}

func chat(id, started, handled, bot, agent string, transferred bool, fr, fhr, durMin table.Cell, rating string, weekend bool) table.Row {
	r := make(table.Row, len(table.Chats.Columns))
	r[0] = table.TextCell(id)
	r[cStarted], r[cHandledBy], r[cBot], r[cAgent] = at(started), table.TextCell(handled), table.TextCell(bot), table.TextCell(agent)
	r[cTransfer], r[cFirstResp], r[cFirstHuman], r[cDuration] = table.BoolCell(transferred), fr, fhr, durMin
	r[cRating], r[cWeekend] = table.TextCell(rating), table.BoolCell(weekend)
	r[table.Chats.Index("Rating Comment")] = table.TextCell("SECRET rating comment " + id)
	return r
}

// fixture is the small fixed dataset every expected value below was computed from by hand.
// Halifax: DST starts 2026-03-08 02:00 (-4 to -3), ends 2026-11-01 02:00 (01:00-02:00 twice).
func fixture(t testing.TB) *Dataset {
	b := NewBuilder(tz)
	for _, r := range []table.Row{
		// Saturday; closed on the spring-forward day: 10:15 AST -> 03:30 ADT is 16.25 h.
		ticket("T1", "Support", "Closed", "Alice", "2026-03-07 10:15", "2026-03-08 03:30", "2026-03-07 10:45", num(30), num(16.25), true),
		// Created on the spring-forward day, replied a day later, still open.
		ticket("T2", "Support", "Open", "Bob", "2026-03-08 09:00", "", "2026-03-09 09:00", num(1440), none, true),
		// New Year's Eve, replied and closed in the new year.
		ticket("T3", "Billing", "Closed", "Alice", "2026-12-31 23:30", "2027-01-02 12:00", "2027-01-01 00:10", num(40), num(36.5), false),
		ticket("T4", "Billing", "Open", "Unassigned", "2027-01-01 08:00", "", "", none, none, false),
		ticket("T5", "Support", "Open", "Carol", "2026-12-20 10:00", "", "2026-12-20 10:02", num(2), none, true),
		// Fall-back day, in the repeated hour.
		ticket("T6", "Support", "Closed", "Bob", "2026-11-01 01:30", "2026-11-01 05:00", "2026-11-01 01:50", num(20), num(4.5), true),
		ticket("T7", "Support", "Open", "Alice", "2027-01-02 13:30", "", "", none, none, true),
		ticket("T8", "Billing", "Open", "Carol", "2026-12-28 14:00", "", "2026-12-29 09:00", num(1140), none, false),
		{}, // a blank row a person left
	} {
		b.AddTicket(r)
	}
	for _, r := range []table.Row{
		chat("C1", "2026-12-31 22:00", "Bot", "Wynn AI", "", false, num(5), none, num(3), "good", false),
		chat("C2", "2026-12-31 23:59", "Bot → Human", "Wynn AI", "Alice", true, num(4), num(60), num(10), "bad", false),
		chat("C3", "2027-01-01 00:05", "Human", "", "Bob", false, num(30), num(30), num(12.5), "good", false),
		chat("C4", "2027-01-01 10:00", "Unanswered", "", "", false, none, none, num(0), "", false),
		chat("C5", "2027-01-02 09:15", "Bot", "Wynn AI", "", true, num(2), none, num(6), "", true),
		chat("C6", "2027-01-02 11:00", "Human", "", "Alice", false, num(90), num(90), num(20), "good", true),
		chat("C7", "2026-03-08 03:10", "Bot → Human", "Agent Scrape", "Bob", true, num(1), num(45), num(8), "", true),
	} {
		b.AddChat(r)
	}
	if b.Skipped != 1 {
		t.Fatalf("Skipped = %d, want 1", b.Skipped)
	}
	data := b.Data(time.Date(2027, 1, 2, 18, 0, 0, 0, time.UTC))
	ds, err := Load(data, "v1")
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// run runs widget id with the query string qs (today = 2027-01-02) and returns the value as
// generic JSON.
func run(t *testing.T, ds *Dataset, id, qs string) (Response, any) {
	t.Helper()
	w, ok := ByID(id)
	if !ok {
		t.Fatalf("no widget %s", id)
	}
	q, err := url.ParseQuery(qs)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFilters(w, q, "2027-01-02")
	if err != nil {
		t.Fatalf("%s?%s: %v", id, qs, err)
	}
	resp := ds.Compute(w, f)
	return resp, generic(t, resp.Value)
}

func generic(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var g any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func parse(t *testing.T, s string) any {
	t.Helper()
	var g any
	if err := json.Unmarshal([]byte(s), &g); err != nil {
		t.Fatalf("bad expected JSON %s: %v", s, err)
	}
	return g
}

const newYear = "from=2026-12-31&to=2027-01-02"

// approx compares numbers computed by hand with the float results to 1e-12 relative (0.9 and
// minutes × 60 are not exact in binary).
var approx = cmpopts.EquateApprox(1e-12, 0)

// TestWidgetsByHand checks every widget against values computed by hand from the fixture.
func TestWidgetsByHand(t *testing.T) {
	ds := fixture(t)
	tests := []struct {
		name, id, qs, want string
	}{
		{"created across new year", "tickets-created", newYear, `{"total":3,"by_day":[
			{"date":"2026-12-31","count":1,"by_pipeline":{"Billing":1}},
			{"date":"2027-01-01","count":1,"by_pipeline":{"Billing":1}},
			{"date":"2027-01-02","count":1,"by_pipeline":{"Support":1}}]}`},
		{"created by pipeline", "tickets-created", "from=2026-12-28&to=2026-12-31&pipeline=Billing", `{"total":2,"by_day":[
			{"date":"2026-12-28","count":1,"by_pipeline":{"Billing":1}},
			{"date":"2026-12-29","count":0,"by_pipeline":{}},
			{"date":"2026-12-30","count":0,"by_pipeline":{}},
			{"date":"2026-12-31","count":1,"by_pipeline":{"Billing":1}}]}`},
		{"created spring-forward day", "tickets-created", "from=2026-03-08&to=2026-03-08",
			`{"total":1,"by_day":[{"date":"2026-03-08","count":1,"by_pipeline":{"Support":1}}]}`},
		{"created fall-back day", "tickets-created", "from=2026-11-01&to=2026-11-01",
			`{"total":1,"by_day":[{"date":"2026-11-01","count":1,"by_pipeline":{"Support":1}}]}`},
		{"created empty range", "tickets-created", "from=2026-06-01&to=2026-06-02",
			`{"total":0,"by_day":[{"date":"2026-06-01","count":0,"by_pipeline":{}},{"date":"2026-06-02","count":0,"by_pipeline":{}}]}`},
		{"created agent matches nothing", "tickets-created", "from=2027-01-02&to=2027-01-02&agent=Nobody",
			`{"total":0,"by_day":[{"date":"2027-01-02","count":0,"by_pipeline":{}}]}`},

		{"first response new year", "ticket-first-response", newYear, `{"count":1,"median":2400,"p90":2400,"unanswered":2}`},
		{"first response december", "ticket-first-response", "from=2026-12-01&to=2026-12-31",
			// T5 120 s, T8 68400 s: median 34260, p90 120 + 0.9*68280 = 61572.
			`{"count":2,"median":34260,"p90":61572,"unanswered":0}`},
		{"first response fall-back day", "ticket-first-response", "from=2026-11-01&to=2026-11-01", `{"count":1,"median":1200,"p90":1200,"unanswered":0}`},
		{"first response spring-forward day", "ticket-first-response", "from=2026-03-08&to=2026-03-08", `{"count":0,"median":null,"p90":null,"unanswered":0}`},
		{"first response whole year", "ticket-first-response", "from=2026-03-01&to=2027-01-02",
			// 1800, 86400, 2400, 120, 1200, 68400 -> sorted 120,1200,1800,2400,68400,86400;
			// median h=2.5 -> 2100; p90 h=4.5 -> 68400+0.5*18000 = 77400.
			`{"count":6,"median":2100,"p90":77400,"unanswered":2}`},

		{"time to close new year", "ticket-time-to-close", newYear, `{"count":1,"median":131400,"p90":131400}`},
		{"time to close spring-forward", "ticket-time-to-close", "from=2026-03-08&to=2026-03-08", `{"count":1,"median":58500,"p90":58500}`},
		{"time to close fall-back", "ticket-time-to-close", "from=2026-11-01&to=2026-11-01", `{"count":1,"median":16200,"p90":16200}`},
		{"time to close by pipeline", "ticket-time-to-close", "from=2026-01-01&to=2027-01-02&pipeline=Support",
			// T1 58500, T6 16200: median 37350, p90 16200+0.9*42300 = 54270.
			`{"count":2,"median":37350,"p90":54270}`},
		{"time to close empty", "ticket-time-to-close", "from=2026-06-01&to=2026-06-30", `{"count":0,"median":null,"p90":null}`},

		// as_of 2027-01-02 18:00 UTC. T7 0.5 h, T4 30 h, T8 exactly 5 d, T5 13 d 4 h, T2 ~300 d.
		{"backlog", "ticket-backlog", "", `{"total":5,"buckets":[{"label":"0-1d","count":1},{"label":"1-3d","count":1},
			{"label":"3-7d","count":1},{"label":"7-30d","count":1},{"label":"30d+","count":1}]}`},
		{"backlog ignores range", "ticket-backlog", "from=2026-06-01&to=2026-06-01&pipeline=Billing", `{"total":2,"buckets":[{"label":"0-1d","count":0},{"label":"1-3d","count":1},
			{"label":"3-7d","count":1},{"label":"7-30d","count":0},{"label":"30d+","count":0}]}`},
		{"backlog agent", "ticket-backlog", "agent=Alice", `{"total":1,"buckets":[{"label":"0-1d","count":1},{"label":"1-3d","count":0},
			{"label":"3-7d","count":0},{"label":"7-30d","count":0},{"label":"30d+","count":0}]}`},

		{"chat volume", "chat-volume", newYear, `{"total":6,"by_handled_by":{"Bot":2,"Bot → Human":1,"Human":2,"Unanswered":1},
			"by_day":[{"date":"2026-12-31","count":2},{"date":"2027-01-01","count":2},{"date":"2027-01-02","count":2}]}`},
		{"chat volume agent", "chat-volume", newYear + "&agent=Alice", `{"total":2,"by_handled_by":{"Bot":0,"Bot → Human":1,"Human":1,"Unanswered":0},
			"by_day":[{"date":"2026-12-31","count":1},{"date":"2027-01-01","count":0},{"date":"2027-01-02","count":1}]}`},
		{"chat volume spring-forward", "chat-volume", "from=2026-03-08&to=2026-03-08", `{"total":1,"by_handled_by":{"Bot":0,"Bot → Human":1,"Human":0,"Unanswered":0},
			"by_day":[{"date":"2026-03-08","count":1}]}`},

		// FR 2,4,5,30,90: median 5, p90 h=3.6 -> 30+0.6*60 = 66. FHR 30,60,90: 60, 84.
		{"chat first response", "chat-first-response", newYear, `{"first_response":{"count":5,"median":5,"p90":66},
			"first_human_response":{"count":3,"median":60,"p90":84}}`},
		{"chat first response empty", "chat-first-response", "from=2026-06-01&to=2026-06-01", `{"first_response":{"count":0,"median":null,"p90":null},
			"first_human_response":{"count":0,"median":null,"p90":null}}`},
		// 0,180,360,600,750,1200: median 480, p90 975.
		{"chat duration", "chat-duration", newYear, `{"count":6,"median":480,"p90":975}`},
		{"chat duration one thread", "chat-duration", "from=2026-03-08&to=2026-03-08", `{"count":1,"median":480,"p90":480}`},

		{"chat missed", "chat-missed", newYear, `{"needed_human":5,"missed":2,"rate":0.4}`},
		{"chat missed empty", "chat-missed", "from=2026-06-01&to=2026-06-01", `{"needed_human":0,"missed":0,"rate":null}`},
		{"chat csat", "chat-csat", newYear, `{"threads":6,"good":3,"bad":1,"csat":0.75,"response_rate":0.6666666666666666}`},
		{"chat csat none rated", "chat-csat", "from=2026-03-08&to=2026-03-08", `{"threads":1,"good":0,"bad":0,"csat":null,"response_rate":0}`},

		{"bot containment", "bot-containment", newYear, `{"bots":[{"name":"Wynn AI","threads":3,"contained":1,"transferred":2,
			"containment_rate":0.3333333333333333,"transfer_rate":0.6666666666666666}]}`},
		{"bot containment all", "bot-containment", "from=2026-03-01&to=2027-01-02", `{"bots":[
			{"name":"Wynn AI","threads":3,"contained":1,"transferred":2,"containment_rate":0.3333333333333333,"transfer_rate":0.6666666666666666},
			{"name":"Agent Scrape","threads":1,"contained":0,"transferred":1,"containment_rate":0,"transfer_rate":1}]}`},
		{"bot containment empty", "bot-containment", "from=2026-06-01&to=2026-06-01", `{"bots":[]}`},

		{"leaderboard", "agent-leaderboard", newYear, `{"agents":[
			{"name":"Alice","tickets_closed":1,"chats":2,"ticket_first_response_median":2400,"chat_first_human_response_median":75,"csat":0.5,"good":1,"bad":1},
			{"name":"Bob","tickets_closed":0,"chats":1,"ticket_first_response_median":null,"chat_first_human_response_median":30,"csat":1,"good":1,"bad":0}]}`},
		{"leaderboard tickets only", "agent-leaderboard", newYear + "&source=tickets", `{"agents":[
			{"name":"Alice","tickets_closed":1,"chats":0,"ticket_first_response_median":2400,"chat_first_human_response_median":null,"csat":null,"good":0,"bad":0}]}`},
		{"leaderboard pipeline leaves chats out", "agent-leaderboard", "from=2026-12-01&to=2027-01-02&pipeline=Billing", `{"agents":[
			{"name":"Alice","tickets_closed":1,"chats":0,"ticket_first_response_median":2400,"chat_first_human_response_median":null,"csat":null,"good":0,"bad":0},
			{"name":"Carol","tickets_closed":0,"chats":0,"ticket_first_response_median":68400,"chat_first_human_response_median":null,"csat":null,"good":0,"bad":0}]}`},
		{"leaderboard empty", "agent-leaderboard", "from=2026-06-01&to=2026-06-01", `{"agents":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := run(t, ds, tc.id, tc.qs)
			if d := cmp.Diff(parse(t, tc.want), got, approx); d != "" {
				t.Errorf("%s?%s (-want +got):\n%s", tc.id, tc.qs, d)
			}
		})
	}
}

// TestHeatmapByHand checks the 7x24 cells: averages over the weekdays in range, null for a
// weekday the range does not contain, Monday first, local hours.
func TestHeatmapByHand(t *testing.T) {
	ds := fixture(t)
	f := func(v float64) *float64 { return &v }
	grid := func(present []int, set map[[2]int]float64) [][]*float64 {
		g := make([][]*float64, 7)
		for w := range g {
			g[w] = make([]*float64, 24)
		}
		for _, w := range present {
			for h := range 24 {
				g[w][h] = f(set[[2]int{w, h}])
			}
		}
		return g
	}
	type hm struct {
		Cells        [][]*float64 `json:"cells"`
		WeekendShare *float64     `json:"weekend_share"`
	}
	tests := []struct {
		name, qs string
		want     hm
	}{
		// Thu 12-31, Fri 01-01, Sat 01-02. Tickets T3 Thu 23, T4 Fri 8, T7 Sat 13; chats C1 Thu 22,
		// C2 Thu 23, C3 Fri 0, C4 Fri 10, C5 Sat 9, C6 Sat 11. Weekend: T7, C5, C6 = 3 of 9.
		{"new year", newYear, hm{grid([]int{3, 4, 5}, map[[2]int]float64{
			{3, 22}: 1, {3, 23}: 2, {4, 0}: 1, {4, 8}: 1, {4, 10}: 1, {5, 9}: 1, {5, 11}: 1, {5, 13}: 1,
		}), f(1.0 / 3)}},
		{"chats only", newYear + "&source=chats", hm{grid([]int{3, 4, 5}, map[[2]int]float64{
			{3, 22}: 1, {3, 23}: 1, {4, 0}: 1, {4, 10}: 1, {5, 9}: 1, {5, 11}: 1,
		}), f(2.0 / 6)}},
		// Spring-forward Sunday: T2 at 09, C7 at 03 (the hour after the gap).
		{"spring forward", "from=2026-03-08&to=2026-03-08", hm{grid([]int{6}, map[[2]int]float64{{6, 9}: 1, {6, 3}: 1}), f(1)}},
		// Two Sundays (12-20, 12-27) in 12-20..12-28: T5 Sun 10 -> 0.5; T8 Mon 14 -> 1.
		{"averages over weekdays", "from=2026-12-20&to=2026-12-28&pipeline=Support", hm{grid([]int{0, 1, 2, 3, 4, 5, 6}, map[[2]int]float64{{6, 10}: 0.5}), f(1)}},
		{"empty", "from=2026-06-01&to=2026-06-01", hm{grid([]int{0}, nil), nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := run(t, ds, "load-heatmap", tc.qs)
			if d := cmp.Diff(generic(t, tc.want), got, approx); d != "" {
				t.Errorf("load-heatmap?%s (-want +got):\n%s", tc.qs, d)
			}
		})
	}
}

// TestQuantileDefinition checks the contract's percentile on n = 0, 1, 2, 3 and more.
func TestQuantileDefinition(t *testing.T) {
	tests := []struct {
		xs          []float64
		median, p90 any
	}{
		{nil, nil, nil},
		{[]float64{7}, 7.0, 7.0},
		{[]float64{3, 1}, 2.0, 2.8},        // h = 0.9: 1 + 0.9*2
		{[]float64{3, 1, 2}, 2.0, 2.8},     // h = 1.8: 2 + 0.8*1
		{[]float64{10, 0, 5, 5}, 5.0, 8.5}, // h = 1.5 -> 5; h = 2.7 -> 5 + 0.7*5
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5.5, 9.1},
	}
	val := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	for _, tc := range tests {
		m := val(Quantile(append([]float64(nil), tc.xs...), 0.5))
		p := val(Quantile(append([]float64(nil), tc.xs...), 0.9))
		if m != tc.median || p != tc.p90 {
			t.Errorf("%v: median %v p90 %v, want %v %v", tc.xs, m, p, tc.median, tc.p90)
		}
	}
}

// TestQuantileMatchesSort checks the selection against a full sort on larger random inputs
// with many ties.
func TestQuantileMatchesSort(t *testing.T) {
	seed := uint64(1)
	next := func() float64 { seed = seed*6364136223846793005 + 1442695040888963407; return float64(seed>>40) / 1000 }
	for n := 1; n < 3000; n += 97 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = next()
			if i%3 == 0 {
				xs[i] = float64(int(xs[i]) % 7)
			}
		}
		sorted := append([]float64(nil), xs...)
		insertion(sorted)
		for _, p := range []float64{0, 0.5, 0.9, 1} {
			h := float64(n-1) * p
			lo := int(h)
			hi := lo
			if float64(lo) < h {
				hi = lo + 1
			}
			want := sorted[lo] + (h-float64(lo))*(sorted[hi]-sorted[lo])
			if got := *Quantile(append([]float64(nil), xs...), p); got != want {
				t.Fatalf("n=%d p=%v: %v, want %v", n, p, got, want)
			}
		}
	}
}

// TestResponseEnvelopeGolden checks the whole response of every widget on the default range
// (30 dates ending today) against golden files, and that no customer text is in any of them.
func TestResponseEnvelopeGolden(t *testing.T) {
	ds := fixture(t)
	for _, w := range All {
		t.Run(w.ID, func(t *testing.T) {
			resp, _ := run(t, ds, w.ID, "")
			got, err := json.MarshalIndent(resp, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			for _, secret := range []string{"SECRET", "subject", "comment"} {
				if bytes.Contains(got, []byte(secret)) {
					t.Errorf("response holds %q", secret)
				}
			}
			path := filepath.Join("testdata", w.ID+".json")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("%s (-want +got):\n%s", path, d)
			}
		})
	}
}

// TestEncodeRoundTrip checks that a stored dataset answers exactly as the built one.
func TestEncodeRoundTrip(t *testing.T) {
	ds := fixture(t)
	b, err := Encode(ds.Data)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	ds2, err := Load(d, "v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range All {
		_, a := run(t, ds, w.ID, newYear)
		_, b := run(t, ds2, w.ID, newYear)
		if d := cmp.Diff(a, b); d != "" {
			t.Errorf("%s after a round trip (-before +after):\n%s", w.ID, d)
		}
	}
	if _, err := Decode(b[:len(b)/2]); err == nil {
		t.Error("Decode of a truncated dataset: no error")
	}
	bad := ds.Data
	bad.Tickets.Agent = bad.Tickets.Agent[:1]
	if _, err := Load(bad, "x"); err == nil {
		t.Error("Load of uneven columns: no error")
	}
}

// TestHandMadeFiltersDoNotPanic: Filters not from ParseFilters (reversed, empty, too long)
// give an empty range, never a panic.
func TestHandMadeFiltersDoNotPanic(t *testing.T) {
	ds := fixture(t)
	for _, f := range []Filters{{}, {From: "2027-01-02", To: "2026-01-01"}, {From: "2020-01-01", To: "2027-01-01"}, {From: "x", To: "y"}} {
		for _, w := range All {
			r := ds.Compute(w, f)
			if _, err := json.Marshal(r); err != nil {
				t.Errorf("%s %+v: %v", w.ID, f, err)
			}
		}
	}
}
