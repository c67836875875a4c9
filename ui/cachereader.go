package ui

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"wxscope/cache"
	"wxscope/ids"
	"wxscope/wording"
)

// CacheReader reads the TUI's data from a cache.Store for the configured
// apps. It is safe for concurrent use; every call is one or a few short read
// transactions, so syncs in the same process write in between.
type CacheReader struct {
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

// NewCacheReader returns the reader over store for apps, in the order the
// configuration lists them.
func NewCacheReader(store *cache.Store, apps []cache.AppRef) *CacheReader {
	return &CacheReader{store: store, apps: apps}
}

var (
	_ Reader       = (*CacheReader)(nil)
	_ PersonFinder = (*CacheReader)(nil)
	_ ImportReader = (*CacheReader)(nil)
)

// EachFollower implements FollowerReader with cache.Store.EachProfile, which
// reads in chunks of a few thousand rows, each in its own transaction.
func (s *CacheReader) EachFollower(ctx context.Context, appID string, fn func(p *cache.Profile) error) error {
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

// Apps implements Reader.
func (s *CacheReader) Apps(ctx context.Context) (map[string]cache.App, error) {
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

// EachLastSeen implements LastSeenReader with cache.Store.EachLastSeen.
func (s *CacheReader) EachLastSeen(ctx context.Context, appID string, fn func(openid string, lastSeen int64) error) error {
	n := 0
	return s.store.EachLastSeen(appID, func(openid string, t int64) error {
		if n++; n&0x3ff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(openid, t)
	})
}

// Imports implements ImportReader: the latest import of every imported app.
func (s *CacheReader) Imports(ctx context.Context) (map[string]cache.ImportInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in, err := s.store.Imports()
	if err != nil {
		return nil, fmt.Errorf("read the cache %s: %w", s.store.Path(), err)
	}
	return in, nil
}

// Links implements Reader with cache.Analyze. A caller that asks while
// an analysis runs shares it (judged at that one's now, moments earlier); a
// caller after it ends starts another, so r in the Links and Doctor views
// reads the cache again.
func (s *CacheReader) Links(ctx context.Context, now time.Time) (*cache.Links, error) {
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

// EachGroup implements Reader with cache.EachGroup over the configured
// apps, stopping when ctx ends.
func (s *CacheReader) EachGroup(ctx context.Context, fn func(g *cache.Group) error) error {
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

// homeLinks is the LinksReader of the Links and Doctor views opened from
// home: the same reader and the same clock as the home view's findings, so
// the three never disagree about the same cache.
type homeLinks struct {
	src Reader
	now func() time.Time
}

// Analyze implements LinksReader.
func (h homeLinks) Analyze(ctx context.Context) (*cache.Links, error) {
	return h.src.Links(ctx, h.now())
}

// EachGroup implements LinksReader.
func (h homeLinks) EachGroup(ctx context.Context, fn func(g *cache.Group) error) error {
	return h.src.EachGroup(ctx, fn)
}

// Presence implements Reader. Callers that ask while a build runs wait
// for it; a build cancelled with its caller's ctx is forgotten, so the next
// caller starts another. The index grows by the apps asked for: a caller
// asking for one the index lacks reads those apps into a new one, which
// shares the old one's (the old one stays valid for those who hold it).
func (s *CacheReader) Presence(ctx context.Context, appIDs []string) (Presence, error) {
	for {
		b := join(&s.mu, &s.presence, true, func() (*PresenceIndex, error) {
			return s.readPresence(ctx, &PresenceIndex{seed: maphash.MakeSeed()}, appIDs)
		})
		x, err := b.wait(ctx)
		if err != nil {
			return nil, err
		}
		if x.answers(appIDs) {
			return x, nil
		}
		s.mu.Lock()
		if s.presence == b {
			// Nobody has grown it meanwhile: a build of x and the
			// apps asked for takes its place (x again if it fails).
			nb := &build[*PresenceIndex]{done: make(chan struct{})}
			s.presence = nb
			go func() {
				nb.v, nb.err = s.readPresence(ctx, x, appIDs)
				if nb.err != nil {
					s.mu.Lock()
					if s.presence == nb {
						s.presence = b
					}
					s.mu.Unlock()
				}
				close(nb.done)
			}()
		}
		s.mu.Unlock()
	}
}

func (s *CacheReader) readPresence(ctx context.Context, x *PresenceIndex, appIDs []string) (*PresenceIndex, error) {
	y, err := x.with(ctx, s.store, appIDs)
	if err != nil {
		return nil, fmt.Errorf("read the unionid index: %w", err)
	}
	return y, nil
}

// Changed implements Reader: the presence index is built again when
// next asked, and an analysis still running is not shared with callers
// from now on, since it may have read the cache before the change.
func (s *CacheReader) Changed() {
	s.mu.Lock()
	s.presence, s.links = nil, nil
	s.mu.Unlock()
}

// Person implements PersonFinder with cache.Store.Person: an openid or a
// unionid, looked up without a scan, with each app's reason when the person
// is not there.
func (s *CacheReader) Person(ctx context.Context, id string) (*cache.Person, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A line pasted from a ticket is read down to its id, as wxscope lookup
	// does, and a line with two ids is refused as there; text without an
	// id is looked up as typed.
	switch pasted, err := ids.Pasted(id); {
	case err == nil:
		id = pasted
	case errors.Is(err, ids.ErrSeveralIDs):
		return nil, err
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
