package livechatfake

import (
	"net/http"
	"strings"
)

// The personal access token scopes the sync's calls need (read-only).
const (
	ScopeChats  = "chats--all:ro"      // agent/list_archives (chats--access:ro sees only the owner's groups)
	ScopeAgents = "agents--all:ro"     // configuration/list_agents
	ScopeBots   = "agents-bot--all:ro" // configuration/list_bots
	ScopeGroups = "groups--all:ro"     // configuration/list_groups
)

// ScopeFor returns the scope an action (the last path segment, e.g. "list_archives") needs,
// or "" when the server does not serve it.
func ScopeFor(action string) string {
	switch action {
	case "list_archives", "list_threads", "get_chat", "list_chats":
		return ScopeChats
	case "list_agents", "get_agent":
		return ScopeAgents
	case "list_bots", "get_bot":
		return ScopeBots
	case "list_groups":
		return ScopeGroups
	}
	return ""
}

// Without returns a handler that serves like s for a token created without the given scopes
// (LiveChat fixes a PAT's scopes at creation): an action that needs one of them gets 403 with
// the error envelope's type "authorization". Bad credentials still get the 401 first. Mount it
// instead of s (httptest.NewServer(s.Without(…))).
func (s *Server) Without(scopes ...string) http.Handler {
	missing := map[string]bool{}
	for _, sc := range scopes {
		missing[sc] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		if sc := ScopeFor(action); sc != "" && missing[sc] && s.authorized(r) {
			s.Serve(w, r, []string{action}, s.writeFault, func(w http.ResponseWriter, _ *http.Request) {
				s.setHeaders(w)
				writeError(w, http.StatusForbidden, "authorization", "Access denied")
			})
			return
		}
		s.ServeHTTP(w, r)
	})
}
