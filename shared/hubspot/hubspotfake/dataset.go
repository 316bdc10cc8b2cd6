package hubspotfake

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"supportsync.dev/shared/hubspot"
)

// Dataset is the content of a fake HubSpot account: owners (active and archived),
// ticket pipelines and tickets sorted by id. Fixture makes a plain one (the CLI's sandbox
// data a realistic one); tests may also build or edit one by hand before passing it to New.
type Dataset struct {
	Now       time.Time          // the "current time" the data was generated for
	Owners    []hubspot.Owner    // active owners first, then archived ones (Archived set)
	Pipelines []hubspot.Pipeline // ticket pipelines with their stages
	Tickets   []hubspot.Ticket   // non-archived tickets, ascending id
}

// Owner ids and emails of the Account. They do not depend on a seed, so a team.yaml for
// the sandbox can alias them:
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
const ManagerOwnerID = "41629779"

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

// generatedPipelines are the pipelines of the Account: "0" Support Pipeline (stages
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

// Account returns the HubSpot account the fixtures and the sandbox share: the owners and
// pipelines documented above, no tickets, Now set to now (UTC, in milliseconds).
func Account(now time.Time) *Dataset {
	ds := &Dataset{Now: now.UTC().Truncate(time.Millisecond), Pipelines: generatedPipelines()}
	for i, o := range ownerSeeds {
		ds.Owners = append(ds.Owners, hubspot.Owner{
			ID: o.id, Email: o.email, Type: o.typ, FirstName: o.first, LastName: o.last,
			UserID: 9586504 + int64(i)*17, Archived: o.archived,
		})
	}
	return ds
}

// Fixture returns the Account with n plain tickets for tests, deterministic for a seed:
// created at random over the ~400 days before now, ids from 2217483000 growing with creation
// time, last modified up to 20 days after creation and before now, in the Support Pipeline,
// owned by an active person, closed when older than two weeks; every property of
// hubspot.TicketProperties is present (null when unset). The CLI's sandbox data generator
// makes realistic ones (bad values, odd subjects, real distributions).
func Fixture(seed int64, n int, now time.Time) *Dataset {
	ds := Account(now)
	now = ds.Now
	r := rand.New(rand.NewPCG(uint64(seed), 0xf1c7))
	var owners []string
	for _, o := range ds.Owners {
		if o.Type == "PERSON" && !o.Archived {
			owners = append(owners, o.ID)
		}
	}
	start := now.Add(-400 * 24 * time.Hour)
	created := make([]time.Time, n)
	for i := range created {
		created[i] = start.Add(time.Duration(r.Int64N(int64(now.Sub(start))))).Truncate(time.Millisecond)
	}
	slices.SortFunc(created, time.Time.Compare)
	iso := func(t time.Time) *string { s := t.Format("2006-01-02T15:04:05.000Z"); return &s }
	str := func(s string) *string { return &s }
	ds.Tickets = make([]hubspot.Ticket, n)
	id := int64(2217483000)
	for i, c := range created {
		id += 1 + r.Int64N(6)
		modified := c.Add(time.Duration(r.Int64N(int64(20 * 24 * time.Hour)))).Truncate(time.Millisecond)
		if !modified.Before(now) {
			modified = c.Add(now.Sub(c) / 2).Truncate(time.Millisecond)
		}
		ids := strconv.FormatInt(id, 10)
		props := map[string]*string{
			"hs_object_id": str(ids), "subject": str("Ticket " + ids), "createdate": iso(c), "hs_lastmodifieddate": iso(modified),
			"hs_pipeline": str("0"), "hs_pipeline_stage": str("1"), "hs_ticket_priority": str("MEDIUM"),
			"hs_ticket_category": str("GENERAL_INQUIRY"), "source_type": str("EMAIL"),
			"hubspot_owner_id": str(owners[r.IntN(len(owners))]), "closed_date": nil, "time_to_close": nil,
			"first_agent_reply_date": nil, "time_to_first_agent_reply": nil,
		}
		if now.Sub(c) > 14*24*time.Hour {
			closed := c.Add(modified.Sub(c) / 2)
			props["hs_pipeline_stage"], props["closed_date"] = str("4"), iso(closed)
			props["time_to_close"] = str(strconv.FormatInt(closed.Sub(c).Milliseconds(), 10))
		}
		ds.Tickets[i] = hubspot.Ticket{ID: ids, Properties: props, CreatedAt: c, UpdatedAt: modified}
	}
	return ds
}

// OwnerName is "First Last" of an owner, "" when it has no name.
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
