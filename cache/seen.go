package cache

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// seenChunkRows is how many rows one value of an app's seen bucket covers:
// 4 KiB of bits, one page.
const seenChunkRows = 1 << 15

// seenSet is which rows of an app the current sync run listed: one bit a
// row, 1.25 MB for ten million followers. A sync keeps it in memory and
// saves the chunks it changed with every commit, beside the cursor, so a
// resumed run knows what its earlier pages listed; after a complete listing,
// the following rows without a bit are the unfollows. It replaces format
// 1's seen-run stamp in every profile, which made each re-sync rewrite
// every profile of the app.
type seenSet struct {
	chunks map[uint32][]byte
	dirty  map[uint32]bool
}

func newSeenSet() *seenSet {
	return &seenSet{chunks: map[uint32][]byte{}, dirty: map[uint32]bool{}}
}

func (s *seenSet) set(row uint32) {
	c := row / seenChunkRows
	b := s.chunks[c]
	if b == nil {
		b = make([]byte, seenChunkRows/8)
		s.chunks[c] = b
	}
	i := row % seenChunkRows
	if mask := byte(1) << (i & 7); b[i>>3]&mask == 0 {
		b[i>>3] |= mask
		s.dirty[c] = true
	}
}

func (s *seenSet) has(row uint32) bool {
	b := s.chunks[row/seenChunkRows]
	i := row % seenChunkRows
	return b != nil && b[i>>3]&(1<<(i&7)) != 0
}

func seenKey(c uint32) []byte { return binary.BigEndian.AppendUint32(nil, c) }

// load reads every chunk of b (nil: none).
func (s *seenSet) load(b *bolt.Bucket) error {
	s.chunks, s.dirty = map[uint32][]byte{}, map[uint32]bool{}
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		c, ok := rowOf(k)
		if !ok || len(v) != seenChunkRows/8 {
			return fmt.Errorf("seen rows: malformed chunk %x: %w", k, errCorrupt)
		}
		s.chunks[c] = append([]byte(nil), v...)
		return nil
	})
}

// save writes the chunks changed since the last save into b. The values
// are copies: bbolt keeps what it is given until the commit, and the set
// goes on changing.
func (s *seenSet) save(b *bolt.Bucket) error {
	for c := range s.dirty {
		if err := b.Put(seenKey(c), append([]byte(nil), s.chunks[c]...)); err != nil {
			return err
		}
	}
	clear(s.dirty)
	return nil
}
