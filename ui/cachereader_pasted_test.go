package ui

import (
	"context"
	"path/filepath"
	"testing"

	"wxscope/cache"
)

// The jump prompt takes what support pastes: a ticket line finds the person
// as `wxscope lookup` would.
func TestJumpReadsTheIDOutOfAPastedTicketLine(t *testing.T) {
	const appid, openid, unionid = "wx1111111111111111", "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ"
	store, err := cache.Open(filepath.Join(t.TempDir(), "c.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.PutProfiles(appid, []cache.Profile{{AppID: appid, OpenID: openid, UnionID: unionid, Subscribed: true, FetchedAt: 1}}); err != nil {
		t.Fatal(err)
	}
	src := NewCacheReader(store, []cache.AppRef{{AppID: appid, Name: "news"}})
	d, err := src.Person(context.Background(), "用户反馈 openid: '"+openid+"' 无法关联")
	if err != nil {
		t.Fatal(err)
	}
	if d.UnionID != unionid || len(d.Apps) != 1 || len(d.Apps[0].Profiles) != 1 || d.Apps[0].Profiles[0].OpenID != openid {
		t.Errorf("ticket line found %+v", d)
	}
}
