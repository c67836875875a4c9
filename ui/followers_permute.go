package ui

import (
	"cmp"
	"math/bits"
	"slices"
)

// An index built with SortByFollow keeps its rows in follow-time order: row
// r is the r-th follower by follow time (ties in the order they were
// added). The view's first order is then the rows themselves: no array of
// 4 bytes a row for it, and a filter's visible rows are its bitset read in
// order instead of a walk of the order testing a bit at random for each
// row. The rows are put in that order once, when the index is built.

// SortByFollow makes Build keep the rows in follow-time order. The rows are
// then no longer numbered in the order Add saw them: find them by id.
func (b *FollowerIndexBuilder) SortByFollow() { b.byFollow = true }

// permute puts row perm[p] at p in every column but the follow times,
// which are sorted already. It holds perm's array (4 bytes a row) and no
// more from idSpillFrom rows, when the load peaks: perm is inverted in place,
// a spilled unionid column computes its records' destinations from the
// inverse as it goes, and the inverse is the openid records' destinations
// (every row has one); the records move in place. An unionid column in
// memory (a smaller index) takes an array for its destinations.
func (x *FollowerIndex) permute(perm []uint32) {
	n := len(perm)
	inv := perm
	if n < idSpillFrom || n >= 1<<31 {
		// A smaller index has the memory to spare, and an inverse
		// built apart is written at random but not walked: a cycle
		// waits on memory at every step (2 s at ten million, against
		// a tenth of that). The largest has no bit for the marks.
		inv = make([]uint32, n)
		for p, r := range perm {
			inv[r] = uint32(p)
		}
	} else {
		invertInPlace(perm)
	}
	x.scene = x.scene.permuted(inv)
	x.tagSet = x.tagSet.permuted(inv)
	if x.last != nil {
		last := make([]uint32, n)
		for r, p := range inv {
			last[p] = x.last[r]
		}
		x.last = last
	}
	if x.black != nil {
		black := make([]uint64, len(x.black))
		for r := range n {
			if x.black[r>>6]&(1<<(r&63)) != 0 {
				p := inv[r]
				black[p>>6] |= 1 << (p & 63)
			}
		}
		x.black = black
	}
	x.unfolRows, x.unfolAt = permutedPairs(x.unfolRows, x.unfolAt, inv)
	x.remark.permute(inv)
	x.union.permute(inv, nil)
	x.open.permute(inv, inv)
}

// invertInPlace makes p, a permutation of fewer than 1<<31 elements, its
// inverse, one cycle at a time, the top bit marking what is done.
func invertInPlace(p []uint32) {
	const done = 1 << 31
	for i := range p {
		if p[i]&done != 0 {
			continue
		}
		prev, j := uint32(i), p[i]
		for j != uint32(i) {
			next := p[j]
			p[j] = prev | done
			prev, j = j, next
		}
		p[i] = prev | done
	}
	for i := range p {
		p[i] &^= done
	}
}

// permutedPairs maps rows (ascending) through inv, with their values, and
// sorts them again.
func permutedPairs(rows, vals []uint32, inv []uint32) ([]uint32, []uint32) {
	pairs := make([]uint64, len(rows))
	for i, r := range rows {
		pairs[i] = uint64(inv[r])<<32 | uint64(vals[i])
	}
	slices.Sort(pairs)
	for i, p := range pairs {
		rows[i], vals[i] = uint32(p>>32), uint32(p)
	}
	return rows, vals
}

// permuted is s with row r at inv[r].
func (s *smallUints) permuted(inv []uint32) smallUints {
	out := smallUints{size: s.size}
	switch s.size {
	case 2:
		out.u16 = make([]uint16, len(inv))
		for r, p := range inv {
			out.u16[p] = s.u16[r]
		}
	case 4:
		out.u32 = make([]uint32, len(inv))
		for r, p := range inv {
			out.u32[p] = s.u32[r]
		}
	default:
		out.size = 1
		out.u8 = make([]uint8, len(inv))
		for r, p := range inv {
			out.u8[p] = s.u8[r]
		}
	}
	return out
}

// permute moves the remarks to their rows' new places.
func (c *remarkColumn) permute(inv []uint32) {
	if len(c.rows) == 0 {
		return
	}
	order := make([]int, len(c.rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(inv[c.rows[a]], inv[c.rows[b]]) })
	var d remarkColumn
	d.off = make([]uint32, 1, len(c.off))
	d.rows = make([]uint32, 0, len(c.rows))
	d.bytes = make([]byte, 0, len(c.bytes))
	d.upper = make([]uint64, len(c.upper))
	for _, i := range order {
		lo, hi := int(c.off[i]), int(c.off[i+1])
		base := len(d.bytes)
		d.rows = append(d.rows, inv[c.rows[i]])
		d.bytes = append(d.bytes, c.bytes[lo:hi]...)
		d.off = append(d.off, uint32(len(d.bytes)))
		for j := lo; j < hi; j++ {
			if c.upper[j>>6]&(1<<(j&63)) != 0 {
				k := base + j - lo
				d.upper[k>>6] |= 1 << (k & 63)
			}
		}
	}
	*c = d
}

// permute moves the column's ids to their rows' new places (row r to
// inv[r]). A record's new place is its rank among the rows that have one,
// written into spare (as long as the rows, which it may overwrite: inv
// itself when every row has a record, the ranks then being the places; nil
// for an array of its own). A spilled column computes them as it goes.
// The records are first swapped into the chunk they belong to, each moved
// once (an in-place bucket sort, the chunks its buckets), then put in order
// within each chunk through one chunk's worth of scratch.
func (c *idColumn) permute(inv, spare []uint32) {
	var has rankBits
	has.bits = make([]uint64, len(c.has.bits))
	for w, word := range c.has.bits {
		for ; word != 0; word &= word - 1 {
			p := inv[w<<6|bits.TrailingZeros64(word)]
			has.bits[p>>6] |= 1 << (p & 63)
		}
	}
	has.finish()
	// The exceptions, by their new rows.
	if len(c.ex.rows) > 0 {
		order := make([]int, len(c.ex.rows))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(inv[c.ex.rows[a]], inv[c.ex.rows[b]]) })
		var ex idExceptions
		for _, i := range order {
			ex.add(int(inv[c.ex.rows[i]]), string(c.ex.at(i)))
		}
		c.ex = ex
	}
	if c.recs > 0 && c.spill != nil {
		c.moveSpilled(inv, &has)
	} else if c.recs > 0 {
		if spare == nil {
			spare = make([]uint32, c.recs)
		}
		// Record k is the k-th set bit of the old has, so dest[k] may
		// overwrite spare[k] (the rank of row k's new place needs only
		// inv[row k], row k >= k) unless spare is inv and a row without a
		// record comes first: then a copy.
		dest := spare[:c.recs]
		if &spare[0] == &inv[0] && c.recs != len(inv) {
			dest = make([]uint32, c.recs)
		}
		k := 0
		for w, word := range c.has.bits {
			for ; word != 0; word &= word - 1 {
				dest[k] = uint32(has.rank(int(inv[w<<6|bits.TrailingZeros64(word)])))
				k++
			}
		}
		c.moveRecords(dest)
	}
	c.has = has
}

// moveRecords puts record k at dest[k] (a permutation of the records).
func (c *idColumn) moveRecords(dest []uint32) {
	rec := c.rec
	next := make([]int, len(c.chunks)) // the first place of each chunk not yet settled
	for b := range next {
		next[b] = b << idChunkShift
	}
	tmp := make([]byte, rec)
	swap := func(i, j int) {
		ci, oi := c.record(i)
		cj, oj := c.record(j)
		copy(tmp, ci[oi:oi+rec])
		copy(ci[oi:oi+rec], cj[oj:oj+rec])
		copy(cj[oj:oj+rec], tmp)
		dest[i], dest[j] = dest[j], dest[i]
	}
	for b := range c.chunks {
		end := min((b+1)<<idChunkShift, c.recs)
		for next[b] < end {
			i := next[b]
			d := int(dest[i] >> idChunkShift)
			if d == b {
				next[b]++
				continue
			}
			swap(i, next[d])
			next[d]++
		}
	}
	scratch := make([]byte, min(c.recs, idChunkRecs)*rec)
	for b, ch := range c.chunks {
		lo := b << idChunkShift
		m := min(idChunkRecs, c.recs-lo)
		for i := range m {
			t := int(dest[lo+i]) - lo
			copy(scratch[t*rec:(t+1)*rec], ch[i*rec:(i+1)*rec])
		}
		copy(ch[:m*rec], scratch[:m*rec])
	}
}
