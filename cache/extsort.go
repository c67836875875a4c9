package cache

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// sorter hands back byte records in byte order, however many: it keeps up
// to budget bytes of them in memory and spills each full batch, sorted, to
// a temporary file in dir, then merges the files and the last batch. The
// cache builds its indexes with it (index.go): inserting millions of random
// keys into a B-tree rewrites pages all over it at every commit, while
// inserting them in order fills it from left to right.
//
// The files are scratch: nothing in them is needed after a crash, since
// the rows they were made from are in the cache. close removes them.
type sorter struct {
	dir    string
	budget int
	arena  []byte
	ends   []uint32 // end offset of each record in arena
	runs   []*os.File
	w      *bufio.Writer
}

// sortBudget is how many bytes of memory a sorter's records take before it
// spills them: enough that a sync's catch-up over half a million rows stays
// in memory, little enough for the 200 MB a sync may use in all. (The arena
// grows by doubling, so it may hold up to twice this while it fills.)
const sortBudget = 16 << 20

func newSorter(dir string, budget int) *sorter {
	return &sorter{dir: dir, budget: budget}
}

// recordOverhead is what a record costs in memory beside its bytes: its
// end offset, and its entry when the batch is sorted (sortEntry).
const recordOverhead = 4 + 16

// add copies rec in.
func (s *sorter) add(rec []byte) error {
	if len(s.arena)+len(rec)+(len(s.ends)+1)*recordOverhead > s.budget && len(s.ends) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
	}
	s.arena = append(s.arena, rec...)
	s.ends = append(s.ends, uint32(len(s.arena)))
	return nil
}

// sortEntry is a record of the batch in memory while it is sorted: eight
// of its bytes after the prefix every record of the batch shares, as a
// number, so that most comparisons compare two integers, and where it is.
// No pointers, so the collector need not look into a million of them.
type sortEntry struct {
	key        uint64
	start, end uint32
}

// sortBatch returns the records in memory, sorted.
func (s *sorter) sortBatch() [][]byte {
	if len(s.ends) == 0 {
		return nil
	}
	// The prefix all records share (an app's openids share six bytes).
	first := s.arena[:s.ends[0]]
	common := len(first)
	start := uint32(0)
	for _, end := range s.ends {
		rec := s.arena[start:end]
		n := min(common, len(rec))
		i := 0
		for i < n && rec[i] == first[i] {
			i++
		}
		common = i
		start = end
	}
	entries := make([]sortEntry, len(s.ends))
	start = 0
	for i, end := range s.ends {
		var b [8]byte
		copy(b[:], s.arena[int(start)+common:end])
		entries[i] = sortEntry{key: binary.BigEndian.Uint64(b[:]), start: start, end: end}
		start = end
	}
	arena := s.arena
	slices.SortFunc(entries, func(a, b sortEntry) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return bytes.Compare(arena[a.start:a.end], arena[b.start:b.end])
	})
	recs := make([][]byte, len(entries))
	for i, e := range entries {
		recs[i] = arena[e.start:e.end:e.end]
	}
	return recs
}

func (s *sorter) spill() error {
	f, err := os.CreateTemp(s.dir, ".wxscope-sort-*")
	if err != nil {
		return fmt.Errorf("create a scratch file for sorting: %w", err)
	}
	s.runs = append(s.runs, f)
	if s.w == nil {
		s.w = bufio.NewWriterSize(f, 1<<20)
	} else {
		s.w.Reset(f)
	}
	var n [binary.MaxVarintLen64]byte
	for _, rec := range s.sortBatch() {
		s.w.Write(n[:binary.PutUvarint(n[:], uint64(len(rec)))])
		s.w.Write(rec)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write the scratch file %s: %w", f.Name(), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind the scratch file %s: %w", f.Name(), err)
	}
	s.arena, s.ends = s.arena[:0], s.ends[:0]
	return nil
}

// each calls fn with every record in byte order (equal records all given),
// until fn returns an error. rec is valid only during the call. Call it
// once, after the last add.
func (s *sorter) each(fn func(rec []byte) error) error {
	h := &runHeap{}
	for _, f := range s.runs {
		r := &runReader{r: bufio.NewReaderSize(f, 256<<10), name: f.Name()}
		if err := r.next(); err != nil {
			return err
		}
		if !r.done {
			heap.Push(h, r)
		}
	}
	mem := &runReader{mem: s.sortBatch()}
	if err := mem.next(); err != nil {
		return err
	}
	if !mem.done {
		heap.Push(h, mem)
	}
	for h.Len() > 0 {
		r := (*h)[0]
		if err := fn(r.rec); err != nil {
			return err
		}
		if err := r.next(); err != nil {
			return err
		}
		if r.done {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	return nil
}

// close removes the scratch files.
func (s *sorter) close() error {
	var errs []error
	for _, f := range s.runs {
		f.Close()
		if err := os.Remove(f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	s.runs, s.arena, s.ends = nil, nil, nil
	return errors.Join(errs...)
}

// runReader is one sorted run: a scratch file or the batch in memory.
type runReader struct {
	r    *bufio.Reader
	name string
	buf  []byte
	mem  [][]byte
	rec  []byte // the current record
	done bool   // no record left
}

func (r *runReader) next() error {
	if r.r == nil {
		if len(r.mem) == 0 {
			r.done = true
			return nil
		}
		r.rec, r.mem = r.mem[0], r.mem[1:]
		return nil
	}
	n, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		r.done = true
		return nil
	}
	if err == nil {
		r.buf = slices.Grow(r.buf[:0], int(n))[:n]
		_, err = io.ReadFull(r.r, r.buf)
	}
	if err != nil {
		return fmt.Errorf("read the scratch file %s: %w", r.name, err)
	}
	r.rec = r.buf
	return nil
}

type runHeap []*runReader

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return bytes.Compare(h[i].rec, h[j].rec) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
