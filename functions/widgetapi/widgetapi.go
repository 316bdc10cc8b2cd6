// Package widgetapi is the WidgetAPI Cloud Function (HTTP, public): the widget data, the
// status and embed-token minting. The logic lives in supportsync.dev/shared/widgetapi; this
// package only registers the handler.
package widgetapi

import (
	"context"
	"net/http"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	// The buildpack requires the framework's funcframework package in vendor/.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"supportsync.dev/shared/widgetapi"
)

func init() {
	functions.HTTP("WidgetAPI", serve)
}

// handler builds the server on the first request and reuses it.
var handler = widgetapi.NewHandler(func(ctx context.Context) (*widgetapi.Server, error) {
	return widgetapi.FromEnv(ctx, os.Getenv)
})

func serve(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }
