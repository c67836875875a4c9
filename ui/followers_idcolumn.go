package ui

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
)

// The Followers index keeps its ids in idColumns: at ten million followers
// they are most of its memory. A WeChat id is 28 characters of base64's
// alphabet, and one app's openids (one platform's unionids) begin with the
// same few. A column keeps that prefix once and each id's other characters
// as 6-bit lanes, 18 bytes for 23 characters instead of 28 and a
// separator, and a filter tests eight lanes at a time in a 64-bit word
// (see idQuery). An id of another shape (another length, another prefix,
// a character outside the alphabet) is kept as it is beside them.

// idLanes is the alphabet of WeChat's ids in byte order: lane numbers
// compare as the characters do, so packed ids sort by their lanes.
const idLanes = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

// laneOf is each byte's lane number, -1 for a byte outside idLanes.
var laneOf = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(idLanes) {
		t[idLanes[i]] = int8(i)
	}
	return t
}()

func allLanes(s string) bool {
	for i := range len(s) {
		if laneOf[s[i]] < 0 {
			return false
		}
	}
	return true
}

const (
	// idChunkShift: records live in chunks of 1<<idChunkShift, so that a
	// column grows without copying what it holds (a 10 M column copied
	// as it doubles would cost twice its size for a moment).
	idChunkShift = 16
	idChunkRecs  = 1 << idChunkShift
	// idWarmRows is how many ids a column sees before it chooses the
	// length and the prefix it packs: the most common length among them,
	// so that a run of odd ids at the top does not make all the others odd.
	idWarmRows = 1024
	// idRepackMax is the most records a column repacks with a shorter
	// prefix (when an id of the packed length and alphabet does not share
	// all of it); past it such an id is kept as it is.
	idRepackMax = 1 << 20
	// idPad is the slack after a chunk's last record: a test loads eight
	// bytes at a time, up to seven past a record's end.
	idPad = 8
)

// idColumn is one id per row: openids, or unionids ("" for none).
type idColumn struct {
	prefix string // every packed id starts with it
	width  int    // lanes after the prefix; -1: nothing is packed
	rec    int    // bytes a record: ceil(6·width/8)
	chunks [][]byte
	recs   int
	// has has bit r set when row r's id is a record; rank gives its number.
	has rankBits
	ex  idExceptions
	// hint is the rows expected, which sizes the first chunk.
	hint int
	// spillable columns move their full chunks to spill once they hold
	// idSpillFrom records (followers_spill.go); a spilled chunk is nil.
	spillable bool
	spill     *idSpill
	spillErr  error // why a spillable column holds chunks in memory

	rows     int
	pending  []string // the first ids, until settle
	settled  bool
	first    string // the first non-empty id
	shared   int    // leading bytes every non-empty id shares
	maxLen   int
	nonEmpty int
}

// idExceptions are the ids of rows whose id is not packed, as they are.
type idExceptions struct {
	rows  []uint32 // ascending
	off   []uint32 // id i is bytes[off[i]:off[i+1]]; len(rows)+1 once any
	bytes []byte
}

func (e *idExceptions) add(r int, id string) {
	if len(e.off) == 0 {
		e.off = append(e.off, 0)
	}
	e.rows = append(e.rows, uint32(r))
	e.bytes = append(e.bytes, id...)
	e.off = append(e.off, uint32(len(e.bytes)))
}

// find returns row r's id, if it is an exception.
func (e *idExceptions) find(r int) (string, bool) {
	i, ok := slices.BinarySearch(e.rows, uint32(r))
	if !ok {
		return "", false
	}
	return string(e.bytes[e.off[i]:e.off[i+1]]), true
}

func (e *idExceptions) at(i int) []byte { return e.bytes[e.off[i]:e.off[i+1]] }

// rankBits is a bitset over rows, appended in row order, with the count of
// set bits before each word once finished (rank in O(1)).
type rankBits struct {
	bits []uint64
	dir  []uint32 // dir[w]: bits set in the words before w
}

func (b *rankBits) push(r int, v bool) {
	if r>>6 >= len(b.bits) {
		b.bits = append(b.bits, 0)
	}
	if v {
		b.bits[r>>6] |= 1 << (r & 63)
	}
}

func (b *rankBits) get(r int) bool {
	return r>>6 < len(b.bits) && b.bits[r>>6]&(1<<(r&63)) != 0
}

func (b *rankBits) finish() {
	b.dir = make([]uint32, len(b.bits)+1)
	n := 0
	for w, word := range b.bits {
		b.dir[w] = uint32(n)
		n += bits.OnesCount64(word)
	}
	b.dir[len(b.bits)] = uint32(n)
}

// rank is the number of set bits before r; only after finish.
func (b *rankBits) rank(r int) int {
	return int(b.dir[r>>6]) + bits.OnesCount64(b.bits[r>>6]&(1<<(r&63)-1))
}

func newIDColumn(hint int) idColumn { return idColumn{width: -1, hint: hint} }

// add appends the next row's id ("" for none). It keeps a copy.
func (c *idColumn) add(id string) {
	r := c.rows
	c.rows++
	if id != "" {
		c.nonEmpty++
		c.maxLen = max(c.maxLen, len(id))
		if c.first == "" {
			c.first, c.shared = strings.Clone(id), len(id)
		} else {
			c.shared = sharedPrefix(c.first, id, c.shared)
		}
	}
	if !c.settled {
		c.pending = append(c.pending, strings.Clone(id))
		if len(c.pending) == idWarmRows {
			c.settle()
		}
		return
	}
	c.place(r, id)
}

// settle chooses what the column packs from the ids seen so far: their most
// common length among those of the alphabet, and the prefix those share
// (all but one lane at most), then places them.
func (c *idColumn) settle() {
	if c.settled {
		return
	}
	c.settled = true
	counts := map[int]int{}
	modal, best := 0, 0
	for _, id := range c.pending {
		if id == "" || !allLanes(id) {
			continue
		}
		counts[len(id)]++
		if n := counts[len(id)]; n > best || (n == best && len(id) < modal) {
			modal, best = len(id), n
		}
	}
	if best > 0 {
		prefix := ""
		for _, id := range c.pending {
			if len(id) != modal || !allLanes(id) {
				continue
			}
			if prefix == "" {
				prefix = id[:modal-1]
			} else {
				prefix = prefix[:sharedPrefix(prefix, id, len(prefix))]
			}
		}
		c.prefix = strings.Clone(prefix)
		c.width = modal - len(prefix)
		c.rec = (6*c.width + 7) / 8
	}
	pending := c.pending
	c.pending = nil
	for r, id := range pending {
		c.place(r, id)
	}
}

func (c *idColumn) fits(id string) bool {
	return c.width >= 0 && len(id) == len(c.prefix)+c.width && strings.HasPrefix(id, c.prefix) && allLanes(id[len(c.prefix):])
}

func (c *idColumn) place(r int, id string) {
	switch {
	case id == "":
		c.has.push(r, false)
		return
	case c.fits(id):
	case c.width >= 0 && len(id) == len(c.prefix)+c.width && allLanes(id) && c.recs <= idRepackMax && c.spill == nil:
		// The packed shape but not all of the prefix (the first ids
		// shared more of it by chance): a shorter prefix, every
		// record so far a lane or two longer.
		c.repack(sharedPrefix(c.prefix, id, len(c.prefix)))
	default:
		c.ex.add(r, id)
		c.has.push(r, false)
		return
	}
	c.appendRecord(id[len(c.prefix):])
	c.has.push(r, true)
}

// appendRecord packs suffix, width lane characters, as the next record.
func (c *idColumn) appendRecord(suffix string) {
	i := c.recs & (idChunkRecs - 1)
	if i == 0 {
		n := idChunkRecs
		if c.recs == 0 {
			// The first chunk: as many as expected, and a few when
			// nobody said (it grows).
			n = min(n, cmp.Or(c.hint, 64))
		}
		c.chunks = append(c.chunks, make([]byte, idPad, n*c.rec+idPad))
	}
	// The bytes past a chunk's records are zeros (made so, and packLanes
	// writes zeros past a record).
	ch := &c.chunks[len(c.chunks)-1]
	*ch = slices.Grow((*ch)[:len(*ch)-idPad], c.rec+idPad)
	start := len(*ch)
	*ch = (*ch)[:start+c.rec+idPad]
	packLanes((*ch)[start:], suffix)
	c.recs++
	if c.spillable && c.recs&(idChunkRecs-1) == 0 && c.recs >= idSpillFrom {
		c.spillFull()
	}
}

// repack makes the prefix its first n bytes: the records so far are
// packed again with the prefix's other bytes in front.
func (c *idColumn) repack(n int) {
	lead := c.prefix[n:]
	old := *c
	c.prefix, c.width = c.prefix[:n], c.width+len(lead)
	c.rec = (6*c.width + 7) / 8
	c.chunks, c.recs = nil, 0
	buf := make([]byte, 0, len(lead)+old.width)
	for k := range old.recs {
		buf = append(buf[:0], lead...)
		buf = old.appendSuffix(buf, k)
		c.appendRecord(string(buf))
	}
}

// record returns the chunk holding record k and where it starts.
func (c *idColumn) record(k int) ([]byte, int) {
	return c.chunks[k>>idChunkShift], (k & (idChunkRecs - 1)) * c.rec
}

// appendSuffix appends record k's characters to buf.
func (c *idColumn) appendSuffix(buf []byte, k int) []byte {
	var tmp []byte
	if c.spilled(k >> idChunkShift) {
		tmp = make([]byte, c.rec+idPad)
	}
	ch, off := c.recordInto(k, tmp)
	for i := range c.width {
		buf = append(buf, idLanes[lane(ch, off, i)])
	}
	return buf
}

// lane is lane i of the record at ch[off:].
func lane(ch []byte, off, i int) uint64 {
	bit := 6 * i
	return binary.BigEndian.Uint64(ch[off+bit>>3:]) >> (58 - bit&7) & 63
}

// packLanes writes the lanes of s (lane characters) into dst, six bits
// each, the first in the highest bits of dst[0]: a big-endian load of
// eight bytes from a lane boundary then holds ten lanes in order, the
// first highest, so it compares as the characters do. Eight lanes are six
// bytes, stored as one 8-byte word whose last two bytes (zero) the next
// eight overwrite: dst must have room for two bytes past them, and hold
// zeros there.
func packLanes(dst []byte, s string) {
	for g := 0; 8*g < len(s); g++ {
		var v uint64
		lanes := s[8*g : min(len(s), 8*g+8)]
		for i := range len(lanes) {
			v |= uint64(laneOf[lanes[i]]) << (58 - 6*i)
		}
		binary.BigEndian.PutUint64(dst[6*g:], v)
	}
}

// finish ends the column's building: it settles it if too few ids came to
// and builds the rank of its records.
func (c *idColumn) finish() {
	c.settle()
	for c.rows > len(c.has.bits)*64 {
		c.has.bits = append(c.has.bits, 0)
	}
	c.has.finish()
}

// clone is a copy that shares nothing with c.
func (c *idColumn) clone() idColumn {
	d := *c
	d.chunks = make([][]byte, len(c.chunks))
	for i := range c.chunks {
		d.chunks[i] = c.unspilled(i)
	}
	d.spill, d.spillable = nil, false
	d.has = rankBits{bits: slices.Clone(c.has.bits)}
	d.ex = idExceptions{rows: slices.Clone(c.ex.rows), off: slices.Clone(c.ex.off), bytes: slices.Clone(c.ex.bytes)}
	d.pending = slices.Clone(c.pending)
	return d
}

// id returns row r's id; only after finish.
func (c *idColumn) id(r int) string {
	if c.has.get(r) {
		buf := make([]byte, 0, len(c.prefix)+c.width)
		buf = append(buf, c.prefix...)
		return string(c.appendSuffix(buf, c.has.rank(r)))
	}
	s, _ := c.ex.find(r)
	return s
}

// present reports whether row r has an id.
func (c *idColumn) present(r int) bool {
	if c.has.get(r) {
		return true
	}
	_, ok := slices.BinarySearch(c.ex.rows, uint32(r))
	return ok
}

// memBytes is the heap the column holds, roughly.
func (c *idColumn) memBytes() int {
	n := 8*cap(c.has.bits) + 4*cap(c.has.dir) + 4*cap(c.ex.rows) + 4*cap(c.ex.off) + cap(c.ex.bytes)
	for _, ch := range c.chunks {
		n += cap(ch)
	}
	return n
}

// find returns the first row whose id is id: one pass comparing id, packed,
// with each record (tens of milliseconds at ten million), and the
// exceptions.
func (c *idColumn) find(id string) (int, bool) {
	if id == "" {
		return 0, false
	}
	if c.fits(id) {
		want := make([]byte, c.rec+idPad)
		packLanes(want, id[len(c.prefix):])
		want = want[:c.rec]
		rd := c.reader()
		k := 0
		for w, word := range c.has.bits {
			for ; word != 0; word &= word - 1 {
				ch, off := rd.record(k)
				k++
				if bytes.Equal(ch[off:off+c.rec], want) {
					return w<<6 | bits.TrailingZeros64(word), true
				}
			}
		}
	}
	for i, r := range c.ex.rows {
		if string(c.ex.at(i)) == id {
			return int(r), true
		}
	}
	return 0, false
}
