package hubspotfake

import (
	"net/http"
	"strconv"

	"supportsync.dev/shared/fakeapi"
)

// The Variant of a 429 fault (fakeapi.Fault{Code: 429, Variant: …}) picks HubSpot's body.
const (
	// TenSecondly (the default) is the TEN_SECONDLY_ROLLING 429 with the
	// X-HubSpot-RateLimit-* headers of the server's window.
	TenSecondly = ""
	// NoRateHeaders is the TEN_SECONDLY_ROLLING 429 without any rate-limit header.
	NoRateHeaders = "no-headers"
	// SecondlyLimit is search's "secondly limit" 429: no policyName, no headers.
	SecondlyLimit = "secondly"
	// DailyLimit is the DAILY 429.
	DailyLimit = "daily"
)

const cloudflare502 = `<!DOCTYPE html>
<html><head><title>api.hubapi.com | 502: Bad gateway</title></head>
<body><h1>Bad gateway</h1><p>Error code 502</p><p>Cloudflare Ray ID: 7d1f3c2e9a8b0c1d</p></body></html>
`

const cloudflare524 = `<!DOCTYPE html>
<html><head><title>api.hubapi.com | 524: A timeout occurred</title></head>
<body><h1>A timeout occurred</h1><p>Error code 524</p></body></html>
`

// writeFault answers an injected fault's status as HubSpot does: 429s by Variant, 502 and
// 524 with Cloudflare's HTML pages, every other code with HubSpot's error JSON.
func (s *Server) writeFault(w http.ResponseWriter, f fakeapi.Fault) {
	h := w.Header()
	switch f.Code {
	case http.StatusTooManyRequests:
		switch f.Variant {
		case NoRateHeaders:
			s.write429(w, "You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING")
		case SecondlyLimit:
			s.write429(w, "You have reached your secondly limit.", "")
		case DailyLimit:
			h.Set("X-HubSpot-RateLimit-Daily", "250000")
			h.Set("X-HubSpot-RateLimit-Daily-Remaining", "0")
			s.write429(w, "You have reached your daily limit.", "DAILY")
		default:
			h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", itoa(int(s.window.Milliseconds())))
			h.Set("X-HubSpot-RateLimit-Max", itoa(max(s.perWindow, 100)))
			h.Set("X-HubSpot-RateLimit-Remaining", "0")
			s.write429(w, "You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING")
		}
	case http.StatusBadGateway:
		h.Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(cloudflare502))
	case 524:
		h.Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(524)
		w.Write([]byte(cloudflare524))
	case http.StatusServiceUnavailable:
		s.writeError(w, f.Code, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable.")
	case http.StatusBadRequest:
		s.writeError(w, f.Code, "VALIDATION_ERROR", "injected fault")
	case http.StatusUnauthorized:
		s.writeError(w, f.Code, "INVALID_AUTHENTICATION", "injected fault")
	case http.StatusForbidden:
		s.writeError(w, f.Code, "MISSING_SCOPES", "injected fault")
	case http.StatusNotFound:
		s.writeError(w, f.Code, "OBJECT_NOT_FOUND", "injected fault")
	default:
		s.writeError(w, f.Code, "INTERNAL_ERROR", "injected fault")
	}
}

func itoa(n int) string {
	return strconv.Itoa(n)
}
