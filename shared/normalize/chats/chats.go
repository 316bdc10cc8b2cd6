// Package chats normalizes LiveChat threads (a livechat.Payload) into rows of the Chats tab,
// over the shared core in package normalize: team timezone, bot vs human, who handled a chat
// and how fast, ratings and tags. It is pure: no I/O, no clock, no context.
package chats

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/normalize"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/team"
)

// Handled By values.
const (
	Human      = "Human"
	Bot        = "Bot"
	BotToHuman = "Bot → Human"
	Unanswered = "Unanswered"
)

// Rating values.
const (
	RatingGood = "good"
	RatingBad  = "bad"
)

// Normalize normalizes a chats raw batch into rows of table.Chats, one per thread (list_archives
// entry), by the design's rules. It is pure and allocates little: a batch of 100,000 threads
// takes well under a second.
//
// Decisions where the design is silent:
//   - Who is who. A chat user of type customer is the customer, and nothing about it (name,
//     email) is ever written. An agent-type user, or an event author that is not a chat user,
//     is a bot when p.Bots lists its id or the team member it resolves to has role bot;
//     otherwise it is a human when it is a chat user of type agent, is in p.Agents, resolves
//     to a team member, or its id contains "@" (agent ids are emails). Any other author is
//     unknown: its messages count for nobody, and the thread gets one warning.
//   - Names: the team member found by Lookup(user id, user email, user name) gives the
//     standard name; else the user's name from chat.users, p.Agents or p.Bots; else the id.
//   - Message order: events are ordered by created_at, then by position. When an event's
//     created_at is missing or bad it gets a warning, the array order is used as is, and any
//     time measured from or to that event is empty.
//   - A visibility other than "agents" (including none) counts as visible to the customer.
//   - Handled By when both wrote but no human message follows a bot message (a survey bot
//     after the agent, say): Human. Human, bot, human is Bot → Human, as the design reads.
//   - A chat_transferred event is a handover when it comes before any human message and
//     either a bot has already written in the thread or its initiator is a bot (Bot's
//     "Transfer chat" action may transfer before writing). The first such event is the
//     handover time. A transfer between humans is not a handover.
//   - First Response Seconds: from the first customer message to the first team message
//     after it (a proactive greeting before the customer wrote does not count).
//   - First Human Response Seconds: from the handover event if any; else, when a bot wrote
//     before the first human message, from the last such bot message; else from the first
//     customer message — to the first human message after that start. Seconds and minutes
//     are rounded to 2 decimals; a negative span is empty.
//   - Ended is the time of the thread's last message (a message, rich_message or file event
//     visible to the customer, by anyone, an author that is not a chat user included); system
//     messages (an archive after inactivity, a rating given later, a transfer) and internal
//     notes do not stretch a chat. A thread without messages ends when it started (Duration
//     Minutes 0). Started is never guessed: an unusable created_at is an empty Started (and
//     Weekend) and a warning; Ended is then the last message's time, if any, with no Duration.
//   - A date before 2000 or after 2100 is out of range: empty and a warning.
//   - Rating comes from thread properties.rating only (the source of truth; the rating system
//     messages are an audit trail): score 1 good, 0 bad, none empty; another score is empty
//     and a warning. Rating Comment is written whenever present.
//   - Group: the first non-zero group of the thread's access (else the chat's); group 0
//     ("everyone") only when it is the sole group; its name from p.Groups, else its id.
//   - Tags: in API order, joined with ", ".
//   - Duplicate thread ids in one batch: the last entry wins, at its position.
//   - A thread without an id is rejected (normalize.Rejection.ID is the chat id).
func Normalize(p livechat.Payload, tc *team.Config, syncedAt time.Time) normalize.Result {
	if tc == nil {
		tc = team.Default()
	}
	n := newChatNormalizer(p, tc, syncedAt)
	return n.run()
}

// chatColumns is the width of a Chats row.
var chatColumns = len(table.Chats.Columns)

// Column positions in table.Chats.
const (
	chatColThread = iota
	chatColChat
	chatColStarted
	chatColEnded
	chatColDuration
	chatColGroup
	chatColHandledBy
	chatColBot
	chatColAgent
	chatColTransferred
	chatColFirstResponse
	chatColFirstHuman
	chatColCustomerMsgs
	chatColAgentMsgs
	chatColRating
	chatColRatingComment
	chatColTags
	chatColWeekend
	chatColSyncedAt
)

type chatRole uint8

const (
	chatUnknown chatRole = iota
	chatCustomer
	chatHuman
	chatBotRole
)

type chatActor struct {
	role chatRole
	name string
}

var chatCustomerActor = &chatActor{role: chatCustomer}

type chatUser struct {
	id    string
	actor *chatActor
}

type chatNormalizer struct {
	p        livechat.Payload
	tc       *team.Config
	loc      *time.Location
	synced   table.Cell
	bots     map[string]*livechat.Bot
	botNames map[string]bool
	agents   map[string]*livechat.Agent
	groups   map[int]string
	// listedActors caches agent-type chat users by id; authorActors authors that are not
	// chat users.
	listedActors map[string]*chatActor
	authorActors map[string]*chatActor
	workdays     *normalize.Workdays
	res          normalize.Result

	// scratch, reused per thread
	users []chatUser
	times []int64 // unix microseconds; chatNoTime when unusable
	order []int
}

const chatNoTime int64 = math.MinInt64

func newChatNormalizer(p livechat.Payload, tc *team.Config, syncedAt time.Time) *chatNormalizer {
	n := &chatNormalizer{
		p:            p,
		tc:           tc,
		loc:          tc.Location,
		bots:         make(map[string]*livechat.Bot, len(p.Bots)),
		botNames:     make(map[string]bool, len(p.Bots)),
		agents:       make(map[string]*livechat.Agent, len(p.Agents)),
		groups:       make(map[int]string, len(p.Groups)),
		listedActors: map[string]*chatActor{},
		authorActors: map[string]*chatActor{},
		workdays:     normalize.NewWorkdays(tc),
	}
	if n.loc == nil {
		n.loc = time.UTC
	}
	if !syncedAt.IsZero() {
		n.synced = table.TimeCell(syncedAt.In(n.loc))
	}
	for i := range p.Bots {
		b := &p.Bots[i]
		n.bots[b.ID] = b
		if b.Name != "" {
			n.botNames[strings.ToLower(b.Name)] = true
		}
	}
	for i := range p.Agents {
		n.agents[p.Agents[i].ID] = &p.Agents[i]
	}
	for _, g := range p.Groups {
		n.groups[g.ID] = g.Name
	}
	return n
}

func (n *chatNormalizer) run() normalize.Result {
	cs := n.p.Chats
	last := normalize.LastIndex(len(cs), func(i int) string { return cs[i].Thread.ID })
	cells := make([]table.Cell, len(last)*chatColumns)
	n.res.Rows = make([]table.Row, 0, len(last))
	for i := range cs {
		c := &cs[i]
		key := c.Thread.ID
		if key == "" {
			id := c.ID
			if id == "" {
				id = "#" + strconv.Itoa(i+1)
			}
			n.res.Rejected = append(n.res.Rejected, normalize.Rejection{
				ID:     id,
				Reason: "entry #" + strconv.Itoa(i+1) + " of the batch (chat " + strconv.Quote(c.ID) + ") has a thread without id",
			})
			continue
		}
		if last[key] != i {
			continue
		}
		row := table.Row(cells[:chatColumns:chatColumns])
		cells = cells[chatColumns:]
		n.fill(row, c)
		n.res.Rows = append(n.res.Rows, row)
	}
	return n.res
}

// actor resolves an agent-type chat user (listed) or an author missing from chat.users.
func (n *chatNormalizer) actor(id, name, email string, listed bool) *chatActor {
	cache := n.authorActors
	if listed {
		cache = n.listedActors
	}
	if a, ok := cache[id]; ok {
		return a
	}
	bot := n.bots[id]
	ag := n.agents[id]
	if name == "" {
		if bot != nil {
			name = bot.Name
		} else if ag != nil {
			name = ag.Name
		}
	}
	m := n.tc.Lookup(id, email, name)
	a := &chatActor{}
	switch {
	case bot != nil || (m != nil && m.Role == team.Bot):
		a.role = chatBotRole
	case listed || ag != nil || m != nil || strings.Contains(id, "@"):
		a.role = chatHuman
	default:
		a.role = chatUnknown
	}
	switch {
	case m != nil:
		a.name = m.Name
	case name != "":
		a.name = name
	default:
		a.name = id
	}
	cache[id] = a
	return a
}

func (n *chatNormalizer) author(id string) *chatActor {
	if id == "" {
		return nil
	}
	for i := range n.users {
		if n.users[i].id == id {
			return n.users[i].actor
		}
	}
	return n.actor(id, "", "", false)
}

func chatIsMessage(e *livechat.Event) bool {
	switch e.Type {
	case livechat.EventMessage, livechat.EventRichMessage, livechat.EventFile:
		return e.Visibility != livechat.VisibilityAgents
	}
	return false
}

// chatTime parses an API timestamp into unix microseconds. The form LiveChat sends for events
// and threads (2024-05-01T10:02:05.300000Z) takes a fast path; anything else goes through
// time.Parse (RFC 3339, any offset, any fraction).
func chatTime(s string) (int64, bool) {
	if us, ok := chatFastTime(s); ok {
		return us, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	if !normalize.YearOK(t.UTC().Year()) {
		return 0, false
	}
	return t.UnixMicro(), true
}

func (n *chatNormalizer) warn(key, what, raw string) {
	n.res.WarnValue(raw, func(q string) string { return "thread " + key + ": " + what + " " + q })
}

// fill writes one thread's row, in named steps: who is in the chat, the events in time order,
// one scan of them, then the columns from what the scan saw.
func (n *chatNormalizer) fill(row table.Row, c *livechat.Chat) {
	th := &c.Thread
	key := th.ID
	row[chatColThread] = table.TextCell(key)
	row[chatColChat] = table.TextCell(c.ID)

	n.scanUsers(c)
	order := n.eventTimes(key, th.Events)
	var s chatScan
	n.scanEvents(&s, th.Events, order)
	if s.unknown != "" {
		n.warn(key, "message author is not a chat user, agent or bot; not counted:", s.unknown)
	}
	n.fillTimes(row, key, th, s.ended)
	row[chatColGroup] = table.TextCell(n.group(c))
	s.fillHandling(row)
	s.fillResponseTimes(row)
	row[chatColCustomerMsgs] = table.NumberCell(float64(s.custMsgs))
	row[chatColAgentMsgs] = table.NumberCell(float64(s.teamMsgs))
	n.fillRating(row, key, th)
	switch len(th.Tags) {
	case 0:
	case 1:
		row[chatColTags] = table.TextCell(th.Tags[0])
	default:
		row[chatColTags] = table.TextCell(strings.Join(th.Tags, ", "))
	}
	row[chatColSyncedAt] = n.synced
}

// scanUsers resolves who is in the chat: customers, and agents or bots by their chat user.
func (n *chatNormalizer) scanUsers(c *livechat.Chat) {
	n.users = n.users[:0]
	for i := range c.Users {
		u := &c.Users[i]
		if u.Type == livechat.UserCustomer {
			n.users = append(n.users, chatUser{id: u.ID, actor: chatCustomerActor})
			continue
		}
		n.users = append(n.users, chatUser{id: u.ID, actor: n.actor(u.ID, u.Name, u.Email, true)})
	}
}

// eventTimes parses the events' times into n.times (chatNoTime and a warning when unusable)
// and returns the order to read them in: nil when they are already in time order, or when a
// time is unusable (then API order is kept).
func (n *chatNormalizer) eventTimes(key string, evs []livechat.Event) []int {
	n.times = n.times[:0]
	sorted, allOK := true, true
	prev := int64(math.MinInt64)
	for i := range evs {
		t, ok := chatTime(evs[i].CreatedAt)
		if !ok {
			n.warn(key, "event "+evs[i].ID+" created_at", evs[i].CreatedAt)
			t, allOK = chatNoTime, false
		} else if t < prev {
			sorted = false
		} else {
			prev = t
		}
		n.times = append(n.times, t)
	}
	if sorted || !allOK {
		return nil
	}
	n.order = n.order[:0]
	for i := range evs {
		n.order = append(n.order, i)
	}
	times := n.times
	slices.SortStableFunc(n.order, func(a, b int) int {
		switch {
		case times[a] < times[b]:
			return -1
		case times[a] > times[b]:
			return 1
		}
		return 0
	})
	return n.order
}

// chatScan is what one pass over a thread's events saw. Times are unix microseconds,
// chatNoTime when not seen.
type chatScan struct {
	custMsgs, teamMsgs, botMsgs, humanMsgs int
	firstBot, firstHuman                   *chatActor
	humanAfterBot                          bool // a human wrote after a bot had written
	unknown                                string

	ended                            int64 // the last message
	firstCust, firstTeamAfterCust    int64
	custSeen, teamAfterCustSeen      bool
	lastBotBeforeHuman               int64
	firstHumanT, firstHumanAfterCust int64 // the first human message; the first after a customer's
	humanAfterCustSeen               bool
	handover                         int64 // a bot's chat_transferred before any human wrote
	handoverSeen                     bool
	botBeforeFirstHuman              bool
	handoverBeforeFirstHuman         bool
}

// scanEvents reads the events in order once, counting messages by role and noting the times
// the response-time columns need.
func (n *chatNormalizer) scanEvents(s *chatScan, evs []livechat.Event, order []int) {
	s.ended, s.firstCust, s.firstTeamAfterCust = chatNoTime, chatNoTime, chatNoTime
	s.lastBotBeforeHuman, s.firstHumanT, s.firstHumanAfterCust, s.handover = chatNoTime, chatNoTime, chatNoTime, chatNoTime
	for j := range evs {
		i := j
		if order != nil {
			i = order[j]
		}
		e := &evs[i]
		t := n.times[i]
		if chatIsMessage(e) && t != chatNoTime && t > s.ended {
			s.ended = t
		}
		if e.Type == livechat.EventSystemMessage {
			if e.SystemMessageType == livechat.SystemChatTransferred && !s.handoverSeen && s.humanMsgs == 0 &&
				(s.botMsgs > 0 || n.isBotName(e.TextVar("initiator"))) {
				s.handoverSeen, s.handover = true, t
			}
			continue
		}
		if !chatIsMessage(e) {
			continue
		}
		a := n.author(e.AuthorID)
		if a == nil || a.role == chatUnknown {
			if s.unknown == "" {
				s.unknown = e.AuthorID
				if s.unknown == "" {
					s.unknown = "(none)"
				}
			}
			continue
		}
		switch a.role {
		case chatCustomer:
			s.custMsgs++
			if !s.custSeen {
				s.custSeen, s.firstCust = true, t
			}
			continue
		case chatBotRole:
			s.botMsgs++
			if s.firstBot == nil {
				s.firstBot = a
			}
			if s.humanMsgs == 0 {
				s.lastBotBeforeHuman = t
			}
		case chatHuman:
			if s.humanMsgs == 0 {
				s.firstHuman, s.firstHumanT = a, t
				s.botBeforeFirstHuman = s.botMsgs > 0
				s.handoverBeforeFirstHuman = s.handoverSeen
			}
			s.humanMsgs++
			if s.botMsgs > 0 {
				s.humanAfterBot = true
			}
			if s.custSeen && !s.humanAfterCustSeen {
				s.humanAfterCustSeen, s.firstHumanAfterCust = true, t
			}
		}
		s.teamMsgs++
		if s.custSeen && !s.teamAfterCustSeen {
			s.teamAfterCustSeen, s.firstTeamAfterCust = true, t
		}
	}
}

// fillTimes writes Started, Ended, Duration and Weekend.
func (n *chatNormalizer) fillTimes(row table.Row, key string, th *livechat.Thread, ended int64) {
	started, startOK := chatTime(th.CreatedAt)
	if !startOK {
		n.warn(key, "created_at", th.CreatedAt)
	} else {
		st := time.UnixMicro(started).In(n.loc)
		row[chatColStarted] = table.TimeCell(st)
		row[chatColWeekend] = table.BoolCell(!n.workdays.Is(st))
		if ended == chatNoTime {
			ended = started // no message: the chat ends when it started
		}
	}
	if ended != chatNoTime {
		row[chatColEnded] = table.TimeCell(time.UnixMicro(ended).In(n.loc))
		if startOK {
			if ended >= started {
				row[chatColDuration] = table.NumberCell(chatRound2(float64(ended-started) / 60e6))
			} else {
				n.warn(key, "last message is before created_at", th.CreatedAt)
			}
		}
	}
}

// fillHandling writes who handled the chat: Handled By, Bot, Agent, Transferred.
func (s *chatScan) fillHandling(row table.Row) {
	var handled string
	switch {
	case s.teamMsgs == 0:
		handled = Unanswered
	case s.humanMsgs == 0:
		handled = Bot
	case s.humanAfterBot:
		handled = BotToHuman
	default:
		handled = Human
	}
	row[chatColHandledBy] = table.TextCell(handled)
	if s.firstBot != nil {
		row[chatColBot] = table.TextCell(s.firstBot.name)
	}
	if s.firstHuman != nil {
		row[chatColAgent] = table.TextCell(s.firstHuman.name)
	}
	row[chatColTransferred] = table.BoolCell(handled == BotToHuman || s.handoverSeen)
}

// fillResponseTimes writes First Response Seconds (the team's first answer to the customer)
// and First Human Response Seconds (from the handover, the bot's last message or the
// customer's first, to the first human message).
func (s *chatScan) fillResponseTimes(row table.Row) {
	if s.custSeen && s.teamAfterCustSeen {
		row[chatColFirstResponse] = chatSeconds(s.firstCust, s.firstTeamAfterCust)
	}
	if s.firstHuman == nil {
		return
	}
	from, to := chatNoTime, chatNoTime
	switch {
	case s.handoverBeforeFirstHuman:
		from, to = s.handover, s.firstHumanT
	case s.botBeforeFirstHuman:
		from, to = s.lastBotBeforeHuman, s.firstHumanT
	case s.custSeen && s.humanAfterCustSeen:
		from, to = s.firstCust, s.firstHumanAfterCust
	}
	row[chatColFirstHuman] = chatSeconds(from, to)
}

// fillRating writes Rating and Rating Comment from the thread's rating property.
func (n *chatNormalizer) fillRating(row table.Row, key string, th *livechat.Thread) {
	r := th.Properties.Rating
	if r == nil {
		return
	}
	if r.Score != nil {
		switch *r.Score {
		case 1:
			row[chatColRating] = table.TextCell(RatingGood)
		case 0:
			row[chatColRating] = table.TextCell(RatingBad)
		default:
			n.warn(key, "rating score", strconv.Itoa(*r.Score))
		}
	}
	row[chatColRatingComment] = table.TextCell(r.Comment)
}

// isBotName reports whether a chat_transferred initiator names a bot (by id or name).
func (n *chatNormalizer) isBotName(s string) bool {
	if s == "" {
		return false
	}
	if n.bots[s] != nil || n.botNames[strings.ToLower(s)] {
		return true
	}
	m := n.tc.Lookup(s)
	return m != nil && m.Role == team.Bot
}

func (n *chatNormalizer) group(c *livechat.Chat) string {
	var ids []int
	if c.Thread.Access != nil && len(c.Thread.Access.GroupIDs) > 0 {
		ids = c.Thread.Access.GroupIDs
	} else if c.Access != nil {
		ids = c.Access.GroupIDs
	}
	if len(ids) == 0 {
		return ""
	}
	id := ids[0]
	for _, g := range ids {
		if g != 0 {
			id = g
			break
		}
	}
	if name, ok := n.groups[id]; ok && name != "" {
		return name
	}
	return strconv.Itoa(id)
}

// chatSeconds is the span from a to b in seconds, empty when either is unknown or b is
// before a.
func chatSeconds(a, b int64) table.Cell {
	if a == chatNoTime || b == chatNoTime || b < a {
		return table.Cell{}
	}
	return table.NumberCell(chatRound2(float64(b-a) / 1e6))
}

func chatRound2(x float64) float64 { return math.Round(x*100) / 100 }

// chatFastTime parses exactly "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, six fraction digits) into
// unix microseconds; ok is false for any other form or an invalid or out-of-range value.
func chatFastTime(s string) (int64, bool) {
	if len(s) != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
		s[19] != '.' || s[26] != 'Z' {
		return 0, false
	}
	for _, i := range chatDigitPos {
		if s[i]-'0' > 9 {
			return 0, false
		}
	}
	d2 := func(i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }
	y := d2(0)*100 + d2(2)
	mo, d, h, mi, sec := d2(5), d2(8), d2(11), d2(14), d2(17)
	us := d2(20)*10000 + d2(22)*100 + d2(24)
	if !normalize.YearOK(y) || mo < 1 || mo > 12 || d < 1 || d > chatDaysIn(y, mo) ||
		h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	// Days from civil (H. Hinnant), proleptic Gregorian.
	yy := y
	if mo <= 2 {
		yy--
	}
	era := yy / 400
	yoe := yy - era*400
	mp := (mo + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := int64(era*146097+doe) - 719468
	return ((days*24+int64(h))*60+int64(mi))*60e6 + int64(sec)*1e6 + int64(us), true
}

// chatDigitPos are the digit positions of "YYYY-MM-DDTHH:MM:SS.ffffffZ".
var chatDigitPos = [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25}

func chatDaysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// NormalizeJSON decodes a chats batch payload (livechat.Payload as JSON) and normalizes it
// with Normalize; a payload that does not decode is an error.
func NormalizeJSON(payload json.RawMessage, tc *team.Config, syncedAt time.Time) (normalize.Result, error) {
	var p livechat.Payload
	if err := json.Unmarshal(payload, &p); err != nil {
		return normalize.Result{}, fmt.Errorf("chats payload: %w", err)
	}
	return Normalize(p, tc, syncedAt), nil
}
