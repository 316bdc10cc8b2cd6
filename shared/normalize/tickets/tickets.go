// Package tickets normalizes HubSpot tickets (a hubspot.Payload) into rows of the Tickets
// tab, over the shared core in package normalize: team timezone, one name per person,
// managers left out, labels instead of ids, bad values tolerated and counted. It is pure: no
// I/O, no clock, no context.
package tickets

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/normalize"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/team"
)

// Ticket columns, in table.Tickets order.
const (
	tcID = iota
	tcSubject
	tcPipeline
	tcStage
	tcStatus
	tcPriority
	tcCategory
	tcSource
	tcOwnerID
	tcAgent
	tcCreated
	tcModified
	tcClosed
	tcFirstReply
	tcFirstResponseMinutes
	tcTimeToCloseHours
	tcWeekend
	tcSyncedAt
	ticketColumns
)

// The Status values and the Agent values that are not names.
const (
	ticketOpen       = "Open"
	ticketClosed     = "Closed"
	ticketUnassigned = "Unassigned"
)

// Normalize normalizes a tickets batch into table.Tickets rows. It is pure and safe for
// concurrent use; tc nil means team.Default(). The rules, where the design leaves room:
//
//   - Key: the ticket's id, else its hs_object_id property (trimmed); a ticket with neither is
//     rejected (normalize.Rejection.ID is then "" and Reason gives its position in the batch).
//     When one payload holds the same id twice, only the last occurrence counts (it is the most
//     recent read); rows follow the order of those last occurrences.
//   - Pipeline and Stage: labels from p.Pipelines. An id that resolves to nothing is written as
//     "Unknown pipeline <id>" / "Unknown stage <id>" (never a bare id) and counted as a warning.
//     A stage is looked up in the ticket's pipeline first, then by id across all pipelines.
//   - Status: "Closed" when the stage's metadata ticketState is CLOSED, "Open" when it is OPEN;
//     if the stage is unknown or has no ticketState, its isClosed metadata ("true"/"false")
//     decides; failing that, a ticket with a closed_date is "Closed", otherwise "Open".
//   - Priority, Source and Category are written as HubSpot gives them; a multi-valued Category
//     keeps HubSpot's ";" separator ("PRODUCT_ISSUE;BILLING_ISSUE"), which is also what
//     HubSpot's exports and imports use. Subject is written as is (any length, emoji, text
//     that looks like a formula: the sink writes text cells as text).
//   - Agent: the team member that the owner id, the owner's email or the owner's full name
//     names (in that order; the owner id is tried even when the owner is missing from
//     p.Owners); else the owner's "First Last"; else the owner's email; else "Owner <id>".
//     No owner id gives "Unassigned"; an id found neither in p.Owners nor in the team config
//     gives "Unknown owner <id>" and a warning. A ticket whose member is a manager is not
//     written: its key goes to normalize.Result.Excluded. So does an archived (deleted) ticket, should a
//     payload carry one: it no longer exists at the source.
//   - Dates: ISO 8601 (RFC 3339) or epoch milliseconds, written as wall time in tc.Location.
//     A missing value (absent, null or "") is an empty cell; "Unknown", an unparsable value or
//     a year outside 2000..2100 is an empty cell and a warning. Created falls back to
//     the object's createdAt and Last Modified to its updatedAt. A bad value counts as one
//     warning; a ticket with neither createdate nor createdAt counts as one too.
//   - First Response Minutes and Time To Close Hours: time_to_first_agent_reply and
//     time_to_close (milliseconds) in minutes and hours, rounded to 2 decimals; empty when
//     missing; a negative or non-numeric value is empty and a warning.
//   - Weekend: the local created date is not a workday (tc.IsWorkday: holidays are not
//     workdays); empty when there is no created date.
//   - Synced At: syncedAt in tc.Location.
func Normalize(p hubspot.Payload, tc *team.Config, syncedAt time.Time) normalize.Result {
	if tc == nil {
		tc = team.Default()
	}
	n := newTicketNormalizer(p, tc, syncedAt)
	return n.run()
}

type ticketStage struct {
	label string
	// state is the stage's status: ticketOpen, ticketClosed, or "" when the stage does not say.
	state   string
	unknown bool
}

type ticketPipeline struct {
	label   string
	unknown bool
	stages  map[string]*ticketStage
}

type ticketOwner struct {
	agent   string
	manager bool
	unknown bool
}

type ticketNormalizer struct {
	p        hubspot.Payload
	tc       *team.Config
	loc      *time.Location
	synced   table.Cell
	res      normalize.Result
	pipes    map[string]*ticketPipeline
	stages   map[string]*ticketStage // by stage id across pipelines; nil entry: ambiguous
	owners   map[string]*ticketOwner
	workdays *normalize.Workdays
}

func newTicketNormalizer(p hubspot.Payload, tc *team.Config, syncedAt time.Time) *ticketNormalizer {
	n := &ticketNormalizer{
		p:        p,
		tc:       tc,
		loc:      tc.Location,
		pipes:    make(map[string]*ticketPipeline, len(p.Pipelines)),
		stages:   map[string]*ticketStage{},
		owners:   make(map[string]*ticketOwner, len(p.Owners)),
		workdays: normalize.NewWorkdays(tc),
	}
	if n.loc == nil {
		n.loc = time.UTC
	}
	n.synced = table.TimeCell(ticketTimeIn(syncedAt, n.loc))
	for i := range p.Pipelines {
		pl := &p.Pipelines[i]
		pi := &ticketPipeline{label: strings.TrimSpace(pl.Label), stages: make(map[string]*ticketStage, len(pl.Stages))}
		if pi.label == "" {
			pi.label = "Unknown pipeline " + pl.ID
		}
		for j := range pl.Stages {
			st := &pl.Stages[j]
			si := &ticketStage{label: strings.TrimSpace(st.Label), state: ticketStageState(st.Metadata)}
			if si.label == "" {
				si.label = "Unknown stage " + st.ID
			}
			pi.stages[st.ID] = si
			if prev, seen := n.stages[st.ID]; seen && prev != nil && *prev != *si {
				n.stages[st.ID] = nil // the same id means different stages in different pipelines
			} else if !seen {
				n.stages[st.ID] = si
			}
		}
		n.pipes[pl.ID] = pi
	}
	for i := range p.Owners {
		o := &p.Owners[i]
		n.owners[o.ID] = n.resolveOwner(o)
	}
	return n
}

// ticketStageState reads the open/closed state from a stage's metadata.
func ticketStageState(md map[string]string) string {
	switch strings.ToUpper(strings.TrimSpace(md["ticketState"])) {
	case "CLOSED":
		return ticketClosed
	case "OPEN":
		return ticketOpen
	}
	switch strings.ToLower(strings.TrimSpace(md["isClosed"])) {
	case "true":
		return ticketClosed
	case "false":
		return ticketOpen
	}
	return ""
}

func (n *ticketNormalizer) resolveOwner(o *hubspot.Owner) *ticketOwner {
	full := strings.TrimSpace(strings.TrimSpace(o.FirstName) + " " + strings.TrimSpace(o.LastName))
	email := strings.TrimSpace(o.Email)
	if m := n.tc.Lookup(o.ID, email, full); m != nil {
		return &ticketOwner{agent: m.Name, manager: m.Role == team.Manager}
	}
	switch {
	case full != "":
		return &ticketOwner{agent: full}
	case email != "":
		return &ticketOwner{agent: email}
	}
	return &ticketOwner{agent: "Owner " + o.ID}
}

// owner resolves an owner id that is not "" (cached per call).
func (n *ticketNormalizer) owner(id string) *ticketOwner {
	if oi, ok := n.owners[id]; ok {
		return oi
	}
	var oi *ticketOwner
	if m := n.tc.Lookup(id); m != nil {
		oi = &ticketOwner{agent: m.Name, manager: m.Role == team.Manager}
	} else {
		oi = &ticketOwner{agent: "Unknown owner " + id, unknown: true}
	}
	n.owners[id] = oi
	return oi
}

// pipeline resolves a pipeline id that is not "" (cached per call).
func (n *ticketNormalizer) pipeline(id string) *ticketPipeline {
	if pi, ok := n.pipes[id]; ok {
		return pi
	}
	pi := &ticketPipeline{label: "Unknown pipeline " + id, unknown: true, stages: map[string]*ticketStage{}}
	n.pipes[id] = pi
	return pi
}

// stage resolves a stage id that is not "" within pipeline pi (cached per call).
func (n *ticketNormalizer) stage(pi *ticketPipeline, id string) *ticketStage {
	if si, ok := pi.stages[id]; ok {
		return si
	}
	si := n.stages[id]
	if si == nil {
		si = &ticketStage{label: "Unknown stage " + id, unknown: true}
	}
	pi.stages[id] = si
	return si
}

func ticketKeyOf(t *hubspot.Ticket) string {
	if id := strings.TrimSpace(t.ID); id != "" {
		return id
	}
	return strings.TrimSpace(t.Prop("hs_object_id"))
}

func (n *ticketNormalizer) run() normalize.Result {
	ts := n.p.Tickets
	last := normalize.LastIndex(len(ts), func(i int) string { return ticketKeyOf(&ts[i]) })
	cells := make([]table.Cell, len(last)*ticketColumns)
	n.res.Rows = make([]table.Row, 0, len(last))
	unassigned := &ticketOwner{agent: ticketUnassigned}
	for i := range ts {
		t := &ts[i]
		key := ticketKeyOf(t)
		if key == "" {
			n.res.Rejected = append(n.res.Rejected, normalize.Rejection{
				Reason: "ticket #" + strconv.Itoa(i+1) + " of the batch has neither id nor hs_object_id",
			})
			continue
		}
		if last[key] != i {
			continue
		}
		ownerID := strings.TrimSpace(t.Prop("hubspot_owner_id"))
		oi := unassigned
		if ownerID != "" {
			oi = n.owner(ownerID)
			if oi.unknown {
				n.warn(key, "hubspot_owner_id", ownerID, "resolves to no owner")
			}
		}
		if oi.manager || t.Archived {
			n.res.Excluded = append(n.res.Excluded, key)
			continue
		}
		row := table.Row(cells[:ticketColumns:ticketColumns])
		cells = cells[ticketColumns:]
		n.fill(row, t, key, ownerID, oi)
		n.res.Rows = append(n.res.Rows, row)
	}
	return n.res
}

func (n *ticketNormalizer) fill(row table.Row, t *hubspot.Ticket, key, ownerID string, oi *ticketOwner) {
	row[tcID] = table.TextCell(key)
	row[tcSubject] = table.TextCell(t.Prop("subject"))

	var si *ticketStage
	if pid := strings.TrimSpace(t.Prop("hs_pipeline")); pid != "" {
		pi := n.pipeline(pid)
		if pi.unknown {
			n.warn(key, "hs_pipeline", pid, "is not a known pipeline")
		}
		row[tcPipeline] = table.TextCell(pi.label)
		if sid := strings.TrimSpace(t.Prop("hs_pipeline_stage")); sid != "" {
			si = n.stage(pi, sid)
		}
	} else if sid := strings.TrimSpace(t.Prop("hs_pipeline_stage")); sid != "" {
		si = n.stages[sid]
		if si == nil {
			si = &ticketStage{label: "Unknown stage " + sid, unknown: true}
		}
	}
	if si != nil {
		if si.unknown {
			n.warn(key, "hs_pipeline_stage", t.Prop("hs_pipeline_stage"), "is not a known stage")
		}
		row[tcStage] = table.TextCell(si.label)
	}

	row[tcPriority] = table.TextCell(t.Prop("hs_ticket_priority"))
	row[tcCategory] = table.TextCell(t.Prop("hs_ticket_category"))
	row[tcSource] = table.TextCell(t.Prop("source_type"))
	row[tcOwnerID] = table.TextCell(ownerID)
	row[tcAgent] = table.TextCell(oi.agent)

	createdRaw := t.Prop("createdate")
	created, ok := n.date(key, "createdate", createdRaw)
	if !ok {
		created = n.objectTime(t.CreatedAt)
		if created.IsZero() && strings.TrimSpace(createdRaw) == "" {
			// A bad createdate was warned about already; a missing one is worth one too,
			// since every ticket has a creation time.
			n.warn(key, "createdate", createdRaw, "is missing and so is createdAt")
		}
	}
	row[tcCreated] = table.TimeCell(created)
	modified, ok := n.date(key, "hs_lastmodifieddate", t.Prop("hs_lastmodifieddate"))
	if !ok {
		modified = n.objectTime(t.UpdatedAt)
	}
	row[tcModified] = table.TimeCell(modified)
	closedRaw := t.Prop("closed_date")
	closed, _ := n.date(key, "closed_date", closedRaw)
	row[tcClosed] = table.TimeCell(closed)
	reply, _ := n.date(key, "first_agent_reply_date", t.Prop("first_agent_reply_date"))
	row[tcFirstReply] = table.TimeCell(reply)

	status := ""
	if si != nil {
		status = si.state
	}
	if status == "" {
		status = ticketOpen
		if strings.TrimSpace(closedRaw) != "" {
			status = ticketClosed
		}
	}
	row[tcStatus] = table.TextCell(status)

	row[tcFirstResponseMinutes] = n.duration(key, "time_to_first_agent_reply", t.Prop("time_to_first_agent_reply"), 600)
	row[tcTimeToCloseHours] = n.duration(key, "time_to_close", t.Prop("time_to_close"), 36000)

	if !created.IsZero() {
		row[tcWeekend] = table.BoolCell(!n.workdays.Is(created))
	}
	row[tcSyncedAt] = n.synced
}

// date parses a date-time property into the team timezone. ok is false when there is no
// usable value; a value that is present but unusable is also a warning.
func (n *ticketNormalizer) date(key, prop, raw string) (time.Time, bool) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return time.Time{}, false
	}
	t, ok := parseTicketTime(s)
	if !ok {
		n.warn(key, prop, raw, "is not a date-time")
		return time.Time{}, false
	}
	return t.In(n.loc), true
}

// objectTime checks a createdAt / updatedAt value and converts it to the team timezone.
func (n *ticketNormalizer) objectTime(t time.Time) time.Time {
	if t.IsZero() || !ticketYearOK(t) {
		return time.Time{}
	}
	return t.In(n.loc)
}

// duration converts a milliseconds property to a number cell: ms/div, rounded to 2
// decimals, where div is the unit in hundredths (600 for minutes, 36000 for hours).
func (n *ticketNormalizer) duration(key, prop, raw string, div float64) table.Cell {
	s := strings.TrimSpace(raw)
	if s == "" {
		return table.Cell{}
	}
	ms, err := strconv.ParseFloat(s, 64)
	if err != nil || ms < 0 || math.IsNaN(ms) || math.IsInf(ms, 0) {
		n.warn(key, prop, raw, "is not a duration in milliseconds")
		return table.Cell{}
	}
	return table.NumberCell(math.Round(ms/div) / 100)
}

// warn counts a bad value; the sample message is built only while samples are kept.
func (n *ticketNormalizer) warn(key, prop, raw, what string) {
	n.res.WarnValue(raw, func(q string) string { return "ticket " + key + ": " + prop + " " + q + " " + what })
}

// parseTicketTime parses a HubSpot date-time value: RFC 3339 (as v3 responses give them, with or
// without fraction) or epoch milliseconds (as inputs and some exports give them). ok is false
// for anything else, including a year outside normalize.MinYear..normalize.MaxYear.
func parseTicketTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	var t time.Time
	if ticketDigits(s) {
		if len(s) > 15 {
			return time.Time{}, false
		}
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		t = time.UnixMilli(ms).UTC()
	} else {
		var err error
		t, err = time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, false
		}
	}
	if !ticketYearOK(t) {
		return time.Time{}, false
	}
	return t, true
}

func ticketYearOK(t time.Time) bool { return normalize.YearOK(t.UTC().Year()) }

func ticketDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func ticketTimeIn(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}

// NormalizeJSON decodes a tickets batch payload (hubspot.Payload as JSON) and normalizes it
// with Normalize; a payload that does not decode is an error.
func NormalizeJSON(payload json.RawMessage, tc *team.Config, syncedAt time.Time) (normalize.Result, error) {
	var p hubspot.Payload
	if err := json.Unmarshal(payload, &p); err != nil {
		return normalize.Result{}, fmt.Errorf("tickets payload: %w", err)
	}
	return Normalize(p, tc, syncedAt), nil
}
