// Package bus publishes supportsync's messages on Pub/Sub (cloud.google.com/go/pubsub/v2) and
// sets up topics and push subscriptions where nobody else does (the local stack and tests;
// in the cloud Terraform owns them).
package bus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Publisher sends messages to topics of one project, reusing one Pub/Sub publisher per topic.
// It is safe for concurrent use and meant to live as long as the function instance.
type Publisher struct {
	client *pubsub.Client
	mu     sync.Mutex
	pubs   map[string]*pubsub.Publisher
}

// NewPublisher wraps a client.
func NewPublisher(client *pubsub.Client) *Publisher {
	return &Publisher{client: client, pubs: map[string]*pubsub.Publisher{}}
}

// Publish sends one message and waits until Pub/Sub has accepted it (a function must not
// return before its publishes are acknowledged). It returns the message id.
func (p *Publisher) Publish(ctx context.Context, topic string, data []byte, attrs map[string]string) (string, error) {
	p.mu.Lock()
	pub, ok := p.pubs[topic]
	if !ok {
		pub = p.client.Publisher(topic)
		pub.PublishSettings.DelayThreshold = time.Millisecond
		p.pubs[topic] = pub
	}
	p.mu.Unlock()
	id, err := pub.Publish(ctx, &pubsub.Message{Data: data, Attributes: attrs}).Get(ctx)
	if err != nil {
		return "", fmt.Errorf("pubsub publish to %s: %w", topic, err)
	}
	return id, nil
}

// Close stops every publisher after flushing what is pending.
func (p *Publisher) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pub := range p.pubs {
		pub.Stop()
	}
	p.pubs = map[string]*pubsub.Publisher{}
}

// TopicName returns the full resource name of a topic.
func TopicName(project, topic string) string {
	if strings.HasPrefix(topic, "projects/") {
		return topic
	}
	return "projects/" + project + "/topics/" + topic
}

// SubscriptionName returns the full resource name of a subscription.
func SubscriptionName(project, sub string) string {
	if strings.HasPrefix(sub, "projects/") {
		return sub
	}
	return "projects/" + project + "/subscriptions/" + sub
}

// EnsureTopic creates a topic if it does not exist.
func EnsureTopic(ctx context.Context, c *pubsub.Client, project, topic string) error {
	_, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: TopicName(project, topic)})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("pubsub CreateTopic %s: %w", topic, err)
	}
	return nil
}

// Subscription describes a subscription to create: a push subscription when PushEndpoint is
// set, else a pull subscription.
type Subscription struct {
	Name                string
	Topic               string
	PushEndpoint        string
	AckDeadline         time.Duration
	DeadLetterTopic     string
	MaxDeliveryAttempts int
	MinBackoff          time.Duration
	MaxBackoff          time.Duration
}

// EnsureSubscription creates a subscription, or updates its push endpoint and policies if it
// exists (so a restarted local stack on new ports keeps working).
func EnsureSubscription(ctx context.Context, c *pubsub.Client, project string, s Subscription) error {
	sub := &pubsubpb.Subscription{
		Name:  SubscriptionName(project, s.Name),
		Topic: TopicName(project, s.Topic),
	}
	if s.AckDeadline > 0 {
		sub.AckDeadlineSeconds = int32(s.AckDeadline / time.Second)
	}
	if s.PushEndpoint != "" {
		sub.PushConfig = &pubsubpb.PushConfig{PushEndpoint: s.PushEndpoint}
	}
	if s.DeadLetterTopic != "" {
		sub.DeadLetterPolicy = &pubsubpb.DeadLetterPolicy{
			DeadLetterTopic:     TopicName(project, s.DeadLetterTopic),
			MaxDeliveryAttempts: int32(s.MaxDeliveryAttempts),
		}
	}
	if s.MinBackoff > 0 || s.MaxBackoff > 0 {
		sub.RetryPolicy = &pubsubpb.RetryPolicy{
			MinimumBackoff: durationpb.New(s.MinBackoff),
			MaximumBackoff: durationpb.New(s.MaxBackoff),
		}
	}
	_, err := c.SubscriptionAdminClient.CreateSubscription(ctx, sub)
	if err == nil {
		return nil
	}
	if status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("pubsub CreateSubscription %s: %w", s.Name, err)
	}
	// Recreate: the emulator does not support every update path, and a local subscription
	// holds nothing worth keeping across restarts of the stack.
	if err := c.SubscriptionAdminClient.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: sub.Name}); err != nil {
		return fmt.Errorf("pubsub DeleteSubscription %s: %w", s.Name, err)
	}
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, sub); err != nil {
		return fmt.Errorf("pubsub CreateSubscription %s: %w", s.Name, err)
	}
	return nil
}
