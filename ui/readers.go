package ui

import (
	"context"
	"errors"
	"time"

	"wxscope/cache"
)

// The views read their data through these small interfaces, declared here
// where they are used, so the cache package (or a test) only has to satisfy
// them: CacheReader (cachereader.go) implements Reader and PersonFinder over
// a cache.Store, and *cache.Store itself is a UnionKeyReader. Every call
// gets Common.Ctx, which is cancelled when the program quits. Calls run
// inside tea.Cmd goroutines, never on the UI goroutine, so an implementation
// may block on the bbolt file for a moment; it must be safe for concurrent
// use. None of them calls the API.

// FollowerReader streams the cached followers of one app.
type FollowerReader interface {
	// EachFollower calls fn once for every cached follower of appID,
	// followed or unfollowed, in any order, and stops at fn's first error.
	// fn copies what it needs: p may be reused after fn returns.
	EachFollower(ctx context.Context, appID string, fn func(p *cache.Profile) error) error
}

// Presence answers "is this person in that app?" for the Followers view's
// per-app columns. It is asked for the visible rows on every frame, and for
// every row when sorting by an app column, so it should be an in-memory
// lookup (the unionid index), not a disk read per call.
type Presence interface {
	// Has reports whether some follower of appID carries unionid.
	Has(appID, unionid string) bool
}

// PersonFinder resolves an openid or a unionid to the person the Person
// view shows. The link analysis (why an app has no openid) is the
// implementation's job: cache.Store.Person does it.
type PersonFinder interface {
	// Person returns every member of the person id belongs to, one entry per
	// configured app, with each app's reason when the person is not there.
	// An id the cache does not know yields an error wrapping ErrUnknownID.
	Person(ctx context.Context, id string) (*cache.Person, error)
}

// ErrUnknownID is wrapped by a PersonFinder when no cached follower has the id.
var ErrUnknownID = errors.New("no cached follower has this id")

// Reader is what the home view reads: the cheap counters on every
// refresh, the link analysis after each sync, the followers of one app and
// the presence index for the Followers view, and the unionid groups for the
// Links view it opens. CacheReader implements it over the bbolt cache.
type Reader interface {
	FollowerReader
	// Apps returns the counters and sync state of every cached app, keyed
	// by appid, without scanning profiles.
	Apps(ctx context.Context) (map[string]cache.App, error)
	// Links runs the link analysis over the configured apps.
	Links(ctx context.Context, now time.Time) (*cache.Links, error)
	// Presence returns the presence index of the apps appIDs (nil: of
	// every app) in the cache as it is now, building what it lacks of them
	// or all of it if the cache changed since it was last built.
	Presence(ctx context.Context, appIDs []string) (Presence, error)
	// Changed says a sync wrote to the cache, so the next Presence rebuilds.
	Changed()
	// EachGroup streams the persons of the unionid index, as
	// LinksReader.EachGroup.
	EachGroup(ctx context.Context, fn func(g *cache.Group) error) error
}

// LinksReader is where the Links and Doctor views read the link analysis,
// over the configured apps in the configuration's order. The home view
// hands on its own Reader (homeLinks in cachereader.go), so that all three
// agree about the same cache.
type LinksReader interface {
	// Analyze runs the link analysis (cache.Analyze).
	Analyze(ctx context.Context) (*cache.Links, error)
	// EachGroup streams the persons of the unionid index with the apps each
	// is missing in (cache.EachGroup), restricted to the same apps. g is
	// reused between calls.
	EachGroup(ctx context.Context, fn func(g *cache.Group) error) error
}

// UnionKeyReader streams the unionid index: every following (app, openid)
// with a unionid, keys only. *cache.Store satisfies it.
type UnionKeyReader interface {
	EachUnionKey(fn func(unionid, appid, openid string) error) error
}
