package ui

import (
	"context"
	"sync"

	"wxscope/cache"
)

// SyncFunc runs one sync of appID until it ends or ctx is cancelled,
// reporting through progress (from one goroutine at a time, as
// cache.SyncOptions.Progress does). main builds it over the API client and
// cache.Sync; the UI never calls the API itself. It returns nil only when
// the app synced completely; an app that cannot sync at all (its secret
// variable is unset) returns that error at once.
type SyncFunc func(ctx context.Context, appID string, progress func(cache.Progress)) error

// Syncs runs the TUI's syncs in this process, one goroutine per app, so the
// TUI is the cache's one writer. Progress reports land in a buffer that the
// home view reads on its own tick: a sync may report as often as it likes
// and the screen still redraws at a steady pace.
//
// Quitting cancels the context every sync was started with; Wait then
// returns once each sync has written what it fetched, which is what the
// root's cleanup waits for before closing the cache.
type Syncs struct {
	fn SyncFunc
	wg sync.WaitGroup
	// base, when set, is the context every sync runs under instead of the
	// one of the view that starts it (NewSharedSyncs).
	base context.Context

	mu   sync.Mutex
	runs map[string]*syncHandle
	ends int // runs that ended, for views that look now and then (endCount)
}

// syncHandle is the TUI's hold on the latest (or last) sync of one app: how
// to stop it, when it ended, its last progress report and how it ended.
// (cache's syncRun is the run itself.)
type syncHandle struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the run returned
	latest cache.Progress
	seen   bool // latest holds a report
	err    error
}

// NewSyncs returns a runner of fn.
func NewSyncs(fn SyncFunc) *Syncs {
	return &Syncs{fn: fn, runs: map[string]*syncHandle{}}
}

// NewSharedSyncs returns a runner of fn for several programs at once (the
// SSH server's sessions): every sync runs under ctx, not under the context
// of the view that started it, so it outlives that session and ends with
// ctx or Stop. A view of any session that finds an app syncing follows its
// progress, and s on it joins the running sync rather than starting one.
func NewSharedSyncs(ctx context.Context, fn SyncFunc) *Syncs {
	return &Syncs{fn: fn, runs: map[string]*syncHandle{}, base: ctx}
}

// Run starts a sync of appID, or joins the one running, for a caller
// outside the TUI (the SSH server's headless sync). It returns the channel
// closed when that run ends and a function saying how it ended. Without a
// shared context (NewSharedSyncs) the run is under context.Background.
func (s *Syncs) Run(appID string) (done <-chan struct{}, result func() error) {
	r, _ := s.startRun(context.Background(), appID)
	return r.done, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		return r.err
	}
}

// endCount is how many runs have ended: a view that sees it change knows
// the cache changed, even from a sync it never saw running.
func (s *Syncs) endCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ends
}

// join returns the done channel of appID's run while one runs.
func (s *Syncs) join(appID string) (done <-chan struct{}, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.runs[appID]; r != nil && !closed(r.done) {
		return r.done, true
	}
	return nil, false
}

// start begins a sync of appID under ctx (or the shared context) and
// returns the channel closed when it ends; ok is false when that app is
// already syncing, and done is then the running sync's. The goroutine
// starts here, not in a tea.Cmd, so Wait counts it even if the program
// quits before running the command that waits for it.
func (s *Syncs) start(ctx context.Context, appID string) (done <-chan struct{}, ok bool) {
	r, ok := s.startRun(ctx, appID)
	return r.done, ok
}

// startRun is start, returning the handle itself.
func (s *Syncs) startRun(ctx context.Context, appID string) (run *syncHandle, started bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.runs[appID]; r != nil && !closed(r.done) {
		return r, false
	}
	if s.base != nil {
		ctx = s.base
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &syncHandle{cancel: cancel, done: make(chan struct{})}
	s.runs[appID] = r
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		err := s.fn(ctx, appID, func(p cache.Progress) {
			s.mu.Lock()
			r.latest, r.seen = p, true
			s.mu.Unlock()
		})
		s.mu.Lock()
		r.err = err
		s.ends++
		s.mu.Unlock()
		close(r.done)
	}()
	return r, true
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Latest returns the last progress report of appID's current or last run.
func (s *Syncs) Latest(appID string) (cache.Progress, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.runs[appID]
	if r == nil || !r.seen {
		return cache.Progress{}, false
	}
	return r.latest, true
}

// result is how appID's last run ended; nil while it runs.
func (s *Syncs) result(appID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.runs[appID]; r != nil {
		return r.err
	}
	return nil
}

// Stop cancels the sync of appID, if one runs; it saves what it fetched and
// the next sync resumes there.
func (s *Syncs) Stop(appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.runs[appID]; r != nil {
		r.cancel()
	}
}

// Wait returns when no sync runs. Cancel their context first (the root
// does, on quit) or it waits for them to finish.
func (s *Syncs) Wait() { s.wg.Wait() }

// StopAll cancels every running sync.
func (s *Syncs) StopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		r.cancel()
	}
}
