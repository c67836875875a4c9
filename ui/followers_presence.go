package ui

import (
	"context"
	"hash/maphash"
	"maps"
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
	// built are the apps it answers for (an app with no member has no
	// hashes but is built all the same); all: every app.
	built map[string]bool
	all   bool
}

// BuildPresence reads the unionid index once into a PresenceIndex of every
// app. It stops early with ctx's error when ctx is cancelled.
func BuildPresence(ctx context.Context, src UnionKeyReader) (*PresenceIndex, error) {
	x := &PresenceIndex{seed: maphash.MakeSeed(), apps: map[string][]uint64{}}
	return x.with(ctx, src, nil)
}

// with returns an index of x's apps and those of appIDs (nil: every app),
// read in one walk of the unionid index: x's slices are shared, not copied,
// and only the apps x lacks are read. The Followers view asks only for the
// apps of its columns, so that the followers of the app it shows, ten
// million hashes of 8 bytes for a large one, are not held for it.
func (x *PresenceIndex) with(ctx context.Context, src UnionKeyReader, appIDs []string) (*PresenceIndex, error) {
	y := &PresenceIndex{seed: x.seed, apps: maps.Clone(x.apps), built: maps.Clone(x.built), all: x.all}
	if y.apps == nil {
		y.apps = map[string][]uint64{}
	}
	if y.built == nil {
		y.built = map[string]bool{}
	}
	want := map[string]bool{}
	for _, id := range appIDs {
		if !y.built[id] {
			want[id] = true
		}
	}
	all := appIDs == nil
	if (all && y.all) || (!all && len(want) == 0) {
		return y, nil
	}
	fresh := map[string][]uint64{}
	// The index is sorted by unionid then appid, so one app's run of keys
	// is interleaved with the others': remember the last app's slice to
	// avoid a map lookup per key.
	var lastApp string
	var last []uint64
	keep := false
	n := 0
	err := src.EachUnionKey(func(unionid, appid, _ string) error {
		if n++; n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if appid != lastApp {
			if keep {
				fresh[lastApp] = last
			}
			keep = (all && !y.built[appid]) || want[appid]
			lastApp, last = appid, fresh[appid]
		}
		if keep {
			last = append(last, maphash.String(y.seed, unionid))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if keep {
		fresh[lastApp] = last
	}
	for id, hs := range fresh {
		slices.Sort(hs)
		y.apps[id] = slices.Clip(slices.Compact(hs)) // a conflict lists one unionid twice
		y.built[id] = true
	}
	for id := range want {
		y.built[id] = true
	}
	y.all = y.all || all
	return y, nil
}

// answers reports whether x was built for every app of appIDs (nil: for
// every app).
func (x *PresenceIndex) answers(appIDs []string) bool {
	if x.all {
		return true
	}
	for _, id := range appIDs {
		if !x.built[id] {
			return false
		}
	}
	return appIDs != nil
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
