// Package process is the Process Cloud Function: triggered by each raw batch on the
// raw-batches topic, it lands the batch in Google Sheets and finishes runs. The logic lives in
// supportsync.dev/shared/process; this package only adapts the trigger. Deploy it as a single
// instance (max_instance_count 1): the Sheets sink must be the spreadsheet's only writer; the
// invocations that instance serves at once are serialized per tab inside the service.
package process

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	// The buildpack requires the framework's funcframework package in vendor/.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"supportsync.dev/shared/app"
)

func init() {
	functions.CloudEvent("Process", processBatch)
}

// service is built on the first invocation and reused by the instance.
//
// Landing a batch allocates a lot of short-lived memory (decoded records, rows, request
// bodies) while the live heap stays small (about 140 MiB at 5,000 tickets, in a 1 GiB
// instance): a GC target of 200% (Go's default is 100%) spends about a third less CPU
// collecting (0.6 s of a 9 s 100,000-ticket devstack sync). A GOGC other than 100 wins.
var service = app.NewLazy(func(ctx context.Context) (*app.Process, error) {
	if old := debug.SetGCPercent(200); old != 100 {
		debug.SetGCPercent(old) // GOGC was set: it wins
	}
	return app.NewProcess(ctx, os.Getenv)
})

// processBatch lands one raw batch. An error makes Pub/Sub redeliver it (and dead-letter it
// after the subscription's maximum delivery attempts).
func processBatch(ctx context.Context, e event.Event) error {
	return app.HandleBatchEvent(ctx, service, e.ID(), e.Data())
}
