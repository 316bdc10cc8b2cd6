package livechatfake_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/livechat/livechatfake"
)

// TestWithoutScope: a PAT created without agents-bot--all:ro gets 403 "authorization" on
// list_bots only; the credentials are still checked first.
func TestWithoutScope(t *testing.T) {
	srv := livechatfake.New(livechatfake.Generate(1, 10, time.Now()), livechatfake.WithCredentials("acct", "pat"), livechatfake.WithRatePerMinute(0))
	ts := httptest.NewServer(srv.Without(livechatfake.ScopeBots))
	defer ts.Close()
	ctx := context.Background()
	c, err := livechat.NewClient(livechat.WithBaseURL(ts.URL), livechat.WithCredentials("acct", "pat"), livechat.WithMaxAttempts(1), livechat.WithRatePerMinute(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Agents(ctx); err != nil {
		t.Errorf("agents: %v", err)
	}
	_, err = c.Bots(ctx)
	var ae *livechat.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusForbidden || ae.Type != "authorization" {
		t.Fatalf("bots: %v, want 403 authorization", err)
	}
	bad, _ := livechat.NewClient(livechat.WithBaseURL(ts.URL), livechat.WithCredentials("acct", "nope"), livechat.WithMaxAttempts(1), livechat.WithRatePerMinute(0))
	if _, err := bad.Bots(ctx); !errors.As(err, &ae) || ae.Type != "authentication" {
		t.Fatalf("wrong PAT: %v, want authentication", err)
	}
}

// TestScopeForEveryAction: every action the client calls has a scope.
func TestScopeForEveryAction(t *testing.T) {
	for _, a := range []string{"list_archives", "list_agents", "list_bots", "list_groups"} {
		if livechatfake.ScopeFor(a) == "" {
			t.Errorf("%s: no scope", a)
		}
	}
}
