package hubspotfake_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/hubspot/hubspotfake"
)

// TestWithoutScope: a token without crm.objects.owners.read gets HubSpot's 403 MISSING_SCOPES
// naming the scope on owners only; tickets and pipelines (which tickets satisfies) still work,
// and a wrong token still gets 401 first.
func TestWithoutScope(t *testing.T) {
	srv := hubspotfake.New(hubspotfake.Fixture(1, 20, time.Now()))
	ts := httptest.NewServer(srv.Without(hubspotfake.ScopeOwners))
	defer ts.Close()
	ctx := context.Background()
	c, err := hubspot.NewClient(hubspot.WithBaseURL(ts.URL), hubspot.WithToken(hubspotfake.DefaultToken), hubspot.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTickets(ctx, hubspot.ListQuery{Limit: 1}); err != nil {
		t.Errorf("tickets: %v", err)
	}
	if _, err := c.Pipelines(ctx); err != nil {
		t.Errorf("pipelines: %v", err)
	}
	_, err = c.Owners(ctx)
	var ae *hubspot.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusForbidden || ae.Category != "MISSING_SCOPES" || !strings.Contains(ae.Body, `"requiredGranularScopes":["crm.objects.owners.read"]`) {
		t.Fatalf("owners: %v (%+v)", err, ae)
	}
	bad, _ := hubspot.NewClient(hubspot.WithBaseURL(ts.URL), hubspot.WithToken("pat-na1-other"), hubspot.WithMaxAttempts(1))
	if _, err := bad.Owners(ctx); !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %v, want 401", err)
	}
}

// TestScopesForEveryEndpoint: every endpoint the client calls has its scopes.
func TestScopesForEveryEndpoint(t *testing.T) {
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, hubspot.PathTickets}, {http.MethodPost, hubspot.PathTicketsSearch},
		{http.MethodGet, hubspot.PathOwners}, {http.MethodGet, hubspot.PathPipelines},
	} {
		if len(hubspotfake.ScopesFor(c.method, c.path)) == 0 {
			t.Errorf("%s %s: no scope", c.method, c.path)
		}
	}
}
