package schedules_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"supportsync.dev/cmd/internal/schedules"
	"supportsync.dev/cmd/internal/schedules/schedulerfake"
)

const parent = "projects/p1/locations/northamerica-northeast1/jobs/"

func fake() *schedulerfake.Server {
	return schedulerfake.New(
		schedulerfake.Job{Name: parent + "sync-tickets-incremental", State: "PAUSED", Schedule: "0 */4 * * *"},
		schedulerfake.Job{Name: parent + "sync-tickets-full", State: "PAUSED"},
		schedulerfake.Job{Name: parent + "sync-chats-incremental", State: "PAUSED"},
		schedulerfake.Job{Name: parent + "sync-chats-full", State: "ENABLED"},
		schedulerfake.Job{Name: parent + "someone-elses-job", State: "PAUSED"},
		schedulerfake.Job{Name: "projects/p1/locations/europe-west1/jobs/sync-tickets-incremental", State: "PAUSED"},
	)
}

func names(jobs []schedules.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name+"="+j.State)
	}
	return out
}

// TestPauseResume: through the real client and the wire format: list pages, only
// supportsync's jobs of the region, per source; resume and pause call only jobs that need it.
func TestPauseResume(t *testing.T) {
	srv := fake()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx := context.Background()
	c, err := schedules.New(ctx, "p1", "northamerica-northeast1", ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := c.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sync-chats-full=ENABLED", "sync-chats-incremental=PAUSED", "sync-tickets-full=PAUSED", "sync-tickets-incremental=PAUSED"}
	if got := names(jobs); !slices.Equal(got, want) {
		t.Fatalf("jobs %v, want %v", got, want)
	}
	tickets, err := c.Jobs(ctx, "tickets")
	if err != nil {
		t.Fatal(err)
	}
	after, err := c.Resume(ctx, tickets)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(after); !slices.Equal(got, []string{"sync-tickets-full=ENABLED", "sync-tickets-incremental=ENABLED"}) {
		t.Errorf("after resume: %v", got)
	}
	if s := srv.State(parent + "sync-chats-incremental"); s != "PAUSED" {
		t.Errorf("chats job resumed too: %s", s)
	}
	all, _ := c.Jobs(ctx)
	if _, err := c.Pause(ctx, all); err != nil {
		t.Fatal(err)
	}
	for _, j := range []string{"sync-tickets-incremental", "sync-tickets-full", "sync-chats-incremental", "sync-chats-full"} {
		if s := srv.State(parent + j); s != "PAUSED" {
			t.Errorf("%s: %s after pause", j, s)
		}
	}
	if s := srv.State(parent + "someone-elses-job"); s != "PAUSED" {
		t.Errorf("another job touched: %s", s)
	}
	// Only the jobs that needed it were called: resume 2 tickets jobs, then pause 3 enabled.
	wantCalls := []string{"resume sync-tickets-full", "resume sync-tickets-incremental", "pause sync-chats-full", "pause sync-tickets-full", "pause sync-tickets-incremental"}
	if got := srv.Calls(); !slices.Equal(got, wantCalls) {
		t.Errorf("calls %v, want %v", got, wantCalls)
	}
}

// TestMissingJob: an error names the job; the others are still done.
func TestMissingJob(t *testing.T) {
	srv := fake()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx := context.Background()
	c, _ := schedules.New(ctx, "p1", "northamerica-northeast1", ts.URL)
	_, err := c.Resume(ctx, []schedules.Job{{Name: "sync-tickets-gone", State: "PAUSED"}, {Name: "sync-chats-incremental", State: "PAUSED"}})
	if err == nil || !strings.Contains(err.Error(), "sync-tickets-gone") {
		t.Fatalf("err %v, want one naming sync-tickets-gone", err)
	}
	if s := srv.State(parent + "sync-chats-incremental"); s != "ENABLED" {
		t.Errorf("the other job: %s", s)
	}
}
