package cli

import (
	"errors"
	"flag"
	"io"
	"strings"
	"wxscope/cache"
	"wxscope/config"
)

// The preamble every command shares: its flag set with --config (and --app
// where it takes apps), the configuration, the apps it names, and the cache
// opened for reading with the command's own "nothing synced yet" sentence.

// invocation is one command being set up by its preamble.
type invocation struct {
	env        *Env
	name       string
	fs         *flag.FlagSet
	configPath *string
	appNames   stringList
	takesApps  bool

	cfg  *config.Config
	apps []config.App // the apps named with --app, or every app
}

// newInvocation starts the preamble of the command name: its flag set, with
// the --config flag every command takes.
func newInvocation(env *Env, name string) *invocation {
	fs, path := newFlagSet(name)
	return &invocation{env: env, name: name, fs: fs, configPath: path}
}

// appFlag adds the repeatable --app NAME flag, described by usage.
func (c *invocation) appFlag(usage string) {
	c.takesApps = true
	c.fs.Var(&c.appNames, "app", usage)
}

// parse parses args, flags anywhere among the positional arguments, and
// returns the positional ones.
func (c *invocation) parse(args []string) ([]string, error) { return parseArgs(c.fs, args) }

// parseNoArgs parses the flags of a command that takes no arguments.
func (c *invocation) parseNoArgs(args []string) error { return parseNoArgs(c.fs, args) }

// load reads the configuration and selects the apps of --app.
func (c *invocation) load() error {
	cfg, err := c.env.loadConfig(*c.configPath)
	if err != nil {
		return err
	}
	c.cfg, c.apps = cfg, cfg.Apps
	if c.takesApps {
		if c.apps, err = selectApps(c.name, cfg, c.appNames); err != nil {
			return err
		}
	}
	return nil
}

// openCache opens the cache for a command that only reads it (see
// openCacheReadOnly). With nothing set, a missing cache is that error; else
// the store is nil and the command says what it means in its own words.
func (c *invocation) openCache(nothing string) (*cache.Store, error) {
	store, err := openCacheReadOnly(c.cfg.Cache)
	if err == nil && store == nil && nothing != "" {
		return nil, errors.New(nothing)
	}
	return store, err
}

// loadConfig loads the configuration named by --config (or found by the
// search order). Secrets may be missing: commands that call the API check
// the apps they use with requireSecrets.
func (e *Env) loadConfig(path string) (*config.Config, error) {
	if e.served != nil {
		return e.served.cfg, nil // over SSH: the server's, loaded when it started
	}
	return config.Load(config.Options{Path: path, Getenv: e.Getenv, Offline: true})
}

// newFlagSet returns the flag set of a command, with the --config flag every
// command takes.
func newFlagSet(cmd string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors become usageErrors; help is printed by run
	path := fs.String("config", "", "read the configuration from `FILE` (default: $WXSCOPE_CONFIG, else ~/.config/wxscope/config.toml)")
	return fs, path
}

// selectApps returns the named apps of cfg in the order given, or all apps
// when names is empty. An unknown name is a usage error listing the apps.
func selectApps(cmd string, cfg *config.Config, names []string) ([]config.App, error) {
	if len(names) == 0 {
		return cfg.Apps, nil
	}
	var apps []config.App
	seen := map[string]bool{}
	for _, n := range names {
		a, ok := cfg.App(n)
		if !ok {
			return nil, usagef(cmd, "no app named %q in %s; the apps are %s", n, cfg.File, strings.Join(cfg.AppNames(), ", "))
		}
		if !seen[n] {
			seen[n] = true
			apps = append(apps, a)
		}
	}
	return apps, nil
}

// requireSecrets fails with the config error of the first app whose secret
// variable is unset, before anything touches the network.
func requireSecrets(apps []config.App) error {
	for _, a := range apps {
		if err := a.SecretErr(); err != nil {
			return err
		}
	}
	return nil
}

// openCacheReadOnly opens the cache for a command that only reads it. A
// missing cache file is no error: the store is then nil, and each command
// says in its own words what having nothing synced yet means for it.
// SharedReadOnly holds the file only while a read (a chunk of an export or
// of the unionid index) runs, so a sync started meanwhile gets in even when
// an export streams into a pager for minutes.
func openCacheReadOnly(path string) (*cache.Store, error) {
	store, err := cache.Open(path, cache.Options{Mode: cache.SharedReadOnly})
	if errors.Is(err, cache.ErrNoCache) {
		return nil, nil
	}
	return store, err
}

// appRefs are the configured apps, in the order of the file, for the link
// analysis.
func appRefs(cfg *config.Config) []cache.AppRef {
	refs := make([]cache.AppRef, len(cfg.Apps))
	for i, a := range cfg.Apps {
		refs[i] = cache.AppRef{AppID: a.AppID, Name: a.Name, Kind: string(a.Kind)}
	}
	return refs
}
