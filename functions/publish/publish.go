// Package publish is the Publish Cloud Function: triggered by each completed run on the
// runs-completed topic, it reads the Tickets and Chats tabs and publishes the widget dataset to
// Firestore. The logic lives in supportsync.dev/shared/publish; this package only adapts the
// trigger.
package publish

import (
	"context"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	// The buildpack requires the framework's funcframework package in vendor/.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"supportsync.dev/shared/publish"
)

func init() {
	functions.CloudEvent("Publish", publishDataset)
}

// service is built on the first invocation and reused by the instance.
var service = publish.NewInstance(func(ctx context.Context) (*publish.Service, error) {
	return publish.FromEnv(ctx, os.Getenv)
})

// publishDataset publishes the dataset for one runs-completed message. An error makes Pub/Sub
// redeliver it (and dead-letter it after the subscription's maximum delivery attempts).
func publishDataset(ctx context.Context, e event.Event) error {
	return publish.HandleEvent(ctx, service, e.ID(), e.Data())
}
