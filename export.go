package main

import "context"

// runExport writes the cached followers of all apps, or of those named with
// --app, as CSV (the default, for spreadsheets) or JSON lines.
func runExport(ctx context.Context, env *cmdEnv, args []string) error {
	fs, configPath := newFlagSet("export")
	var names stringList
	fs.Var(&names, "app", "export only the app named `NAME`; repeat for several")
	format := fs.String("format", "csv", "output `FORMAT`: csv or jsonl")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("export", rest); err != nil {
		return err
	}
	if err := oneOf("export", "format", *format, "csv", "jsonl"); err != nil {
		return err
	}
	cfg, err := env.loadConfig(*configPath)
	if err != nil {
		return err
	}
	if _, err := selectApps("export", cfg, names); err != nil {
		return err
	}
	return notBuilt("export")
}
