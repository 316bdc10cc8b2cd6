package access

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"supportsync.dev/cmd/internal/sandboxdata"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/livechat/livechatfake"
)

// hubspotProbes runs the HubSpot probes through the real client against a fake whose token
// lacks the given scopes (token is what the client sends).
func hubspotProbes(t *testing.T, token string, missing ...string) []Result {
	t.Helper()
	now := time.Now()
	srv := hubspotfake.New(sandboxdata.Tickets(1, 50, now), hubspotfake.WithPrefix("/api"))
	ts := httptest.NewServer(srv.Without(missing...))
	t.Cleanup(ts.Close)
	c, err := hubspot.NewClient(hubspot.WithBaseURL(ts.URL+"/api"), hubspot.WithToken(token), hubspot.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), HubSpot(c))
}

func livechatProbes(t *testing.T, pat string, missing ...string) []Result {
	t.Helper()
	srv := livechatfake.New(livechatfake.Generate(1, 20, time.Now()), livechatfake.WithCredentials("acct", "pat"), livechatfake.WithRatePerMinute(0))
	ts := httptest.NewServer(srv.Without(missing...))
	t.Cleanup(ts.Close)
	c, err := livechat.NewClient(livechat.WithBaseURL(ts.URL), livechat.WithCredentials("acct", pat), livechat.WithMaxAttempts(1), livechat.WithRatePerMinute(0))
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), LiveChat(c))
}

// outcomes gives each result as "scope=outcome".
func outcomes(rs []Result) map[string]Outcome {
	out := map[string]Outcome{}
	for _, r := range rs {
		out[r.Probe.Scope] = r.Outcome
	}
	return out
}

// TestHubSpotOneScopeAtATime: the fake refuses one scope at a time; exactly the calls that
// need it fail, as MissingScope, and the line names the scope and where to grant it.
func TestHubSpotOneScopeAtATime(t *testing.T) {
	tests := []struct {
		missing []string
		want    map[string]Outcome
	}{
		{nil, map[string]Outcome{"tickets": OK, "crm.objects.owners.read": OK, "tickets or crm.schemas.tickets.read": OK}},
		{[]string{hubspotfake.ScopeTickets}, map[string]Outcome{"tickets": MissingScope, "crm.objects.owners.read": OK, "tickets or crm.schemas.tickets.read": OK}},
		{[]string{hubspotfake.ScopeOwners}, map[string]Outcome{"tickets": OK, "crm.objects.owners.read": MissingScope, "tickets or crm.schemas.tickets.read": OK}},
		// Not needed: pipelines also work with tickets.
		{[]string{hubspotfake.ScopeTicketSchemas}, map[string]Outcome{"tickets": OK, "crm.objects.owners.read": OK, "tickets or crm.schemas.tickets.read": OK}},
		{[]string{hubspotfake.ScopeTickets, hubspotfake.ScopeTicketSchemas, hubspotfake.ScopeOwners},
			map[string]Outcome{"tickets": MissingScope, "crm.objects.owners.read": MissingScope, "tickets or crm.schemas.tickets.read": MissingScope}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.missing, "+"), func(t *testing.T) {
			rs := hubspotProbes(t, hubspotfake.DefaultToken, tt.missing...)
			got := outcomes(rs)
			for scope, want := range tt.want {
				if got[scope] != want {
					t.Errorf("scope %s: outcome %d, want %d", scope, got[scope], want)
				}
			}
			for _, r := range rs {
				line := r.String()
				if r.Outcome == MissingScope {
					for _, s := range []string{"FAIL", "lacks scope " + r.Probe.Scope, "Private Apps", "403", "MISSING_SCOPES"} {
						if !strings.Contains(line, s) {
							t.Errorf("line %q lacks %q", line, s)
						}
					}
				}
				if r.Outcome == OK && !strings.HasPrefix(line, "ok   HubSpot scope "+r.Probe.Scope) {
					t.Errorf("line %q", line)
				}
			}
			if n := Failures(rs); n != countNot(tt.want, OK) {
				t.Errorf("Failures = %d", n)
			}
		})
	}
}

// TestHubSpotBadToken: a refused token is reported once, the other probes are skipped, and
// the token is never printed.
func TestHubSpotBadToken(t *testing.T) {
	rs := hubspotProbes(t, "pat-na1-wrong-token")
	if rs[0].Outcome != Unauthenticated || rs[1].Outcome != Skipped || rs[2].Outcome != Skipped {
		t.Fatalf("outcomes %v", outcomes(rs))
	}
	for _, r := range rs {
		if strings.Contains(r.String(), "pat-na1-wrong-token") {
			t.Errorf("the token is printed: %s", r)
		}
	}
	if !strings.Contains(rs[0].String(), "credentials were refused") {
		t.Errorf("line %q", rs[0])
	}
}

func TestLiveChatOneScopeAtATime(t *testing.T) {
	scopes := []string{livechatfake.ScopeChats, livechatfake.ScopeAgents, livechatfake.ScopeBots, livechatfake.ScopeGroups}
	for _, missing := range append([]string{""}, scopes...) {
		t.Run("without "+missing, func(t *testing.T) {
			var rs []Result
			if missing == "" {
				rs = livechatProbes(t, "pat")
			} else {
				rs = livechatProbes(t, "pat", missing)
			}
			if len(rs) != len(scopes) {
				t.Fatalf("%d probes, want one per scope (%d)", len(rs), len(scopes))
			}
			for _, r := range rs {
				want := OK
				if r.Probe.Scope == missing {
					want = MissingScope
				}
				if r.Outcome != want {
					t.Errorf("scope %s: outcome %d (%v), want %d", r.Probe.Scope, r.Outcome, r.Err, want)
				}
				if want == MissingScope {
					line := r.String()
					for _, s := range []string{"lacks scope " + missing, "Personal Access Tokens", "create a new token"} {
						if !strings.Contains(line, s) {
							t.Errorf("line %q lacks %q", line, s)
						}
					}
				}
			}
		})
	}
}

func TestLiveChatBadPAT(t *testing.T) {
	rs := livechatProbes(t, "wrong")
	got := outcomes(rs)
	if got["chats--all:ro"] != Unauthenticated || got["agents--all:ro"] != Skipped {
		t.Fatalf("outcomes %v", got)
	}
	if s := rs[0].String(); !strings.Contains(s, "LIVECHAT_ACCOUNT_ID") {
		t.Errorf("line %q does not mention the account id", s)
	}
}

func countNot(m map[string]Outcome, o Outcome) int {
	n := 0
	for _, v := range m {
		if v != o {
			n++
		}
	}
	return n
}
