package widgetpage

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Stat is a headline number.
type Stat struct {
	Label string
	Value string
}

// Cell is one table cell: the text shown and the raw value the CSV carries (seconds, ratios
// as decimals, counts).
type Cell struct {
	Text string
	Raw  string
}

// Table is a data table: the accessible alternative to the chart, and the CSV.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]Cell
}

// Model is what a widget page shows, built from the JSON API's body so that the page shows
// exactly the API's numbers.
type Model struct {
	Headline []Stat
	// Chart is the SVG; Summary is its text alternative in words.
	Chart   string
	Summary string
	Tables  []Table
}

type stats struct {
	Count  int      `json:"count"`
	Median *float64 `json:"median"`
	P90    *float64 `json:"p90"`
}

type dayCount struct {
	Date       string         `json:"date"`
	Count      int            `json:"count"`
	ByPipeline map[string]int `json:"by_pipeline"`
}

type value struct {
	Total      int        `json:"total"`
	ByDay      []dayCount `json:"by_day"`
	Count      int        `json:"count"`
	Median     *float64   `json:"median"`
	P90        *float64   `json:"p90"`
	Unanswered int        `json:"unanswered"`
	Buckets    []struct {
		Label string
		Count int
	} `json:"buckets"`
	ByHandledBy        map[string]int `json:"by_handled_by"`
	FirstResponse      stats          `json:"first_response"`
	FirstHumanResponse stats          `json:"first_human_response"`
	NeededHuman        int            `json:"needed_human"`
	Missed             int            `json:"missed"`
	Rate               *float64       `json:"rate"`
	Threads            int            `json:"threads"`
	Good               int            `json:"good"`
	Bad                int            `json:"bad"`
	CSAT               *float64       `json:"csat"`
	ResponseRate       *float64       `json:"response_rate"`
	Bots               []struct {
		Name            string   `json:"name"`
		Threads         int      `json:"threads"`
		Contained       int      `json:"contained"`
		Transferred     int      `json:"transferred"`
		ContainmentRate *float64 `json:"containment_rate"`
		TransferRate    *float64 `json:"transfer_rate"`
	} `json:"bots"`
	Agents []struct {
		Name                         string   `json:"name"`
		TicketsClosed                int      `json:"tickets_closed"`
		Chats                        int      `json:"chats"`
		TicketFirstResponseMedian    *float64 `json:"ticket_first_response_median"`
		ChatFirstHumanResponseMedian *float64 `json:"chat_first_human_response_median"`
		CSAT                         *float64 `json:"csat"`
		Good                         int      `json:"good"`
		Bad                          int      `json:"bad"`
	} `json:"agents"`
	Cells        [][]*float64 `json:"cells"`
	WeekendShare *float64     `json:"weekend_share"`
}

// Response is the part of the JSON API's body a page reads.
type Response struct {
	Widget  string            `json:"widget"`
	AsOf    string            `json:"as_of"`
	Dataset string            `json:"dataset"`
	Filters map[string]string `json:"filters"`
	Value   json.RawMessage   `json:"value"`
}

// Duration formats seconds for people: "45s", "12m 05s", "3h 20m", "2d 4h"; "–" for none.
func Duration(s *float64) string {
	if s == nil {
		return "–"
	}
	v := math.Round(*s)
	switch {
	case v < 60:
		return fmt.Sprintf("%.0fs", v)
	case v < 3600:
		return fmt.Sprintf("%dm %02ds", int(v)/60, int(v)%60)
	case v < 86400:
		return fmt.Sprintf("%dh %02dm", int(v)/3600, int(v)%3600/60)
	default:
		return fmt.Sprintf("%dd %dh", int(v)/86400, int(v)%86400/3600)
	}
}

// Percent formats a ratio as a percentage with one decimal; "–" for none.
func Percent(r *float64) string {
	if r == nil {
		return "–"
	}
	return strconv.FormatFloat(*r*100, 'f', 1, 64) + " %"
}

// Count formats an integer with thin thousands separators.
func Count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(",")
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func raw(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

func ci(n int) Cell      { return Cell{Count(n), strconv.Itoa(n)} }
func cd(f *float64) Cell { return Cell{Duration(f), raw(f)} }
func cp(f *float64) Cell { return Cell{Percent(f), raw(f)} }
func ct(s string) Cell   { return Cell{s, s} }
func val(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

// Build makes the Model of widget id (titled title) from its JSON API body. prefix makes the
// SVG's element ids unique on a page that shows several widgets.
func Build(id, title, prefix string, body []byte) (Response, Model, error) {
	var r Response
	if err := json.Unmarshal(body, &r); err != nil {
		return r, Model{}, fmt.Errorf("widgetpage: decode %s: %w", id, err)
	}
	var v value
	if err := json.Unmarshal(r.Value, &v); err != nil {
		return r, Model{}, fmt.Errorf("widgetpage: decode %s value: %w", id, err)
	}
	var m Model
	cid := prefix + id
	switch id {
	case "tickets-created":
		m.Headline = []Stat{{"Tickets created", Count(v.Total)}}
		pipes := map[string]bool{}
		for _, d := range v.ByDay {
			for p := range d.ByPipeline {
				pipes[p] = true
			}
		}
		names := slices.Sorted(maps.Keys(pipes))
		t := Table{Caption: "Tickets created per day and pipeline", Header: append([]string{"Date", "Tickets"}, names...)}
		pts := make([]Point, len(v.ByDay))
		for i, d := range v.ByDay {
			pts[i] = Point{Label: d.Date, Value: float64(d.Count), Tip: fmt.Sprintf("%s: %s tickets", d.Date, Count(d.Count))}
			row := []Cell{ct(d.Date), ci(d.Count)}
			for _, p := range names {
				row = append(row, ci(d.ByPipeline[p]))
			}
			t.Rows = append(t.Rows, row)
		}
		m.Summary = daySummary("tickets created", v.Total, pts)
		m.Chart = DayBars(cid, title, m.Summary, pts)
		m.Tables = []Table{t}
	case "ticket-first-response", "ticket-time-to-close", "chat-duration":
		s := stats{Count: v.Count, Median: v.Median, P90: v.P90}
		what := map[string]string{"ticket-first-response": "tickets first replied to", "ticket-time-to-close": "tickets closed", "chat-duration": "chats"}[id]
		m.Headline = []Stat{{"Median", Duration(s.Median)}, {"P90", Duration(s.P90)}, {capital(what), Count(s.Count)}}
		t := Table{Caption: title, Header: []string{"Measure", "Value"}, Rows: [][]Cell{
			{ct("Count"), ci(s.Count)}, {ct("Median (seconds)"), cd(s.Median)}, {ct("P90 (seconds)"), cd(s.P90)}}}
		if id == "ticket-first-response" {
			m.Headline = append(m.Headline, Stat{"Open, no reply yet", Count(v.Unanswered)})
			t.Rows = append(t.Rows, []Cell{ct("Unanswered open tickets"), ci(v.Unanswered)})
		}
		m.Summary = fmt.Sprintf("%s: median %s, P90 %s, over %s %s.", title, Duration(s.Median), Duration(s.P90), Count(s.Count), what)
		m.Chart = HBars(cid, title, m.Summary, durPoints("", s), durText)
		m.Tables = []Table{t}
	case "ticket-backlog":
		m.Headline = []Stat{{"Open tickets", Count(v.Total)}}
		t := Table{Caption: "Open tickets by age", Header: []string{"Age", "Open tickets"}}
		var pts []Point
		var parts []string
		for _, bk := range v.Buckets {
			pts = append(pts, Point{Label: bk.Label, Value: float64(bk.Count), Tip: fmt.Sprintf("%s old: %s open", bk.Label, Count(bk.Count))})
			t.Rows = append(t.Rows, []Cell{ct(bk.Label), ci(bk.Count)})
			parts = append(parts, fmt.Sprintf("%s %s", bk.Label, Count(bk.Count)))
		}
		m.Summary = fmt.Sprintf("%s open tickets by age: %s.", Count(v.Total), strings.Join(parts, ", "))
		m.Chart = HBars(cid, title, m.Summary, pts, countText)
		m.Tables = []Table{t}
	case "chat-volume":
		m.Headline = []Stat{{"Chats", Count(v.Total)}}
		t1 := Table{Caption: "Chats by who handled them", Header: []string{"Handled by", "Chats"}}
		var hb []string
		for _, k := range []string{"Bot", "Bot → Human", "Human", "Unanswered"} {
			t1.Rows = append(t1.Rows, []Cell{ct(k), ci(v.ByHandledBy[k])})
			m.Headline = append(m.Headline, Stat{k, Count(v.ByHandledBy[k])})
			hb = append(hb, fmt.Sprintf("%s %s", k, Count(v.ByHandledBy[k])))
		}
		t2 := Table{Caption: "Chats per day", Header: []string{"Date", "Chats"}}
		pts := make([]Point, len(v.ByDay))
		for i, d := range v.ByDay {
			pts[i] = Point{Label: d.Date, Value: float64(d.Count), Tip: fmt.Sprintf("%s: %s chats", d.Date, Count(d.Count))}
			t2.Rows = append(t2.Rows, []Cell{ct(d.Date), ci(d.Count)})
		}
		m.Summary = daySummary("chats", v.Total, pts) + " By who handled them: " + strings.Join(hb, ", ") + "."
		m.Chart = DayBars(cid, title, m.Summary, pts)
		m.Tables = []Table{t1, t2}
	case "chat-first-response":
		fr, fh := v.FirstResponse, v.FirstHumanResponse
		m.Headline = []Stat{{"First response median", Duration(fr.Median)}, {"First response P90", Duration(fr.P90)},
			{"First human response median", Duration(fh.Median)}, {"First human response P90", Duration(fh.P90)}}
		t := Table{Caption: title, Header: []string{"Measure", "Count", "Median (seconds)", "P90 (seconds)"}, Rows: [][]Cell{
			{ct("First response"), ci(fr.Count), cd(fr.Median), cd(fr.P90)},
			{ct("First human response"), ci(fh.Count), cd(fh.Median), cd(fh.P90)}}}
		m.Summary = fmt.Sprintf("First response: median %s, P90 %s over %s chats. First human response: median %s, P90 %s over %s chats.",
			Duration(fr.Median), Duration(fr.P90), Count(fr.Count), Duration(fh.Median), Duration(fh.P90), Count(fh.Count))
		m.Chart = HBars(cid, title, m.Summary, append(durPoints("First ", fr), durPoints("Human ", fh)...), durText)
		m.Tables = []Table{t}
	case "chat-missed":
		m.Headline = []Stat{{"Missed", Percent(v.Rate)}, {"Missed chats", Count(v.Missed)}, {"Needed a human", Count(v.NeededHuman)}}
		t := Table{Caption: title, Header: []string{"Measure", "Value"}, Rows: [][]Cell{
			{ct("Needed a human"), ci(v.NeededHuman)}, {ct("Missed"), ci(v.Missed)}, {ct("Missed rate"), cp(v.Rate)}}}
		m.Summary = fmt.Sprintf("%s of %s chats that needed a human were missed (%s).", Count(v.Missed), Count(v.NeededHuman), Percent(v.Rate))
		m.Chart = HBars(cid, title, m.Summary, []Point{
			{Label: "Needed a human", Value: float64(v.NeededHuman), Tip: "Needed a human: " + Count(v.NeededHuman)},
			{Label: "Missed", Value: float64(v.Missed), Tip: "Missed: " + Count(v.Missed)}}, countText)
		m.Tables = []Table{t}
	case "chat-csat":
		m.Headline = []Stat{{"CSAT", Percent(v.CSAT)}, {"Response rate", Percent(v.ResponseRate)}, {"Good", Count(v.Good)}, {"Bad", Count(v.Bad)}}
		t := Table{Caption: title, Header: []string{"Measure", "Value"}, Rows: [][]Cell{
			{ct("Chats"), ci(v.Threads)}, {ct("Rated good"), ci(v.Good)}, {ct("Rated bad"), ci(v.Bad)},
			{ct("CSAT"), cp(v.CSAT)}, {ct("Response rate"), cp(v.ResponseRate)}}}
		m.Summary = fmt.Sprintf("CSAT %s: %s good and %s bad ratings over %s chats (response rate %s).",
			Percent(v.CSAT), Count(v.Good), Count(v.Bad), Count(v.Threads), Percent(v.ResponseRate))
		m.Chart = HBars(cid, title, m.Summary, []Point{
			{Label: "Good", Value: float64(v.Good), Tip: "Good: " + Count(v.Good)},
			{Label: "Bad", Value: float64(v.Bad), Tip: "Bad: " + Count(v.Bad)},
			{Label: "Not rated", Value: float64(v.Threads - v.Good - v.Bad), Tip: "Not rated: " + Count(v.Threads-v.Good-v.Bad)}}, countText)
		m.Tables = []Table{t}
	case "bot-containment":
		threads, contained := 0, 0
		t := Table{Caption: title, Header: []string{"Bot", "Chats", "Contained", "Transferred", "Containment rate", "Transfer rate"}}
		var pts []Point
		var parts []string
		for _, b := range v.Bots {
			threads += b.Threads
			contained += b.Contained
			t.Rows = append(t.Rows, []Cell{ct(b.Name), ci(b.Threads), ci(b.Contained), ci(b.Transferred), cp(b.ContainmentRate), cp(b.TransferRate)})
			pts = append(pts, Point{Label: b.Name, Value: val(b.ContainmentRate), Tip: fmt.Sprintf("%s: %s contained of %s", b.Name, Percent(b.ContainmentRate), Count(b.Threads))})
			parts = append(parts, fmt.Sprintf("%s %s of %s", b.Name, Percent(b.ContainmentRate), Count(b.Threads)))
		}
		m.Headline = []Stat{{"Bots", Count(len(v.Bots))}, {"Chats with a bot", Count(threads)}, {"Contained", Count(contained)}}
		m.Summary = "Containment rate per bot: " + orNone(parts) + "."
		m.Chart = HBars(cid, title, m.Summary, pts, func(p Point) string { return Percent(&p.Value) })
		m.Tables = []Table{t}
	case "agent-leaderboard":
		t := Table{Caption: title, Header: []string{"Agent", "Tickets closed", "Chats", "Ticket first response median", "Chat first human response median", "CSAT", "Good", "Bad"}}
		var pts []Point
		var parts []string
		for i, a := range v.Agents {
			t.Rows = append(t.Rows, []Cell{ct(a.Name), ci(a.TicketsClosed), ci(a.Chats), cd(a.TicketFirstResponseMedian), cd(a.ChatFirstHumanResponseMedian), cp(a.CSAT), ci(a.Good), ci(a.Bad)})
			if i < 12 {
				n := a.TicketsClosed + a.Chats
				pts = append(pts, Point{Label: a.Name, Value: float64(n), Tip: fmt.Sprintf("%s: %s tickets closed, %s chats", a.Name, Count(a.TicketsClosed), Count(a.Chats))})
			}
			if i < 3 {
				parts = append(parts, fmt.Sprintf("%s (%s tickets closed, %s chats)", a.Name, Count(a.TicketsClosed), Count(a.Chats)))
			}
		}
		m.Headline = []Stat{{"Agents", Count(len(v.Agents))}}
		m.Summary = fmt.Sprintf("%s agents; busiest: %s.", Count(len(v.Agents)), orNone(parts))
		m.Chart = HBars(cid, title+" (tickets closed + chats, top 12)", m.Summary, pts, countText)
		m.Tables = []Table{t}
	case "load-heatmap":
		m.Headline = []Stat{{"Weekend share", Percent(v.WeekendShare)}}
		t := Table{Caption: "Average tickets and chats per weekday and local hour", Header: []string{"Weekday"}}
		for h := 0; h < 24; h++ {
			t.Header = append(t.Header, fmt.Sprintf("%02d", h))
		}
		bestD, bestH, best := -1, -1, -1.0
		for d, row := range v.Cells {
			if d >= len(Weekdays) {
				break
			}
			r := []Cell{ct(Weekdays[d])}
			for h, c := range row {
				if c == nil {
					r = append(r, Cell{"–", ""})
					continue
				}
				r = append(r, Cell{num(*c), raw(c)})
				if *c > best {
					bestD, bestH, best = d, h, *c
				}
			}
			t.Rows = append(t.Rows, r)
		}
		m.Summary = fmt.Sprintf("Weekend share %s.", Percent(v.WeekendShare))
		if bestD >= 0 {
			m.Summary = fmt.Sprintf("Busiest hour: %s %02d:00 with %s on average. %s", Weekdays[bestD], bestH, num(best), m.Summary)
		}
		m.Chart = Heatmap(cid, title, m.Summary, v.Cells)
		m.Tables = []Table{t}
	default:
		return r, Model{}, fmt.Errorf("widgetpage: no page for widget %q", id)
	}
	return r, m, nil
}

func capital(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func orNone(parts []string) string {
	if len(parts) == 0 {
		return "none in this range"
	}
	return strings.Join(parts, ", ")
}

func durPoints(prefix string, s stats) []Point {
	return []Point{
		{Label: prefix + "median", Value: val(s.Median), Tip: prefix + "median: " + Duration(s.Median)},
		{Label: prefix + "P90", Value: val(s.P90), Tip: prefix + "P90: " + Duration(s.P90)},
	}
}

func durText(p Point) string   { return Duration(&p.Value) }
func countText(p Point) string { return Count(int(p.Value)) }

// daySummary describes a series of days in words: the total and the busiest day.
func daySummary(what string, total int, pts []Point) string {
	if len(pts) == 0 {
		return fmt.Sprintf("%s %s.", Count(total), what)
	}
	bi := 0
	for i, p := range pts {
		if p.Value > pts[bi].Value {
			bi = i
		}
	}
	return fmt.Sprintf("%s %s from %s to %s, %s a day on average; the busiest day was %s with %s.",
		Count(total), what, pts[0].Label, pts[len(pts)-1].Label, num(float64(total)/float64(len(pts))), pts[bi].Label, Count(int(pts[bi].Value)))
}

func parseNumber(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
