package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/team"
)

const (
	hubspotToken = "pat-na1-11111111-SECRET-hubspot"
	livechatPAT  = "dal:SECRET-livechat-pat"
	goodSecret   = "projects/demo/secrets/hubspot-token/versions/latest"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Retention:                  365 * 24 * time.Hour,
		HubSpotBaseURL:             "https://api.hubapi.com",
		HubSpotRatePer10s:          100,
		HubSpotSearchRatePerSecond: 5,
		LiveChatBaseURL:            "https://api.livechatinc.com",
		LiveChatRatePerMinute:      180,
		LiveChatLookback:           48 * time.Hour,
		TopicSyncTickets:           "sync-tickets",
		TopicSyncChats:             "sync-chats",
		TopicRawBatches:            "raw-batches",
		TopicRunsCompleted:         "runs-completed",
		TopicDeadLetter:            "dead-letter",
		Lookback:                   15 * time.Minute,
		FetchBudget:                420 * time.Second,
		BatchRecords:               5000,
		BatchAge:                   20 * time.Second,
		LeaseTTL:                   30 * time.Minute,
		LogLevel:                   "info",
		WidgetRefresh:              5 * time.Second, WidgetStale: 3 * time.Hour,
		AskModel: "gemini-2.5-flash", AskDailyRequests: 500, AskDailyTokens: 2000000, AskMaxSteps: 6, AskTimeout: 45 * time.Second,
	}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreFields(Config{}, "Team")); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if c.Team == nil || c.Team.Timezone != "America/Halifax" {
		t.Errorf("Team = %+v, want the default team config", c.Team)
	}
}

func TestLoadEverything(t *testing.T) {
	dir := t.TempDir()
	teamFile := filepath.Join(dir, "team.yaml")
	if err := os.WriteFile(teamFile, []byte("timezone: America/Toronto\nmembers: [{name: Ann}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{
		"GOOGLE_CLOUD_PROJECT":           "demo-project",
		"SPREADSHEET_ID":                 "1AbC-dEf_123",
		"TEAM_CONFIG":                    teamFile,
		"RETENTION_DAYS":                 "30",
		"HUBSPOT_API_BASE_URL":           "http://127.0.0.1:9000/hubspot/",
		"HUBSPOT_TOKEN":                  hubspotToken,
		"HUBSPOT_RATE_PER_10S":           "150",
		"HUBSPOT_SEARCH_RATE_PER_SECOND": "4.5",
		"LIVECHAT_API_BASE_URL":          "http://127.0.0.1:9001",
		"LIVECHAT_ACCOUNT_ID":            "d24fa41e-bc16-41b8-a15b-9ca45ff7e0cf",
		"LIVECHAT_PAT_SECRET":            "projects/demo/secrets/livechat-pat/versions/3",
		"LIVECHAT_RATE_PER_MINUTE":       "60",
		"LIVECHAT_LOOKBACK_HOURS":        "0",
		"SHEETS_API_ENDPOINT":            "http://127.0.0.1:9002/",
		"PUBSUB_EMULATOR_HOST":           "localhost:8085",
		"FIRESTORE_EMULATOR_HOST":        "[::1]:8086",
		"TOPIC_SYNC_TICKETS":             "t-sync-tickets",
		"TOPIC_SYNC_CHATS":               "t-sync-chats",
		"TOPIC_RAW_BATCHES":              "t-raw",
		"TOPIC_RUNS_COMPLETED":           "t-done",
		"TOPIC_DEAD_LETTER":              "t-dlq",
		"LOOKBACK_MINUTES":               " 0 ",
		"FETCH_BUDGET_SECONDS":           "60",
		"BATCH_RECORDS":                  "100",
		"BATCH_SECONDS":                  "7",
		"LEASE_MINUTES":                  "5",
		"LOG_LEVEL":                      "WARNING",
	}
	c, err := Load(env(m), NeedHubSpot|NeedLiveChat|NeedSheets|NeedPubSub|NeedFirestore)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Project:                    "demo-project",
		SpreadsheetID:              "1AbC-dEf_123",
		TeamConfig:                 teamFile,
		Retention:                  30 * 24 * time.Hour,
		HubSpotBaseURL:             "http://127.0.0.1:9000/hubspot",
		HubSpotToken:               hubspotToken,
		HubSpotRatePer10s:          150,
		HubSpotSearchRatePerSecond: 4.5,
		LiveChatBaseURL:            "http://127.0.0.1:9001",
		LiveChatAccountID:          "d24fa41e-bc16-41b8-a15b-9ca45ff7e0cf",
		LiveChatPATSecret:          "projects/demo/secrets/livechat-pat/versions/3",
		LiveChatRatePerMinute:      60,
		LiveChatLookback:           0,
		SheetsEndpoint:             "http://127.0.0.1:9002/",
		PubSubEmulatorHost:         "localhost:8085",
		FirestoreEmulatorHost:      "[::1]:8086",
		TopicSyncTickets:           "t-sync-tickets",
		TopicSyncChats:             "t-sync-chats",
		TopicRawBatches:            "t-raw",
		TopicRunsCompleted:         "t-done",
		TopicDeadLetter:            "t-dlq",
		Lookback:                   0,
		FetchBudget:                time.Minute,
		BatchRecords:               100,
		BatchAge:                   7 * time.Second,
		LeaseTTL:                   5 * time.Minute,
		LogLevel:                   "warn",
		WidgetRefresh:              5 * time.Second, WidgetStale: 3 * time.Hour,
		AskModel: "gemini-2.5-flash", AskDailyRequests: 500, AskDailyTokens: 2000000, AskMaxSteps: 6, AskTimeout: 45 * time.Second,
	}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreFields(Config{}, "Team")); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	if c.Team.Timezone != "America/Toronto" || len(c.Team.Members) != 1 {
		t.Errorf("team file not loaded: %+v", c.Team)
	}
}

func TestLoadRequired(t *testing.T) {
	tests := []struct {
		need Need
		want []string // each must appear; "" = no error
	}{
		{0, nil},
		{NeedPubSub, []string{"GOOGLE_CLOUD_PROJECT: required for pubsub"}},
		{NeedFirestore | NeedPubSub, []string{"GOOGLE_CLOUD_PROJECT: required for pubsub|firestore"}},
		{NeedSheets, []string{"SPREADSHEET_ID: required for sheets"}},
		{NeedHubSpot, []string{"HUBSPOT_TOKEN: hubspot needs HUBSPOT_TOKEN or HUBSPOT_TOKEN_SECRET"}},
		{NeedLiveChat, []string{"LIVECHAT_ACCOUNT_ID: required for livechat", "LIVECHAT_PAT: livechat needs LIVECHAT_PAT or LIVECHAT_PAT_SECRET"}},
		{NeedHubSpot | NeedLiveChat | NeedSheets | NeedPubSub | NeedFirestore, []string{
			"GOOGLE_CLOUD_PROJECT", "SPREADSHEET_ID", "HUBSPOT_TOKEN", "LIVECHAT_ACCOUNT_ID", "LIVECHAT_PAT",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.need.String(), func(t *testing.T) {
			_, err := Load(env(nil), tt.need)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if n := len(strings.Split(err.Error(), "\n")); n != len(tt.want) {
				t.Errorf("%d lines, want %d:\n%v", n, len(tt.want), err)
			}
		})
	}
}

func TestLoadSecretSources(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		need      Need
		token     secrets.Secret
		tokenName string
		wantErr   string
	}{
		{"plain", map[string]string{"HUBSPOT_TOKEN": hubspotToken}, NeedHubSpot, hubspotToken, "", ""},
		{"secret manager", map[string]string{"HUBSPOT_TOKEN_SECRET": goodSecret}, NeedHubSpot, "", goodSecret, ""},
		{"both", map[string]string{"HUBSPOT_TOKEN": hubspotToken, "HUBSPOT_TOKEN_SECRET": goodSecret}, NeedHubSpot, "", "",
			"HUBSPOT_TOKEN: set HUBSPOT_TOKEN or HUBSPOT_TOKEN_SECRET, not both"},
		{"both, not needed", map[string]string{"HUBSPOT_TOKEN": hubspotToken, "HUBSPOT_TOKEN_SECRET": goodSecret}, 0, "", "",
			"not both"},
		{"token pasted as secret name", map[string]string{"HUBSPOT_TOKEN_SECRET": hubspotToken}, NeedHubSpot, "", "",
			"HUBSPOT_TOKEN_SECRET: not a Secret Manager version name"},
		{"not needed, unset", nil, 0, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(tt.env), tt.need)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), hubspotToken) {
					t.Errorf("the error shows the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.HubSpotToken != tt.token || c.HubSpotTokenSecret != tt.tokenName {
				t.Errorf("token %q / %q, want %q / %q", string(c.HubSpotToken), c.HubSpotTokenSecret, string(tt.token), tt.tokenName)
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	badTeam := filepath.Join(dir, "team.yaml")
	if err := os.WriteFile(badTeam, []byte("timezone: Mars/Base\nworkdays: [Caturday]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{
		"SPREADSHEET_ID":                 "https://docs.google.com/spreadsheets/d/abc/edit",
		"TEAM_CONFIG":                    badTeam,
		"RETENTION_DAYS":                 "0",
		"HUBSPOT_API_BASE_URL":           "https://user:" + hubspotToken + "@api.hubapi.com",
		"HUBSPOT_TOKEN_SECRET":           hubspotToken,
		"HUBSPOT_RATE_PER_10S":           "ten",
		"HUBSPOT_SEARCH_RATE_PER_SECOND": "-1",
		"LIVECHAT_API_BASE_URL":          "ftp://api.livechatinc.com",
		"LIVECHAT_ACCOUNT_ID":            "a:b",
		"LIVECHAT_PAT":                   livechatPAT,
		"LIVECHAT_PAT_SECRET":            "projects/demo/secrets/pat/versions/1",
		"LIVECHAT_RATE_PER_MINUTE":       "-1",
		"LIVECHAT_LOOKBACK_HOURS":        "721",
		"SHEETS_API_ENDPOINT":            "localhost:9000",
		"PUBSUB_EMULATOR_HOST":           "http://localhost:8085",
		"FIRESTORE_EMULATOR_HOST":        "localhost",
		"TOPIC_SYNC_TICKETS":             "goog-topic",
		"TOPIC_SYNC_CHATS":               "x",
		"TOPIC_RAW_BATCHES":              "dead-letter",
		"LOOKBACK_MINUTES":               "1441",
		"FETCH_BUDGET_SECONDS":           "3600",
		"BATCH_RECORDS":                  "1e3",
		"LEASE_MINUTES":                  "30",
		"LOG_LEVEL":                      "verbose",
	}
	_, err := Load(env(m), NeedHubSpot|NeedPubSub)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, w := range []string{
		"GOOGLE_CLOUD_PROJECT: required for pubsub",
		`SPREADSHEET_ID: "https://docs.google.com/spreadsheets/d/abc/edit" is not a spreadsheet id`,
		`TEAM_CONFIG: team config ` + badTeam, `timezone "Mars/Base"`, `"Caturday" is not a day`,
		"RETENTION_DAYS: 0 is out of range (1 to 3650)",
		"HUBSPOT_API_BASE_URL: must not carry credentials",
		"HUBSPOT_TOKEN_SECRET: not a Secret Manager version name",
		`HUBSPOT_RATE_PER_10S: "ten" is not a whole number`,
		"HUBSPOT_SEARCH_RATE_PER_SECOND: -1 is out of range",
		`LIVECHAT_API_BASE_URL: "ftp://api.livechatinc.com" is not an http or https URL`,
		"LIVECHAT_ACCOUNT_ID: must not contain ':'",
		"LIVECHAT_PAT: set LIVECHAT_PAT or LIVECHAT_PAT_SECRET, not both",
		"LIVECHAT_RATE_PER_MINUTE: -1 is out of range",
		"LIVECHAT_LOOKBACK_HOURS: 721 is out of range (0 to 720)",
		`SHEETS_API_ENDPOINT: "localhost:9000" is not an http or https URL`,
		`PUBSUB_EMULATOR_HOST: "http://localhost:8085" is not host:port`,
		`FIRESTORE_EMULATOR_HOST: "localhost" is not host:port`,
		`TOPIC_SYNC_TICKETS: "goog-topic" is not a Pub/Sub topic id`,
		`TOPIC_SYNC_CHATS: "x" is not a Pub/Sub topic id`,
		`TOPIC_DEAD_LETTER: "dead-letter" is also TOPIC_RAW_BATCHES`,
		"LOOKBACK_MINUTES: 1441 is out of range (0 to 1440)",
		"LEASE_MINUTES: 30m0s must be longer than FETCH_BUDGET_SECONDS (1h0m0s)",
		`BATCH_RECORDS: "1e3" is not a whole number`,
		`LOG_LEVEL: "verbose" is not debug, info, warn or error`,
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q", w)
		}
	}
	for _, secret := range []string{hubspotToken, livechatPAT, "SECRET-"} {
		if strings.Contains(msg, secret) {
			t.Errorf("the error shows a secret %q:\n%s", secret, msg)
		}
	}
	if t.Failed() {
		t.Logf("error:\n%s", msg)
	}
}

func TestLoadRanges(t *testing.T) {
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"RETENTION_DAYS", "1", true}, {"RETENTION_DAYS", "3650", true}, {"RETENTION_DAYS", "3651", false},
		{"RETENTION_DAYS", "1.5", false},
		{"HUBSPOT_RATE_PER_10S", "1000", true}, {"HUBSPOT_RATE_PER_10S", "0", true}, {"HUBSPOT_RATE_PER_10S", "-1", false},
		{"HUBSPOT_SEARCH_RATE_PER_SECOND", "0.5", true}, {"HUBSPOT_SEARCH_RATE_PER_SECOND", "0", true}, {"HUBSPOT_SEARCH_RATE_PER_SECOND", "-0.5", false}, {"HUBSPOT_SEARCH_RATE_PER_SECOND", "101", false},
		{"HUBSPOT_SEARCH_RATE_PER_SECOND", "NaN", false},
		{"LIVECHAT_RATE_PER_MINUTE", "10000", true}, {"LIVECHAT_RATE_PER_MINUTE", "10001", false},
		{"LOOKBACK_MINUTES", "1440", true}, {"LOOKBACK_MINUTES", "-1", false},
		{"LIVECHAT_LOOKBACK_HOURS", "720", true}, {"LIVECHAT_LOOKBACK_HOURS", "0", true}, {"LIVECHAT_LOOKBACK_HOURS", "-1", false},
		{"LIVECHAT_LOOKBACK_HOURS", "1.5", false},
		{"FETCH_BUDGET_SECONDS", "10", true}, {"FETCH_BUDGET_SECONDS", "9", false},
		{"BATCH_RECORDS", "100000", true}, {"BATCH_RECORDS", "100001", false},
		{"BATCH_SECONDS", "1", true}, {"BATCH_SECONDS", "3600", true}, {"BATCH_SECONDS", "0", false}, {"BATCH_SECONDS", "2.5", false},
		{"LEASE_MINUTES", "8", true}, {"LEASE_MINUTES", "7", false}, // the default budget is 7 minutes
		{"LOG_LEVEL", "Debug", true}, {"LOG_LEVEL", "error", true}, {"LOG_LEVEL", "trace", false},
		{"HUBSPOT_API_BASE_URL", "https://api.hubapi.com", true}, {"HUBSPOT_API_BASE_URL", "api.hubapi.com", false},
		{"HUBSPOT_API_BASE_URL", "https://api.hubapi.com?x=1", false}, {"HUBSPOT_API_BASE_URL", "https://", false},
		{"TOPIC_RAW_BATCHES", "raw_batches.v2", true}, {"TOPIC_RAW_BATCHES", "2raw", false},
		{"TOPIC_RAW_BATCHES", "raw/batches", false},
		{"GOOGLE_CLOUD_PROJECT", "demo-project", true}, {"GOOGLE_CLOUD_PROJECT", "projects/demo", false},
		{"SPREADSHEET_ID", "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", true},
	}
	for _, tt := range tests {
		_, err := Load(env(map[string]string{tt.name: tt.value}), 0)
		if (err == nil) != tt.ok {
			t.Errorf("%s=%q: error %v, want ok=%v", tt.name, tt.value, err, tt.ok)
		}
	}
}

// TestVars checks that Vars lists exactly the variables Load reads, each documented.
func TestVars(t *testing.T) {
	var read []string
	getenv := func(k string) string {
		if !slices.Contains(read, k) {
			read = append(read, k)
		}
		return ""
	}
	if _, err := Load(getenv, 0); err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, v := range Vars() {
		listed = append(listed, v.Name)
		if v.Description == "" || !strings.HasSuffix(v.Description, ".") {
			t.Errorf("%s: description %q is not a sentence", v.Name, v.Description)
		}
		if v.Name != strings.ToUpper(v.Name) {
			t.Errorf("%s is not upper case", v.Name)
		}
	}
	if diff := cmp.Diff(listed, read); diff != "" {
		t.Errorf("Vars vs variables Load reads, in order (-vars +read):\n%s", diff)
	}
	if len(listed) != 44 {
		t.Errorf("%d variables, want 44", len(listed))
	}
	// The defaults listed are the ones Load applies: loading them explicitly changes nothing.
	defaults := map[string]string{}
	for _, v := range Vars() {
		defaults[v.Name] = v.Default
	}
	a, errA := Load(env(nil), 0)
	b, errB := Load(env(defaults), 0)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if diff := cmp.Diff(a, b, cmpopts.IgnoreUnexported(team.Config{}), cmpopts.IgnoreFields(team.Config{}, "Location")); diff != "" {
		t.Errorf("explicit defaults differ (-unset +explicit):\n%s", diff)
	}
	Vars()[0].Name = "CHANGED" // a copy
	if Vars()[0].Name == "CHANGED" {
		t.Error("Vars returned its backing array")
	}
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	c, err := Load(env(map[string]string{
		"HUBSPOT_TOKEN": hubspotToken, "LIVECHAT_PAT": livechatPAT, "LIVECHAT_ACCOUNT_ID": "acc",
	}), NeedHubSpot|NeedLiveChat)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{
		c.String(), fmt.Sprint(c), fmt.Sprint(*c), fmt.Sprintf("%+v %#v %s", c, *c, c), string(js),
	}
	for _, out := range outs {
		for _, s := range []string{hubspotToken, livechatPAT} {
			if strings.Contains(out, s) {
				t.Errorf("a secret is shown in:\n%s", out)
			}
		}
	}
	s := c.String()
	for _, w := range []string{"HUBSPOT_TOKEN=[REDACTED]\n", "LIVECHAT_PAT=[REDACTED]\n", "HUBSPOT_TOKEN_SECRET=\n",
		"TEAM_CONFIG=(default) [America/Halifax, 0 members]\n", "RETENTION_DAYS=365\n", "FETCH_BUDGET_SECONDS=420\n"} {
		if !strings.Contains(s, w) {
			t.Errorf("String() lacks %q:\n%s", w, s)
		}
	}
	if n := strings.Count(s, "\n"); n != len(Vars()) {
		t.Errorf("String() has %d lines, want %d", n, len(Vars()))
	}
	// Plain string fields hold the values for the code that needs them.
	if string(c.HubSpotToken) != hubspotToken {
		t.Error("HubSpotToken does not hold the token")
	}
}

func TestNeedString(t *testing.T) {
	tests := []struct {
		n    Need
		want string
	}{
		{0, "none"},
		{NeedHubSpot, "hubspot"},
		{NeedSheets | NeedFirestore, "sheets|firestore"},
		{NeedHubSpot | NeedLiveChat | NeedSheets | NeedPubSub | NeedFirestore, "hubspot|livechat|sheets|pubsub|firestore"},
	}
	for _, tt := range tests {
		if got := tt.n.String(); got != tt.want {
			t.Errorf("Need(%d).String() = %q, want %q", tt.n, got, tt.want)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the README's configuration table")

// TestREADMETable: the README's configuration table is the one Table renders from the spec
// (-update rewrites it).
func TestREADMETable(t *testing.T) {
	const path = "../../README.md"
	const begin, end = "<!-- config table: generated from shared/config (go test ./shared/config -run TestREADMETable -update) -->\n", "<!-- end config table -->"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated configuration table (markers %q ... %q)", path, begin, end)
	}
	got, want := s[i+len(begin):j], Table()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the README's configuration table is stale; run go test ./shared/config -run TestREADMETable -update\n%s",
		cmp.Diff(got, want))
}

// TestSpec: every variable renders from a Config field (TEAM_CONFIG apart), a ranged default
// is inside its range, a unit is only on a ranged whole number, a pair's partner exists and
// is a Secret Manager name, and the functions named are the deployed ones.
func TestSpec(t *testing.T) {
	c, err := Load(env(nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars() {
		if v.field == nil && v.Name != "TEAM_CONFIG" {
			t.Errorf("%s: no Config field", v.Name)
		}
		if v.field != nil && v.Default != "" && v.show(c) != v.Default && v.Name != "HUBSPOT_API_BASE_URL" && v.Name != "LIVECHAT_API_BASE_URL" {
			t.Errorf("%s: the default %q loads and prints as %q", v.Name, v.Default, v.show(c))
		}
		if v.Ranged() {
			var f float64
			if _, err := fmt.Sscan(v.Default, &f); err != nil || f < v.Min || f > v.Max {
				t.Errorf("%s: default %q outside %s", v.Name, v.Default, v.rangeText())
			}
			if !strings.Contains(v.Doc(), "("+v.rangeText()+").") {
				t.Errorf("%s: Doc %q does not give the range", v.Name, v.Doc())
			}
		} else if v.Unit != 0 {
			t.Errorf("%s: a unit without a range", v.Name)
		}
		if v.Alt != "" && (lookupVar(v.Alt).Name != v.Alt || !strings.HasSuffix(v.Alt, "_SECRET")) {
			t.Errorf("%s: pair %q", v.Name, v.Alt)
		}
		for _, fn := range v.Functions {
			if !slices.Contains(Functions(), fn) {
				t.Errorf("%s: unknown function %q", v.Name, fn)
			}
		}
	}
	for fn, want := range map[string][]string{
		FetchTickets: {"GOOGLE_CLOUD_PROJECT", "HUBSPOT_TOKEN|HUBSPOT_TOKEN_SECRET", "TOPIC_SYNC_TICKETS", "FETCH_BUDGET_SECONDS"},
		Process:      {"SPREADSHEET_ID", "TOPIC_RUNS_COMPLETED", "LEASE_MINUTES"},
		WidgetAPI:    {"WIDGETAPI_ADMIN_KEY", "ASK_DAILY_TOKENS"},
	} {
		for _, w := range want {
			if !slices.Contains(Env(fn), w) {
				t.Errorf("Env(%s) = %v, lacks %s", fn, Env(fn), w)
			}
		}
	}
	if slices.Contains(Env(Publish), "HUBSPOT_TOKEN|HUBSPOT_TOKEN_SECRET") {
		t.Error("publish reads the HubSpot token")
	}
}
