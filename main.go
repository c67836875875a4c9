// Command wxscope browses the followers of a company's WeChat Official
// Accounts, caches their profiles and links them across accounts by unionid.
// See "wxscope help" and the README.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"wxscope/config"
)

// Exit statuses (a contract with scripts).
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2 // bad usage or configuration
)

// softMemoryLimit keeps the TUI over a 1 M-follower cache under the design's
// 200 MB: the live heap there is about 110 MB, and by default the garbage
// collector lets the heap grow to twice the live size before it collects.
// GOMEMLIMIT, when set, wins. It is a soft limit: a larger cache still works,
// with the collector running more often (see BENCHMARKS.md).
const softMemoryLimit = 160 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	// SIGINT and SIGTERM cancel the context: a sync saves its progress and
	// returns. A second signal finds the default handler again and kills.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	env := &cmdEnv{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		getenv:    os.Getenv,
		stdoutTTY: isTerminal(os.Stdout),
	}
	code := run(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run runs the command line args and returns the exit status, having
// written any error to env.stderr. Tests call it in-process.
func run(ctx context.Context, env *cmdEnv, args []string) int {
	name, rest := splitCommand(args)
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		name, rest = "help", args[1:]
	case len(args) > 0 && (args[0] == "-version" || args[0] == "--version"):
		name, rest = "version", args[1:]
	}

	var err error
	switch name {
	case "help":
		err = runHelp(ctx, env, rest)
	case "version":
		if err = noArgs("version", rest); err == nil {
			fmt.Fprintln(env.stdout, "wxscope", versionString())
		}
	default:
		c, ok := findCommand(name)
		if !ok {
			err = usagef("", "unknown command %q", name)
			break
		}
		err = c.run(ctx, env, rest)
	}
	return report(ctx, env, err)
}

// splitCommand finds the subcommand: the first argument, or the first
// non-flag after a leading --config FILE ("wxscope --config f sync").
func splitCommand(args []string) (name string, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return "", args
		case a == "--config" || a == "-config":
			i++ // its value
		case strings.HasPrefix(a, "-"):
		default:
			if i == 0 {
				return a, args[1:]
			}
			if c, ok := findCommand(a); ok && c.name != "" {
				return a, append(append([]string(nil), args[:i]...), args[i+1:]...)
			}
			return "", args
		}
	}
	return "", args
}

// runHelp prints the overview, or one command's usage and flags.
func runHelp(ctx context.Context, env *cmdEnv, args []string) error {
	switch len(args) {
	case 0:
		printHelp(env.stdout)
		return nil
	case 1:
	default:
		return usagef("help", "help takes at most one command, but got %d arguments", len(args))
	}
	c, ok := findCommand(args[0])
	if !ok || c.name == "" {
		return usagef("", "unknown command %q", args[0])
	}
	if c.run == nil { // help, version: no flags
		printCommandHelp(env.stdout, c, nil)
		return nil
	}
	// A command prints its flags by being asked for --help.
	return c.run(ctx, env, []string{"--help"})
}

// report writes err to stderr and returns the exit status it stands for.
func report(ctx context.Context, env *cmdEnv, err error) int {
	if err == nil {
		return exitOK
	}
	var help *helpRequest
	if errors.As(err, &help) {
		c, _ := findCommand(help.cmd)
		printCommandHelp(env.stdout, c, help.fs)
		return exitOK
	}
	msg := err.Error()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil && msg == context.Canceled.Error() {
		msg = "interrupted; run the same command again to go on"
	}
	fmt.Fprintln(env.stderr, "wxscope: "+plain(msg))
	code := exitCode(err)
	var usage *usageError
	var cfgErr *config.Error
	switch {
	case errors.As(err, &usage) && usage.cmd == "":
		fmt.Fprintln(env.stderr, "usage: wxscope [COMMAND] [flags]; the commands are "+commandNames())
	case errors.As(err, &usage):
		if c, ok := findCommand(usage.cmd); ok {
			fmt.Fprintln(env.stderr, "usage: "+usageLine(c))
		}
	case errors.As(err, &cfgErr) && cfgErr.Hint != "":
		fmt.Fprintln(env.stderr)
		fmt.Fprintln(env.stderr, cfgErr.Hint)
	}
	return code
}

// exitCode maps an error to the exit status: 2 for usage and configuration
// errors, 1 for every other failure.
func exitCode(err error) int {
	var usage *usageError
	var cfgErr *config.Error
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage), errors.As(err, &cfgErr):
		return exitUsage
	default:
		return exitFail
	}
}
