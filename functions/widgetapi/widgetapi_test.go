package widgetapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBadConfigurationAnswers503 calls the handler as the framework would, with no
// configuration: a 503 that names no variable or value (the details go to the log).
func TestBadConfigurationAnswers503(t *testing.T) {
	for _, k := range []string{"GOOGLE_CLOUD_PROJECT", "WIDGETAPI_ADMIN_KEY", "WIDGETAPI_SIGNING_KEYS"} {
		t.Setenv(k, "")
	}
	rec := httptest.NewRecorder()
	serve(rec, httptest.NewRequest(http.MethodGet, "/api/v1/widgets/chat-csat", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("code %d", rec.Code)
	}
	if body := rec.Body.String(); !strings.Contains(body, "not configured") || strings.Contains(body, "WIDGETAPI") {
		t.Errorf("body %q", body)
	}
}
