package ui

import (
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"slices"

	"wxscope/cache"
)

// FollowersOpener builds the Followers view of one app, narrowed to subset;
// the home view provides it because it knows the reader and the other apps. The
// Links and Doctor views call it to open the followers behind a row.
type FollowersOpener func(appID string, subset FollowerSubset) Page

// groupIndex is the unionid groups of one load, compact: the unionids in an
// idColumn (a platform's shared prefix once, six bits a character, in
// chunks that grow without copying: 18 bytes for 28, where a byte arena
// and its offsets took 32 and, doubling, up to twice that for a moment) and
// each person reduced to a bit mask of the apps it is in and the number of
// its platform, so a million persons cost about 27 MB and no string is
// built until its row is drawn. At millions of persons the unionids spill
// to a temporary file as the Followers index's do (followers_spill.go):
// the view draws forty of them at a time and never scans them.
type groupIndex struct {
	appBit map[string]int // appid → bit
	ids    idColumn       // group g's unionid is ids.id(g)
	in     []uint64       // bit b: a member in the app of bit b
	// conflict holds the few groups with two openids in one app.
	conflict map[uint32]uint64
	// bound are the bits of the bound apps.
	bound uint64
	// plat is each group's platform, an index into platforms; platApps are
	// the bits of each platform's apps. A person is missing in the bound
	// apps of its own platform only: elsewhere it has another unionid.
	plat      []uint8
	platforms []string
	platApps  []uint64
	maxLen    int

	missing   []int // per bit: groups missing in that app
	inN       []int // per n: groups with members in n apps
	conflicts []int // per bit: groups in conflict there
}

func newGroupIndex() *groupIndex {
	x := &groupIndex{appBit: map[string]int{}, ids: newIDColumn(0), conflict: map[uint32]uint64{},
		missing: make([]int, cache.MaxLinkedApps), inN: make([]int, cache.MaxLinkedApps+1),
		conflicts: make([]int, cache.MaxLinkedApps)}
	x.ids.spillable = true
	return x
}

func (x *groupIndex) bit(appid string) int {
	b, ok := x.appBit[appid]
	if !ok && len(x.appBit) < cache.MaxLinkedApps {
		b = len(x.appBit)
		x.appBit[appid] = b
		ok = true
	}
	if !ok {
		return -1
	}
	return b
}

// add appends one group; it copies what it keeps.
func (x *groupIndex) add(g *cache.Group) {
	var in, dup uint64
	for _, m := range g.Members {
		b := x.bit(m.AppID)
		if b < 0 {
			continue
		}
		if in&(1<<b) != 0 {
			dup |= 1 << b
		}
		in |= 1 << b
	}
	var missing uint64
	for _, a := range g.Missing {
		if b := x.bit(a); b >= 0 {
			missing |= 1 << b
		}
	}
	x.bound |= missing | in // an app with a member carries unionids: it is bound
	p := slices.Index(x.platforms, g.Platform)
	if p < 0 && len(x.platforms) < 255 {
		p = len(x.platforms)
		x.platforms = append(x.platforms, g.Platform)
		x.platApps = append(x.platApps, 0)
	}
	if p < 0 {
		p = len(x.platforms) - 1
	}
	x.platApps[p] |= missing | in
	x.plat = append(x.plat, uint8(p))
	id := clip(g.UnionID)
	x.ids.add(id)
	x.in = append(x.in, in)
	x.maxLen = max(x.maxLen, len(id))
	x.inN[bits.OnesCount64(in)]++
	if dup != 0 {
		x.conflict[uint32(len(x.in)-1)] = dup
		for d := dup; d != 0; d &= d - 1 {
			x.conflicts[bits.TrailingZeros64(d)]++
		}
	}
}

// finish counts the persons missing in each app, once the bound apps are
// all known.
func (x *groupIndex) finish() {
	x.ids.finish()
	if s := x.ids.spill; s != nil {
		runtime.AddCleanup(x, func(s *idSpill) { s.close() }, s)
	}
	for g, in := range x.in {
		for m := x.missingMask(g) &^ in; m != 0; m &= m - 1 {
			x.missing[bits.TrailingZeros64(m)]++
		}
	}
}

// missingMask are the apps group g would be missing in without a member:
// the bound apps of its platform.
func (x *groupIndex) missingMask(g int) uint64 {
	return x.bound & x.platApps[x.plat[g]]
}

// otherPlatforms counts the groups of other platforms than app's: those not
// counted as missing in it.
func (x *groupIndex) otherPlatforms(appid string) int {
	b, ok := x.appBit[appid]
	if !ok {
		return 0
	}
	n := 0
	for g := range x.in {
		if x.platApps[x.plat[g]]&(1<<b) == 0 {
			n++
		}
	}
	return n
}

func (x *groupIndex) len() int { return len(x.in) }

func (x *groupIndex) unionID(g int) string { return x.ids.id(g) }

// loadGroups reads every group of src into an index.
func loadGroups(ctx context.Context, src LinksReader) (*groupIndex, error) {
	x := newGroupIndex()
	n := 0
	err := src.EachGroup(ctx, func(g *cache.Group) error {
		if n++; n&4095 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		x.add(g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the unionid groups: %w", err)
	}
	x.finish()
	return x, nil
}

// GroupFilterKind says which persons (or followers) the Links view lists.
type GroupFilterKind int

// The filters of the Links view.
const (
	GroupsAll       GroupFilterKind = iota // every person
	GroupsMissingIn                        // persons missing in App (bound, no member there)
	GroupsInApps                           // persons with members in exactly N apps
	GroupsConflict                         // persons with two or more openids in App
	GroupsNoUnionID                        // not persons: the followers of bound apps without a unionid, per app
	// GroupsOtherPlatform: the persons of other platforms than App's, who
	// are not counted as missing in App (there they have other unionids):
	// those who would link if App were bound to their platform.
	GroupsOtherPlatform
)

// GroupFilter is one filter of the Links view.
type GroupFilter struct {
	Kind GroupFilterKind
	App  string // the appid, for GroupsMissingIn and GroupsConflict
	N    int    // for GroupsInApps
}

// keeps reports whether group g passes f; every filter is one mask test, so
// a pass over a million groups takes a few milliseconds.
func (x *groupIndex) keeps(f GroupFilter, g int) bool {
	switch f.Kind {
	case GroupsMissingIn:
		b, ok := x.appBit[f.App]
		return ok && x.missingMask(g)&^x.in[g]&(1<<b) != 0
	case GroupsInApps:
		return bits.OnesCount64(x.in[g]) == f.N
	case GroupsConflict:
		b, ok := x.appBit[f.App]
		return ok && x.conflict[uint32(g)]&(1<<b) != 0
	case GroupsOtherPlatform:
		b, ok := x.appBit[f.App]
		return ok && x.platApps[x.plat[g]]&(1<<b) == 0
	}
	return true
}

// rows returns the groups that pass f, in unionid order.
func (x *groupIndex) rows(f GroupFilter) []uint32 {
	var out []uint32
	switch f.Kind {
	case GroupsAll:
		out = make([]uint32, x.len())
		for g := range out {
			out[g] = uint32(g)
		}
		return out
	case GroupsConflict:
		for g := range x.conflict {
			if x.keeps(f, int(g)) {
				out = append(out, g)
			}
		}
		slices.Sort(out)
		return out
	}
	if f.Kind == GroupsMissingIn { // the hot case: one mask test per person
		b, ok := x.appBit[f.App]
		if !ok {
			return nil
		}
		want := x.bound & (1 << b)
		for g, in := range x.in {
			if want&x.platApps[x.plat[g]]&^in != 0 {
				out = append(out, uint32(g))
			}
		}
		return out
	}
	for g := range x.len() {
		if x.keeps(f, g) {
			out = append(out, uint32(g))
		}
	}
	return out
}

// count is how many groups pass f, from the counters of the load.
func (x *groupIndex) count(f GroupFilter) int {
	switch f.Kind {
	case GroupsMissingIn:
		if b, ok := x.appBit[f.App]; ok {
			return x.missing[b]
		}
		return 0
	case GroupsInApps:
		if f.N >= 0 && f.N < len(x.inN) {
			return x.inN[f.N]
		}
		return 0
	case GroupsConflict:
		if b, ok := x.appBit[f.App]; ok {
			return x.conflicts[b]
		}
		return 0
	case GroupsOtherPlatform:
		return x.otherPlatforms(f.App)
	}
	return x.len()
}
