// Package widgetstest generates realistic Tickets and Chats rows for benchmarks and load tests
// of the widget pipeline (publish, widgetapi): a year of data with several pipelines, agents
// and bots, skewed durations, weekends and open tickets.
package widgetstest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"supportsync.dev/shared/table"
	"supportsync.dev/shared/widgets"
)

var (
	pipelines = []string{"Support", "Billing", "Onboarding", "Escalations"}
	agents    = []string{"Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Unassigned"}
	bots      = []string{"Wynn AI", "Agent Scrape"}
	handled   = []string{"Bot", "Bot → Human", "Human", "Unanswered"}
)

// Rows returns n tickets and m chats spread over the days year before end (wall clock in loc),
// deterministic for a seed. Every row carries customer-like text (subjects, rating comments)
// the widgets must never return.
func Rows(n, m int, end time.Time, loc *time.Location, seed uint64) (tickets, chats []table.Row) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	end = end.In(loc)
	start := end.AddDate(-1, 0, 0)
	span := end.Sub(start)
	at := func() time.Time { return start.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Second) }
	skew := func(median float64) float64 { return math.Round(median*math.Exp(r.NormFloat64())*100) / 100 }
	wknd := func(t time.Time) bool { return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday }
	tickets = make([]table.Row, n)
	for i := range tickets {
		created := at()
		row := make(table.Row, len(table.Tickets.Columns))
		set := func(col string, c table.Cell) { row[table.Tickets.Index(col)] = c }
		set("Ticket ID", table.TextCell(fmt.Sprint(100000+i)))
		set("Subject", table.TextCell(fmt.Sprintf("Customer problem %d with their order", i)))
		set("Pipeline", table.TextCell(pipelines[r.IntN(len(pipelines))]))
		set("Agent", table.TextCell(agents[r.IntN(len(agents))]))
		set("Created", table.TimeCell(created))
		set("Last Modified", table.TimeCell(created))
		set("Weekend", table.BoolCell(wknd(created)))
		set("Status", table.TextCell("Open"))
		if r.IntN(10) < 8 {
			fr := skew(90)
			set("First Response Minutes", table.NumberCell(fr))
			set("First Agent Reply", table.TimeCell(created.Add(time.Duration(fr*float64(time.Minute))).Truncate(time.Second)))
		}
		if r.IntN(10) < 7 {
			ttc := skew(20)
			set("Status", table.TextCell("Closed"))
			set("Time To Close Hours", table.NumberCell(ttc))
			set("Closed", table.TimeCell(created.Add(time.Duration(ttc*float64(time.Hour))).Truncate(time.Second)))
		}
		tickets[i] = row
	}
	chats = make([]table.Row, m)
	for i := range chats {
		started := at()
		row := make(table.Row, len(table.Chats.Columns))
		set := func(col string, c table.Cell) { row[table.Chats.Index(col)] = c }
		h := handled[r.IntN(len(handled))]
		set("Thread ID", table.TextCell(fmt.Sprintf("TH%07d", i)))
		set("Chat ID", table.TextCell(fmt.Sprintf("CH%07d", i/2)))
		set("Started", table.TimeCell(started))
		d := skew(8)
		set("Duration Minutes", table.NumberCell(d))
		set("Ended", table.TimeCell(started.Add(time.Duration(d*float64(time.Minute))).Truncate(time.Second)))
		set("Handled By", table.TextCell(h))
		set("Weekend", table.BoolCell(wknd(started)))
		transferred := h == "Bot → Human"
		if h == "Bot" || h == "Bot → Human" {
			set("Bot", table.TextCell(bots[r.IntN(len(bots))]))
			if h == "Bot" && r.IntN(10) == 0 {
				transferred = true
			}
		}
		set("Transferred", table.BoolCell(transferred))
		if h != "Unanswered" {
			set("First Response Seconds", table.NumberCell(skew(20)))
		}
		if h == "Human" || h == "Bot → Human" {
			set("Agent", table.TextCell(agents[r.IntN(len(agents)-1)]))
			set("First Human Response Seconds", table.NumberCell(skew(45)))
		}
		switch r.IntN(5) {
		case 0:
			set("Rating", table.TextCell("good"))
			set("Rating Comment", table.TextCell("Thanks, customer text here"))
		case 1:
			set("Rating", table.TextCell("bad"))
		}
		set("Customer Messages", table.NumberCell(float64(1+r.IntN(9))))
		set("Agent Messages", table.NumberCell(float64(r.IntN(9))))
		chats[i] = row
	}
	return tickets, chats
}

// Data builds the widget data of Rows(n, m, end, loc, seed), as publish builds it from the
// tabs, with the data as of asOf.
func Data(n, m int, end time.Time, loc *time.Location, seed uint64, asOf time.Time) widgets.Data {
	tickets, chats := Rows(n, m, end, loc, seed)
	b := widgets.NewBuilder(loc.String())
	for _, r := range tickets {
		b.AddTicket(r)
	}
	for _, r := range chats {
		b.AddChat(r)
	}
	return b.Data(asOf)
}

// Dataset is Data loaded for queries (version "bench"), as of end.
func Dataset(n, m int, end time.Time, loc *time.Location, seed uint64) (*widgets.Dataset, error) {
	return widgets.Load(Data(n, m, end, loc, seed, end), "bench")
}
