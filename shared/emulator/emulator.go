// Package emulator starts and stops the official Google Cloud emulators (Firestore and
// Pub/Sub, both shipped with gcloud and run on Java) for tests and for the CLI's local stack.
//
// Each emulator runs on a free loopback port in its own session and process group, so Stop
// ends the gcloud wrapper and the Java server it spawns together (killing only the wrapper
// would leave Java running). A small watchdog shell in the same group reads a pipe held by
// this process: if this process dies without calling Stop (a crashed CLI, a test binary
// killed by -timeout), the pipe closes and the watchdog ends the group, so no emulator
// outlives the process that started it.
//
// The package needs a Unix-like system with /bin/sh, gcloud on PATH (or Options.Gcloud) with
// the cloud-firestore-emulator and pubsub-emulator components, and a Java runtime. With
// gcloud 528 the Firestore emulator still runs on Java 17 (it warns that later releases need
// Java 21).
package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options tunes how an emulator is started. The zero value is ready to use.
type Options struct {
	// Gcloud is the gcloud executable; default "gcloud" looked up on PATH.
	Gcloud string
	// LogFile, when set, receives the emulator's output (created or truncated).
	LogFile string
	// Log, when set (and LogFile is not), receives the emulator's output. It must be safe to
	// write from another goroutine. With neither set the output is discarded, except for the
	// tail kept for error messages.
	Log io.Writer
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// DataDir is the Pub/Sub emulator's --data-dir; default a temporary directory removed by
	// Stop. Ignored by the Firestore emulator, which keeps its data in memory.
	DataDir string
	// StartTimeout bounds the wait until the emulator answers; default 90s.
	StartTimeout time.Duration
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL; default 5s.
	StopGrace time.Duration
	// Env adds environment variables (KEY=VALUE) to the emulator's environment, for example
	// JAVA_HOME or PATH to pick another Java.
	Env []string
}

// Emulator is a running emulator. Stop it when done.
type Emulator struct {
	// Kind is "firestore" or "pubsub".
	Kind string
	// Host is the address clients dial, "127.0.0.1:PORT" (the value for
	// FIRESTORE_EMULATOR_HOST or PUBSUB_EMULATOR_HOST).
	Host string
	// Project is the project the Pub/Sub emulator was started with (empty for Firestore).
	Project string
	// Started is how long the emulator took from launch until it answered.
	Started time.Duration

	cmd     *exec.Cmd
	stdin   io.Closer
	logFile *os.File
	tail    *tailBuffer
	tempDir string
	grace   time.Duration
	exited  chan struct{} // closed when the process-group leader has exited
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// StartFirestore starts `gcloud emulators firestore start` on a free loopback port and waits
// until it answers "Ok" on GET /.
func StartFirestore(ctx context.Context, opts Options) (*Emulator, error) {
	return start(ctx, "firestore", "", opts)
}

// StartPubSub starts `gcloud beta emulators pubsub start` for project on a free loopback port
// and waits until it answers on its port.
func StartPubSub(ctx context.Context, project string, opts Options) (*Emulator, error) {
	if project == "" {
		return nil, errors.New("emulator.StartPubSub: empty project")
	}
	return start(ctx, "pubsub", project, opts)
}

// PGID is the id of the emulator's process group (equal to the pid of its leader).
func (e *Emulator) PGID() int { return e.cmd.Process.Pid }

// Log returns the last few KiB of the emulator's output.
func (e *Emulator) Log() string { return e.tail.String() }

// watchdog is the emulator's launcher, run by /bin/sh as a new session's leader. It forks a
// watchdog job that waits for EOF on the inherited stdin (fd 3), a pipe this process holds:
// when the pipe closes (this process is gone) it ends the whole group. Then it execs gcloud,
// which therefore stays the session leader: gcloud moves itself into a process group of its
// own unless it leads its session, so this keeps gcloud, Java and the watchdog in one group.
const watchdog = `exec 3<&0
{ read -r _ <&3; trap '' TERM; kill -TERM 0; sleep 5; kill -KILL 0; } >/dev/null 2>&1 </dev/null &
exec "$@" </dev/null 3<&-`

func start(ctx context.Context, kind, project string, opts Options) (*Emulator, error) {
	if opts.Gcloud == "" {
		opts.Gcloud = "gcloud"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 90 * time.Second
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	gcloud, err := exec.LookPath(opts.Gcloud)
	if err != nil {
		return nil, fmt.Errorf("emulator: %s emulator needs gcloud (Google Cloud SDK with the emulator components and Java): %w", kind, err)
	}
	// A port picked by listening on :0 can be taken by someone else before the emulator binds
	// it; retry with another port when the emulator exits early saying so.
	for attempt := 1; ; attempt++ {
		e, err := launch(ctx, gcloud, kind, project, opts)
		if err == nil || opts.Port != 0 || attempt == 3 || !errors.Is(err, errAddrInUse) {
			return e, err
		}
	}
}

var errAddrInUse = errors.New("address already in use")

func launch(ctx context.Context, gcloud, kind, project string, opts Options) (*Emulator, error) {
	port := opts.Port
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("emulator: picking a port: %w", err)
		}
		port = p
	}
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	e := &Emulator{Kind: kind, Host: host, Project: project, tail: &tailBuffer{max: 8 << 10}, grace: opts.StopGrace, exited: make(chan struct{})}

	args := []string{"emulators", "firestore", "start", "--host-port=" + host}
	if kind == "pubsub" {
		dir := opts.DataDir
		if dir == "" {
			d, err := os.MkdirTemp("", "pubsub-emulator-")
			if err != nil {
				return nil, fmt.Errorf("emulator: %w", err)
			}
			dir, e.tempDir = d, d
		}
		args = []string{"beta", "emulators", "pubsub", "start", "--host-port=" + host, "--project=" + project, "--data-dir=" + dir}
	}

	var out io.Writer = e.tail
	switch {
	case opts.LogFile != "":
		f, err := os.Create(opts.LogFile)
		if err != nil {
			e.cleanupFiles()
			return nil, fmt.Errorf("emulator: log file: %w", err)
		}
		e.logFile = f
		out = io.MultiWriter(f, e.tail)
	case opts.Log != nil:
		out = io.MultiWriter(opts.Log, e.tail)
	}

	// Not exec.CommandContext: ctx bounds the start only, the emulator lives until Stop.
	cmd := exec.Command("/bin/sh", append([]string{"-c", watchdog, "emulator", gcloud}, args...)...)
	cmd.Env = append(append(os.Environ(), "CLOUDSDK_CORE_DISABLE_PROMPTS=1"), opts.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		e.cleanupFiles()
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e.cmd, e.stdin = cmd, stdin
	began := time.Now()
	if err := cmd.Start(); err != nil {
		e.cleanupFiles()
		return nil, fmt.Errorf("emulator: starting %s emulator: %w", kind, err)
	}
	go func() {
		e.waitErr = cmd.Wait()
		close(e.exited)
	}()

	if err := e.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = e.Stop()
		msg := e.tail.String()
		if strings.Contains(msg, "Address already in use") || strings.Contains(msg, "BindException") {
			err = fmt.Errorf("%w: %w", err, errAddrInUse)
		}
		return nil, fmt.Errorf("emulator: %s emulator on %s: %w\n--- emulator output (tail) ---\n%s", kind, host, err, msg)
	}
	e.Started = time.Since(began)
	return e, nil
}

// waitReady polls GET http://Host/ until the emulator answers 200 (both emulators answer
// "Ok"), the process exits, ctx ends or the timeout passes.
func (e *Emulator) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	delay := 50 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.Host+"/", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.HasPrefix(bytes.TrimSpace(body), []byte("Ok")) {
				return nil
			}
		}
		select {
		case <-e.exited:
			return fmt.Errorf("exited before it answered (%v)", e.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not answering after %v: %w", timeout, context.Cause(ctx))
		case <-time.After(delay):
		}
		delay = min(delay*3/2, 500*time.Millisecond)
	}
}

// Stop ends the emulator's whole process group: SIGTERM, then SIGKILL if anything in the
// group is still alive after the grace period. It waits until the group is gone and is safe
// to call more than once.
func (e *Emulator) Stop() error {
	e.stopOnce.Do(func() {
		e.stopErr = e.stop()
		e.cleanupFiles()
	})
	return e.stopErr
}

func (e *Emulator) stop() error {
	pgid := e.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	if !waitGroupGone(pgid, e.grace) {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if !waitGroupGone(pgid, 5*time.Second) {
			return fmt.Errorf("emulator: %s emulator: process group %d still alive after SIGKILL", e.Kind, pgid)
		}
	}
	select {
	case <-e.exited:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("emulator: %s emulator: leader %d did not exit", e.Kind, pgid)
	}
	_ = e.stdin.Close()
	return nil
}

func (e *Emulator) cleanupFiles() {
	if e.logFile != nil {
		_ = e.logFile.Close()
	}
	if e.tempDir != "" {
		_ = os.RemoveAll(e.tempDir)
	}
}

// waitGroupGone polls until no live process is left in the group or d passes.
func waitGroupGone(pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !GroupAlive(pgid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
