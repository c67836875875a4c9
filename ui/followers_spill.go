package ui

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// At ten million followers the two id columns are 360 MB of random
// characters at their entropy (six bits each): held on the heap they leave
// no room for the rest of the TUI under 500 MB. The unionid column is the
// cold one: the screen draws the unionids of forty rows, and only a filter
// (the rows whose openid did not match) and a sort by unionid read them
// all. So a large unionid column moves its records, chunk by chunk as the
// load fills them, into a temporary file, and reads them back with ReadAt
// (pread) into a chunk-sized buffer: the file's pages are the system's
// page cache, which is not the process's memory (a mapping of it would
// be), and a keystroke copies 180 MB from it (tens of milliseconds over
// two cores) only when the query can match a unionid, and only the chunks
// holding a row still to test.
//
// The file is removed as soon as it is made where the system allows it (it
// lives on while open, and goes with the process however that ends);
// elsewhere (Windows) it is removed when the index is closed or collected,
// and a file left by a crash is removed by the next spill. A file that
// cannot be made or written leaves the column's chunks in memory, and the
// index says why (SpillErr): the screen is the same, only heavier.

// idSpillFrom is the record count at which a spillable column starts to
// spill: a column of 2 M ids is 38 MB, which the heap holds well (the TUI
// at 1 M followers stays far under its 200 MB), and repacking (which
// rewrites the records, up to idRepackMax of them) is over by then. A
// variable so that tests can lower it.
var idSpillFrom = 1 << 21

// idSpillDir is where spill files go; "" is os.TempDir. A variable for
// tests.
var idSpillDir = ""

// idSpillPattern names the spill files, so that a person looking at the
// temporary directory knows what they are and the next spill finds the
// ones a crash left.
const idSpillPattern = "wxscope-unionids-*.tmp"

// idSpillWindow is the bytes of records a spilled column's permutation
// places at once: it reads the whole file once per window, so a larger one
// is fewer passes but more heap while the load peaks.
var idSpillWindow = 16 << 20

// idSpillWriteAt writes a spill file; tests make it fail.
var idSpillWriteAt = (*os.File).WriteAt

// idSpill is the file of a spilled column: chunk b at b·stride, its records
// then idPad zero bytes, as in memory.
type idSpill struct {
	f      *os.File
	path   string // still to remove, when it could not be removed at once
	stride int64

	mu  sync.Mutex
	err error // the first failed read
}

// newIDSpill creates a spill file for chunks of stride bytes.
func newIDSpill(stride int64) (*idSpill, error) {
	dir := idSpillDir
	if dir == "" {
		dir = os.TempDir()
	}
	removeStaleSpills(dir)
	f, err := os.CreateTemp(dir, idSpillPattern)
	if err != nil {
		return nil, fmt.Errorf("create a temporary file for the unionids in %s (they stay in memory; free space there or point TMPDIR elsewhere): %w", dir, err)
	}
	s := &idSpill{f: f, path: f.Name(), stride: stride}
	// Removed while open: the data stays until the file is closed, and
	// no crash leaves it behind. Windows refuses while it is open.
	if os.Remove(s.path) == nil {
		s.path = ""
	}
	return s, nil
}

// removeStaleSpills removes the spill files of processes that ended without
// removing theirs (only where an open file cannot be removed, Windows: there
// a live process's file is open, and its removal fails).
func removeStaleSpills(dir string) {
	old, _ := filepath.Glob(filepath.Join(dir, idSpillPattern))
	for _, p := range old {
		os.Remove(p)
	}
}

// write writes chunk b's bytes.
func (s *idSpill) write(b int, ch []byte) error {
	if _, err := idSpillWriteAt(s.f, ch, int64(b)*s.stride); err != nil {
		return fmt.Errorf("write the unionids to the temporary file %s (the rest stay in memory; free space there or point TMPDIR elsewhere): %w", s.f.Name(), err)
	}
	return nil
}

// read fills buf from chunk b's bytes at off. A failure is kept (Err) and
// leaves zeros: records that match nothing and read as the lane "-".
func (s *idSpill) read(b int, off int, buf []byte) {
	_, err := s.f.ReadAt(buf, int64(b)*s.stride+int64(off))
	if err != nil {
		clear(buf)
		s.mu.Lock()
		if s.err == nil {
			s.err = fmt.Errorf("read the unionids back from the temporary file %s (restart the view to read them again from the cache): %w", s.f.Name(), err)
		}
		s.mu.Unlock()
	}
}

// Err is the first failed read, if any.
func (s *idSpill) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// close closes the file and removes it if it is still there.
func (s *idSpill) close() error {
	err := s.f.Close()
	if s.path != "" {
		err = errors.Join(err, os.Remove(s.path))
		s.path = ""
	}
	return err
}

// chunkLen is the bytes of chunk b of c: its records and the padding.
func (c *idColumn) chunkLen(b int) int {
	return min(idChunkRecs, c.recs-b<<idChunkShift)*c.rec + idPad
}

// spillFull writes the column's full chunks held in memory to its spill
// file, creating it first, and drops them from the heap. A failure leaves
// them in memory and the column spills no more.
func (c *idColumn) spillFull() {
	if c.spill == nil {
		if c.spillErr != nil {
			return
		}
		s, err := newIDSpill(int64(idChunkRecs*c.rec + idPad))
		if err != nil {
			c.spillErr = err
			return
		}
		c.spill = s
	}
	full := c.recs >> idChunkShift
	for b := range full {
		if c.chunks[b] == nil {
			continue
		}
		if err := c.spill.write(b, c.chunks[b][:c.chunkLen(b)]); err != nil {
			c.spillErr, c.spillable = err, false
			return
		}
		c.chunks[b] = nil
	}
}

// spilled reports whether chunk b lives in the spill file.
func (c *idColumn) spilled(b int) bool { return c.chunks[b] == nil }

// recordInto returns record k's bytes (and at least idPad after them) and
// where they start: in its chunk when that is in memory, else read into
// buf (of rec+idPad bytes).
func (c *idColumn) recordInto(k int, buf []byte) ([]byte, int) {
	b := k >> idChunkShift
	if !c.spilled(b) {
		return c.record(k)
	}
	c.spill.read(b, (k&(idChunkRecs-1))*c.rec, buf[:c.rec+idPad])
	return buf, 0
}

// chunkReader reads a column's chunks for one goroutine that goes through
// them in order: a spilled chunk is read whole into its buffer, once.
type chunkReader struct {
	c   *idColumn
	at  int // the chunk in buf, -1 for none
	buf []byte
}

func (c *idColumn) reader() *chunkReader { return &chunkReader{c: c, at: -1} }

// chunk returns chunk b's bytes.
func (r *chunkReader) chunk(b int) []byte {
	c := r.c
	if !c.spilled(b) {
		return c.chunks[b]
	}
	if r.at != b {
		n := c.chunkLen(b)
		if cap(r.buf) < n {
			r.buf = make([]byte, idChunkRecs*c.rec+idPad)
		}
		r.buf = r.buf[:n]
		c.spill.read(b, 0, r.buf)
		r.at = b
	}
	return r.buf
}

// record returns the chunk holding record k and where it starts.
func (r *chunkReader) record(k int) ([]byte, int) {
	return r.chunk(k >> idChunkShift), (k & (idChunkRecs - 1)) * r.c.rec
}

// moveSpilled is permute's moveRecords for a column with spilled chunks:
// the record of row r to its rank in has (the new rows) at inv[r], into a
// new spill file, a window of chunks at a time (each window one read of
// the old chunks in order, the destinations computed again: an array of
// them would be 40 MB at ten million, when the load peaks). A window that
// cannot be written stays in memory.
func (c *idColumn) moveSpilled(inv []uint32, has *rankBits) {
	old := c.spill
	nchunks := len(c.chunks)
	out := make([][]byte, nchunks)
	s, err := newIDSpill(old.stride)
	if err != nil {
		c.spillErr = err
	}
	per := max(1, idSpillWindow/(idChunkRecs*c.rec+idPad))
	rd := c.reader()
	var spare [][]byte // the buffers of a window written out
	rec := c.rec
	for lo := 0; lo < nchunks; lo += per {
		hi := min(lo+per, nchunks)
		for b := lo; b < hi; b++ {
			n := c.chunkLen(b)
			if len(spare) > 0 && cap(spare[len(spare)-1]) >= n {
				out[b] = spare[len(spare)-1][:n]
				spare = spare[:len(spare)-1]
				clear(out[b])
			} else {
				out[b] = make([]byte, n, idChunkRecs*rec+idPad)
			}
		}
		first, last := lo<<idChunkShift, min(hi<<idChunkShift, c.recs)
		k := 0 // record k is the k-th set bit of the old has
		var ch []byte
		chAt := -1 // read only if one of its records goes here
		for w, word := range c.has.bits {
			for ; word != 0; word &= word - 1 {
				d := has.rank(int(inv[w<<6|bits.TrailingZeros64(word)]))
				if d >= first && d < last {
					if b := k >> idChunkShift; b != chAt {
						ch, chAt = rd.chunk(b), b
					}
					t := out[d>>idChunkShift]
					o, i := (d&(idChunkRecs-1))*rec, (k&(idChunkRecs-1))*rec
					copy(t[o:o+rec], ch[i:i+rec])
				}
				k++
			}
		}
		if s == nil {
			continue
		}
		for b := lo; b < hi; b++ {
			if err := s.write(b, out[b]); err != nil {
				c.spillErr = err
				continue // this one stays in memory
			}
			spare = append(spare, out[b])
			out[b] = nil
		}
	}
	c.chunks = out
	old.close()
	c.spill = s
	if s != nil && !c.anySpilled() {
		s.close()
		c.spill = nil
	}
}

// anySpilled reports whether a chunk lives in the spill file.
func (c *idColumn) anySpilled() bool {
	for b := range c.chunks {
		if c.spilled(b) {
			return true
		}
	}
	return false
}

// unspilled is a copy of chunk b in memory.
func (c *idColumn) unspilled(b int) []byte {
	if !c.spilled(b) {
		return append([]byte(nil), c.chunks[b]...)
	}
	buf := make([]byte, c.chunkLen(b), idChunkRecs*c.rec+idPad)
	c.spill.read(b, 0, buf)
	return buf
}

// closeSpill closes the column's spill file; its records are gone.
func (c *idColumn) closeSpill() error {
	if c.spill == nil {
		return nil
	}
	err := c.spill.close()
	c.spill = nil
	return err
}

// armSpillCleanup closes x's spill file when x is collected, for the
// indexes nobody closes (a view popped, an export done with it).
func (x *FollowerIndex) armSpillCleanup() {
	if s := x.union.spill; s != nil {
		runtime.AddCleanup(x, func(s *idSpill) { s.close() }, s)
	}
}

// Close releases what the index holds outside the heap: the temporary file
// of its unionids, if they were spilled. The index must not be used
// afterwards. Closing is optional (a collected index closes its file), but
// frees the disk at once.
func (x *FollowerIndex) Close() error { return x.union.closeSpill() }

// SpillErr is why the index holds its unionids in memory although it is
// large enough to spill them (a temporary file that could not be made or
// written), or why some could not be read back; nil when all is well.
func (x *FollowerIndex) SpillErr() error {
	if x.union.spill != nil {
		if err := x.union.spill.Err(); err != nil {
			return err
		}
	}
	return x.union.spillErr
}
