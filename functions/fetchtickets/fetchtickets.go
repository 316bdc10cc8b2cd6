// Package fetchtickets is the FetchTickets Cloud Function: triggered by a sync request on the
// sync-tickets topic (from Cloud Scheduler, a person, or its own continuation), it reads HubSpot
// tickets and publishes them as raw batches on raw-batches. The logic lives in
// supportsync.dev/shared/fetch; this package only adapts the trigger.
package fetchtickets

import (
	"context"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	// The buildpack requires the framework's funcframework package in vendor/.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"supportsync.dev/shared/app"
)

func init() {
	functions.CloudEvent("FetchTickets", fetchTickets)
}

// service is built on the first invocation and reused by the instance.
var service = app.NewLazy(func(ctx context.Context) (*app.Fetch, error) {
	return app.NewTicketsFetch(ctx, os.Getenv)
})

// fetchTickets handles one sync request. A nil return acknowledges it.
func fetchTickets(ctx context.Context, e event.Event) error {
	return app.HandleSyncEvent(ctx, service, e.ID(), e.Data())
}
