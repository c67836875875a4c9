package ui

import (
	"context"
	"errors"

	"wxscope/cache"
)

// The views read their data through these small interfaces, declared here
// where they are used, so the cache package (or a test) only has to satisfy
// them. Every call gets Common.Ctx, which is cancelled when the program quits.
// Calls run inside tea.Cmd goroutines, never on the UI goroutine, so an
// implementation may block on the bbolt file for a moment; it must be safe for
// concurrent use.

// FollowerSource streams the cached followers of one app.
type FollowerSource interface {
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

// OtherApp is one other configured app, shown as a presence column.
type OtherApp struct {
	Name  string // short label, the column header
	AppID string
	Bound bool // any of its subscribed followers carries a unionid
}

// PersonSource resolves an openid or a unionid to the person the Person
// view shows. The link analysis (why an app has no openid) is the
// implementation's job: cache.Store.Person does it.
type PersonSource interface {
	// Person returns every member of the person id belongs to, one entry per
	// configured app, with each app's reason when the person is not there.
	// An id the cache does not know yields an error wrapping ErrUnknownID.
	Person(ctx context.Context, id string) (*cache.Person, error)
}

// ErrUnknownID is wrapped by a PersonSource when no cached follower has the id.
var ErrUnknownID = errors.New("no cached follower has this id")
