package main

import "context"

// runLinks prints the unionid groups across apps, optionally only those
// missing in one app.
func runLinks(ctx context.Context, env *cmdEnv, args []string) error {
	fs, configPath := newFlagSet("links")
	missing := fs.String("missing", "", "only the persons missing in the app named `APP`")
	format := fs.String("format", "table", "output `FORMAT`: table, csv or jsonl")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("links", rest); err != nil {
		return err
	}
	if err := oneOf("links", "format", *format, "table", "csv", "jsonl"); err != nil {
		return err
	}
	cfg, err := env.loadConfig(*configPath)
	if err != nil {
		return err
	}
	if *missing != "" {
		if _, err := selectApps("links", cfg, []string{*missing}); err != nil {
			return err
		}
	}
	return notBuilt("links")
}
