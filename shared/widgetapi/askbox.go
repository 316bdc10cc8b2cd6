package widgetapi

import (
	_ "embed"
	"html/template"
)

//go:embed ask.html.tmpl
var askBoxSource string

// AskBox is the dashboard's "Ask" box as an html/template with one template, "ask-box", to
// execute with AskBoxData (the dashboard page includes it; see ask.html.tmpl).
var AskBox = template.Must(template.New("ask.html.tmpl").Parse(askBoxSource))

// AskBoxData is what the Ask box needs.
type AskBoxData struct {
	// Status is AskAvailable(): the box renders only when it is enabled.
	Status AskStatus
	// Endpoint is the URL of POST /api/v1/ask.
	Endpoint string
	// Token is an ask token, or empty when the page's requests carry their own credentials.
	Token string
	// Nonce is the page's CSP script nonce, if any.
	Nonce string
}
