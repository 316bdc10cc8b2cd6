package chats

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/livechat/livechatfake"
	"supportsync.dev/shared/normalize"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/team"
)

var updateChats = flag.Bool("update", false, "rewrite testdata/chats/*.golden")

var chatsSyncedAt = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func chatsTeam(t testing.TB) *team.Config {
	t.Helper()
	tc, err := team.Load(filepath.Join("testdata", "chats_team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// renderChats prints a result the way a person checks it: one block per row, column: value.
func renderChats(r normalize.Result) string {
	var b strings.Builder
	for i, row := range r.Rows {
		fmt.Fprintf(&b, "== row %d\n", i+1)
		for j, c := range table.Chats.Columns {
			fmt.Fprintf(&b, "%s: %s", c.Name, row[j].String())
			if row[j].Kind != table.Empty && row[j].Kind != c.Kind {
				fmt.Fprintf(&b, " (%s, want %s)", row[j].Kind, c.Kind)
			}
			b.WriteByte('\n')
		}
	}
	for _, rj := range r.Rejected {
		fmt.Fprintf(&b, "== rejected %s: %s\n", rj.ID, rj.Reason)
	}
	fmt.Fprintf(&b, "== warnings: %d\n", r.Warnings)
	for _, w := range r.WarningSamples {
		fmt.Fprintf(&b, "- %s\n", w)
	}
	return b.String()
}

// customerPII lists every customer name and email a payload carries (users and form answers).
func customerPII(p livechat.Payload) []string {
	var out []string
	for _, c := range p.Chats {
		for _, u := range c.Users {
			if u.Type == livechat.UserCustomer {
				out = append(out, u.Name, u.Email)
			}
		}
		for _, e := range c.Thread.Events {
			if len(e.Fields) > 0 {
				var fs []struct{ Answer any }
				_ = json.Unmarshal(e.Fields, &fs)
				for _, f := range fs {
					if s, ok := f.Answer.(string); ok {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

func assertNoPII(t *testing.T, out string, pii []string) {
	t.Helper()
	for _, s := range pii {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("customer data %q in the output", s)
		}
	}
}

func TestChatsGolden(t *testing.T) {
	tc := chatsTeam(t)
	files, err := filepath.Glob(filepath.Join("testdata", "chats", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var p livechat.Payload
			if err := json.Unmarshal(data, &p); err != nil {
				t.Fatal(err)
			}
			got := renderChats(Normalize(p, tc, chatsSyncedAt))
			assertNoPII(t, got, customerPII(p))
			golden := strings.TrimSuffix(f, ".json") + ".golden"
			if *updateChats {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestChatsGolden -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", name, diff)
			}
		})
	}
}

// TestChatsRules checks the key facts of each case directly, so that a careless -update
// cannot bless a regression.
func TestChatsRules(t *testing.T) {
	tc := chatsTeam(t)
	get := func(name string) map[string]map[string]string {
		data, err := os.ReadFile(filepath.Join("testdata", "chats", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var p livechat.Payload
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]string{}
		for _, row := range Normalize(p, tc, chatsSyncedAt).Rows {
			m := map[string]string{}
			for j, c := range table.Chats.Columns {
				m[c.Name] = row[j].String()
			}
			out[row.Key()] = m
		}
		return out
	}
	type want struct{ file, thread, col, val string }
	for _, w := range []want{
		{"human", "TH1", "Handled By", "Human"},
		{"human", "TH1", "Agent", "Anna"},
		{"human", "TH1", "First Response Seconds", "90.25"},
		{"human", "TH1", "First Human Response Seconds", "90.25"},
		{"human", "TH1", "Customer Messages", "2"},
		{"human", "TH1", "Agent Messages", "2"},
		{"human", "TH1", "Rating", "good"},
		{"human", "TH1", "Tags", "billing, refund"},
		{"human", "TH1", "Started", "2026-11-19 10:00:00"},
		{"human", "TH1", "Ended", "2026-11-19 10:05:00"}, // the last message, not the rating or the archive after it
		{"human", "TH1", "Duration Minutes", "5"},
		{"bot", "TH2", "Handled By", "Bot"},
		{"bot", "TH2", "Bot", "Wynn AI"},
		{"bot", "TH2", "Transferred", "FALSE"},
		{"bot", "TH2", "Group", "Technical Support"},
		{"bot", "TH2", "First Human Response Seconds", ""},
		{"bot_to_human_transfer", "TH3", "Handled By", "Bot → Human"},
		{"bot_to_human_transfer", "TH3", "Bot", "Agent Scrape"},
		{"bot_to_human_transfer", "TH3", "Agent", "Ben"},
		{"bot_to_human_transfer", "TH3", "First Response Seconds", "2"},
		{"bot_to_human_transfer", "TH3", "First Human Response Seconds", "150"},
		{"bot_to_human_transfer", "TH3", "Rating", "bad"},
		{"bot_to_human_silent", "TH4", "Handled By", "Bot → Human"},
		{"bot_to_human_silent", "TH4", "Bot", "Helper Bot"},
		{"bot_to_human_silent", "TH4", "Transferred", "TRUE"},
		{"bot_to_human_silent", "TH4", "First Human Response Seconds", "120"},
		{"transfer_unanswered", "TH5", "Handled By", "Bot"},
		{"transfer_unanswered", "TH5", "Transferred", "TRUE"},
		{"transfer_unanswered", "TH5", "First Human Response Seconds", ""},
		{"unanswered", "TH6", "Handled By", "Unanswered"},
		{"unanswered", "TH6", "Agent", ""},
		{"unanswered", "TH6", "Agent Messages", "0"},
		{"two_threads", "TH7a", "Handled By", "Human"},
		{"two_threads", "TH7b", "Chat ID", "CH7"},
		{"offsets", "TH8", "First Response Seconds", "65.25"},
		{"offsets", "TH8", "Started", "2026-11-19 09:00:00"},
		{"dst", "TH9spring", "Started", "2026-03-08 01:30:00"},
		{"dst", "TH9spring", "Ended", "2026-03-08 03:30:00"},
		{"dst", "TH9spring", "Duration Minutes", "60"},
		{"dst", "TH10fall", "Started", "2026-11-01 01:30:00"},
		{"dst", "TH10fall", "Ended", "2026-11-01 01:30:00"},
		{"dst", "TH10fall", "Duration Minutes", "60"},
		{"dst", "TH11holiday", "Weekend", "TRUE"},
		{"utc_midnight", "TH12fri", "Weekend", "FALSE"},
		{"utc_midnight", "TH13sun", "Weekend", "TRUE"},
		{"utc_midnight", "TH14mon", "Weekend", "FALSE"},
		{"missing_events", "TH15restricted", "Handled By", "Unanswered"},
		{"missing_events", "TH15restricted", "Ended", "2025-01-10 08:00:00"}, // no message: Ended is Started
		{"missing_events", "TH15restricted", "Duration Minutes", "0"},
		{"missing_events", "TH16bad", "Started", ""},
		{"missing_events", "TH16bad", "Rating", ""},
		{"unknown_authors", "TH18", "Agent", "stranger@example.com"},
		{"unknown_authors", "TH18", "Agent Messages", "3"},
		{"unknown_authors", "TH18", "Group", "9"},
	} {
		rows := get(w.file)
		if got := rows[w.thread][w.col]; got != w.val {
			t.Errorf("%s %s %s = %q, want %q", w.file, w.thread, w.col, got, w.val)
		}
	}
}

func TestChatsFakeDatasetHasNoPII(t *testing.T) {
	ds := livechatfake.Generate(3, 3000, chatsSyncedAt)
	p := ds.Payload()
	res := Normalize(p, chatsTeam(t), chatsSyncedAt)
	if len(res.Rows) != ds.Len() || len(res.Rejected) != 0 {
		t.Fatalf("%d rows, %d rejected for %d threads", len(res.Rows), len(res.Rejected), ds.Len())
	}
	var b strings.Builder
	handled := map[string]int{}
	for _, row := range res.Rows {
		for _, c := range row {
			b.WriteString(c.String())
			b.WriteByte('\t')
		}
		handled[row[chatColHandledBy].S]++
	}
	b.WriteString(strings.Join(res.WarningSamples, "\n"))
	assertNoPII(t, b.String(), ds.CustomerPII())
	for _, h := range []string{Human, Bot, BotToHuman, Unanswered} {
		if handled[h] == 0 {
			t.Errorf("no %s thread in the fake dataset: %v", h, handled)
		}
	}
	// The generated shapes land where they should.
	for _, row := range res.Rows[:500] {
		k, ok := ds.KindOf(row.Key())
		if !ok {
			continue
		}
		want := map[livechatfake.Kind]string{livechatfake.BotContained: Bot, livechatfake.BotHandover: BotToHuman,
			livechatfake.BotHandoverSilent: BotToHuman, livechatfake.TransferUnanswered: Bot, livechatfake.HumanOnly: Human,
			livechatfake.AgentFirst: Human, livechatfake.Unanswered: Unanswered, livechatfake.Restricted: Unanswered}[k]
		if got := row[chatColHandledBy].S; got != want {
			t.Errorf("thread %s of kind %v: Handled By %q, want %q", row.Key(), k, got, want)
		}
		if k == livechatfake.TransferUnanswered && !row[chatColTransferred].B {
			t.Errorf("thread %s: transfer nobody answered is not Transferred", row.Key())
		}
	}
}

func TestChatsRatedLater(t *testing.T) {
	ds := livechatfake.Generate(5, 200, chatsSyncedAt)
	var id string
	for _, c := range ds.Chats() {
		if c.Thread.Properties.Rating == nil && len(c.Thread.Events) > 0 {
			id = c.Thread.ID
			break
		}
	}
	tc := chatsTeam(t)
	rating := func() (string, string) {
		c, _ := ds.Chat(id)
		r := Normalize(livechat.Payload{Chats: []livechat.Chat{c}, Bots: ds.Bots, Agents: ds.Agents, Groups: ds.Groups}, tc, chatsSyncedAt)
		return r.Rows[0][chatColRating].String(), r.Rows[0][chatColRatingComment].String()
	}
	if r, _ := rating(); r != "" {
		t.Fatalf("unrated thread has rating %q", r)
	}
	bad := 0
	ds.SetRating(id, &bad, "slow", chatsSyncedAt)
	if r, c := rating(); r != "bad" || c != "slow" {
		t.Fatalf("after rating: %q %q", r, c)
	}
	good := 1
	ds.SetRating(id, &good, "", chatsSyncedAt.Add(time.Hour))
	if r, c := rating(); r != "good" || c != "" {
		t.Fatalf("after re-rating: %q %q", r, c)
	}
}

// benchChats builds threads of 30 events: customer, bot, transfer, human, with a note.
func benchChats(n int) livechat.Payload {
	ds := livechatfake.Generate(1, 1, chatsSyncedAt)
	p := livechat.Payload{Agents: ds.Agents, Bots: ds.Bots, Groups: ds.Groups}
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cust := "c1f0e2d4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	for i := range n {
		tid := "T" + strconv.Itoa(i)
		t0 := start.Add(time.Duration(i) * time.Minute)
		evs := make([]livechat.Event, 30)
		for j := range evs {
			e := livechat.Event{ID: tid + "_" + strconv.Itoa(j), Type: livechat.EventMessage, Visibility: livechat.VisibilityAll,
				CreatedAt: t0.Add(time.Duration(j) * 7 * time.Second).Format("2006-01-02T15:04:05.000000Z07:00"), Text: "text"}
			switch {
			case j%2 == 0:
				e.AuthorID = cust
			case j < 6:
				e.AuthorID = livechatfake.WynnAIID
			case j == 7:
				e.Type, e.SystemMessageType = livechat.EventSystemMessage, livechat.SystemChatTransferred
			case j == 9:
				e.AuthorID, e.Visibility = ds.Agents[0].ID, livechat.VisibilityAgents
			default:
				e.AuthorID = ds.Agents[i%len(ds.Agents)].ID
			}
			evs[j] = e
		}
		s := 1
		p.Chats = append(p.Chats, livechat.Chat{ID: "C" + strconv.Itoa(i/2), Users: []livechat.User{
			{ID: cust, Type: livechat.UserCustomer, Name: "Maria Lopez", Email: "maria@example.org"},
			{ID: livechatfake.WynnAIID, Type: livechat.UserAgent, Name: "Wynn AI"},
			{ID: ds.Agents[i%len(ds.Agents)].ID, Type: livechat.UserAgent, Name: ds.Agents[i%len(ds.Agents)].Name},
		}, Thread: livechat.Thread{ID: tid, CreatedAt: evs[0].CreatedAt, Events: evs, Tags: []string{"billing", "vip"},
			Access: &livechat.Access{GroupIDs: []int{1}}, Properties: livechat.ThreadProperties{Rating: &livechat.Rating{Score: &s}}}})
	}
	return p
}

func BenchmarkChats(b *testing.B) {
	const threads = 10000
	p := benchChats(threads)
	tc := chatsTeam(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := Normalize(p, tc, chatsSyncedAt)
		if len(r.Rows) != threads {
			b.Fatal(len(r.Rows))
		}
	}
	b.StopTimer()
	per := b.Elapsed().Seconds() / float64(b.N) / threads
	b.ReportMetric(1/per, "threads/s")
	b.ReportMetric(float64(testing.AllocsPerRun(1, func() { Normalize(p, tc, chatsSyncedAt) }))/threads, "allocs/thread")
}

func TestChatFastTimeMatchesTimeParse(t *testing.T) {
	for _, s := range []string{
		"2026-03-08T05:30:00.000000Z", "2024-02-29T23:59:59.999999Z", "2000-01-01T00:00:00.000000Z",
		"2100-12-31T23:59:59.999999Z", "2025-02-29T00:00:00.000000Z", "2026-13-01T00:00:00.000000Z",
		"2026-11-31T00:00:00.000000Z", "2026-11-30T24:00:00.000000Z", "1999-12-31T23:59:59.999999Z",
		"2026-11-30T10:0a:00.000000Z", "2026-11-30T10:00:60.000000Z",
	} {
		fast, fok := chatFastTime(s)
		tt, err := time.Parse(time.RFC3339Nano, s)
		sok := err == nil && normalize.YearOK(tt.Year())
		if fok && (!sok || fast != tt.UnixMicro()) {
			t.Errorf("%s: fast %d, time.Parse %v %v", s, fast, tt.UnixMicro(), err)
		}
		if !fok && sok {
			t.Errorf("%s: fast path refused a valid time", s)
		}
	}
}
