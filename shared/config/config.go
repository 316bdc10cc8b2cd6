// Package config is the one place supportsync reads its environment. Load turns the
// environment variables into a typed, validated Config and reports every problem at once;
// Vars lists every variable with its default and meaning (for the README, the Terraform tests
// and `supportsync check`). Secrets are never echoed: not in errors, not when a Config is
// printed.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/team"
)

// Need says which parts a caller uses; Load requires the variables of those parts only.
// Variables that are set are always validated, needed or not.
type Need uint

// The parts a caller can need.
const (
	// NeedHubSpot requires HUBSPOT_TOKEN or HUBSPOT_TOKEN_SECRET.
	NeedHubSpot Need = 1 << iota
	// NeedLiveChat requires LIVECHAT_ACCOUNT_ID and LIVECHAT_PAT or LIVECHAT_PAT_SECRET.
	NeedLiveChat
	// NeedSheets requires SPREADSHEET_ID.
	NeedSheets
	// NeedPubSub requires GOOGLE_CLOUD_PROJECT.
	NeedPubSub
	// NeedFirestore requires GOOGLE_CLOUD_PROJECT.
	NeedFirestore
	// NeedWidgets requires WIDGETAPI_ADMIN_KEY and WIDGETAPI_SIGNING_KEYS.
	NeedWidgets
)

var needNames = []string{"hubspot", "livechat", "sheets", "pubsub", "firestore", "widgets"}

// String lists the parts, "hubspot|pubsub"; "none" for 0.
func (n Need) String() string {
	var parts []string
	for i, name := range needNames {
		if n&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// Config is the validated configuration of one process.
type Config struct {
	// Project is GOOGLE_CLOUD_PROJECT, the project of Pub/Sub, Firestore and Secret Manager.
	Project string
	// SpreadsheetID is SPREADSHEET_ID, the spreadsheet that holds the tabs.
	SpreadsheetID string
	// TeamConfig is TEAM_CONFIG, the path of the team file ("" = the built-in default).
	TeamConfig string
	// Team is the loaded, validated team configuration (never nil).
	Team *team.Config
	// Retention is RETENTION_DAYS: rows older than this are removed.
	Retention time.Duration

	// HubSpotBaseURL is HUBSPOT_API_BASE_URL, without a trailing slash.
	HubSpotBaseURL string
	// HubSpotToken is HUBSPOT_TOKEN; HubSpotTokenSecret is HUBSPOT_TOKEN_SECRET. At most one
	// is set; secrets.Resolver.Resolve(ctx, HubSpotToken, HubSpotTokenSecret) gives the token.
	HubSpotToken       secrets.Secret
	HubSpotTokenSecret string
	// HubSpotRatePer10s is HUBSPOT_RATE_PER_10S, the general request budget per 10 seconds.
	HubSpotRatePer10s int
	// HubSpotSearchRatePerSecond is HUBSPOT_SEARCH_RATE_PER_SECOND, the search API budget.
	HubSpotSearchRatePerSecond float64

	// LiveChatBaseURL is LIVECHAT_API_BASE_URL, without a trailing slash.
	LiveChatBaseURL string
	// LiveChatAccountID is LIVECHAT_ACCOUNT_ID, the user name of the PAT's Basic auth.
	LiveChatAccountID string
	// LiveChatPAT is LIVECHAT_PAT; LiveChatPATSecret is LIVECHAT_PAT_SECRET. At most one is set.
	LiveChatPAT       secrets.Secret
	LiveChatPATSecret string
	// LiveChatRatePerMinute is LIVECHAT_RATE_PER_MINUTE.
	LiveChatRatePerMinute int
	// LiveChatLookback is LIVECHAT_LOOKBACK_HOURS: how far before the cursor an incremental
	// chats run re-reads. list_archives filters by thread start, so a rating given after a
	// thread ended is seen only while the thread is inside this window.
	LiveChatLookback time.Duration

	// SheetsEndpoint is SHEETS_API_ENDPOINT: another Sheets server, used without Google
	// credentials; "" = Google.
	SheetsEndpoint string
	// PubSubEmulatorHost and FirestoreEmulatorHost are the standard emulator variables
	// (host:port), recorded for status output; the client libraries read them themselves.
	PubSubEmulatorHost    string
	FirestoreEmulatorHost string

	// The topic ids (not full names): TOPIC_SYNC_TICKETS, TOPIC_SYNC_CHATS,
	// TOPIC_RAW_BATCHES, TOPIC_RUNS_COMPLETED, TOPIC_DEAD_LETTER.
	TopicSyncTickets   string
	TopicSyncChats     string
	TopicRawBatches    string
	TopicRunsCompleted string
	TopicDeadLetter    string

	// Lookback is LOOKBACK_MINUTES: how far before the cursor an incremental run re-reads.
	Lookback time.Duration
	// FetchBudget is FETCH_BUDGET_SECONDS: how long one fetch invocation works before it
	// checkpoints and continues in a follow-up invocation.
	FetchBudget time.Duration
	// BatchRecords is BATCH_RECORDS: the most records in one raw batch.
	BatchRecords int
	// BatchAge is BATCH_SECONDS: the most a fetched record waits in a pending batch before
	// it is published.
	BatchAge time.Duration
	// LeaseTTL is LEASE_MINUTES: how long a run's lease lasts without renewal.
	LeaseTTL time.Duration
	// LogLevel is LOG_LEVEL, one of debug, info, warn, error.
	LogLevel string

	// WidgetAdminKey is WIDGETAPI_ADMIN_KEY: a request bearing it reads everything and mints
	// embed tokens.
	WidgetAdminKey secrets.Secret
	// WidgetSigningKeys is WIDGETAPI_SIGNING_KEYS: the embed-token keys, the first signs and
	// every one verifies (rotation).
	WidgetSigningKeys []SigningKey
	// WidgetOrigins is WIDGETAPI_ALLOWED_ORIGINS: the browser origins allowed by CORS.
	WidgetOrigins []string
	// WidgetFrameAncestors is WIDGETAPI_FRAME_ANCESTORS: the origins allowed to frame the
	// widget pages (nil: widgetapi's default, HubSpot's app hosts).
	WidgetFrameAncestors []string
	// WidgetRefresh is WIDGETAPI_REFRESH_SECONDS: how often widgetapi checks the dataset version.
	WidgetRefresh time.Duration
	// WidgetStale is WIDGETAPI_STALE_MINUTES: a source whose cursor is older is stale.
	WidgetStale time.Duration

	// AskGeminiKey is GEMINI_API_KEY; AskGeminiKeySecret is GEMINI_API_KEY_SECRET (at most
	// one is set). Without either, AskVertexLocation with Project selects Vertex AI (the
	// service account's own credentials); without that too, /api/v1/ask answers 503.
	AskGeminiKey       secrets.Secret
	AskGeminiKeySecret string
	// AskVertexLocation is ASK_VERTEX_LOCATION, the Vertex AI location (us-central1, global).
	AskVertexLocation string
	// AskModel is ASK_MODEL, the model name.
	AskModel string
	// AskBaseURL is ASK_MODEL_BASE_URL: another server speaking the same REST wire format.
	AskBaseURL string
	// AskDailyRequests and AskDailyTokens are ASK_DAILY_REQUESTS and ASK_DAILY_TOKENS, the
	// budget of one UTC day shared by every instance.
	AskDailyRequests, AskDailyTokens int
	// AskMaxSteps is ASK_MAX_STEPS, the most model calls of one question.
	AskMaxSteps int
	// AskTimeout is ASK_TIMEOUT_SECONDS, the most time of one question.
	AskTimeout time.Duration
}

// SigningKey is one embed-token key: its id (carried by tokens, for rotation) and secret.
type SigningKey struct {
	ID  string
	Key secrets.Secret
}

// Var documents one environment variable.
type Var struct {
	// Name is the variable's name.
	Name string
	// Default is the value used when the variable is unset or empty ("" = none).
	Default string
	// Description says what it is, in one sentence.
	Description string
	// Secret marks a variable that holds a credential; its value is never shown.
	Secret bool
	// RequiredBy lists the parts that need it. For a credential pair (X / X_SECRET) both
	// carry the part: exactly one of them must be set.
	RequiredBy Need
	// Min and Max bound a number (both 0: no range); Note adds to the range in Doc.
	Min, Max float64
	Note     string
	// Unit makes a whole number a duration: the value times Unit (0: a plain number).
	Unit time.Duration
	// Alt is the other variable of a credential pair (HUBSPOT_TOKEN_SECRET for HUBSPOT_TOKEN):
	// either may be set.
	Alt string
	// Functions lists the deployed functions whose environment Terraform sets the variable
	// in; on a pair, the first variable carries them.
	Functions []string

	// field points at the Config field the variable loads into (nil: rendered apart).
	field func(c *Config) any
}

// The deployed functions, as Terraform names them.
const (
	FetchTickets = "fetchtickets"
	FetchChats   = "fetchchats"
	Process      = "process"
	Publish      = "publish"
	WidgetAPI    = "widgetapi"
)

// Functions lists the deployed functions that read configuration.
func Functions() []string { return []string{FetchTickets, FetchChats, Process, Publish, WidgetAPI} }

// Ranged reports whether the variable is a number with bounds.
func (v Var) Ranged() bool { return v.Min != 0 || v.Max != 0 }

// rangeText is "lo to hi[; note]".
func (v Var) rangeText() string {
	r := strconv.FormatFloat(v.Min, 'f', -1, 64) + " to " + strconv.FormatFloat(v.Max, 'f', -1, 64)
	if v.Note != "" {
		r += "; " + v.Note
	}
	return r
}

// Doc is the description with the range, as the README shows it.
func (v Var) Doc() string {
	if !v.Ranged() {
		return v.Description
	}
	return strings.TrimSuffix(v.Description, ".") + " (" + v.rangeText() + ")."
}

// Env returns the variables function fn reads, in Vars order; a credential pair is one entry
// "X|X_SECRET" (either is set).
func Env(fn string) []string {
	var out []string
	for _, v := range vars {
		if slices.Contains(v.Functions, fn) {
			name := v.Name
			if v.Alt != "" {
				name += "|" + v.Alt
			}
			out = append(out, name)
		}
	}
	return out
}

// Table renders the variables as the README's Markdown table.
func Table() string {
	var b strings.Builder
	b.WriteString("| Variable | Default | Meaning |\n|---|---|---|\n")
	for _, v := range vars {
		def := ""
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, strings.ReplaceAll(v.Doc(), "|", `\|`))
	}
	return b.String()
}

var vars = []Var{
	{Name: "GOOGLE_CLOUD_PROJECT", Description: "Google Cloud project id of Pub/Sub, Firestore and Secret Manager.", RequiredBy: NeedPubSub | NeedFirestore, Functions: []string{FetchTickets, FetchChats, Process, Publish, WidgetAPI}, field: func(c *Config) any { return &c.Project }},
	{Name: "SPREADSHEET_ID", Description: "Id of the Google Sheets spreadsheet (the part of its URL between /d/ and /edit).", RequiredBy: NeedSheets, Functions: []string{Process, Publish}, field: func(c *Config) any { return &c.SpreadsheetID }},
	{Name: "TEAM_CONFIG", Description: "Path of the team configuration YAML file; empty = the built-in default (America/Halifax, Monday to Friday, no members).", Functions: []string{FetchTickets, FetchChats, Process, Publish}},
	{Name: "RETENTION_DAYS", Default: "365", Description: "Rows whose Created / Started is older than this many days are removed.", Min: 1, Max: 3650, Unit: 24 * time.Hour, Functions: []string{FetchTickets, FetchChats, Process}, field: func(c *Config) any { return &c.Retention }},
	{Name: "HUBSPOT_API_BASE_URL", Default: "https://api.hubapi.com", Description: "HubSpot API base URL (http or https; a fake or sandbox server in tests).", Functions: []string{FetchTickets}, field: func(c *Config) any { return &c.HubSpotBaseURL }},
	{Name: "HUBSPOT_TOKEN", Description: "HubSpot private app access token (set this or HUBSPOT_TOKEN_SECRET).", Secret: true, RequiredBy: NeedHubSpot, Alt: "HUBSPOT_TOKEN_SECRET", Functions: []string{FetchTickets}, field: func(c *Config) any { return &c.HubSpotToken }},
	{Name: "HUBSPOT_TOKEN_SECRET", Description: "Secret Manager version holding the HubSpot token, projects/P/secrets/S/versions/V (set this or HUBSPOT_TOKEN).", RequiredBy: NeedHubSpot, field: func(c *Config) any { return &c.HubSpotTokenSecret }},
	{Name: "HUBSPOT_RATE_PER_10S", Default: "100", Description: "HubSpot general API requests allowed per 10 seconds.", Min: 0, Max: 1000, Note: "0 turns the client-side limit off, for sandboxes", Functions: []string{FetchTickets}, field: func(c *Config) any { return &c.HubSpotRatePer10s }},
	{Name: "HUBSPOT_SEARCH_RATE_PER_SECOND", Default: "5", Description: "HubSpot search API requests allowed per second.", Min: 0, Max: 100, Note: "0 turns the limit off", Functions: []string{FetchTickets}, field: func(c *Config) any { return &c.HubSpotSearchRatePerSecond }},
	{Name: "LIVECHAT_API_BASE_URL", Default: "https://api.livechatinc.com", Description: "LiveChat API base URL (http or https).", Functions: []string{FetchChats}, field: func(c *Config) any { return &c.LiveChatBaseURL }},
	{Name: "LIVECHAT_ACCOUNT_ID", Description: "LiveChat account id (a UUID), the user name of Personal Access Token authentication.", RequiredBy: NeedLiveChat, Functions: []string{FetchChats}, field: func(c *Config) any { return &c.LiveChatAccountID }},
	{Name: "LIVECHAT_PAT", Description: "LiveChat Personal Access Token (set this or LIVECHAT_PAT_SECRET).", Secret: true, RequiredBy: NeedLiveChat, Alt: "LIVECHAT_PAT_SECRET", Functions: []string{FetchChats}, field: func(c *Config) any { return &c.LiveChatPAT }},
	{Name: "LIVECHAT_PAT_SECRET", Description: "Secret Manager version holding the LiveChat PAT, projects/P/secrets/S/versions/V (set this or LIVECHAT_PAT).", RequiredBy: NeedLiveChat, field: func(c *Config) any { return &c.LiveChatPATSecret }},
	{Name: "LIVECHAT_RATE_PER_MINUTE", Default: "180", Description: "LiveChat API requests allowed per minute.", Min: 0, Max: 10000, Note: "0 turns the limit off", Functions: []string{FetchChats}, field: func(c *Config) any { return &c.LiveChatRatePerMinute }},
	{Name: "LIVECHAT_LOOKBACK_HOURS", Default: "48", Description: "Incremental chats runs re-read threads started this many hours before the cursor, to pick up ratings given later.", Min: 0, Max: 720, Unit: time.Hour, Functions: []string{FetchChats}, field: func(c *Config) any { return &c.LiveChatLookback }},
	{Name: "SHEETS_API_ENDPOINT", Description: "Optional Sheets API endpoint URL; when set the Sheets client talks to it without Google credentials.", field: func(c *Config) any { return &c.SheetsEndpoint }},
	{Name: "PUBSUB_EMULATOR_HOST", Description: "host:port of the Pub/Sub emulator (standard variable; unset in the cloud).", field: func(c *Config) any { return &c.PubSubEmulatorHost }},
	{Name: "FIRESTORE_EMULATOR_HOST", Description: "host:port of the Firestore emulator (standard variable; unset in the cloud).", field: func(c *Config) any { return &c.FirestoreEmulatorHost }},
	{Name: "TOPIC_SYNC_TICKETS", Default: "sync-tickets", Description: "Pub/Sub topic id of tickets sync requests.", Functions: []string{FetchTickets}, field: func(c *Config) any { return &c.TopicSyncTickets }},
	{Name: "TOPIC_SYNC_CHATS", Default: "sync-chats", Description: "Pub/Sub topic id of chats sync requests.", Functions: []string{FetchChats}, field: func(c *Config) any { return &c.TopicSyncChats }},
	{Name: "TOPIC_RAW_BATCHES", Default: "raw-batches", Description: "Pub/Sub topic id of raw batches (fetch to process).", Functions: []string{FetchTickets, FetchChats}, field: func(c *Config) any { return &c.TopicRawBatches }},
	{Name: "TOPIC_RUNS_COMPLETED", Default: "runs-completed", Description: "Pub/Sub topic id of completed runs (process to publish).", Functions: []string{Process}, field: func(c *Config) any { return &c.TopicRunsCompleted }},
	{Name: "TOPIC_DEAD_LETTER", Default: "dead-letter", Description: "Pub/Sub topic id where batches that keep failing go.", field: func(c *Config) any { return &c.TopicDeadLetter }},
	{Name: "LOOKBACK_MINUTES", Default: "15", Description: "Incremental runs re-read this many minutes before the cursor.", Min: 0, Max: 1440, Unit: time.Minute, Functions: []string{FetchTickets, FetchChats}, field: func(c *Config) any { return &c.Lookback }},
	{Name: "FETCH_BUDGET_SECONDS", Default: "420", Description: "Seconds one fetch invocation works before it checkpoints and continues.", Min: 10, Max: 3600, Note: "below the function timeout", Unit: time.Second, Functions: []string{FetchTickets, FetchChats}, field: func(c *Config) any { return &c.FetchBudget }},
	{Name: "BATCH_RECORDS", Default: "5000", Description: "Most records in one raw batch.", Min: 1, Max: 100000, Functions: []string{FetchTickets, FetchChats}, field: func(c *Config) any { return &c.BatchRecords }},
	// 20 s: each batch costs process 2-3 Sheets writes, and the quota is 60 writes a minute per
	// service account, shared by both sources. A source slower than BATCH_RECORDS per 20 s then
	// sends at most 3 batches a minute by age (at most 9 writes), so a trickle from both stays
	// far below the quota, with room for full batches, finishing and retries. (HubSpot at its
	// limits flushes at the end of each 10 s burst instead, one batch more per window.)
	{Name: "BATCH_SECONDS", Default: "20", Description: "Most seconds a fetched record waits in a pending batch before it is published.", Min: 1, Max: 3600, Note: "checked between pages", Unit: time.Second, Functions: []string{FetchTickets, FetchChats}, field: func(c *Config) any { return &c.BatchAge }},
	{Name: "LEASE_MINUTES", Default: "30", Description: "Minutes a run's lease lasts.", Min: 1, Max: 1440, Note: "longer than FETCH_BUDGET_SECONDS", Unit: time.Minute, Functions: []string{FetchTickets, FetchChats, Process}, field: func(c *Config) any { return &c.LeaseTTL }},
	{Name: "LOG_LEVEL", Default: "info", Description: "Log level: debug, info, warn or error.", Functions: []string{FetchTickets, FetchChats, Process, Publish, WidgetAPI}, field: func(c *Config) any { return &c.LogLevel }},
	{Name: "WIDGETAPI_ADMIN_KEY", Description: "widgetapi admin key (at least 32 characters): Authorization: Bearer <key> reads every widget and the status and mints embed tokens.", Secret: true, RequiredBy: NeedWidgets, Functions: []string{WidgetAPI}, field: func(c *Config) any { return &c.WidgetAdminKey }},
	{Name: "WIDGETAPI_SIGNING_KEYS", Description: "Embed-token signing keys, id:secret[,id:secret...] (secrets of at least 32 characters); the first signs new tokens, every one verifies (rotation).", Secret: true, RequiredBy: NeedWidgets, Functions: []string{WidgetAPI}, field: func(c *Config) any { return &c.WidgetSigningKeys }},
	{Name: "WIDGETAPI_ALLOWED_ORIGINS", Description: "Browser origins allowed to call widgetapi (CORS), comma-separated, e.g. https://app.hubspot.com; empty allows none.", Functions: []string{WidgetAPI}, field: func(c *Config) any { return &c.WidgetOrigins }},
	{Name: "WIDGETAPI_FRAME_ANCESTORS", Description: "Origins allowed to frame the widget pages (CSP frame-ancestors, besides the widget host itself), comma-separated; empty means HubSpot's app hosts https://app.hubspot.com,https://app-eu1.hubspot.com.", Functions: []string{WidgetAPI}, field: func(c *Config) any { return &c.WidgetFrameAncestors }},
	{Name: "WIDGETAPI_REFRESH_SECONDS", Default: "5", Description: "How often widgetapi checks whether a new widget dataset was published, in seconds.", Min: 1, Max: 300, Unit: time.Second, Functions: []string{WidgetAPI}, field: func(c *Config) any { return &c.WidgetRefresh }},
	{Name: "WIDGETAPI_STALE_MINUTES", Default: "180", Description: "The status reports a source stale when its cursor is older than this many minutes.", Min: 5, Max: 10080, Unit: time.Minute, Functions: []string{WidgetAPI}, field: func(c *Config) any { return &c.WidgetStale }},
	{Name: "GEMINI_API_KEY", Description: "Gemini API key for /api/v1/ask (or GEMINI_API_KEY_SECRET, or Vertex AI with ASK_VERTEX_LOCATION; none of them turns ask off).", Secret: true, Alt: "GEMINI_API_KEY_SECRET", field: func(c *Config) any { return &c.AskGeminiKey }},
	{Name: "GEMINI_API_KEY_SECRET", Description: "Secret Manager version holding the Gemini API key, projects/P/secrets/S/versions/V (set this or GEMINI_API_KEY).", field: func(c *Config) any { return &c.AskGeminiKeySecret }},
	{Name: "ASK_VERTEX_LOCATION", Description: "Vertex AI location of the model (us-central1, global, ...); with GOOGLE_CLOUD_PROJECT and no Gemini key, ask uses Vertex AI with the service account's credentials.", field: func(c *Config) any { return &c.AskVertexLocation }},
	{Name: "ASK_MODEL", Default: "gemini-2.5-flash", Description: "Model that answers /api/v1/ask.", Functions: []string{WidgetAPI}, field: func(c *Config) any { return &c.AskModel }},
	{Name: "ASK_MODEL_BASE_URL", Description: "Optional base URL of a server speaking the Gemini REST wire format (a local fake or sandbox); empty is Google's endpoint.", field: func(c *Config) any { return &c.AskBaseURL }},
	{Name: "ASK_DAILY_REQUESTS", Default: "500", Description: "Questions /api/v1/ask accepts per UTC day, across every instance.", Min: 1, Max: 1000000, Functions: []string{WidgetAPI}, field: func(c *Config) any { return &c.AskDailyRequests }},
	{Name: "ASK_DAILY_TOKENS", Default: "2000000", Description: "Model tokens /api/v1/ask may spend per UTC day, across every instance.", Min: 1000, Max: 1000000000, Functions: []string{WidgetAPI}, field: func(c *Config) any { return &c.AskDailyTokens }},
	{Name: "ASK_MAX_STEPS", Default: "6", Description: "Most model calls of one question.", Min: 1, Max: 20, field: func(c *Config) any { return &c.AskMaxSteps }},
	{Name: "ASK_TIMEOUT_SECONDS", Default: "45", Description: "Most time of one question, in seconds.", Min: 5, Max: 300, Unit: time.Second, field: func(c *Config) any { return &c.AskTimeout }},
}

// Vars returns every variable Load reads, in a stable order.
func Vars() []Var { return append([]Var(nil), vars...) }

func lookupVar(name string) Var {
	for _, v := range vars {
		if v.Name == name {
			return v
		}
	}
	panic("config: variable " + name + " is not in Vars")
}

// loader reads variables and collects problems.
type loader struct {
	getenv func(string) string
	errs   []error
}

func (l *loader) bad(name, format string, a ...any) {
	l.errs = append(l.errs, fmt.Errorf(name+": "+format, a...))
}

// get returns the trimmed value, or the variable's default when it is unset or blank.
func (l *loader) get(name string) string {
	v := lookupVar(name)
	if s := strings.TrimSpace(l.getenv(name)); s != "" {
		return s
	}
	return v.Default
}

// int reads a whole number within the variable's range.
func (l *loader) int(name string) int {
	v := lookupVar(name)
	lo, hi := int(v.Min), int(v.Max)
	s := l.get(name)
	n, err := strconv.Atoi(s)
	if err != nil {
		l.bad(name, "%q is not a whole number", s)
		return 0
	}
	if n < lo || n > hi {
		l.bad(name, "%d is out of range (%d to %d)", n, lo, hi)
		return 0
	}
	return n
}

// duration reads a whole number within the variable's range, in its unit.
func (l *loader) duration(name string) time.Duration {
	return time.Duration(l.int(name)) * lookupVar(name).Unit
}

// float reads a number within the variable's range.
func (l *loader) float(name string) float64 {
	v := lookupVar(name)
	s := l.get(name)
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil:
		l.bad(name, "%q is not a number", s)
	case !(f >= v.Min && f <= v.Max):
		l.bad(name, "%s is out of range (%s)", s, v.rangeText())
	default:
		return f
	}
	return 0
}

// url checks an http(s) base URL. The value is not echoed when it carries credentials.
func (l *loader) url(name string, trimSlash bool) string {
	s := l.get(name)
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		l.bad(name, "not a URL")
	case u.User != nil:
		l.bad(name, "must not carry credentials (user:password@); value not shown")
	case u.Scheme != "http" && u.Scheme != "https":
		l.bad(name, "%q is not an http or https URL", s)
	case u.Host == "":
		l.bad(name, "%q has no host", s)
	case u.RawQuery != "" || u.Fragment != "":
		l.bad(name, "%q must not have a query or fragment", s)
	default:
		if trimSlash {
			s = strings.TrimRight(s, "/")
		}
		return s
	}
	return ""
}

// hostPort checks an emulator address.
func (l *loader) hostPort(name string) string {
	s := l.get(name)
	if s == "" {
		return ""
	}
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		l.bad(name, "%q is not host:port (for example localhost:8085)", s)
		return ""
	}
	return s
}

// credential reads a value / Secret Manager pair, never echoing either.
func (l *loader) credential(valueVar, nameVar string, needed bool, part string) (secrets.Secret, string) {
	value := secrets.Secret(l.get(valueVar))
	name := l.get(nameVar)
	switch {
	case value != "" && name != "":
		l.bad(valueVar, "set %s or %s, not both", valueVar, nameVar)
		return "", ""
	case name != "":
		if err := secrets.ValidName(name); err != nil {
			// Not echoed: a token pasted into the wrong variable must not reach the logs.
			l.bad(nameVar, "%v", err)
			return "", ""
		}
	case value == "" && needed:
		l.bad(valueVar, "%s needs %s or %s", part, valueVar, nameVar)
	}
	return value, name
}

var (
	topicRE       = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$`)
	spreadsheetRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func (l *loader) topic(name string) string {
	s := l.get(name)
	if !topicRE.MatchString(s) || strings.HasPrefix(strings.ToLower(s), "goog") {
		l.bad(name, "%q is not a Pub/Sub topic id (3 to 255 letters, digits, - _ . ~ + %%, starting with a letter, not goog…)", s)
		return ""
	}
	return s
}

// Load reads the configuration through getenv (os.Getenv in production, a map in tests),
// requires the variables of the parts in need, validates every variable that is set, loads
// the team file, and reports every problem at once (errors.Join), naming the variable and
// never showing a secret.
func Load(getenv func(string) string, need Need) (*Config, error) {
	l := &loader{getenv: getenv}
	c := &Config{}

	c.Project = l.get("GOOGLE_CLOUD_PROJECT")
	if c.Project == "" && need&(NeedPubSub|NeedFirestore) != 0 {
		l.bad("GOOGLE_CLOUD_PROJECT", "required for %s", need&(NeedPubSub|NeedFirestore))
	} else if strings.ContainsAny(c.Project, "/ ") {
		l.bad("GOOGLE_CLOUD_PROJECT", "%q is not a project id", c.Project)
	}

	c.SpreadsheetID = l.get("SPREADSHEET_ID")
	switch {
	case c.SpreadsheetID == "" && need&NeedSheets != 0:
		l.bad("SPREADSHEET_ID", "required for sheets")
	case c.SpreadsheetID != "" && !spreadsheetRE.MatchString(c.SpreadsheetID):
		l.bad("SPREADSHEET_ID", "%q is not a spreadsheet id (the part of the URL between /d/ and /edit)", c.SpreadsheetID)
	}

	c.TeamConfig = l.get("TEAM_CONFIG")
	tc, err := team.Load(c.TeamConfig)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("TEAM_CONFIG: %w", err))
	}
	c.Team = tc

	c.Retention = l.duration("RETENTION_DAYS")

	c.HubSpotBaseURL = l.url("HUBSPOT_API_BASE_URL", true)
	c.HubSpotToken, c.HubSpotTokenSecret = l.credential("HUBSPOT_TOKEN", "HUBSPOT_TOKEN_SECRET", need&NeedHubSpot != 0, "hubspot")
	c.HubSpotRatePer10s = l.int("HUBSPOT_RATE_PER_10S")
	c.HubSpotSearchRatePerSecond = l.float("HUBSPOT_SEARCH_RATE_PER_SECOND")

	c.LiveChatBaseURL = l.url("LIVECHAT_API_BASE_URL", true)
	c.LiveChatAccountID = l.get("LIVECHAT_ACCOUNT_ID")
	switch {
	case c.LiveChatAccountID == "" && need&NeedLiveChat != 0:
		l.bad("LIVECHAT_ACCOUNT_ID", "required for livechat")
	case strings.ContainsAny(c.LiveChatAccountID, ": "):
		l.bad("LIVECHAT_ACCOUNT_ID", "must not contain ':' or spaces (it is the user name of Basic authentication)")
	}
	c.LiveChatPAT, c.LiveChatPATSecret = l.credential("LIVECHAT_PAT", "LIVECHAT_PAT_SECRET", need&NeedLiveChat != 0, "livechat")
	c.LiveChatRatePerMinute = l.int("LIVECHAT_RATE_PER_MINUTE")
	c.LiveChatLookback = l.duration("LIVECHAT_LOOKBACK_HOURS")

	c.SheetsEndpoint = l.url("SHEETS_API_ENDPOINT", false)
	c.PubSubEmulatorHost = l.hostPort("PUBSUB_EMULATOR_HOST")
	c.FirestoreEmulatorHost = l.hostPort("FIRESTORE_EMULATOR_HOST")

	topics := []struct {
		name string
		dst  *string
	}{
		{"TOPIC_SYNC_TICKETS", &c.TopicSyncTickets},
		{"TOPIC_SYNC_CHATS", &c.TopicSyncChats},
		{"TOPIC_RAW_BATCHES", &c.TopicRawBatches},
		{"TOPIC_RUNS_COMPLETED", &c.TopicRunsCompleted},
		{"TOPIC_DEAD_LETTER", &c.TopicDeadLetter},
	}
	seen := map[string]string{}
	for _, t := range topics {
		*t.dst = l.topic(t.name)
		if *t.dst == "" {
			continue
		}
		if other, ok := seen[*t.dst]; ok {
			l.bad(t.name, "%q is also %s; every topic must be different", *t.dst, other)
		}
		seen[*t.dst] = t.name
	}

	c.Lookback = l.duration("LOOKBACK_MINUTES")
	c.FetchBudget = l.duration("FETCH_BUDGET_SECONDS")
	c.BatchRecords = l.int("BATCH_RECORDS")
	c.BatchAge = l.duration("BATCH_SECONDS")
	c.LeaseTTL = l.duration("LEASE_MINUTES")
	if c.LeaseTTL > 0 && c.FetchBudget > 0 && c.LeaseTTL <= c.FetchBudget {
		l.bad("LEASE_MINUTES", "%s must be longer than FETCH_BUDGET_SECONDS (%s), or a working run loses its lease", c.LeaseTTL, c.FetchBudget)
	}

	switch lv := strings.ToLower(l.get("LOG_LEVEL")); lv {
	case "debug", "info", "warn", "error":
		c.LogLevel = lv
	case "warning":
		c.LogLevel = "warn"
	default:
		l.bad("LOG_LEVEL", "%q is not debug, info, warn or error", lv)
	}

	c.WidgetAdminKey = secrets.Secret(l.get("WIDGETAPI_ADMIN_KEY"))
	switch n := len(c.WidgetAdminKey); {
	case n == 0 && need&NeedWidgets != 0:
		l.bad("WIDGETAPI_ADMIN_KEY", "required for widgets")
	case n > 0 && n < 32:
		l.bad("WIDGETAPI_ADMIN_KEY", "shorter than 32 characters (value not shown)")
	}
	c.WidgetSigningKeys = l.signingKeys("WIDGETAPI_SIGNING_KEYS", need&NeedWidgets != 0)
	c.WidgetOrigins = l.origins("WIDGETAPI_ALLOWED_ORIGINS")
	c.WidgetFrameAncestors = l.origins("WIDGETAPI_FRAME_ANCESTORS")
	c.WidgetRefresh = l.duration("WIDGETAPI_REFRESH_SECONDS")
	c.WidgetStale = l.duration("WIDGETAPI_STALE_MINUTES")

	c.AskGeminiKey, c.AskGeminiKeySecret = l.credential("GEMINI_API_KEY", "GEMINI_API_KEY_SECRET", false, "ask")
	if c.AskVertexLocation = l.get("ASK_VERTEX_LOCATION"); c.AskVertexLocation != "" && !locationRE.MatchString(c.AskVertexLocation) {
		l.bad("ASK_VERTEX_LOCATION", "%q is not a location such as us-central1 or global", c.AskVertexLocation)
	}
	if c.AskModel = l.get("ASK_MODEL"); !modelRE.MatchString(c.AskModel) {
		l.bad("ASK_MODEL", "%q is not a model name such as gemini-2.5-flash", c.AskModel)
	}
	c.AskBaseURL = l.url("ASK_MODEL_BASE_URL", false)
	c.AskDailyRequests = l.int("ASK_DAILY_REQUESTS")
	c.AskDailyTokens = l.int("ASK_DAILY_TOKENS")
	c.AskMaxSteps = l.int("ASK_MAX_STEPS")
	c.AskTimeout = l.duration("ASK_TIMEOUT_SECONDS")

	if err := errors.Join(l.errs...); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// String renders the configuration one "NAME=value" per line, in Vars order, with every
// credential shown as [REDACTED] (or empty when unset). Safe to log.
func (c Config) String() string {
	teamDesc := c.TeamConfig
	if teamDesc == "" {
		teamDesc = "(default)"
	}
	if c.Team != nil {
		teamDesc += fmt.Sprintf(" [%s, %d members]", c.Team.Timezone, len(c.Team.Members))
	}
	var b strings.Builder
	for _, v := range vars {
		val := teamDesc
		if v.field != nil {
			val = v.show(&c)
		}
		if v.Secret && val != "" {
			val = secrets.Redacted
		}
		fmt.Fprintf(&b, "%s=%s\n", v.Name, val)
	}
	return b.String()
}

// show renders the variable's value in c as it would be set (a duration in the variable's
// unit). Secret values are redacted by String.
func (v Var) show(c *Config) string {
	switch p := v.field(c).(type) {
	case *string:
		return *p
	case *secrets.Secret:
		return p.String()
	case *int:
		return strconv.Itoa(*p)
	case *float64:
		return strconv.FormatFloat(*p, 'g', -1, 64)
	case *time.Duration:
		return strconv.Itoa(int(*p / v.Unit))
	case *[]string:
		return strings.Join(*p, ",")
	case *[]SigningKey:
		return signingKeysString(*p)
	}
	panic("config: " + v.Name + " has a field of an unknown type")
}

var (
	keyIDRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	locationRE = regexp.MustCompile(`^(global|[a-z]+-[a-z]+[0-9]+)$`)
	modelRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
)

// signingKeys reads id:secret pairs, never echoing a secret.
func (l *loader) signingKeys(name string, needed bool) []SigningKey {
	s := l.get(name)
	if s == "" {
		if needed {
			l.bad(name, "required for widgets")
		}
		return nil
	}
	var keys []SigningKey
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		id, key, ok := strings.Cut(strings.TrimSpace(part), ":")
		switch {
		case !ok || !keyIDRE.MatchString(id):
			l.bad(name, "entry %d is not id:secret with an id of 1 to 32 letters, digits, - or _ (value not shown)", i+1)
			return nil
		case len(key) < 32:
			l.bad(name, "the secret of key %q is shorter than 32 characters", id)
			return nil
		case seen[id]:
			l.bad(name, "key id %q is given twice", id)
			return nil
		}
		seen[id] = true
		keys = append(keys, SigningKey{ID: id, Key: secrets.Secret(key)})
	}
	return keys
}

func signingKeysString(keys []SigningKey) string {
	if len(keys) == 0 {
		return ""
	}
	return secrets.Redacted
}

// origins reads a comma-separated list of browser origins (scheme://host[:port]).
func (l *loader) origins(name string) []string {
	s := l.get(name)
	if s == "" {
		return nil
	}
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			l.bad(name, "%q is not an origin (scheme://host[:port], no path)", o)
			continue
		}
		out = append(out, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	return out
}
