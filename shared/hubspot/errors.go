package hubspot

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// maxErrorBody caps the response body kept in an APIError.
const maxErrorBody = 1024

// APIError is a non-2xx answer from HubSpot. Body is the start of the response body (at most
// 1 KB, HTML tolerated); Category, Message and CorrelationID come from HubSpot's JSON error
// schema when the body has one. No field ever holds the client's token.
type APIError struct {
	Method        string // HTTP method of the request
	Path          string // request path, without the base URL
	StatusCode    int    // HTTP status
	Category      string // e.g. VALIDATION_ERROR, INVALID_AUTHENTICATION, RATE_LIMITS
	Message       string // HubSpot's message
	CorrelationID string // quote it to HubSpot support
	Body          string // start of the raw body, capped at 1 KB
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hubspot: %s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Category != "" {
		b.WriteString(" " + e.Category)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.CorrelationID != "" {
		b.WriteString(" (correlationId " + e.CorrelationID + ")")
	}
	return b.String()
}

// RateLimitError is a 429 that the client did not (or could no longer) retry: a DAILY limit,
// which only clears at the account's midnight, or a rate limit that outlasted the retries.
// It wraps the APIError of the last answer.
type RateLimitError struct {
	Policy     string        // policyName: TEN_SECONDLY_ROLLING, SECONDLY, DAILY, or "" when unknown
	RetryAfter time.Duration // how long HubSpot (or the client's reading of the answer) says to wait
	Err        *APIError     // the 429 answer
}

// Error implements error.
func (e *RateLimitError) Error() string {
	policy := e.Policy
	if policy == "" {
		policy = "unknown policy"
	}
	s := "hubspot: rate limited (" + policy + ")"
	if e.RetryAfter > 0 {
		s += ", retry after " + e.RetryAfter.String()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the APIError of the 429 answer.
func (e *RateLimitError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// errorBody is HubSpot's error schema, tolerant of the older rate-limit shape.
type errorBody struct {
	Status        string `json:"status"`
	Message       string `json:"message"`
	Category      string `json:"category"`
	ErrorType     string `json:"errorType"`
	PolicyName    string `json:"policyName"`
	CorrelationID string `json:"correlationId"`
}

// newAPIError builds the error for a non-2xx answer; token is redacted from every string.
func newAPIError(method, path string, status int, body []byte, token string) (*APIError, errorBody) {
	var eb errorBody
	_ = json.Unmarshal(body, &eb) // HTML and other non-JSON bodies are tolerated
	raw := body
	if len(raw) > maxErrorBody {
		raw = raw[:maxErrorBody]
	}
	cat := eb.Category
	if cat == "" {
		cat = eb.ErrorType
	}
	e := &APIError{
		Method:        method,
		Path:          path,
		StatusCode:    status,
		Category:      redact(cat, token),
		Message:       redact(eb.Message, token),
		CorrelationID: redact(eb.CorrelationID, token),
		Body:          redact(strings.ToValidUTF8(string(raw), "?"), token),
	}
	eb.Message = e.Message
	eb.PolicyName = redact(eb.PolicyName, token)
	return e, eb
}

// redact removes the token from s.
func redact(s, token string) string {
	if token == "" || !strings.Contains(s, token) {
		return s
	}
	return strings.ReplaceAll(s, token, "[REDACTED]")
}
