package devstack

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/livechat/livechatfake"
)

// Churn makes the sandbox look alive between incremental syncs: a few new tickets, a few
// updated ones (moved to another stage, reassigned), now and then one archived; a few new
// chat threads and a rating given late to an earlier thread. It leaves a real HubSpot or
// LiveChat alone.
func (sb *Sandbox) Churn(now time.Time) {
	r := rand.New(rand.NewPCG(uint64(now.UnixNano()), 7))
	if sb.HubSpot != nil {
		sb.churnTickets(r, now)
	}
	if sb.LiveChat != nil {
		for range 1 + r.IntN(4) {
			_, _ = sb.AddChat(r, now.Add(-time.Duration(5+r.IntN(120))*time.Minute), now)
		}
		sb.RateLate(r, now)
	}
}

func (sb *Sandbox) churnTickets(r *rand.Rand, now time.Time) {
	ids := sb.HubSpot.IDs(false, nil)
	str := func(s string) *string { return &s }
	for range 1 + r.IntN(5) {
		owner := sb.Tickets.Owners[r.IntN(len(sb.Tickets.Owners))]
		p := sb.Tickets.Pipelines[r.IntN(len(sb.Tickets.Pipelines))]
		_, _ = sb.HubSpot.Add(hubspot.Ticket{Properties: map[string]*string{
			"subject":           str(fmt.Sprintf("New question at %s", now.Format(time.Kitchen))),
			"hs_pipeline":       str(p.ID),
			"hs_pipeline_stage": str(p.Stages[0].ID),
			"hubspot_owner_id":  str(owner.ID),
			"source_type":       str("EMAIL"),
		}}, now)
	}
	if len(ids) == 0 {
		return
	}
	for range 1 + r.IntN(5) {
		id := ids[r.IntN(len(ids))]
		t, ok := sb.HubSpot.Ticket(id)
		if !ok {
			continue
		}
		for _, p := range sb.Tickets.Pipelines {
			if p.ID == t.Prop("hs_pipeline") {
				_ = sb.HubSpot.Update(id, map[string]*string{"hs_pipeline_stage": str(p.Stages[r.IntN(len(p.Stages))].ID)}, now)
			}
		}
	}
	if r.IntN(4) == 0 {
		_ = sb.HubSpot.Archive(ids[r.IntN(len(ids))], now)
	}
}

// AddChat adds a thread to the sandbox LiveChat, as a customer starting a chat would: a copy
// of a random unrated generated thread (its users and events) under new chat and
// thread ids, moved to start at started, or earlier if it would otherwise end after now. It
// returns the new thread's id.
func (sb *Sandbox) AddChat(r *rand.Rand, started, now time.Time) (string, error) {
	if sb.Chats == nil {
		return "", fmt.Errorf("no sandbox LiveChat")
	}
	all := sb.Chats.Chats()
	var src livechat.Chat
	for range 100 {
		// An unrated one: a rating can come days later and would stretch the copy.
		if c := all[r.IntN(len(all))]; len(c.Thread.Events) > 0 && len(c.Thread.RestrictedAccess) == 0 && c.Thread.Properties.Rating == nil {
			src = c
			break
		}
	}
	if len(src.Thread.Events) == 0 {
		return "", fmt.Errorf("no thread with events to copy")
	}
	created, err := livechat.ParseTime(src.Thread.CreatedAt)
	if err != nil {
		return "", err
	}
	events := src.Thread.Events
	last, err := livechat.ParseTime(events[len(events)-1].CreatedAt)
	if err != nil {
		return "", err
	}
	if end := started.Add(last.Sub(created)); end.After(now) {
		started = started.Add(now.Add(-time.Minute).Sub(end))
	}
	shift := started.Sub(created)
	move := func(s string) string {
		t, err := livechat.ParseTime(s)
		if err != nil {
			return s
		}
		return t.Add(shift).UTC().Format(time.RFC3339Nano)
	}
	c := src
	c.ID, c.Thread.ID = sandboxID(r), sandboxID(r)
	c.Thread.CreatedAt = started.UTC().Format(time.RFC3339Nano)
	c.Thread.PreviousThreadID, c.Thread.NextThreadID = "", ""
	c.Thread.Events = make([]livechat.Event, len(events))
	for i, e := range events {
		e.ID = fmt.Sprintf("%s_%d", c.Thread.ID, i+1)
		e.CreatedAt = move(e.CreatedAt)
		c.Thread.Events[i] = e
	}
	c.Users = slices.Clone(src.Users)
	return c.Thread.ID, sb.Chats.AddThread(c)
}

// RateLate rates an earlier thread now, as a customer does from the transcript email: a thread
// started within the last day, more than an hour ago, not rated yet. It returns the thread's id
// ("" when there was none).
func (sb *Sandbox) RateLate(r *rand.Rand, now time.Time) string {
	if sb.Chats == nil {
		return ""
	}
	var ids []string
	for _, c := range sb.Chats.Chats() {
		t, err := livechat.ParseTime(c.Thread.CreatedAt)
		if err != nil || t.Before(now.Add(-24*time.Hour)) || t.After(now.Add(-time.Hour)) ||
			len(c.Thread.Events) == 0 || c.Thread.Properties.Rating != nil {
			continue
		}
		ids = append(ids, c.Thread.ID)
	}
	if len(ids) == 0 {
		return ""
	}
	id := ids[r.IntN(len(ids))]
	score := r.IntN(2)
	sb.Chats.SetRating(id, &score, [...]string{"Sorted out in the end", "Nobody came back to me"}[score^1], now)
	return id
}

// sandboxID returns a LiveChat-style chat or thread id (10 upper-case letters and digits).
func sandboxID(r *rand.Rand) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	for range 10 {
		b.WriteByte(chars[r.IntN(len(chars))])
	}
	return b.String()
}

// sandboxTeam is the team config the stack writes for the sandbox HubSpot and LiveChat when
// TEAM_CONFIG is not set: it names the sandbox's people (one name across tickets and chats),
// makes one of them a manager and names the bots, so the rules show.
const sandboxTeam = `# Team config for the devstack sandbox (written because TEAM_CONFIG was not set).
timezone: America/Halifax
workdays: [Mon, Tue, Wed, Thu, Fri]
hours: {start: "08:00", end: "17:00"}
holidays: ["2026-12-25", "2027-01-01"]
members:
  - name: Richie
    role: manager
    aliases: ["` + hubspotfake.ManagerOwnerID + `", "richie.rich@example.com", "richie@example.com"]
  - name: Dana
    aliases: ["41629780", "dana.ruiz@example.com"]
  - name: Sam
    aliases: ["Sam Okafor"]
  - name: Anna
    aliases: ["anna@example.com"]
  - name: Ben
    aliases: ["ben.ortiz@example.com"]
  - name: Wynn AI
    role: bot
    aliases: ["` + livechatfake.WynnAIID + `"]
  - name: Agent Scrape
    role: bot
    aliases: ["` + livechatfake.AgentScrapeID + `"]
`

// writeSandboxTeam writes the sandbox team config under dir (kept if the user edited it).
func writeSandboxTeam(dir string) (string, error) {
	path := filepath.Join(dir, "team.yaml")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	return path, os.WriteFile(path, []byte(sandboxTeam), 0o644)
}
