package deploy

// Checks of terraform/alerts.tf: the alerts issue 11 asks for exist, watch what the code and
// the rest of the deployment really emit, and tell the operator what to do with links that open.

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// alertPolicy is one evaluated google_monitoring_alert_policy.
type alertPolicy struct {
	name, filter, kind, doc, mime string
	duration                      string
	links                         []string // documentation.links urls
}

func alertPolicies(t *testing.T, d *deployment) map[string]alertPolicy {
	t.Helper()
	out := map[string]alertPolicy{}
	for name, inst := range d.instances("google_monitoring_alert_policy") {
		p := alertPolicy{name: name}
		conds := mustGet(inst, "conditions")
		if !conds.IsKnown() || conds.LengthInt() != 1 {
			t.Errorf("alert %s: want exactly one condition", name)
			continue
		}
		c := conds.Index(cty.NumberIntVal(0))
		for _, kind := range []string{"condition_threshold", "condition_absent"} {
			if v, ok := get(c, kind); ok {
				inner := v.Index(cty.NumberIntVal(0))
				p.kind = kind
				p.filter, _ = str(mustGet(inner, "filter"))
				p.duration, _ = str(mustGet(inner, "duration"))
			}
		}
		docs := mustGet(inst, "documentation")
		if docs.IsKnown() && docs.LengthInt() == 1 {
			doc := docs.Index(cty.NumberIntVal(0))
			p.doc, _ = str(mustGet(doc, "content"))
			p.mime, _ = str(mustGet(doc, "mime_type"))
			if ls, ok := get(doc, "links"); ok && ls.IsKnown() {
				for it := ls.ElementIterator(); it.Next(); {
					_, l := it.Element()
					u, _ := str(mustGet(l, "url"))
					p.links = append(p.links, u)
				}
			}
		}
		out[name] = p
	}
	return out
}

// logMetric returns the evaluated log-based metric whose name is supportsync/<key>.
func logMetricFilter(t *testing.T, d *deployment, metricType string) string {
	t.Helper()
	for _, inst := range d.instances("google_logging_metric") {
		name, _ := str(mustGet(inst, "name"))
		if "logging.googleapis.com/user/"+name == metricType {
			f, _ := str(mustGet(inst, "filter"))
			return f
		}
	}
	return ""
}

// TestTerraformAlerts: the six alerts exist, each on the right signal.
func TestTerraformAlerts(t *testing.T) {
	d := loadDeployment(t)
	policies := alertPolicies(t, d)
	metricType := func(filter string) string {
		m := regexp.MustCompile(`metric\.type="([^"]+)"`).FindStringSubmatch(filter)
		if m == nil {
			return ""
		}
		return m[1]
	}
	tests := []struct {
		policy, kind, metric, logFilter string
		filterHas                       []string
	}{
		{"run_failed", "condition_threshold", "logging.googleapis.com/user/supportsync/run_failed", `jsonPayload.event="run_failed"`, nil},
		{"not_syncing", "condition_absent", "logging.googleapis.com/user/supportsync/run_completed", `jsonPayload.event="run_completed"`, nil},
		{"dead_letter_backlog", "condition_threshold", "pubsub.googleapis.com/subscription/num_undelivered_messages", "", []string{`subscription_id="dead-letter-replay"`}},
		{"deletions_held", "condition_threshold", "logging.googleapis.com/user/supportsync/deletions_held", `jsonPayload.event="deletions_held"`, nil},
		{"function_start_failed", "condition_threshold", "logging.googleapis.com/user/supportsync/function_start_failed", `Function error`, nil},
		{"sync_request_stuck", "condition_threshold", "pubsub.googleapis.com/subscription/oldest_unacked_message_age", "", []string{`"sync-tickets-fetchtickets"`, `"sync-chats-fetchchats"`}},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			p, ok := policies[tt.policy]
			if !ok {
				t.Fatalf("no google_monitoring_alert_policy.%s", tt.policy)
			}
			if p.kind != tt.kind {
				t.Errorf("condition %s, want %s", p.kind, tt.kind)
			}
			if got := metricType(p.filter); got != tt.metric {
				t.Errorf("watches %q, want %q (filter %s)", got, tt.metric, p.filter)
			}
			for _, s := range tt.filterHas {
				if !strings.Contains(p.filter, s) {
					t.Errorf("filter %s lacks %s", p.filter, s)
				}
			}
			if tt.logFilter != "" {
				f := logMetricFilter(t, d, tt.metric)
				if !strings.Contains(f, tt.logFilter) {
					t.Errorf("log metric %s filter %q lacks %s", tt.metric, f, tt.logFilter)
				}
				// Policies on a log-based metric wait until Monitoring knows it.
				if deps := dependsOn(d.m.block("google_monitoring_alert_policy", tt.policy)); !slices.Contains(deps, "time_sleep.log_metrics") {
					t.Errorf("depends on %v: a policy on a new log metric fails with 404 unless it waits for time_sleep.log_metrics", deps)
				}
			}
		})
	}
	// The sync request stuck alert fires after an hour; not syncing after two schedule periods.
	if p := policies["sync_request_stuck"]; !strings.Contains(p.filter, "oldest_unacked_message_age") {
		t.Error("sync_request_stuck must watch the oldest unacked message age")
	}
	thr := d.instances("google_monitoring_alert_policy")["sync_request_stuck"]
	c := mustGet(thr, "conditions").Index(cty.NumberIntVal(0))
	if n, _ := num(mustGet(mustGet(c, "condition_threshold").Index(cty.NumberIntVal(0)), "threshold_value")); n != 3600 {
		t.Errorf("sync_request_stuck threshold %d s, want 3600 (an hour)", n)
	}
	if p := policies["not_syncing"]; p.duration != "28800s" {
		t.Errorf("not_syncing absence %q with the default 4-hourly schedule, want 28800s (two periods)", p.duration)
	}
	sleep := d.e.resources["time_sleep"]["log_metrics"]
	if wait := seconds(t, mustGet(sleep, "create_duration")); wait.Minutes() < 10 {
		t.Errorf("time_sleep.log_metrics waits %v; a new metric can take up to 10 minutes", wait)
	}
}

// TestTerraformAlertScheduleWindow: "not syncing" follows the incremental schedule: two
// periods, at most the 23.5 hours an absence condition allows.
func TestTerraformAlertScheduleWindow(t *testing.T) {
	d := loadDeployment(t)
	tests := []struct{ schedule, want string }{
		{"0 */4 * * *", "28800s"},
		{"15 */2 * * *", "14400s"},
		{"0 * * * *", "7200s"},
		{"30 6 * * 1-5", "84600s"},
		{"0 */12 * * *", "84600s"},
	}
	for _, tt := range tests {
		given := map[string]cty.Value{"schedule": cty.StringVal(tt.schedule)}
		for k, v := range testVars {
			given[k] = v
		}
		e := newEvaluator(t, d.m, given)
		p := e.resources["google_monitoring_alert_policy"]["not_syncing"]
		c := mustGet(p, "conditions").Index(cty.NumberIntVal(0))
		got, _ := str(mustGet(mustGet(c, "condition_absent").Index(cty.NumberIntVal(0)), "duration"))
		if got != tt.want {
			t.Errorf("schedule %q: absence %q, want %q", tt.schedule, got, tt.want)
		}
	}
}

// TestTerraformAlertDocumentation: every alert says what to do, in Markdown, with links that
// open (https, console pages of this project or the sheet) and the CLI commands to run.
func TestTerraformAlertDocumentation(t *testing.T) {
	d := loadDeployment(t)
	link := regexp.MustCompile(`\]\((https://[^)\s]+)\)`)
	for name, p := range alertPolicies(t, d) {
		if p.mime != "text/markdown" {
			t.Errorf("alert %s: documentation mime_type %q, want text/markdown", name, p.mime)
		}
		if !strings.Contains(p.doc, "What to do:") || !strings.Contains(p.doc, "`supportsync ") {
			t.Errorf("alert %s: documentation gives no steps with a supportsync command:\n%s", name, p.doc)
		}
		// The API takes at most 8,192 characters of content and 3 links.
		if n := len([]rune(p.doc)); n > 8192 {
			t.Errorf("alert %s: documentation is %d characters, the API takes 8,192", name, n)
		}
		if len(p.links) == 0 || len(p.links) > 3 {
			t.Errorf("alert %s: %d documentation links, want 1-3 (shown as buttons in the notification)", name, len(p.links))
		}
		links := link.FindAllStringSubmatch(p.doc, -1)
		if len(links) == 0 {
			t.Errorf("alert %s: documentation has no link", name)
		}
		for _, u := range p.links {
			links = append(links, []string{"", u})
		}
		for _, l := range links {
			u, err := url.Parse(l[1])
			if err != nil {
				t.Errorf("alert %s: link %q: %v", name, l[1], err)
				continue
			}
			switch u.Host {
			case "console.cloud.google.com":
				if u.Query().Get("project") != "supportsync-test" {
					t.Errorf("alert %s: console link %q does not name the project", name, l[1])
				}
			case "docs.google.com":
			default:
				t.Errorf("alert %s: link %q is not a console or sheet page", name, l[1])
			}
			if strings.Contains(l[1], "+") || strings.Contains(l[1], " ") {
				t.Errorf("alert %s: link %q has a raw space or '+' (the Logs Explorer reads '+' literally)", name, l[1])
			}
			if strings.Contains(u.Path, "/logs/query;query=") {
				q, err := url.PathUnescape(strings.SplitN(strings.SplitN(u.Path, ";query=", 2)[1], ";", 2)[0])
				if err != nil || !strings.Contains(q, "resource.type=\"cloud_run_revision\"") {
					t.Errorf("alert %s: logs link query %q does not decode to a log filter (%v)", name, q, err)
				}
			}
		}
		if regexp.MustCompile(`\.md\b|terraform/`).MatchString(p.doc) {
			t.Errorf("alert %s: documentation points at a file path, which does not open from an alert", name)
		}
	}
}

// TestTerraformAlertTargets: what the alerts name exists: the functions deployed, the fetch
// functions' push subscriptions, the dead-letter subscription, the events the code logs.
func TestTerraformAlertTargets(t *testing.T) {
	d := loadDeployment(t)
	fns := stringList(d.e.locals["alert_functions"])
	var deployed []string
	for fn := range d.functions {
		deployed = append(deployed, fn)
	}
	slices.Sort(deployed)
	if !slices.Equal(fns, deployed) {
		t.Errorf("local.alert_functions %v, deployed functions %v: a function missing there has no start-failure alert", fns, deployed)
	}
	subs := stringList(d.e.locals["sync_subscriptions"])
	var fetchSubs []string
	for fn, args := range d.functions {
		if topic := wantTrigger[fn]; strings.HasPrefix(topic, "sync-") {
			s, _ := str(mustGet(args["push_subscription"], "name"))
			fetchSubs = append(fetchSubs, s)
		}
	}
	slices.Sort(fetchSubs)
	if !slices.Equal(subs, fetchSubs) {
		t.Errorf("local.sync_subscriptions %v, the fetch functions' push subscriptions %v", subs, fetchSubs)
	}
	dl, _ := str(d.e.locals["dead_letter_subscription"])
	if name, _ := str(mustGet(d.e.resources["google_pubsub_subscription"]["dead_letter_replay"], "name")); name != dl {
		t.Errorf("local.dead_letter_subscription %q, the subscription is %q", dl, name)
	}
	// The events the metrics count are logged by the code (deletions_held comes with the
	// mass-deletion guard's own change to process).
	var code strings.Builder
	_ = filepath.WalkDir(filepath.Join(d.root, "shared"), func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			b, _ := os.ReadFile(p)
			code.Write(b)
		}
		return nil
	})
	for _, ev := range []string{"run_failed", "run_completed"} {
		if !strings.Contains(code.String(), `"event", "`+ev+`"`) {
			t.Errorf("the alerts count event %q, which no code in shared/ logs", ev)
		}
	}
	// A configuration error, as the functions framework prints it, matches the start filter.
	f := logMetricFilter(t, d, "logging.googleapis.com/user/supportsync/function_start_failed")
	for _, s := range []string{`textPayload:"Function error"`, `textPayload:"configuration:"`, `textPayload:"Container called exit"`} {
		if !strings.Contains(f, s) {
			t.Errorf("function_start_failed filter lacks %s", s)
		}
	}
}
