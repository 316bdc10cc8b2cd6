// Package emulatortest gives tests the official Firestore and Pub/Sub emulators.
//
// A package whose tests use it calls Main from TestMain:
//
//	func TestMain(m *testing.M) { emulatortest.Main(m) }
//
// Firestore(t) and PubSub(t) then return an emulator host. When FIRESTORE_EMULATOR_HOST /
// PUBSUB_EMULATOR_HOST is already set (CI may start the emulators once for every package),
// that emulator is used. Otherwise the first call starts one emulator for the whole test
// binary, exports its host in the environment variable (so clients built by the code under
// test find it) and Main stops it after the tests, whether they passed or not.
//
// Tests share the emulator and isolate themselves by project: ProjectID gives each test a
// project id of its own, so no test needs to clear data another test wrote. A test that
// cannot get an emulator fails with the reason; it never skips.
package emulatortest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"

	"supportsync.dev/shared/emulator"
)

// The environment variables the Google Cloud clients read.
const (
	FirestoreHostEnv = "FIRESTORE_EMULATOR_HOST"
	PubSubHostEnv    = "PUBSUB_EMULATOR_HOST"
)

// pubsubProject is the project the Pub/Sub emulator is started with; the emulator serves any
// project, so tests still use ProjectID for isolation.
const pubsubProject = "emulatortest"

var (
	mainCalled atomic.Bool

	mu      sync.Mutex
	started []*emulator.Emulator

	firestoreOnce sync.Once
	firestoreHost string
	firestoreErr  error

	pubsubOnce sync.Once
	pubsubHost string
	pubsubErr  error

	projectSeq atomic.Int64
)

// Main runs the tests, then stops every emulator this binary started, and exits with the
// tests' status. Call it from TestMain.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if err := StopAll(); err != nil {
		fmt.Fprintln(os.Stderr, "emulatortest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// StopAll stops the emulators started so far. Main calls it; call it yourself only from a
// TestMain that cannot use Main.
func StopAll() error {
	mu.Lock()
	defer mu.Unlock()
	var errs []string
	for _, e := range started {
		if err := e.Stop(); err != nil {
			errs = append(errs, err.Error())
		}
	}
	started = nil
	if len(errs) > 0 {
		return fmt.Errorf("stopping emulators: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Firestore returns the Firestore emulator's host ("127.0.0.1:PORT"), starting the emulator
// on first use, and sets FIRESTORE_EMULATOR_HOST to it.
func Firestore(t testing.TB) string {
	t.Helper()
	firestoreOnce.Do(func() {
		firestoreHost, firestoreErr = ensure(FirestoreHostEnv, func(ctx context.Context, opts emulator.Options) (*emulator.Emulator, error) {
			return emulator.StartFirestore(ctx, opts)
		})
	})
	if firestoreErr != nil {
		t.Fatalf("Firestore emulator: %v", firestoreErr)
	}
	return firestoreHost
}

// PubSub returns the Pub/Sub emulator's host ("127.0.0.1:PORT"), starting the emulator on
// first use, and sets PUBSUB_EMULATOR_HOST to it.
func PubSub(t testing.TB) string {
	t.Helper()
	pubsubOnce.Do(func() {
		pubsubHost, pubsubErr = ensure(PubSubHostEnv, func(ctx context.Context, opts emulator.Options) (*emulator.Emulator, error) {
			return emulator.StartPubSub(ctx, pubsubProject, opts)
		})
	})
	if pubsubErr != nil {
		t.Fatalf("Pub/Sub emulator: %v", pubsubErr)
	}
	return pubsubHost
}

func ensure(env string, start func(context.Context, emulator.Options) (*emulator.Emulator, error)) (string, error) {
	if h := os.Getenv(env); h != "" {
		return h, nil
	}
	if !mainCalled.Load() {
		return "", fmt.Errorf("%s is not set and emulatortest.Main was not called from TestMain, so an emulator started here would never be stopped: add `func TestMain(m *testing.M) { emulatortest.Main(m) }`", env)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := emulator.Options{}
	if dir := os.Getenv("EMULATOR_LOG_DIR"); dir != "" {
		opts.LogFile = fmt.Sprintf("%s/%s-%d.log", dir, strings.ToLower(strings.SplitN(env, "_", 2)[0]), os.Getpid())
	}
	e, err := start(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("%w (or set %s to a running emulator)", err, env)
	}
	mu.Lock()
	started = append(started, e)
	mu.Unlock()
	if err := os.Setenv(env, e.Host); err != nil {
		return "", err
	}
	return e.Host, nil
}

// ProjectID returns a project id unique to this call: the test's name (shortened) plus the
// process id and a counter, valid as a Google Cloud project id.
func ProjectID(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if s := b.String(); s != "" && !strings.HasSuffix(s, "-") {
				b.WriteByte('-')
			}
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 14 {
		name = strings.TrimRight(name[:14], "-")
	}
	return fmt.Sprintf("t-%s-%d-%d", name, os.Getpid()%100000, projectSeq.Add(1))
}

// Reset deletes every document of project's default database in the Firestore emulator at
// host.
func Reset(t testing.TB, host, project string) {
	t.Helper()
	url := fmt.Sprintf("http://%s/emulator/v1/projects/%s/databases/(default)/documents", host, project)
	req, err := http.NewRequest(http.MethodDelete, url, nil)
	if err != nil {
		t.Fatalf("emulatortest.Reset: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("emulatortest.Reset: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("emulatortest.Reset: DELETE %s: %s", url, resp.Status)
	}
}

// FirestoreClient returns a client of the Firestore emulator for a fresh ProjectID, closed
// when the test ends.
func FirestoreClient(t testing.TB) *firestore.Client {
	t.Helper()
	Firestore(t)
	c, err := firestore.NewClient(context.Background(), ProjectID(t))
	if err != nil {
		t.Fatalf("firestore.NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// PubSubClient returns a client of the Pub/Sub emulator for a fresh ProjectID (available as
// client.Project()), closed when the test ends.
func PubSubClient(t testing.TB) *pubsub.Client {
	t.Helper()
	PubSub(t)
	c, err := pubsub.NewClient(context.Background(), ProjectID(t))
	if err != nil {
		t.Fatalf("pubsub.NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
