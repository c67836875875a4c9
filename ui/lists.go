package ui

import (
	"context"
	"time"

	"wxscope/cache"
)

// ListsReader reads what each sync stored beside the followers: an app's
// tags, its blacklist, and the official daily figures (datacube) that a
// growth refresh or `wxscope growth` cached. CacheReader implements it;
// like the other readers it never calls the API.
type ListsReader interface {
	// Tags returns the app's tags as the last sync read them (a zero list
	// when never read, with Unavailable saying why when the read failed).
	Tags(ctx context.Context, appID string) (cache.TagList, error)
	// Blacklist returns the app's blacklist as the last complete read left
	// it, in memory.
	Blacklist(ctx context.Context, appID string) (*cache.Blacklist, error)
	// Blacklisted reports whether openid is on the app's blacklist.
	Blacklisted(ctx context.Context, appID, openid string) (bool, error)
	// Growth returns the cached datacube days of the app from first to last
	// (China-time days, both included), oldest first.
	Growth(ctx context.Context, appID string, first, last time.Time) ([]cache.GrowthDay, error)
}

// GrowthFunc brings the datacube figures of appID from first to last
// (China-time days) into the cache, asking the API only for the days the
// cache cannot answer. cli builds it over syncer.Growth, the seam every
// sync goes through; the UI never calls the API itself. Its error is one
// sentence for the user (an unverified account: 48001).
type GrowthFunc func(ctx context.Context, appID string, first, last time.Time) error
