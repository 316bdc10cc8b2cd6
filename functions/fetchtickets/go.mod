module supportsync.dev/functions/fetchtickets

go 1.26.0

require supportsync.dev/shared v0.0.0

replace supportsync.dev/shared => ../../shared

require (
	github.com/GoogleCloudPlatform/functions-framework-go v1.9.2
	github.com/cloudevents/sdk-go/v2 v2.16.2
)
