package main

import "context"

// runDoctor reports findings about the apps' bindings and the cache, each
// with its evidence and what to do.
func runDoctor(ctx context.Context, env *cmdEnv, args []string) error {
	fs, configPath := newFlagSet("doctor")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("doctor", rest); err != nil {
		return err
	}
	if _, err := env.loadConfig(*configPath); err != nil {
		return err
	}
	_ = asJSON
	return notBuilt("doctor")
}
