package hubspotfake

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"supportsync.dev/shared/hubspot"
)

// Dataset is the content of a fake HubSpot account: owners (active and archived),
// ticket pipelines and tickets sorted by id. Generate makes a realistic one; tests may also
// build or edit one by hand before passing it to New.
type Dataset struct {
	Now       time.Time          // the "current time" the data was generated for
	Owners    []hubspot.Owner    // active owners first, then archived ones (Archived set)
	Pipelines []hubspot.Pipeline // ticket pipelines with their stages
	Tickets   []hubspot.Ticket   // non-archived tickets, ascending id
}

// Owner ids and emails of a generated dataset. They do not depend on the seed, so a
// team.yaml for the sandbox can alias them:
//
//	id        email                        name
//	41629779  richie.rich@example.com      Richard Rich      (ManagerOwnerID: a manager)
//	41629780  dana.ruiz@example.com        Dana Ruiz
//	41629781  sam.okafor@example.com       Sam Okafor
//	41629782  lea.tremblay@example.com     Léa Tremblay
//	41629783  jordan.li@example.com        Jordan Li
//	41629784  priya.nair@example.com       Priya Nair
//	41629785  mo.haddad@example.com        Mo Haddad
//	41629786  ines.costa@example.com       Inês Costa
//	41629787  tom.macneil@example.com      Tom MacNeil
//	41629788  support.queue@example.com    (no name; type QUEUE)
//	41629789  aiko.sato@example.com        Aiko Sato
//	41629790  noname@example.com           (no name)
//	52000001  former.agent@example.com     Casey Former      (archived)
//	52000002  left.company@example.com     (no name)         (archived)
//
// UnknownOwnerID is carried by a few tickets and resolves to no owner, active or archived.
const (
	ManagerOwnerID = "41629779"
	UnknownOwnerID = "99999999"
)

// owner seeds: id, email, first, last, type, archived.
var ownerSeeds = []struct {
	id, email, first, last, typ string
	archived                    bool
}{
	{"41629779", "richie.rich@example.com", "Richard", "Rich", "PERSON", false},
	{"41629780", "dana.ruiz@example.com", "Dana", "Ruiz", "PERSON", false},
	{"41629781", "sam.okafor@example.com", "Sam", "Okafor", "PERSON", false},
	{"41629782", "lea.tremblay@example.com", "Léa", "Tremblay", "PERSON", false},
	{"41629783", "jordan.li@example.com", "Jordan", "Li", "PERSON", false},
	{"41629784", "priya.nair@example.com", "Priya", "Nair", "PERSON", false},
	{"41629785", "mo.haddad@example.com", "Mo", "Haddad", "PERSON", false},
	{"41629786", "ines.costa@example.com", "Inês", "Costa", "PERSON", false},
	{"41629787", "tom.macneil@example.com", "Tom", "MacNeil", "PERSON", false},
	{"41629788", "support.queue@example.com", "", "", "QUEUE", false},
	{"41629789", "aiko.sato@example.com", "Aiko", "Sato", "PERSON", false},
	{"41629790", "noname@example.com", "", "", "PERSON", false},
	{"52000001", "former.agent@example.com", "Casey", "Former", "PERSON", true},
	{"52000002", "left.company@example.com", "", "", "PERSON", true},
}

// generatedPipelines are the pipelines of a generated dataset: "0" Support Pipeline (stages
// 1–4 and a custom 1022989598), "27513846" Billing (custom ids) and "31994410" Onboarding.
func generatedPipelines() []hubspot.Pipeline {
	st := func(id, label string, order int, state string) hubspot.Stage {
		return hubspot.Stage{ID: id, Label: label, DisplayOrder: order, Metadata: map[string]string{"ticketState": state, "isClosed": strconv.FormatBool(state == "CLOSED")}}
	}
	return []hubspot.Pipeline{
		{ID: "0", Label: "Support Pipeline", DisplayOrder: 0, Stages: []hubspot.Stage{
			st("1", "New", 0, "OPEN"), st("2", "Waiting on contact", 1, "OPEN"), st("3", "Waiting on us", 2, "OPEN"),
			st("1022989598", "Escalated to engineering", 3, "OPEN"), st("4", "Closed", 4, "CLOSED"),
		}},
		{ID: "27513846", Label: "Billing", DisplayOrder: 1, Stages: []hubspot.Stage{
			st("27513847", "New", 0, "OPEN"), st("27513848", "Investigating", 1, "OPEN"),
			st("27513849", "Refund issued", 2, "CLOSED"), st("27513850", "Closed", 3, "CLOSED"),
		}},
		{ID: "31994410", Label: "Onboarding", DisplayOrder: 2, Stages: []hubspot.Stage{
			st("31994411", "Kickoff", 0, "OPEN"), st("31994412", "Setup", 1, "OPEN"), st("31994413", "Training", 2, "OPEN"),
			st("1163040177", "Waiting on customer", 3, "OPEN"), st("31994414", "Live", 4, "CLOSED"), st("31994415", "Cancelled", 5, "CLOSED"),
		}},
	}
}

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

// Generate returns a deterministic dataset of n tickets created over the ~400 days before
// now, for the owners and pipelines documented above. Creation times favour weekday business
// hours (North American east coast); most tickets older than two weeks are closed (with
// closed_date and time_to_close), most have a first agent reply (time_to_first_agent_reply and
// first_agent_reply_date). About 3 % are unowned, 1 % carry UnknownOwnerID, 4 % belong to an
// archived owner; about 1 % have bad values ("", "Unknown", garbage dates) in closed_date,
// first_agent_reply_date, time_to_close, priority or category; and subjects include
// formula-like, emoji, empty and very long ones. Ticket ids start at 2217483000 and increase
// with creation time.
func Generate(seed int64, n int, now time.Time) *Dataset {
	now = now.UTC().Truncate(time.Millisecond)
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed5eed))
	ds := &Dataset{Now: now, Pipelines: generatedPipelines()}
	for i, o := range ownerSeeds {
		ds.Owners = append(ds.Owners, hubspot.Owner{
			ID: o.id, Email: o.email, Type: o.typ, FirstName: o.first, LastName: o.last,
			UserID: 9586504 + int64(i)*17, Archived: o.archived,
		})
	}
	var active, archived []string
	for _, o := range ownerSeeds {
		if o.archived {
			archived = append(archived, o.id)
		} else if o.typ == "PERSON" || r.IntN(2) == 0 {
			active = append(active, o.id)
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

// OwnerName is "First Last" of a generated owner, "" when it has no name.
func (d *Dataset) OwnerName(id string) string {
	for _, o := range d.Owners {
		if o.ID == id {
			return strings.TrimSpace(o.FirstName + " " + o.LastName)
		}
	}
	return ""
}

// String summarizes the dataset.
func (d *Dataset) String() string {
	return fmt.Sprintf("hubspotfake.Dataset{%d tickets, %d owners, %d pipelines, now %s}",
		len(d.Tickets), len(d.Owners), len(d.Pipelines), d.Now.Format(time.RFC3339))
}
