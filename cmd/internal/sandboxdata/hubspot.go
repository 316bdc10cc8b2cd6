// Package sandboxdata generates the realistic data of the local sandbox (supportsync
// devstack) and of the benchmark sandbox: a HubSpot account whose tickets look like a real
// support team's, bad values included. The fake servers it feeds stay beside their clients in
// shared/ with only the plain fixtures their tests need.
package sandboxdata

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
)

// UnknownOwnerID is carried by a few generated tickets and resolves to no owner, active or
// archived.
const UnknownOwnerID = "99999999"

var (
	subjects = []string{
		"Cannot export invoices", "Refund not received", "Login loop on mobile app", "Password reset email missing",
		"Charged twice this month", "How do I add a user?", "Integration with Slack stopped working",
		"Report shows wrong totals", "Feature request: dark mode", "Upgrade plan question", "Data import failed at row 512",
		"API returns 500", "Cancel my subscription", "Invoice address change", "Calendar sync delayed",
		"Where is my order?", "Training session request", "SSO setup help", "Webhook retries", "Slow dashboard",
	}
	oddSubjects = []string{
		`=HYPERLINK("http://evil.example","click me")`, "+1 call me back", "@x please check", "-5 stars", "=1+1",
		"Hilfe! Rückerstattung fehlt", "🔥 urgent: site down 🔥", "Merci 🙏 pour l'aide", "   leading and trailing spaces   ",
		"tab\tand\nnewline", "",
	}
	categories = []string{"PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"}
	priorities = []string{"LOW", "MEDIUM", "MEDIUM", "HIGH", "HIGH", "URGENT"}
	sources    = []string{"EMAIL", "EMAIL", "CHAT", "CHAT", "FORM", "PHONE"}
	badDates   = []string{"", "Unknown", "not-a-date", "2026-13-45T99:00:00Z", "0000-00-00"}
)

// Tickets returns a deterministic HubSpot account: hubspotfake.Account's owners and pipelines
// and n realistic tickets created over the ~400 days before now. Creation times favour weekday business
// hours (North American east coast); most tickets older than two weeks are closed (with
// closed_date and time_to_close), most have a first agent reply (time_to_first_agent_reply and
// first_agent_reply_date). About 3 % are unowned, 1 % carry UnknownOwnerID, 4 % belong to an
// archived owner; about 1 % have bad values ("", "Unknown", garbage dates) in closed_date,
// first_agent_reply_date, time_to_close, priority or category; and subjects include
// formula-like, emoji, empty and very long ones. Ticket ids start at 2217483000 and increase
// with creation time.
func Tickets(seed int64, n int, now time.Time) *hubspotfake.Dataset {
	ds := hubspotfake.Account(now)
	now = ds.Now
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed5eed))
	var active, archived []string
	for _, o := range ds.Owners {
		if o.Archived {
			archived = append(archived, o.ID)
		} else if o.Type == "PERSON" || r.IntN(2) == 0 {
			active = append(active, o.ID)
		}
	}

	// Creation times, sorted so that ids grow with time.
	created := make([]time.Time, n)
	start := now.Add(-400 * 24 * time.Hour)
	for i := range created {
		created[i] = randomCreated(r, start, now)
	}
	sortTimes(created)

	ds.Tickets = make([]hubspot.Ticket, n)
	id := int64(2217483000)
	for i := range ds.Tickets {
		id += 1 + r.Int64N(6)
		ds.Tickets[i] = genTicket(r, strconv.FormatInt(id, 10), created[i], now, ds.Pipelines, active, archived)
	}
	return ds
}

// randomCreated draws a creation time: 80 % in weekday business hours (12:00–22:00 UTC),
// the rest at any hour, weekends thinned out.
func randomCreated(r *rand.Rand, start, now time.Time) time.Time {
	span := now.Sub(start)
	for {
		day := start.Add(time.Duration(r.Int64N(int64(span/(24*time.Hour)))) * 24 * time.Hour).Truncate(24 * time.Hour)
		var t time.Time
		if r.Float64() < 0.8 {
			t = day.Add(12*time.Hour + time.Duration(r.Int64N(int64(10*time.Hour))))
		} else {
			t = day.Add(time.Duration(r.Int64N(int64(24 * time.Hour))))
		}
		if wd := t.Weekday(); (wd == time.Saturday || wd == time.Sunday) && r.Float64() < 0.75 {
			continue
		}
		if t.Before(start) || !t.Before(now) {
			continue
		}
		return t.Truncate(time.Millisecond)
	}
}

func sortTimes(ts []time.Time) { slices.SortFunc(ts, time.Time.Compare) }

func genTicket(r *rand.Rand, id string, created, now time.Time, pipes []hubspot.Pipeline, active, archived []string) hubspot.Ticket {
	props := make(map[string]*string, 16)
	set := func(k, v string) { props[k] = &v }
	null := func(k string) { props[k] = nil }
	iso := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

	set("hs_object_id", id)
	set("createdate", iso(created))

	// Subject.
	switch x := r.Float64(); {
	case x < 0.015:
		set("subject", oddSubjects[r.IntN(len(oddSubjects))])
	case x < 0.02:
		set("subject", strings.Repeat("Very long subject about an export problem ", 15+r.IntN(20)))
	default:
		set("subject", subjects[r.IntN(len(subjects))])
	}

	// Pipeline and stage.
	pi := 0
	switch x := r.Float64(); {
	case x < 0.2:
		pi = 1
	case x < 0.3:
		pi = 2
	}
	p := pipes[pi]
	var open, closedStages []hubspot.Stage
	for _, s := range p.Stages {
		if s.Metadata["ticketState"] == "CLOSED" {
			closedStages = append(closedStages, s)
		} else {
			open = append(open, s)
		}
	}
	age := now.Sub(created)
	pClosed := 0.4
	if age > 14*24*time.Hour {
		pClosed = 0.93
	}
	isClosed := r.Float64() < pClosed
	set("hs_pipeline", p.ID)
	modified := created.Add(time.Duration(r.Int64N(int64(10 * time.Minute))))
	if isClosed {
		set("hs_pipeline_stage", closedStages[r.IntN(len(closedStages))].ID)
	} else {
		set("hs_pipeline_stage", open[r.IntN(len(open))].ID)
	}

	// First agent reply: log-uniform between 2 minutes and 3 days.
	if r.Float64() < 0.85 {
		d := time.Duration(math.Exp(math.Log(float64(2*time.Minute)) + r.Float64()*math.Log(float64(3*24*time.Hour)/float64(2*time.Minute))))
		reply := created.Add(d).Truncate(time.Millisecond)
		if reply.Before(now) {
			set("first_agent_reply_date", iso(reply))
			set("time_to_first_agent_reply", strconv.FormatInt(reply.Sub(created).Milliseconds(), 10))
			modified = later(modified, reply)
		} else {
			null("first_agent_reply_date")
			null("time_to_first_agent_reply")
		}
	} else {
		null("first_agent_reply_date")
		null("time_to_first_agent_reply")
	}

	// Close: log-uniform between 10 minutes and 30 days, never in the future.
	if isClosed {
		d := time.Duration(math.Exp(math.Log(float64(10*time.Minute)) + r.Float64()*math.Log(float64(30*24*time.Hour)/float64(10*time.Minute))))
		closed := created.Add(d)
		if !closed.Before(now) {
			closed = created.Add(now.Sub(created) / 2)
		}
		closed = closed.Truncate(time.Millisecond)
		set("closed_date", iso(closed))
		set("time_to_close", strconv.FormatInt(closed.Sub(created).Milliseconds(), 10))
		modified = later(modified, closed)
	} else {
		null("closed_date")
		null("time_to_close")
	}

	// Owner.
	switch x := r.Float64(); {
	case x < 0.03:
		null("hubspot_owner_id")
	case x < 0.04:
		set("hubspot_owner_id", UnknownOwnerID)
	case x < 0.08:
		set("hubspot_owner_id", archived[r.IntN(len(archived))])
	default:
		set("hubspot_owner_id", active[r.IntN(len(active))])
	}

	set("hs_ticket_priority", priorities[r.IntN(len(priorities))])
	if r.Float64() < 0.1 {
		null("hs_ticket_category")
	} else {
		c := categories[r.IntN(len(categories))]
		if r.Float64() < 0.25 {
			if c2 := categories[r.IntN(len(categories))]; c2 != c {
				c += ";" + c2
			}
		}
		set("hs_ticket_category", c)
	}
	set("source_type", sources[r.IntN(len(sources))])

	// A few bad values.
	if r.Float64() < 0.01 {
		switch r.IntN(5) {
		case 0:
			set("closed_date", badDates[r.IntN(len(badDates))])
		case 1:
			set("first_agent_reply_date", badDates[r.IntN(len(badDates))])
		case 2:
			set("time_to_close", []string{"", "Unknown", "-5", "abc"}[r.IntN(4)])
		case 3:
			set("hs_ticket_priority", []string{"", "Unknown"}[r.IntN(2)])
		case 4:
			set("hs_ticket_category", []string{"", "Unknown"}[r.IntN(2)])
		}
	}

	// Later edits (notes, internal properties) bump the modified time.
	if r.Float64() < 0.3 {
		modified = later(modified, modified.Add(time.Duration(r.Int64N(int64(20*24*time.Hour)))))
	}
	if !modified.Before(now) {
		modified = now.Add(-time.Duration(1+r.Int64N(int64(time.Hour)/int64(time.Millisecond))) * time.Millisecond)
		if modified.Before(created) {
			modified = created
		}
	}
	modified = modified.Truncate(time.Millisecond)
	set("hs_lastmodifieddate", iso(modified))
	return hubspot.Ticket{ID: id, Properties: props, CreatedAt: created, UpdatedAt: modified}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
