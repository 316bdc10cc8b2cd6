package livechat

import (
	"encoding/json"
	"time"
)

// User types as list_archives reports them in chat.users. Bots are users of type agent.
const (
	UserAgent    = "agent"
	UserCustomer = "customer"
)

// Event types that matter to supportsync. Others (form, custom, system in v3.6, …) are kept
// and ignored.
const (
	EventMessage       = "message"
	EventRichMessage   = "rich_message"
	EventFile          = "file"
	EventSystemMessage = "system_message"
	EventFilledForm    = "filled_form"
)

// Event visibilities: VisibilityAgents marks an internal note the customer never saw.
const (
	VisibilityAll    = "all"
	VisibilityAgents = "agents"
)

// System message types used by normalization.
const (
	SystemChatTransferred = "chat_transferred"
	SystemChatRated       = "rating.chat_rated"
	SystemChatCommented   = "rating.chat_commented"
	SystemRatingCanceled  = "rating.chat_rating_canceled"
)

// Chat is one list_archives entry: a chat with exactly one of its threads. A chat with
// three threads in range appears three times with the same ID.
type Chat struct {
	ID         string          `json:"id"`
	Users      []User          `json:"users,omitempty"`
	Thread     Thread          `json:"thread"`
	Properties json.RawMessage `json:"properties,omitempty"`
	Access     *Access         `json:"access,omitempty"`
	IsFollowed bool            `json:"is_followed,omitempty"`
}

// User is a chat participant. Type is UserAgent (humans and bots) or UserCustomer. Agents
// have their login email as ID; bots a 32-hex id; customers a UUID. Customer names and
// emails are decoded but must never be written anywhere.
type User struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Present    bool   `json:"present,omitempty"`
	Visibility string `json:"visibility,omitempty"`
	CreatedAt  string `json:"created_at,omitempty"`
}

// Access lists the groups a chat or thread belongs to (group 0 is everyone).
type Access struct {
	GroupIDs []int `json:"group_ids,omitempty"`
}

// Thread is one thread of a chat. There is no ended_at in v3.5; Events is absent when
// RestrictedAccess is set (for example beyond the plan's archive retention).
type Thread struct {
	ID         string           `json:"id"`
	Active     bool             `json:"active"`
	UserIDs    []string         `json:"user_ids,omitempty"`
	CreatedAt  string           `json:"created_at"`
	Events     []Event          `json:"events,omitempty"`
	Tags       []string         `json:"tags,omitempty"`
	Access     *Access          `json:"access,omitempty"`
	Properties ThreadProperties `json:"properties,omitzero"`
	// RestrictedAccess is a reason string in the docs and a bool in some SDKs; kept raw.
	RestrictedAccess json.RawMessage `json:"restricted_access,omitempty"`
	// QueuesDuration is the time spent queued (unit undocumented, likely seconds).
	QueuesDuration             json.RawMessage `json:"queues_duration,omitempty"`
	PreviousThreadID           string          `json:"previous_thread_id,omitempty"`
	NextThreadID               string          `json:"next_thread_id,omitempty"`
	PreviousAccessibleThreadID string          `json:"previous_accessible_thread_id,omitempty"`
	NextAccessibleThreadID     string          `json:"next_accessible_thread_id,omitempty"`
}

// ThreadProperties are the thread's property namespaces that supportsync reads; other
// namespaces are dropped when decoding.
type ThreadProperties struct {
	Rating  *Rating         `json:"rating,omitempty"`
	Routing json.RawMessage `json:"routing,omitempty"`
}

// Rating is the thread's default rating property, the source of truth for CSAT: Score 1 is
// good, 0 bad, nil not rated; Comment is the customer's free text.
type Rating struct {
	Score   *int   `json:"score,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// Event is one thread event. Fields beyond the common ones depend on Type; polymorphic ones
// are kept raw. System messages have no AuthorID.
type Event struct {
	ID         string `json:"id"`
	CustomID   string `json:"custom_id,omitempty"`
	Type       string `json:"type"`
	CreatedAt  string `json:"created_at"`
	AuthorID   string `json:"author_id,omitempty"`
	Visibility string `json:"visibility,omitempty"`
	// Text is set on message and system_message events.
	Text string `json:"text,omitempty"`
	// SystemMessageType and TextVars are set on system_message events.
	SystemMessageType string          `json:"system_message_type,omitempty"`
	TextVars          json.RawMessage `json:"text_vars,omitempty"`
	// Name, URL, ContentType and Size are set on file events.
	Name        string `json:"name,omitempty"`
	URL         string `json:"url,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	// TemplateID and Elements are set on rich_message events.
	TemplateID string          `json:"template_id,omitempty"`
	Elements   json.RawMessage `json:"elements,omitempty"`
	// FormID, FormType and Fields are set on form and filled_form events.
	FormID   string          `json:"form_id,omitempty"`
	FormType string          `json:"form_type,omitempty"`
	Fields   json.RawMessage `json:"fields,omitempty"`
	// Postback is set on a message answering a rich-message button.
	Postback json.RawMessage `json:"postback,omitempty"`
	// Content is set on custom events.
	Content    json.RawMessage `json:"content,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
}

// TextVar returns one of a system message's template variables as text, "" when it is
// missing or not a string.
func (e *Event) TextVar(name string) string {
	if len(e.TextVars) == 0 {
		return ""
	}
	var vars map[string]json.RawMessage
	if json.Unmarshal(e.TextVars, &vars) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(vars[name], &s) != nil {
		return ""
	}
	return s
}

// GroupPriority is an agent's or bot's membership of a group.
type GroupPriority struct {
	ID       int    `json:"id"`
	Priority string `json:"priority,omitempty"`
}

// Agent is a human agent (configuration/action/list_agents). ID is the login email.
type Agent struct {
	ID          string          `json:"id"`
	AccountID   string          `json:"account_id,omitempty"`
	Name        string          `json:"name,omitempty"`
	Role        string          `json:"role,omitempty"`
	JobTitle    string          `json:"job_title,omitempty"`
	LoginStatus string          `json:"login_status,omitempty"`
	Suspended   bool            `json:"suspended,omitempty"`
	Groups      []GroupPriority `json:"groups,omitempty"`
}

// Bot is a bot agent (configuration/action/list_bots). ID is a 32-hex string.
type Bot struct {
	ID            string          `json:"id"`
	Name          string          `json:"name,omitempty"`
	Avatar        string          `json:"avatar,omitempty"`
	JobTitle      string          `json:"job_title,omitempty"`
	OwnerClientID string          `json:"owner_client_id,omitempty"`
	Groups        []GroupPriority `json:"groups,omitempty"`
}

// Group is an agent group (configuration/action/list_groups).
type Group struct {
	ID            int    `json:"id"`
	Name          string `json:"name"`
	LanguageCode  string `json:"language_code,omitempty"`
	RoutingStatus string `json:"routing_status,omitempty"`
}

// Payload is the content of a chats raw batch: list_archives entries as fetched plus the
// reference data needed to normalize them alone.
type Payload struct {
	Chats  []Chat  `json:"chats"`
	Agents []Agent `json:"agents"`
	Bots   []Bot   `json:"bots"`
	Groups []Group `json:"groups"`
}

// TimeLayout is how filters.from/to are sent: RFC 3339 with microseconds and an explicit
// numeric offset (never Z), as the API documents.
const TimeLayout = "2006-01-02T15:04:05.000000-07:00"

// FormatTime formats t for a list_archives filter.
func FormatTime(t time.Time) string { return t.Format(TimeLayout) }

// ParseTime parses an API timestamp: RFC 3339 with any offset and any fraction.
func ParseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
