module supportsync.dev/cmd

go 1.26.0

require supportsync.dev/shared v0.0.0

replace supportsync.dev/shared => ../shared

require (
	github.com/GoogleCloudPlatform/functions-framework-go v1.9.2
	supportsync.dev/functions/fetchchats v0.0.0
	supportsync.dev/functions/fetchtickets v0.0.0
	supportsync.dev/functions/process v0.0.0
	supportsync.dev/functions/publish v0.0.0
	supportsync.dev/functions/widgetapi v0.0.0
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/chromedp/chromedp v0.23.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
)

require (
	github.com/agext/levenshtein v1.2.1 // indirect
	github.com/apparentlymart/go-textseg/v15 v15.0.0 // indirect
	github.com/apparentlymart/go-textseg/v17 v17.0.1 // indirect
	github.com/hashicorp/hcl/v2 v2.25.0
	github.com/mitchellh/go-wordwrap v1.0.1 // indirect
	github.com/zclconf/go-cty v1.19.0
	golang.org/x/mod v0.41.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/tools v0.51.0 // indirect
)

replace (
	supportsync.dev/functions/fetchchats => ../functions/fetchchats
	supportsync.dev/functions/fetchtickets => ../functions/fetchtickets
	supportsync.dev/functions/process => ../functions/process
	supportsync.dev/functions/publish => ../functions/publish
	supportsync.dev/functions/widgetapi => ../functions/widgetapi
)
