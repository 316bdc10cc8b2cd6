package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/widgetapi"
)

// cmdToken mints an embed token through the widget API with the admin key and prints a
// working URL of the widget's data.
func cmdToken(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("token", out)
	widget := fs.String("widget", "", "widget id (GET /api/v1/widgets lists them), or ask for a token of POST /api/v1/ask")
	ttl := fs.Duration("ttl", widgetapi.DefaultTTL, "how long the token is valid (at most 720h)")
	base := fs.String("url", "", "widget API base URL (default $WIDGETAPI_URL, else http://127.0.0.1:8080)")
	filters := map[string]*string{}
	for _, f := range []string{"from", "to", "pipeline", "agent", "source"} {
		filters[f] = fs.String(f, "", "lock the "+f+" filter to this value")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *widget == "" {
		return usageError{fmt.Errorf("--widget is required")}
	}
	if *base == "" {
		*base = getenv("WIDGETAPI_URL")
	}
	if *base == "" {
		*base = "http://127.0.0.1:8080"
	}
	key := secrets.Secret(getenv("WIDGETAPI_ADMIN_KEY"))
	if key == "" {
		return fmt.Errorf("WIDGETAPI_ADMIN_KEY is not set (with devstack: source .devstack/env)")
	}
	locked := map[string]string{}
	for k, v := range filters {
		if *v != "" {
			locked[k] = *v
		}
	}
	m, err := widgetapi.Mint(ctx, nil, *base, key, widgetapi.MintRequest{Widget: *widget, Filters: locked, TTL: ttl.String()})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s%s\n", strings.TrimRight(*base, "/"), m.Path)
	if *widget == widgetapi.AskScope { // POSTed with the token in Authorization: Bearer
		fmt.Fprintf(out, "token %s\n", m.Token)
	} else {
		fmt.Fprintf(out, "page (embed as an iframe): %s%s\n", strings.TrimRight(*base, "/"), m.Page)
	}
	fmt.Fprintf(out, "expires %s\n", m.Expires.Format(time.RFC3339))
	return nil
}
