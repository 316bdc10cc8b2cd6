package bus

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"supportsync.dev/shared/emulator/emulatortest"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func TestNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{TopicName("p", "raw"), "projects/p/topics/raw"},
		{TopicName("p", "projects/q/topics/raw"), "projects/q/topics/raw"},
		{SubscriptionName("p", "s"), "projects/p/subscriptions/s"},
		{SubscriptionName("p", "projects/q/subscriptions/s"), "projects/q/subscriptions/s"},
	} {
		if tt.got != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
}

// pull takes up to max messages from a pull subscription and acks them.
func pull(t *testing.T, ctx context.Context, c *pubsub.Client, sub string, max int) []*pubsubpb.PubsubMessage {
	t.Helper()
	var out []*pubsubpb.PubsubMessage
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < max && time.Now().Before(deadline) {
		resp, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: int32(max - len(out))})
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		var ids []string
		for _, m := range resp.ReceivedMessages {
			out = append(out, m.Message)
			ids = append(ids, m.AckId)
		}
		if len(ids) > 0 {
			if err := c.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: ids}); err != nil {
				t.Fatalf("Acknowledge: %v", err)
			}
		}
	}
	return out
}

// TestPublishEnsureAndReplay creates a topic and a pull subscription twice (the second time
// recreates it), publishes on two topics with one Publisher, and replays one message from a
// subscription to another topic with its data and attributes unchanged.
func TestPublishEnsureAndReplay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := emulatortest.PubSubClient(t)
	project := c.Project()
	for _, topic := range []string{"raw", "dead"} {
		for range 2 {
			if err := EnsureTopic(ctx, c, project, topic); err != nil {
				t.Fatalf("EnsureTopic %s: %v", topic, err)
			}
		}
	}
	subs := []Subscription{
		{Name: "raw-pull", Topic: "raw", AckDeadline: 30 * time.Second, DeadLetterTopic: "dead", MaxDeliveryAttempts: 5,
			MinBackoff: 10 * time.Second, MaxBackoff: time.Minute},
		{Name: "dead-pull", Topic: "dead"},
	}
	for _, s := range subs {
		for range 2 {
			if err := EnsureSubscription(ctx, c, project, s); err != nil {
				t.Fatalf("EnsureSubscription %s: %v", s.Name, err)
			}
		}
	}
	got, err := c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: SubscriptionName(project, "raw-pull")})
	if err != nil {
		t.Fatal(err)
	}
	if got.AckDeadlineSeconds != 30 || got.GetDeadLetterPolicy().GetMaxDeliveryAttempts() != 5 ||
		got.GetDeadLetterPolicy().GetDeadLetterTopic() != TopicName(project, "dead") {
		t.Errorf("subscription = %v", got)
	}

	pub := NewPublisher(c)
	defer pub.Close()
	for i, topic := range []string{"raw", "raw", "dead"} {
		id, err := pub.Publish(ctx, TopicName(project, topic), []byte{byte('a' + i)}, map[string]string{"n": string(rune('0' + i))})
		if err != nil || id == "" {
			t.Fatalf("Publish %d: %q, %v", i, id, err)
		}
	}
	if _, err := pub.Publish(ctx, TopicName(project, "missing"), []byte("x"), nil); err == nil {
		t.Error("Publish to a missing topic succeeded")
	}
	raw := pull(t, ctx, c, SubscriptionName(project, "raw-pull"), 2)
	if len(raw) != 2 {
		t.Fatalf("raw-pull got %d messages, want 2", len(raw))
	}
	dead := pull(t, ctx, c, SubscriptionName(project, "dead-pull"), 1)
	if len(dead) != 1 || string(dead[0].Data) != "c" || dead[0].Attributes["n"] != "2" {
		t.Fatalf("dead-pull = %v", dead)
	}

	// Replay moves a dead letter back to raw, data and attributes unchanged.
	if _, err := pub.Publish(ctx, TopicName(project, "dead"), []byte("z"), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := EnsureSubscription(ctx, c, project, Subscription{Name: "raw-check", Topic: "raw"}); err != nil {
		t.Fatal(err)
	}
	n, err := Replay(ctx, c.Subscriber(SubscriptionName(project, "dead-pull")), pub, TopicName(project, "raw"), 1, 5*time.Second)
	if err != nil || n != 1 {
		t.Fatalf("Replay = %d, %v; want 1", n, err)
	}
	moved := pull(t, ctx, c, SubscriptionName(project, "raw-check"), 1)
	if len(moved) != 1 || string(moved[0].Data) != "z" || moved[0].Attributes["k"] != "v" {
		t.Errorf("replayed message = %v", moved)
	}
}
