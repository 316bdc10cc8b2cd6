package widgets

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Widget describes one widget of the contract.
type Widget struct {
	// ID is the widget's id in /api/v1/widgets/{id}.
	ID string `json:"id"`
	// Title is its human title.
	Title string `json:"title"`
	// Description says which rows it counts.
	Description string `json:"description"`
	// Filters are the filters it accepts.
	Filters []string `json:"filters"`
	// IgnoresRange is set for a snapshot widget (ticket-backlog): from and to are accepted,
	// validated and ignored.
	IgnoresRange bool `json:"ignores_range,omitempty"`

	compute func(ds *Dataset, q *query) any
}

var allFilters = []string{FilterFrom, FilterTo, FilterPipeline, FilterAgent, FilterSource}

var (
	ticketFilters = []string{FilterFrom, FilterTo, FilterPipeline, FilterAgent}
	chatFilters   = []string{FilterFrom, FilterTo, FilterAgent}
)

// All is every widget, in the contract's order.
var All = []Widget{
	{ID: "tickets-created", Title: "Tickets created", Description: "Tickets created in the range, per local day and pipeline.", Filters: ticketFilters, compute: ticketsCreated},
	{ID: "ticket-first-response", Title: "Ticket first response", Description: "Median and P90 first response time (calendar time) of tickets first replied to in the range; open tickets created in the range with no reply.", Filters: ticketFilters, compute: ticketFirstResponse},
	{ID: "ticket-time-to-close", Title: "Ticket time to close", Description: "Median and P90 time to close (calendar time) of tickets closed in the range.", Filters: ticketFilters, compute: ticketTimeToClose},
	{ID: "ticket-backlog", Title: "Open ticket backlog", Description: "Open tickets now, by age at the data's as_of time (the range is ignored).", Filters: []string{FilterPipeline, FilterAgent}, IgnoresRange: true, compute: ticketBacklog},
	{ID: "chat-volume", Title: "Chat volume", Description: "Chat threads started in the range, by who handled them and per local day.", Filters: chatFilters, compute: chatVolume},
	{ID: "chat-first-response", Title: "Chat first response", Description: "Median and P90 first response and first human response of threads started in the range.", Filters: chatFilters, compute: chatFirstResponse},
	{ID: "chat-duration", Title: "Chat duration", Description: "Median and P90 duration of threads started in the range.", Filters: chatFilters, compute: chatDuration},
	{ID: "chat-missed", Title: "Missed chats", Description: "Threads started in the range that needed a human, and those no human answered.", Filters: chatFilters, compute: chatMissed},
	{ID: "chat-csat", Title: "Chat CSAT", Description: "Good / (good + bad) ratings of threads started in the range, and the response rate.", Filters: chatFilters, compute: chatCSAT},
	{ID: "bot-containment", Title: "Bot containment", Description: "Per bot: threads started in the range, contained (not transferred) and transferred.", Filters: chatFilters, compute: botContainment},
	{ID: "agent-leaderboard", Title: "Agent leaderboard", Description: "Per agent: tickets closed, chats, median first responses and CSAT in the range.", Filters: allFilters, compute: agentLeaderboard},
	{ID: "load-heatmap", Title: "Load heatmap", Description: "Tickets created and threads started per weekday and local hour, averaged over the weekdays in the range.", Filters: allFilters, compute: loadHeatmap},
}

// ByID returns the widget with the given id.
func ByID(id string) (Widget, bool) {
	for _, w := range All {
		if w.ID == id {
			return w, true
		}
	}
	return Widget{}, false
}

// Response is the JSON body of /api/v1/widgets/{id}.
type Response struct {
	Widget  string            `json:"widget"`
	AsOf    string            `json:"as_of"`
	Dataset string            `json:"dataset"`
	Filters map[string]string `json:"filters"`
	Value   any               `json:"value"`
}

// any and none are the filter indexes of "no filter" and "a value that is not in the data".
const (
	anyName  = -1
	noneName = -2
)

// query is Filters resolved against one dataset.
type query struct {
	from, to      int32
	pipe, agent   int64 // Names index, anyName or noneName
	tickets, chat bool  // sources kept
}

func (ds *Dataset) nameIndex(s string) int64 {
	if s == "" {
		return anyName
	}
	if i, ok := ds.names[s]; ok {
		return int64(i)
	}
	return noneName
}

func (ds *Dataset) resolve(f Filters) *query {
	q := &query{pipe: ds.nameIndex(f.Pipeline), agent: ds.nameIndex(f.Agent), tickets: true, chat: true}
	q.from, q.to = f.days()
	// Filters from ParseFilters are always a valid range; guard hand-made ones.
	if q.to < q.from || q.to-q.from >= MaxDays {
		q.to = q.from - 1 // empty
	}
	switch {
	case f.Source == "tickets":
		q.chat = false
	case f.Source == "chats":
		q.tickets = false
	}
	if f.Pipeline != "" {
		q.chat = false
	}
	return q
}

func (q *query) inRange(day int32) bool { return day >= q.from && day <= q.to }

func (q *query) ticket(ds *Dataset, i int) bool {
	return (q.pipe == anyName || int64(ds.Tickets.Pipeline[i]) == q.pipe) &&
		(q.agent == anyName || int64(ds.Tickets.Agent[i]) == q.agent)
}

func (q *query) chatOK(ds *Dataset, i int) bool {
	return q.agent == anyName || int64(ds.Chats.Agent[i]) == q.agent
}

// Compute answers widget w over ds with filters f (from ParseFilters).
func (ds *Dataset) Compute(w Widget, f Filters) Response {
	return Response{
		Widget: w.ID, AsOf: ds.AsOf.UTC().Format(time.RFC3339), Dataset: ds.Version,
		Filters: f.Applied(w), Value: w.compute(ds, ds.resolve(f)),
	}
}

// DayCount is one local date's count.
type DayCount struct {
	Date  string `json:"date"`
	Count int    `json:"count"`
}

// TicketDay is one local date of tickets-created.
type TicketDay struct {
	Date       string         `json:"date"`
	Count      int            `json:"count"`
	ByPipeline map[string]int `json:"by_pipeline"`
}

func days(q *query) []DayCount {
	out := make([]DayCount, q.to-q.from+1)
	for i := range out {
		out[i].Date = dateOf(q.from + int32(i))
	}
	return out
}

func ticketsCreated(ds *Dataset, q *query) any {
	np := len(ds.pipes)
	nd := int(q.to - q.from + 1)
	counts := make([]int, nd*np)
	perDay := make([]int, nd)
	total := 0
	for i, d := range ds.tCreatedDay {
		if !q.inRange(d) || !q.ticket(ds, i) {
			continue
		}
		k := int(d - q.from)
		perDay[k]++
		counts[k*np+int(ds.tPipe[i])]++
		total++
	}
	out := make([]TicketDay, nd)
	for k := range out {
		out[k] = TicketDay{Date: dateOf(q.from + int32(k)), Count: perDay[k], ByPipeline: map[string]int{}}
		if perDay[k] == 0 {
			continue
		}
		for p, n := range counts[k*np : (k+1)*np] {
			if n > 0 {
				out[k].ByPipeline[ds.Names[ds.pipes[p]]] = n
			}
		}
	}
	return struct {
		Total int         `json:"total"`
		ByDay []TicketDay `json:"by_day"`
	}{total, out}
}

func ticketFirstResponse(ds *Dataset, q *query) any {
	t := &ds.Tickets
	buf := getBuf()
	defer putBuf(buf)
	xs := *buf
	unanswered := 0
	for i := range t.Created {
		if !q.ticket(ds, i) {
			continue
		}
		if q.inRange(ds.tReplyDay[i]) && !math.IsNaN(t.FirstResponse[i]) {
			xs = append(xs, t.FirstResponse[i])
		}
		if t.Open[i] && t.FirstReply[i] == NoTime && q.inRange(ds.tCreatedDay[i]) {
			unanswered++
		}
	}
	s := newStats(xs)
	*buf = xs
	return struct {
		Count      int      `json:"count"`
		Median     *float64 `json:"median"`
		P90        *float64 `json:"p90"`
		Unanswered int      `json:"unanswered"`
	}{s.Count, s.Median, s.P90, unanswered}
}

func ticketTimeToClose(ds *Dataset, q *query) any {
	t := &ds.Tickets
	buf := getBuf()
	defer putBuf(buf)
	xs := *buf
	for i, d := range ds.tClosedDay {
		if q.inRange(d) && !math.IsNaN(t.TimeToClose[i]) && q.ticket(ds, i) {
			xs = append(xs, t.TimeToClose[i])
		}
	}
	*buf = xs
	return newStats(xs)
}

// Bucket is one age bucket of ticket-backlog.
type Bucket struct {
	Label string `json:"label"`
	Count int    `json:"count"`
}

// backlogBuckets are the age buckets' labels and upper bounds (exclusive), in days.
var backlogBuckets = []struct {
	label string
	upto  int64
}{{"0-1d", 1}, {"1-3d", 3}, {"3-7d", 7}, {"7-30d", 30}, {"30d+", math.MaxInt64 / 86400}}

func ticketBacklog(ds *Dataset, q *query) any {
	t := &ds.Tickets
	asOf := ds.AsOf.Unix()
	out := make([]Bucket, len(backlogBuckets))
	for i, b := range backlogBuckets {
		out[i].Label = b.label
	}
	total := 0
	for i, open := range t.Open {
		if !open || !q.ticket(ds, i) {
			continue
		}
		total++
		age := int64(0)
		if c := ds.tCreatedAt[i]; c != NoTime && asOf > c {
			age = asOf - c
		}
		for k, b := range backlogBuckets {
			if age < b.upto*86400 || k == len(backlogBuckets)-1 {
				out[k].Count++
				break
			}
		}
	}
	return struct {
		Total   int      `json:"total"`
		Buckets []Bucket `json:"buckets"`
	}{total, out}
}

func chatVolume(ds *Dataset, q *query) any {
	byDay := days(q)
	by := map[string]int{}
	for _, l := range handledLabels[1:] {
		by[l] = 0
	}
	var byCode [len(handledLabels)]int
	total := 0
	for i, d := range ds.cStartedDay {
		if !q.inRange(d) || !q.chatOK(ds, i) {
			continue
		}
		total++
		byDay[d-q.from].Count++
		byCode[ds.Chats.HandledBy[i]]++
	}
	for c := 1; c < len(handledLabels); c++ {
		by[handledLabels[c]] = byCode[c]
	}
	return struct {
		Total       int            `json:"total"`
		ByHandledBy map[string]int `json:"by_handled_by"`
		ByDay       []DayCount     `json:"by_day"`
	}{total, by, byDay}
}

// chatRows calls f for every thread started in range that the filters keep.
func chatRows(ds *Dataset, q *query, f func(i int)) {
	for i, d := range ds.cStartedDay {
		if q.inRange(d) && q.chatOK(ds, i) {
			f(i)
		}
	}
}

func chatFirstResponse(ds *Dataset, q *query) any {
	c := &ds.Chats
	b1, b2 := getBuf(), getBuf()
	defer putBuf(b1)
	defer putBuf(b2)
	fr, fhr := *b1, *b2
	chatRows(ds, q, func(i int) {
		if !math.IsNaN(c.FirstResponse[i]) {
			fr = append(fr, c.FirstResponse[i])
		}
		if !math.IsNaN(c.FirstHumanResponse[i]) {
			fhr = append(fhr, c.FirstHumanResponse[i])
		}
	})
	*b1, *b2 = fr, fhr
	return struct {
		FirstResponse      Stats `json:"first_response"`
		FirstHumanResponse Stats `json:"first_human_response"`
	}{newStats(fr), newStats(fhr)}
}

func chatDuration(ds *Dataset, q *query) any {
	c := &ds.Chats
	buf := getBuf()
	defer putBuf(buf)
	xs := *buf
	chatRows(ds, q, func(i int) {
		if !math.IsNaN(c.Dur[i]) {
			xs = append(xs, c.Dur[i])
		}
	})
	*buf = xs
	return newStats(xs)
}

func chatMissed(ds *Dataset, q *query) any {
	c := &ds.Chats
	needed, missed := 0, 0
	chatRows(ds, q, func(i int) {
		h := c.HandledBy[i]
		humanReplied := h == handledHuman || h == handledBotHuman
		transferredUnanswered := c.Transferred[i] && !humanReplied
		switch {
		case h == handledUnanswered || transferredUnanswered:
			needed++
			missed++
		case humanReplied:
			needed++
		}
	})
	return struct {
		NeededHuman int      `json:"needed_human"`
		Missed      int      `json:"missed"`
		Rate        *float64 `json:"rate"`
	}{needed, missed, ratio(missed, needed)}
}

func chatCSAT(ds *Dataset, q *query) any {
	c := &ds.Chats
	threads, good, badN := 0, 0, 0
	chatRows(ds, q, func(i int) {
		threads++
		switch c.Rating[i] {
		case ratingGood:
			good++
		case ratingBad:
			badN++
		}
	})
	return struct {
		Threads      int      `json:"threads"`
		Good         int      `json:"good"`
		Bad          int      `json:"bad"`
		CSAT         *float64 `json:"csat"`
		ResponseRate *float64 `json:"response_rate"`
	}{threads, good, badN, ratio(good, good+badN), ratio(good+badN, threads)}
}

// BotRow is one bot of bot-containment.
type BotRow struct {
	Name            string   `json:"name"`
	Threads         int      `json:"threads"`
	Contained       int      `json:"contained"`
	Transferred     int      `json:"transferred"`
	ContainmentRate *float64 `json:"containment_rate"`
	TransferRate    *float64 `json:"transfer_rate"`
}

func botContainment(ds *Dataset, q *query) any {
	c := &ds.Chats
	rows := map[uint32]*BotRow{}
	chatRows(ds, q, func(i int) {
		b := c.Bot[i]
		if b == 0 {
			return
		}
		r := rows[b]
		if r == nil {
			r = &BotRow{Name: ds.Names[b]}
			rows[b] = r
		}
		r.Threads++
		if c.Transferred[i] {
			r.Transferred++
		} else {
			r.Contained++
		}
	})
	out := make([]BotRow, 0, len(rows))
	for _, r := range rows {
		r.ContainmentRate, r.TransferRate = ratio(r.Contained, r.Threads), ratio(r.Transferred, r.Threads)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b BotRow) int {
		return cmp.Or(cmp.Compare(b.Threads, a.Threads), cmp.Compare(a.Name, b.Name))
	})
	return struct {
		Bots []BotRow `json:"bots"`
	}{out}
}

// AgentRow is one agent of agent-leaderboard.
type AgentRow struct {
	Name                         string   `json:"name"`
	TicketsClosed                int      `json:"tickets_closed"`
	Chats                        int      `json:"chats"`
	TicketFirstResponseMedian    *float64 `json:"ticket_first_response_median"`
	ChatFirstHumanResponseMedian *float64 `json:"chat_first_human_response_median"`
	CSAT                         *float64 `json:"csat"`
	Good                         int      `json:"good"`
	Bad                          int      `json:"bad"`
	// Where the agent's durations sit in the shared scratch buffers.
	frOff, frN, fhrOff, fhrN int
}

func agentLeaderboard(ds *Dataset, q *query) any {
	rows := make([]*AgentRow, len(ds.Names))
	var order []*AgentRow
	unassigned, hasUnassigned := ds.names["Unassigned"]
	get := func(a uint32) *AgentRow {
		if a == 0 || (hasUnassigned && a == unassigned) {
			return nil
		}
		r := rows[a]
		if r == nil {
			r = &AgentRow{Name: ds.Names[a]}
			rows[a] = r
			order = append(order, r)
		}
		return r
	}
	t, c := &ds.Tickets, &ds.Chats
	// scan calls durations for every (agent, duration) the medians take: ticket first
	// responses (kind 0) and chat first human responses (kind 1). count is set on the first
	// pass, which also tallies the counts.
	scan := func(count bool, duration func(r *AgentRow, kind int, v float64)) {
		if q.tickets {
			for i := range t.Created {
				closed, replied := q.inRange(ds.tClosedDay[i]), q.inRange(ds.tReplyDay[i])
				if !(closed || replied) || !q.ticket(ds, i) {
					continue
				}
				r := get(t.Agent[i])
				if r == nil {
					continue
				}
				if closed && count {
					r.TicketsClosed++
				}
				if replied && !math.IsNaN(t.FirstResponse[i]) {
					duration(r, 0, t.FirstResponse[i])
				}
			}
		}
		if q.chat {
			chatRows(ds, q, func(i int) {
				r := get(c.Agent[i])
				if r == nil {
					return
				}
				if count {
					r.Chats++
					switch c.Rating[i] {
					case ratingGood:
						r.Good++
					case ratingBad:
						r.Bad++
					}
				}
				if !math.IsNaN(c.FirstHumanResponse[i]) {
					duration(r, 1, c.FirstHumanResponse[i])
				}
			})
		}
	}
	scan(true, func(r *AgentRow, kind int, _ float64) {
		if kind == 0 {
			r.frN++
		} else {
			r.fhrN++
		}
	})
	b1, b2 := getBuf(), getBuf()
	defer putBuf(b1)
	defer putBuf(b2)
	nfr, nfhr := 0, 0
	for _, r := range order {
		r.frOff, r.fhrOff = nfr, nfhr
		nfr, nfhr = nfr+r.frN, nfhr+r.fhrN
		r.frN, r.fhrN = 0, 0
	}
	fr, fhr := grow(*b1, nfr), grow(*b2, nfhr)
	scan(false, func(r *AgentRow, kind int, v float64) {
		if kind == 0 {
			fr[r.frOff+r.frN] = v
			r.frN++
		} else {
			fhr[r.fhrOff+r.fhrN] = v
			r.fhrN++
		}
	})
	*b1, *b2 = fr, fhr
	out := make([]AgentRow, 0, len(order))
	for _, r := range order {
		r.TicketFirstResponseMedian = Quantile(fr[r.frOff:r.frOff+r.frN], 0.5)
		r.ChatFirstHumanResponseMedian = Quantile(fhr[r.fhrOff:r.fhrOff+r.fhrN], 0.5)
		r.CSAT = ratio(r.Good, r.Good+r.Bad)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b AgentRow) int {
		return cmp.Or(cmp.Compare(b.TicketsClosed+b.Chats, a.TicketsClosed+a.Chats), cmp.Compare(a.Name, b.Name))
	})
	return struct {
		Agents []AgentRow `json:"agents"`
	}{out}
}

// grow returns b resized to n, reallocated only when too small.
func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

func loadHeatmap(ds *Dataset, q *query) any {
	var counts [7][24]int
	rows, weekend := 0, 0
	if q.tickets {
		for i, d := range ds.tCreatedDay {
			if q.inRange(d) && q.ticket(ds, i) {
				counts[weekday(d)][ds.tCreatedHour[i]]++
				rows++
				if ds.Tickets.Weekend[i] {
					weekend++
				}
			}
		}
	}
	if q.chat {
		chatRows(ds, q, func(i int) {
			d := ds.cStartedDay[i]
			counts[weekday(d)][ds.cStartedHour[i]]++
			rows++
			if ds.Chats.Weekend[i] {
				weekend++
			}
		})
	}
	var perWeekday [7]int
	for d := q.from; d <= q.to; d++ {
		perWeekday[weekday(d)]++
	}
	cells := make([][]*float64, 7)
	for w := range cells {
		cells[w] = make([]*float64, 24)
		if perWeekday[w] == 0 {
			continue
		}
		for h := range cells[w] {
			v := float64(counts[w][h]) / float64(perWeekday[w])
			cells[w][h] = &v
		}
	}
	return struct {
		Cells        [][]*float64 `json:"cells"`
		WeekendShare *float64     `json:"weekend_share"`
	}{cells, ratio(weekend, rows)}
}
