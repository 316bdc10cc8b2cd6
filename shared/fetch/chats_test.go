package fetch

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/livechat/livechatfake"
)

// setupChats returns a Chats source over a fake LiveChat account of n threads.
func setupChats(t *testing.T, n int, now time.Time) (*Chats, *livechatfake.Server) {
	t.Helper()
	fake := livechatfake.New(livechatfake.Generate(7, n, now), livechatfake.WithCredentials("acct", "pat"),
		livechatfake.WithRatePerMinute(0))
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	c, err := livechat.NewClient(livechat.WithBaseURL(ts.URL+"/"), livechat.WithCredentials("acct", "pat"),
		livechat.WithRatePerMinute(0))
	if err != nil {
		t.Fatal(err)
	}
	return &Chats{Client: c}, fake
}

// drain reads a stream to the end (or up to pages pages) and returns the pending thread ids.
func drain(t *testing.T, s Stream, pages int) []string {
	t.Helper()
	for i := 0; pages <= 0 || i < pages; i++ {
		done, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
	}
	raw, err := s.Payload(s.Pending())
	if err != nil {
		t.Fatal(err)
	}
	var p livechat.Payload
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(p.Chats))
	for i, c := range p.Chats {
		ids[i] = c.Thread.ID
	}
	s.Drop(s.Pending())
	return ids
}

// TestChatsStream reads a window page by page: every thread started in it once, oldest first,
// each payload with all agents, bots (another app's included) and groups, read once per stream.
func TestChatsStream(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	src, fake := setupChats(t, 450, now)
	from, to := now.Add(-200*24*time.Hour), now
	var want []string
	for _, c := range fake.Dataset().Chats() {
		if created, _ := livechat.ParseTime(c.Thread.CreatedAt); !created.Before(from) && !created.After(to) {
			want = append(want, c.Thread.ID)
		}
	}
	if len(want) < 150 {
		t.Fatalf("only %d threads in the window; make the account larger", len(want))
	}

	s, err := src.Open(context.Background(), batch.Incremental, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if f, tt := s.Window(); !f.Equal(from) || !tt.Equal(to) {
		t.Errorf("window %s..%s, want %s..%s", f, tt, from, to)
	}
	for {
		done, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
	}
	if s.Pending() != len(want) {
		t.Fatalf("pending %d threads, want %d", s.Pending(), len(want))
	}
	raw, err := s.Payload(3)
	if err != nil {
		t.Fatal(err)
	}
	var p livechat.Payload
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Chats) != 3 || p.Chats[0].Thread.ID != want[0] || len(p.Agents) != 8 || len(p.Groups) != 4 {
		t.Errorf("payload: %d chats (first %s, want %s), %d agents, %d groups", len(p.Chats), p.Chats[0].Thread.ID, want[0], len(p.Agents), len(p.Groups))
	}
	bots := map[string]bool{}
	for _, b := range p.Bots {
		bots[b.ID] = true
	}
	if !bots[livechatfake.WynnAIID] || !bots[livechatfake.AgentScrapeID] {
		t.Errorf("payload bots %v: want Wynn AI and Agent Scrape (listed only with all:true)", bots)
	}
	if got := drain(t, s, 0); len(got) != len(want) || got[0] != want[0] || got[len(got)-1] != want[len(want)-1] {
		t.Errorf("drained %d threads, want %d in order", len(got), len(want))
	}
	for _, action := range []string{"list_agents", "list_bots", "list_groups"} {
		if n := fake.Requests(action); n != 1 {
			t.Errorf("%s called %d times, want once per stream", action, n)
		}
	}
	if pages, n := fake.Requests("list_archives"), int64(len(want)+livechat.MaxLimit-1)/livechat.MaxLimit; pages != n {
		t.Errorf("%d list_archives requests, want %d pages", pages, n)
	}
}

// TestChatsResume checkpoints a stream after a page and resumes it in a "new instance": the
// rest of the window follows, nothing twice, nothing missing, and the window is kept.
func TestChatsResume(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	src, _ := setupChats(t, 450, now)
	from, to := now.Add(-400*24*time.Hour), now
	s, err := src.Open(context.Background(), batch.Full, from, to)
	if err != nil {
		t.Fatal(err)
	}
	first := drain(t, s, 2)
	cp, err := s.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	r, err := src.Resume(context.Background(), cp)
	if err != nil {
		t.Fatal(err)
	}
	if f, tt := r.Window(); !f.Equal(from) || !tt.Equal(to) {
		t.Errorf("resumed window %s..%s, want %s..%s", f, tt, from, to)
	}
	rest := drain(t, r, 0)

	all, _ := setupChats(t, 450, now)
	full, err := all.Open(context.Background(), batch.Full, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := drain(t, full, 0)
	got := append(first, rest...)
	if len(first) != 2*livechat.MaxLimit || len(got) != len(want) {
		t.Fatalf("read %d + %d threads, want %d + the rest of %d", len(first), len(rest), 2*livechat.MaxLimit, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("thread %d is %s after resuming, want %s", i, got[i], want[i])
		}
	}
	if _, err := src.Resume(context.Background(), []byte("{not json")); err == nil {
		t.Error("a corrupt checkpoint resumed")
	}
}
