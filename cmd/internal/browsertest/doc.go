// Package browsertest holds the browser tests of the widget pages and the dashboard: they
// serve widgetapi over a realistic dataset and drive headless Chromium (the distribution's
// package, found as "chromium" on PATH) with chromedp. Chromium missing is a failure, not a
// skip. go test -run . ./internal/browsertest -args -docs=../../../docs rewrites the README's
// screenshots.
package browsertest
