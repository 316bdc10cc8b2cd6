package devstack

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
)

// Churn makes the sandbox look alive between incremental syncs: a few new tickets, a few
// updated ones (moved to another stage, reassigned), now and then one archived. It does
// nothing when a real HubSpot is configured.
func (sb *Sandbox) Churn(now time.Time) {
	if sb.HubSpot == nil {
		return
	}
	r := rand.New(rand.NewPCG(uint64(now.UnixNano()), 7))
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

// sandboxTeam is the team config the stack writes for the sandbox HubSpot when TEAM_CONFIG is
// not set: it names the sandbox's owners and makes one of them a manager, so the rules show.
const sandboxTeam = `# Team config for the devstack sandbox (written because TEAM_CONFIG was not set).
timezone: America/Halifax
workdays: [Mon, Tue, Wed, Thu, Fri]
hours: {start: "08:00", end: "17:00"}
holidays: ["2026-12-25", "2027-01-01"]
members:
  - name: Richie
    role: manager
    aliases: ["` + hubspotfake.ManagerOwnerID + `", "richie.rich@example.com"]
  - name: Dana
    aliases: ["41629780", "dana.ruiz@example.com"]
  - name: Sam
    aliases: ["Sam Okafor"]
  - name: Wynn AI
    role: bot
    aliases: ["b7c0d0a3e5f64a0c9d1e2f3a4b5c6d7e"]
`

// writeSandboxTeam writes the sandbox team config under dir (kept if the user edited it).
func writeSandboxTeam(dir string) (string, error) {
	path := filepath.Join(dir, "team.yaml")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	return path, os.WriteFile(path, []byte(sandboxTeam), 0o644)
}
