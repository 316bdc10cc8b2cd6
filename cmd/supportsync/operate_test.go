package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"supportsync.dev/cmd/internal/sandboxdata"
	"supportsync.dev/cmd/internal/schedules/schedulerfake"
	"supportsync.dev/shared/bus"
	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/livechat/livechatfake"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/state"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

// cli runs one command with env and returns its exit code and output.
func cli(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String() + errOut.String()
}

// mustRun fails the test unless the command exits with want and its output has every string.
func mustRun(t *testing.T, env map[string]string, want int, contains []string, args ...string) string {
	t.Helper()
	code, out := cli(t, env, args...)
	if code != want {
		t.Fatalf("supportsync %s: exit %d, want %d; output:\n%s", strings.Join(args, " "), code, want, out)
	}
	for _, s := range contains {
		if !strings.Contains(out, s) {
			t.Errorf("supportsync %s: output lacks %q:\n%s", strings.Join(args, " "), s, out)
		}
	}
	return out
}

// TestLeaseReleaseAndCursorReset drives the commands against the Firestore emulator the way
// an operator would: status shows the held lease; a cursor reset is refused while a run holds
// it; releasing another run's lease is refused; releasing the right one fails that run and
// frees the source; the reset then removes the mark and status says so.
func TestLeaseReleaseAndCursorReset(t *testing.T) {
	emulatortest.Firestore(t)
	project := emulatortest.ProjectID(t)
	env := map[string]string{"GOOGLE_CLOUD_PROJECT": project}
	ctx := context.Background()
	fsc := emulatortest.FirestoreClient(t)
	_ = fsc
	store, done, err := openStore(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	mark := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	if _, _, err := store.BeginRun(ctx, state.Run{ID: "run-done", Source: "tickets", Mode: "full"}, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.LandBatch(ctx, "run-done", state.BatchRecord{Seq: 0, Last: true, HighWater: mark}, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.CompleteRun(ctx, "run-done", state.Counts{Fetched: 7, Inserted: 7}, "window …; 0 warnings"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.BeginRun(ctx, state.Run{ID: "run-stuck", Source: "tickets", Mode: "incremental"}, 30*time.Minute); err != nil {
		t.Fatal(err)
	}

	mustRun(t, env, 0, []string{"== tickets", "held by run run-stuck", "run-done", "completed", "== chats", "lease:   free"}, "status")
	mustRun(t, env, 1, []string{"busy", "supportsync lease release --source tickets --run run-stuck"}, "cursor", "reset", "--source", "tickets")
	mustRun(t, env, 1, []string{"run-stuck holds the tickets lease, not run-other"}, "lease", "release", "--source", "tickets", "--run", "run-other")
	mustRun(t, env, 0, []string{"released the lease of run run-stuck", "marked failed", "supportsync sync --source tickets"},
		"lease", "release", "--source", "tickets", "--run", "run-stuck", "--reason", "fetch died")
	r, _, err := store.Run(ctx, "run-stuck")
	if err != nil || string(r.State) != string(state.StateFailed) || r.Error != "lease released by an operator: fetch died" {
		t.Fatalf("run-stuck after release: %+v, %v", r, err)
	}
	mustRun(t, env, 0, []string{"tickets: the lease is free; nothing to release"}, "lease", "release", "--source", "tickets")
	mustRun(t, env, 0, []string{"cursor reset (it was " + mark.Format(time.RFC3339) + ", set by run run-done)", "--mode full"}, "cursor", "reset", "--source", "tickets")
	out := mustRun(t, env, 0, []string{"cursor:  none", "lease:   free", "STUCK   the last run failed: lease released by an operator: fetch died"}, "status")
	if strings.Contains(out, "held by") {
		t.Errorf("status still shows a lease:\n%s", out)
	}
	mustRun(t, env, 0, []string{"chats: no cursor to reset"}, "cursor", "reset", "--source", "chats")
	mustRun(t, env, 2, []string{`--source "all"`}, "cursor", "reset", "--source", "all")
}

// createTopics creates the topics (and subscriptions: name -> topic, ack deadline) in the
// Pub/Sub emulator.
func createTopics(t *testing.T, c *pubsub.Client, project string, topics []string, subs map[string]string) {
	t.Helper()
	ctx := context.Background()
	for _, tp := range topics {
		if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: bus.TopicName(project, tp)}); err != nil {
			t.Fatal(err)
		}
	}
	for name, tp := range subs {
		if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name: bus.SubscriptionName(project, name), Topic: bus.TopicName(project, tp), AckDeadlineSeconds: 10,
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckScopesAndResume: check against fakes that refuse one scope at a time names the
// scope and where to grant it, leaves the schedules paused, and resumes them once everything
// passes; a missing sync-chats topic is a failure too.
func TestCheckScopesAndResume(t *testing.T) {
	ps := emulatortest.PubSubClient(t)
	emulatortest.Firestore(t)
	project := ps.Project()
	all := []string{"sync-tickets", "sync-chats", "raw-batches", "runs-completed", "dead-letter"}
	createTopics(t, ps, project, all[1:], nil) // sync-tickets first missing
	now := time.Now()
	hs := hubspotfake.New(sandboxdata.Tickets(1, 30, now))
	lc := livechatfake.New(livechatfake.Generate(1, 10, now), livechatfake.WithCredentials("acct", "pat"), livechatfake.WithRatePerMinute(0))
	sh := sheetsfake.NewServer(sheetsfake.WithSpreadsheet("1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdef"))
	defer sh.Close()
	sched := schedulerfake.New(
		schedulerfake.Job{Name: "projects/" + project + "/locations/northamerica-northeast1/jobs/sync-tickets-incremental", State: "PAUSED"},
		schedulerfake.Job{Name: "projects/" + project + "/locations/northamerica-northeast1/jobs/sync-chats-incremental", State: "PAUSED"},
	)
	schedSrv := httptest.NewServer(sched)
	defer schedSrv.Close()

	env := func(hsURL, lcURL string) map[string]string {
		return map[string]string{
			"GOOGLE_CLOUD_PROJECT": project, "SPREADSHEET_ID": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdef",
			"SHEETS_API_ENDPOINT": sh.URL, "HUBSPOT_API_BASE_URL": hsURL, "HUBSPOT_TOKEN": hubspotfake.DefaultToken,
			"LIVECHAT_API_BASE_URL": lcURL, "LIVECHAT_ACCOUNT_ID": "acct", "LIVECHAT_PAT": "pat",
			"CLOUD_SCHEDULER_ENDPOINT": schedSrv.URL,
		}
	}
	type scopeCase struct{ hubspot, livechat, failLine string }
	cases := []scopeCase{
		{hubspotfake.ScopeTickets, "", "FAIL HubSpot scope tickets"},
		{hubspotfake.ScopeOwners, "", "FAIL HubSpot scope crm.objects.owners.read"},
		{"", livechatfake.ScopeChats, "FAIL LiveChat scope chats--all:ro"},
		{"", livechatfake.ScopeAgents, "FAIL LiveChat scope agents--all:ro"},
		{"", livechatfake.ScopeBots, "FAIL LiveChat scope agents-bot--all:ro"},
		{"", livechatfake.ScopeGroups, "FAIL LiveChat scope groups--all:ro"},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("without %s%s", c.hubspot, c.livechat), func(t *testing.T) {
			hts := httptest.NewServer(hs.Without(c.hubspot))
			defer hts.Close()
			lts := httptest.NewServer(lc.Without(c.livechat))
			defer lts.Close()
			if i == 1 {
				createTopics(t, ps, project, all[:1], nil) // from here on sync-tickets exists
			}
			out := mustRun(t, env(hts.URL, lts.URL), 1, []string{c.failLine, "grant it in", "schedules left paused"}, "check", "--resume-schedules")
			if strings.Count(out, "FAIL") != 1+btoi(i == 0) {
				t.Errorf("want exactly the refused scope to fail (and the missing topic in the first case):\n%s", out)
			}
			if i == 0 && !strings.Contains(out, "FAIL Pub/Sub topics: sync-tickets") {
				t.Errorf("a missing topic is not reported:\n%s", out)
			}
			if len(sched.Calls()) != 0 {
				t.Fatalf("schedules were touched after a failed check: %v", sched.Calls())
			}
		})
	}
	// Everything granted: every line is ok (sync-chats included) and the schedules resume.
	hts := httptest.NewServer(hs)
	defer hts.Close()
	lts := httptest.NewServer(lc)
	defer lts.Close()
	out := mustRun(t, env(hts.URL, lts.URL), 0, []string{"ok   HubSpot scope tickets", "ok   LiveChat scope groups--all:ro", "ok   Pub/Sub topics", "sync-tickets-incremental   ENABLED"}, "check", "--resume-schedules")
	if strings.Contains(out, "FAIL") {
		t.Errorf("a check failed:\n%s", out)
	}
	if got := sched.Calls(); len(got) != 2 {
		t.Errorf("scheduler calls %v, want two resumes", got)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSchedulesCommand: list, pause and resume per source through the Cloud Scheduler wire
// format; devstack (no Cloud Scheduler) is told so.
func TestSchedulesCommand(t *testing.T) {
	parent := "projects/p1/locations/us-east1/jobs/"
	sched := schedulerfake.New(
		schedulerfake.Job{Name: parent + "sync-tickets-incremental", State: "ENABLED", Schedule: "0 */4 * * *", TimeZone: "America/Halifax"},
		schedulerfake.Job{Name: parent + "sync-tickets-full", State: "ENABLED"},
		schedulerfake.Job{Name: parent + "sync-chats-incremental", State: "ENABLED"},
	)
	srv := httptest.NewServer(sched)
	defer srv.Close()
	env := map[string]string{"GOOGLE_CLOUD_PROJECT": "p1", "CLOUD_SCHEDULER_ENDPOINT": srv.URL, "SUPPORTSYNC_REGION": "us-east1"}
	mustRun(t, env, 0, []string{"sync-chats-incremental", "sync-tickets-full", "0 */4 * * *"}, "schedules", "list")
	mustRun(t, env, 0, []string{"sync-tickets-full", "PAUSED"}, "schedules", "pause", "--source", "tickets")
	if sched.State(parent+"sync-chats-incremental") != "ENABLED" || sched.State(parent+"sync-tickets-incremental") != "PAUSED" {
		t.Errorf("pause --source tickets: chats %s, tickets %s", sched.State(parent+"sync-chats-incremental"), sched.State(parent+"sync-tickets-incremental"))
	}
	mustRun(t, env, 0, []string{"ENABLED"}, "schedules", "resume")
	if sched.State(parent+"sync-tickets-full") != "ENABLED" {
		t.Error("resume did not resume sync-tickets-full")
	}
	mustRun(t, env, 1, []string{"no supportsync scheduler jobs", "wrong --region"}, "schedules", "list", "--region", "europe-west1")
	mustRun(t, map[string]string{"GOOGLE_CLOUD_PROJECT": "p1", "PUBSUB_EMULATOR_HOST": "localhost:1"}, 1, []string{"devstack", "no Cloud Scheduler"}, "schedules", "pause")
	mustRun(t, env, 2, []string{"want list, pause or resume"}, "schedules", "stop")
}

// TestReplayAfterPeek: the README's steps. Batches waiting on dead-letter-replay are listed by
// `replay --peek` and by a pull that does not acknowledge (gcloud pubsub subscriptions pull),
// and `replay` right after either still republishes every one of them to raw-batches.
func TestReplayAfterPeek(t *testing.T) {
	ps := emulatortest.PubSubClient(t)
	project := ps.Project()
	createTopics(t, ps, project, []string{"raw-batches", "dead-letter"}, map[string]string{"dead-letter-replay": "dead-letter", "raw-batches-check": "raw-batches"})
	ctx := context.Background()
	pub := bus.NewPublisher(ps)
	defer pub.Close()
	for i := range 3 {
		if _, err := pub.Publish(ctx, "dead-letter", []byte(fmt.Sprintf("batch %d", i)), map[string]string{"source": "tickets", "run_id": "r1", "seq": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"GOOGLE_CLOUD_PROJECT": project}
	mustRun(t, env, 0, []string{"3 batch(es) waiting on dead-letter-replay", "run_id=r1 seq=0 source=tickets", "seq=2"}, "replay", "--peek", "--idle", "3s")

	// gcloud's peek: a pull without an ack leases the messages for the ack deadline (10 s).
	// Peek gave its leases back before it returned, so the messages are offered again at once
	// (a pull may still come back empty now and then: allow a few, far less than the 10 s a
	// kept lease would take).
	var resp *pubsubpb.PullResponse
	for deadline := time.Now().Add(4 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		r, err := ps.SubscriptionAdminClient.Pull(pctx, &pubsubpb.PullRequest{Subscription: bus.SubscriptionName(project, "dead-letter-replay"), MaxMessages: 10})
		pcancel()
		if err == nil && len(r.ReceivedMessages) > 0 {
			resp = r
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pull saw nothing 4 s after peek: peek kept the messages (last error %v)", err)
		}
	}
	start := time.Now()
	mustRun(t, env, 0, []string{"replayed 3 batch(es) from dead-letter-replay to raw-batches"}, "replay")
	t.Logf("replay after a gcloud-style pull of %d took %v (default idle %v)", len(resp.ReceivedMessages), time.Since(start).Round(time.Millisecond), 30*time.Second)

	// They are on raw-batches now, and gone from the dead-letter subscription.
	got := map[string]bool{}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_ = ps.Subscriber(bus.SubscriptionName(project, "raw-batches-check")).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		got[string(m.Data)] = true
		if len(got) == 3 {
			cancel()
		}
	})
	if len(got) != 3 {
		t.Errorf("raw-batches got %v, want the 3 batches", got)
	}
	mustRun(t, env, 0, []string{"0 batch(es) waiting"}, "replay", "--peek", "--idle", "2s")
}
