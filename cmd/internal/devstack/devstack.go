// Package devstack runs the whole pipeline on one machine: the official Pub/Sub and Firestore
// emulators (unless their hosts are given), every function as its own process behind push
// subscriptions exactly as in the cloud, a sandbox HubSpot and LiveChat and a local
// Sheets-compatible store (unless real ones are configured). The CLI's devstack command and
// the end-to-end tests use it.
package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/bus"
	"supportsync.dev/shared/config"
	"supportsync.dev/shared/emulator"
	"supportsync.dev/shared/fetch"
	"supportsync.dev/shared/runlife"
	"supportsync.dev/shared/state"
)

// Options configure a stack.
type Options struct {
	// DataDir holds local state: the local sheet, logs. Default ".devstack".
	DataDir string
	// Getenv reads the configuration (os.Getenv); every variable of the design's
	// Configuration section is honoured and passed on to the functions.
	Getenv func(string) string
	// Out receives progress lines.
	Out io.Writer
	// Executable is the binary re-executed (with ChildEnv set) to serve each function;
	// default the running executable.
	Executable string
	// SandboxTickets is how many tickets the sandbox HubSpot holds (default 2,000).
	SandboxTickets int
	// SandboxChats is how many threads the sandbox LiveChat holds (default 1,500).
	SandboxChats int
	// SandboxLimits turns the sandbox's HubSpot and LiveChat rate limits on (the real ones).
	SandboxLimits bool
	// SandboxLatency delays every sandbox HubSpot and LiveChat answer (a slow API).
	SandboxLatency time.Duration
	// Seed makes the sandbox data reproducible.
	Seed int64
	// Retry tunes the raw-batches subscription: minimum backoff and delivery attempts before
	// dead-lettering (defaults 1s and 5).
	MinBackoff          time.Duration
	MaxDeliveryAttempts int
	// ExtraEnv is added to every function's environment (tests use it to tune budgets).
	ExtraEnv map[string]string
	// WidgetsAddr is where widgetapi listens (default 127.0.0.1:8080; port 0 picks one).
	WidgetsAddr string
}

// Stack is a running local pipeline.
type Stack struct {
	Project string
	// Env is the configuration every function got (emulator hosts, endpoints, topics).
	Env     map[string]string
	Sandbox *Sandbox
	Store   *state.Store

	opts      Options
	fs        *firestore.Client
	ps        *pubsub.Client
	pub       *bus.Publisher
	procs     map[string]*exec.Cmd
	closers   []func()
	closeOnce sync.Once
	// adminKeyMade is set when devstack made the widgetapi admin key (then it goes in the env
	// file; a key the caller gave does not).
	adminKeyMade bool
}

func (o *Options) defaults() {
	if o.DataDir == "" {
		o.DataDir = ".devstack"
	}
	if abs, err := filepath.Abs(o.DataDir); err == nil {
		o.DataDir = abs
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.SandboxTickets == 0 {
		o.SandboxTickets = 2000
	}
	if o.SandboxChats == 0 {
		o.SandboxChats = 1500
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxDeliveryAttempts == 0 {
		o.MaxDeliveryAttempts = 5
	}
	if o.WidgetsAddr == "" {
		o.WidgetsAddr = "127.0.0.1:8080"
	}
}

// topic returns a topic name from the configuration.
func (s *Stack) topic(variable, def string) string {
	if v := s.Env[variable]; v != "" {
		return v
	}
	return def
}

// Start brings the stack up. Close it when done.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	opts.defaults()
	if err := os.MkdirAll(filepath.Join(opts.DataDir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s := &Stack{opts: opts, Env: map[string]string{}, procs: map[string]*exec.Cmd{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// Every configuration variable is passed on to the functions.
	for _, v := range config.Vars() {
		if val := opts.Getenv(v.Name); val != "" {
			s.Env[v.Name] = val
		}
	}
	for k, v := range opts.ExtraEnv {
		s.Env[k] = v
	}
	s.Project = s.Env["GOOGLE_CLOUD_PROJECT"]
	if s.Project == "" {
		s.Project = "supportsync-local"
		s.Env["GOOGLE_CLOUD_PROJECT"] = s.Project
	}
	if err := s.startEmulators(ctx); err != nil {
		return nil, err
	}
	sb, err := startSandbox(ctx, opts, s.Env)
	if err != nil {
		return nil, err
	}
	s.Sandbox = sb
	s.closers = append(s.closers, sb.Close)
	if err := s.widgetKeys(); err != nil {
		return nil, err
	}

	// Clients for the stack itself (topics, subscriptions, waiting on runs).
	for k, v := range s.Env {
		if k == "PUBSUB_EMULATOR_HOST" || k == "FIRESTORE_EMULATOR_HOST" {
			os.Setenv(k, v)
		}
	}
	if s.fs, err = firestore.NewClient(ctx, s.Project); err != nil {
		return nil, fmt.Errorf("firestore.NewClient: %w", err)
	}
	if s.ps, err = pubsub.NewClient(ctx, s.Project); err != nil {
		return nil, fmt.Errorf("pubsub.NewClient: %w", err)
	}
	s.pub = bus.NewPublisher(s.ps)
	s.Store = state.New(s.fs)
	s.warmFirestore(ctx)

	if err := s.startFunctions(ctx); err != nil {
		return nil, err
	}
	if err := s.wire(ctx); err != nil {
		return nil, err
	}
	if err := s.writeEnvFile(); err != nil {
		return nil, err
	}
	return s, nil
}

// warmFirestore runs a few transactions on a scratch document of the fresh emulator. A cold
// emulator (a JVM still compiling) takes most of a second over a run's first cursor read and
// lease transaction, which real Firestore does not: warmed here, a local run's time is the
// product's. Best effort.
func (s *Stack) warmFirestore(ctx context.Context) {
	doc := s.fs.Collection("devstack").Doc("warmup")
	for i := range 5 {
		_ = s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
			if _, err := tx.Get(doc); err != nil && status.Code(err) != codes.NotFound {
				return err
			}
			return tx.Set(doc, map[string]any{"n": i})
		})
	}
	_, _ = doc.Delete(ctx)
}

func (s *Stack) startEmulators(ctx context.Context) error {
	logs := filepath.Join(s.opts.DataDir, "logs")
	if s.Env["PUBSUB_EMULATOR_HOST"] == "" {
		fmt.Fprintln(s.opts.Out, "starting the Pub/Sub emulator …")
		e, err := emulator.StartPubSub(ctx, s.Project, emulator.Options{LogFile: filepath.Join(logs, "pubsub-emulator.log")})
		if err != nil {
			return err
		}
		s.closers = append(s.closers, func() { e.Stop() })
		s.Env["PUBSUB_EMULATOR_HOST"] = e.Host
		fmt.Fprintf(s.opts.Out, "  Pub/Sub emulator on %s (%.1fs)\n", e.Host, e.Started.Seconds())
	} else {
		fmt.Fprintf(s.opts.Out, "using the Pub/Sub emulator at %s\n", s.Env["PUBSUB_EMULATOR_HOST"])
	}
	if s.Env["FIRESTORE_EMULATOR_HOST"] == "" {
		fmt.Fprintln(s.opts.Out, "starting the Firestore emulator …")
		e, err := emulator.StartFirestore(ctx, emulator.Options{LogFile: filepath.Join(logs, "firestore-emulator.log")})
		if err != nil {
			return err
		}
		s.closers = append(s.closers, func() { e.Stop() })
		s.Env["FIRESTORE_EMULATOR_HOST"] = e.Host
		fmt.Fprintf(s.opts.Out, "  Firestore emulator on %s (%.1fs)\n", e.Host, e.Started.Seconds())
	} else {
		fmt.Fprintf(s.opts.Out, "using the Firestore emulator at %s\n", s.Env["FIRESTORE_EMULATOR_HOST"])
	}
	return nil
}

// EnvFile is the file, under the data directory, that lets other commands reach a running
// stack: `source .devstack/env` then `supportsync status` or `supportsync sync …`.
const EnvFile = "env"

// EnvPath is where the running stack's env file is.
func (s *Stack) EnvPath() string { return filepath.Join(s.opts.DataDir, EnvFile) }

// writeEnvFile writes the stack's addresses (emulators, project, sheet) as shell exports.
func (s *Stack) writeEnvFile() error {
	var b strings.Builder
	b.WriteString("# Written by supportsync devstack: source this file to point other commands at the running stack.\n")
	keys := []string{"GOOGLE_CLOUD_PROJECT", "PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "SPREADSHEET_ID", "SHEETS_API_ENDPOINT",
		"WIDGETAPI_URL", "WIDGETAPI_ADMIN_KEY"}
	if s.Sandbox.HubSpot != nil { // sandbox credentials are not secrets; real ones stay out of the file
		keys = append(keys, "HUBSPOT_API_BASE_URL", "HUBSPOT_TOKEN")
	}
	if s.Sandbox.LiveChat != nil {
		keys = append(keys, "LIVECHAT_API_BASE_URL", "LIVECHAT_ACCOUNT_ID", "LIVECHAT_PAT")
	}
	for _, k := range keys {
		v := s.Env[k]
		switch {
		case k == "WIDGETAPI_URL":
			v = s.WidgetsURL()
		case k == "WIDGETAPI_ADMIN_KEY" && !s.adminKeyMade:
			v = "" // the caller's own key stays out of the file
		}
		if v != "" {
			fmt.Fprintf(&b, "export %s=%q\n", k, v)
		}
	}
	if err := os.WriteFile(s.EnvPath(), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", s.EnvPath(), err)
	}
	return nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startFunctions starts one child process per function and waits until each answers: the
// event functions on free loopback ports, widgetapi on the widgets address.
func (s *Stack) startFunctions(ctx context.Context) error {
	for _, f := range Functions {
		host, port := "127.0.0.1", 0
		if f.HTTP {
			h, p, err := net.SplitHostPort(s.opts.WidgetsAddr)
			if err != nil {
				return fmt.Errorf("--widgets-addr %q: %w", s.opts.WidgetsAddr, err)
			}
			if host = h; host == "" {
				host = "127.0.0.1"
			}
			if port, err = strconv.Atoi(p); err != nil {
				return fmt.Errorf("--widgets-addr %q: bad port", s.opts.WidgetsAddr)
			}
			if l, err := net.Listen("tcp", net.JoinHostPort(host, p)); err != nil {
				return fmt.Errorf("widgets address %s is not free (--widgets-addr): %w", s.opts.WidgetsAddr, err)
			} else {
				if port == 0 {
					port = l.Addr().(*net.TCPAddr).Port
				}
				l.Close()
			}
		} else {
			var err error
			if port, err = freePort(); err != nil {
				return err
			}
		}
		if err := s.startFunction(ctx, f, host, port); err != nil {
			return err
		}
	}
	return nil
}

// startFunction starts one function's child process on host:port and waits until it answers.
func (s *Stack) startFunction(ctx context.Context, f Function, host string, port int) error {
	exe := s.opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find executable: %w", err)
		}
	}
	env := os.Environ()
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	logPath := filepath.Join(s.opts.DataDir, "logs", f.Name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(env, ChildEnv+"=1", "FUNCTION_TARGET="+f.Entry, "PORT="+strconv.Itoa(port), HostEnv+"="+host)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", f.Name, err)
	}
	s.procs[f.Name] = cmd
	s.closers = append(s.closers, func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		logFile.Close()
	})
	dial := host
	if dial == "0.0.0.0" || dial == "::" {
		dial = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(dial, strconv.Itoa(port))
	s.Env["FUNCTION_URL_"+strings.ToUpper(f.Name)] = url
	if err := waitHTTP(ctx, url, 30*time.Second); err != nil {
		return fmt.Errorf("function %s did not start (log %s): %w", f.Name, logPath, err)
	}
	fmt.Fprintf(s.opts.Out, "  function %s (%s) on %s, log %s\n", f.Name, f.Entry, url, logPath)
	return nil
}

// RestartFunction kills a function's process (as a crash would) and starts it again on the
// same port, so its push subscription reaches it again.
func (s *Stack) RestartFunction(ctx context.Context, name string) error {
	cmd, ok := s.procs[name]
	if !ok {
		return fmt.Errorf("no function %s", name)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
	url := s.Env["FUNCTION_URL_"+strings.ToUpper(name)]
	port, err := strconv.Atoi(url[strings.LastIndex(url, ":")+1:])
	if err != nil {
		return err
	}
	for _, f := range Functions {
		if f.Name == name {
			host := cmd.Env[len(cmd.Env)-1][len(HostEnv)+1:]
			return s.startFunction(ctx, f, host, port)
		}
	}
	return fmt.Errorf("no function %s", name)
}

// waitHTTP polls until something listens at url's host:port (a plain connection: the
// functions answer only CloudEvents, so an HTTP probe would log noise).
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := strings.TrimPrefix(url, "http://")
	if strings.HasPrefix(addr, "[") {
		addr = strings.TrimSuffix(addr, "/")
	}
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// wire creates the topics and the push subscriptions that deliver them to the functions.
func (s *Stack) wire(ctx context.Context) error {
	dead := s.topic("TOPIC_DEAD_LETTER", "dead-letter")
	for _, t := range []string{
		s.topic("TOPIC_SYNC_TICKETS", "sync-tickets"), s.topic("TOPIC_SYNC_CHATS", "sync-chats"),
		s.topic("TOPIC_RAW_BATCHES", "raw-batches"), s.topic("TOPIC_RUNS_COMPLETED", "runs-completed"), dead,
	} {
		if err := bus.EnsureTopic(ctx, s.ps, s.Project, t); err != nil {
			return err
		}
	}
	for _, f := range Functions {
		if f.HTTP {
			continue
		}
		topic := s.topic(f.TopicVar, f.TopicDefault)
		sub := bus.Subscription{
			Name:         f.Name + "-push",
			Topic:        topic,
			PushEndpoint: fmt.Sprintf("%s/projects/%s/topics/%s", s.Env["FUNCTION_URL_"+strings.ToUpper(f.Name)], s.Project, topic),
			AckDeadline:  600 * time.Second,
			MinBackoff:   s.opts.MinBackoff,
			MaxBackoff:   10 * s.opts.MinBackoff,
		}
		if f.DeadLetter {
			sub.DeadLetterTopic = dead
			sub.MaxDeliveryAttempts = s.opts.MaxDeliveryAttempts
		}
		if err := bus.EnsureSubscription(ctx, s.ps, s.Project, sub); err != nil {
			return err
		}
	}
	// Dead-lettered batches wait here for `supportsync replay`.
	return bus.EnsureSubscription(ctx, s.ps, s.Project, bus.Subscription{Name: dead + "-replay", Topic: dead})
}

// Close stops the functions, the sandbox and the emulators the stack started.
func (s *Stack) Close() {
	s.closeOnce.Do(func() {
		if s.pub != nil {
			s.pub.Close()
		}
		if s.ps != nil {
			s.ps.Close()
		}
		if s.fs != nil {
			s.fs.Close()
		}
		for i := len(s.closers) - 1; i >= 0; i-- {
			s.closers[i]()
		}
	})
}

// Summary is what a finished run did, as printed at the end of a sync.
type Summary struct {
	Run     state.Run
	Seconds float64
	// ProcessPeakRSS is the process function's peak resident memory so far, in bytes (0 when
	// unknown).
	ProcessPeakRSS int64
}

// Sync publishes a sync request for source and waits until its run has completed or failed,
// printing progress. A run that makes no progress for stall fails the wait.
func (s *Stack) Sync(ctx context.Context, source batch.Source, mode batch.Mode, stall time.Duration) (Summary, error) {
	return s.SyncRequest(ctx, source, batch.SyncRequest{Mode: mode}, stall)
}

// SyncRequest is Sync with a whole request (allow_deletions, since); its run id is made here.
func (s *Stack) SyncRequest(ctx context.Context, source batch.Source, req batch.SyncRequest, stall time.Duration) (Summary, error) {
	topic := s.topic("TOPIC_SYNC_TICKETS", "sync-tickets")
	if source == batch.Chats {
		topic = s.topic("TOPIC_SYNC_CHATS", "sync-chats")
	}
	sum, err := RequestSync(ctx, s.pub, s.Store, topic, source, req, stall, s.opts.Out)
	sum.ProcessPeakRSS = s.PeakRSS("process")
	return sum, err
}

// RequestSync publishes req for source on topic with a new run id, then waits for the run as
// WaitRun does. The stack and the CLI's sync command (against any deployment) use it.
func RequestSync(ctx context.Context, pub *bus.Publisher, store *state.Store, topic string, source batch.Source,
	req batch.SyncRequest, stall time.Duration, out io.Writer) (Summary, error) {
	start := time.Now()
	runID := fetch.NewRunID(source, start)
	req.RunID = runID
	mode := req.Mode
	data, _ := json.Marshal(req)
	if _, err := pub.Publish(ctx, topic, data, nil); err != nil {
		return Summary{}, err
	}
	fmt.Fprintf(out, "%s %s sync requested on %s: run %s\n", source, mode, topic, runID)
	run, err := WaitRun(ctx, store, runID, stall, out)
	return Summary{Run: run, Seconds: time.Since(start).Seconds()}, err
}

// WaitRun polls the run ledger until the run completes or fails, printing a line whenever
// more batches have landed or the fetch took another turn. It fails when nothing moves for
// stall.
func WaitRun(ctx context.Context, store *state.Store, runID string, stall time.Duration, out io.Writer) (state.Run, error) {
	lastChange := time.Now()
	lastLanded, lastTurn, lastState := -1, 0, runlife.State("")
	for {
		run, ok, err := store.Run(ctx, runID)
		if err != nil {
			return run, err
		}
		if ok && (run.Landed != lastLanded || run.State != lastState || run.TurnNumber != lastTurn) {
			lastChange, lastLanded, lastState, lastTurn = time.Now(), run.Landed, run.State, run.TurnNumber
			exp := "?"
			if run.Expected > 0 {
				exp = strconv.Itoa(run.Expected)
			}
			fmt.Fprintf(out, "  %-9s batches %d/%s  fetch turn %d  fetched %d  inserted %d  updated %d\n",
				run.State, run.Landed, exp, run.TurnNumber, run.Counts.Fetched, run.Counts.Inserted, run.Counts.Updated)
		}
		switch {
		case ok && run.State == runlife.Completed:
			return run, nil
		case ok && run.State == runlife.Failed:
			return run, fmt.Errorf("run %s failed: %s", runID, run.Error)
		case time.Since(lastChange) > stall:
			if !ok {
				return run, fmt.Errorf("run %s did not start within %s (another run may hold the lease; see `supportsync status`)", runID, stall)
			}
			return run, fmt.Errorf("run %s made no progress for %s (state %s, %s): a batch may be dead-lettered; see the process log and `supportsync replay`", runID, stall, run.State, run.Progress.Describe())
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// PeakRSS returns a function process's peak resident set size in bytes (Linux VmHWM), or 0.
func (s *Stack) PeakRSS(function string) int64 {
	cmd, ok := s.procs[function]
	if !ok || cmd.Process == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
