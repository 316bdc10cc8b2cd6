package emulator_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/protobuf/types/known/durationpb"

	"supportsync.dev/shared/emulator/emulatortest"
)

func TestExploreRetry(t *testing.T) {
	for _, rp := range []*pubsubpb.RetryPolicy{nil,
		{MinimumBackoff: durationpb.New(1 * time.Second), MaximumBackoff: durationpb.New(10 * time.Second)},
		{MinimumBackoff: durationpb.New(0), MaximumBackoff: durationpb.New(1 * time.Second)},
	} {
		rp := rp
		t.Run(fmt.Sprint(rp), func(t *testing.T) {
			t.Parallel()
			client := emulatortest.PubSubClient(t)
			ctx := context.Background()
			project := "projects/" + client.Project()
			var mu sync.Mutex
			var times []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
				w.WriteHeader(500)
			}))
			defer srv.Close()
			client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: project + "/topics/aaa"})
			client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: project + "/topics/ddd"})
			_, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: project + "/subscriptions/sss", Topic: project + "/topics/aaa",
				PushConfig: &pubsubpb.PushConfig{PushEndpoint: srv.URL}, RetryPolicy: rp,
				DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{DeadLetterTopic: project + "/topics/ddd", MaxDeliveryAttempts: 7}})
			if err != nil {
				t.Fatal(err)
			}
			s, _ := client.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: project + "/subscriptions/sss"})
			t.Logf("stored: retry=%v dlp=%v", s.RetryPolicy, s.DeadLetterPolicy)
			pub := client.Publisher(project + "/topics/aaa")
			pub.Publish(ctx, &pubsub.Message{Data: []byte("x")}).Get(ctx)
			time.Sleep(20 * time.Second)
			mu.Lock()
			defer mu.Unlock()
			for i := 1; i < len(times); i++ {
				t.Logf("%v gap %d: %v", rp, i, times[i].Sub(times[i-1]).Round(10*time.Millisecond))
			}
			t.Logf("attempts: %d", len(times))
		})
	}
}
