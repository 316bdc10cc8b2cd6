package devstack

import (
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"supportsync.dev/shared/batch"

	// The functions register themselves with the framework in their init.
	_ "supportsync.dev/functions/fetchchats"
	_ "supportsync.dev/functions/fetchtickets"
	_ "supportsync.dev/functions/process"
	_ "supportsync.dev/functions/publish"
	_ "supportsync.dev/functions/widgetapi"
)

// Function is one Cloud Function as the local stack runs it: a child process serving the
// function's entry point through the functions framework, behind a Pub/Sub push subscription
// on its trigger topic, exactly as in the cloud.
type Function struct {
	Name  string // directory under functions/
	Entry string // entry point registered with functions.CloudEvent
	// TopicVar names the variable holding the trigger topic; TopicDefault is its default.
	TopicVar, TopicDefault string
	// Source is the source a fetch function reads (empty for others).
	Source batch.Source
	// DeadLetter gives the subscription the dead-letter topic and bounded delivery attempts.
	DeadLetter bool
	// HTTP marks an HTTP function (widgetapi): no trigger topic, served on the widgets
	// address.
	HTTP bool
}

// Functions are the functions the stack runs.
var Functions = []Function{
	{Name: "fetchtickets", Entry: "FetchTickets", TopicVar: "TOPIC_SYNC_TICKETS", TopicDefault: "sync-tickets", Source: batch.Tickets},
	{Name: "fetchchats", Entry: "FetchChats", TopicVar: "TOPIC_SYNC_CHATS", TopicDefault: "sync-chats", Source: batch.Chats},
	{Name: "process", Entry: "Process", TopicVar: "TOPIC_RAW_BATCHES", TopicDefault: "raw-batches", DeadLetter: true},
	// publish runs after every completed run (retried with backoff while another publish
	// holds the lease); a failing publish leaves the previous dataset serving.
	{Name: "publish", Entry: "Publish", TopicVar: "TOPIC_RUNS_COMPLETED", TopicDefault: "runs-completed"},
	{Name: "widgetapi", Entry: "WidgetAPI", HTTP: true},
}

// Sources lists the sources the stack can sync, in sync order.
func Sources() []batch.Source {
	var out []batch.Source
	for _, f := range Functions {
		if f.Source != "" {
			out = append(out, f.Source)
		}
	}
	return out
}

// ChildEnv is set in a child process's environment to make it serve one function: the
// supportsync binary (or a test binary) checks it first thing and calls ServeFunction.
const ChildEnv = "SUPPORTSYNC_SERVE_FUNCTION"

// HostEnv names the address a child process listens on (default 127.0.0.1).
const HostEnv = "SUPPORTSYNC_SERVE_HOST"

// ServeFunction serves the function named by FUNCTION_TARGET on $SUPPORTSYNC_SERVE_HOST
// (default 127.0.0.1):$PORT until the process is killed. It is what a devstack child process
// runs.
func ServeFunction() error {
	port := os.Getenv("PORT")
	if port == "" || os.Getenv("FUNCTION_TARGET") == "" {
		return fmt.Errorf("serve function: PORT and FUNCTION_TARGET must be set")
	}
	host := os.Getenv(HostEnv)
	if host == "" {
		host = "127.0.0.1"
	}
	return funcframework.StartHostPort(host, port)
}
