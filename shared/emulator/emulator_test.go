package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	t.Parallel()
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

// TestPubSubEmulatorPushAndDeadLetter proves what the integration design relies on, against
// the gcloud Pub/Sub emulator:
//   - it pushes to a plain-HTTP loopback endpoint (the standard wrapped JSON body);
//   - a 2xx answer acknowledges: that message is pushed once and never again;
//   - a failing answer is retried, and the retry policy's minimum backoff is honoured from the
//     second retry on (the first retry comes after about 1 s whatever the policy; without a
//     policy the emulator retries about every second);
//   - after MaxDeliveryAttempts failed pushes the message is published to the dead-letter
//     topic with the CloudPubSubDeadLetterSource* attributes, and is not pushed again;
//   - unlike the real service, the push body carries no deliveryAttempt even though a
//     dead-letter policy is set (logged, not asserted, in case a later emulator adds it).
func TestPubSubEmulatorPushAndDeadLetter(t *testing.T) {
	t.Parallel()
	client := emulatortest.PubSubClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	project := "projects/" + client.Project()

	const maxAttempts = 5 // the smallest the API accepts
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
				Data      []byte `json:"data"`
				MessageID string `json:"messageId"`
			} `json:"message"`
			Subscription    string `json:"subscription"`
			DeliveryAttempt int    `json:"deliveryAttempt"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("push body: %v", err)
		}
		if r.URL.Path != "/push" || body.Message.MessageID == "" || body.Subscription == "" {
			t.Errorf("push %s: body %+v: want path /push, a message id and a subscription", r.URL.Path, body)
		}
		mu.Lock()
		pushes = append(pushes, push{time.Now(), body.DeliveryAttempt, string(body.Message.Data)})
		mu.Unlock()
		if string(body.Message.Data) == "poison" {
			http.Error(w, "always failing", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer endpoint.Close()

	for _, topic := range []string{"raw-batches", "raw-batches-dead"} {
		if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: project + "/topics/" + topic}); err != nil {
			t.Fatalf("CreateTopic %s: %v", topic, err)
		}
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:  project + "/subscriptions/raw-batches-dead-pull",
		Topic: project + "/topics/raw-batches-dead",
	}); err != nil {
		t.Fatalf("CreateSubscription dead-letter pull: %v", err)
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:               project + "/subscriptions/raw-batches-push",
		Topic:              project + "/topics/raw-batches",
		AckDeadlineSeconds: 10,
		PushConfig:         &pubsubpb.PushConfig{PushEndpoint: endpoint.URL + "/push"},
		DeadLetterPolicy:   &pubsubpb.DeadLetterPolicy{DeadLetterTopic: project + "/topics/raw-batches-dead", MaxDeliveryAttempts: maxAttempts},
		RetryPolicy:        &pubsubpb.RetryPolicy{MinimumBackoff: durationpb.New(minBackoff), MaximumBackoff: durationpb.New(minBackoff)},
	}); err != nil {
		t.Fatalf("CreateSubscription push: %v", err)
	}

	pub := client.Publisher(project + "/topics/raw-batches")
	defer pub.Stop()
	for _, data := range []string{"poison", "good"} {
		if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte(data)}).Get(ctx); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}

	var dead []*pubsub.Message
	rctx, rcancel := context.WithTimeout(ctx, 60*time.Second)
	err := client.Subscriber(project+"/subscriptions/raw-batches-dead-pull").Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		dead = append(dead, m)
		mu.Unlock()
		rcancel()
	})
	rcancel()
	if err != nil {
		t.Fatalf("Receive dead letters: %v", err)
	}
	time.Sleep(3 * time.Second) // a window in which a wrong extra push would show up

	mu.Lock()
	defer mu.Unlock()
	var poison []push
	good := 0
	for _, p := range pushes {
		switch p.data {
		case "poison":
			poison = append(poison, p)
		case "good":
			good++
		}
	}
	for i, p := range poison {
		gap := time.Duration(0)
		if i > 0 {
			gap = p.at.Sub(poison[i-1].at)
			if i >= 2 && gap < minBackoff-100*time.Millisecond {
				t.Errorf("retry %d came %v after the previous one, before the minimum backoff %v", i, gap, minBackoff)
			}
		}
		t.Logf("poison push %d: deliveryAttempt=%d, %v after the previous", i+1, p.attempt, gap.Round(10*time.Millisecond))
	}
	if good != 1 {
		t.Errorf("acknowledged message pushed %d times, want 1", good)
	}
	if len(poison) != maxAttempts {
		t.Errorf("failing message pushed %d times, want %d (MaxDeliveryAttempts)", len(poison), maxAttempts)
	}
	if len(dead) != 1 {
		t.Fatalf("got %d dead letters within 60s, want 1", len(dead))
	}
	t.Logf("dead letter: data=%q attributes=%v", dead[0].Data, dead[0].Attributes)
	if string(dead[0].Data) != "poison" {
		t.Errorf("dead letter data = %q, want poison", dead[0].Data)
	}
	if got := dead[0].Attributes["CloudPubSubDeadLetterSourceDeliveryCount"]; got != strconv.Itoa(maxAttempts) {
		t.Errorf("dead letter CloudPubSubDeadLetterSourceDeliveryCount = %q, want %d", got, maxAttempts)
	}
}

// TestWatchdogStopsOrphanedEmulator kills (SIGKILL, so no Stop runs) a child process that
// started an emulator, and checks that the emulator's process group goes away by itself.
func TestWatchdogStopsOrphanedEmulator(t *testing.T) {
	if os.Getenv("EMULATOR_WATCHDOG_CHILD") == "1" {
		e, err := emulator.StartFirestore(context.Background(), emulator.Options{})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("PGID", e.PGID(), e.Host)
		time.Sleep(time.Minute)
		os.Exit(1)
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchdogStopsOrphanedEmulator$")
	cmd.Env = append(os.Environ(), "EMULATOR_WATCHDOG_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pgid int
	var host string
	if _, err := fmt.Fscanf(out, "PGID %d %s\n", &pgid, &host); err != nil {
		_ = cmd.Process.Kill()
		rest, _ := io.ReadAll(out)
		t.Fatalf("child: %v: %s", err, rest)
	}
	if !emulator.GroupAlive(pgid) {
		t.Fatalf("emulator group %d not running", pgid)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for emulator.GroupAlive(pgid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			t.Fatalf("emulator group %d still alive 15s after its parent died:\n%s", pgid, liveProcesses(t, pgid, host))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := liveProcesses(t, pgid, host); got != "" {
		t.Errorf("left behind:\n%s", got)
	}
}
