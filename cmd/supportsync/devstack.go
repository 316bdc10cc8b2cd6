package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"supportsync.dev/cmd/internal/devstack"
	"supportsync.dev/shared/batch"
)

// cmdDevstack runs the local stack: a sync (full on first start), then incremental syncs on
// an interval while serving; or with --once, one sync to the end.
func cmdDevstack(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("devstack", out)
	once := fs.Bool("once", false, "run one sync to the end, print its summary and exit (non-zero on failure)")
	source := fs.String("source", "all", "tickets, chats or all")
	mode := fs.String("mode", "", "full or incremental (default: full when the source has no cursor yet, else incremental)")
	data := fs.String("data", ".devstack", "directory for local state (the local sheet, logs)")
	interval := fs.Duration("interval", time.Minute, "time between incremental syncs when not --once")
	tickets := fs.Int("sandbox-tickets", 2000, "tickets in the sandbox HubSpot")
	chats := fs.Int("sandbox-chats", 1500, "threads in the sandbox LiveChat")
	limits := fs.Bool("sandbox-limits", true, "apply HubSpot's and LiveChat's real rate limits in the sandbox")
	latency := fs.Duration("sandbox-latency", 0, "delay every sandbox HubSpot and LiveChat answer by this much (a slow API)")
	stall := fs.Duration("stall", 2*time.Minute, "fail a sync that makes no progress for this long")
	widgetsAddr := fs.String("widgets-addr", "127.0.0.1:8080", "address widgetapi listens on")
	serve := fs.Bool("serve", false, "with --once: after the sync and its publish, keep serving the widgets until interrupted")
	if err := parse(fs, args); err != nil {
		return err
	}
	sources, err := parseSources(*source)
	if err != nil {
		return usageError{err}
	}
	if *mode != "" && *mode != string(batch.Full) && *mode != string(batch.Incremental) {
		return usageError{fmt.Errorf("--mode %q: want full or incremental", *mode)}
	}
	if *serve && !*once {
		return usageError{fmt.Errorf("--serve goes with --once (without --once devstack always serves)")}
	}
	stack, err := devstack.Start(ctx, devstack.Options{
		DataDir: *data, Getenv: getenv, Out: out, SandboxTickets: *tickets, SandboxChats: *chats, SandboxLimits: *limits,
		SandboxLatency: *latency,
		WidgetsAddr:    *widgetsAddr,
	})
	if err != nil {
		return err
	}
	defer stack.Close()
	fmt.Fprintf(out, "widgets on %s/widgets (the dashboard: any user name, the admin key as password)\n", stack.WidgetsURL())
	if u, err := stack.MintURL(ctx, "tickets-created", nil, 24*time.Hour); err != nil {
		fmt.Fprintln(out, "could not mint an example widget URL:", err)
	} else {
		fmt.Fprintf(out, "example widget data (signed, valid 24h): %s\n", u)
		if p, err := stack.MintPage(ctx, "tickets-created", 24*time.Hour); err == nil {
			fmt.Fprintf(out, "example widget page (signed, valid 24h): %s\n", p)
		}
	}
	if getenv("WIDGETAPI_ADMIN_KEY") == "" {
		fmt.Fprintf(out, "widget API admin key: WIDGETAPI_ADMIN_KEY in %s\n", stack.EnvPath())
	}
	if st, err := stack.AskStatus(ctx); err != nil {
		fmt.Fprintln(out, "could not check ask:", err)
	} else if st.Enabled {
		fmt.Fprintf(out, "ask on POST %s/api/v1/ask (model %s)\n", stack.WidgetsURL(), st.Model)
	} else {
		fmt.Fprintf(out, "ask is off: %s\n", st.Reason)
	}

	var lastFinished time.Time
	syncAll := func(m batch.Mode) error {
		for _, src := range sources {
			mm := m
			if mm == "" {
				mm = batch.Incremental
				if _, found, err := stack.Store.Cursor(ctx, string(src)); err == nil && !found {
					mm = batch.Full
				}
			}
			sum, err := stack.Sync(ctx, src, mm, *stall)
			printSummary(out, sum)
			if sum.Run.Finished.After(lastFinished) {
				lastFinished = sum.Run.Finished
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := syncAll(batch.Mode(*mode)); err != nil {
		return err
	}
	// publish runs after each completed run; wait until the widgets show this sync.
	if p, err := stack.WaitPublished(ctx, lastFinished, 3*time.Minute); err != nil {
		if *once {
			return err
		}
		fmt.Fprintln(out, "publish:", err)
	} else {
		fmt.Fprintf(out, "widget dataset %s published: %d tickets, %d chats, as of %s\n", p.Version, p.Tickets, p.Chats, p.AsOf.Format(time.RFC3339))
	}
	if *once && !*serve {
		return nil
	}
	if *once {
		fmt.Fprintf(out, "serving the widgets on %s/widgets; Ctrl-C to stop\n", stack.WidgetsURL())
		<-ctx.Done()
		return nil
	}
	if stack.Sandbox.SheetPath != "" {
		fmt.Fprintf(out, "the local sheet is %s\n", stack.Sandbox.SheetPath)
	}
	fmt.Fprintf(out, "to run `supportsync status` or `supportsync sync` against this stack: source %s\n", stack.EnvPath())
	fmt.Fprintf(out, "syncing incrementally every %s; Ctrl-C to stop\n", *interval)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*interval):
		}
		stack.Sandbox.Churn(time.Now())
		if err := syncAll(batch.Incremental); err != nil {
			fmt.Fprintln(out, "sync failed:", err)
		}
	}
}

// parseSources expands --source.
func parseSources(s string) ([]batch.Source, error) {
	if s == "all" {
		return devstack.Sources(), nil
	}
	src, err := batch.ParseSource(s)
	if err != nil {
		return nil, err
	}
	for _, have := range devstack.Sources() {
		if have == src {
			return []batch.Source{src}, nil
		}
	}
	return nil, fmt.Errorf("source %s is not available yet", s)
}

// printSummary prints a run's closing lines.
func printSummary(out io.Writer, sum devstack.Summary) {
	r := sum.Run
	if r.ID == "" {
		return
	}
	c := r.Counts
	rate := 0.0
	if sum.Seconds > 0 {
		rate = float64(c.Fetched) / sum.Seconds
	}
	fmt.Fprintf(out, "run %s (%s %s): %s in %d fetch turns, %d batches\n", r.ID, r.Source, r.Mode, r.State, r.TurnNumber, r.Landed)
	fmt.Fprintf(out, "  fetched %d  inserted %d  updated %d  deleted %d  excluded %d  rejected %d  warnings %d\n",
		c.Fetched, c.Inserted, c.Updated, c.Deleted, c.Excluded, c.Rejected, c.Warnings)
	fmt.Fprintf(out, "  api requests %d  sheets requests %d  seconds %.1f  records/s %.0f", c.APIRequests, c.SheetsRequests, sum.Seconds, rate)
	if sum.ProcessPeakRSS > 0 {
		fmt.Fprintf(out, "  process peak memory %.0f MiB", float64(sum.ProcessPeakRSS)/(1<<20))
	}
	fmt.Fprintln(out)
}
