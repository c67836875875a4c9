// Package cli is wxscope's command line: the subcommands of design.md's
// contract, one file each, their flags, the errors they print and the exit
// statuses they return. main calls Run; so can the SSH server and tests.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"wxscope/cache"
	"wxscope/config"
)

// Exit statuses (a contract with scripts).
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2 // bad usage or configuration
)

// OSEnv is the environment of this process: its standard streams and
// variables.
func OSEnv() *Env {
	return &Env{
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Getenv:    os.Getenv,
		StdoutTTY: isTerminal(os.Stdout),
		StderrTTY: isTerminal(os.Stderr),
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Run runs the command line args and returns the exit status, having
// written any error to env.Stderr. Tests call it in-process.
func Run(ctx context.Context, env *Env, args []string) int {
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
			fmt.Fprintln(env.Stdout, "wxscope", versionString())
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
func runHelp(ctx context.Context, env *Env, args []string) error {
	switch len(args) {
	case 0:
		printHelp(env.Stdout)
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
		printCommandHelp(env.Stdout, c, nil)
		return nil
	}
	// A command prints its flags by being asked for --help.
	return c.run(ctx, env, []string{"--help"})
}

// report writes err to stderr and returns the exit status it stands for.
func report(ctx context.Context, env *Env, err error) int {
	if err == nil {
		return exitOK
	}
	var help *helpRequest
	if errors.As(err, &help) {
		c, _ := findCommand(help.cmd)
		printCommandHelp(env.Stdout, c, help.fs)
		return exitOK
	}
	msg := err.Error()
	var (
		damaged *cache.DamagedError
		full    *cache.DiskFullError
	)
	switch {
	// Their sentences name the file and say what to do; what the command
	// was doing when it met them adds nothing to that.
	case errors.As(err, &damaged):
		msg = damaged.Error()
	case errors.As(err, &full):
		msg = full.Error()
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil && msg == context.Canceled.Error() {
		msg = "interrupted; run the same command again to go on"
	}
	fmt.Fprintln(env.Stderr, "wxscope: "+plain(msg))
	code := exitCode(err)
	var usage *usageError
	var cfgErr *config.Error
	switch {
	case errors.As(err, &usage) && usage.cmd == "":
		fmt.Fprintln(env.Stderr, "usage: wxscope [COMMAND] [flags]; the commands are "+commandNames())
	case errors.As(err, &usage):
		if c, ok := findCommand(usage.cmd); ok {
			fmt.Fprintln(env.Stderr, "usage: "+usageLine(c))
		}
	case errors.As(err, &cfgErr) && cfgErr.Hint != "":
		fmt.Fprintln(env.Stderr)
		fmt.Fprintln(env.Stderr, cfgErr.Hint)
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
