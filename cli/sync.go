package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/syncer"
	"wxscope/wechat"
)

// runSync fetches the followers of all apps, or of those named with --app,
// into the cache: official accounts from the API, the other kinds by
// reading their import. It exits 0 only when every named app synced
// completely (an import with rejected rows is not complete).
func runSync(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "sync")
	c.appFlag("sync only the app named `NAME`; repeat for several")
	if err := c.parseNoArgs(args); err != nil {
		return err
	}
	if err := c.load(); err != nil {
		return err
	}
	if err := requireSecrets(c.apps); err != nil {
		return err
	}
	defer paceCollectorForSync(env)()
	return syncApps(ctx, env, c.cfg, c.apps, syncHooks{})
}

// The headless sync's live heap is small at any account size (30 to 50 MB:
// the groups of fetched profiles being written, a catch-up's sorting
// buffers), and it allocates about 3 KB a profile. At the default pace the
// collector ran each time the heap doubled its live size: 16 collections
// for 100 000 profiles, a fifth of the sync's CPU. So the heap grows to six
// times its live size before a collection (GOGC 500), under a soft limit of
// syncMemoryLimit, below the TUI's (main.go): the mapped pages of the cache
// file come on top of the heap, and the design's 200 MB is for both. From a
// million profiles the limit, not GOGC, sets the pace: the peak RSS was
// 159–163 MB at GOGC 200 and 168 MB at 500 (1 M and 10 M profiles).
// Below that, a collection's mark phase takes one of two cores from calls
// that wait for a core at 5 ms a call: at GOGC 200 a sync of 160 000
// profiles ran 30 collections (with the simulator in the same process, as
// the benchmark runs it), and was 3 % slower on the bound (BENCHMARKS.md,
// "Scale (issue 12): the cold sync, second pass" and "the sync on the
// bound, fifth pass").
const (
	syncGCPercent   = 500
	syncMemoryLimit = 140 << 20
)

// paceCollectorForSync sets the collector's pace for a headless sync unless
// GOGC says otherwise, and returns the function that sets it back. The
// memory limit is lowered only when GOMEMLIMIT does not set it either.
func paceCollectorForSync(env *Env) (restore func()) {
	if env.Getenv("GOGC") != "" {
		return func() {}
	}
	gc := debug.SetGCPercent(syncGCPercent)
	limit := int64(-1)
	if env.Getenv("GOMEMLIMIT") == "" {
		limit = debug.SetMemoryLimit(-1)
		debug.SetMemoryLimit(min(limit, syncMemoryLimit))
	}
	return func() {
		debug.SetGCPercent(gc)
		if limit >= 0 {
			debug.SetMemoryLimit(limit)
		}
	}
}

// syncHooks lets tests and benchmarks reach into a sync run.
type syncHooks struct {
	httpClient *http.Client // nil: the client's default
	// opts adjusts the engine's options of every app.
	opts func(*cache.SyncOptions)
	// client adjusts the API client's configuration of every app.
	client func(*wechat.Config)
}

// syncApps syncs apps into the cache, all at once: each app has its own
// quotas and its own round trips, so one app's wait is no reason to keep
// another waiting, and the writes of all share the one cache file. An app
// that fails does not stop the others.
func syncApps(ctx context.Context, env *Env, cfg *config.Config, apps []config.App, hooks syncHooks) error {
	if env.served != nil {
		return env.served.syncApps(ctx, env, apps)
	}
	command := "wxscope sync"
	if len(apps) < len(cfg.Apps) {
		for _, a := range apps {
			command += " --app " + a.Name
		}
	}
	store, err := cache.Open(cfg.Cache, cache.Options{Mode: cache.Shared, Command: command})
	if err != nil {
		return err
	}
	defer store.Close()
	// A sync writes through whatever it reads: on a damaged file it would
	// spread the damage, so the file is read once first (a fraction of a
	// second for a million profiles, next to minutes of API calls).
	if err := store.Verify(); err != nil {
		return err
	}
	syncs := syncer.New(cfg, store, syncer.Options{Command: command, HTTPClient: hooks.httpClient, Adjust: hooks.opts, AdjustClient: hooks.client})
	release, err := syncs.Hold()
	if err != nil {
		return err
	}
	defer release()

	labels := map[string]string{}
	for _, a := range cfg.Apps {
		labels[a.AppID] = a.Name
	}
	if err := store.SetAppNames(labels); err != nil {
		return err
	}

	return showSyncs(ctx, env, store, apps, syncs.Sync)
}

// showSyncs runs syncApp for every app at once, shows their progress, says
// what tags or blacklists it could not read, and returns the sentences of
// the apps that did not finish.
func showSyncs(ctx context.Context, env *Env, store *cache.Store, apps []config.App,
	syncApp func(ctx context.Context, app config.App, progress func(cache.Progress), every time.Duration) error) error {
	started := time.Now()
	view := newSyncView(env, apps)
	errs := make([]error, len(apps))
	var wg sync.WaitGroup
	for i, app := range apps {
		wg.Go(func() {
			errs[i] = syncApp(ctx, app, func(p cache.Progress) { view.update(i, p) }, view.every())
		})
	}
	wg.Wait()
	view.close()
	for _, note := range listNotes(store, apps, started) {
		fmt.Fprintln(env.Stderr, "wxscope: "+plain(note))
	}

	var sentences []string
	interrupted := false
	for _, err := range errs {
		// An import's rejected rows go first, as SOURCE:LINE: reason, so
		// that the sentence about them follows.
		var rr *syncer.RejectedRows
		if errors.As(err, &rr) {
			if werr := rr.Stats.WriteRejections(env.Stderr); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil:
		case ctx.Err() != nil && errors.Is(err, context.Canceled):
			interrupted = true
		default:
			sentences = append(sentences, err.Error())
		}
	}
	if interrupted {
		// The frame prints "interrupted; run the same command again to go
		// on" for a bare context.Canceled; other apps' failures go first.
		for _, s := range sentences {
			fmt.Fprintln(env.Stderr, "wxscope: "+plain(s))
		}
		return context.Canceled
	}
	if len(sentences) > 0 {
		return syncFailures(sentences)
	}
	return nil
}

// syncFailures are the sentences of the apps that did not finish, one per
// line on stderr.
type syncFailures []string

func (f syncFailures) Error() string { return strings.Join(f, "\nwxscope: ") }
