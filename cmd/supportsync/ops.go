package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"supportsync.dev/cmd/internal/access"
	"supportsync.dev/cmd/internal/deploy"
	"supportsync.dev/cmd/internal/devstack"
	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/bus"
	"supportsync.dev/shared/config"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/state"
)

// cmdSync publishes a sync request to a deployed (or already running local) pipeline and
// waits until the run has landed.
func cmdSync(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("sync", out)
	source := fs.String("source", "all", "tickets, chats or all")
	mode := fs.String("mode", "incremental", "full or incremental")
	stall := fs.Duration("stall", 5*time.Minute, "fail when the run makes no progress for this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	sources, err := parseSources(*source)
	if err != nil {
		return usageError{err}
	}
	if *mode != string(batch.Full) && *mode != string(batch.Incremental) {
		return usageError{fmt.Errorf("--mode %q: want full or incremental", *mode)}
	}
	cfg, err := config.Load(getenv, config.NeedPubSub|config.NeedFirestore)
	if err != nil {
		return err
	}
	fsc, err := firestore.NewClient(ctx, cfg.Project)
	if err != nil {
		return fmt.Errorf("firestore.NewClient: %w", err)
	}
	defer fsc.Close()
	psc, err := pubsub.NewClient(ctx, cfg.Project)
	if err != nil {
		return fmt.Errorf("pubsub.NewClient: %w", err)
	}
	defer psc.Close()
	pub := bus.NewPublisher(psc)
	defer pub.Close()
	store := state.New(fsc)
	for _, src := range sources {
		topic := cfg.TopicSyncTickets
		if src == batch.Chats {
			topic = cfg.TopicSyncChats
		}
		sum, err := devstack.RequestSync(ctx, pub, store, topic, src, batch.Mode(*mode), *stall, out)
		printSummary(out, sum)
		if err != nil {
			return err
		}
	}
	return nil
}

// cmdCheck tests every configured connection and credential, one line each, and fails if
// any fails. HubSpot and LiveChat are tried with one call per scope the sync needs, so a
// refused call names the missing scope and where to grant it. Against Google, Sheets is read
// as the process function's service account (impersonated), since that is the account the
// sheet must be shared with and a user's gcloud login carries no Sheets scope.
// --resume-schedules resumes the Cloud Scheduler jobs once every check has passed.
func cmdCheck(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("check", out)
	impersonate := fs.String("impersonate", "", "service account to read the sheet as (default against Google: fn-process@<project>.iam.gserviceaccount.com; \"none\": your own credentials)")
	resume := fs.Bool("resume-schedules", false, "resume the Cloud Scheduler jobs (created paused) when every check passes")
	region := fs.String("region", regionDefault(getenv), "region of the Cloud Scheduler jobs (for --resume-schedules; env SUPPORTSYNC_REGION)")
	if err := parse(fs, args); err != nil {
		return err
	}
	need := config.NeedPubSub | config.NeedFirestore | config.NeedSheets
	if getenv("HUBSPOT_TOKEN") != "" || getenv("HUBSPOT_TOKEN_SECRET") != "" {
		need |= config.NeedHubSpot
	}
	if getenv("LIVECHAT_PAT") != "" || getenv("LIVECHAT_PAT_SECRET") != "" {
		need |= config.NeedLiveChat
	}
	cfg, err := config.Load(getenv, need)
	if err != nil {
		fmt.Fprintln(out, "FAIL configuration:", err)
		return errors.New("configuration is invalid")
	}
	fmt.Fprintln(out, "ok   configuration")
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	failed := 0
	check := func(name string, fn func() error) {
		if err := fn(); err != nil {
			failed++
			fmt.Fprintf(out, "FAIL %s: %v\n", name, err)
			return
		}
		fmt.Fprintf(out, "ok   %s\n", name)
	}
	if need&config.NeedHubSpot != 0 {
		token, err := secrets.NewResolver().Resolve(ctx, cfg.HubSpotToken, cfg.HubSpotTokenSecret)
		var c *hubspot.Client
		if err == nil {
			c, err = hubspot.NewClient(hubspot.WithBaseURL(cfg.HubSpotBaseURL), hubspot.WithToken(token), hubspot.WithMaxAttempts(2))
		}
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL HubSpot (%s): %v\n", cfg.HubSpotBaseURL, err)
		} else {
			rs := access.Run(ctx, access.HubSpot(c))
			failed += access.Failures(rs)
			for _, r := range rs {
				fmt.Fprintln(out, r)
			}
		}
	} else {
		fmt.Fprintln(out, "skip HubSpot: neither HUBSPOT_TOKEN nor HUBSPOT_TOKEN_SECRET is set")
	}
	if need&config.NeedLiveChat != 0 {
		pat, err := secrets.NewResolver().Resolve(ctx, cfg.LiveChatPAT, cfg.LiveChatPATSecret)
		var c *livechat.Client
		if err == nil {
			c, err = livechat.NewClient(livechat.WithBaseURL(cfg.LiveChatBaseURL),
				livechat.WithCredentials(cfg.LiveChatAccountID, pat), livechat.WithMaxAttempts(2))
		}
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL LiveChat (%s): %v\n", cfg.LiveChatBaseURL, err)
		} else {
			rs := access.Run(ctx, access.LiveChat(c))
			failed += access.Failures(rs)
			for _, r := range rs {
				fmt.Fprintln(out, r)
			}
		}
	} else {
		fmt.Fprintln(out, "skip LiveChat: neither LIVECHAT_PAT nor LIVECHAT_PAT_SECRET is set")
	}
	who := sheetsIdentity(cfg, *impersonate)
	check("Google Sheets (spreadsheet "+cfg.SpreadsheetID+who.label()+")", func() error {
		svc, err := sheetsService(ctx, cfg, who)
		if err != nil {
			return err
		}
		_, err = svc.Spreadsheets.Get(cfg.SpreadsheetID).Fields("properties.title").Context(ctx).Do()
		return explainSheets(err, who)
	})
	check("Firestore (project "+cfg.Project+")", func() error {
		c, err := firestore.NewClient(ctx, cfg.Project)
		if err != nil {
			return err
		}
		defer c.Close()
		_, _, err = state.New(c).Cursor(ctx, string(batch.Tickets))
		return err
	})
	check("Pub/Sub topics", func() error {
		c, err := pubsub.NewClient(ctx, cfg.Project)
		if err != nil {
			return err
		}
		defer c.Close()
		var errs []error
		for _, t := range []string{cfg.TopicSyncTickets, cfg.TopicSyncChats, cfg.TopicRawBatches, cfg.TopicRunsCompleted, cfg.TopicDeadLetter} {
			if _, err := c.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: bus.TopicName(cfg.Project, t)}); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", t, err))
			}
		}
		return errors.Join(errs...)
	})
	if failed > 0 {
		if *resume {
			fmt.Fprintln(out, "schedules left paused: fix the failures above, then run check --resume-schedules again")
		}
		return fmt.Errorf("%d check(s) failed", failed)
	}
	if *resume {
		return resumeAfterCheck(ctx, cfg.Project, *region, getenv, out)
	}
	return nil
}

// cmdStatus prints, per source, its runs the way Sync_Log reads, its cursor and lease, and
// what is stuck and why.
func cmdStatus(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("status", out)
	limit := fs.Int("runs", 5, "recent runs to show per source")
	if err := parse(fs, args); err != nil {
		return err
	}
	store, done, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer done()
	for _, src := range []batch.Source{batch.Tickets, batch.Chats} {
		cur, found, err := store.Cursor(ctx, string(src))
		if err != nil {
			return err
		}
		runs, err := store.Runs(ctx, string(src), *limit)
		if err != nil {
			return err
		}
		printSource(out, string(src), cur, found, runs, time.Now())
	}
	return nil
}

// cmdReplay moves dead-lettered batches back onto the raw-batches topic. Each replayed batch
// is processed again (idempotently); one that is still bad will be dead-lettered again. With
// --peek it only lists them and leaves them waiting.
func cmdReplay(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("replay", out)
	sub := fs.String("subscription", "", "dead-letter subscription to drain (default <TOPIC_DEAD_LETTER>-replay)")
	limit := fs.Int("limit", 1000, "most messages to replay")
	peekOnly := fs.Bool("peek", false, "list the waiting batches (source, run, seq) without taking them")
	idle := fs.Duration("idle", deploy.ReplayIdle, "stop after this long without a message (longer than the dead-letter subscription's ack deadline, so peeked messages are back in time)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(getenv, config.NeedPubSub)
	if err != nil {
		return err
	}
	if *sub == "" {
		*sub = cfg.TopicDeadLetter + "-replay"
	}
	c, err := pubsub.NewClient(ctx, cfg.Project)
	if err != nil {
		return fmt.Errorf("pubsub.NewClient: %w", err)
	}
	defer c.Close()
	pub := bus.NewPublisher(c)
	defer pub.Close()
	if *peekOnly {
		n, err := peek(ctx, c, cfg.Project, *sub, *limit, *idle, out)
		fmt.Fprintf(out, "%d batch(es) waiting on %s (left there; replay them with: supportsync replay)\n", n, *sub)
		return err
	}
	n, err := bus.Replay(ctx, c.Subscriber(bus.SubscriptionName(cfg.Project, *sub)), pub, cfg.TopicRawBatches, *limit, *idle)
	fmt.Fprintf(out, "replayed %d batch(es) from %s to %s\n", n, *sub, cfg.TopicRawBatches)
	return err
}

// cmdPackage builds each function's upload folder (see terraform/README.md).
func cmdPackage(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("package", out)
	outDir := fs.String("out", "dist", "output directory")
	root := fs.String("repo", ".", "repository root")
	if err := parse(fs, args); err != nil {
		return err
	}
	names := fs.Args()
	if len(names) == 0 {
		var err error
		if names, err = deploy.Functions(*root); err != nil {
			return err
		}
	}
	for _, n := range names {
		res, err := deploy.Package(ctx, *root, n, *outDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s -> %s (%s)\n", n, res.Dir, res.Hash)
	}
	return nil
}
