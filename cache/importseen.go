package cache

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The last_seen values of an imported app's members are packed in blocks:
// a bbolt Put costs as much as the row it stores when the value is a few
// bytes, and a key per member made the import of a million rows half again
// as slow. A block holds up to seenBlock members in openid order, each an
// openid (uvarint length + bytes) and its last_seen (uvarint unix seconds);
// its key is its first openid, so the block of an openid is the one at the
// greatest key not above it. Members without a last_seen have no entry.
const seenBlock = 128

// seenEntry is one member's last_seen.
type seenEntry struct {
	openid string
	t      int64
}

func appendSeenEntry(dst []byte, openid string, t int64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(openid)))
	dst = append(dst, openid...)
	return binary.AppendUvarint(dst, uint64(t))
}

// decodeSeenBlock appends the entries of block v to dst.
func decodeSeenBlock(dst []seenEntry, v []byte) ([]seenEntry, error) {
	r := reader{s: string(v)}
	for r.err == nil && r.off < len(r.s) {
		id := r.string()
		t := r.uvarint()
		if r.err == nil && (id == "" || t > 1<<62) {
			r.fail()
		}
		dst = append(dst, seenEntry{id, int64(t)})
	}
	if err := r.end("last_seen block"); err != nil {
		return dst, err
	}
	return dst, nil
}

// seenBlockAt positions c at the block that holds openid, if any: the one
// with the greatest key not above it. ok is false when every block starts
// after openid.
func seenBlockAt(c *bolt.Cursor, openid []byte) (k, v []byte, ok bool) {
	k, v = c.Seek(openid)
	if k != nil && bytes.Equal(k, openid) {
		return k, v, true
	}
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	return k, v, k != nil
}

// lastSeenIn returns openid's last_seen from the blocks of b (nil: none), 0
// when it has none.
func lastSeenIn(b *bolt.Bucket, openid []byte) (int64, error) {
	if b == nil {
		return 0, nil
	}
	_, v, ok := seenBlockAt(b.Cursor(), openid)
	if !ok {
		return 0, nil
	}
	es, err := decodeSeenBlock(nil, v)
	if err != nil {
		return 0, err
	}
	for _, e := range es {
		if e.openid == string(openid) {
			return e.t, nil
		}
	}
	return 0, nil
}

// seenCursor walks every entry of an app's blocks in openid order.
type seenCursor struct {
	c    *bolt.Cursor
	ents []seenEntry
	i    int
	err  error
}

// seek positions the cursor at the first entry at or after openid.
func (sc *seenCursor) seek(openid []byte) {
	k, v, ok := seenBlockAt(sc.c, openid)
	if !ok {
		k, v = sc.c.First()
	}
	sc.load(k, v)
	for sc.cur() != nil && sc.cur().openid < string(openid) {
		sc.next()
	}
}

func (sc *seenCursor) load(k, v []byte) {
	sc.ents, sc.i = sc.ents[:0], 0
	if k == nil || sc.err != nil {
		return
	}
	sc.ents, sc.err = decodeSeenBlock(sc.ents, v)
}

// cur is the current entry, nil past the end.
func (sc *seenCursor) cur() *seenEntry {
	for sc.i >= len(sc.ents) {
		if sc.err != nil || len(sc.ents) == 0 {
			return nil
		}
		sc.load(sc.c.Next())
	}
	return &sc.ents[sc.i]
}

func (sc *seenCursor) next() { sc.i++ }

// seenBlockWriter packs entries given in openid order into blocks.
type seenBlockWriter struct {
	first string
	block []byte
	n     int
	put   func(key, block []byte) error
}

func (w *seenBlockWriter) add(openid string, t int64) error {
	if w.n == 0 {
		w.first = openid
	}
	w.block = appendSeenEntry(w.block, openid, t)
	if w.n++; w.n == seenBlock {
		return w.flush()
	}
	return nil
}

func (w *seenBlockWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	err := w.put([]byte(w.first), w.block)
	w.block, w.n = nil, 0 // bbolt keeps the value until the commit
	return err
}

// setLastSeen sets (t > 0) or removes (t == 0) one member's entry in the
// blocks of b, splitting a block that grows past twice seenBlock.
func setLastSeen(b *bolt.Bucket, keep func([]byte) []byte, openid string, t int64) error {
	c := b.Cursor()
	k, v, ok := seenBlockAt(c, []byte(openid))
	if !ok {
		// Before every block: the first block takes it, under a new key.
		k, v = c.First()
	}
	var es []seenEntry
	if k != nil {
		var err error
		if es, err = decodeSeenBlock(nil, v); err != nil {
			return fmt.Errorf("last_seen block %s: %w", k, err)
		}
	}
	i := 0
	for i < len(es) && es[i].openid < openid {
		i++
	}
	switch {
	case i < len(es) && es[i].openid == openid && t > 0:
		es[i].t = t
	case i < len(es) && es[i].openid == openid:
		es = append(es[:i], es[i+1:]...)
	case t > 0:
		es = append(es[:i], append([]seenEntry{{openid, t}}, es[i:]...)...)
	default:
		return nil // nothing to remove
	}
	if k != nil {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	for len(es) > 0 {
		n := len(es)
		if n > 2*seenBlock {
			n = seenBlock
		}
		var block []byte
		for _, e := range es[:n] {
			block = appendSeenEntry(block, e.openid, e.t)
		}
		if err := b.Put(keep([]byte(es[0].openid)), keep(block)); err != nil {
			return err
		}
		es = es[n:]
	}
	return nil
}
