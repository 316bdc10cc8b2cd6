package deploy

// Checks of terraform/ that need no provider: formatting, and what the configuration says once
// its expressions are evaluated (see hcl_test.go) compared with what the code needs.

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"supportsync.dev/shared/config"
)

// The contract between the code and the deployment. Adding a function (publish, widgetapi)
// means adding it here too.
var (
	// wantEnv lists the environment each function reads, from the configuration spec
	// (config.Env); "A|B" means either.
	wantEnv = func() map[string][]string {
		m := map[string][]string{}
		for _, fn := range config.Functions() {
			m[fn] = config.Env(fn)
		}
		return m
	}()
	// topicEnv maps each TOPIC_* variable to the topic name the code uses by default.
	topicEnv = map[string]string{
		"TOPIC_SYNC_TICKETS":   "sync-tickets",
		"TOPIC_SYNC_CHATS":     "sync-chats",
		"TOPIC_RAW_BATCHES":    "raw-batches",
		"TOPIC_RUNS_COMPLETED": "runs-completed",
		"TOPIC_DEAD_LETTER":    "dead-letter",
	}
	// wantPublish lists the topics each function publishes to (and may publish to: nothing else).
	wantPublish = map[string][]string{
		"fetchtickets": {"raw-batches", "sync-tickets"},
		"fetchchats":   {"raw-batches", "sync-chats"},
		"process":      {"runs-completed"},
		"publish":      nil,
		"widgetapi":    nil,
	}
	// wantTrigger is the topic whose push subscription feeds each function.
	wantTrigger = map[string]string{"fetchtickets": "sync-tickets", "fetchchats": "sync-chats", "process": "raw-batches",
		"publish": "runs-completed"}
	// wantDeadLetter is the dead-letter topic of each function whose trigger dead-letters.
	wantDeadLetter = map[string]string{"process": "dead-letter", "publish": "publish-dead-letter"}
	// wantAccessors lists, per secret id, the functions that read it: exactly those may.
	wantAccessors = map[string][]string{
		"hubspot-token":          {"fetchtickets"},
		"livechat-pat":           {"fetchchats"},
		"team-config":            {"fetchchats", "fetchtickets", "process", "publish"},
		"widgetapi-admin-key":    {"widgetapi"},
		"widgetapi-signing-keys": {"widgetapi"},
		"gemini-api-key":         {"widgetapi"}, // only with ask_backend = "gemini_api" (TestTerraformAsk)
	}
	// optionalSecrets exist only with some variables.
	optionalSecrets = []string{"gemini-api-key"}
	// allowedProjectRoles are the only project-level roles granted to anyone.
	// roles/storage.objectViewer is for the build account only (TestTerraformBuildReadsSources).
	allowedProjectRoles = []string{"roles/datastore.user", "roles/datastore.viewer", "roles/aiplatform.user", "roles/logging.logWriter", "roles/artifactregistry.writer", "roles/storage.objectViewer"}
	// allowedIAMRoles are roles/iam.* grants made on one service account, never project-wide:
	// Token Creator for the Pub/Sub agent on the push account (TestTerraformPushTokenCreator).
	allowedIAMRoles = []string{"roles/iam.serviceAccountTokenCreator"}
	// wantProjectRoles are the project roles of each function: Firestore read-write, except
	// widgetapi, which only reads (with ask off, the default; see TestTerraformAsk).
	wantProjectRoles = map[string][]string{"widgetapi": {"roles/datastore.viewer"}}
	// publicFunctions are the functions browsers reach (public ingress, allUsers invoker).
	publicFunctions = []string{"widgetapi"}
	// platformEnv are variables the platform or the local tooling set, never Terraform.
	platformEnv = []string{"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION", "FUNCTION_TARGET",
		"PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "SHEETS_API_ENDPOINT"}
)

// testVars are values for the root variables that have no default.
var testVars = map[string]cty.Value{
	"project_id":             cty.StringVal("supportsync-test"),
	"spreadsheet_id":         cty.StringVal("1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdef"),
	"hubspot_token":          cty.StringVal("pat-test"),
	"livechat_account_id":    cty.StringVal("acc-1"),
	"livechat_pat":           cty.StringVal("lc-test"),
	"widgetapi_admin_key":    cty.StringVal("0123456789abcdef0123456789abcdef-admin"),
	"widgetapi_signing_keys": cty.StringVal("k1:0123456789abcdef0123456789abcdef"),
}

// deployment is the evaluated root module.
type deployment struct {
	root      string // repository root
	m, fnMod  *tfModule
	e         *evaluator
	functions map[string]map[string]cty.Value // module calls of ./modules/function by function name
}

func loadDeployment(t *testing.T, override ...map[string]cty.Value) *deployment {
	t.Helper()
	root := repoRoot(t)
	d := &deployment{root: root, functions: map[string]map[string]cty.Value{}}
	d.m = loadModule(t, filepath.Join(root, "terraform"))
	d.fnMod = loadModule(t, filepath.Join(root, "terraform", "modules", "function"))
	vars := maps.Clone(testVars)
	for _, o := range override {
		maps.Copy(vars, o)
	}
	d.e = newEvaluator(t, d.m, vars)
	for _, b := range d.m.modules {
		args := d.e.module(b)
		if src, _ := str(args["source"]); src != "./modules/function" {
			continue
		}
		name, ok := str(args["name"])
		if !ok {
			t.Fatalf("module %q: name is not a known string", b.Labels[0])
		}
		if name != b.Labels[0] {
			t.Errorf("module %q deploys function %q: name the module block after the function", b.Labels[0], name)
		}
		if _, dup := d.functions[name]; dup {
			t.Errorf("function %q deployed twice", name)
		}
		d.functions[name] = args
	}
	return d
}

// instances returns the evaluated instances of every resource of type typ, keyed by
// "name" or "name[key]".
func (d *deployment) instances(typ string) map[string]cty.Value {
	out := map[string]cty.Value{}
	for name, v := range d.e.resources[typ] {
		isForEach := false
		for _, b := range d.m.resourcesOf(typ) {
			if b.Labels[1] == name {
				_, isForEach = b.Body.Attributes["for_each"]
			}
		}
		if !isForEach {
			out[name] = v
			continue
		}
		for k, inst := range elements(v) {
			out[name+"["+k+"]"] = inst
		}
	}
	return out
}

// topics returns the names of the declared topics.
func (d *deployment) topics() []string {
	var out []string
	for _, v := range d.instances("google_pubsub_topic") {
		if s, ok := str(mustGet(v, "name")); ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func mustGet(v cty.Value, name string) cty.Value { x, _ := get(v, name); return x }

// env returns a function's plain environment and the names of its secret environment.
func env(args map[string]cty.Value) (plain map[string]string, secret []string) {
	plain = map[string]string{}
	for k, v := range elements(args["environment"]) {
		s, ok := str(v)
		if !ok {
			s = "<unknown>"
		}
		plain[k] = s
	}
	return plain, keys(args["secret_environment"])
}

func TestTerraformFmt(t *testing.T) {
	tf := terraformBinary(t)
	cmd := exec.Command(tf, "fmt", "-check", "-recursive", "-diff")
	cmd.Dir = filepath.Join(repoRoot(t), "terraform")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("terraform fmt -check -recursive: %v (run `terraform fmt -recursive terraform/`)\n%s", err, out)
	}
}

// TestTerraformDeploysEveryFunction: every function in functions/ is deployed through the
// module with the entry point its code registers and a runtime its go directive allows, and
// every deployed function exists.
func TestTerraformDeploysEveryFunction(t *testing.T) {
	d := loadDeployment(t)
	fns, err := Functions(d.root)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range fns {
		args, ok := d.functions[fn]
		if !ok {
			t.Errorf("functions/%s is not deployed: add a module %q { source = \"./modules/function\" … } in terraform/functions.tf", fn, fn)
			continue
		}
		names, hasGo := registeredEntryPoints(t, filepath.Join(d.root, "functions", fn))
		entry, _ := str(args["entry_point"])
		switch {
		case !hasGo:
			t.Logf("functions/%s has no Go files yet: entry point %q not checked", fn, entry)
		case len(names) != 1:
			t.Errorf("functions/%s registers %v: want exactly one functions.CloudEvent/HTTP(\"Name\", …) in init()", fn, names)
		case names[0] != entry:
			t.Errorf("function %s: terraform entry_point %q, code registers %q", fn, entry, names[0])
		}
		if src, _ := str(args["source_dir"]); !strings.HasSuffix(src, "/functions/"+fn) {
			t.Errorf("function %s: source_dir %q does not end in /functions/%s (the `supportsync package` output)", fn, src, fn)
		}
		rt, _ := str(args["runtime"])
		if want := runtimeFor(t, filepath.Join(d.root, "functions", fn, "go.mod")); rt != want {
			t.Errorf("function %s: runtime %q, want %q (the go directive of its go.mod)", fn, rt, want)
		}
	}
	for fn := range d.functions {
		if !slices.Contains(fns, fn) {
			t.Errorf("terraform deploys %q but functions/%s/go.mod does not exist", fn, fn)
		}
	}
}

// runtimeFor returns the Cloud Functions runtime id for the go directive of a go.mod.
func runtimeFor(t *testing.T, gomod string) string {
	t.Helper()
	data, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go 1\.(\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s: no go directive", gomod)
	}
	return "go1" + string(m[1])
}

// TestTerraformTopics: the topics the code uses exist, every TOPIC_* variable names one, each
// function publishes to exactly the topics it needs, and the code reads no unknown TOPIC_*.
func TestTerraformTopics(t *testing.T) {
	d := loadDeployment(t)
	topics := d.topics()
	for _, want := range topicEnv {
		if !slices.Contains(topics, want) {
			t.Errorf("topic %q (a TOPIC_* default in the code) is not declared; topics: %v", want, topics)
		}
	}
	for fn, args := range d.functions {
		plain, _ := env(args)
		pub := stringList(args["publish_topics"])
		for k, v := range plain {
			if !strings.HasPrefix(k, "TOPIC_") {
				continue
			}
			if want, ok := topicEnv[k]; !ok {
				t.Errorf("function %s: %s is not a known topic variable", fn, k)
			} else if v != want {
				t.Errorf("function %s: %s = %q, want %q", fn, k, v, want)
			}
			if k != "TOPIC_DEAD_LETTER" && !slices.Contains(pub, v) {
				t.Errorf("function %s: %s = %q but it may not publish there (publish_topics %v)", fn, k, v, pub)
			}
		}
		if want, ok := wantPublish[fn]; ok && !slices.Equal(pub, want) {
			t.Errorf("function %s publishes to %v, want exactly %v", fn, pub, want)
		}
		for _, p := range pub {
			if !slices.Contains(topics, p) {
				t.Errorf("function %s publishes to undeclared topic %q", fn, p)
			}
		}
	}
	// Every TOPIC_* name the code mentions must be part of the contract above.
	re := regexp.MustCompile(`"(TOPIC_[A-Z0-9_]+)"`)
	for _, dir := range []string{"shared", "functions"} {
		_ = filepath.WalkDir(filepath.Join(d.root, dir), func(p string, de os.DirEntry, err error) error {
			if err != nil || de.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.Contains(p, string(filepath.Separator)+"vendor"+string(filepath.Separator)) {
				return nil
			}
			data, _ := os.ReadFile(p)
			for _, m := range re.FindAllSubmatch(data, -1) {
				if _, ok := topicEnv[string(m[1])]; !ok {
					t.Errorf("%s reads %s, which the deployment does not know: add it to topicEnv and terraform/", p, m[1])
				}
			}
			return nil
		})
	}
}

// TestTerraformEnvironment: every variable each function needs is set, secrets only through
// Secret Manager, and the values agree with the rest of the configuration.
func TestTerraformEnvironment(t *testing.T) {
	d := loadDeployment(t)
	for fn, args := range d.functions {
		want, ok := wantEnv[fn]
		if !ok {
			t.Errorf("function %s: no expected environment in wantEnv (terraform_test.go)", fn)
			continue
		}
		plain, secret := env(args)
		isSet := func(k string) bool { _, ok := plain[k]; return ok || slices.Contains(secret, k) }
		for _, alts := range want {
			if !slices.ContainsFunc(strings.Split(alts, "|"), isSet) {
				t.Errorf("function %s: %s is not set", fn, alts)
			}
		}
		// What the function package itself reads with os.Getenv / LookupEnv.
		files, _ := filepath.Glob(filepath.Join(d.root, "functions", fn, "*.go"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			for _, m := range regexp.MustCompile(`(?:Getenv|LookupEnv)\("([A-Z0-9_]+)"\)`).FindAllSubmatch(data, -1) {
				if k := string(m[1]); !isSet(k) && !slices.Contains(platformEnv, k) {
					t.Errorf("function %s: %s reads %s, which terraform does not set", fn, filepath.Base(f), k)
				}
			}
		}
		for k := range plain {
			if regexp.MustCompile(`(TOKEN|PAT|PASSWORD|KEY)$`).MatchString(k) {
				t.Errorf("function %s: %s is a plain environment variable; secrets go in secret_environment", fn, k)
			}
			if slices.Contains(secret, k) {
				t.Errorf("function %s: %s is both plain and secret", fn, k)
			}
		}
		if p := plain["GOOGLE_CLOUD_PROJECT"]; p != "supportsync-test" {
			t.Errorf("function %s: GOOGLE_CLOUD_PROJECT = %q, want var.project_id", fn, p)
		}
		if tc, ok := plain["TEAM_CONFIG"]; ok {
			var paths []string
			for _, f := range elements(args["secret_files"]) {
				s, _ := str(mustGet(f, "path"))
				paths = append(paths, s)
			}
			if !slices.Contains(paths, tc) {
				t.Errorf("function %s: TEAM_CONFIG = %q but no secret file is mounted there (%v)", fn, tc, paths)
			}
		}
		timeout, okT := num(args["timeout_seconds"])
		if b, ok := plain["FETCH_BUDGET_SECONDS"]; ok {
			budget, err := strconv.Atoi(b)
			if err != nil || !okT || budget >= timeout-30 {
				t.Errorf("function %s: FETCH_BUDGET_SECONDS %q must be a number well below timeout_seconds %d", fn, b, timeout)
			}
		}
		for _, k := range []string{"RETENTION_DAYS", "LEASE_MINUTES", "LOOKBACK_MINUTES", "BATCH_RECORDS", "HUBSPOT_RATE_PER_10S", "LIVECHAT_RATE_PER_MINUTE"} {
			if v, ok := plain[k]; ok {
				if _, err := strconv.Atoi(v); err != nil {
					t.Errorf("function %s: %s = %q is not a whole number", fn, k, v)
				}
			}
		}
	}
}

// TestTerraformSecrets: every secret has exactly the accessors that need it, through the
// module (secret-level bindings for what a function mounts), and nowhere else.
func TestTerraformSecrets(t *testing.T) {
	d := loadDeployment(t)
	declared := map[string]bool{}
	for _, s := range d.instances("google_secret_manager_secret") {
		id, ok := str(mustGet(s, "secret_id"))
		if !ok {
			t.Fatal("a secret_id is not a known string")
		}
		declared[id] = true
		if _, ok := wantAccessors[id]; !ok {
			t.Errorf("secret %q: nobody is expected to read it (wantAccessors)", id)
		}
	}
	if n := len(d.instances("google_secret_manager_secret_version")); n != len(declared) {
		t.Errorf("%d secret versions for %d secrets", n, len(declared))
	}
	got := map[string][]string{}
	for fn, args := range d.functions {
		for _, field := range []string{"secret_environment", "secret_files"} {
			for k, v := range elements(args[field]) {
				id, ok := str(mustGet(v, "secret"))
				if !ok {
					t.Errorf("function %s: %s[%s].secret is not a known secret id", fn, field, k)
					continue
				}
				if !declared[id] {
					t.Errorf("function %s reads undeclared secret %q", fn, id)
				}
				if _, v := get(v, "version"); !v {
					t.Errorf("function %s: %s[%s] has no version", fn, field, k)
				}
				if !slices.Contains(got[id], fn) {
					got[id] = append(got[id], fn)
				}
			}
		}
	}
	for id, want := range wantAccessors {
		if !declared[id] && slices.Contains(optionalSecrets, id) {
			continue
		}
		var deployed []string
		for _, fn := range want {
			if _, ok := d.functions[fn]; ok {
				deployed = append(deployed, fn)
			}
		}
		sort.Strings(got[id])
		if !slices.Equal(got[id], deployed) {
			t.Errorf("secret %q is read by %v, want exactly %v", id, got[id], deployed)
		}
	}
	// The root grants no secret access itself; the module grants exactly what a function mounts.
	for _, typ := range []string{"google_secret_manager_secret_iam_member", "google_secret_manager_secret_iam_binding", "google_secret_manager_secret_iam_policy"} {
		if len(d.m.resourcesOf(typ)) > 0 {
			t.Errorf("terraform/ declares %s: grant secret access only through the function module", typ)
		}
	}
	acc := d.fnMod.resourcesOf("google_secret_manager_secret_iam_member")
	if len(acc) != 1 {
		t.Fatalf("modules/function: %d google_secret_manager_secret_iam_member resources, want 1", len(acc))
	}
	if fe := acc[0].Body.Attributes["for_each"]; fe == nil || !slices.Contains(traversalRoots(fe.Expr), "local.secrets") {
		t.Error("modules/function: the accessor binding must iterate local.secrets")
	}
	if l := d.fnMod.locals["secrets"]; l == nil || !slices.Contains(traversalRoots(l.Expr), "var.secret_environment") || !slices.Contains(traversalRoots(l.Expr), "var.secret_files") {
		t.Error("modules/function: local.secrets must be built from var.secret_environment and var.secret_files")
	}
	if role := literalAttr(acc[0].Body, "role"); role != "roles/secretmanager.secretAccessor" {
		t.Errorf("modules/function: accessor role %q", role)
	}
}

// literalAttr returns a literal string attribute of body, or "".
func literalAttr(body *hclsyntax.Body, name string) string {
	a, ok := body.Attributes[name]
	if !ok {
		return ""
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return ""
	}
	s, _ := str(v)
	return s
}

// TestTerraformLeastPrivilege: no basic role anywhere, project-level roles only from a short
// list, publisher only topic-level.
func TestTerraformLeastPrivilege(t *testing.T) {
	d := loadDeployment(t)
	broad := regexp.MustCompile(`^roles/(owner|editor|viewer)$|^roles/[a-z]+\.admin$|^roles/iam\.|^roles/resourcemanager\.`)
	for _, m := range []*tfModule{d.m, d.fnMod} {
		for file, body := range m.bodies {
			stringLiterals(body, func(s string, rng hcl.Range) {
				if broad.MatchString(s) && !slices.Contains(allowedIAMRoles, s) {
					t.Errorf("%s:%d: %q is broader than needed", file, rng.Start.Line, s)
				}
			})
		}
	}
	// Project-level grants in the root, evaluated.
	for key, inst := range d.instances("google_project_iam_member") {
		role, _ := str(mustGet(inst, "role"))
		if !slices.Contains(allowedProjectRoles, role) {
			t.Errorf("google_project_iam_member.%s grants %q project-wide", key, role)
		}
		if member, _ := str(mustGet(inst, "member")); role == "roles/storage.objectViewer" && !strings.HasPrefix(member, "serviceAccount:supportsync-build@") {
			t.Errorf("google_project_iam_member.%s grants %q to %s: only the build account may read objects project-wide", key, role, member)
		}
	}
	for _, typ := range []string{"google_project_iam_binding", "google_project_iam_policy", "google_pubsub_topic_iam_binding", "google_pubsub_topic_iam_policy", "google_service_account_iam_binding", "google_service_account_iam_policy"} {
		if len(d.m.resourcesOf(typ))+len(d.fnMod.resourcesOf(typ)) > 0 {
			t.Errorf("%s is authoritative and can remove others' grants: use *_iam_member", typ)
		}
	}
	for fn, args := range d.functions {
		want, ok := wantProjectRoles[fn]
		if !ok {
			want = []string{"roles/datastore.user"}
		}
		if got := stringList(args["project_roles"]); !slices.Equal(got, want) {
			t.Errorf("function %s: project roles %v, want exactly %v", fn, got, want)
		}
		ingress, _ := str(args["ingress_settings"])
		invokers := stringList(args["invokers"])
		if slices.Contains(publicFunctions, fn) {
			if ingress != "ALLOW_ALL" || !slices.Equal(invokers, []string{"allUsers"}) {
				t.Errorf("function %s: ingress %q, invokers %v; it is the public widget API (ALLOW_ALL, allUsers)", fn, ingress, invokers)
			}
		} else if ingress == "ALLOW_ALL" || len(invokers) > 0 {
			t.Errorf("function %s: ingress %q, invokers %v; only %v are public", fn, ingress, invokers, publicFunctions)
		}
	}
	// The module's project roles come from its variable, its publisher bindings are topic-level.
	for _, r := range d.fnMod.resourcesOf("google_project_iam_member") {
		if fe := r.Body.Attributes["for_each"]; fe == nil || !slices.Contains(traversalRoots(fe.Expr), "var.project_roles") {
			t.Errorf("modules/function: google_project_iam_member.%s must iterate var.project_roles", r.Labels[1])
		}
	}
	if len(d.fnMod.resourcesOf("google_pubsub_topic_iam_member")) != 1 {
		t.Error("modules/function: want one topic-level publisher binding (google_pubsub_topic_iam_member)")
	}
}

// TestTerraformSchedules: an incremental job per source, on the schedule variable and in the
// team time zone, publishing {"mode":"incremental"} to sync-<source>; a full job per source;
// retry settings explicit.
func TestTerraformSchedules(t *testing.T) {
	d := loadDeployment(t)
	jobs := d.instances("google_cloud_scheduler_job")
	type job struct{ topic, mode, schedule, tz string }
	found := map[string]job{}
	for key, inst := range jobs {
		var j job
		j.schedule, _ = str(mustGet(inst, "schedule"))
		j.tz, _ = str(mustGet(inst, "time_zone"))
		if j.schedule == "" || j.tz == "" {
			t.Errorf("scheduler job %s: schedule and time_zone must be set explicitly", key)
		}
		if rc := mustGet(inst, "retry_config"); !rc.IsKnown() || rc.LengthInt() != 1 {
			t.Errorf("scheduler job %s: no retry_config", key)
		}
		targets := mustGet(inst, "pubsub_target")
		if !targets.IsKnown() || targets.LengthInt() != 1 {
			t.Errorf("scheduler job %s: want one pubsub_target", key)
			continue
		}
		target := targets.Index(cty.NumberIntVal(0))
		topic, _ := str(mustGet(target, "topic_name"))
		j.topic = topic[strings.LastIndex(topic, "/")+1:]
		data, _ := str(mustGet(target, "data"))
		raw, err := base64.StdEncoding.DecodeString(data)
		var req struct{ Mode string }
		if err != nil || json.Unmarshal(raw, &req) != nil {
			t.Errorf("scheduler job %s: data %q is not base64 JSON", key, data)
		}
		j.mode = req.Mode
		found[j.topic+"/"+j.mode] = j
	}
	schedule, _ := str(d.e.vars["schedule"])
	full, _ := str(d.e.vars["full_sync_schedule"])
	tz, _ := str(d.e.vars["time_zone"])
	if schedule != "0 */4 * * *" || tz != "America/Halifax" {
		t.Errorf("defaults: schedule %q time_zone %q, want every 4 hours in America/Halifax", schedule, tz)
	}
	for _, source := range []string{"tickets", "chats"} {
		topic := "sync-" + source
		if j, ok := found[topic+"/incremental"]; !ok {
			t.Errorf("no incremental scheduler job for %s", topic)
		} else if j.schedule != schedule || j.tz != tz {
			t.Errorf("incremental job for %s: %q in %q, want var.schedule in var.time_zone", topic, j.schedule, j.tz)
		}
		if j, ok := found[topic+"/full"]; !ok {
			t.Errorf("no full-sync scheduler job for %s", topic)
		} else if j.schedule != full || j.tz != tz {
			t.Errorf("full job for %s: %q in %q, want var.full_sync_schedule in var.time_zone", topic, j.schedule, j.tz)
		}
	}
}

// TestTerraformSubscriptions: each function is fed by its own push subscription with explicit
// ack deadline, retry backoff and retention; process dead-letters to dead-letter, which has a
// pull subscription for `supportsync replay` and the Pub/Sub agent's publisher grant; the
// module wires OIDC and never uses an Eventarc trigger.
func TestTerraformSubscriptions(t *testing.T) {
	d := loadDeployment(t)
	for fn, args := range d.functions {
		sub := args["push_subscription"]
		want, expected := wantTrigger[fn]
		if sub.IsNull() || !sub.IsKnown() {
			if expected {
				t.Errorf("function %s: no push_subscription (want one on %s)", fn, want)
			}
			continue
		}
		topic, _ := str(mustGet(sub, "topic"))
		if topic != want {
			t.Errorf("function %s: push subscription on %q, want %q", fn, topic, want)
		}
		ack, okA := num(mustGet(sub, "ack_deadline_seconds"))
		timeout, okT := num(args["timeout_seconds"])
		if !okA || !okT || ack < timeout || ack > 600 {
			t.Errorf("function %s: ack_deadline_seconds %d must cover timeout_seconds %d (and be <= 600)", fn, ack, timeout)
		}
		for _, k := range []string{"minimum_backoff", "maximum_backoff", "message_retention_duration", "name"} {
			if s, ok := str(mustGet(sub, k)); !ok || s == "" {
				t.Errorf("function %s: push_subscription.%s not set", fn, k)
			}
		}
		if _, ok := get(sub, "push_service_account"); !ok {
			t.Errorf("function %s: push_subscription.push_service_account not set", fn)
		}
	}
	for fn, want := range wantDeadLetter {
		p, ok := d.functions[fn]
		if !ok {
			continue
		}
		sub := p["push_subscription"]
		dlt, _ := str(mustGet(sub, "dead_letter_topic"))
		if dlt != want {
			t.Errorf("%s: dead_letter_topic %q, want %s", fn, dlt, want)
		}
		if n, ok := num(mustGet(sub, "max_delivery_attempts")); !ok || n < 5 || n > 100 {
			t.Errorf("%s: max_delivery_attempts %d must be set, 5-100", fn, n)
		}
		if agent := mustGet(sub, "pubsub_service_agent"); agent.IsNull() {
			t.Errorf("%s: pubsub_service_agent must be set for dead-lettering", fn)
		}
		var grant bool
		for _, b := range d.instances("google_pubsub_topic_iam_member") {
			topic, _ := str(mustGet(b, "topic"))
			role, _ := str(mustGet(b, "role"))
			grant = grant || (topic == want && role == "roles/pubsub.publisher")
		}
		if !grant {
			t.Errorf("%s: the Pub/Sub service agent has no publisher binding on %s", fn, want)
		}
	}
	if p, ok := d.functions["publish"]; ok {
		if n, _ := num(p["max_instance_count"]); n != 1 {
			t.Errorf("publish: max_instance_count %d, want 1 (one publish at a time)", n)
		}
	}
	if p, ok := d.functions["process"]; ok {
		if n, _ := num(p["max_instance_count"]); n != 1 {
			t.Errorf("process: max_instance_count %d, want 1 (Sheets writes are serialized)", n)
		}
		// Concurrent deliveries wait their turn inside the one instance (process.Service
		// serializes batches with a mutex) instead of being refused with 429 and counted as
		// failed delivery attempts; concurrency above 1 needs a whole vCPU.
		if n, _ := num(p["concurrency"]); n < 2 || n > 16 {
			t.Errorf("process: concurrency %d, want 2..16 (queued in-process, serialized by the service)", n)
		}
		if cpu, _ := str(p["cpu"]); cpu != "1" {
			t.Errorf("process: cpu must be \"1\" for concurrency above 1")
		}
	}
	// The dead-letter topic: a pull subscription and the agent's publisher binding.
	var pull, grant bool
	for _, s := range d.instances("google_pubsub_subscription") {
		topic, _ := str(mustGet(s, "topic"))
		if strings.HasSuffix(topic, "/dead-letter") || topic == "dead-letter" {
			_, push := get(s, "push_config")
			pull = pull || !push
			for _, k := range []string{"retry_policy", "expiration_policy"} {
				if _, ok := get(s, k); !ok {
					t.Errorf("dead-letter subscription: %s not set", k)
				}
			}
		}
	}
	for _, b := range d.instances("google_pubsub_topic_iam_member") {
		topic, _ := str(mustGet(b, "topic"))
		role, _ := str(mustGet(b, "role"))
		member := mustGet(b, "member")
		if topic == "dead-letter" && role == "roles/pubsub.publisher" && !member.IsNull() {
			grant = true
		}
	}
	if !pull {
		t.Error("no pull subscription on dead-letter (needed by `supportsync replay`)")
	}
	if !grant {
		t.Error("the Pub/Sub service agent has no publisher binding on dead-letter")
	}

	// The module: no Eventarc trigger, push with OIDC, explicit policies.
	fns := d.fnMod.resourcesOf("google_cloudfunctions2_function")
	if len(fns) != 1 {
		t.Fatalf("modules/function: %d functions, want 1", len(fns))
	}
	for _, b := range fns[0].Body.Blocks {
		if b.Type == "event_trigger" {
			t.Error("modules/function: event_trigger is set; functions are fed by our own push subscriptions")
		}
		if b.Type == "service_config" {
			for _, k := range []string{"min_instance_count", "max_instance_count", "max_instance_request_concurrency", "timeout_seconds", "available_memory", "service_account_email", "environment_variables"} {
				if _, ok := b.Body.Attributes[k]; !ok {
					t.Errorf("modules/function: service_config.%s not set", k)
				}
			}
		}
	}
	subs := d.fnMod.resourcesOf("google_pubsub_subscription")
	if len(subs) != 1 {
		t.Fatalf("modules/function: %d subscriptions, want 1", len(subs))
	}
	blocks := map[string]*hclsyntax.Block{}
	for _, b := range subs[0].Body.Blocks {
		key := b.Type
		if b.Type == "dynamic" {
			key = "dynamic " + b.Labels[0]
		}
		blocks[key] = b
	}
	for _, k := range []string{"retry_policy", "expiration_policy", "push_config", "dynamic dead_letter_policy"} {
		if blocks[k] == nil {
			t.Errorf("modules/function: subscription has no %s", k)
		}
	}
	if pc := blocks["push_config"]; pc != nil {
		oidc := false
		for _, b := range pc.Body.Blocks {
			oidc = oidc || b.Type == "oidc_token"
		}
		if !oidc {
			t.Error("modules/function: push_config has no oidc_token")
		}
		if _, ok := pc.Body.Attributes["no_wrapper"]; ok {
			t.Error("modules/function: no_wrapper push is not converted to a CloudEvent by the functions framework")
		}
	}
	if _, ok := subs[0].Body.Attributes["ack_deadline_seconds"]; !ok {
		t.Error("modules/function: subscription ack_deadline_seconds not set")
	}
	if len(d.fnMod.resourcesOf("google_cloud_run_v2_service_iam_member"))+len(d.fnMod.resourcesOf("google_cloud_run_service_iam_member")) == 0 {
		t.Error("modules/function: the push identity needs roles/run.invoker on the function's service")
	}
	obj := d.fnMod.resourcesOf("google_storage_bucket_object")
	if len(obj) != 1 || !slices.Contains(traversalRoots(obj[0].Body.Attributes["name"].Expr), "local.source_hash") {
		t.Error("modules/function: the source object must be named by local.source_hash")
	}
}

// TestTerraformModuleInstances evaluates modules/function with each call's arguments and
// checks what it would create: accessor bindings on exactly the function's secrets, publisher
// bindings on exactly its topics, the push endpoint and OIDC audience, the invoker binding.
func TestTerraformModuleInstances(t *testing.T) {
	d := loadDeployment(t)
	for fn, args := range d.functions {
		t.Run(fn, func(t *testing.T) {
			given := map[string]cty.Value{}
			for k, v := range args {
				if _, ok := d.fnMod.variables[k]; ok {
					given[k] = v
				} else if k != "source" {
					t.Errorf("module %s: argument %q is not a module variable", fn, k)
				}
			}
			e := newEvaluator(t, d.fnMod, given)
			keysOf := func(typ, name string) []string { return keys(e.resources[typ][name]) }

			var wantSecrets []string
			for id, readers := range wantAccessors {
				if slices.Contains(readers, fn) && !slices.Contains(optionalSecrets, id) {
					wantSecrets = append(wantSecrets, id)
				}
			}
			sort.Strings(wantSecrets)
			if got := keysOf("google_secret_manager_secret_iam_member", "accessor"); !slices.Equal(got, wantSecrets) {
				t.Errorf("secretAccessor on %v, want %v", got, wantSecrets)
			}
			if got := keysOf("google_pubsub_topic_iam_member", "publisher"); !slices.Equal(got, wantPublish[fn]) {
				t.Errorf("publisher on %v, want %v", got, wantPublish[fn])
			}
			f := e.resources["google_cloudfunctions2_function"]["this"]
			sc := mustGet(f, "service_config").Index(cty.NumberIntVal(0))
			bc := mustGet(f, "build_config").Index(cty.NumberIntVal(0))
			if ep, _ := str(mustGet(bc, "entry_point")); ep != mustStr(args["entry_point"]) {
				t.Errorf("build_config.entry_point %q", ep)
			}
			for _, k := range []string{"max_instance_count", "min_instance_count", "max_instance_request_concurrency", "timeout_seconds"} {
				if _, ok := num(mustGet(sc, k)); !ok {
					t.Errorf("service_config.%s is not a known number", k)
				}
			}
			if n, _ := num(mustGet(sc, "min_instance_count")); n != 0 {
				t.Errorf("min_instance_count %d, want 0 (no idle billing)", n)
			}
			_, wantsPush := wantTrigger[fn]
			subs := e.resources["google_pubsub_subscription"]["push"]
			if got := keys(subs); wantsPush != slices.Equal(got, []string{"this"}) {
				t.Fatalf("push subscriptions %v, want one: %v", got, wantsPush)
			}
			if !wantsPush {
				return
			}
			sub := mustGet(subs, "this")
			pc := mustGet(sub, "push_config").Index(cty.NumberIntVal(0))
			// The URI is computed; the endpoint must end in the topic path the framework reads.
			endpoint := mustGet(pc, "push_endpoint")
			if s, ok := str(endpoint); ok && !strings.HasSuffix(s, "/projects/supportsync-test/topics/"+wantTrigger[fn]) {
				t.Errorf("push_endpoint %q", s)
			}
			if src := subscriptionEndpointSource(t, d.fnMod); !strings.Contains(src, `/projects/${var.project_id}/topics/${each.value.topic}`) {
				t.Errorf("push_endpoint expression %s must be <uri>/projects/<project>/topics/<topic>", src)
			}
			if keys(e.resources["google_cloud_run_v2_service_iam_member"]["push"]) == nil {
				t.Error("no run.invoker binding for the push identity")
			}
		})
	}
}

func mustStr(v cty.Value) string { s, _ := str(v); return s }

// subscriptionEndpointSource returns the source text of the module's push_endpoint expression.
func subscriptionEndpointSource(t *testing.T, m *tfModule) string {
	t.Helper()
	for _, r := range m.resourcesOf("google_pubsub_subscription") {
		for _, b := range r.Body.Blocks {
			if b.Type != "push_config" {
				continue
			}
			if a, ok := b.Body.Attributes["push_endpoint"]; ok {
				data, err := os.ReadFile(a.SrcRange.Filename)
				if err != nil {
					t.Fatal(err)
				}
				return string(a.Expr.Range().SliceBytes(data))
			}
		}
	}
	return ""
}

// TestTerraformVariables: every variable of the root and the module is typed and described,
// and the root's validations accept the defaults (and the test values).
func TestTerraformVariables(t *testing.T) {
	d := loadDeployment(t)
	for _, m := range []*tfModule{d.m, d.fnMod} {
		for name, b := range m.variables {
			for _, k := range []string{"type", "description"} {
				if _, ok := b.Body.Attributes[k]; !ok {
					t.Errorf("%s: variable %q has no %s", m.dir, name, k)
				}
			}
		}
	}
	ctx := d.e.ctx()
	for name, b := range d.m.variables {
		for _, v := range b.Body.Blocks {
			if v.Type != "validation" {
				continue
			}
			ok, diags := v.Body.Attributes["condition"].Expr.Value(ctx)
			if diags.HasErrors() {
				t.Errorf("variable %q: validation does not evaluate: %s", name, diags.Error())
				continue
			}
			if ok.IsKnown() && !ok.IsNull() && ok.False() {
				t.Errorf("variable %q: its validation rejects the default / test value %#v", name, d.e.vars[name])
			}
		}
	}
}

// TestTerraformAlertsOnHeldDeletions: the event process logs when the mass-deletion guard holds
// a full run's deletions is counted by a log-based metric, and an alert policy fires on it.
func TestTerraformAlertsOnHeldDeletions(t *testing.T) {
	const event = "deletions_held"
	// The code logs that event (a renamed event would silence the alert).
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "shared", "process", "process.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `"event", "`+event+`"`) {
		t.Fatalf("shared/process/process.go does not log event %q", event)
	}
	d := loadDeployment(t)
	var metric string
	for name, m := range d.instances("google_logging_metric") {
		filter, _ := str(mustGet(m, "filter"))
		if strings.Contains(filter, `jsonPayload.event="`+event+`"`) {
			if strings.Contains(filter, "severity>=ERROR") || strings.Contains(filter, "severity=ERROR") {
				t.Errorf("metric %s: filter %q must keep WARNING entries (the event is logged at WARNING)", name, filter)
			}
			metric, _ = str(mustGet(m, "name"))
		}
	}
	if metric == "" {
		t.Fatalf("no google_logging_metric counts jsonPayload.event=%q", event)
	}
	found := false
	for name, p := range d.instances("google_monitoring_alert_policy") {
		for _, c := range nestedValues(mustGet(p, "conditions")) {
			for _, th := range nestedValues(mustGet(c, "condition_threshold")) {
				filter, _ := str(mustGet(th, "filter"))
				if !strings.Contains(filter, `metric.type="logging.googleapis.com/user/`+metric+`"`) {
					continue
				}
				found = true
				if cmp, _ := str(mustGet(th, "comparison")); cmp != "COMPARISON_GT" {
					t.Errorf("alert %s: comparison %q, want COMPARISON_GT", name, cmp)
				}
				if v, ok := num(mustGet(th, "threshold_value")); !ok || v != 0 {
					t.Errorf("alert %s: threshold %v, want 0 (any held run alerts)", name, v)
				}
			}
		}
	}
	if !found {
		t.Errorf("no google_monitoring_alert_policy fires on metric %q", metric)
	}
}

// nestedValues returns the blocks of a nested block type (a tuple of objects), in order.
func nestedValues(v cty.Value) []cty.Value {
	var out []cty.Value
	if v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return out
	}
	for it := v.ElementIterator(); it.Next(); {
		_, val := it.Element()
		out = append(out, val)
	}
	return out
}
