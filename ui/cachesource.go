package ui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"wxscope/cache"
	"wxscope/ids"
	"wxscope/wording"
)

// HomeSource is what the home view reads: the cheap counters on every
// refresh, the link analysis after each sync, the followers of one app and
// the presence index for the Followers view, and the unionid groups for the
// Links view it opens. CacheSource implements it over the bbolt cache.
type HomeSource interface {
	FollowerSource
	// Apps returns the counters and sync state of every cached app, keyed
	// by appid, without scanning profiles.
	Apps(ctx context.Context) (map[string]cache.App, error)
	// Links runs the link analysis over the configured apps.
	Links(ctx context.Context, now time.Time) (*cache.Links, error)
	// Presence returns the presence index of the cache as it is now,
	// building it if the cache changed since it was last built.
	Presence(ctx context.Context) (Presence, error)
	// Changed says a sync wrote to the cache, so the next Presence rebuilds.
	Changed()
	// EachGroup streams the persons of the unionid index, as
	// LinksSource.EachGroup.
	EachGroup(ctx context.Context, fn func(g *cache.Group) error) error
}

// CacheSource reads the TUI's data from a cache.Store for the configured
// apps. It is safe for concurrent use; every call is one or a few short read
// transactions, so syncs in the same process write in between.
type CacheSource struct {
	store *cache.Store
	apps  []cache.AppRef

	mu       sync.Mutex
	presence *build[*PresenceIndex] // kept until the cache changes
	links    *build[*cache.Links]   // only while it runs
}

// build is one read of the whole unionid index (the presence index, the
// link analysis), shared by every caller that asks while it runs: after a
// sync the home view and an open Links or Doctor view all ask for the
// analysis at once, and one walk answers them all.
type build[T any] struct {
	done chan struct{}
	v    T
	err  error
}

// join returns the build in *slot, starting run in a goroutine when there
// is none. A build that fails (its caller's ctx ended) is forgotten, so the
// next caller starts another; so is a finished one unless keep.
func join[T any](mu *sync.Mutex, slot **build[T], keep bool, run func() (T, error)) *build[T] {
	mu.Lock()
	defer mu.Unlock()
	if b := *slot; b != nil {
		return b
	}
	b := &build[T]{done: make(chan struct{})}
	*slot = b
	go func() {
		b.v, b.err = run()
		if b.err != nil || !keep {
			mu.Lock()
			if *slot == b {
				*slot = nil
			}
			mu.Unlock()
		}
		close(b.done)
	}()
	return b
}

// wait returns b's result, or ctx's error as it is if ctx ends first.
func (b *build[T]) wait(ctx context.Context) (T, error) {
	select {
	case <-b.done:
		return b.v, b.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// NewCacheSource returns the source over store for apps, in the order the
// configuration lists them.
func NewCacheSource(store *cache.Store, apps []cache.AppRef) *CacheSource {
	return &CacheSource{store: store, apps: apps}
}

var (
	_ HomeSource   = (*CacheSource)(nil)
	_ PersonSource = (*CacheSource)(nil)
)

// EachFollower implements FollowerSource with cache.Store.EachProfile, which
// reads in chunks of a few thousand rows, each in its own transaction.
func (s *CacheSource) EachFollower(ctx context.Context, appID string, fn func(p *cache.Profile) error) error {
	n := 0
	return s.store.EachProfile(appID, "", func(p cache.Profile) error {
		if n++; n&0x3ff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(&p)
	})
}

// Apps implements HomeSource.
func (s *CacheSource) Apps(ctx context.Context) (map[string]cache.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list, err := s.store.Apps()
	if err != nil {
		return nil, fmt.Errorf("read the cache %s: %w", s.store.Path(), err)
	}
	out := make(map[string]cache.App, len(list))
	for _, a := range list {
		out[a.AppID] = a
	}
	return out, nil
}

// Links implements HomeSource with cache.Analyze. A caller that asks while
// an analysis runs shares it (judged at that one's now, moments earlier); a
// caller after it ends starts another, so r in the Links and Doctor views
// reads the cache again.
func (s *CacheSource) Links(ctx context.Context, now time.Time) (*cache.Links, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := join(&s.mu, &s.links, false, func() (*cache.Links, error) {
		l, err := cache.Analyze(s.store, cache.AnalyzeOptions{Apps: s.apps, Now: now})
		if err != nil {
			return nil, fmt.Errorf("analyse the links in %s: %w", s.store.Path(), err)
		}
		return l, nil
	})
	// cache.Analyze does not stop with ctx, and a view that gave up at quit
	// would show "context canceled" under the quitting footer: wait it out.
	return b.wait(context.Background())
}

// EachGroup implements HomeSource with cache.EachGroup over the configured
// apps, stopping when ctx ends.
func (s *CacheSource) EachGroup(ctx context.Context, fn func(g *cache.Group) error) error {
	n := 0
	return cache.EachGroup(s.store, s.apps, func(g *cache.Group) error {
		if n++; n&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(g)
	})
}

// homeLinks is the LinksSource of the Links and Doctor views opened from
// home: the same source and the same clock as the home view's findings, so
// the three never disagree about the same cache.
type homeLinks struct {
	src HomeSource
	now func() time.Time
}

// Analyze implements LinksSource.
func (h homeLinks) Analyze(ctx context.Context) (*cache.Links, error) {
	return h.src.Links(ctx, h.now())
}

// EachGroup implements LinksSource.
func (h homeLinks) EachGroup(ctx context.Context, fn func(g *cache.Group) error) error {
	return h.src.EachGroup(ctx, fn)
}

// Presence implements HomeSource. Callers that ask while a build runs wait
// for it; a build cancelled with its caller's ctx is forgotten, so the next
// caller starts another.
func (s *CacheSource) Presence(ctx context.Context) (Presence, error) {
	b := join(&s.mu, &s.presence, true, func() (*PresenceIndex, error) {
		x, err := BuildPresence(ctx, s.store)
		if err != nil {
			return nil, fmt.Errorf("read the unionid index: %w", err)
		}
		return x, nil
	})
	x, err := b.wait(ctx)
	if err != nil {
		return nil, err
	}
	return x, nil
}

// Changed implements HomeSource: the presence index is built again when
// next asked, and an analysis still running is not shared with callers
// from now on, since it may have read the cache before the change.
func (s *CacheSource) Changed() {
	s.mu.Lock()
	s.presence, s.links = nil, nil
	s.mu.Unlock()
}

// Person implements PersonSource with cache.Store.Person: an openid or a
// unionid, looked up without a scan, with each app's reason when the person
// is not there.
func (s *CacheSource) Person(ctx context.Context, id string) (*cache.Person, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A line pasted from a ticket is read down to its id, as wxscope lookup
	// does; anything else is looked up as typed.
	if pasted, err := ids.Pasted(id); err == nil {
		id = pasted
	}
	p, err := s.store.Person(id, s.apps)
	if err != nil {
		return nil, err
	}
	if !p.Found() {
		if p.Guess != nil && p.Guess.AppID != "" {
			return nil, fmt.Errorf("%w; it looks like an openid of %s (%s), not synced that far yet", ErrUnknownID, p.Guess.App, wording.Guess(p.Guess))
		}
		return nil, ErrUnknownID
	}
	return p, nil
}

// isCanceled reports an error that only says the program is quitting.
func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled)
}
