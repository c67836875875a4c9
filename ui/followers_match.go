package ui

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Match returns a bitset of the rows whose openid or unionid contains query
// exactly, or whose remark contains it ignoring ASCII case, and how many
// there are. Ids are case-sensitive (oVIPx and ovipx are two people), so
// VIP finds a remark "vip" but not an openid with "vIp". When within
// is not nil only its rows are candidates (narrowing a previous query).
// stop, polled as the scan goes, abandons it (ok false).
func (x *FollowerIndex) Match(query string, within []uint64, stop func() bool) (set []uint64, n int, ok bool) {
	rows := x.Len()
	set = make([]uint64, (rows+63)/64)
	if query == "" || rows == 0 {
		return set, 0, true
	}
	m := newMatcher(x, query)
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

// matcher is one query of Match: the query prepared for each id column as
// typed (ids match exactly), and lowered for the remarks, which the index
// keeps lowered.
type matcher struct {
	x           *FollowerIndex
	open, union idQuery
	exact, q    []byte // as typed; lowered
}

func newMatcher(x *FollowerIndex, query string) *matcher {
	return &matcher{x: x, open: x.open.query(query), union: x.union.query(query),
		exact: []byte(query), q: []byte(asciiLower(query))}
}

// matchRange sets the bits of the matching rows in [lo, hi) and returns how
// many, or -1 when stop said to give up. lo is a multiple of 64.
func (m *matcher) matchRange(lo, hi int, within, set []uint64, stop func() bool) int {
	x := m.x
	left := false // a row of the range not matched by its ids
	// A spilled column's chunks are read as the words reach them, and
	// only those holding a row still to test.
	ro, ru := m.open.c.reader(), m.union.c.reader()
	for w := lo >> 6; w < (hi+63)>>6; w++ {
		if w&1023 == 0 && stop != nil && stop() {
			return -1
		}
		mask := ^uint64(0)
		if within != nil {
			mask = within[w]
		}
		if w == (hi-1)>>6 && hi&63 != 0 {
			mask &= 1<<(hi&63) - 1
		}
		if mask == 0 {
			continue
		}
		// The unionids only of the rows their openid did not match: none
		// for a query in the openids' prefix, which every one holds.
		hit := m.open.scanWord(w, mask, ro)
		if rest := mask &^ hit; rest != 0 {
			hit |= m.union.scanWord(w, rest, ru)
		}
		set[w] = hit
		if hit != mask {
			left = true
		}
	}
	if stop != nil && stop() {
		return -1
	}
	if left {
		// Some rows of the range are not matched yet.
		m.open.scanExceptions(lo, hi, within, set)
		m.union.scanExceptions(lo, hi, within, set)
		x.remark.scan(m.q, lo, hi, within, set)
	}
	n := 0
	for w := lo >> 6; w < (hi+63)>>6; w++ {
		n += bits.OnesCount64(set[w])
	}
	return n
}

// The lanes a big-endian load from a lane boundary holds whole: ten, the
// first in bits 63–58, the tenth in bits 9–4.
const (
	lanesLo  = 0x7df7df7df7df7df0 // each lane's low five bits
	lanesHi  = 0x8208208208208200 // each lane's top bit
	lanesOne = 0x0410410410410410 // each lane's lowest bit
)

// zeroLanes has the top bit of each of the ten lanes of t that is 0.
func zeroLanes(t uint64) uint64 { return ^((t&lanesLo + lanesLo) | t) & lanesHi }

// idQuery is a query prepared for one idColumn: a record matches when the
// query lies in the prefix (all), when its lanes occur in the record (m
// lanes, a window test on eight start lanes a load), or when it begins in
// the prefix and the record begins with the rest (heads).
type idQuery struct {
	c          *idColumn
	q          []byte
	all        bool
	m          int      // lanes of the query; 0: no window test
	p0, p1, p2 uint64   // its first three lanes in every lane of a word
	lanes      []uint64 // its lanes, to check a window longer than two
	starts     []uint64 // per load: the top bit of each lane a window may start at
	heads      []idHead
}

// idHead is a run of lanes a record must begin with: per load, the bits
// and their mask.
type idHead struct{ val, mask []uint64 }

func (c *idColumn) query(q string) idQuery {
	iq := idQuery{c: c, q: []byte(q)}
	if c.width < 0 || q == "" {
		return iq
	}
	if strings.Contains(c.prefix, q) {
		iq.all = true
		return iq
	}
	if len(q) <= c.width && allLanes(q) {
		iq.m = len(q)
		for i := range len(q) {
			iq.lanes = append(iq.lanes, uint64(laneOf[q[i]]))
		}
		iq.p0 = iq.lanes[0] * lanesOne
		if iq.m > 1 {
			iq.p1 = iq.lanes[1] * lanesOne
		}
		if iq.m > 2 {
			iq.p2 = iq.lanes[2] * lanesOne
		}
		last := c.width - iq.m // the last lane a window may start at
		for g := 0; 8*g <= last; g++ {
			var s uint64
			for j := range 8 {
				if 8*g+j <= last {
					s |= 1 << (63 - 6*j)
				}
			}
			iq.starts = append(iq.starts, s)
		}
	}
	// The query may begin in the prefix and end in the lanes.
	for j := max(0, len(c.prefix)-len(q)+1); j < len(c.prefix); j++ {
		if !strings.HasPrefix(q, c.prefix[j:]) {
			continue
		}
		rest := q[len(c.prefix)-j:]
		if len(rest) > c.width || !allLanes(rest) {
			continue
		}
		var h idHead
		for g := 0; 8*g < len(rest); g++ {
			var v, mk uint64
			for i := 8 * g; i < min(len(rest), 8*g+8); i++ {
				sh := 58 - 6*(i-8*g)
				v |= uint64(laneOf[rest[i]]) << sh
				mk |= 63 << sh
			}
			h.val, h.mask = append(h.val, v), append(h.mask, mk)
		}
		iq.heads = append(iq.heads, h)
	}
	return iq
}

// scanWord returns the rows of word w of mask whose record matches, the
// records read through rd.
func (q *idQuery) scanWord(w int, mask uint64, rd *chunkReader) uint64 {
	c := q.c
	if w >= len(c.has.bits) {
		return 0
	}
	hw := c.has.bits[w]
	mask &= hw
	if mask == 0 {
		return 0
	}
	if q.all {
		return mask
	}
	var res uint64
	if q.m > 0 {
		res = q.scanWindows(w, hw, mask, rd)
	}
	if len(q.heads) > 0 {
		res |= q.scanHeads(w, hw, mask&^res, rd)
	}
	return res
}

// scanWindows is scanWord's test of the query's lanes anywhere in a record:
// every load is eight start lanes tested at once, without a branch but the
// one on a rare candidate of a query longer than three lanes. A window of
// up to three lanes at lane j of a load v is one test: lane j of v^p0,
// (v<<6)^p1 and (v<<12)^p2 (lanes j+1 and j+2 moved to j) all zero, so
// their OR zero. Ids of 17 to 24 lanes after the prefix (real ones have 22
// to 24) take three loads, written out, which is twice as fast as the loop
// over loads.
func (q *idQuery) scanWindows(w int, hw, mask uint64, rd *chunkReader) uint64 {
	c := q.c
	k0 := int(c.has.dir[w])
	kn := k0 + bits.OnesCount64(hw) - 1
	if k0>>idChunkShift != kn>>idChunkShift {
		return q.scanFew(k0, hw, mask, rd) // the word's records span two chunks
	}
	rec, starts, p0, p1, p2 := c.rec, q.starts, q.p0, q.p1, q.p2
	ch := rd.chunk(k0 >> idChunkShift)
	base := (k0 & (idChunkRecs - 1)) * rec
	var res uint64
	// Every record of the word tested (a first query, or a narrowing one
	// that keeps at least half: cheaper than finding each), at consecutive
	// places, the result masked; otherwise each found by the count of
	// records before it.
	all := mask == hw || 2*bits.OnesCount64(mask) >= bits.OnesCount64(hw)
	want := mask
	if all {
		mask = hw
	}
	// One loop for each length (constant shifts), the records of a word
	// at consecutive places or found by count.
	switch {
	case len(starts) == 3 && q.m == 1:
		s0, s1, s2 := starts[0], starts[1], starts[2]
		off := base
		for mm := mask; mm != 0; mm &= mm - 1 {
			b := bits.TrailingZeros64(mm)
			if !all {
				off = base + bits.OnesCount64(hw&(1<<b-1))*rec
			}
			r := ch[off : off+12+8] // the three loads; a record of 17 lanes or more and the padding hold them
			z := zeroLanes(binary.BigEndian.Uint64(r[0:])^p0)&s0 |
				zeroLanes(binary.BigEndian.Uint64(r[6:])^p0)&s1 |
				zeroLanes(binary.BigEndian.Uint64(r[12:])^p0)&s2
			res |= (z | -z) >> 63 << b
			off += rec
		}
	case len(starts) == 3 && q.m == 2:
		s0, s1, s2 := starts[0], starts[1], starts[2]
		off := base
		for mm := mask; mm != 0; mm &= mm - 1 {
			b := bits.TrailingZeros64(mm)
			if !all {
				off = base + bits.OnesCount64(hw&(1<<b-1))*rec
			}
			r := ch[off : off+12+8]
			v0, v1, v2 := binary.BigEndian.Uint64(r[0:]), binary.BigEndian.Uint64(r[6:]), binary.BigEndian.Uint64(r[12:])
			z := zeroLanes(v0^p0|(v0<<6^p1))&s0 |
				zeroLanes(v1^p0|(v1<<6^p1))&s1 |
				zeroLanes(v2^p0|(v2<<6^p1))&s2
			res |= (z | -z) >> 63 << b
			off += rec
		}
	case len(starts) == 3:
		s0, s1, s2 := starts[0], starts[1], starts[2]
		off := base
		for mm := mask; mm != 0; mm &= mm - 1 {
			b := bits.TrailingZeros64(mm)
			if !all {
				off = base + bits.OnesCount64(hw&(1<<b-1))*rec
			}
			r := ch[off : off+12+8]
			v0, v1, v2 := binary.BigEndian.Uint64(r[0:]), binary.BigEndian.Uint64(r[6:]), binary.BigEndian.Uint64(r[12:])
			z0 := zeroLanes(v0^p0|(v0<<6^p1)|(v0<<12^p2)) & s0
			z1 := zeroLanes(v1^p0|(v1<<6^p1)|(v1<<12^p2)) & s1
			z2 := zeroLanes(v2^p0|(v2<<6^p1)|(v2<<12^p2)) & s2
			if z := z0 | z1 | z2; z != 0 && q.m > 3 {
				z0, z1, z2 = q.rest(ch, off, 0, z0), q.rest(ch, off, 1, z1), q.rest(ch, off, 2, z2)
			}
			z := z0 | z1 | z2
			res |= (z | -z) >> 63 << b
			off += rec
		}
	default:
		for mm := mask; mm != 0; mm &= mm - 1 {
			b := bits.TrailingZeros64(mm)
			res |= q.windows(ch, base+bits.OnesCount64(hw&(1<<b-1))*rec) << b
		}
	}
	return res & want
}

// scanFew is scanWindows for a word whose records span two chunks: each
// record found by its rank.
func (q *idQuery) scanFew(k0 int, hw, mask uint64, rd *chunkReader) uint64 {
	var res uint64
	for mm := mask; mm != 0; mm &= mm - 1 {
		b := bits.TrailingZeros64(mm)
		ch, off := rd.record(k0 + bits.OnesCount64(hw&(1<<b-1)))
		res |= q.windows(ch, off) << b
	}
	return res
}

// windows is 1 when the query's lanes occur in the record at ch[off:].
func (q *idQuery) windows(ch []byte, off int) uint64 {
	sh1, sh2, p1, p2 := uint(6), uint(12), q.p1, q.p2
	if q.m < 2 {
		sh1, p1 = 64, 0
	}
	if q.m < 3 {
		sh2, p2 = 64, 0
	}
	var z uint64
	for g, s := range q.starts {
		v := binary.BigEndian.Uint64(ch[off+6*g:])
		cand := zeroLanes(v^q.p0|(v<<sh1^p1)|(v<<sh2^p2)) & s
		if cand != 0 && q.m > 3 {
			cand = q.rest(ch, off, g, cand)
		}
		z |= cand
	}
	return (z | -z) >> 63
}

// rest keeps the candidates of load g (top bits of their start lanes) whose
// window goes on with the query's fourth lane and those after it.
func (q *idQuery) rest(ch []byte, off, g int, cand uint64) uint64 {
	var keep uint64
	for ; cand != 0; cand &= cand - 1 {
		b := bits.TrailingZeros64(cand)
		p := 8*g + (63-b)/6
		ok := true
		for j := 3; j < q.m && ok; j++ {
			ok = lane(ch, off, p+j) == q.lanes[j]
		}
		if ok {
			keep |= 1 << b
		}
	}
	return keep
}

// scanHeads is scanWord's test of the records that begin with a head.
func (q *idQuery) scanHeads(w int, hw, mask uint64, rd *chunkReader) uint64 {
	c := q.c
	k0 := int(c.has.dir[w])
	var res uint64
	for mm := mask; mm != 0; mm &= mm - 1 {
		b := bits.TrailingZeros64(mm)
		k := k0 + bits.OnesCount64(hw&(1<<b-1))
		ch, off := rd.record(k)
		for _, h := range q.heads {
			ok := true
			for g := range h.val {
				ok = ok && binary.BigEndian.Uint64(ch[off+6*g:])&h.mask[g] == h.val[g]
			}
			if ok {
				res |= 1 << b
				break
			}
		}
	}
	return res
}

// scanExceptions sets the bits of the rows in [lo, hi) (and within) whose
// id, one kept as it is, contains the query.
func (q *idQuery) scanExceptions(lo, hi int, within, set []uint64) {
	e := &q.c.ex
	i, _ := slices.BinarySearch(e.rows, uint32(lo))
	for ; i < len(e.rows) && int(e.rows[i]) < hi; i++ {
		r := int(e.rows[i])
		if within != nil && within[r>>6]&(1<<(r&63)) == 0 {
			continue
		}
		if bytes.Contains(e.at(i), q.q) {
			set[r>>6] |= 1 << (r & 63)
		}
	}
}

// scan sets the bits of the rows in [lo, hi) (and within) whose remark
// contains q, lowered: one search over the remarks of the range, laid end
// to end, a hit that runs over a remark's end being none.
func (c *remarkColumn) scan(q []byte, lo, hi int, within, set []uint64) {
	k, _ := slices.BinarySearch(c.rows, uint32(lo))
	end, _ := slices.BinarySearch(c.rows, uint32(hi))
	if k == end {
		return
	}
	off := rarestByte(q)
	pos, stop := int(c.off[k]), int(c.off[end])
	for pos < stop {
		i := indexRare(c.bytes[pos:stop], q, off)
		if i < 0 {
			return
		}
		abs := pos + i
		for int(c.off[k+1]) <= abs { // remarks only move forward
			k++
		}
		if abs+len(q) > int(c.off[k+1]) {
			pos = abs + 1 // runs into the next remark: look on
			continue
		}
		if r := int(c.rows[k]); within == nil || within[r>>6]&(1<<(r&63)) != 0 {
			set[r>>6] |= 1 << (r & 63)
		}
		pos = int(c.off[k+1])
	}
}

// rarestByte is the position of the byte of q least likely in the remarks
// (ASCII letters and digits are common, anything else, CJK, spaces,
// punctuation, rare), or -1 when that is q's first byte, where bytes.Index
// starts anyway.
func rarestByte(q []byte) int {
	rank := func(c byte) int {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
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
// speed) and compares q around each hit.
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

// asciiLower lowers the ASCII capitals of s, byte by byte as the remarks
// are lowered: other bytes, invalid UTF-8 included, stay as they are.
func asciiLower(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
