package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/memlimit"
	"wxscope/syncer"
	"wxscope/ui"
)

// runTUI starts the Bubble Tea program over the configured apps and the
// cache. It works offline: it opens on what the cache holds and touches the
// network only when the user asks for a sync; an app whose secret variable
// is unset can still be browsed, and only a sync of it reports
// App.SecretErr, in its row.
func runTUI(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "")
	readOnly := c.fs.Bool("readonly", false, "browse the cache without syncing or writing to it")
	rest, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("", "unknown command %q", rest[0])
	}
	if err := c.load(); err != nil {
		return err
	}
	cfg := c.cfg
	if err := needTerminal(env, "wxscope"); err != nil {
		return err
	}
	t, err := newTUI(env, cfg, tuiOptions{readOnly: *readOnly,
		clipboard: ui.DetectLocalClipboard(env.Getenv, exec.LookPath)})
	if err != nil {
		return err
	}
	return t.run(ctx, env)
}

// followMemoryLimit keeps the heap at main's soft memory limit (floor)
// while it holds little and an eighth above the live heap once a view holds
// more (package memlimit), unless GOMEMLIMIT sets the limit: a 10 M-follower
// app's index is several times main's limit, under which the collector
// would run back to back (BENCHMARKS.md). Only the TUI and the server hold
// such views; the other commands keep main's limit.
func followMemoryLimit(env *Env, floor int64) {
	if env.Getenv("GOMEMLIMIT") != "" {
		return
	}
	memlimit.Follow(floor)
}

// needTerminal refuses to start the screen of cmd when stdin or stdout is
// not a terminal (a pipe, a file, cron): there it could neither read a key
// nor be read, and would wait for ever.
func needTerminal(env *Env, cmd string) error {
	in, ok := env.Stdin.(*os.File)
	if ok && isTerminal(in) && env.StdoutTTY {
		return nil
	}
	return fmt.Errorf("%s draws its screen on a terminal, but stdin or stdout is not one; in scripts use wxscope sync, lookup, links, export or doctor", cmd)
}

// tuiOptions are what differs between `wxscope` and `wxscope demo`; the
// rest of the wiring is the same for both.
type tuiOptions struct {
	httpClient  *http.Client // nil: the API client's default
	syncOnStart bool         // the demo syncs every app at once
	// readOnly is --readonly: the cache is opened cache.SharedReadOnly (no
	// write at all, not even the app names; the file must exist) and no sync
	// can start. It holds the file only while a read runs, so a headless
	// sync (a nightly cron job) gets in while an operator leaves it open, and
	// the next read shows what the sync wrote.
	readOnly bool
	// clipboard is the local clipboard command y uses beside OSC 52; the
	// real program detects one, tests leave it nil so y never reaches the
	// machine's clipboard.
	clipboard *ui.LocalClipboard
	theme     *ui.Theme // nil: from the environment (NO_COLOR, the terminal's background)
	now       func() time.Time
	loc       *time.Location
	// syncOpts adjusts the engine's options, for tests.
	syncOpts func(*cache.SyncOptions)

	// shared, for a session of `wxscope serve`, is the server's store,
	// source and syncs: the TUI opens none of its own, and closing it
	// leaves them to the server (the syncs go on).
	shared *tuiShared
	// redraw is how often the home view redraws and looks for syncs
	// started elsewhere; 0 is the default.
	redraw time.Duration
	// persons wraps what the TUI looks people up in (the server audits it).
	persons func(ui.PersonFinder) ui.PersonFinder
}

// tuiShared is what the TUIs of the server's sessions share.
type tuiShared struct {
	store  *cache.Store
	source *ui.CacheReader
	syncs  *ui.Syncs
	syncer *syncer.Syncer // the server's: its clients answer the growth tab
}

// tui is the wired program: the root model, the cache it reads and the
// syncs it runs. close stops the syncs, waits for them to save their
// progress and closes the cache; it runs once, whoever calls it first (the
// root's cleanup on q, or run when the program ends otherwise).
type tui struct {
	root   *ui.Root
	store  *cache.Store
	syncs  *ui.Syncs
	shared bool // the store and syncs are the server's (tuiOptions.shared)
	once   sync.Once
	// stop ends the program with a sentence: the first damage a read of
	// the cache meets, or a panic (see tuiguard.go).
	stop stopper
}

// tuiCommand names the TUI in the cache's lock-info file.
const tuiCommand = "wxscope (TUI)"

// tuiProgressEvery is how often a sync reports to the TUI; the home view
// redraws on its own tick, so this only bounds how stale a frame can be.
const tuiProgressEvery = 50 * time.Millisecond

// newTUI opens the cache and wires the views. The cache is opened Shared:
// the TUI is its one writer while it syncs, but a lookup in another terminal
// still gets in between writes. Read-only, it is opened SharedReadOnly.
func newTUI(env *Env, cfg *config.Config, opts tuiOptions) (*tui, error) {
	if opts.shared != nil {
		return newSharedTUI(env, cfg, opts), nil
	}
	mode := cache.Shared
	if opts.readOnly {
		mode = cache.SharedReadOnly
	}
	t := &tui{}
	// A damaged cache ends the TUI with the sentence that says what to do,
	// rather than leaving it on a screen of read errors.
	store, err := cache.Open(cfg.Cache, cache.Options{Mode: mode, Command: tuiCommand, OnDamage: t.stop.stop})
	if err != nil {
		return nil, err
	}
	t.store = store
	homeApps := make([]ui.App, len(cfg.Apps))
	byID := map[string]config.App{}
	names := map[string]string{}
	for i, a := range cfg.Apps {
		homeApps[i] = ui.App{Name: a.Name, AppID: a.AppID, Kind: string(a.Kind)}
		byID[a.AppID] = a
		names[a.AppID] = a.Name
	}
	if !opts.readOnly {
		// Offline commands label apps by the names last configured.
		if err := store.SetAppNames(names); err != nil {
			store.Close()
			return nil, err
		}
	}
	src := ui.NewCacheReader(store, appRefs(cfg))

	syncs := syncer.New(cfg, store, syncer.Options{Command: tuiCommand, HTTPClient: opts.httpClient, Adjust: opts.syncOpts})
	t.syncs = ui.NewSyncs(func(ctx context.Context, appID string, progress func(cache.Progress)) (err error) {
		// A sync runs in a goroutine of its own, where a panic would end
		// the process with the terminal still raw.
		defer func() {
			if r := recover(); r != nil {
				err = panicError(r)
				t.stop.stop(err)
			}
		}()
		return syncs.Sync(ctx, byID[appID], progress, tuiProgressEvery)
	})

	theme := ui.ThemeFromEnv(env.Getenv)
	if opts.theme != nil {
		theme = *opts.theme
	}
	t.root = ui.NewRoot(ui.Options{
		Theme:     theme,
		Persons:   src,
		Cleanup:   t.close,
		Now:       opts.now,
		Loc:       opts.loc,
		ReadOnly:  opts.readOnly,
		Clipboard: opts.clipboard,
		Lists:     src,
		// The Insights view's growth tab asks through the syncs' seam; a
		// read-only UI drops it.
		Growth: func(ctx context.Context, appID string, first, last time.Time) error {
			_, err := syncs.Growth(ctx, byID[appID], first, last, time.Now())
			return err
		},
	})
	home := ui.HomeSpec{
		CachePath:   cfg.Cache,
		Apps:        homeApps,
		Reader:      src,
		Syncs:       t.syncs,
		SyncOnStart: opts.syncOnStart && !opts.readOnly,
		Redraw:      20 * time.Second,
		OtherSync:   otherSync(cfg),
	}
	if opts.readOnly {
		home.Syncs = nil // no key, no start-up: nothing can start a sync
	}
	t.root.Open(ui.NewHome(t.root.Common(), home))
	return t, nil
}

// newSharedTUI wires the views of a server's session over opts.shared.
// The syncs are the server's: a read-only session follows them too, with
// the keys that start or stop one disabled.
func newSharedTUI(env *Env, cfg *config.Config, opts tuiOptions) *tui {
	sh := opts.shared
	t := &tui{store: sh.store, syncs: sh.syncs, shared: true}
	homeApps := make([]ui.App, len(cfg.Apps))
	for i, a := range cfg.Apps {
		homeApps[i] = ui.App{Name: a.Name, AppID: a.AppID, Kind: string(a.Kind)}
	}
	var persons ui.PersonFinder = sh.source
	if opts.persons != nil {
		persons = opts.persons(persons)
	}
	apps := map[string]config.App{}
	for _, a := range cfg.Apps {
		apps[a.AppID] = a
	}
	t.root = ui.NewRoot(ui.Options{
		Theme:     ui.ThemeFromEnv(env.Getenv),
		Persons:   persons,
		Cleanup:   t.close,
		Now:       opts.now,
		Loc:       opts.loc,
		ReadOnly:  opts.readOnly,
		Clipboard: opts.clipboard,
		Lists:     sh.source,
		// The growth tab asks through the server's syncer and its clients.
		Growth: func(ctx context.Context, appID string, first, last time.Time) error {
			_, err := sh.syncer.Growth(ctx, apps[appID], first, last, time.Now())
			return err
		},
	})
	t.root.Open(ui.NewHome(t.root.Common(), ui.HomeSpec{
		CachePath: cfg.Cache,
		Apps:      homeApps,
		Reader:    sh.source,
		Syncs:     sh.syncs,
		Redraw:    opts.redraw,
	}))
	return t
}

// otherSync is HomeSpec.OtherSync for cfg: the sync lock's holder when it
// is another process and may be syncing the app, read at most once a
// second (rows ask as they are drawn).
func otherSync(cfg *config.Config) func(appID string) *cache.Holder {
	var (
		mu     sync.Mutex
		at     time.Time
		holder *cache.Holder
	)
	names := map[string]string{}
	for _, a := range cfg.Apps {
		names[a.AppID] = a.Name
	}
	return func(appID string) *cache.Holder {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) > time.Second {
			at, holder = time.Now(), syncer.Running(cfg.Cache)
			if holder != nil && holder.PID == os.Getpid() {
				holder = nil // this TUI's own sync shows its progress instead
			}
		}
		if holder == nil || !syncer.SyncsApp(holder, names[appID]) {
			return nil
		}
		return holder
	}
}

// close stops every sync, waits until each has written what it fetched,
// and closes the cache; a server's session leaves all that to the server.
func (t *tui) close() {
	t.once.Do(func() {
		if t.shared {
			return
		}
		t.syncs.StopAll()
		t.syncs.Wait()
		t.store.Close()
	})
}

// run runs the program on the terminal until the user quits (or ctx ends:
// SIGTERM), then saves the syncs' progress.
//
// The terminal is put back as it was however the program ends: Bubble Tea
// restores it, the guard (tuiguard.go) turns panics into a clean end, and
// the state saved here is restored last whatever happened in between.
func (t *tui) run(ctx context.Context, env *Env) error {
	defer t.close()
	followMemoryLimit(env, debug.SetMemoryLimit(-1))
	if f, ok := env.Stdin.(*os.File); ok && isTerminal(f) {
		if state, err := term.GetState(f.Fd()); err == nil {
			defer term.Restore(f.Fd(), state)
		}
	}
	err := runGuarded(t.root, &t.stop, tea.WithContext(ctx), tea.WithInput(env.Stdin), tea.WithOutput(env.Stdout))
	var damaged *cache.DamagedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &damaged):
		return err
	case errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil:
		return ctx.Err()
	case t.stop.reason() != nil:
		return err
	}
	return fmt.Errorf("the terminal UI stopped: %w", err)
}
