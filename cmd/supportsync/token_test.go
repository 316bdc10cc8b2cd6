package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/config"
	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/widgetapi"
)

// TestTokenCommand mints through a real widgetapi handler and prints a URL with the token and
// the locked filters; a bad widget or a missing admin key fails with the reason.
func TestTokenCommand(t *testing.T) {
	admin := strings.Repeat("a", 40)
	signer, err := widgetapi.NewSigner([]config.SigningKey{{ID: "k1", Key: secrets.Secret(strings.Repeat("s", 32))}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(widgetapi.New(widgetapi.Options{Signer: signer, AdminKey: secrets.Secret(admin)}))
	defer srv.Close()
	env := map[string]string{"WIDGETAPI_ADMIN_KEY": admin, "WIDGETAPI_URL": srv.URL}
	getenv := func(k string) string { return env[k] }
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"token", "--widget", "agent-leaderboard", "--agent", "Alice Smith", "--ttl", "2h"}, getenv, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	line := strings.SplitN(out.String(), "\n", 2)[0]
	if !strings.HasPrefix(line, srv.URL+"/api/v1/widgets/agent-leaderboard?") || !strings.Contains(line, "agent=Alice+Smith") || !strings.Contains(line, "token=k1.") {
		t.Errorf("printed %q", line)
	}
	out.Reset()
	// An ask token: the endpoint and the token, which opens POST /api/v1/ask only.
	if code := run(context.Background(), []string{"token", "--widget", "ask", "--ttl", "1h"}, getenv, &out, &errb); code != 0 {
		t.Fatalf("ask: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 2 || lines[0] != srv.URL+"/api/v1/ask" || !strings.HasPrefix(lines[1], "token k1.") {
		t.Errorf("ask printed %q", out.String())
	} else if c, err := signer.Verify(strings.TrimPrefix(lines[1], "token "), time.Now()); err != nil || c.Widget != widgetapi.AskScope {
		t.Errorf("ask token %+v %v", c, err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"token", "--widget", "nope"}, getenv, &out, &errb); code != 1 || !strings.Contains(errb.String(), `unknown widget \"nope\"`) && !strings.Contains(errb.String(), "unknown widget") {
		t.Errorf("bad widget: exit %d, %s", code, errb.String())
	}
	errb.Reset()
	delete(env, "WIDGETAPI_ADMIN_KEY")
	if code := run(context.Background(), []string{"token", "--widget", "chat-csat"}, getenv, &out, &errb); code != 1 || !strings.Contains(errb.String(), "WIDGETAPI_ADMIN_KEY is not set") {
		t.Errorf("no key: exit %d, %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"token"}, getenv, &out, &errb); code != 2 {
		t.Errorf("no --widget: exit %d", code)
	}
}
