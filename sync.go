package main

import "context"

// runSync fetches the followers of all apps, or of those named with --app,
// into the cache. It exits 0 only when every named app synced completely.
func runSync(ctx context.Context, env *cmdEnv, args []string) error {
	fs, configPath := newFlagSet("sync")
	var names stringList
	fs.Var(&names, "app", "sync only the app named `NAME`; repeat for several")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("sync", rest); err != nil {
		return err
	}
	cfg, err := env.loadConfig(*configPath)
	if err != nil {
		return err
	}
	apps, err := selectApps("sync", cfg, names)
	if err != nil {
		return err
	}
	if err := requireSecrets(apps); err != nil {
		return err
	}
	return notBuilt("sync")
}
