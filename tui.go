package main

import "context"

// runTUI starts the Bubble Tea program over the configured apps and the
// cache. It works offline: an app whose secret variable is unset can still be
// browsed, and only a sync of it reports App.SecretErr.
func runTUI(ctx context.Context, env *cmdEnv, args []string) error {
	fs, configPath := newFlagSet("")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("", "unknown command %q", rest[0])
	}
	if _, err := env.loadConfig(*configPath); err != nil {
		return err
	}
	return notBuilt("TUI")
}
