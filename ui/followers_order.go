package ui

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"sync"
)

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
// slice except for SortFollowed, whose order is built with the index: nil
// when the rows are in that order (SortByFollow), which Visible takes for
// the rows themselves.
// Ids sort by their bytes; remarks by their bytes with ASCII letters
// lowered, the rows without one first.
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
		return radixOrder(x.Len(), func(r int) uint32 { return rank[x.scene.at(r)] })
	case SortOpenID:
		return x.open.order(x.Len())
	case SortUnionID:
		return x.union.order(x.Len())
	case SortRemark:
		return x.remark.order(x.Len())
	}
	if state == nil {
		return identity(x.Len())
	}
	return radixOrder(x.Len(), func(r int) uint32 { return uint32(state(r)) })
}

// radixOrder returns the rows 0..n-1 stably sorted by key.
func radixOrder(n int, keyOf func(r int) uint32) []uint32 {
	return sortRows(n, func(i int, keys []uint64, rows []uint32) {
		for j := range keys {
			keys[j], rows[j] = uint64(keyOf(i+j)), uint32(i+j)
		}
	}, nil, nil)
}

// sortInPlace sorts keys ascending and returns where each came from (the
// rows 0..len-1 stably sorted by them, as radixOrder): the sorted keys are
// written over the keys once read, so that a load's follow times are not
// held twice for a moment.
func sortInPlace(keys []uint32) []uint32 {
	return sortRows(len(keys), func(i int, ks []uint64, rows []uint32) {
		for j := range ks {
			ks[j], rows[j] = uint64(keys[i+j]), uint32(i+j)
		}
	}, nil, keys)
}

// sortBatch is how many keys sortRows asks fill for at a time.
const sortBatch = 2048

// sortRows returns n rows sorted by their keys and, among equal keys, by
// whole (nil: the key is the whole of what is sorted), then by row. fill(i,
// keys, rows) gives the keys and rows of elements i to i+len(keys)-1, the
// rows ascending; whole must agree with the keys (a smaller key is a
// smaller row). sorted, when not nil, receives the keys in sorted order
// once they are all read (32-bit keys only; it may be where fill reads
// them).
//
// It reads the keys in element order only, three times, and holds the
// result and 4 bytes an element beside it (2 when the bits below the
// buckets' are 16 or fewer): sorting ten million rows must
// not cost another 160 MB of (key, row) pairs for a moment, nor a cache
// miss a row reading keys at random. The keys' highest bits spread the rows
// into buckets of about 128, each row placed with the next 32 bits of its
// key; each bucket is then sorted on those as (bits, row) pairs in the
// cache, and whole tells apart the rows those bits do not. Each pass runs
// on two goroutines, over halves of the elements or of the buckets.
func sortRows(n int, fill func(i int, keys []uint64, rows []uint32), whole func(a, b uint32) int, sorted []uint32) []uint32 {
	out := make([]uint32, n)
	if n == 0 {
		return out
	}
	halves := 1
	if n >= sortSplitMin && runtime.GOMAXPROCS(0) >= 2 {
		halves = 2
	}
	// pass runs fn over the elements of each half in batches, the halves
	// at once: fn(h, keys, rows) for half h.
	pass := func(fn func(h int, keys []uint64, rows []uint32)) {
		run := func(h int) {
			var kb [sortBatch]uint64
			var rb [sortBatch]uint32
			lo, hi := h*n/halves, (h+1)*n/halves
			for i := lo; i < hi; i += sortBatch {
				m := min(sortBatch, hi-i)
				fill(i, kb[:m], rb[:m])
				fn(h, kb[:m], rb[:m])
			}
		}
		if halves == 1 {
			run(0)
			return
		}
		var wg sync.WaitGroup
		wg.Go(func() { run(1) })
		run(0)
		wg.Wait()
	}
	var los, his [2]uint64
	los[0], los[1] = ^uint64(0), ^uint64(0)
	pass(func(h int, keys []uint64, _ []uint32) {
		l, u := los[h], his[h]
		for _, k := range keys {
			l, u = min(l, k), max(u, k)
		}
		los[h], his[h] = l, u
	})
	lo, hi := min(los[0], los[1]), max(his[0], his[1])
	span := hi - lo
	topBits := min(max(bits.Len(uint(n))-7, 1), 16)
	shift := max(bits.Len64(span)-topBits, 0)
	buckets := int(span>>shift) + 1
	// Each half's count of each bucket, then where each half's rows of a
	// bucket go: the first half's before the second's, so the placing
	// stays in element order.
	var counts [2][]int
	for h := range halves {
		counts[h] = make([]int, buckets)
	}
	pass(func(h int, keys []uint64, _ []uint32) {
		c := counts[h]
		for _, k := range keys {
			c[(k-lo)>>shift]++
		}
	})
	starts := make([]int, buckets+1)
	var pos [2][]int
	for h := range halves {
		pos[h] = make([]int, buckets)
	}
	at := 0
	for b := range buckets {
		starts[b] = at
		for h := range halves {
			pos[h][b] = at
			at += counts[h][b]
		}
	}
	starts[buckets] = n
	counts = [2][]int{}
	// The 32 bits after the bucket's (all of them when fewer).
	lowBits := min(shift, 32)
	exact := shift <= 32
	// The bits are 16 or fewer for the follow times a load sorts (their
	// span is under 2^32 and 2^16 buckets take the rest): two bytes an
	// element, not four, while a load at ten million peaks here.
	var low []uint32
	var low16 []uint16
	if shift > 0 || whole != nil {
		if lowBits <= 16 {
			low16 = make([]uint16, n)
		} else {
			low = make([]uint32, n)
		}
	}
	pass(func(h int, keys []uint64, rows []uint32) {
		p := pos[h]
		for j, k := range keys {
			b := (k - lo) >> shift
			out[p[b]] = rows[j]
			if low16 != nil {
				low16[p[b]] = uint16(((k - lo) & (1<<shift - 1)) >> (shift - lowBits))
			} else if low != nil {
				low[p[b]] = uint32(((k - lo) & (1<<shift - 1)) >> (shift - lowBits))
			}
			p[b]++
		}
	})
	if low == nil && low16 == nil {
		// A bucket a key: placed in row order, done.
		if sorted != nil {
			for b := range buckets {
				for i := starts[b]; i < starts[b+1]; i++ {
					sorted[i] = uint32(lo + uint64(b))
				}
			}
		}
		return out
	}
	lowAt := func(i int) uint64 {
		if low16 != nil {
			return uint64(low16[i])
		}
		return uint64(low[i])
	}
	sortBucket := func(b int, buf []uint64) []uint64 {
		i0, i1 := starts[b], starts[b+1]
		if i1-i0 < 2 {
			if i1 > i0 && sorted != nil {
				sorted[i0] = uint32(lo + uint64(b)<<shift + lowAt(i0))
			}
			return buf
		}
		buf = buf[:0]
		for i := i0; i < i1; i++ {
			buf = append(buf, lowAt(i)<<32|uint64(out[i]))
		}
		slices.Sort(buf)
		rows := out[i0:i1]
		for i, p := range buf {
			rows[i] = uint32(p)
		}
		if sorted != nil {
			for i, p := range buf {
				sorted[i0+i] = uint32(lo + uint64(b)<<shift + p>>32)
			}
		}
		if exact && whole == nil {
			return buf
		}
		// Runs of equal bits: told apart by whole, then by row (a total
		// order, so an unstable sort gives the stable one's result; the
		// stable sort is n log² n on a long run, remarks that begin
		// alike).
		for i := 0; i < len(buf); {
			j := i + 1
			for j < len(buf) && buf[j]>>32 == buf[i]>>32 {
				j++
			}
			if j-i > 1 && whole != nil {
				slices.SortFunc(rows[i:j], func(a, b uint32) int { return cmp.Or(whole(a, b), cmp.Compare(a, b)) })
			}
			i = j
		}
		return buf
	}
	if halves == 1 {
		var buf []uint64
		for b := range buckets {
			buf = sortBucket(b, buf)
		}
		return out
	}
	// Two runs of buckets of about as many rows each.
	mid, _ := slices.BinarySearch(starts, n/2)
	mid = min(mid, buckets)
	var wg sync.WaitGroup
	wg.Go(func() {
		var buf []uint64
		for b := mid; b < buckets; b++ {
			buf = sortBucket(b, buf)
		}
	})
	var buf []uint64
	for b := range mid {
		buf = sortBucket(b, buf)
	}
	wg.Wait()
	return out
}

// sortSplitMin is the fewest rows sortRows sorts on two goroutines.
const sortSplitMin = 1 << 16

// order returns rows 0..n-1 by their ids' bytes, ties by row: the rows
// without an id first, then the records sorted on their first ten lanes
// (one big-endian load) and lane by lane where those do not tell, with the
// ids kept as they are merged in where they belong.
func (c *idColumn) order(n int) []uint32 {
	out := make([]uint32, 0, n)
	for r := range n {
		if !c.present(r) {
			out = append(out, uint32(r))
		}
	}
	empty := len(out)
	ex := len(c.ex.rows)
	// The records, sorted, go after room for the exceptions, which are
	// then merged in from the front.
	var keyMask uint64
	if c.width > 0 {
		keyMask = ^uint64(0) << (64 - 6*min(c.width, 10))
	}
	// Rows whose keys sortRows cannot tell apart are compared lane by lane.
	whole := func(a, b uint32) int {
		var ba, bb []byte // rare: a spilled record is read on its own
		if c.spill != nil {
			ba, bb = make([]byte, c.rec+idPad), make([]byte, c.rec+idPad)
		}
		ca, oa := c.recordInto(c.has.rank(int(a)), ba)
		cb, ob := c.recordInto(c.has.rank(int(b)), bb)
		for i := range c.width {
			if d := cmp.Compare(lane(ca, oa, i), lane(cb, ob, i)); d != 0 {
				return d
			}
		}
		return 0
	}
	// Record k's row: the k-th set bit of has, found from the words' ranks
	// once a batch. The batches of a half go in order, so a reader a
	// goroutine takes from the pool mostly holds its next chunk already.
	readers := sync.Pool{New: func() any { return c.reader() }}
	recs := sortRows(c.recs, func(i int, keys []uint64, rows []uint32) {
		rd := readers.Get().(*chunkReader)
		defer readers.Put(rd)
		w := max(sort.Search(len(c.has.bits), func(w int) bool { return int(c.has.dir[w+1]) > i }), 0)
		word := c.has.bits[w]
		for skip := i - int(c.has.dir[w]); skip > 0; skip-- {
			word &= word - 1
		}
		for j := range keys {
			for word == 0 {
				w++
				word = c.has.bits[w]
			}
			ch, off := rd.record(i + j)
			keys[j] = binary.BigEndian.Uint64(ch[off:]) & keyMask >> 4
			rows[j] = uint32(w<<6 | bits.TrailingZeros64(word))
			word &= word - 1
		}
	}, whole, nil)
	out = out[:n]
	copy(out[empty+ex:], recs)
	if ex == 0 {
		return out
	}
	// The exceptions by (id, row), each merged in before the first record
	// greater: found by bisection, so that only a few records are decoded.
	byID := func(a []byte, ra uint32, b []byte, rb uint32) int {
		return cmp.Or(bytes.Compare(a, b), cmp.Compare(ra, rb))
	}
	exc := make([]int, ex)
	for i := range exc {
		exc[i] = i
	}
	slices.SortFunc(exc, func(a, b int) int { return byID(c.ex.at(a), c.ex.rows[a], c.ex.at(b), c.ex.rows[b]) })
	var buf []byte
	w, rd := empty, empty+ex
	for _, i := range exc {
		id, r := c.ex.at(i), c.ex.rows[i]
		at, _ := slices.BinarySearchFunc(recs, 0, func(rr uint32, _ int) int {
			buf = c.appendSuffix(append(buf[:0], c.prefix...), c.has.rank(int(rr)))
			return byID(buf, rr, id, r)
		})
		for rd < empty+ex+at {
			out[w] = out[rd]
			w, rd = w+1, rd+1
		}
		out[w] = r
		w++
	}
	return out
}

// order returns rows 0..n-1 by their remarks, lowered (the filter's case),
// ties by row: the rows without a remark first, in row order, then those
// with one sorted on their first eight bytes and the rest where those are
// equal.
func (c *remarkColumn) order(n int) []uint32 {
	out := make([]uint32, 0, n)
	k := 0
	for r := range n {
		if k < len(c.rows) && int(c.rows[k]) == r {
			k++
			continue
		}
		out = append(out, uint32(r))
	}
	// Sorted by remark number, then turned into rows.
	text := func(i uint32) []byte { return c.bytes[c.off[i]:c.off[i+1]] }
	byText := sortRows(len(c.rows), func(i int, keys []uint64, rows []uint32) {
		for j := range keys {
			var b [8]byte
			copy(b[:], text(uint32(i+j)))
			keys[j], rows[j] = binary.BigEndian.Uint64(b[:]), uint32(i+j)
		}
	}, func(a, b uint32) int { return bytes.Compare(text(a), text(b)) }, nil)
	for _, i := range byText {
		out = append(out, c.rows[i])
	}
	return out
}

func identity(n int) []uint32 {
	p := make([]uint32, n)
	for i := range p {
		p[i] = uint32(i)
	}
	return p
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
	set := x.visibleSet(match, showUnfollowed)
	if order == nil {
		return x.visibleInRowOrder(desc, set)
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

// visibleInRowOrder is Visible for the rows' own order (nil): the rows of
// set (every row when nil), read off the bitset a word at a time.
func (x *FollowerIndex) visibleInRowOrder(desc bool, set []uint64) []uint32 {
	if set == nil {
		out := identity(x.Len())
		if desc {
			slices.Reverse(out)
		}
		return out
	}
	n := 0
	for _, w := range set {
		n += bits.OnesCount64(w)
	}
	out := make([]uint32, n)
	i, step := 0, 1
	if desc {
		i, step = n-1, -1
	}
	for w, word := range set {
		for ; word != 0; word &= word - 1 {
			out[i] = uint32(w<<6 | bits.TrailingZeros64(word))
			i += step
		}
	}
	return out
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
