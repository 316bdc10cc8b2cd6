package fetchchats

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

// TestBadConfigurationFailsWithEveryProblem calls the handler as the framework would, with
// no configuration: the invocation fails (so the message is retried, not lost) and the error
// names every missing variable at once.
func TestBadConfigurationFailsWithEveryProblem(t *testing.T) {
	for _, k := range []string{"GOOGLE_CLOUD_PROJECT", "SPREADSHEET_ID", "HUBSPOT_TOKEN", "HUBSPOT_TOKEN_SECRET",
		"LIVECHAT_ACCOUNT_ID", "LIVECHAT_PAT", "LIVECHAT_PAT_SECRET", "TEAM_CONFIG"} {
		t.Setenv(k, "")
	}
	t.Setenv("RETENTION_DAYS", "0")
	e := event.New()
	e.SetID("1")
	e.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	e.SetSource("//pubsub.googleapis.com/projects/p/topics/t")
	if err := e.SetData(event.ApplicationJSON, map[string]any{"message": map[string]any{"data": "e30="}}); err != nil {
		t.Fatal(err)
	}
	err := fetchChats(context.Background(), e)
	if err == nil {
		t.Fatal("handler succeeded without configuration")
	}
	for _, want := range []string{"GOOGLE_CLOUD_PROJECT", "RETENTION_DAYS", "LIVECHAT_PAT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}
