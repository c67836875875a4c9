package cache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// A packed index is a sorted map of byte keys to short byte values kept in
// a bbolt bucket as blocks of entries: the bucket's key is the last key of
// a block, its value the appid the index belongs to (uvarint length and
// bytes: salvage reads it from a block no page above leads to), then the
// block's entries in key order, each key sharing what it can of the one
// before:
//
//	uvarint shared, uvarint len(suffix), suffix, uvarint len(value), value
//
// The openid and unionid indexes are packed (schema 3). Their entries are
// small (an openid and a row number, a unionid and an openid), and a bbolt
// key costs a 16-byte header in its page and a descent of the B-tree to
// write: written one by one, indexing a million rows took a microsecond a
// key. Packed, a catch-up writes one bbolt value per block of sixty or so
// entries, and an app's openids share their first six characters, which
// each key stores once a block.
//
// A block is keyed by its last key so that finding the block of a key is
// one Seek: the first block whose last key is at or after it. (Keyed by
// its first key, it took a Seek and a Prev, and in a transaction that had
// emptied a page, bbolt's Prev stopped at the empty page as if it were the
// start, so a lookup found the wrong block.)
type packed struct {
	b     *bolt.Bucket
	tx    keeper        // copies what a write hands to bbolt (nil for reads)
	owner []byte        // the appid written at the head of every block
	buf   []byte        // scratch for encoding
	out   []packedEntry // scratch for merge
}

// keeper is what a packed index needs of a write transaction: memory that
// lives until the commit (appTx.keep).
type keeper interface{ keep([]byte) []byte }

// cloneKeeper keeps a copy of its own of each slice.
type cloneKeeper struct{}

func (cloneKeeper) keep(b []byte) []byte { return bytes.Clone(b) }

// packedBlock is the most bytes of entries a block holds: two blocks and
// their keys fit a 4 KiB page.
const packedBlock = 1900

// packedEntry is one entry of a block being rewritten.
type packedEntry struct {
	key, val []byte
}

// blockIter walks the entries of one block.
type blockIter struct {
	v     []byte
	off   int
	head  bool   // the owner has been read
	owner []byte // the block's appid (aliases the block)
	key   []byte // the current key, rebuilt (owned by the iterator)
	val   []byte // the current value (aliases the block)
	err   error
}

// readOwner reads the block's head, the appid it belongs to.
func (it *blockIter) readOwner() bool {
	if it.head {
		return it.err == nil
	}
	it.head = true
	n, w := binary.Uvarint(it.v)
	if w <= 0 || n > uint64(len(it.v)-w) {
		it.err = fmt.Errorf("packed index block: malformed head: %w", errCorrupt)
		return false
	}
	it.owner = it.v[w : w+int(n)]
	it.off = w + int(n)
	return true
}

// next moves to the next entry; false at the end of the block or on a
// malformed one (err).
func (it *blockIter) next() bool {
	if len(it.v) == 0 || !it.readOwner() || it.off >= len(it.v) {
		return false
	}
	shared, n1 := binary.Uvarint(it.v[it.off:])
	if n1 <= 0 || shared > uint64(len(it.key)) {
		it.err = fmt.Errorf("packed index block: malformed entry at byte %d: %w", it.off, errCorrupt)
		return false
	}
	off := it.off + n1
	suffix, n2 := binary.Uvarint(it.v[off:])
	if n2 <= 0 || suffix > uint64(len(it.v)-off-n2) {
		it.err = fmt.Errorf("packed index block: malformed entry at byte %d: %w", it.off, errCorrupt)
		return false
	}
	off += n2
	it.key = append(it.key[:shared], it.v[off:off+int(suffix)]...)
	off += int(suffix)
	vn, n3 := binary.Uvarint(it.v[off:])
	if n3 <= 0 || vn > uint64(len(it.v)-off-n3) {
		it.err = fmt.Errorf("packed index block: malformed entry at byte %d: %w", it.off, errCorrupt)
		return false
	}
	off += n3
	it.val = it.v[off : off+int(vn)]
	it.off = off + int(vn)
	return true
}

// appendEntry encodes an entry after prev.
func appendEntry(dst, prev, key, val []byte) []byte {
	shared := 0
	for shared < len(prev) && shared < len(key) && prev[shared] == key[shared] {
		shared++
	}
	dst = binary.AppendUvarint(dst, uint64(shared))
	dst = binary.AppendUvarint(dst, uint64(len(key)-shared))
	dst = append(dst, key[shared:]...)
	dst = binary.AppendUvarint(dst, uint64(len(val)))
	return append(dst, val...)
}

// blockOf returns the key and value of the block where key belongs: the
// first block whose last key is at or after key, else (key is beyond them
// all) the last block; nil when the index is empty. beyond reports the
// latter.
func (p *packed) blockOf(c *bolt.Cursor, key []byte) (bk, bv []byte, beyond bool) {
	if bk, bv = c.Seek(key); bk != nil {
		return bk, bv, false
	}
	bk, bv = c.Last()
	return bk, bv, bk != nil
}

// get returns the value of key (valid during the transaction).
func (p *packed) get(key []byte) ([]byte, bool, error) {
	if p.b == nil {
		return nil, false, nil
	}
	_, bv, _ := p.blockOf(p.b.Cursor(), key)
	it := blockIter{v: bv}
	for it.next() {
		switch c := bytes.Compare(it.key, key); {
		case c == 0:
			return it.val, true, nil
		case c > 0:
			return nil, false, nil
		}
	}
	return nil, false, it.err
}

// packedIter walks a packed index in key order.
type packedIter struct {
	c       *bolt.Cursor
	block   blockIter
	more    bool // the cursor may have blocks after the current one
	pending bool // the current entry of block is the next one to hand out
}

// seek returns an iterator at the first entry at or after key (nil: the
// first entry).
func (p *packed) seek(key []byte) *packedIter {
	it := &packedIter{}
	if p.b == nil {
		return it
	}
	it.c = p.b.Cursor()
	var bv []byte
	if key == nil {
		_, bv = it.c.First()
	} else {
		_, bv, _ = p.blockOf(it.c, key)
	}
	it.block = blockIter{v: bv}
	it.more = bv != nil
	if key != nil {
		for it.advance() {
			if bytes.Compare(it.block.key, key) >= 0 {
				it.pending = true
				break
			}
		}
	}
	return it
}

// advance moves to the next entry, block after block.
func (it *packedIter) advance() bool {
	for {
		if it.block.next() {
			return true
		}
		if it.block.err != nil || !it.more {
			return false
		}
		k, v := it.c.Next()
		if k == nil {
			it.more = false
			return false
		}
		it.block = blockIter{v: v, key: it.block.key[:0]}
	}
}

// next moves to the next entry: its key (valid until the next call) and
// value (valid during the transaction); false at the end (see err).
func (it *packedIter) next() (key, val []byte, ok bool) {
	if it.c == nil {
		return nil, nil, false
	}
	if it.pending {
		it.pending = false
		return it.block.key, it.block.val, true
	}
	if !it.advance() {
		return nil, nil, false
	}
	return it.block.key, it.block.val, true
}

func (it *packedIter) err() error { return it.block.err }

// put sets key to val.
func (p *packed) put(key, val []byte) error {
	return p.rewrite(key, func(entries []packedEntry, i int, found bool) []packedEntry {
		if found {
			entries[i].val = val
			return entries
		}
		entries = append(entries, packedEntry{})
		copy(entries[i+1:], entries[i:])
		entries[i] = packedEntry{key: key, val: val}
		return entries
	})
}

// delete removes key, if it is there.
func (p *packed) delete(key []byte) error {
	return p.rewrite(key, func(entries []packedEntry, i int, found bool) []packedEntry {
		if !found {
			return entries
		}
		return append(entries[:i], entries[i+1:]...)
	})
}

// rewrite changes the block key belongs in: change gets its entries, the
// place of key among them and whether it is there, and returns the new
// entries, which are written back as one block or two.
func (p *packed) rewrite(key []byte, change func(entries []packedEntry, i int, found bool) []packedEntry) error {
	c := p.b.Cursor()
	bk, bv, _ := p.blockOf(c, key)
	var entries []packedEntry
	it := blockIter{v: bv}
	for it.next() {
		entries = append(entries, packedEntry{key: bytes.Clone(it.key), val: it.val})
	}
	if it.err != nil {
		return it.err
	}
	i, found := 0, false
	for i < len(entries) {
		if cmp := bytes.Compare(entries[i].key, key); cmp >= 0 {
			found = cmp == 0
			break
		}
		i++
	}
	entries = change(entries, i, found)
	if bk != nil {
		if err := p.b.Delete(bk); err != nil {
			return err
		}
	}
	return p.writeBlocks(entries)
}

// writeBlocks writes entries (sorted) as blocks of at most packedBlock
// bytes.
func (p *packed) writeBlocks(entries []packedEntry) error {
	_, err := p.writeBlocksCounted(entries)
	return err
}

func (p *packed) writeBlocksCounted(entries []packedEntry) (int, error) {
	blocks := 0
	for len(entries) > 0 {
		p.buf = appendString(p.buf[:0], string(p.owner))
		var prev []byte
		n := 0
		for n < len(entries) {
			e := entries[n]
			before := len(p.buf)
			p.buf = appendEntry(p.buf, prev, e.key, e.val)
			if len(p.buf) > packedBlock && n > 0 {
				p.buf = p.buf[:before]
				break
			}
			prev = e.key
			n++
		}
		if err := p.b.Put(p.tx.keep(entries[n-1].key), p.tx.keep(p.buf)); err != nil {
			return blocks, err
		}
		blocks++
		entries = entries[n:]
	}
	return blocks, nil
}

// mergeBlocks bounds the blocks one merge rewrites: a catch-up's
// transaction stays a few MB however its keys are spread.
const mergeBlocks = 1000

// merge writes the sorted, distinct keys of batch, block by block, and
// returns how many it wrote (all of them, unless it rewrote mergeBlocks
// blocks first: call it again with the rest, in another transaction). For
// each key, value is told its current value (and whether it has one) and
// returns the value to keep (nil to delete the key). The keys that fall in
// one block are merged with its entries, and the block written again; keys
// beyond the last block (an empty index, or a tail of increasing keys) go
// into new blocks as they come. It is what an index catch-up writes with.
func (p *packed) merge(batch [][]byte, value func(i int, cur []byte, has bool) []byte) (int, error) {
	done, blocks := 0, 0
	c := p.b.Cursor()
	for done < len(batch) && blocks < mergeBlocks {
		bk, bv, beyond := p.blockOf(c, batch[done])
		// The keys of batch that belong in this block: up to its last key,
		// or all of them beyond the last block.
		end := len(batch)
		if bk != nil && !beyond {
			end = done
			for end < len(batch) && bytes.Compare(batch[end], bk) <= 0 {
				end++
			}
		}
		var old []packedEntry
		it := blockIter{v: bv}
		for it.next() {
			old = append(old, packedEntry{key: bytes.Clone(it.key), val: it.val})
		}
		if it.err != nil {
			return done, it.err
		}
		out := slices.Grow(p.out[:0], len(old)+end-done)
		p.out = out[:0] // what it held is written before the next merge reuses it
		j := 0
		for i := done; i < end; i++ {
			k := batch[i]
			for j < len(old) && bytes.Compare(old[j].key, k) < 0 {
				out = append(out, old[j])
				j++
			}
			var cur []byte
			has := j < len(old) && bytes.Equal(old[j].key, k)
			if has {
				cur = old[j].val
				j++
			}
			if v := value(i, cur, has); v != nil {
				out = append(out, packedEntry{key: k, val: v})
			}
		}
		out = append(out, old[j:]...)
		if bk != nil {
			if err := p.b.Delete(bk); err != nil {
				return done, err
			}
		}
		n, err := p.writeBlocksCounted(out)
		if err != nil {
			return done, err
		}
		blocks += max(n, 1)
		done = end
		c = p.b.Cursor() // a write moves cursors
	}
	return done, nil
}

// count is how many entries the index holds (it reads every block).
func (p *packed) count() (int64, error) {
	var n int64
	it := p.seek(nil)
	for _, _, ok := it.next(); ok; _, _, ok = it.next() {
		n++
	}
	return n, it.err()
}

// validBlock reports whether v is a well-formed block of the index name
// keyed k: its entries in strictly increasing order, the last one k, and
// each of the index's shape (a row number in the openid index, a unionid
// and an openid with no value in the unionid indexes).
func validBlock(name, k, v []byte) error {
	it := blockIter{v: v}
	var prev []byte
	n := 0
	for it.next() {
		if n > 0 && bytes.Compare(it.key, prev) <= 0 {
			return fmt.Errorf("block %q: key %q after %q: %w", k, it.key, prev, errCorrupt)
		}
		if bytes.Equal(name, bucketIDs) {
			if _, ok := rowOf(it.val); !ok {
				return fmt.Errorf("block %q: openid %q has a malformed row number: %w", k, it.key, errCorrupt)
			}
		} else if _, _, ok := splitMemberKey(it.key); !ok || len(it.val) != 0 {
			return fmt.Errorf("block %q: malformed entry %q: %w", k, it.key, errCorrupt)
		}
		prev = append(prev[:0], it.key...)
		n++
	}
	switch {
	case it.err != nil:
		return it.err
	case n == 0:
		return fmt.Errorf("block %q is empty: %w", k, errCorrupt)
	case !bytes.Equal(prev, k):
		return fmt.Errorf("block %q ends with %q: %w", k, prev, errCorrupt)
	}
	return nil
}
