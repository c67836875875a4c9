package main

import (
	"context"
	"strings"
)

// runLookup shows the person behind an openid or unionid across all apps:
// from the cache, or with --live from the API, trying each app.
func runLookup(ctx context.Context, env *cmdEnv, args []string) error {
	fs, configPath := newFlagSet("lookup")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	live := fs.Bool("live", false, "ask the API, trying each app, instead of only the cache")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) == 0:
		return usagef("lookup", "lookup needs an openid or unionid")
	case len(rest) > 1:
		return usagef("lookup", "lookup takes one id, but got %d: %s", len(rest), strings.Join(rest, " "))
	}
	// Ids pasted from a ticket often carry spaces around them.
	id := strings.TrimSpace(rest[0])
	if id == "" {
		return usagef("lookup", "the id to look up is empty")
	}
	cfg, err := env.loadConfig(*configPath)
	if err != nil {
		return err
	}
	if *live {
		if err := requireSecrets(cfg.Apps); err != nil {
			return err
		}
	}
	_ = asJSON
	return notBuilt("lookup")
}
