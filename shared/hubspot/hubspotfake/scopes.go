package hubspotfake

import (
	"encoding/json"
	"net/http"
	"strings"

	"supportsync.dev/shared/hubspot"
)

// The private app scopes the sync's calls need, as named in the security blocks of HubSpot's
// OpenAPI files.
const (
	ScopeTickets       = "tickets"                  // list, search and read tickets; ticket pipelines
	ScopeOwners        = "crm.objects.owners.read"  // owners (also satisfies pipelines)
	ScopeTicketSchemas = "crm.schemas.tickets.read" // ticket properties and pipelines
)

// ScopesFor returns the scopes any one of which lets a request reach path (after the
// prefix) with method, or nil when the endpoint needs no scope or is not served.
func ScopesFor(method, path string) []string {
	path = strings.TrimSuffix(path, "/")
	switch {
	case path == hubspot.PathTickets && method == http.MethodGet,
		path == hubspot.PathTicketsSearch && method == http.MethodPost,
		strings.HasPrefix(path, hubspot.PathTickets+"/") && method == http.MethodGet:
		return []string{ScopeTickets}
	case path == hubspot.PathOwners || strings.HasPrefix(path, hubspot.PathOwners+"/"):
		return []string{ScopeOwners}
	case path == hubspot.PathPipelines || strings.HasPrefix(path, hubspot.PathPipelines+"/"):
		return []string{ScopeTickets, ScopeTicketSchemas, ScopeOwners}
	}
	return nil
}

// Without returns a handler that serves like s for a token that lacks the given scopes: a
// request none of whose satisfying scopes (ScopesFor) the token holds gets HubSpot's 403
// MISSING_SCOPES answer, naming the scopes in errors[].context.requiredGranularScopes. Bad
// credentials still get the 401 first. Mount it instead of s (httptest.NewServer(s.Without(…))).
func (s *Server) Without(scopes ...string) http.Handler {
	missing := map[string]bool{}
	for _, sc := range scopes {
		missing[sc] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := strings.CutPrefix(r.URL.Path, s.prefix)
		authed := s.token == "" || r.Header.Get("Authorization") == "Bearer "+s.token
		need := ScopesFor(r.Method, path)
		if !ok || !authed || len(need) == 0 {
			s.ServeHTTP(w, r)
			return
		}
		for _, sc := range need {
			if !missing[sc] {
				s.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"status":        "error",
			"category":      "MISSING_SCOPES",
			"message":       "This app hasn't been granted all required scopes to make this call.",
			"correlationId": s.correlationID(),
			"errors": []any{map[string]any{
				"message": "One or more of the following scopes are required.",
				"context": map[string]any{"requiredGranularScopes": need},
			}},
		})
	})
}
