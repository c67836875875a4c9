package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/serve"
	"wxscope/syncer"
	"wxscope/ui"
)

// runServe is `wxscope serve`: the TUI and the commands over SSH for the
// team in [serve] (design.md, "Serving a team"). This process owns the
// cache, one API client (one token) per app and every sync; the sessions
// share them. It runs until SIGTERM or SIGINT, then tells every session,
// saves the syncs' progress and exits 0.
func runServe(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "serve")
	if err := c.parseNoArgs(args); err != nil {
		return err
	}
	if err := c.load(); err != nil {
		return err
	}
	raiseMemoryLimit(env, c.cfg.Serve.MaxSessions)
	return serveTeam(ctx, env, c.cfg, serveHooks{})
}

// perSessionMemory is what a session may add to the server's heap: a TUI
// holds about 1.3 MB (Bubble Tea's screen buffers, mostly; see
// BENCHMARKS.md), a view of a large app's followers more.
const perSessionMemory = 2 << 20

// raiseMemoryLimit lifts main's soft memory limit, sized for one TUI, by
// what max_sessions sessions may hold, unless GOMEMLIMIT sets it: under
// the TUI's limit a full server would spend its time collecting garbage.
// That is the floor; above it the heap follows the live heap, as the
// TUI's does (followMemoryLimit).
func raiseMemoryLimit(env *Env, maxSessions int) {
	followMemoryLimit(env, max(debug.SetMemoryLimit(-1), softMemoryLimitTUI+int64(maxSessions)*perSessionMemory))
}

// softMemoryLimitTUI is main's limit for one TUI over a 1 M-follower cache.
const softMemoryLimitTUI = 160 << 20

// serveHooks lets tests reach into a running server.
type serveHooks struct {
	// ready is told where the server listens once it does.
	ready func(net.Addr)
	// server adjusts the server's options (its limits).
	server func(*serve.Options)
	// syncOpts adjusts the engine's options of every sync.
	syncOpts func(*cache.SyncOptions)
	// redraw replaces serveRedraw.
	redraw time.Duration
}

// serveCommand names the server in the cache's lock-info file and in the
// sync lock, for the message a local `wxscope sync` prints meanwhile.
const serveCommand = "wxscope serve"

// serveRedraw is how often a session's home view redraws and looks for
// syncs that other sessions started.
const serveRedraw = 2 * time.Second

func serveTeam(ctx context.Context, env *Env, cfg *config.Config, hooks serveHooks) error {
	if len(cfg.Serve.Users) == 0 {
		return &config.Error{File: cfg.File, Key: "serve.user",
			Msg: "no [[serve.user]] tables, so nobody could log in; add one per person with name, role and keys"}
	}
	keyPath, err := serve.DefaultHostKeyPath(env.Getenv)
	if err != nil {
		return fmt.Errorf("find a place for the host key: %w", err)
	}
	auditPath, err := serve.DefaultAuditPath(env.Getenv)
	if err != nil {
		return fmt.Errorf("find a place for the audit log: %w", err)
	}
	hostKey, made, err := serve.LoadHostKey(keyPath)
	if err != nil {
		return err
	}
	audit, err := serve.OpenAudit(auditPath)
	if err != nil {
		return err
	}
	defer audit.Close()

	h, err := newServeHost(ctx, cfg, hooks)
	if err != nil {
		return err
	}
	defer h.close()

	opts := serve.Options{
		Serve:   cfg.Serve,
		HostKey: hostKey,
		Audit:   audit,
		Getenv:  env.Getenv,
		Command: h.command,
		TUI:     h.tui,
		Log:     env.Stderr,
	}
	if hooks.server != nil {
		hooks.server(&opts)
	}
	srv, err := serve.New(opts)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	if made {
		fmt.Fprintf(env.Stderr, "wxscope serve: made the host key %s; its fingerprint is what clients are asked to trust on their first login\n", keyPath)
	}
	fmt.Fprintf(env.Stderr, "wxscope serve: the audit log is %s; the team connects with ssh -p %s HOST\n", audit.Path(), portOf(srv.Addr()))
	if hooks.ready != nil {
		hooks.ready(srv.Addr())
	}
	return srv.Serve(ctx)
}

func portOf(a net.Addr) string {
	_, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return port
}

// serveHost is what every session of the server shares: the configuration
// loaded at start, the cache opened once (Shared: a lookup in another
// process still gets in between writes), one Syncer that keeps one API
// client per app, one set of syncs (at most one per app, whoever started
// it), and one CacheSource, whose presence index and link analysis the
// sessions' views share.
type serveHost struct {
	ctx    context.Context // the server's: its end stops the syncs
	cfg    *config.Config
	store  *cache.Store
	syncer *syncer.Syncer
	syncs  *ui.Syncs
	source *ui.CacheReader
	redraw time.Duration // how often a session's home view redraws
}

func newServeHost(ctx context.Context, cfg *config.Config, hooks serveHooks) (*serveHost, error) {
	store, err := cache.Open(cfg.Cache, cache.Options{Mode: cache.Shared, Command: serveCommand})
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	byID := map[string]config.App{}
	for _, a := range cfg.Apps {
		names[a.AppID] = a.Name
		byID[a.AppID] = a
	}
	if err := store.SetAppNames(names); err != nil {
		store.Close()
		return nil, err
	}
	h := &serveHost{ctx: ctx, cfg: cfg, store: store, source: ui.NewCacheReader(store, appRefs(cfg)), redraw: serveRedraw}
	if hooks.redraw > 0 {
		h.redraw = hooks.redraw
	}
	h.syncer = syncer.New(cfg, store, syncer.Options{Command: serveCommand, KeepClients: true, Adjust: hooks.syncOpts})
	h.syncs = ui.NewSharedSyncs(ctx, func(ctx context.Context, appID string, progress func(cache.Progress)) error {
		err := h.syncer.Sync(ctx, byID[appID], progress, tuiProgressEvery)
		if err == nil || !errors.Is(err, context.Canceled) {
			h.source.Changed()
		}
		return err
	})
	return h, nil
}

// close stops the syncs, waits until each has saved what it fetched, and
// closes the cache.
func (h *serveHost) close() {
	h.syncs.StopAll()
	h.syncs.Wait()
	h.store.Close()
}

// command runs a command line of a session as locally: the same flags,
// output and exit status, on the session's streams and terminal, with the
// server's configuration, store and syncs.
func (h *serveHost) command(ctx context.Context, s *serve.Session, args []string) int {
	env := &Env{
		Stdin:     s.Stdin,
		Stdout:    s.Stdout,
		Stderr:    s.Stderr,
		Getenv:    s.Getenv,
		StdoutTTY: s.PTY,
		served:    h,
		termWidth: func() int { w, _ := s.Size(); return w },
	}
	return runLine(ctx, env, args)
}

// runLine is Run, set in init: the command table names runServe, whose
// sessions run command lines through the table, a cycle the package's
// variable initialisation cannot have.
var runLine func(ctx context.Context, env *Env, args []string) int

func init() { runLine = Run }

// tui builds a session's TUI over the shared store, source and syncs; a
// read-only one (support) follows the syncs but cannot start or stop one.
func (h *serveHost) tui(_ context.Context, s *serve.Session, readOnly bool) (tea.Model, func(), error) {
	env := &Env{Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr, Getenv: s.Getenv, StdoutTTY: s.PTY, served: h}
	t, err := newTUI(env, h.cfg, tuiOptions{
		readOnly: readOnly,
		shared:   &tuiShared{store: h.store, source: h.source, syncs: h.syncs, syncer: h.syncer},
		redraw:   h.redraw,
		persons: func(p ui.PersonFinder) ui.PersonFinder {
			return auditedPersons{PersonFinder: p, audit: s.Audit}
		},
		// No clipboard command: it would run on the server. y copies
		// through OSC 52, which the client's terminal answers.
	})
	if err != nil {
		return nil, nil, err
	}
	return t.root, t.close, nil
}

// auditedPersons writes every person looked up in a session's TUI (the
// jump prompt, a follower opened) to the audit log.
type auditedPersons struct {
	ui.PersonFinder
	audit func(command string, exit int)
}

func (a auditedPersons) Person(ctx context.Context, id string) (*cache.Person, error) {
	p, err := a.PersonFinder.Person(ctx, id)
	exit := exitOK
	if err != nil {
		exit = exitFail
	}
	a.audit("lookup "+id, exit)
	return p, err
}

// syncApps is `wxscope sync` over SSH: each app's sync is the server's,
// started here or already running (from a TUI or another session), and
// this session follows its progress. Leaving does not stop it: it belongs
// to the server, and goes on for everyone following it.
func (h *serveHost) syncApps(ctx context.Context, env *Env, apps []config.App) error {
	err := showSyncs(ctx, env, h.store, apps, h.follow)
	if errors.Is(err, context.Canceled) && h.ctx.Err() == nil {
		return errors.New("stopped following the sync, which goes on on the server; run wxscope sync again to follow it, or stop it with x in the TUI")
	}
	return err
}

// follow starts or joins the server's sync of app and reports its
// progress until it ends or ctx does.
func (h *serveHost) follow(ctx context.Context, app config.App, progress func(cache.Progress), every time.Duration) error {
	done, result := h.syncs.Run(app.AppID)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			if p, ok := h.syncs.Latest(app.AppID); ok && p.Final {
				progress(p)
			}
			err := result()
			if errors.Is(err, context.Canceled) && ctx.Err() == nil && h.ctx.Err() == nil {
				return fmt.Errorf("%s: the sync was stopped from the TUI; what it fetched is saved, and wxscope sync --app %s resumes it", app.Name, app.Name)
			}
			return err
		case <-t.C:
			if p, ok := h.syncs.Latest(app.AppID); ok && !p.Final {
				progress(p)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
