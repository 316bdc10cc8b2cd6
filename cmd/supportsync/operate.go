package main

// The operator's toolkit: schedules, leases, cursors, peeking at dead letters, and the Sheets
// identity of `check`. Each works against the cloud (your gcloud application-default login)
// and against devstack (`source .devstack/env`).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/impersonate"
	"google.golang.org/api/option"
	sheetsapi "google.golang.org/api/sheets/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"supportsync.dev/cmd/internal/schedules"
	"supportsync.dev/shared/bus"
	"supportsync.dev/shared/config"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/state"
)

// defaultRegion is terraform/variables.tf's default region.
const defaultRegion = "northamerica-northeast1"

// regionDefault is SUPPORTSYNC_REGION, else the Terraform default region.
func regionDefault(getenv func(string) string) string {
	if r := getenv("SUPPORTSYNC_REGION"); r != "" {
		return r
	}
	return defaultRegion
}

// sheetsWho says which identity `check` reads the sheet as.
type sheetsWho struct {
	endpoint string // SHEETS_API_ENDPOINT: another server, no credentials
	account  string // service account to impersonate; "" = the caller's own credentials
}

func (w sheetsWho) label() string {
	switch {
	case w.endpoint != "":
		return " at " + w.endpoint
	case w.account != "":
		return ", as " + w.account
	}
	return ", as you"
}

// sheetsIdentity decides the identity: flag "none" means the caller's own credentials, an
// e-mail that account, empty the process function's account (fn-process@<project>), which is
// the account the sheet is shared with.
func sheetsIdentity(cfg *config.Config, flag string) sheetsWho {
	switch {
	case cfg.SheetsEndpoint != "":
		return sheetsWho{endpoint: cfg.SheetsEndpoint}
	case flag == "none":
		return sheetsWho{}
	case flag != "":
		return sheetsWho{account: flag}
	}
	return sheetsWho{account: "fn-process@" + cfg.Project + ".iam.gserviceaccount.com"}
}

// sheetsService builds the Sheets client for who: impersonation mints the process account's
// tokens with the Sheets scope from the caller's credentials (which need Token Creator on it).
func sheetsService(ctx context.Context, cfg *config.Config, who sheetsWho) (*sheetsapi.Service, error) {
	if who.endpoint != "" || who.account == "" {
		return sheets.NewService(ctx, who.endpoint, nil)
	}
	ts, err := impersonate.CredentialsTokenSource(ctx, impersonate.CredentialsConfig{
		TargetPrincipal: who.account,
		Scopes:          []string{sheetsapi.SpreadsheetsScope},
	})
	if err != nil {
		return nil, fmt.Errorf("impersonate %s: %w", who.account, err)
	}
	svc, err := sheetsapi.NewService(ctx, option.WithTokenSource(ts))
	if err != nil {
		return nil, fmt.Errorf("sheets.NewService: %w", err)
	}
	return svc, nil
}

// explainSheets turns a refused Sheets call into what to do.
func explainSheets(err error, who sheetsWho) error {
	if err == nil {
		return nil
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case http.StatusForbidden:
			if who.account != "" && strings.Contains(ge.Message, "iam.serviceAccounts.getAccessToken") {
				return fmt.Errorf("you may not impersonate %s: grant yourself roles/iam.serviceAccountTokenCreator on it (terraform variable operators, or README \"API access\"): %w", who.account, err)
			}
			if who.account != "" {
				return fmt.Errorf("%s cannot open the sheet: share it with that account as Editor: %w", who.account, err)
			}
			return fmt.Errorf("the sheet is not shared with these credentials: %w", err)
		case http.StatusNotFound:
			return fmt.Errorf("no spreadsheet with this id (SPREADSHEET_ID is the long id in its URL): %w", err)
		}
	}
	if strings.Contains(err.Error(), "getAccessToken") {
		return fmt.Errorf("you may not impersonate %s: grant yourself roles/iam.serviceAccountTokenCreator on it: %w", who.account, err)
	}
	return err
}

// schedulerClient returns the Cloud Scheduler client of the project's region, or explains why
// there is none (devstack has no Cloud Scheduler: it syncs on its own interval).
func schedulerClient(ctx context.Context, project, region string, getenv func(string) string) (*schedules.Client, error) {
	endpoint := getenv("CLOUD_SCHEDULER_ENDPOINT")
	if endpoint == "" && getenv("PUBSUB_EMULATOR_HOST") != "" {
		return nil, errors.New("this is devstack (PUBSUB_EMULATOR_HOST is set): it has no Cloud Scheduler and syncs on its own --interval; set CLOUD_SCHEDULER_ENDPOINT to use another scheduler server")
	}
	return schedules.New(ctx, project, region, endpoint)
}

// resumeAfterCheck resumes every supportsync schedule (after a passing check).
func resumeAfterCheck(ctx context.Context, project, region string, getenv func(string) string, out io.Writer) error {
	c, err := schedulerClient(ctx, project, region, getenv)
	if err != nil {
		return err
	}
	jobs, err := c.Jobs(ctx)
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		return fmt.Errorf("no supportsync scheduler jobs in %s (wrong --region?)", region)
	}
	jobs, err = c.Resume(ctx, jobs)
	printJobs(out, jobs)
	return err
}

func printJobs(out io.Writer, jobs []schedules.Job) {
	for _, j := range jobs {
		line := fmt.Sprintf("  %-26s %-8s %-14s %s", j.Name, j.State, j.Schedule, j.TimeZone)
		if j.LastAttempt != "" {
			line += "  last " + j.LastAttempt
		}
		if j.LastError != "" {
			line += "  last attempt failed: " + j.LastError
		}
		fmt.Fprintln(out, line)
	}
}

// cmdSchedules lists, pauses or resumes the Cloud Scheduler jobs.
func cmdSchedules(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{errors.New("want list, pause or resume")}
	}
	verb := args[0]
	if verb != "list" && verb != "pause" && verb != "resume" {
		return usageError{fmt.Errorf("unknown action %q: want list, pause or resume", verb)}
	}
	fs := newFlags("schedules "+verb, out)
	source := fs.String("source", "all", "tickets, chats or all")
	region := fs.String("region", regionDefault(getenv), "region of the jobs (env SUPPORTSYNC_REGION)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	sources, err := parseSources(*source)
	if err != nil {
		return usageError{err}
	}
	cfg, err := config.Load(getenv, 0)
	if err != nil {
		return err
	}
	if cfg.Project == "" {
		return errors.New("GOOGLE_CLOUD_PROJECT is not set")
	}
	c, err := schedulerClient(ctx, cfg.Project, *region, getenv)
	if err != nil {
		return err
	}
	var names []string
	for _, s := range sources {
		names = append(names, string(s))
	}
	jobs, err := c.Jobs(ctx, names...)
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		return fmt.Errorf("no supportsync scheduler jobs for %s in %s/%s (wrong --region?)", *source, cfg.Project, *region)
	}
	switch verb {
	case "pause":
		jobs, err = c.Pause(ctx, jobs)
	case "resume":
		jobs, err = c.Resume(ctx, jobs)
	}
	printJobs(out, jobs)
	return err
}

// openStore returns the Firestore-backed state of the configured project.
func openStore(ctx context.Context, getenv func(string) string) (*state.Store, func(), error) {
	cfg, err := config.Load(getenv, config.NeedFirestore)
	if err != nil {
		return nil, nil, err
	}
	c, err := firestore.NewClient(ctx, cfg.Project)
	if err != nil {
		return nil, nil, fmt.Errorf("firestore.NewClient: %w", err)
	}
	return state.New(c), func() { c.Close() }, nil
}

// oneSource parses --source for commands that act on exactly one source.
func oneSource(s string) (string, error) {
	if s != "tickets" && s != "chats" {
		return "", fmt.Errorf("--source %q: want tickets or chats", s)
	}
	return s, nil
}

// cmdLease releases a source's lease: `lease release --source S [--run ID]`.
func cmdLease(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 || args[0] != "release" {
		return usageError{errors.New("want: lease release --source tickets|chats [--run RUN_ID] [--reason TEXT]")}
	}
	fs := newFlags("lease release", out)
	source := fs.String("source", "", "tickets or chats")
	runID := fs.String("run", "", "release only if this run holds the lease (as `status` showed it)")
	reason := fs.String("reason", "stuck", "why, recorded as the run's error")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	src, err := oneSource(*source)
	if err != nil {
		return usageError{err}
	}
	store, done, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer done()
	rel, err := store.ForceReleaseLease(ctx, src, *runID, *reason)
	if err != nil {
		return err
	}
	if rel.RunID == "" {
		fmt.Fprintf(out, "%s: the lease is free; nothing to release\n", src)
		return nil
	}
	when := "would have expired " + rel.Expires.Format(time.RFC3339)
	if rel.Expired {
		when = "had expired " + rel.Expires.Format(time.RFC3339)
	}
	fmt.Fprintf(out, "%s: released the lease of run %s (it %s)\n", src, rel.RunID, when)
	if rel.FailedRun {
		fmt.Fprintf(out, "%s: run %s (%s) marked failed: its late batches cannot land; the cursor did not move\n", src, rel.RunID, rel.RunState)
	}
	fmt.Fprintf(out, "start a new run with: supportsync sync --source %s\n", src)
	return nil
}

// cmdCursor resets a source's cursor: `cursor reset --source S`.
func cmdCursor(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 || args[0] != "reset" {
		return usageError{errors.New("want: cursor reset --source tickets|chats")}
	}
	fs := newFlags("cursor reset", out)
	source := fs.String("source", "", "tickets or chats")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	src, err := oneSource(*source)
	if err != nil {
		return usageError{err}
	}
	store, done, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer done()
	before, found, err := store.ResetCursor(ctx, src)
	var busy *state.BusyError
	if errors.As(err, &busy) {
		return fmt.Errorf("%w; wait for that run to finish, or release it first (supportsync lease release --source %s --run %s)", err, src, busy.Holder)
	}
	if err != nil {
		return err
	}
	if !found || before.HighWater.IsZero() {
		fmt.Fprintf(out, "%s: no cursor to reset; the next run reads the whole retention window\n", src)
		return nil
	}
	fmt.Fprintf(out, "%s: cursor reset (it was %s, set by run %s)\n", src, before.HighWater.Format(time.RFC3339), before.RunID)
	fmt.Fprintf(out, "the next run reads the whole retention window; start it now with: supportsync sync --source %s --mode full\n", src)
	return nil
}

// peek prints the messages waiting on sub without taking them. It pulls with unary Pull
// calls and gives each lease back at once with ModifyAckDeadline 0, waiting for that call to be
// answered, so the messages are offered again (to replay) the moment peek returns — a streaming
// receive may still hold leases for a while after it stops. It stops after limit messages or
// idle without a new one.
func peek(ctx context.Context, c *pubsub.Client, project, sub string, limit int, idle time.Duration, out io.Writer) (int, error) {
	name := bus.SubscriptionName(project, sub)
	seen := map[string]bool{}
	for last := time.Now(); len(seen) < limit && time.Since(last) <= idle; {
		pctx, cancel := context.WithTimeout(ctx, min(idle, 5*time.Second))
		resp, err := c.SubscriptionAdminClient.Pull(pctx, &pubsubpb.PullRequest{Subscription: name, MaxMessages: 10})
		cancel()
		if ctx.Err() != nil {
			return len(seen), ctx.Err()
		}
		if err != nil && status.Code(err) != codes.DeadlineExceeded {
			return len(seen), fmt.Errorf("pull %s: %w", sub, err)
		}
		var leases []string
		fresh := false
		for _, rm := range resp.GetReceivedMessages() {
			leases = append(leases, rm.GetAckId())
			m := rm.GetMessage()
			if seen[m.GetMessageId()] || len(seen) >= limit {
				continue // offered again after its lease was given back
			}
			seen[m.GetMessageId()], fresh = true, true
			keys := make([]string, 0, len(m.GetAttributes()))
			for k := range m.GetAttributes() {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var attrs []string
			for _, k := range keys {
				attrs = append(attrs, k+"="+m.GetAttributes()[k])
			}
			attempt := ""
			if n := rm.GetDeliveryAttempt(); n > 0 {
				attempt = fmt.Sprintf("  attempt %d", n)
			}
			fmt.Fprintf(out, "  %s  published %s  %d bytes  %s%s\n", m.GetMessageId(), m.GetPublishTime().AsTime().UTC().Format(time.RFC3339), len(m.GetData()), strings.Join(attrs, " "), attempt)
		}
		if len(leases) > 0 {
			if err := c.SubscriptionAdminClient.ModifyAckDeadline(context.WithoutCancel(ctx), &pubsubpb.ModifyAckDeadlineRequest{
				Subscription: name, AckIds: leases, AckDeadlineSeconds: 0}); err != nil {
				return len(seen), fmt.Errorf("give back %d peeked message(s) on %s: %w", len(leases), sub, err)
			}
		}
		if fresh {
			last = time.Now()
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	return len(seen), nil
}
