package livechatfake

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"supportsync.dev/shared/livechat"
)

// Bot ids of the generated account. WynnAIID is listed by list_bots; AgentScrapeID belongs to
// another app (ChatBot) and is listed only with all:true.
const (
	WynnAIID      = "b7c0d0a3e5f64a0c9d1e2f3a4b5c6d7e"
	AgentScrapeID = "5c9871d5372c824cbf22d860a707a578"
)

// Kind is the shape of a generated thread.
type Kind int

// The generated thread shapes.
const (
	// BotContained: a bot answered and the customer left without a human.
	BotContained Kind = iota
	// BotHandover: a bot, a chat_transferred event, then a human.
	BotHandover
	// BotHandoverSilent: a bot, then a human, without a chat_transferred event.
	BotHandoverSilent
	// TransferUnanswered: a bot transferred the chat and no human ever wrote.
	TransferUnanswered
	// HumanOnly: a customer and a human agent.
	HumanOnly
	// AgentFirst: a human greeted before the customer wrote.
	AgentFirst
	// Unanswered: the customer wrote and nobody answered.
	Unanswered
	// Restricted: beyond archive retention; no events.
	Restricted
)

var kindNames = [...]string{"BotContained", "BotHandover", "BotHandoverSilent", "TransferUnanswered",
	"HumanOnly", "AgentFirst", "Unanswered", "Restricted"}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// kindWeights are per mille.
var kindWeights = [...]int{BotContained: 220, BotHandover: 140, BotHandoverSilent: 50, TransferUnanswered: 50,
	HumanOnly: 410, AgentFirst: 20, Unanswered: 100, Restricted: 10}

type header struct {
	chatID   string
	threadID string
	prevID   string
	created  time.Time
	kind     Kind
	seed     uint64
	customer int
	group    int
}

// Dataset is a deterministic LiveChat account: agents, bots, groups and threads. Threads are
// kept as compact headers and materialized on demand (so 100,000 threads cost little
// memory); mutated or added threads are stored whole. It is safe for concurrent use.
type Dataset struct {
	// Agents, Bots and Groups are the configuration (read-only after Generate).
	Agents []livechat.Agent
	Bots   []livechat.Bot
	Groups []livechat.Group
	// HiddenBots holds the ids of bots listed only with all:true.
	HiddenBots map[string]bool

	mu        sync.RWMutex
	headers   []header // sorted by created, then thread id
	overrides map[string]*livechat.Chat
	byThread  map[string]int // thread id -> index, rebuilt lazily
}

var agentNames = [][2]string{
	{"anna@example.com", "Anna Kowalska"}, {"ben.ortiz@example.com", "Ben Ortiz"},
	{"chloe@example.com", "Chloé Martin"}, {"dev.patel@example.com", "Dev Patel"},
	{"richie@example.com", "Richard Rich"}, {"sam.lee@example.com", "Sam Lee"},
	{"tomasz@example.com", "Tomasz Nowak"}, {"yuki@example.com", "Yuki Tanaka"},
}

var firstNames = []string{"Maria", "John", "Aisha", "Liam", "Sofía", "Noah", "Emma", "Olivier", "Zoë",
	"Mateo", "Priya", "Lukas", "Hannah", "Kenji", "Fatima", "Owen", "Amélie", "Diego", "Ingrid", "Sean"}
var lastNames = []string{"Lopez", "Smith", "Khan", "O'Brien", "García", "Müller", "Nguyen", "Dubois",
	"Rossi", "MacDonald", "Sato", "Kowalski", "Haddad", "Silva", "Johansson", "Leblanc"}

var tagPool = []string{"billing", "bug", "feature request", "sales", "spam", "vip", "refund", "login"}

var customerLines = []string{"Hi, my invoice is wrong", "How do I reset my password?", "Is anyone there?",
	"I was charged twice", "Can I upgrade my plan?", "The app crashes on start", "Thanks!", "ok",
	"Where is my order?", "Can I talk to a human please", "That worked, thank you", "still broken :("}
var botLines = []string{"Hi! I'm here to help. What can I do for you?", "Here is an article that may help.",
	"Could you give me your order number?", "Let me connect you with a human agent.", "Did that answer your question?"}
var agentLines = []string{"Hi, happy to help.", "Let me check that for you.", "I've refunded the charge.",
	"Could you try again now?", "Is there anything else?", "I've escalated this to engineering."}

// Generate builds a deterministic dataset: the same seed, count and now give the same
// account, byte for byte. Threads start within the ~400 days before now, oldest first.
func Generate(seed int64, threads int, now time.Time) *Dataset {
	now = now.UTC().Truncate(time.Microsecond)
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	d := &Dataset{
		HiddenBots: map[string]bool{AgentScrapeID: true},
		Groups: []livechat.Group{
			{ID: 0, Name: "General", LanguageCode: "en", RoutingStatus: "accepting_chats"},
			{ID: 1, Name: "Billing", LanguageCode: "en", RoutingStatus: "accepting_chats"},
			{ID: 2, Name: "Technical Support", LanguageCode: "en", RoutingStatus: "accepting_chats"},
			{ID: 3, Name: "Sales", LanguageCode: "fr", RoutingStatus: "not_accepting_chats"},
		},
		Bots: []livechat.Bot{
			{ID: WynnAIID, Name: "Wynn AI", JobTitle: "Virtual assistant", Groups: []livechat.GroupPriority{{ID: 0, Priority: "first"}}},
			{ID: AgentScrapeID, Name: "Agent Scrape", JobTitle: "ChatBot", OwnerClientID: "chatbot-app", Groups: []livechat.GroupPriority{{ID: 2, Priority: "first"}}},
		},
		overrides: map[string]*livechat.Chat{},
	}
	for i, a := range agentNames {
		d.Agents = append(d.Agents, livechat.Agent{ID: a[0], Name: a[1], Role: "normal", LoginStatus: "accepting chats",
			JobTitle: "Support", Groups: []livechat.GroupPriority{{ID: 1 + i%3, Priority: "normal"}}})
	}
	d.Agents[0].Role = "administrator"

	start := now.Add(-400 * 24 * time.Hour)
	span := int64(now.Add(-10*time.Minute).Sub(start) / time.Microsecond)
	times := make([]int64, threads)
	for i := range times {
		times[i] = r.Int64N(span)
	}
	slices.Sort(times)

	type open struct {
		chatID, lastThread string
		last               time.Time
		customer, group    int
	}
	var recent []open // recent chats that may get another thread
	d.headers = make([]header, threads)
	customers := max(threads*2/3, 1)
	for i := range d.headers {
		h := &d.headers[i]
		h.created = start.Add(time.Duration(times[i]) * time.Microsecond)
		h.threadID = randID(r)
		h.seed = r.Uint64()
		h.kind = pickKind(r)
		if len(recent) > 0 && r.IntN(100) < 8 {
			j := r.IntN(len(recent))
			if o := recent[j]; h.created.Sub(o.last) > time.Hour {
				h.chatID, h.prevID, h.customer, h.group = o.chatID, o.lastThread, o.customer, o.group
				recent[j].last, recent[j].lastThread = h.created, h.threadID
				continue
			}
		}
		h.chatID = randID(r)
		h.customer = r.IntN(customers)
		h.group = 1 + r.IntN(3)
		if len(recent) < 64 {
			recent = append(recent, open{})
		}
		recent[r.IntN(len(recent))] = open{chatID: h.chatID, lastThread: h.threadID, last: h.created, customer: h.customer, group: h.group}
	}
	return d
}

func pickKind(r *rand.Rand) Kind {
	n := r.IntN(1000)
	for k, w := range kindWeights {
		if n < w {
			return Kind(k)
		}
		n -= w
	}
	return HumanOnly
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randID(r *rand.Rand) string {
	var b [10]byte
	for i := range b {
		b[i] = idChars[r.IntN(len(idChars))]
	}
	return string(b[:])
}

// Len returns the number of threads.
func (d *Dataset) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.headers)
}

// Chats materializes every thread, oldest first (one entry per thread, as list_archives).
func (d *Dataset) Chats() []livechat.Chat {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]livechat.Chat, len(d.headers))
	for i := range d.headers {
		out[i] = d.chatLocked(i)
	}
	return out
}

// Payload returns every thread with the configuration (all bots), as a chats raw batch holds them.
func (d *Dataset) Payload() livechat.Payload {
	return livechat.Payload{Chats: d.Chats(), Agents: d.Agents, Bots: d.Bots, Groups: d.Groups}
}

// Chat returns the thread with the given id.
func (d *Dataset) Chat(threadID string) (livechat.Chat, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.indexLocked(threadID)
	if !ok {
		return livechat.Chat{}, false
	}
	return d.chatLocked(i), true
}

// KindOf returns the generated shape of a thread (false for added or unknown threads).
func (d *Dataset) KindOf(threadID string) (Kind, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.indexLocked(threadID)
	if !ok || d.headers[i].kind < 0 {
		return 0, false
	}
	return d.headers[i].kind, true
}

// CustomerPII returns every customer name and email that the dataset's threads can carry,
// so that tests can assert none of them reaches the sheet.
func (d *Dataset) CustomerPII() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range d.Chats() {
		for _, u := range c.Users {
			if u.Type != livechat.UserCustomer {
				continue
			}
			for _, s := range []string{u.Name, u.Email} {
				if s != "" && !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// AddThread adds a thread (a list_archives entry) in order of its thread's created_at,
// replacing one with the same thread id.
func (d *Dataset) AddThread(c livechat.Chat) error {
	created, err := livechat.ParseTime(c.Thread.CreatedAt)
	if err != nil {
		return fmt.Errorf("livechatfake: AddThread: thread created_at: %w", err)
	}
	if c.Thread.ID == "" {
		return fmt.Errorf("livechatfake: AddThread: thread without id")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if i, ok := d.indexLocked(c.Thread.ID); ok {
		d.headers = slices.Delete(d.headers, i, i+1)
	}
	h := header{chatID: c.ID, threadID: c.Thread.ID, created: created.UTC(), kind: -1}
	i, _ := slices.BinarySearchFunc(d.headers, h, cmpHeader)
	d.headers = slices.Insert(d.headers, i, h)
	cc := c
	d.overrides[c.Thread.ID] = &cc
	d.byThread = nil
	return nil
}

// SetRating rates (or re-rates) a thread as a customer does after the chat: it sets
// properties.rating (score 1 good, 0 bad, nil removes the rating) and appends the matching
// rating system messages at time at. It reports whether the thread exists.
func (d *Dataset) SetRating(threadID string, score *int, comment string, at time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.indexLocked(threadID)
	if !ok {
		return false
	}
	c := d.chatLocked(i)
	c.Thread.Events = slices.Clone(c.Thread.Events)
	n := len(c.Thread.Events)
	add := func(typ string, vars map[string]string) {
		n++
		tv, _ := json.Marshal(vars)
		c.Thread.Events = append(c.Thread.Events, livechat.Event{ID: threadID + "_r" + strconv.Itoa(n), Type: livechat.EventSystemMessage,
			SystemMessageType: typ, CreatedAt: formatTime(at, time.UTC), Visibility: livechat.VisibilityAll, TextVars: tv,
			Text: "The customer " + strings.TrimPrefix(typ, "rating.chat_")})
	}
	if score == nil {
		c.Thread.Properties.Rating = nil
		add(livechat.SystemRatingCanceled, map[string]string{"customer": customerName(c)})
	} else {
		s := *score
		c.Thread.Properties.Rating = &livechat.Rating{Score: &s, Comment: comment}
		add(livechat.SystemChatRated, map[string]string{"customer": customerName(c), "score": scoreWord(s)})
		if comment != "" {
			add(livechat.SystemChatCommented, map[string]string{"customer": customerName(c), "comment": comment})
		}
	}
	d.overrides[threadID] = &c
	return true
}

func customerName(c livechat.Chat) string {
	for _, u := range c.Users {
		if u.Type == livechat.UserCustomer {
			return u.Name
		}
	}
	return ""
}

func scoreWord(s int) string {
	if s == 1 {
		return "good"
	}
	return "bad"
}

func cmpHeader(a, b header) int {
	if c := a.created.Compare(b.created); c != 0 {
		return c
	}
	return strings.Compare(a.threadID, b.threadID)
}

func (d *Dataset) indexLocked(threadID string) (int, bool) {
	if d.byThread == nil {
		d.byThread = make(map[string]int, len(d.headers))
		for i := range d.headers {
			d.byThread[d.headers[i].threadID] = i
		}
	}
	i, ok := d.byThread[threadID]
	return i, ok
}

func (d *Dataset) chatLocked(i int) livechat.Chat {
	h := &d.headers[i]
	if c, ok := d.overrides[h.threadID]; ok {
		return *c
	}
	return d.materialize(h)
}

// Time zones some generated timestamps are written in (LiveChat mixes offsets in payloads).
var offsets = []*time.Location{time.FixedZone("", -3*3600), time.FixedZone("", 3600), time.FixedZone("", 5*3600+1800)}

const wireLayout = "2006-01-02T15:04:05.000000Z07:00"

func formatTime(t time.Time, loc *time.Location) string { return t.In(loc).Format(wireLayout) }

type builder struct {
	r      *rand.Rand
	h      *header
	t      time.Time
	loc    *time.Location
	events []livechat.Event
}

func (b *builder) add(gap time.Duration, e livechat.Event) {
	b.t = b.t.Add(gap)
	e.ID = b.h.threadID + "_" + strconv.Itoa(len(b.events)+1)
	e.CreatedAt = formatTime(b.t, b.loc)
	if e.Visibility == "" {
		e.Visibility = livechat.VisibilityAll
	}
	b.events = append(b.events, e)
}

func (b *builder) msg(gap time.Duration, author, text string) {
	b.add(gap, livechat.Event{Type: livechat.EventMessage, AuthorID: author, Text: text})
}

func (b *builder) system(gap time.Duration, typ, text string, vars map[string]string) {
	tv, _ := json.Marshal(vars)
	b.add(gap, livechat.Event{Type: livechat.EventSystemMessage, SystemMessageType: typ, Text: text, TextVars: tv})
}

func (b *builder) secs(lo, hi int) time.Duration {
	return time.Duration(lo+b.r.IntN(hi-lo+1)) * time.Second
}

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

func customerOf(idx int) livechat.User {
	r := rand.New(rand.NewPCG(uint64(idx), 0xc0ffee))
	first, last := pick(r, firstNames), pick(r, lastNames)
	local := strings.ToLower(strings.NewReplacer("'", "", "é", "e", "í", "i", "ë", "e", "ü", "u").Replace(first + "." + last))
	return livechat.User{
		ID:    fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff),
		Type:  livechat.UserCustomer,
		Name:  first + " " + last,
		Email: local + strconv.Itoa(idx) + "@example.org",
	}
}

// materialize builds a generated thread from its header, deterministically.
func (d *Dataset) materialize(h *header) livechat.Chat {
	r := rand.New(rand.NewPCG(h.seed, 1))
	b := &builder{r: r, h: h, t: h.created, loc: time.UTC}
	if r.IntN(100) < 6 {
		b.loc = offsets[r.IntN(len(offsets))]
	}
	cust := customerOf(h.customer)
	human := d.Agents[r.IntN(len(d.Agents))]
	bot := d.Bots[0]
	if h.group == 2 && r.IntN(2) == 0 {
		bot = d.Bots[1]
	}
	users := []livechat.User{cust}
	addUser := func(id, name string) {
		for _, u := range users {
			if u.ID == id {
				return
			}
		}
		u := livechat.User{ID: id, Type: livechat.UserAgent, Name: name, Visibility: livechat.VisibilityAll}
		if strings.Contains(id, "@") {
			u.Email = id
		}
		users = append(users, u)
	}
	groupName := d.Groups[h.group].Name

	// The first event happens when the thread is created.
	if r.IntN(100) < 30 && h.kind != Restricted && h.kind != AgentFirst {
		fields, _ := json.Marshal([]map[string]string{
			{"type": "name", "id": "1", "label": "Name:", "answer": cust.Name},
			{"type": "email", "id": "2", "label": "E-mail:", "answer": cust.Email},
		})
		b.add(0, livechat.Event{Type: livechat.EventFilledForm, AuthorID: cust.ID, FormID: "1473433500211", FormType: "prechat", Fields: fields})
		b.msg(b.secs(1, 20), cust.ID, pick(r, customerLines))
	} else if h.kind != Restricted && h.kind != AgentFirst {
		b.msg(0, cust.ID, pick(r, customerLines))
	}

	botTurns := func(n int) {
		addUser(bot.ID, bot.Name)
		for i := range n {
			if i == 0 && r.IntN(2) == 0 {
				elems, _ := json.Marshal([]map[string]any{{"title": "Popular answers", "buttons": []map[string]string{
					{"text": "Billing", "type": "message", "value": "billing"}, {"text": "Talk to a human", "type": "message", "value": "human"}}}})
				b.add(b.secs(1, 3), livechat.Event{Type: livechat.EventRichMessage, AuthorID: bot.ID, TemplateID: "quick_replies", Elements: elems})
			} else {
				b.msg(b.secs(1, 3), bot.ID, pick(r, botLines))
			}
			if i < n-1 {
				b.msg(b.secs(5, 90), cust.ID, pick(r, customerLines))
			}
		}
	}
	transfer := func() {
		b.system(b.secs(1, 5), livechat.SystemChatTransferred, bot.Name+" transferred the chat to "+groupName,
			map[string]string{"initiator": bot.Name, "targets": groupName})
	}
	humanTurns := func(n int, firstWait time.Duration) {
		addUser(human.ID, human.Name)
		for i := range n {
			gap := b.secs(20, 240)
			if i == 0 {
				gap = firstWait
			}
			if r.IntN(100) < 5 {
				b.add(gap, livechat.Event{Type: livechat.EventFile, AuthorID: human.ID, Name: "guide.pdf", URL: "https://cdn.example.com/guide.pdf",
					ContentType: "application/pdf", Size: 48213})
			} else {
				b.msg(gap, human.ID, pick(r, agentLines))
			}
			if i == 0 && r.IntN(100) < 15 {
				b.add(b.secs(5, 60), livechat.Event{Type: livechat.EventMessage, AuthorID: human.ID, Visibility: livechat.VisibilityAgents,
					Text: "Internal: customer is on the legacy plan"})
			}
			if i < n-1 {
				if r.IntN(100) < 8 {
					b.add(b.secs(10, 120), livechat.Event{Type: livechat.EventFile, AuthorID: cust.ID, Name: "screenshot.png",
						URL: "https://cdn.example.com/screenshot.png", ContentType: "image/png", Size: 183021})
				} else {
					b.msg(b.secs(10, 180), cust.ID, pick(r, customerLines))
				}
			}
		}
	}
	firstWait := func() time.Duration {
		if r.IntN(10) == 0 {
			return b.secs(900, 7200)
		}
		return b.secs(10, 600)
	}

	rateable := false
	switch h.kind {
	case BotContained:
		botTurns(1 + r.IntN(4))
		b.msg(b.secs(5, 60), cust.ID, "Thanks!")
		rateable = r.IntN(100) < 30
	case BotHandover:
		botTurns(1 + r.IntN(3))
		transfer()
		humanTurns(2+r.IntN(8), firstWait())
		rateable = true
	case BotHandoverSilent:
		botTurns(1 + r.IntN(3))
		b.system(b.secs(1, 30), "routing.assigned_other", human.Name+" was assigned", map[string]string{"agent_added": human.Name})
		humanTurns(2+r.IntN(6), firstWait())
		rateable = true
	case TransferUnanswered:
		botTurns(1 + r.IntN(2))
		transfer()
		b.msg(b.secs(60, 300), cust.ID, "Is anyone there?")
	case HumanOnly:
		humanTurns(2+r.IntN(12), firstWait())
		rateable = true
	case AgentFirst:
		addUser(human.ID, human.Name)
		b.msg(0, human.ID, "Hi! Can I help you with anything?")
		b.msg(b.secs(10, 120), cust.ID, pick(r, customerLines))
		humanTurns(1+r.IntN(5), b.secs(10, 120))
		rateable = true
	case Unanswered:
		for range r.IntN(3) {
			b.msg(b.secs(30, 300), cust.ID, pick(r, customerLines))
		}
	}
	var rating *livechat.Rating
	if h.kind != Restricted {
		if rateable && r.IntN(100) < 40 {
			s := 1
			if r.IntN(4) == 0 {
				s = 0
			}
			rating = &livechat.Rating{Score: &s}
			gap := b.secs(5, 120)
			if r.IntN(10) == 0 { // rated days later, from the transcript email
				gap = b.secs(86400, 3*86400)
			}
			b.system(gap, livechat.SystemChatRated, cust.Name+" rated the chat as "+scoreWord(s),
				map[string]string{"customer": cust.Name, "score": scoreWord(s)})
			if r.IntN(2) == 0 {
				rating.Comment = [...]string{"Quick and helpful", "Did not solve my problem", "Great, thanks Anna!", "too slow"}[r.IntN(4)]
				b.system(b.secs(1, 60), livechat.SystemChatCommented, cust.Name+" left the following comment: "+rating.Comment,
					map[string]string{"customer": cust.Name, "comment": rating.Comment})
			}
		}
		switch r.IntN(3) {
		case 0:
			b.system(b.secs(5, 300), "manual_archived_customer", cust.Name+" archived the chat", map[string]string{"customer": cust.Name})
		case 1:
			b.system(30*time.Minute, "routing.archived_inactive", "Chat archived due to inactivity", map[string]string{"duration": "30"})
		default:
			b.system(b.secs(5, 120), "manual_archived_agent", "The agent archived the chat", nil)
		}
	}

	userIDs := make([]string, len(users))
	for i, u := range users {
		userIDs[i] = u.ID
	}
	th := livechat.Thread{
		ID: h.threadID, UserIDs: userIDs, CreatedAt: formatTime(h.created, b.loc), Events: b.events,
		Access: &livechat.Access{GroupIDs: []int{h.group}}, PreviousThreadID: h.prevID,
	}
	if h.kind == Restricted {
		th.RestrictedAccess = json.RawMessage(`"Archive retention exceeded"`)
	}
	th.Properties.Rating = rating
	if r.IntN(2) == 0 {
		th.Tags = []string{pick(r, tagPool)}
		if r.IntN(4) == 0 {
			if t2 := pick(r, tagPool); t2 != th.Tags[0] {
				th.Tags = append(th.Tags, t2)
			}
		}
	}
	if h.kind != Restricted {
		th.Properties.Routing = json.RawMessage(`{"unassigned":false,"idle":false}`)
	}
	return livechat.Chat{ID: h.chatID, Users: users, Thread: th, Access: &livechat.Access{GroupIDs: []int{h.group}}}
}
