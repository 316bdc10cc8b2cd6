package sandboxdata

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"supportsync.dev/shared/hubspot/hubspotfake"
)

var now = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

func TestTicketsRealistic(t *testing.T) {
	a := Tickets(42, 5000, now)
	b := Tickets(42, 5000, now)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("not deterministic:\n%.1000s", diff)
	}
	var active, archived, unnamed int
	for _, o := range a.Owners {
		if o.Archived {
			archived++
		} else {
			active++
		}
		if o.FirstName == "" {
			unnamed++
		}
	}
	if active != 12 || archived != 2 || unnamed == 0 {
		t.Errorf("owners: %d active, %d archived, %d unnamed", active, archived, unnamed)
	}
	counts := map[string]int{}
	for _, tk := range a.Tickets {
		switch o := tk.Prop("hubspot_owner_id"); o {
		case "":
			counts["unowned"]++
		case UnknownOwnerID:
			counts["unknown"]++
		case hubspotfake.ManagerOwnerID:
			counts["manager"]++
		}
		if tk.Prop("closed_date") != "" {
			counts["closed"]++
		}
		if tk.Prop("time_to_first_agent_reply") != "" {
			counts["replied"]++
		}
		if strings.ContainsAny(tk.Prop("subject")[:min(1, len(tk.Prop("subject")))], "=+@-") {
			counts["formula"]++
		}
		if strings.Contains(tk.Prop("hs_ticket_category"), ";") {
			counts["multi-category"]++
		}
		if v := tk.Prop("closed_date") + tk.Prop("first_agent_reply_date") + tk.Prop("hs_ticket_priority") + tk.Prop("hs_ticket_category"); strings.Contains(v, "Unknown") || strings.Contains(v, "not-a-date") {
			counts["bad"]++
		}
		if tk.CreatedAt.Before(now.Add(-401*24*time.Hour)) || tk.UpdatedAt.Before(tk.CreatedAt) || !tk.UpdatedAt.Before(now) {
			t.Fatalf("ticket %s times out of range: %v %v", tk.ID, tk.CreatedAt, tk.UpdatedAt)
		}
	}
	for _, k := range []string{"unowned", "unknown", "manager", "closed", "replied", "formula", "multi-category", "bad"} {
		if counts[k] == 0 {
			t.Errorf("no %s tickets (%v)", k, counts)
		}
	}
	t.Logf("%v", counts)
}

// TestTicketsFast: the sandbox's 100,000 tickets are generated in seconds.
func TestTicketsFast(t *testing.T) {
	start := time.Now()
	ds := Tickets(9, 100_000, now)
	if el := time.Since(start); len(ds.Tickets) != 100_000 || el > 5*time.Second {
		t.Errorf("%d tickets in %s", len(ds.Tickets), el)
	}
}
