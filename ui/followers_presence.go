package ui

import (
	"context"
	"hash/maphash"
	"slices"
)

// PresenceIndex answers Presence.Has from memory: for each app, the sorted
// 64-bit hashes of the unionids its following members carry. Eight bytes a
// member (8 MB for a million) instead of a map of strings, and a binary
// search per question, which the Followers view asks for every visible row on
// every frame and for every row when it sorts by an app column.
//
// Two different unionids share a hash with odds of about n²/2⁶⁵ (10⁻⁷ for
// 3 M members): a presence column may then show ✓ for a missing person. That
// is a display, never an answer a lookup relies on.
type PresenceIndex struct {
	seed maphash.Seed
	apps map[string][]uint64
}

// BuildPresence reads the unionid index once into a PresenceIndex. It stops
// early with ctx's error when ctx is cancelled.
func BuildPresence(ctx context.Context, src UnionKeyReader) (*PresenceIndex, error) {
	x := &PresenceIndex{seed: maphash.MakeSeed(), apps: map[string][]uint64{}}
	// The index is sorted by unionid then appid, so one app's run of keys
	// is interleaved with the others': remember the last app's slice to
	// avoid a map lookup per key.
	var lastApp string
	var last []uint64
	n := 0
	err := src.EachUnionKey(func(unionid, appid, _ string) error {
		if n++; n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if appid != lastApp {
			if lastApp != "" {
				x.apps[lastApp] = last
			}
			lastApp, last = appid, x.apps[appid]
		}
		last = append(last, maphash.String(x.seed, unionid))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if lastApp != "" {
		x.apps[lastApp] = last
	}
	for id, hs := range x.apps {
		slices.Sort(hs)
		x.apps[id] = slices.Compact(hs) // a conflict lists one unionid twice
	}
	return x, nil
}

// Has implements Presence.
func (x *PresenceIndex) Has(appID, unionid string) bool {
	if x == nil || unionid == "" {
		return false
	}
	hs := x.apps[appID]
	if len(hs) == 0 {
		return false
	}
	_, ok := slices.BinarySearch(hs, maphash.String(x.seed, unionid))
	return ok
}

// Len is the number of (app, unionid) entries held.
func (x *PresenceIndex) Len() int {
	n := 0
	for _, hs := range x.apps {
		n += len(hs)
	}
	return n
}
