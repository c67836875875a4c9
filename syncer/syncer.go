package syncer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/wechat"
	"wxscope/wording"
)

// Syncer syncs the configured apps into one store. Every sync, headless or
// from the TUI, goes through Sync, so the lock, the engine's options and the
// failure sentences are the same everywhere.
type Syncer struct {
	cfg   *config.Config
	store *cache.Store
	opts  Options

	mu      sync.Mutex
	held    int // syncs and Hold calls holding the lock
	unlock  func()
	clients map[string]*appClient // appid → its client, with Options.KeepClients
}

// Options are what differs between the callers of a Syncer.
type Options struct {
	// Command names the holder in the sync lock ("wxscope sync --app news",
	// "wxscope (TUI)"), for the message a second sync prints.
	Command string
	// HTTPClient carries the API calls; nil is the client's default.
	HTTPClient *http.Client
	// Adjust changes the engine's options of every sync; for tests and
	// benchmarks.
	Adjust func(*cache.SyncOptions)
	// KeepClients builds each app's API client once and uses it for every
	// sync (and Client call) of this Syncer. The client caches the access
	// token, so a long-lived Syncer (the SSH server's) is the one token
	// source of each app: no sync fetches a token another already holds,
	// and a classic token is not invalidated by a second fetch.
	KeepClients bool
	// AdjustClient changes the API client's configuration of every sync;
	// for tests that shorten its timeouts and backoff.
	AdjustClient func(*wechat.Config)
}

// New returns a Syncer of cfg's apps into store.
func New(cfg *config.Config, store *cache.Store, opts Options) *Syncer {
	return &Syncer{cfg: cfg, store: store, opts: opts}
}

// Hold takes the cache's sync lock (see lock.go) until release is called:
// a headless sync holds it for its whole run, so a second sync is refused
// before it starts. Holds nest; the lock is let go when the last one ends,
// so that a TUI left open does not keep a nightly sync out.
func (s *Syncer) Hold() (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == 0 {
		unlock, err := lockSync(s.cfg.Cache, s.opts.Command)
		if err != nil {
			return nil, err
		}
		s.unlock = unlock
	}
	s.held++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.held--; s.held == 0 {
				s.unlock()
				s.unlock = nil
			}
		})
	}, nil
}

// NewSource returns the API source of one configured app: its client, with
// the client's typed errors mapped to the cache's. hc may be nil.
func NewSource(cfg *config.Config, app config.App, hc *http.Client) (cache.Source, error) {
	ac, err := newAppClient(cfg, app, hc, nil)
	if err != nil {
		return nil, err
	}
	return ac.source(), nil
}

// Sync syncs app into the store, reporting progress every so often: an
// official account from the API, an app of another kind by reading its
// import (cache.Import). An error other than the context's is a *Failure:
// the one sentence that says why the app did not finish and what to do. An
// import with rejected rows is a *Failure too, wrapping *RejectedRows: its
// valid rows are imported.
func (s *Syncer) Sync(ctx context.Context, app config.App, progress func(cache.Progress), every time.Duration) error {
	err := s.sync(ctx, app, progress, every)
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var f *Failure
	if errors.As(err, &f) {
		return err
	}
	return &Failure{App: app.Name, Sentence: Explain(s.cfg, app, err), TUI: explain(wording.TUI, s.cfg, app, err), Err: err}
}

func (s *Syncer) sync(ctx context.Context, app config.App, progress func(cache.Progress), every time.Duration) error {
	fail := func(err error) error {
		if progress != nil {
			progress(cache.Progress{Name: app.Name, Phase: cache.PhaseFailed, Final: true, Err: err})
		}
		return err
	}
	if err := app.SecretErr(); err != nil {
		return fail(&Failure{App: app.Name, Err: err, Sentence: fmt.Sprintf(
			"%s cannot sync: $%s is not set; set it to the app's AppSecret and start wxscope again", app.Name, app.SecretEnv),
			TUI: fmt.Sprintf("cannot sync: $%s is not set; set it to the app's AppSecret and start wxscope again", app.SecretEnv)})
	}
	release, err := s.Hold()
	if err != nil {
		return fail(err)
	}
	defer release()
	if app.Imported() {
		return s.importApp(ctx, app, progress, every)
	}
	ac, err := s.appClient(app)
	if err != nil {
		return fail(err)
	}
	opts := engineOptions(s.cfg, progress, every)
	if s.opts.Adjust != nil {
		s.opts.Adjust(&opts)
	}
	lists := fetchLists(ctx, ac.client, opts.Now)
	err = cache.Sync(ctx, s.store, app.AppID, ac.source(), opts)
	if lerr := s.readLists(ctx, app, lists, err); lerr != nil && err == nil {
		return fail(lerr)
	}
	return err
}

// Client returns the API client of app: with Options.KeepClients the one
// every sync of this Syncer uses, else a new one.
func (s *Syncer) Client(app config.App) (*wechat.Client, error) {
	ac, err := s.appClient(app)
	if err != nil {
		return nil, err
	}
	return ac.client, nil
}

// Source returns the API source of app over this Syncer's client of it
// (with KeepClients, the one token source of that app).
func (s *Syncer) Source(app config.App) (cache.Source, error) {
	ac, err := s.appClient(app)
	if err != nil {
		return nil, err
	}
	return ac.source(), nil
}

func (s *Syncer) appClient(app config.App) (*appClient, error) {
	if !s.opts.KeepClients {
		return newAppClient(s.cfg, app, s.opts.HTTPClient, s.opts.AdjustClient)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ac := s.clients[app.AppID]; ac != nil {
		return ac, nil
	}
	ac, err := newAppClient(s.cfg, app, s.opts.HTTPClient, s.opts.AdjustClient)
	if err != nil {
		return nil, err
	}
	if s.clients == nil {
		s.clients = map[string]*appClient{}
	}
	s.clients[app.AppID] = ac
	return ac, nil
}

// engineOptions are the sync engine's options for one app of cfg, for the
// sync command and the TUI alike.
func engineOptions(cfg *config.Config, progress func(cache.Progress), every time.Duration) cache.SyncOptions {
	opts := cache.SyncOptions{
		Concurrency:   cfg.Concurrency,
		MaxAge:        cfg.MaxAge,
		Progress:      progress,
		ProgressEvery: every,
	}
	if cfg.MaxAge == 0 {
		// The config's "0s" means refetch every profile; the engine's zero
		// value means its default.
		opts.MaxAge = -1
	}
	return opts
}
