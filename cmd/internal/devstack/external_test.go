package devstack

import (
	"context"
	"testing"
	"time"

	"supportsync.dev/cmd/internal/sandboxdata"
	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/table"
)

// TestGivenServersReplaceTheSandbox points the stack at a HubSpot and a Sheets server of the
// caller's (as HUBSPOT_API_BASE_URL, HUBSPOT_TOKEN, SHEETS_API_ENDPOINT and SPREADSHEET_ID
// would in a shell): no sandbox stands in for them and the sync lands in the given sheet.
func TestGivenServersReplaceTheSandbox(t *testing.T) {
	hs := hubspotfake.NewTestServer(sandboxdata.Tickets(9, 120, time.Now()), hubspotfake.WithToken("pat-given"))
	t.Cleanup(hs.Close)
	sh := sheetsfake.NewServer(sheetsfake.WithSpreadsheet("given-sheet"))
	t.Cleanup(func() { sh.Close() })

	s := startStack(t, 0, map[string]string{
		"HUBSPOT_API_BASE_URL": hs.URL, "HUBSPOT_TOKEN": "pat-given",
		"SHEETS_API_ENDPOINT": sh.URL + "/", "SPREADSHEET_ID": "given-sheet",
	})
	if s.Sandbox.HubSpot != nil || s.Sandbox.Sheets != nil {
		t.Fatal("a sandbox started although servers were given")
	}
	if s.Env["TEAM_CONFIG"] != "" {
		t.Errorf("the sandbox team config was applied to a given HubSpot: %s", s.Env["TEAM_CONFIG"])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := s.Sync(ctx, batch.Tickets, batch.Full, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := sh.Display("given-sheet", table.Tickets.Tab)
	if err != nil {
		t.Fatal(err)
	}
	c := sum.Run.Counts
	// No team config: nobody is a manager, so every fetched ticket is a row.
	if len(rows)-1 != c.Fetched-c.Rejected || c.Excluded != 0 || c.Fetched == 0 {
		t.Fatalf("%d rows in the given sheet; counts %+v", len(rows)-1, c)
	}
	if hs.Requests("") == 0 {
		t.Fatal("the given HubSpot was not called")
	}
}
