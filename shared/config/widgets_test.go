package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWidgetVariables checks widgetapi's variables: parsed when good, every problem named at
// once when bad, and no secret in an error or in String.
func TestWidgetVariables(t *testing.T) {
	key := strings.Repeat("k", 32)
	good := map[string]string{
		"GOOGLE_CLOUD_PROJECT":      "p",
		"WIDGETAPI_ADMIN_KEY":       "admin-" + key,
		"WIDGETAPI_SIGNING_KEYS":    "k2:" + key + "2, k1:" + key + "1",
		"WIDGETAPI_ALLOWED_ORIGINS": "https://app.hubspot.com, http://LOCALHOST:3000",
		"WIDGETAPI_FRAME_ANCESTORS": "https://app-na2.hubspot.com",
	}
	c, err := Load(env(good), NeedFirestore|NeedWidgets)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.WidgetAdminKey) != "admin-"+key || len(c.WidgetSigningKeys) != 2 || c.WidgetSigningKeys[0].ID != "k2" ||
		string(c.WidgetSigningKeys[1].Key) != key+"1" {
		t.Errorf("parsed %+v", c)
	}
	if d := cmp.Diff([]string{"https://app.hubspot.com", "http://localhost:3000"}, c.WidgetOrigins); d != "" {
		t.Errorf("origins (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"https://app-na2.hubspot.com"}, c.WidgetFrameAncestors); d != "" {
		t.Errorf("frame ancestors (-want +got):\n%s", d)
	}
	badFA := map[string]string{}
	for k, v := range good {
		badFA[k] = v
	}
	badFA["WIDGETAPI_FRAME_ANCESTORS"] = "app.hubspot.com/path"
	if _, err := Load(env(badFA), NeedFirestore|NeedWidgets); err == nil || !strings.Contains(err.Error(), "WIDGETAPI_FRAME_ANCESTORS") {
		t.Errorf("a bad frame ancestor: %v", err)
	}
	if s := c.String(); strings.Contains(s, key) {
		t.Errorf("String shows a secret:\n%s", s)
	}

	_, err = Load(env(map[string]string{"GOOGLE_CLOUD_PROJECT": "p"}), NeedFirestore|NeedWidgets)
	for _, want := range []string{"WIDGETAPI_ADMIN_KEY: required", "WIDGETAPI_SIGNING_KEYS: required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing keys: %v, want %q", err, want)
		}
	}
	bad := map[string]string{
		"WIDGETAPI_ADMIN_KEY":       "short-secret-value",
		"WIDGETAPI_SIGNING_KEYS":    "k1:" + key + ",nocolon-secret-value-here-xxxxxxxxxxxxxxx",
		"WIDGETAPI_ALLOWED_ORIGINS": "https://ok.example, ftp://x, https://a.example/path",
		"WIDGETAPI_REFRESH_SECONDS": "0",
		"WIDGETAPI_STALE_MINUTES":   "x",
	}
	_, err = Load(env(bad), 0)
	if err == nil {
		t.Fatal("bad widget variables: no error")
	}
	for _, want := range []string{"WIDGETAPI_ADMIN_KEY: shorter than 32", "WIDGETAPI_SIGNING_KEYS: entry 2", `"ftp://x" is not an origin`,
		`"https://a.example/path" is not an origin`, "WIDGETAPI_REFRESH_SECONDS", "WIDGETAPI_STALE_MINUTES"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	for _, secret := range []string{"short-secret-value", "nocolon-secret", key} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows a secret: %v", err)
		}
	}
	_, err = Load(env(map[string]string{"WIDGETAPI_SIGNING_KEYS": "a:" + key + ",a:" + key}), 0)
	if err == nil || !strings.Contains(err.Error(), `key id "a" is given twice`) {
		t.Errorf("duplicate key id: %v", err)
	}
}

// TestAskVariables checks the ask variables: defaults, good values, and every problem named
// at once without echoing the key.
func TestAskVariables(t *testing.T) {
	c, err := Load(env(map[string]string{"GOOGLE_CLOUD_PROJECT": "p"}), NeedFirestore)
	if err != nil {
		t.Fatal(err)
	}
	if c.AskModel != "gemini-2.5-flash" || c.AskDailyRequests != 500 || c.AskDailyTokens != 2000000 || c.AskMaxSteps != 6 ||
		c.AskTimeout.Seconds() != 45 || c.AskGeminiKey != "" || c.AskVertexLocation != "" {
		t.Errorf("defaults %+v", c)
	}
	key := "AIza-not-a-real-key-0123456789"
	c, err = Load(env(map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "GEMINI_API_KEY": key, "ASK_VERTEX_LOCATION": "europe-west4",
		"ASK_MODEL": "gemini-2.5-flash-lite", "ASK_MODEL_BASE_URL": "http://127.0.0.1:9999", "ASK_DAILY_REQUESTS": "20"}), NeedFirestore)
	if err != nil || string(c.AskGeminiKey) != key || c.AskVertexLocation != "europe-west4" || c.AskBaseURL != "http://127.0.0.1:9999" || c.AskDailyRequests != 20 {
		t.Fatalf("%+v %v", c, err)
	}
	if strings.Contains(c.String(), key) {
		t.Error("String shows the Gemini key")
	}
	_, err = Load(env(map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "GEMINI_API_KEY": key, "GEMINI_API_KEY_SECRET": "projects/p/secrets/g/versions/1",
		"ASK_VERTEX_LOCATION": "Mars 1", "ASK_MODEL": "gemini 2", "ASK_MODEL_BASE_URL": "ftp://x", "ASK_DAILY_TOKENS": "5", "ASK_TIMEOUT_SECONDS": "x"}), NeedFirestore)
	for _, want := range []string{"GEMINI_API_KEY: set GEMINI_API_KEY or GEMINI_API_KEY_SECRET", "ASK_VERTEX_LOCATION", "ASK_MODEL:", "ASK_MODEL_BASE_URL", "ASK_DAILY_TOKENS", "ASK_TIMEOUT_SECONDS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad ask variables: %v, want %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), key) {
		t.Error("an error shows the Gemini key")
	}
}
