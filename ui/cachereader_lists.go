package ui

import (
	"context"
	"time"

	"wxscope/cache"
)

var _ ListsReader = (*CacheReader)(nil)

// chinaTime is the zone of datacube's days.
var chinaTime = time.FixedZone("CST", 8*3600)

// Tags implements ListsReader with cache.Store.Tags.
func (s *CacheReader) Tags(ctx context.Context, appID string) (cache.TagList, error) {
	if err := ctx.Err(); err != nil {
		return cache.TagList{}, err
	}
	return s.store.Tags(appID)
}

// Blacklist implements ListsReader with cache.Store.Blacklist.
func (s *CacheReader) Blacklist(ctx context.Context, appID string) (*cache.Blacklist, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.store.Blacklist(appID)
}

// Blacklisted implements ListsReader with cache.Store.Blacklisted.
func (s *CacheReader) Blacklisted(ctx context.Context, appID, openid string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return s.store.Blacklisted(appID, openid)
}

// Growth implements ListsReader with cache.Store.Growth.
func (s *CacheReader) Growth(ctx context.Context, appID string, first, last time.Time) ([]cache.GrowthDay, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.store.Growth(appID, first.In(chinaTime).Format(time.DateOnly), last.In(chinaTime).Format(time.DateOnly))
}
