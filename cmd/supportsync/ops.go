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

	"supportsync.dev/cmd/internal/deploy"
	"supportsync.dev/cmd/internal/devstack"
	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/bus"
	"supportsync.dev/shared/config"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/state"
)

// cmdSync publishes a sync request to a deployed (or already running local) pipeline and
// waits until the run has landed.
func cmdSync(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("sync", out)
	source := fs.String("source", "all", "tickets, chats or all")
	mode := fs.String("mode", "incremental", "full or incremental")
	allowDeletions := fs.Bool("allow-deletions", false, "with --mode full: apply the run's deletions even past the mass-deletion guard")
	stall := fs.Duration("stall", 5*time.Minute, "fail when the run makes no progress for this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *allowDeletions && *mode != string(batch.Full) {
		return usageError{fmt.Errorf("--allow-deletions confirms a full run's deletions: use it with --mode full")}
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
		req := batch.SyncRequest{Mode: batch.Mode(*mode), AllowDeletions: *allowDeletions}
		sum, err := devstack.RequestSync(ctx, pub, store, topic, src, req, *stall, out)
		printSummary(out, sum)
		if err != nil {
			return err
		}
	}
	return nil
}

// cmdCheck tests every configured connection and credential, one line each, and fails if
// any fails.
func cmdCheck(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("check", out)
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
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
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
		check("HubSpot ("+cfg.HubSpotBaseURL+")", func() error {
			token, err := secrets.NewResolver().Resolve(ctx, cfg.HubSpotToken, cfg.HubSpotTokenSecret)
			if err != nil {
				return err
			}
			c, err := hubspot.NewClient(hubspot.WithBaseURL(cfg.HubSpotBaseURL), hubspot.WithToken(token), hubspot.WithMaxAttempts(2))
			if err != nil {
				return err
			}
			return c.Check(ctx)
		})
	} else {
		fmt.Fprintln(out, "skip HubSpot: neither HUBSPOT_TOKEN nor HUBSPOT_TOKEN_SECRET is set")
	}
	if need&config.NeedLiveChat != 0 {
		check("LiveChat ("+cfg.LiveChatBaseURL+")", func() error {
			pat, err := secrets.NewResolver().Resolve(ctx, cfg.LiveChatPAT, cfg.LiveChatPATSecret)
			if err != nil {
				return err
			}
			c, err := livechat.NewClient(livechat.WithBaseURL(cfg.LiveChatBaseURL),
				livechat.WithCredentials(cfg.LiveChatAccountID, pat), livechat.WithMaxAttempts(2))
			if err != nil {
				return err
			}
			return c.Check(ctx)
		})
	} else {
		fmt.Fprintln(out, "skip LiveChat: neither LIVECHAT_PAT nor LIVECHAT_PAT_SECRET is set")
	}
	check("Google Sheets (spreadsheet "+cfg.SpreadsheetID+")", func() error {
		svc, err := sheets.NewService(ctx, cfg.SheetsEndpoint, nil)
		if err != nil {
			return err
		}
		_, err = svc.Spreadsheets.Get(cfg.SpreadsheetID).Fields("properties.title").Context(ctx).Do()
		return err
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
		for _, t := range []string{cfg.TopicSyncTickets, cfg.TopicRawBatches, cfg.TopicRunsCompleted, cfg.TopicDeadLetter} {
			if _, err := c.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: bus.TopicName(cfg.Project, t)}); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", t, err))
			}
		}
		return errors.Join(errs...)
	})
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

// cmdStatus prints each source's cursor and recent runs.
func cmdStatus(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("status", out)
	limit := fs.Int("runs", 5, "recent runs to show per source")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(getenv, config.NeedFirestore)
	if err != nil {
		return err
	}
	c, err := firestore.NewClient(ctx, cfg.Project)
	if err != nil {
		return fmt.Errorf("firestore.NewClient: %w", err)
	}
	defer c.Close()
	store := state.New(c)
	for _, src := range []batch.Source{batch.Tickets, batch.Chats} {
		cur, found, err := store.Cursor(ctx, string(src))
		if err != nil {
			return err
		}
		if !found {
			fmt.Fprintf(out, "%s: never synced\n", src)
		} else {
			fmt.Fprintf(out, "%s: cursor %s (run %s, %s ago)\n", src, cur.HighWater.Format(time.RFC3339), cur.RunID,
				time.Since(cur.Updated).Round(time.Second))
		}
		runs, err := store.Runs(ctx, string(src), *limit)
		if err != nil {
			return err
		}
		for _, r := range runs {
			line := fmt.Sprintf("  %s  %-11s %-9s started %s  %s  fetch turn %d  fetched %d  inserted %d  updated %d  deleted %d",
				r.ID, r.Mode, r.State, r.Started.Format(time.RFC3339), r.Progress.Describe(), r.TurnNumber,
				r.Counts.Fetched, r.Counts.Inserted, r.Counts.Updated, r.Counts.Deleted)
			if !r.State.Finished() && time.Now().After(r.LeaseExpires) {
				line += "  STUCK (lease expired)"
			}
			if r.Error != "" {
				line += "  error: " + r.Error
			}
			fmt.Fprintln(out, line)
		}
	}
	return nil
}

// cmdReplay moves dead-lettered batches back onto the raw-batches topic. Each replayed batch
// is processed again (idempotently); one that is still bad will be dead-lettered again.
func cmdReplay(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlags("replay", out)
	sub := fs.String("subscription", "", "dead-letter subscription to drain (default <TOPIC_DEAD_LETTER>-replay)")
	limit := fs.Int("limit", 1000, "most messages to replay")
	idle := fs.Duration("idle", 10*time.Second, "stop after this long without a message")
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
