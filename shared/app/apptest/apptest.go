// Package apptest holds what the function packages' tests share: calling a CloudEvent handler
// the way the functions framework does.
package apptest

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

// PubSubEvent returns a messagePublished CloudEvent carrying data as the Pub/Sub message.
func PubSubEvent(t *testing.T, data []byte) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("1")
	e.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	e.SetSource("//pubsub.googleapis.com/projects/p/topics/t")
	if err := e.SetData(event.ApplicationJSON, map[string]any{"message": map[string]any{"data": data}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// FailsOnBadConfig calls handler with no configuration (and a bad RETENTION_DAYS): the call
// must fail, so the message is retried rather than lost, and the error must name every
// variable in want at once.
func FailsOnBadConfig(t *testing.T, handler func(context.Context, event.Event) error, want ...string) {
	t.Helper()
	for _, k := range []string{"GOOGLE_CLOUD_PROJECT", "SPREADSHEET_ID", "HUBSPOT_TOKEN", "HUBSPOT_TOKEN_SECRET",
		"LIVECHAT_ACCOUNT_ID", "LIVECHAT_PAT", "LIVECHAT_PAT_SECRET", "TEAM_CONFIG"} {
		t.Setenv(k, "")
	}
	t.Setenv("RETENTION_DAYS", "0")
	err := handler(context.Background(), PubSubEvent(t, []byte("{}")))
	if err == nil {
		t.Fatal("handler succeeded without configuration")
	}
	for _, w := range append([]string{"GOOGLE_CLOUD_PROJECT", "RETENTION_DAYS"}, want...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not name %s: %v", w, err)
		}
	}
}
