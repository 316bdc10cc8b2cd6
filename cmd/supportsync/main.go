// Command supportsync runs the supportsync pipeline on a laptop or in CI and operates a
// deployed one:
//
//	supportsync devstack [--once] [--source tickets|chats|all] [--mode full|incremental] [--data DIR]
//	supportsync sync --source tickets|chats|all --mode full|incremental
//	supportsync check [--impersonate EMAIL|none] [--resume-schedules] [--region R]
//	supportsync status
//	supportsync replay [--peek] [--limit N] [--idle D]
//	supportsync schedules list|pause|resume [--source tickets|chats|all] [--region R]
//	supportsync lease release --source tickets|chats [--run RUN_ID] [--reason TEXT]
//	supportsync cursor reset --source tickets|chats
//	supportsync package [--out DIR] [function ...]
//	supportsync token --widget ID [--from D --to D --pipeline P --agent A --source S] [--ttl 24h]
//
// Every command reads the same environment variables as the functions (see README).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"supportsync.dev/cmd/internal/devstack"
)

const usage = `usage: supportsync <command> [flags]

commands:
  devstack   run the whole pipeline locally (emulators, sandbox APIs, local sheet) and keep it syncing
  sync       publish a sync request and wait until the run has landed
  check      test every connection, credential and API scope (--resume-schedules starts the schedules)
  status     show each source's runs like Sync_Log, its cursor and lease, and what is stuck and why
  replay     move dead-lettered batches back to the raw-batches topic (--peek: only list them)
  schedules  list, pause or resume the Cloud Scheduler jobs
  lease      release a source's stuck lease (lease release --source S)
  cursor     reset a source's cursor: its next run reads the whole window (cursor reset --source S)
  package    build each function's upload folder (vendored, content-hashed) for Terraform
  token      mint a signed embed token for a widget and print its URL

Run 'supportsync <command> -h' for the command's flags.
`

func main() {
	// A devstack child process serving one function.
	if os.Getenv(devstack.ChildEnv) != "" {
		if err := devstack.ServeFunction(); err != nil {
			fmt.Fprintln(os.Stderr, "supportsync:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run executes one command and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	commands := map[string]func(context.Context, []string, func(string) string, io.Writer) error{
		"devstack":  cmdDevstack,
		"sync":      cmdSync,
		"check":     cmdCheck,
		"status":    cmdStatus,
		"replay":    cmdReplay,
		"schedules": cmdSchedules,
		"lease":     cmdLease,
		"cursor":    cmdCursor,
		"package":   cmdPackage,
		"token":     cmdToken,
	}
	cmd, ok := commands[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "supportsync: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], getenv, stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "supportsync %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "supportsync %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError is a bad flag or argument (exit code 2).
type usageError struct{ error }

func newFlags(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 && fs.Name() != "package" {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
