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

// PersonSource resolves an openid or a unionid to the Person view's data.
// The link analysis (why an app has no openid) is the implementation's job.
type PersonSource interface {
	// Person returns every member of the person id belongs to. An id the
	// cache does not know yields an error wrapping ErrUnknownID.
	Person(ctx context.Context, id string) (PersonData, error)
}

// ErrUnknownID is wrapped by a PersonSource when no cached follower has the id.
var ErrUnknownID = errors.New("no cached follower has this id")

// PersonData is everything the Person view shows; the caller fills it.
type PersonData struct {
	// Query is the id that was looked up, as typed.
	Query string
	// UnionID is the person's unionid; "" when Query is an openid whose
	// follower carries none (the view then shows that one member).
	UnionID string
	// Members has one entry per configured app, in the order of the
	// configuration; an app with two openids for one unionid (a conflict)
	// may appear twice.
	Members []PersonMember
}

// PersonMember is the person as seen from one app.
type PersonMember struct {
	App   string // short label
	AppID string
	// Profile is the cached follower, or nil when the app has no openid for
	// this person; Missing then says why.
	Profile *cache.Profile
	Missing MissingReason
	// Detail adds words to the reason, e.g. the platform label "P2" for
	// OtherPlatform, or the time of the last sync for NotSynced.
	Detail string
}

// MissingReason says why an app has no openid for a person.
type MissingReason int

// The reasons the link analysis can give.
const (
	ReasonUnknown MissingReason = iota // not said
	NotFollowing                       // the app is bound to the same platform; this person does not follow it
	AppNotBound                        // the app's followers carry no unionid, so nobody can be found by unionid
	OtherPlatform                      // the app is bound to another open platform, where this person has another unionid
	NotYetSynced                       // the app's cache is empty or its sync has not finished
	NoUnionID                          // the looked-up follower carries no unionid, so nobody can tell; Detail says why in words
)
