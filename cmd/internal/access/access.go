// Package access tests the API access the sync needs, one call per scope, so that a refused
// call names the missing scope and where to grant it instead of a bare 403.
//
// The scopes (see README "API access"):
//
//	HubSpot private app (or service key): tickets, crm.objects.owners.read
//	  (crm.schemas.tickets.read is optional: pipelines also work with tickets)
//	LiveChat personal access token: chats--all:ro, agents--all:ro, agents-bot--all:ro, groups--all:ro
package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/livechat"
)

// Where to grant a scope.
const (
	hubspotGrant = "HubSpot: Settings > Integrations > Private Apps > (the app) > Scopes, tick it and commit " +
		"(the token stays the same); for a service key: Development > Keys > Service keys > (the key) > edit scopes"
	livechatGrant = "LiveChat: a PAT's scopes are fixed when it is created: Developer Console > Settings > " +
		"Authorization > Personal Access Tokens, create a new token with every scope in README \"API access\", " +
		"then rotate it (TF_VAR_livechat_pat, livechat_pat_version + 1, terraform apply)"
)

// Probe is one call that proves one scope.
type Probe struct {
	API     string // "HubSpot" or "LiveChat"
	Scope   string // the scope the call needs
	Purpose string // what the sync reads with it
	Grant   string // where to grant it
	Call    func(ctx context.Context) error
}

// Outcome classifies a probe's answer.
type Outcome int

// The outcomes.
const (
	OK              Outcome = iota // the call worked
	MissingScope                   // refused for lack of the scope (HTTP 403)
	Unauthenticated                // the credentials were refused (HTTP 401): every call would fail
	Failed                         // any other failure (network, 5xx, bad answer)
	Skipped                        // not tried: an earlier probe of the same API was unauthenticated
)

// Result is the answer to one probe.
type Result struct {
	Probe   Probe
	Outcome Outcome
	Err     error
}

// String reads as one line of `supportsync check`.
func (r Result) String() string {
	name := fmt.Sprintf("%s scope %s (%s)", r.Probe.API, r.Probe.Scope, r.Probe.Purpose)
	switch r.Outcome {
	case OK:
		return "ok   " + name
	case MissingScope:
		return fmt.Sprintf("FAIL %s: the token lacks scope %s; grant it in %s (%v)", name, r.Probe.Scope, r.Probe.Grant, r.Err)
	case Unauthenticated:
		return fmt.Sprintf("FAIL %s: the credentials were refused (wrong or revoked token%s): %v", name, accountHint(r.Probe.API), r.Err)
	case Skipped:
		return "skip " + name + ": the credentials were refused"
	}
	return fmt.Sprintf("FAIL %s: %v", name, r.Err)
}

func accountHint(api string) string {
	if api == "LiveChat" {
		return ", or LIVECHAT_ACCOUNT_ID is not the token's account"
	}
	return ""
}

// Run tries every probe in order. After an unauthenticated answer the API's other probes are
// skipped: they would fail the same way.
func Run(ctx context.Context, probes []Probe) []Result {
	out := make([]Result, 0, len(probes))
	refused := map[string]bool{}
	for _, p := range probes {
		if refused[p.API] {
			out = append(out, Result{Probe: p, Outcome: Skipped})
			continue
		}
		err := p.Call(ctx)
		r := Result{Probe: p, Outcome: classify(err), Err: err}
		if r.Outcome == Unauthenticated {
			refused[p.API] = true
		}
		out = append(out, r)
	}
	return out
}

// Failures counts the results that are not OK (skipped ones included).
func Failures(results []Result) int {
	n := 0
	for _, r := range results {
		if r.Outcome != OK {
			n++
		}
	}
	return n
}

// classify reads an error of either client.
func classify(err error) Outcome {
	if err == nil {
		return OK
	}
	var he *hubspot.APIError
	if errors.As(err, &he) {
		switch {
		case he.StatusCode == http.StatusForbidden && he.Category != "BANNED":
			return MissingScope
		case he.StatusCode == http.StatusUnauthorized:
			return Unauthenticated
		}
		return Failed
	}
	var le *livechat.APIError
	if errors.As(err, &le) {
		switch {
		case le.Type == "authorization" || le.Type == "missing_access" || le.StatusCode == http.StatusForbidden:
			return MissingScope
		case le.Type == "authentication" || le.StatusCode == http.StatusUnauthorized:
			return Unauthenticated
		}
	}
	return Failed
}

// HubSpot returns one probe per scope the sync uses: tickets (list one ticket),
// crm.objects.owners.read (owners), and the pipelines (tickets or crm.schemas.tickets.read).
func HubSpot(c *hubspot.Client) []Probe {
	return []Probe{
		{API: "HubSpot", Scope: "tickets", Purpose: "list and search tickets", Grant: hubspotGrant,
			Call: func(ctx context.Context) error { _, err := c.ListTickets(ctx, hubspot.ListQuery{Limit: 1}); return err }},
		{API: "HubSpot", Scope: "crm.objects.owners.read", Purpose: "owner names for the Agent column", Grant: hubspotGrant,
			Call: func(ctx context.Context) error { _, err := c.Owners(ctx); return err }},
		{API: "HubSpot", Scope: "tickets or crm.schemas.tickets.read", Purpose: "pipeline and stage labels", Grant: hubspotGrant,
			Call: func(ctx context.Context) error { _, err := c.Pipelines(ctx); return err }},
	}
}

// LiveChat returns one probe per scope the sync uses: chats--all:ro (one page of the last
// day's archives), agents--all:ro, agents-bot--all:ro and groups--all:ro.
func LiveChat(c *livechat.Client) []Probe {
	return []Probe{
		{API: "LiveChat", Scope: "chats--all:ro", Purpose: "chat archives of every group", Grant: livechatGrant,
			Call: func(ctx context.Context) error {
				now := time.Now()
				_, err := c.ListArchives(ctx, livechat.ArchivesQuery{From: now.Add(-24 * time.Hour), To: now, Limit: 1})
				return err
			}},
		{API: "LiveChat", Scope: "agents--all:ro", Purpose: "agent names", Grant: livechatGrant,
			Call: func(ctx context.Context) error { _, err := c.Agents(ctx); return err }},
		{API: "LiveChat", Scope: "agents-bot--all:ro", Purpose: "which users are bots", Grant: livechatGrant,
			Call: func(ctx context.Context) error { _, err := c.Bots(ctx); return err }},
		{API: "LiveChat", Scope: "groups--all:ro", Purpose: "group names", Grant: livechatGrant,
			Call: func(ctx context.Context) error { _, err := c.Groups(ctx); return err }},
	}
}
