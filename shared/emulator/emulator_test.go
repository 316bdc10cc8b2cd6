package emulator_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/protobuf/types/known/durationpb"

	"supportsync.dev/shared/emulator"
	"supportsync.dev/shared/emulator/emulatortest"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

// TestStartStop starts each emulator on its own (not the shared one), checks that it
// answers, stops it and checks that nothing of it is left: no live process in its group, no
// process serving its port, nothing listening.
func TestStartStop(t *testing.T) {
	tests := []struct {
		kind  string
		start func(context.Context, emulator.Options) (*emulator.Emulator, error)
	}{
		{"firestore", emulator.StartFirestore},
		{"pubsub", func(ctx context.Context, o emulator.Options) (*emulator.Emulator, error) {
			return emulator.StartPubSub(ctx, "startstop", o)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			e, err := tt.start(ctx, emulator.Options{LogFile: t.TempDir() + "/emulator.log"})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s emulator answered on %s after %v", tt.kind, e.Host, e.Started.Round(time.Millisecond))
			if !strings.HasPrefix(e.Host, "127.0.0.1:") {
				t.Errorf("Host = %q, want 127.0.0.1:PORT", e.Host)
			}
			pgid := e.PGID()
			if got := liveProcesses(t, pgid, e.Host); !strings.Contains(got, "java") {
				t.Errorf("running emulator: no java process found in group %d:\n%s", pgid, got)
			}
			resp, err := http.Get("http://" + e.Host + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.TrimSpace(string(body)) != "Ok" {
				t.Errorf("GET / = %q, want Ok", body)
			}

			began := time.Now()
			if err := e.Stop(); err != nil {
				t.Fatal(err)
			}
			t.Logf("stopped in %v", time.Since(began).Round(time.Millisecond))
			if got := liveProcesses(t, pgid, e.Host); got != "" {
				t.Errorf("after Stop, still running:\n%s", got)
			}
			if emulator.GroupAlive(pgid) {
				t.Errorf("GroupAlive(%d) after Stop", pgid)
			}
			if c, err := net.DialTimeout("tcp", e.Host, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after Stop", e.Host)
			}
			if err := e.Stop(); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	}
}

// liveProcesses lists (via ps) the processes that are not zombies and either belong to group
// pgid or mention the emulator's port on their command line.
func liveProcesses(t *testing.T, pgid int, host string) string {
	t.Helper()
	out, err := exec.Command("ps", "-eo", "pid=,pgid=,stat=,args=").Output()
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	_, port, _ := net.SplitHostPort(host)
	var live []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || strings.HasPrefix(f[2], "Z") || strings.Contains(line, "ps -eo") {
			continue
		}
		if f[1] == strconv.Itoa(pgid) || strings.Contains(line, "port="+port) || strings.Contains(line, ":"+port+" ") {
			live = append(live, line)
		}
	}
	return strings.Join(live, "\n")
}

// TestPubSubEmulatorPushAndDeadLetter proves what the integration design relies on: the
// gcloud Pub/Sub emulator pushes to a plain-HTTP loopback endpoint, honours the retry
// policy's minimum backoff between attempts, and after MaxDeliveryAttempts failed pushes
// publishes the message to the dead-letter topic.
func TestPubSubEmulatorPushAndDeadLetter(t *testing.T) {
	client := emulatortest.PubSubClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	project := "projects/" + client.Project()

	const maxAttempts = 5
	const minBackoff = 2 * time.Second

	type push struct {
		at      time.Time
		attempt int
		data    string
	}
	var (
		mu     sync.Mutex
		pushes []push
	)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Message struct {
				Data []byte `json:"data"`
			} `json:"message"`
			Subscription    string `json:"subscription"`
			DeliveryAttempt int    `json:"deliveryAttempt"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("push body: %v", err)
		}
		mu.Lock()
		pushes = append(pushes, push{time.Now(), body.DeliveryAttempt, string(body.Message.Data)})
		mu.Unlock()
		http.Error(w, "always failing", http.StatusInternalServerError)
	}))
	defer endpoint.Close()

	for _, topic := range []string{"raw", "raw-dead"} {
		if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: project + "/topics/" + topic}); err != nil {
			t.Fatalf("CreateTopic %s: %v", topic, err)
		}
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:  project + "/subscriptions/raw-dead-pull",
		Topic: project + "/topics/raw-dead",
	}); err != nil {
		t.Fatalf("CreateSubscription raw-dead-pull: %v", err)
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:               project + "/subscriptions/raw-push",
		Topic:              project + "/topics/raw",
		AckDeadlineSeconds: 10,
		PushConfig:         &pubsubpb.PushConfig{PushEndpoint: endpoint.URL + "/push"},
		DeadLetterPolicy:   &pubsubpb.DeadLetterPolicy{DeadLetterTopic: project + "/topics/raw-dead", MaxDeliveryAttempts: maxAttempts},
		RetryPolicy:        &pubsubpb.RetryPolicy{MinimumBackoff: durationpb.New(minBackoff), MaximumBackoff: durationpb.New(minBackoff)},
	}); err != nil {
		t.Fatalf("CreateSubscription raw-push: %v", err)
	}

	pub := client.Publisher(project + "/topics/raw")
	defer pub.Stop()
	if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte("batch-1")}).Get(ctx); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	var dead *pubsub.Message
	rctx, rcancel := context.WithTimeout(ctx, 60*time.Second)
	err := client.Subscriber(project+"/subscriptions/raw-dead-pull").Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		if dead == nil {
			dead = m
		}
		mu.Unlock()
		rcancel()
	})
	rcancel()
	if err != nil {
		t.Fatalf("Receive dead letters: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	for i, p := range pushes {
		gap := time.Duration(0)
		if i > 0 {
			gap = p.at.Sub(pushes[i-1].at)
		}
		t.Logf("push %d: deliveryAttempt=%d data=%q gap=%v", i+1, p.attempt, p.data, gap.Round(10*time.Millisecond))
	}
	if dead == nil {
		t.Fatalf("no message on the dead-letter topic within 60s after %d pushes", len(pushes))
	}
	t.Logf("dead-lettered: data=%q attributes=%v", dead.Data, dead.Attributes)
	if string(dead.Data) != "batch-1" {
		t.Errorf("dead letter data = %q, want batch-1", dead.Data)
	}
	if len(pushes) != maxAttempts {
		t.Errorf("pushes before dead-lettering = %d, want %d", len(pushes), maxAttempts)
	}
}
