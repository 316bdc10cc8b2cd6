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
}

var vars = []Var{
	{Name: "GOOGLE_CLOUD_PROJECT", Description: "Google Cloud project id of Pub/Sub, Firestore and Secret Manager.", RequiredBy: NeedPubSub | NeedFirestore},
	{Name: "SPREADSHEET_ID", Description: "Id of the Google Sheets spreadsheet (the part of its URL between /d/ and /edit).", RequiredBy: NeedSheets},
	{Name: "TEAM_CONFIG", Description: "Path of the team configuration YAML file; empty = the built-in default (America/Halifax, Monday to Friday, no members)."},
	{Name: "RETENTION_DAYS", Default: "365", Description: "Rows whose Created / Started is older than this many days are removed (1 to 3650)."},
	{Name: "HUBSPOT_API_BASE_URL", Default: "https://api.hubapi.com", Description: "HubSpot API base URL (http or https; a fake or sandbox server in tests)."},
	{Name: "HUBSPOT_TOKEN", Description: "HubSpot private app access token (set this or HUBSPOT_TOKEN_SECRET).", Secret: true, RequiredBy: NeedHubSpot},
	{Name: "HUBSPOT_TOKEN_SECRET", Description: "Secret Manager version holding the HubSpot token, projects/P/secrets/S/versions/V (set this or HUBSPOT_TOKEN).", RequiredBy: NeedHubSpot},
	{Name: "HUBSPOT_RATE_PER_10S", Default: "100", Description: "HubSpot general API requests allowed per 10 seconds (0 to 1000; 0 turns the client-side limit off, for sandboxes)."},
	{Name: "HUBSPOT_SEARCH_RATE_PER_SECOND", Default: "5", Description: "HubSpot search API requests allowed per second (0 to 100; 0 turns the limit off)."},
	{Name: "LIVECHAT_API_BASE_URL", Default: "https://api.livechatinc.com", Description: "LiveChat API base URL (http or https)."},
	{Name: "LIVECHAT_ACCOUNT_ID", Description: "LiveChat account id (a UUID), the user name of Personal Access Token authentication.", RequiredBy: NeedLiveChat},
	{Name: "LIVECHAT_PAT", Description: "LiveChat Personal Access Token (set this or LIVECHAT_PAT_SECRET).", Secret: true, RequiredBy: NeedLiveChat},
	{Name: "LIVECHAT_PAT_SECRET", Description: "Secret Manager version holding the LiveChat PAT, projects/P/secrets/S/versions/V (set this or LIVECHAT_PAT).", RequiredBy: NeedLiveChat},
	{Name: "LIVECHAT_RATE_PER_MINUTE", Default: "180", Description: "LiveChat API requests allowed per minute (0 to 10000; 0 turns the limit off)."},
	{Name: "LIVECHAT_LOOKBACK_HOURS", Default: "48", Description: "Incremental chats runs re-read threads started this many hours before the cursor, to pick up ratings given later (0 to 720)."},
	{Name: "SHEETS_API_ENDPOINT", Description: "Optional Sheets API endpoint URL; when set the Sheets client talks to it without Google credentials."},
	{Name: "PUBSUB_EMULATOR_HOST", Description: "host:port of the Pub/Sub emulator (standard variable; unset in the cloud)."},
	{Name: "FIRESTORE_EMULATOR_HOST", Description: "host:port of the Firestore emulator (standard variable; unset in the cloud)."},
	{Name: "TOPIC_SYNC_TICKETS", Default: "sync-tickets", Description: "Pub/Sub topic id of tickets sync requests."},
	{Name: "TOPIC_SYNC_CHATS", Default: "sync-chats", Description: "Pub/Sub topic id of chats sync requests."},
	{Name: "TOPIC_RAW_BATCHES", Default: "raw-batches", Description: "Pub/Sub topic id of raw batches (fetch to process)."},
	{Name: "TOPIC_RUNS_COMPLETED", Default: "runs-completed", Description: "Pub/Sub topic id of completed runs (process to publish)."},
	{Name: "TOPIC_DEAD_LETTER", Default: "dead-letter", Description: "Pub/Sub topic id where batches that keep failing go."},
	{Name: "LOOKBACK_MINUTES", Default: "15", Description: "Incremental runs re-read this many minutes before the cursor (0 to 1440)."},
	{Name: "FETCH_BUDGET_SECONDS", Default: "420", Description: "Seconds one fetch invocation works before it checkpoints and continues (10 to 3600; below the function timeout)."},
	{Name: "BATCH_RECORDS", Default: "5000", Description: "Most records in one raw batch (1 to 100000)."},
	{Name: "LEASE_MINUTES", Default: "30", Description: "Minutes a run's lease lasts (1 to 1440; longer than FETCH_BUDGET_SECONDS)."},
	{Name: "LOG_LEVEL", Default: "info", Description: "Log level: debug, info, warn or error."},
	{Name: "WIDGETAPI_ADMIN_KEY", Description: "widgetapi admin key (at least 32 characters): Authorization: Bearer <key> reads every widget and the status and mints embed tokens.", Secret: true, RequiredBy: NeedWidgets},
	{Name: "WIDGETAPI_SIGNING_KEYS", Description: "Embed-token signing keys, id:secret[,id:secret...] (secrets of at least 32 characters); the first signs new tokens, every one verifies (rotation).", Secret: true, RequiredBy: NeedWidgets},
	{Name: "WIDGETAPI_ALLOWED_ORIGINS", Description: "Browser origins allowed to call widgetapi (CORS), comma-separated, e.g. https://app.hubspot.com; empty allows none."},
	{Name: "WIDGETAPI_FRAME_ANCESTORS", Description: "Origins allowed to frame the widget pages (CSP frame-ancestors, besides the widget host itself), comma-separated; empty means HubSpot's app hosts https://app.hubspot.com,https://app-eu1.hubspot.com."},
	{Name: "WIDGETAPI_REFRESH_SECONDS", Default: "5", Description: "How often widgetapi checks whether a new widget dataset was published, in seconds (1 to 300)."},
	{Name: "WIDGETAPI_STALE_MINUTES", Default: "180", Description: "The status reports a source stale when its cursor is older than this many minutes (5 to 10080)."},
	{Name: "GEMINI_API_KEY", Description: "Gemini API key for /api/v1/ask (or GEMINI_API_KEY_SECRET, or Vertex AI with ASK_VERTEX_LOCATION; none of them turns ask off).", Secret: true},
	{Name: "GEMINI_API_KEY_SECRET", Description: "Secret Manager version holding the Gemini API key, projects/P/secrets/S/versions/V (set this or GEMINI_API_KEY)."},
	{Name: "ASK_VERTEX_LOCATION", Description: "Vertex AI location of the model (us-central1, global, ...); with GOOGLE_CLOUD_PROJECT and no Gemini key, ask uses Vertex AI with the service account's credentials."},
	{Name: "ASK_MODEL", Default: "gemini-2.5-flash", Description: "Model that answers /api/v1/ask."},
	{Name: "ASK_MODEL_BASE_URL", Description: "Optional base URL of a server speaking the Gemini REST wire format (a local fake or sandbox); empty is Google's endpoint."},
	{Name: "ASK_DAILY_REQUESTS", Default: "500", Description: "Questions /api/v1/ask accepts per UTC day, across every instance (1 to 1000000)."},
	{Name: "ASK_DAILY_TOKENS", Default: "2000000", Description: "Model tokens /api/v1/ask may spend per UTC day, across every instance (1000 to 1000000000)."},
	{Name: "ASK_MAX_STEPS", Default: "6", Description: "Most model calls of one question (1 to 20)."},
	{Name: "ASK_TIMEOUT_SECONDS", Default: "45", Description: "Most time of one question, in seconds (5 to 300)."},
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

func (l *loader) int(name string, lo, hi int) int {
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

func (l *loader) minutes(name string, lo, hi int) time.Duration {
	return time.Duration(l.int(name, lo, hi)) * time.Minute
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

	c.Retention = time.Duration(l.int("RETENTION_DAYS", 1, 3650)) * 24 * time.Hour

	c.HubSpotBaseURL = l.url("HUBSPOT_API_BASE_URL", true)
	c.HubSpotToken, c.HubSpotTokenSecret = l.credential("HUBSPOT_TOKEN", "HUBSPOT_TOKEN_SECRET", need&NeedHubSpot != 0, "hubspot")
	c.HubSpotRatePer10s = l.int("HUBSPOT_RATE_PER_10S", 0, 1000)
	if s := l.get("HUBSPOT_SEARCH_RATE_PER_SECOND"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		switch {
		case err != nil:
			l.bad("HUBSPOT_SEARCH_RATE_PER_SECOND", "%q is not a number", s)
		case !(f >= 0 && f <= 100):
			l.bad("HUBSPOT_SEARCH_RATE_PER_SECOND", "%s is out of range (0 to 100; 0 turns the limit off)", s)
		default:
			c.HubSpotSearchRatePerSecond = f
		}
	}

	c.LiveChatBaseURL = l.url("LIVECHAT_API_BASE_URL", true)
	c.LiveChatAccountID = l.get("LIVECHAT_ACCOUNT_ID")
	switch {
	case c.LiveChatAccountID == "" && need&NeedLiveChat != 0:
		l.bad("LIVECHAT_ACCOUNT_ID", "required for livechat")
	case strings.ContainsAny(c.LiveChatAccountID, ": "):
		l.bad("LIVECHAT_ACCOUNT_ID", "must not contain ':' or spaces (it is the user name of Basic authentication)")
	}
	c.LiveChatPAT, c.LiveChatPATSecret = l.credential("LIVECHAT_PAT", "LIVECHAT_PAT_SECRET", need&NeedLiveChat != 0, "livechat")
	c.LiveChatRatePerMinute = l.int("LIVECHAT_RATE_PER_MINUTE", 0, 10000)
	c.LiveChatLookback = time.Duration(l.int("LIVECHAT_LOOKBACK_HOURS", 0, 720)) * time.Hour

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

	c.Lookback = l.minutes("LOOKBACK_MINUTES", 0, 1440)
	c.FetchBudget = time.Duration(l.int("FETCH_BUDGET_SECONDS", 10, 3600)) * time.Second
	c.BatchRecords = l.int("BATCH_RECORDS", 1, 100000)
	c.LeaseTTL = l.minutes("LEASE_MINUTES", 1, 1440)
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
	c.WidgetRefresh = time.Duration(l.int("WIDGETAPI_REFRESH_SECONDS", 1, 300)) * time.Second
	c.WidgetStale = l.minutes("WIDGETAPI_STALE_MINUTES", 5, 10080)

	c.AskGeminiKey, c.AskGeminiKeySecret = l.credential("GEMINI_API_KEY", "GEMINI_API_KEY_SECRET", false, "ask")
	if c.AskVertexLocation = l.get("ASK_VERTEX_LOCATION"); c.AskVertexLocation != "" && !locationRE.MatchString(c.AskVertexLocation) {
		l.bad("ASK_VERTEX_LOCATION", "%q is not a location such as us-central1 or global", c.AskVertexLocation)
	}
	if c.AskModel = l.get("ASK_MODEL"); !modelRE.MatchString(c.AskModel) {
		l.bad("ASK_MODEL", "%q is not a model name such as gemini-2.5-flash", c.AskModel)
	}
	c.AskBaseURL = l.url("ASK_MODEL_BASE_URL", false)
	c.AskDailyRequests = l.int("ASK_DAILY_REQUESTS", 1, 1000000)
	c.AskDailyTokens = l.int("ASK_DAILY_TOKENS", 1000, 1000000000)
	c.AskMaxSteps = l.int("ASK_MAX_STEPS", 1, 20)
	c.AskTimeout = time.Duration(l.int("ASK_TIMEOUT_SECONDS", 5, 300)) * time.Second

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
	vals := map[string]string{
		"GOOGLE_CLOUD_PROJECT":           c.Project,
		"SPREADSHEET_ID":                 c.SpreadsheetID,
		"TEAM_CONFIG":                    teamDesc,
		"RETENTION_DAYS":                 strconv.Itoa(int(c.Retention / (24 * time.Hour))),
		"HUBSPOT_API_BASE_URL":           c.HubSpotBaseURL,
		"HUBSPOT_TOKEN":                  c.HubSpotToken.String(),
		"HUBSPOT_TOKEN_SECRET":           c.HubSpotTokenSecret,
		"HUBSPOT_RATE_PER_10S":           strconv.Itoa(c.HubSpotRatePer10s),
		"HUBSPOT_SEARCH_RATE_PER_SECOND": strconv.FormatFloat(c.HubSpotSearchRatePerSecond, 'g', -1, 64),
		"LIVECHAT_API_BASE_URL":          c.LiveChatBaseURL,
		"LIVECHAT_ACCOUNT_ID":            c.LiveChatAccountID,
		"LIVECHAT_PAT":                   c.LiveChatPAT.String(),
		"LIVECHAT_PAT_SECRET":            c.LiveChatPATSecret,
		"LIVECHAT_RATE_PER_MINUTE":       strconv.Itoa(c.LiveChatRatePerMinute),
		"LIVECHAT_LOOKBACK_HOURS":        strconv.Itoa(int(c.LiveChatLookback / time.Hour)),
		"SHEETS_API_ENDPOINT":            c.SheetsEndpoint,
		"PUBSUB_EMULATOR_HOST":           c.PubSubEmulatorHost,
		"FIRESTORE_EMULATOR_HOST":        c.FirestoreEmulatorHost,
		"TOPIC_SYNC_TICKETS":             c.TopicSyncTickets,
		"TOPIC_SYNC_CHATS":               c.TopicSyncChats,
		"TOPIC_RAW_BATCHES":              c.TopicRawBatches,
		"TOPIC_RUNS_COMPLETED":           c.TopicRunsCompleted,
		"TOPIC_DEAD_LETTER":              c.TopicDeadLetter,
		"LOOKBACK_MINUTES":               strconv.Itoa(int(c.Lookback / time.Minute)),
		"FETCH_BUDGET_SECONDS":           strconv.Itoa(int(c.FetchBudget / time.Second)),
		"BATCH_RECORDS":                  strconv.Itoa(c.BatchRecords),
		"LEASE_MINUTES":                  strconv.Itoa(int(c.LeaseTTL / time.Minute)),
		"LOG_LEVEL":                      c.LogLevel,
		"WIDGETAPI_ADMIN_KEY":            c.WidgetAdminKey.String(),
		"WIDGETAPI_SIGNING_KEYS":         signingKeysString(c.WidgetSigningKeys),
		"WIDGETAPI_ALLOWED_ORIGINS":      strings.Join(c.WidgetOrigins, ","),
		"WIDGETAPI_FRAME_ANCESTORS":      strings.Join(c.WidgetFrameAncestors, ","),
		"WIDGETAPI_REFRESH_SECONDS":      strconv.Itoa(int(c.WidgetRefresh / time.Second)),
		"WIDGETAPI_STALE_MINUTES":        strconv.Itoa(int(c.WidgetStale / time.Minute)),
		"GEMINI_API_KEY":                 c.AskGeminiKey.String(),
		"GEMINI_API_KEY_SECRET":          c.AskGeminiKeySecret,
		"ASK_VERTEX_LOCATION":            c.AskVertexLocation,
		"ASK_MODEL":                      c.AskModel,
		"ASK_MODEL_BASE_URL":             c.AskBaseURL,
		"ASK_DAILY_REQUESTS":             strconv.Itoa(c.AskDailyRequests),
		"ASK_DAILY_TOKENS":               strconv.Itoa(c.AskDailyTokens),
		"ASK_MAX_STEPS":                  strconv.Itoa(c.AskMaxSteps),
		"ASK_TIMEOUT_SECONDS":            strconv.Itoa(int(c.AskTimeout / time.Second)),
	}
	var b strings.Builder
	for _, v := range vars {
		val, ok := vals[v.Name]
		if !ok {
			panic("config: String does not render " + v.Name)
		}
		if v.Secret && val != "" {
			val = secrets.Redacted
		}
		fmt.Fprintf(&b, "%s=%s\n", v.Name, val)
	}
	return b.String()
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
