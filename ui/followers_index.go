package ui

import (
	"encoding/binary"
	"slices"

	"wxscope/cache"
)

// FollowerIndex is a compact, read-only, in-memory index of one app's
// followers, built once per load and shared by the goroutines that filter
// and sort it. It is laid out as columns, so that ten million followers fit
// in about 45 bytes each (with the shapes of real ids), 27 of them on the
// heap:
//
//   - the openids and the unionids in idColumns: their shared prefix once,
//     the other characters six bits each (18 bytes for 23), which a filter
//     tests eight characters at a time, without a call a row; from two
//     million rows the unionids live in a temporary file, read back a
//     chunk at a time (followers_spill.go);
//   - the remarks (most rows have none) laid end to end, with their rows:
//     ASCII letters lowered (a filter matches text in any case) and a bit a
//     byte for the capitals, so the remark is rebuilt for the few visible
//     rows instead of being stored twice;
//   - follow times, and the rows by follow time, 4 bytes a row each; a scene
//     and a tag list as small numbers (a byte each while there are fewer
//     than 256 of them); the unfollow times of the rows that unfollowed, and
//     bitsets.
type FollowerIndex struct {
	open, union idColumn
	remark      remarkColumn
	follow      []uint32 // subscribe_time, unix seconds (fits until 2106)
	// unfolRows are the rows that unfollowed, ascending, and unfolAt when.
	unfolRows, unfolAt []uint32
	scene              smallUints // index into scenes
	scenes             []string
	// last is each row's last_seen (unix seconds) for an imported app's
	// members, nil for an official account's followers.
	last []uint32
	// tagSet is each row's tagid_list as an index into tagSets: followers
	// share a handful of combinations, so a row costs a byte or two, not a
	// slice. tagSets[0] is the empty list.
	tagSet  smallUints
	tagSets [][]int64
	black   []uint64 // bit r: row r is on the app's blacklist
	blackN  int

	maxOpen, maxUnion int
	withUnion         int
	// sharedOpen and sharedUnion are how many leading bytes every openid
	// (every non-empty unionid) of the index shares: real ones share a
	// per-app (per-platform) prefix, which a narrow column leaves out.
	sharedOpen, sharedUnion int

	// byFollow is the rows by follow time ascending, built with the index;
	// nil when the rows are in that order (SortByFollow).
	byFollow  []uint32
	following []uint64 // bit r: row r still follows, built with the index
}

// FollowerRow is one follower as the view draws it; strings are raw (not yet
// sanitised).
type FollowerRow struct {
	OpenID, UnionID, Remark string
	Scene                   string
	FollowedAt              int64 // subscribe_time; an imported member's first_seen
	UnfollowedAt            int64
	LastSeen                int64   // an imported member's last_seen, 0 when unknown
	TagIDs                  []int64 // in tagid_list order; shared with the index: do not change
	Blacklisted             bool
}

// FollowerIndexBuilder collects profiles into a FollowerIndex.
type FollowerIndexBuilder struct {
	x         *FollowerIndex
	sceneIdx  map[string]uint16
	tagIdx    map[string]uint32 // a tag list's ids, varint-packed → its index in tagSets
	key       []byte
	blacklist *cache.Blacklist
	byFollow  bool // Build keeps the rows in follow-time order (followers_permute.go)
}

// sharedPrefix is how many leading bytes a and b share, at most n.
func sharedPrefix(a, b string, n int) int {
	n = min(n, len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// NewFollowerIndexBuilder returns a builder; sizeHint is the expected number
// of followers (0 if unknown): the arrays are made that long at once, not
// doubled as they fill (which costs up to twice their size for a moment).
func NewFollowerIndexBuilder(sizeHint int) *FollowerIndexBuilder {
	x := &FollowerIndex{
		open:   newIDColumn(sizeHint),
		union:  newIDColumn(sizeHint),
		follow: make([]uint32, 0, sizeHint),
		scene:  newSmallUints(sizeHint),
		tagSet: newSmallUints(sizeHint),
		// The empty tag list is set 0.
		tagSets: [][]int64{nil},
	}
	x.union.spillable = true // the cold column (followers_spill.go)
	return &FollowerIndexBuilder{x: x, sceneIdx: map[string]uint16{}, tagIdx: map[string]uint32{"": 0}}
}

// MarkBlacklisted makes Add mark the followers on bl (nil: nobody); call
// it before the first Add.
func (b *FollowerIndexBuilder) MarkBlacklisted(bl *cache.Blacklist) { b.blacklist = bl }

// maxTagSets bounds the distinct tag lists one index keeps; a row with a
// list beyond it shows no tags (no real account comes near: 100 tags, at
// most 20 a follower, and followers cluster).
const maxTagSets = 1 << 24

// maxField bounds the stored length of one field; WeChat ids are 28 bytes
// and remarks 30 characters, so only hostile data is ever cut.
const maxField = 1 << 12

// Add appends one follower. It copies what it keeps, so p may be reused.
func (b *FollowerIndexBuilder) Add(p *cache.Profile) {
	x := b.x
	r := len(x.follow)
	open, union, remark := clip(p.OpenID), clip(p.UnionID), clip(p.Remark)
	x.open.add(open)
	x.union.add(union)
	x.remark.add(r, remark)
	x.follow = append(x.follow, clampU32(p.SubscribeTime))
	if p.UnfollowedAt != 0 {
		x.unfolRows = append(x.unfolRows, uint32(r))
		x.unfolAt = append(x.unfolAt, clampU32(p.UnfollowedAt))
	}
	si, ok := b.sceneIdx[p.SubscribeScene]
	if !ok && len(x.scenes) < 1<<16-1 {
		si = uint16(len(x.scenes))
		x.scenes = append(x.scenes, p.SubscribeScene)
		b.sceneIdx[p.SubscribeScene] = si
	}
	x.scene.append(uint32(si))
	b.key = b.key[:0]
	for _, t := range p.TagIDs {
		b.key = binary.AppendVarint(b.key, t)
	}
	ti, ok := b.tagIdx[string(b.key)]
	if !ok && len(x.tagSets) < maxTagSets {
		ti = uint32(len(x.tagSets))
		x.tagSets = append(x.tagSets, slices.Clone(p.TagIDs))
		b.tagIdx[string(b.key)] = ti
	}
	x.tagSet.append(ti)
	if b.blacklist.Has(p.OpenID) {
		for len(x.black) <= r>>6 {
			x.black = append(x.black, 0)
		}
		x.black[r>>6] |= 1 << (r & 63)
		x.blackN++
	}
	if union != "" {
		x.withUnion++
	}
}

func clip(s string) string {
	if len(s) > maxField {
		return s[:maxField]
	}
	return s
}

func clampU32(v int64) uint32 {
	if v < 0 {
		return 0
	}
	if v > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(v)
}

// Snapshot is an index of the followers added so far, built on copies: the
// builder goes on. It copies everything, so it is for a first screenful,
// not for millions.
func (b *FollowerIndexBuilder) Snapshot() *FollowerIndex {
	// The columns choose what they pack now, so that the copies and the
	// builder's columns go on alike.
	b.x.open.settle()
	b.x.union.settle()
	x := *b.x
	x.open, x.union, x.remark = b.x.open.clone(), b.x.union.clone(), b.x.remark.clone()
	x.follow, x.unfolRows, x.unfolAt = slices.Clone(x.follow), slices.Clone(x.unfolRows), slices.Clone(x.unfolAt)
	x.scene, x.scenes, x.tagSet = x.scene.clone(), slices.Clone(x.scenes), x.tagSet.clone()
	x.tagSets, x.black = slices.Clone(x.tagSets), slices.Clone(x.black)
	return (&FollowerIndexBuilder{x: &x}).Build()
}

// Build finishes the index; the builder must not be used afterwards.
func (b *FollowerIndexBuilder) Build() *FollowerIndex {
	x := b.x
	b.x = nil
	x.open.finish()
	x.union.finish()
	x.remark.finish()
	x.maxOpen, x.maxUnion = x.open.maxLen, x.union.maxLen
	x.sharedOpen, x.sharedUnion = x.open.shared, x.union.shared
	words := (len(x.follow) + 63) / 64
	x.black = append(x.black, make([]uint64, words-min(len(x.black), words))...)
	if b.byFollow {
		x.permute(sortInPlace(x.follow)) // the follow times sorted where they are
	} else {
		x.byFollow = radixOrder(len(x.follow), func(r int) uint32 { return x.follow[r] })
	}
	x.following = allRows(len(x.follow))
	for _, r := range x.unfolRows {
		x.following[r>>6] &^= 1 << (r & 63)
	}
	x.armSpillCleanup()
	return x
}

// IndexProfiles builds an index from a slice, for tests and small apps.
func IndexProfiles(ps []cache.Profile) *FollowerIndex {
	b := NewFollowerIndexBuilder(len(ps))
	for i := range ps {
		b.Add(&ps[i])
	}
	return b.Build()
}

// Len is the number of followers, followed or not.
func (x *FollowerIndex) Len() int { return len(x.follow) }

// WithUnionID is the number of followers that carry a unionid.
func (x *FollowerIndex) WithUnionID() int { return x.withUnion }

// Unfollowed is the number of followers who unfollowed.
func (x *FollowerIndex) Unfollowed() int { return len(x.unfolRows) }

// Row returns row r's fields.
func (x *FollowerIndex) Row(r int) FollowerRow {
	return FollowerRow{
		OpenID:       x.open.id(r),
		UnionID:      x.union.id(r),
		Remark:       x.remark.text(r),
		Scene:        x.scenes[x.scene.at(r)],
		FollowedAt:   int64(x.follow[r]),
		UnfollowedAt: x.unfollowedAt(r),
		LastSeen:     x.lastSeen(r),
		TagIDs:       x.tagSets[x.tagSet.at(r)],
		Blacklisted:  x.IsBlacklisted(r),
	}
}

func (x *FollowerIndex) unfollowedAt(r int) int64 {
	i, ok := slices.BinarySearch(x.unfolRows, uint32(r))
	if !ok {
		return 0
	}
	return int64(x.unfolAt[i])
}

func (x *FollowerIndex) lastSeen(r int) int64 {
	if x.last == nil {
		return 0
	}
	return int64(x.last[r])
}

// HasLastSeen reports whether the rows carry last_seen times: the members
// of an imported app whose source gives them.
func (x *FollowerIndex) HasLastSeen() bool { return x.last != nil }

// addLastSeen fills in last_seen from each, which gives (openid, time) in
// ascending openid order: one pass beside the rows taken in openid order
// (the cache hands them out in the order they were first listed or
// imported), no map. An entry whose openid no row has is skipped. The rows
// are sorted by openid at the first entry: an official account's followers
// have none, and at ten million the sort would cost a second and 80 MB
// for a moment, the load's peak, for nothing.
func (x *FollowerIndex) addLastSeen(each func(fn func(openid string, t int64) error) error) error {
	n := x.Len()
	var byOpenID []uint32
	i := 0
	cur := ""
	return each(func(openid string, t int64) error {
		if byOpenID == nil && n > 0 {
			byOpenID = x.Order(SortOpenID, nil) // the bytes' order, as the cache's
			cur = x.OpenID(int(byOpenID[0]))
		}
		for i < n && cur < openid {
			if i++; i < n {
				cur = x.OpenID(int(byOpenID[i]))
			}
		}
		if i < n && cur == openid && t > 0 {
			if x.last == nil {
				x.last = make([]uint32, n)
			}
			x.last[byOpenID[i]] = clampU32(t)
		}
		return nil
	})
}

// OpenID returns row r's openid.
func (x *FollowerIndex) OpenID(r int) string { return x.open.id(r) }

// findOpenID returns the row of openid, if one has it.
func (x *FollowerIndex) findOpenID(openid string) (int, bool) { return x.open.find(openid) }

// UnionID returns row r's unionid.
func (x *FollowerIndex) UnionID(r int) string { return x.union.id(r) }

// hasUnionID reports whether row r carries a unionid.
func (x *FollowerIndex) hasUnionID(r int) bool { return x.union.present(r) }

// IsUnfollowed reports whether row r's person unfollowed.
func (x *FollowerIndex) IsUnfollowed(r int) bool { return !x.follows(r) }

// follows reports whether row r's person still follows.
// allRows is the bitset of n rows, every one set.
func allRows(n int) []uint64 {
	set := make([]uint64, (n+63)/64)
	for w := range set {
		set[w] = ^uint64(0)
	}
	if tail := n & 63; tail != 0 {
		set[len(set)-1] = 1<<tail - 1
	}
	return set
}

// visibleSet is the bitset of the rows that match (all when nil) and,
// unless showUnfollowed, still follow; nil when that is every row.
func (x *FollowerIndex) visibleSet(match []uint64, showUnfollowed bool) []uint64 {
	switch {
	case showUnfollowed:
		return match
	case match == nil:
		return x.following
	}
	set := make([]uint64, len(match))
	for w := range set {
		set[w] = match[w] & x.following[w]
	}
	return set
}

func (x *FollowerIndex) follows(r int) bool { return x.following[r>>6]&(1<<(r&63)) != 0 }

// remarkColumn is the remarks of the rows that have one, laid end to end,
// ASCII letters lowered, with a bit a byte for the capitals.
type remarkColumn struct {
	rows  []uint32 // ascending
	off   []uint32 // remark i is bytes[off[i]:off[i+1]]; len(rows)+1 once finished
	bytes []byte
	upper []uint64 // bit j: bytes[j] was an ASCII capital
}

func (c *remarkColumn) add(r int, s string) {
	if s == "" {
		return
	}
	if len(c.off) == 0 {
		c.off = append(c.off, 0)
	}
	base := len(c.bytes)
	c.rows = append(c.rows, uint32(r))
	c.bytes = append(c.bytes, s...)
	c.off = append(c.off, uint32(len(c.bytes)))
	for need := (len(c.bytes) + 63) / 64; len(c.upper) < need; {
		c.upper = append(c.upper, 0)
	}
	for i := range len(s) {
		if ch := s[i]; ch >= 'A' && ch <= 'Z' {
			j := base + i
			c.bytes[j] = ch + 'a' - 'A'
			c.upper[j>>6] |= 1 << (j & 63)
		}
	}
}

func (c *remarkColumn) finish() {
	if len(c.off) == 0 {
		c.off = append(c.off, 0)
	}
}

func (c *remarkColumn) clone() remarkColumn {
	return remarkColumn{rows: slices.Clone(c.rows), off: slices.Clone(c.off), bytes: slices.Clone(c.bytes), upper: slices.Clone(c.upper)}
}

// text is row r's remark with its capitals.
func (c *remarkColumn) text(r int) string {
	k, ok := slices.BinarySearch(c.rows, uint32(r))
	if !ok {
		return ""
	}
	i, j := int(c.off[k]), int(c.off[k+1])
	buf := []byte(string(c.bytes[i:j]))
	for p := i; p < j; p++ {
		if c.upper[p>>6]&(1<<(p&63)) != 0 {
			buf[p-i] -= 'a' - 'A'
		}
	}
	return string(buf)
}

func (c *remarkColumn) memBytes() int {
	return 4*cap(c.rows) + 4*cap(c.off) + cap(c.bytes) + 8*cap(c.upper)
}

// smallUints is a column of small numbers, each in the fewest bytes that
// hold the largest so far (1, 2 or 4): scenes and tag lists are a handful.
type smallUints struct {
	size int // bytes a number
	u8   []uint8
	u16  []uint16
	u32  []uint32
}

func newSmallUints(hint int) smallUints { return smallUints{size: 1, u8: make([]uint8, 0, hint)} }

func (s *smallUints) append(v uint32) {
	if s.size == 0 {
		s.size = 1
	}
	switch {
	case s.size < 4 && v > 0xffff:
		s.widen(4)
	case s.size < 2 && v > 0xff:
		s.widen(2)
	}
	switch s.size {
	case 1:
		s.u8 = append(s.u8, uint8(v))
	case 2:
		s.u16 = append(s.u16, uint16(v))
	default:
		s.u32 = append(s.u32, v)
	}
}

// widen copies the numbers into size bytes each.
func (s *smallUints) widen(size int) {
	n, c := s.len(), max(cap(s.u8), cap(s.u16), cap(s.u32))
	if size == 2 {
		s.u16 = make([]uint16, n, c)
		for i := range n {
			s.u16[i] = uint16(s.at(i))
		}
	} else {
		s.u32 = make([]uint32, n, c)
		for i := range n {
			s.u32[i] = s.at(i)
		}
	}
	switch s.size {
	case 1:
		s.u8 = nil
	case 2:
		s.u16 = nil
	}
	s.size = size
}

func (s *smallUints) at(i int) uint32 {
	switch s.size {
	case 2:
		return uint32(s.u16[i])
	case 4:
		return s.u32[i]
	}
	return uint32(s.u8[i])
}

func (s *smallUints) len() int { return len(s.u8) + len(s.u16) + len(s.u32) }

func (s *smallUints) clone() smallUints {
	return smallUints{size: s.size, u8: slices.Clone(s.u8), u16: slices.Clone(s.u16), u32: slices.Clone(s.u32)}
}

func (s *smallUints) memBytes() int { return cap(s.u8) + 2*cap(s.u16) + 4*cap(s.u32) }

// memBytes is roughly the heap the index holds, for benchmarks.
func (x *FollowerIndex) memBytes() int {
	return x.open.memBytes() + x.union.memBytes() + x.remark.memBytes() + 4*cap(x.follow) +
		4*cap(x.unfolRows) + 4*cap(x.unfolAt) + x.scene.memBytes() + x.tagSet.memBytes() +
		4*cap(x.byFollow) + 8*cap(x.following) + 8*cap(x.black) + 4*cap(x.last)
}
