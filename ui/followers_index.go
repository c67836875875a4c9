package ui

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"

	"wxscope/cache"
)

// FollowerIndex is a compact, read-only, in-memory index of one app's
// followers, built once per load and shared by the goroutines that filter
// and sort it. It is laid out as a struct of arrays so a million followers
// cost about 90 bytes each (≈ 90 MB), with one contiguous haystack that a
// filter scans with bytes.Index at memory speed.
//
// The haystack holds, per row, openid \x00 unionid \x00 remark \x00: the ids
// as they are (they are case-sensitive, and a filter matches them exactly),
// the remark with ASCII letters lowercased (a filter matches text in any
// case); a separate bit per haystack byte remembers which were capitals, so
// the original remark is rebuilt for the few visible rows instead of being
// stored twice. Case folding is ASCII only (CJK has no case), which keeps
// the haystack the same length as the text.
type FollowerIndex struct {
	hay    []byte
	upper  []uint64 // bit i: hay[i] was an ASCII capital
	start  []uint32 // row r is hay[start[r]:start[r+1]]; len rows+1
	oLen   []uint16
	uLen   []uint16
	follow []uint32 // subscribe_time, unix seconds (fits until 2106)
	unfol  []uint32 // unfollowed_at, 0 while following
	scene  []uint16 // index into scenes
	scenes []string
	// last is each row's last_seen (unix seconds) for an imported app's
	// members, nil for an official account's followers.
	last []uint32
	// tagSet is each row's tagid_list as an index into tagSets: followers
	// share a handful of combinations, so a row costs 4 bytes, not a slice.
	// tagSets[0] is the empty list.
	tagSet  []uint32
	tagSets [][]int64
	black   []uint64 // bit r: row r is on the app's blacklist
	blackN  int

	maxOpen, maxUnion int
	withUnion         int
	unfollowed        int
	// sharedOpen and sharedUnion are how many leading bytes every openid
	// (every non-empty unionid) of the index shares: real ones share a
	// per-app (per-platform) prefix, which a narrow column leaves out.
	sharedOpen, sharedUnion int

	byFollow  []uint32 // rows by follow time ascending, built with the index
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
	// firstOpen and firstUnion are the first ids added, against which
	// the shared prefixes are measured.
	firstOpen, firstUnion string
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
// of followers (0 if unknown) and saves regrowing the arrays.
func NewFollowerIndexBuilder(sizeHint int) *FollowerIndexBuilder {
	x := &FollowerIndex{
		hay:    make([]byte, 0, sizeHint*64),
		start:  make([]uint32, 1, sizeHint+1),
		oLen:   make([]uint16, 0, sizeHint),
		uLen:   make([]uint16, 0, sizeHint),
		follow: make([]uint32, 0, sizeHint),
		unfol:  make([]uint32, 0, sizeHint),
		scene:  make([]uint16, 0, sizeHint),
		upper:  make([]uint64, 0, sizeHint),
		tagSet: make([]uint32, 0, sizeHint),
		// The empty tag list is set 0.
		tagSets: [][]int64{nil},
	}
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
	open, union, remark := clip(p.OpenID), clip(p.UnionID), clip(p.Remark)
	x.oLen = append(x.oLen, uint16(len(open)))
	x.uLen = append(x.uLen, uint16(len(union)))
	b.appendRaw(open)
	b.appendRaw(union)
	b.appendLower(remark)
	x.start = append(x.start, uint32(len(x.hay)))
	x.follow = append(x.follow, clampU32(p.SubscribeTime))
	x.unfol = append(x.unfol, clampU32(p.UnfollowedAt))
	si, ok := b.sceneIdx[p.SubscribeScene]
	if !ok && len(x.scenes) < 1<<16-1 {
		si = uint16(len(x.scenes))
		x.scenes = append(x.scenes, p.SubscribeScene)
		b.sceneIdx[p.SubscribeScene] = si
	}
	x.scene = append(x.scene, si)
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
	x.tagSet = append(x.tagSet, ti)
	if b.blacklist.Has(p.OpenID) {
		r := len(x.follow) - 1
		for len(x.black) <= r>>6 {
			x.black = append(x.black, 0)
		}
		x.black[r>>6] |= 1 << (r & 63)
		x.blackN++
	}
	x.maxOpen = max(x.maxOpen, len(open))
	x.maxUnion = max(x.maxUnion, len(union))
	if len(x.oLen) == 1 {
		b.firstOpen, x.sharedOpen = strings.Clone(open), len(open)
	} else {
		x.sharedOpen = sharedPrefix(b.firstOpen, open, x.sharedOpen)
	}
	if union != "" {
		if b.firstUnion == "" {
			b.firstUnion, x.sharedUnion = strings.Clone(union), len(union)
		} else {
			x.sharedUnion = sharedPrefix(b.firstUnion, union, x.sharedUnion)
		}
	}
	if union != "" {
		x.withUnion++
	}
	if p.UnfollowedAt != 0 {
		x.unfollowed++
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

// appendRaw appends s and a \x00 to the haystack as it is.
func (b *FollowerIndexBuilder) appendRaw(s string) {
	x := b.x
	x.hay = append(x.hay, s...)
	x.hay = append(x.hay, 0)
	for need := (len(x.hay) + 63) / 64; len(x.upper) < need; {
		x.upper = append(x.upper, 0)
	}
}

// appendLower appends s and a \x00 to the haystack, lowering ASCII capitals
// and recording them in the upper bitset.
func (b *FollowerIndexBuilder) appendLower(s string) {
	x := b.x
	base := len(x.hay)
	x.hay = append(x.hay, s...)
	x.hay = append(x.hay, 0)
	for need := (len(x.hay) + 63) / 64; len(x.upper) < need; {
		x.upper = append(x.upper, 0)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			j := base + i
			x.hay[j] = c + 'a' - 'A'
			x.upper[j>>6] |= 1 << (j & 63)
		}
	}
}

// Snapshot is an index of the followers added so far, built on copies: the
// builder goes on. It copies everything, so it is for a first screenful,
// not for millions.
func (b *FollowerIndexBuilder) Snapshot() *FollowerIndex {
	x := *b.x
	x.hay, x.upper, x.start = slices.Clone(x.hay), slices.Clone(x.upper), slices.Clone(x.start)
	x.oLen, x.uLen, x.follow, x.unfol = slices.Clone(x.oLen), slices.Clone(x.uLen), slices.Clone(x.follow), slices.Clone(x.unfol)
	x.scene, x.scenes, x.tagSet = slices.Clone(x.scene), slices.Clone(x.scenes), slices.Clone(x.tagSet)
	x.tagSets, x.black = slices.Clone(x.tagSets), slices.Clone(x.black)
	return (&FollowerIndexBuilder{x: &x}).Build()
}

// Build finishes the index; the builder must not be used afterwards.
func (b *FollowerIndexBuilder) Build() *FollowerIndex {
	x := b.x
	b.x = nil
	x.byFollow = radixOrder(len(x.follow), func(r int) uint32 { return x.follow[r] })
	x.following = make([]uint64, (len(x.unfol)+63)/64)
	x.black = append(x.black, make([]uint64, len(x.following)-min(len(x.black), len(x.following)))...)
	for r, t := range x.unfol {
		if t == 0 {
			x.following[r>>6] |= 1 << (r & 63)
		}
	}
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
func (x *FollowerIndex) Unfollowed() int { return x.unfollowed }

// original rebuilds hay[i:j] with its capitals.
func (x *FollowerIndex) original(i, j int) string {
	if i == j {
		return ""
	}
	buf := []byte(string(x.hay[i:j]))
	for k := i; k < j; k++ {
		if x.upper[k>>6]&(1<<(k&63)) != 0 {
			buf[k-i] -= 'a' - 'A'
		}
	}
	return string(buf)
}

func (x *FollowerIndex) fields(r int) (o0, o1, u0, u1, m0, m1 int) {
	o0 = int(x.start[r])
	o1 = o0 + int(x.oLen[r])
	u0 = o1 + 1
	u1 = u0 + int(x.uLen[r])
	m0 = u1 + 1
	m1 = int(x.start[r+1]) - 1
	return
}

// Row returns row r's fields.
func (x *FollowerIndex) Row(r int) FollowerRow {
	o0, o1, u0, u1, m0, m1 := x.fields(r)
	return FollowerRow{
		OpenID:       x.original(o0, o1),
		UnionID:      x.original(u0, u1),
		Remark:       x.original(m0, m1),
		Scene:        x.scenes[x.scene[r]],
		FollowedAt:   int64(x.follow[r]),
		UnfollowedAt: int64(x.unfol[r]),
		LastSeen:     x.lastSeen(r),
		TagIDs:       x.tagSets[x.tagSet[r]],
		Blacklisted:  x.IsBlacklisted(r),
	}
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
// imported), no map. An entry whose openid no row has is skipped.
func (x *FollowerIndex) addLastSeen(each func(fn func(openid string, t int64) error) error) error {
	n := x.Len()
	// The rows in the byte order of their openids (Order(SortOpenID) is
	// case-blind, as the view sorts).
	ids := make([]string, n)
	byOpenID := make([]uint32, n)
	for r := range n {
		ids[r], byOpenID[r] = x.OpenID(r), uint32(r)
	}
	slices.SortFunc(byOpenID, func(a, b uint32) int { return strings.Compare(ids[a], ids[b]) })
	i := 0
	cur := ""
	if n > 0 {
		cur = ids[byOpenID[0]]
	}
	return each(func(openid string, t int64) error {
		for i < n && cur < openid {
			if i++; i < n {
				cur = ids[byOpenID[i]]
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
func (x *FollowerIndex) OpenID(r int) string {
	o0, o1, _, _, _, _ := x.fields(r)
	return x.original(o0, o1)
}

// UnionID returns row r's unionid.
func (x *FollowerIndex) UnionID(r int) string {
	_, _, u0, u1, _, _ := x.fields(r)
	return x.original(u0, u1)
}

// IsUnfollowed reports whether row r's person unfollowed.
func (x *FollowerIndex) IsUnfollowed(r int) bool { return x.unfol[r] != 0 }

// Match returns a bitset of the rows whose openid or unionid contains query
// exactly, or whose remark contains it ignoring ASCII case, and how many
// there are. Ids are case-sensitive (oVIPx and ovipx are two people), so
// VIP finds a remark "vip" but not an openid with "vIp". When within
// is not nil only its rows are tried: a query that extends the previous one
// narrows its result instead of rescanning everything. stop is polled now
// and then; when it returns true Match gives up and returns ok false, so a
// keystroke's stale scan does not hold a core. Large indexes are scanned in
// one chunk per CPU.
func (x *FollowerIndex) Match(query string, within []uint64, stop func() bool) (set []uint64, n int, ok bool) {
	m := newMatcher(x, query)
	rows := x.Len()
	set = make([]uint64, (rows+63)/64)
	if len(m.q) == 0 {
		for r := 0; r < rows; r++ {
			set[r>>6] |= 1 << (r & 63)
		}
		return set, rows, true
	}
	if rows > 0 && bytes.Contains(x.hay[x.start[0]:int(x.start[0])+x.sharedOpen], m.exact) {
		// In the prefix every openid shares (real ones share a per-app
		// one, so "o" is here): every row matches, no scan.
		if stop != nil && stop() {
			return nil, 0, false
		}
		for w := range set {
			set[w] = ^uint64(0)
			if within != nil {
				set[w] &= within[w]
			}
		}
		if tail := rows & 63; tail != 0 {
			set[len(set)-1] &= 1<<tail - 1
		}
		for _, w := range set {
			n += bits.OnesCount64(w)
		}
		return set, n, true
	}
	chunks := min(runtime.GOMAXPROCS(0), rows/matchChunkMin+1)
	per := (rows/chunks + 63) &^ 63 // whole bitset words per chunk: no sharing
	counts := make([]int, chunks)
	var wg sync.WaitGroup
	for c := range chunks {
		lo, hi := min(c*per, rows), min((c+1)*per, rows)
		if c == chunks-1 {
			hi = rows
		}
		wg.Go(func() { counts[c] = m.matchRange(lo, hi, within, set, stop) })
	}
	wg.Wait()
	for _, c := range counts {
		if c < 0 {
			return nil, 0, false
		}
		n += c
	}
	return set, n, true
}

// matchChunkMin is the fewest rows worth a goroutine of their own.
const matchChunkMin = 1 << 16

// matcher is one query of Match. The ids in the haystack are as they came
// and the remarks lowercased, so a query in lower case (or without
// letters) is one scan whose every hit is a match; a query with capitals
// is a scan for it as typed, whose hits can only be in ids, and one for it
// lowered, whose hits count only in remarks.
type matcher struct {
	x        *FollowerIndex
	exact, q []byte // as typed; lowered
}

func newMatcher(x *FollowerIndex, query string) *matcher {
	return &matcher{x: x, exact: []byte(query), q: []byte(asciiLower(query))}
}

// twoScans says whether the query has capitals.
func (m *matcher) twoScans() bool { return !bytes.Equal(m.exact, m.q) }

// inRemark reports whether haystack position abs of row r is in its remark.
func (x *FollowerIndex) inRemark(r, abs int) bool {
	return abs >= int(x.start[r])+int(x.oLen[r])+1+int(x.uLen[r])+1
}

// matchRange sets the bits of the matching rows in [lo, hi) and returns how
// many, or -1 when stop said to give up. lo is a multiple of 64.
func (m *matcher) matchRange(lo, hi int, within, set []uint64, stop func() bool) int {
	n := 0
	if within != nil {
		// Each run of consecutive rows in within is scanned as one stretch
		// of haystack: a dense within (the query after "o", which every
		// openid holds) costs about a full scan, not a search a row.
		for w := lo >> 6; w < (hi+63)>>6; w++ {
			if w&1023 == 0 && stop != nil && stop() {
				return -1
			}
			for word := within[w]; word != 0; {
				a := bits.TrailingZeros64(word)
				b := a + bits.TrailingZeros64(^(word >> a)) // a run of ones [a, b)
				if b >= 64 {
					b = 64
					word = 0
				} else {
					word &^= (1<<b - 1)
				}
				rlo, rhi := w<<6|a, min(w<<6+b, hi)
				if rlo >= rhi {
					continue
				}
				c := m.scanBoth(rlo, rhi, set, nil)
				if c < 0 {
					return -1
				}
				n += c
			}
		}
		return n
	}
	return m.scanBoth(lo, hi, set, stop)
}

// scanBoth sets the bits of the matching rows in [lo, hi) and returns how
// many, or -1 when stop said to give up.
func (m *matcher) scanBoth(lo, hi int, set []uint64, stop func() bool) int {
	if !m.twoScans() {
		return m.scan(m.q, lo, hi, set, stop, nil)
	}
	// As typed: the hits are in ids. Lowered: the hits in remarks count.
	a := m.scan(m.exact, lo, hi, set, stop, nil)
	if a < 0 {
		return -1
	}
	b := m.scan(m.q, lo, hi, set, stop, m.x.inRemark)
	if b < 0 {
		return -1
	}
	return a + b
}

// scan sets the bit of every row in [lo, hi) where q occurs (at a position
// keep accepts, when keep is not nil) and counts the rows it newly set.
func (m *matcher) scan(q []byte, lo, hi int, set []uint64, stop func() bool, keep func(r, abs int) bool) int {
	x, n := m.x, 0
	pos, end, r := int(x.start[lo]), int(x.start[hi]), lo
	off := rarestByte(q)
	for step := 0; ; step++ {
		if step&4095 == 0 && stop != nil && stop() {
			return -1
		}
		k := indexRare(x.hay[pos:end], q, off)
		if k < 0 {
			return n
		}
		abs := pos + k
		for int(x.start[r+1]) <= abs { // rows only move forward: O(rows) in all
			r++
		}
		if keep != nil && !keep(r, abs) {
			pos = abs + 1 // the lowered query in an id: not a match, look on
			continue
		}
		if set[r>>6]&(1<<(r&63)) == 0 {
			set[r>>6] |= 1 << (r & 63)
			n++
		}
		pos = int(x.start[r+1])
	}
}

// rarestByte is the position of the byte of q least likely in the haystack,
// going by what it holds (ids are base64: letters, digits, - and _, and
// every one starts with o; anything else, CJK, spaces, punctuation, is
// rare), or -1 when that is q's first byte, where bytes.Index starts anyway.
func rarestByte(q []byte) int {
	rank := func(c byte) int {
		switch {
		case c == 'o':
			return 2
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			return 1
		}
		return 0
	}
	best := 0
	for i := range q {
		if rank(q[i]) < rank(q[best]) {
			best = i
		}
	}
	if best == 0 {
		return -1
	}
	return best
}

// indexRare is bytes.Index(h, q) that looks for q's byte at off (-1: its
// first, as bytes.Index does) with bytes.IndexByte (vector code at memory
// speed) and compares q around each hit: bytes.Index gives up on
// IndexByte after a few false hits and compares at every position,
// several times slower over a haystack where q's first byte is common
// (every openid starts with o).
func indexRare(h, q []byte, off int) int {
	if off < 0 {
		return bytes.Index(h, q)
	}
	c, lim := q[off], len(h)-len(q)+off+1
	for i := off; i < lim; {
		k := bytes.IndexByte(h[i:lim], c)
		if k < 0 {
			return -1
		}
		s := i + k - off
		if bytes.Equal(h[s:s+len(q)], q) {
			return s
		}
		i += k + 1
	}
	return -1
}

func asciiLower(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}, s)
}

// SortKey is a column the Followers view can sort by.
type SortKey int

// The sortable columns; app columns follow as SortApp+i.
const (
	SortFollowed SortKey = iota
	SortOpenID
	SortUnionID
	SortScene
	SortRemark
	SortApp // SortApp+i is the i-th other app's presence column
)

// Order returns the rows sorted ascending by key; ties keep index order.
// For SortApp+i, state(r) gives row r's presence state. It allocates a new
// slice except for SortFollowed, whose order is built with the index.
func (x *FollowerIndex) Order(key SortKey, state func(r int) PresenceState) []uint32 {
	switch key {
	case SortFollowed:
		return x.byFollow
	case SortScene:
		if x.last != nil {
			// An imported app's scene column is its last seen.
			return radixOrder(x.Len(), func(r int) uint32 { return x.last[r] })
		}
		rank := make([]uint32, len(x.scenes))
		names := slices.Clone(x.scenes)
		slices.Sort(names)
		for i, s := range x.scenes {
			p, _ := slices.BinarySearch(names, s)
			rank[i] = uint32(p)
		}
		return radixOrder(x.Len(), func(r int) uint32 { return rank[x.scene[r]] })
	case SortOpenID, SortUnionID, SortRemark:
		field := func(r int) []byte {
			o0, o1, u0, u1, m0, m1 := x.fields(r)
			switch key {
			case SortOpenID:
				return x.hay[o0:o1]
			case SortUnionID:
				return x.hay[u0:u1]
			}
			return x.hay[m0:m1]
		}
		return sortByBytes(x.Len(), field)
	}
	if state == nil {
		return identity(x.Len())
	}
	return radixOrder(x.Len(), func(r int) uint32 { return uint32(state(r)) })
}

// sortByBytes orders rows by field(r) ascending, ties by row. A comparison
// sort of a million ids takes seconds, so it first radix-sorts on the eight
// bytes after the prefix every row shares (openids of one app share one),
// which leaves only short runs of equal keys for the comparison sort, and
// none among fields that end within those bytes (the empty remarks).
func sortByBytes(n int, field func(r int) []byte) []uint32 {
	if n == 0 {
		return nil
	}
	cp := len(field(0))
	for r := 1; r < n && cp > 0; r++ {
		f, first := field(r), field(0)
		k := 0
		for k < cp && k < len(f) && f[k] == first[k] {
			k++
		}
		cp = k
	}
	// Eight bytes after the common prefix, as a number: random ids differ
	// there (48 bits of base64), and a field that ends within them is
	// ordered by them alone (no field holds a NUL to pad it with).
	type entry struct {
		key  uint64
		row  uint32
		fits bool // the field ends within the key
	}
	es := make([]entry, n)
	var and, or uint64 = ^uint64(0), 0
	for r := range n {
		f := field(r)
		var k uint64
		for i := cp; i < cp+8; i++ {
			k <<= 8
			if i < len(f) {
				k |= uint64(f[i])
			}
		}
		es[r] = entry{key: k, row: uint32(r), fits: len(f) <= cp+8}
		and &= k
		or |= k
	}
	// LSD radix sort, a byte a pass, skipping the bytes every key shares:
	// stable, so equal keys stay in row order.
	tmp := make([]entry, n)
	for shift := uint(0); shift < 64; shift += 8 {
		if (and>>shift)&0xff == (or>>shift)&0xff {
			continue
		}
		var count [257]int
		for _, e := range es {
			count[(e.key>>shift)&0xff+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, e := range es {
			d := (e.key >> shift) & 0xff
			tmp[count[d]] = e
			count[d]++
		}
		es, tmp = tmp, es
	}
	perm := make([]uint32, n)
	for i, e := range es {
		perm[i] = e.row
	}
	less := func(a, b uint32) int {
		if c := bytes.Compare(field(int(a)), field(int(b))); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	for i := 0; i < n; {
		j, fit := i+1, es[i].fits
		for j < n && es[j].key == es[i].key {
			fit = fit && es[j].fits
			j++
		}
		if j-i > 1 && !fit {
			slices.SortFunc(perm[i:j], less)
		}
		i = j
	}
	return perm
}

func identity(n int) []uint32 {
	p := make([]uint32, n)
	for i := range p {
		p[i] = uint32(i)
	}
	return p
}

// radixOrder returns the rows 0..n-1 stably sorted by key, with an LSD radix
// sort over (key, row) pairs packed in a uint64: 1 M rows in tens of
// milliseconds, where a comparison sort takes hundreds. Packing keeps every
// pass a sequential read.
func radixOrder(n int, keyOf func(r int) uint32) []uint32 {
	pairs := radixPairs(n, keyOf)
	perm := make([]uint32, n)
	for i, p := range pairs {
		perm[i] = uint32(p)
	}
	return perm
}

// radixPairs returns key<<32|row for every row, sorted.
func radixPairs(n int, keyOf func(r int) uint32) []uint64 {
	pairs, tmp := make([]uint64, n), make([]uint64, n)
	var all uint32
	for r := range pairs {
		k := keyOf(r)
		all |= k
		pairs[r] = uint64(k)<<32 | uint64(r)
	}
	for shift := uint(32); shift < 64; shift += 8 {
		if uint64(all)<<32>>shift == 0 {
			break // no key has bits this high
		}
		var count [257]int
		for _, p := range pairs {
			count[(p>>shift)&0xff+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, p := range pairs {
			d := (p >> shift) & 0xff
			tmp[count[d]] = p
			count[d]++
		}
		pairs, tmp = tmp, pairs
	}
	return pairs
}

// Visible returns the rows to show, in order (reversed when desc), keeping
// those set in match (all when nil) and, unless showUnfollowed, only people
// who still follow. Both tests are folded into one bitset first, so the
// walk in display order (random rows) touches 1 bit a row rather than the
// bitset and the 4-byte unfollow times. The bitset's population sizes the
// result exactly (a sparse filter does not keep an order's worth of
// capacity), and a long order is walked from both ends at once: one
// goroutine fills the result from the front, the other from the back, so
// they meet without a merge.
func (x *FollowerIndex) Visible(order []uint32, desc bool, match []uint64, showUnfollowed bool) []uint32 {
	set := match
	switch {
	case showUnfollowed:
	case match == nil:
		set = x.following
	default:
		set = make([]uint64, len(match))
		for w := range set {
			set[w] = match[w] & x.following[w]
		}
	}
	if set == nil || len(order) != x.Len() {
		return x.visibleSlow(order, desc, set)
	}
	n := 0
	for _, w := range set {
		n += bits.OnesCount64(w)
	}
	out := make([]uint32, n)
	// walk puts the rows of src that set holds into out from i on, going
	// up (step 1) or down (step -1); backward walks src from its end.
	walk := func(src []uint32, backward bool, i, step int) {
		if n < len(order)/4 || n > len(order)-len(order)/4 {
			walkBranchy(src, backward, set, out, i, step)
			return
		}
		// About as many rows kept as not, at random: a branch on the bit
		// would mispredict every other row, so a block of 64 is gathered
		// without one, then its kept rows copied out.
		var buf [64]uint32
		for done := 0; done < len(src); done += len(buf) {
			var blk []uint32
			if backward {
				blk = src[max(0, len(src)-done-len(buf)) : len(src)-done]
			} else {
				blk = src[done:min(len(src), done+len(buf))]
			}
			k := 0
			if backward {
				for j := len(blk) - 1; j >= 0; j-- {
					r := blk[j]
					buf[k] = r
					k += int(set[r>>6] >> (r & 63) & 1)
				}
			} else {
				for _, r := range blk {
					buf[k] = r
					k += int(set[r>>6] >> (r & 63) & 1)
				}
			}
			if step > 0 {
				i += copy(out[i:], buf[:k])
				continue
			}
			for _, r := range buf[:k] {
				out[i] = r
				i--
			}
		}
	}
	// The front half of order fills one end of out, the back half
	// (walked from its end) the other; desc swaps the ends.
	first, last := 0, n-1
	up, down := 1, -1
	if desc {
		first, last, up, down = last, first, down, up
	}
	if len(order) < visibleSplitMin || runtime.GOMAXPROCS(0) < 2 {
		walk(order, false, first, up)
		return out
	}
	half := len(order) / 2
	var wg sync.WaitGroup
	wg.Go(func() { walk(order[half:], true, last, down) })
	walk(order[:half], false, first, up)
	wg.Wait()
	return out
}

// walkBranchy is Visible's walk for a set that keeps nearly every row or
// nearly none, where the branch on its bit predicts well.
func walkBranchy(src []uint32, backward bool, set []uint64, out []uint32, i, step int) {
	if backward {
		for k := len(src) - 1; k >= 0; k-- {
			if r := src[k]; set[r>>6]&(1<<(r&63)) != 0 {
				out[i] = r
				i += step
			}
		}
		return
	}
	for _, r := range src {
		if set[r>>6]&(1<<(r&63)) != 0 {
			out[i] = r
			i += step
		}
	}
}

// visibleSplitMin is the shortest order Visible walks with two goroutines.
const visibleSplitMin = 1 << 16

// visibleSlow is Visible for an order that is not a permutation of the
// rows, or without a set (every row of order).
func (x *FollowerIndex) visibleSlow(order []uint32, desc bool, set []uint64) []uint32 {
	out := make([]uint32, 0, len(order))
	keep := func(r uint32) bool { return set == nil || set[r>>6]&(1<<(r&63)) != 0 }
	if desc {
		for i := len(order) - 1; i >= 0; i-- {
			if r := order[i]; keep(r) {
				out = append(out, r)
			}
		}
	} else {
		for _, r := range order {
			if keep(r) {
				out = append(out, r)
			}
		}
	}
	return slices.Clip(out)
}

// memBytes is roughly the heap the index holds, for benchmarks.
func (x *FollowerIndex) memBytes() int {
	return cap(x.hay) + 8*cap(x.upper) + 4*cap(x.start) + 2*cap(x.oLen) + 2*cap(x.uLen) +
		4*cap(x.follow) + 4*cap(x.unfol) + 2*cap(x.scene) + 4*cap(x.byFollow) + 8*cap(x.following) +
		4*cap(x.tagSet) + 8*cap(x.black) + 4*cap(x.last)
}
