package deploy

import (
	"slices"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestTerraformAsk: ask_backend decides what widgetapi gets. Off (the default): read-only
// Firestore, no model settings, no key. Vertex AI: the function's own account gets
// roles/aiplatform.user and the API is enabled, with no key anywhere. The Gemini API: the key
// is a write-only secret that only widgetapi mounts, as GEMINI_API_KEY. When on, widgetapi
// writes the daily budget (datastore.user).
func TestTerraformAsk(t *testing.T) {
	for _, tc := range []struct {
		backend   string
		roles     []string
		vertex    bool // ASK_VERTEX_LOCATION set and aiplatform.googleapis.com enabled
		keySecret bool // gemini-api-key declared and mounted as GEMINI_API_KEY
	}{
		{"off", []string{"roles/datastore.viewer"}, false, false},
		{"vertex", []string{"roles/aiplatform.user", "roles/datastore.user"}, true, false},
		{"gemini_api", []string{"roles/datastore.user"}, false, true},
	} {
		t.Run(tc.backend, func(t *testing.T) {
			vars := map[string]cty.Value{"ask_backend": cty.StringVal(tc.backend), "ask_vertex_location": cty.StringVal("europe-west4"),
				"ask_daily_requests": cty.NumberIntVal(50)}
			if tc.keySecret {
				vars["gemini_api_key"] = cty.StringVal("AIza-test")
			}
			d := loadDeployment(t, vars)
			w := d.functions["widgetapi"]
			if got := stringList(w["project_roles"]); !slices.Equal(got, tc.roles) {
				t.Errorf("widgetapi roles %v, want %v", got, tc.roles)
			}
			plain, secret := env(w)
			if plain["ASK_MODEL"] != "gemini-2.5-flash" || plain["ASK_DAILY_REQUESTS"] != "50" || plain["ASK_DAILY_TOKENS"] != "2000000" {
				t.Errorf("ask environment %v", plain)
			}
			if loc, ok := plain["ASK_VERTEX_LOCATION"]; ok != tc.vertex || (ok && loc != "europe-west4") {
				t.Errorf("ASK_VERTEX_LOCATION %q (set %v), want set %v", loc, ok, tc.vertex)
			}
			if slices.Contains(secret, "GEMINI_API_KEY") != tc.keySecret {
				t.Errorf("secret environment %v", secret)
			}
			declared := false
			for _, s := range d.instances("google_secret_manager_secret") {
				if id, _ := str(mustGet(s, "secret_id")); id == "gemini-api-key" {
					declared = true
				}
			}
			if declared != tc.keySecret {
				t.Errorf("gemini-api-key declared %v", declared)
			}
			for fn, args := range d.functions {
				_, sec := env(args)
				if fn != "widgetapi" && slices.Contains(sec, "GEMINI_API_KEY") {
					t.Errorf("function %s mounts the Gemini key", fn)
				}
				if fn != "widgetapi" && slices.Contains(stringList(args["project_roles"]), "roles/aiplatform.user") {
					t.Errorf("function %s may call Vertex AI", fn)
				}
			}
			apis := 0
			for _, inst := range d.instances("google_project_service") {
				if s, _ := str(mustGet(inst, "service")); s == "aiplatform.googleapis.com" {
					apis++
				}
			}
			if (apis == 1) != tc.vertex {
				t.Errorf("aiplatform.googleapis.com enabled %d times", apis)
			}
		})
	}
}
