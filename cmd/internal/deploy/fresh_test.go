package deploy

// Checks of terraform/ for what makes a first apply on a fresh project fail or drift (issue 11):
// build grants, IAM and metric propagation, the Pub/Sub service agent, the source archives,
// tokens kept out of the state, schedules that wait for `check`, pinned providers.

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// block returns the resource (or, with typ "module", the module call) of m named name.
func (m *tfModule) block(typ, name string) *hclsyntax.Block {
	list := m.resources
	if typ == "module" {
		list = m.modules
	}
	for _, b := range list {
		if typ == "module" && b.Labels[0] == name || typ != "module" && b.Labels[0] == typ && b.Labels[1] == name {
			return b
		}
	}
	return nil
}

// dependsOn returns the addresses listed in a block's depends_on ("time_sleep.x", "module.y").
func dependsOn(b *hclsyntax.Block) []string {
	if b == nil {
		return nil
	}
	a, ok := b.Body.Attributes["depends_on"]
	if !ok {
		return nil
	}
	return traversalRoots(a.Expr)
}

// nested returns the nested blocks of type typ in b.
func nested(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, n := range b.Body.Blocks {
		if n.Type == typ {
			out = append(out, n)
		}
	}
	return out
}

// seconds parses a Terraform duration such as "60s".
func seconds(t *testing.T, v cty.Value) time.Duration {
	t.Helper()
	s, ok := str(v)
	if !ok {
		t.Fatalf("duration %#v is not a known string", v)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return d
}

// TestTerraformBuildReadsSources: Cloud Build fetches the upload from Google's
// gcf-v2-sources-<number>-<region> bucket, not ours, so the build account needs object viewer
// project-wide (provider issue #20571), besides log writer and Artifact Registry writer, and
// every function builds as that account.
func TestTerraformBuildReadsSources(t *testing.T) {
	d := loadDeployment(t)
	var roles []string
	for _, inst := range d.instances("google_project_iam_member") {
		if member, _ := str(mustGet(inst, "member")); member == "serviceAccount:supportsync-build@supportsync-test.iam.gserviceaccount.com" {
			role, _ := str(mustGet(inst, "role"))
			roles = append(roles, role)
		}
	}
	slices.Sort(roles)
	if want := []string{"roles/artifactregistry.writer", "roles/logging.logWriter", "roles/storage.objectViewer"}; !slices.Equal(roles, want) {
		t.Errorf("build account's project roles %v, want %v", roles, want)
	}
	if n := len(d.m.resourcesOf("google_storage_bucket_iam_member")); n > 0 {
		t.Errorf("%d bucket-level grants: a grant on our bucket alone does not let the build read gcf-v2-sources-*", n)
	}
	for fn, args := range d.functions {
		if sa, _ := str(args["build_service_account"]); !strings.Contains(sa, "/serviceAccounts/supportsync-build@") {
			t.Errorf("function %s builds as %q, want the supportsync-build account", fn, sa)
		}
	}
}

// TestTerraformFunctionsWaitForGrants: the functions wait for the build and push grants and
// for their own runtime grants to propagate (time_sleep, as the provider's builder example).
func TestTerraformFunctionsWaitForGrants(t *testing.T) {
	d := loadDeployment(t)
	sleep := d.m.block("time_sleep", "iam_propagation")
	if sleep == nil {
		t.Fatal("no time_sleep.iam_propagation in terraform/")
	}
	deps := dependsOn(sleep)
	for _, want := range []string{"google_project_iam_member.build", "google_service_account_iam_member.push_token_creator", "google_pubsub_topic_iam_member.dead_letter_publisher"} {
		if !slices.Contains(deps, want) {
			t.Errorf("time_sleep.iam_propagation does not wait for %s (depends_on %v)", want, deps)
		}
	}
	if wait := seconds(t, d.e.resources["time_sleep"]["iam_propagation"].GetAttr("create_duration")); wait < 30*time.Second {
		t.Errorf("time_sleep.iam_propagation waits %v; IAM propagation needs at least 30s", wait)
	}
	for fn := range d.functions {
		if deps := dependsOn(d.m.block("module", fn)); !slices.Contains(deps, "time_sleep.iam_propagation") {
			t.Errorf("module %s does not depend on time_sleep.iam_propagation (depends_on %v): its build may start before the build grants work", fn, deps)
		}
	}
	// Inside the module: the function waits for its own grants through time_sleep.grants.
	f := d.fnMod.block("google_cloudfunctions2_function", "this")
	if deps := dependsOn(f); !slices.Equal(deps, []string{"time_sleep.grants"}) {
		t.Errorf("modules/function: the function depends on %v, want [time_sleep.grants]", deps)
	}
	g := d.fnMod.block("time_sleep", "grants")
	if g == nil {
		t.Fatal("modules/function: no time_sleep.grants")
	}
	for _, want := range []string{"google_secret_manager_secret_iam_member.accessor", "google_project_iam_member.fn", "google_pubsub_topic_iam_member.publisher"} {
		if !slices.Contains(dependsOn(g), want) {
			t.Errorf("modules/function: time_sleep.grants does not wait for %s", want)
		}
	}
}

// TestTerraformPubSubServiceAgent: the agent is created by google_project_service_identity
// (it may not exist yet in a fresh project), every grant to it goes through that resource,
// and it holds Token Creator on the push account (authenticated push in projects created
// before April 2021), on that account only.
func TestTerraformPubSubServiceAgent(t *testing.T) {
	d := loadDeployment(t)
	id := d.m.block("google_project_service_identity", "pubsub")
	if id == nil {
		t.Fatal("no google_project_service_identity.pubsub")
	}
	if svc := literalAttr(id.Body, "service"); svc != "pubsub.googleapis.com" {
		t.Errorf("service identity for %q", svc)
	}
	if p, ok := id.Body.Attributes["provider"]; !ok || !slices.Contains(traversalRoots(p.Expr), "google-beta") {
		t.Error("google_project_service_identity is beta-only: set provider = google-beta")
	}
	if l := d.m.locals["pubsub_service_agent"]; l == nil || !slices.Contains(traversalRoots(l.Expr), "google_project_service_identity.pubsub") {
		t.Error("local.pubsub_service_agent must come from google_project_service_identity.pubsub")
	}
	for file, body := range d.m.bodies {
		stringLiterals(body, func(s string, rng hcl.Range) {
			if strings.Contains(s, "gcp-sa-pubsub") {
				t.Errorf("%s:%d: the Pub/Sub agent's e-mail is spelled by hand; use local.pubsub_service_agent", file, rng.Start.Line)
			}
		})
	}
	tc := d.m.block("google_service_account_iam_member", "push_token_creator")
	if tc == nil {
		t.Fatal("no google_service_account_iam_member.push_token_creator")
	}
	if role := literalAttr(tc.Body, "role"); role != "roles/iam.serviceAccountTokenCreator" {
		t.Errorf("push_token_creator role %q", role)
	}
	if roots := traversalRoots(tc.Body.Attributes["service_account_id"].Expr); !slices.Contains(roots, "google_service_account.push") {
		t.Errorf("Token Creator is granted on %v, want the push account", roots)
	}
	if roots := traversalRoots(tc.Body.Attributes["member"].Expr); !slices.Contains(roots, "local.pubsub_service_agent") {
		t.Errorf("Token Creator is granted to %v, want the Pub/Sub service agent", roots)
	}
	for _, b := range d.m.resourcesOf("google_service_account_iam_member") {
		if name := b.Labels[1]; name != "push_token_creator" && name != "operator_impersonates_process" {
			t.Errorf("google_service_account_iam_member.%s: only the push Token Creator and the operators' grant are expected", name)
		}
	}
}

// TestTerraformOperatorsImpersonateProcess: operators may mint tokens for the process account
// only (so `supportsync check` reads the sheet as it), nobody by default.
func TestTerraformOperatorsImpersonateProcess(t *testing.T) {
	d := loadDeployment(t)
	b := d.m.block("google_service_account_iam_member", "operator_impersonates_process")
	if b == nil {
		t.Fatal("no google_service_account_iam_member.operator_impersonates_process")
	}
	if fe := b.Body.Attributes["for_each"]; fe == nil || !slices.Contains(traversalRoots(fe.Expr), "var.operators") {
		t.Error("the operators' grant must iterate var.operators")
	}
	if role := literalAttr(b.Body, "role"); role != "roles/iam.serviceAccountTokenCreator" {
		t.Errorf("operators get %q", role)
	}
	if roots := traversalRoots(b.Body.Attributes["service_account_id"].Expr); !slices.Contains(roots, "module.process") {
		t.Errorf("operators' grant is on %v, want the process account", roots)
	}
	if ops := d.e.vars["operators"]; ops.LengthInt() != 0 {
		t.Errorf("operators default %#v, want none", ops)
	}
}

// TestTerraformSourceArchivesKept: the live source archive is never deleted by a lifecycle
// rule (else every later plan uploads it again); replaced archives are kept as noncurrent
// versions for a while, so a previous build can be restored.
func TestTerraformSourceArchivesKept(t *testing.T) {
	d := loadDeployment(t)
	bucket := d.e.resources["google_storage_bucket"]["source"]
	if v := mustGet(bucket, "versioning"); !v.IsKnown() || v.LengthInt() != 1 || mustGet(v.Index(cty.NumberIntVal(0)), "enabled").False() {
		t.Error("source bucket: versioning must be enabled so a replaced archive is kept (noncurrent)")
	}
	rules := mustGet(bucket, "lifecycle_rule")
	if !rules.IsKnown() {
		t.Fatal("source bucket: lifecycle_rule is not known")
	}
	for it := rules.ElementIterator(); it.Next(); {
		_, r := it.Element()
		cond := mustGet(r, "condition").Index(cty.NumberIntVal(0))
		state, _ := str(mustGet(cond, "with_state"))
		_, noncurrent := get(cond, "days_since_noncurrent_time")
		_, newer := get(cond, "num_newer_versions")
		if _, age := get(cond, "age"); age || state != "ARCHIVED" || !(noncurrent || newer) {
			t.Errorf("source bucket: lifecycle rule %#v may delete a live archive; only noncurrent (ARCHIVED) versions may expire", cond)
		}
	}
	if days, _ := num(d.e.vars["source_archive_retention_days"]); days < 30 {
		t.Errorf("replaced archives are kept %d days; keep at least a month for a roll back", days)
	}
}

// TestTerraformReplayAfterPeek: a message someone peeked at (pulled without an ack) is back
// before `supportsync replay` gives up waiting, so the README's peek-then-replay works.
func TestTerraformReplayAfterPeek(t *testing.T) {
	d := loadDeployment(t)
	sub := d.e.resources["google_pubsub_subscription"]["dead_letter_replay"]
	ack, ok := num(mustGet(sub, "ack_deadline_seconds"))
	if !ok {
		t.Fatal("dead-letter-replay: ack_deadline_seconds not set")
	}
	if time.Duration(ack)*time.Second*2 > ReplayIdle {
		t.Errorf("dead-letter-replay ack deadline %ds: a peeked message comes back after it, but replay stops after %v idle (want ack deadline <= half of it)", ack, ReplayIdle)
	}
	if name, _ := str(mustGet(sub, "name")); name != "dead-letter-replay" {
		t.Errorf("dead-letter subscription %q, want dead-letter-replay (replay's default, <TOPIC_DEAD_LETTER>-replay)", name)
	}
}

// TestTerraformTokensWriteOnly: the tokens reach Secret Manager through write-only arguments
// from ephemeral variables, so neither the plan nor the state holds them.
func TestTerraformTokensWriteOnly(t *testing.T) {
	d := loadDeployment(t)
	for _, v := range []string{"hubspot_token", "livechat_pat", "gemini_api_key"} {
		b := d.m.variables[v]
		for _, attr := range []string{"ephemeral", "sensitive"} {
			if val, ok := b.Body.Attributes[attr]; !ok || value(val.Expr, nil) != cty.True {
				t.Errorf("variable %s: %s = true is required", v, attr)
			}
		}
		if _, ok := d.m.variables[v+"_version"]; !ok {
			t.Errorf("variable %s_version missing: a write-only value needs a version to roll out a new one", v)
		}
	}
	// No resource argument other than secret_data_wo reads a token.
	for _, r := range d.m.resources {
		_ = hclsyntax.VisitAll(r.Body, func(n hclsyntax.Node) hcl.Diagnostics {
			a, ok := n.(*hclsyntax.Attribute)
			if !ok {
				return nil
			}
			for _, root := range traversalRoots(a.Expr) {
				if (root == "local.token_values" || root == "var.hubspot_token" || root == "var.livechat_pat" ||
					root == "var.widgetapi_admin_key" || root == "var.widgetapi_signing_keys" || root == "var.gemini_api_key") && a.Name != "secret_data_wo" {
					t.Errorf("%s.%s: %s reads %s; only secret_data_wo may (write-only)", r.Labels[0], r.Labels[1], a.Name, root)
				}
			}
			return nil
		})
	}
	tokens := d.m.block("google_secret_manager_secret_version", "token")
	if tokens == nil {
		t.Fatal("no google_secret_manager_secret_version.token")
	}
	for _, k := range []string{"secret_data_wo", "secret_data_wo_version"} {
		if _, ok := tokens.Body.Attributes[k]; !ok {
			t.Errorf("google_secret_manager_secret_version.token: %s not set", k)
		}
	}
	if _, ok := tokens.Body.Attributes["secret_data"]; ok {
		t.Error("google_secret_manager_secret_version.token: secret_data is stored in the state; use secret_data_wo")
	}
	if got := keys(d.e.resources["google_secret_manager_secret_version"]["token"]); !slices.Equal(got, []string{"hubspot_token", "livechat_pat", "widgetapi_admin_key", "widgetapi_signing_keys"}) {
		t.Errorf("write-only token versions for %v", got)
	}
	if rv := requiredVersion(t, d.m); rv != ">= 1.11" {
		t.Errorf("required_version %q: write-only arguments and ephemeral variables need >= 1.11", rv)
	}
}

// requiredVersion returns the terraform block's required_version of m.
func requiredVersion(t *testing.T, m *tfModule) string {
	t.Helper()
	for _, b := range m.others {
		if b.Type == "terraform" {
			return literalAttr(b.Body, "required_version")
		}
	}
	t.Fatalf("%s: no terraform block", m.dir)
	return ""
}

// TestTerraformSchedulesStartPaused: the jobs are created paused unless told otherwise, and
// Terraform leaves their paused state to the operators afterwards.
func TestTerraformSchedulesStartPaused(t *testing.T) {
	d := loadDeployment(t)
	if v := d.e.vars["schedules_paused"]; v != cty.True {
		t.Errorf("schedules_paused defaults to %#v, want true", v)
	}
	jobs := d.instances("google_cloud_scheduler_job")
	if len(jobs) == 0 {
		t.Fatal("no scheduler jobs")
	}
	for key, inst := range jobs {
		if p := mustGet(inst, "paused"); p != cty.True {
			t.Errorf("scheduler job %s: paused = %#v with the defaults, want true", key, p)
		}
	}
	b := d.m.block("google_cloud_scheduler_job", "sync")
	ignored := false
	for _, lc := range nested(b, "lifecycle") {
		if a, ok := lc.Body.Attributes["ignore_changes"]; ok {
			ignored = slices.Contains(traversalRoots(a.Expr), "paused")
		}
	}
	if !ignored {
		t.Error("scheduler jobs: lifecycle { ignore_changes = [paused] } is needed, or an apply re-pauses (or resumes) what an operator set")
	}
	// With schedules_paused = false they are created running.
	given := map[string]cty.Value{"schedules_paused": cty.False}
	for k, v := range testVars {
		given[k] = v
	}
	e := newEvaluator(t, d.m, given)
	for key, inst := range elements(e.resources["google_cloud_scheduler_job"]["sync"]) {
		if p := mustGet(inst, "paused"); p != cty.False {
			t.Errorf("scheduler job %s: paused = %#v with schedules_paused = false", key, p)
		}
	}
}

// TestTerraformProvidersPinned: every provider is pinned to one major version, the same in the
// root and the module, and the README says how to make the lock file.
func TestTerraformProvidersPinned(t *testing.T) {
	d := loadDeployment(t)
	pins := func(m *tfModule) map[string]string {
		out := map[string]string{}
		for _, b := range m.others {
			if b.Type != "terraform" {
				continue
			}
			for _, rp := range nested(b, "required_providers") {
				for name, a := range rp.Body.Attributes {
					v := value(a.Expr, nil)
					out[name], _ = str(mustGet(v, "version"))
				}
			}
		}
		return out
	}
	root, mod := pins(d.m), pins(d.fnMod)
	pinned := regexp.MustCompile(`^~> \d+\.\d+$`)
	for name, v := range root {
		if !pinned.MatchString(v) {
			t.Errorf("provider %s: version %q is not pinned to a major version (~> N.M)", name, v)
		}
		if mv, ok := mod[name]; ok && mv != v {
			t.Errorf("provider %s: root pins %q, modules/function %q", name, v, mv)
		}
	}
	if root["google"] != "~> 7.0" || root["google-beta"] != "~> 7.0" {
		t.Errorf("google providers pinned to %q / %q, want the current major ~> 7.0", root["google"], root["google-beta"])
	}
	if requiredVersion(t, d.fnMod) != requiredVersion(t, d.m) {
		t.Error("modules/function and the root require different Terraform versions")
	}
	readme, err := os.ReadFile(filepath.Join(d.root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"terraform -chdir=terraform init", "providers lock"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md does not document %q (no lock file is committed)", want)
		}
	}
}
