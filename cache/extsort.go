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

// An import arrives in whatever order the company's database prints it, and
// a bbolt B-tree is written fast only in key order: a write transaction
// keeps every page it touches in memory until it commits, and random keys
// touch every page. So the import sorts its rows (and later the index
// entries it changes) with an external merge sort: records gather in a
// buffer of fixed size, each full buffer is sorted and appended to a
// temporary file as a run, and the runs are merged on the way out. Memory
// stays at one buffer however large the source.

// sortRunBytes is the size of one in-memory run: about 200 000 rows of an
// import.
const sortRunBytes = 16 << 20

// sorter sorts records (a key and a value, compared by key) that may not
// fit in memory. Keys should be unique: the order of equal keys is not
// kept (the import makes each key unique with the row's place in the
// source).
type sorter struct {
	dir   string // where the run file is made
	limit int    // bytes of records before a run spills

	buf  []byte    // the current run's records, back to back
	recs []sortRec // where each record's key is in buf

	file *os.File
	runs []sortRun
	size int64 // bytes written to file

	expect  int       // how many records are expected (expectRecords); 0 when unknown
	count   int       // how many records were added
	scratch []sortRec // the radix sort's, kept from one run to the next
}

// expectRecords says about how many records will be added, so that the
// first run's buffers are sized once, up to the limit, rather than doubled
// into.
func (s *sorter) expectRecords(n int) { s.expect = n }

// sortRec locates a record's key in the buffer, so that comparing two
// records decodes nothing; pre is eight bytes of the key after the prefix
// all the run's keys share, as a number (sortBuf), so that most comparisons
// compare two integers: an app's openids share six bytes, and a unionid
// index key starts with the platform's.
type sortRec struct {
	pre       uint64
	key, klen uint32
}

// start is where the record begins in the buffer.
func (r sortRec) start() int { return int(r.key) - uvarintLen(uint64(r.klen)) }

// sortRun is one sorted run in the file.
type sortRun struct{ off, len int64 }

func newSorter(dir string) *sorter { return &sorter{dir: dir, limit: sortRunBytes} }

// add appends one record. key and val are copied.
func (s *sorter) add(key, val []byte) error {
	if len(s.buf) > 0 && len(s.buf)+len(key)+len(val)+2*binary.MaxVarintLen32 > s.limit {
		if err := s.spill(); err != nil {
			return err
		}
	}
	if need := len(s.buf) + len(key) + len(val) + 2*binary.MaxVarintLen32; need > cap(s.buf) {
		s.grow(need)
	}
	s.count++
	s.buf = binary.AppendUvarint(s.buf, uint64(len(key)))
	s.recs = append(s.recs, sortRec{key: uint32(len(s.buf)), klen: uint32(len(key))})
	s.buf = append(s.buf, key...)
	s.buf = binary.AppendUvarint(s.buf, uint64(len(val)))
	s.buf = append(s.buf, val...)
	return nil
}

// sortBufStart is the first size of a run's buffer.
const sortBufStart = 64 << 10

// grow makes room for need bytes of records, doubling the buffer up to the
// limit rather than taking the whole limit at once: a catch-up sorts with
// three sorters an app, most of them a few MB or less, and 16 MB each were
// cleared and scanned for nothing. Grown by append, the buffer would reach
// twice the limit.
func (s *sorter) grow(need int) {
	n := max(2*cap(s.buf), sortBufStart, need)
	if s.buf == nil && s.expect > 0 {
		// The first record stands for the others, with an eighth to spare.
		n = max(n, need*s.expect+need*s.expect/8)
		s.recs = make([]sortRec, 0, min(s.expect+s.expect/8, s.limit/need+1))
	}
	n = min(n, max(s.limit, need))
	s.buf = append(make([]byte, 0, n), s.buf...)
}

// record splits the record at b into its key and value; rest is what
// follows it.
func record(b []byte) (key, val, rest []byte) {
	kl, n := binary.Uvarint(b)
	b = b[n:]
	key, b = b[:kl], b[kl:]
	vl, n := binary.Uvarint(b)
	b = b[n:]
	return key, b[:vl], b[vl:]
}

// sortBuf sorts the records of the current run by key: by pre, eight bytes
// of each key after the prefix all of them share, with a radix sort, then
// the records whose pre ties by the rest of their keys. (A comparison sort
// took a third of a catch-up's CPU; the keys are random ids, so ties are
// few.)
func (s *sorter) sortBuf() {
	buf := s.buf
	if len(s.recs) == 0 {
		return
	}
	keyOf := func(r sortRec) []byte { return buf[r.key : r.key+r.klen] }
	first := keyOf(s.recs[0])
	common := len(first)
	for _, r := range s.recs[1:] {
		k := keyOf(r)
		n := 0
		for n < common && n < len(k) && k[n] == first[n] {
			n++
		}
		common = n
	}
	for i := range s.recs {
		var b [8]byte
		if k := keyOf(s.recs[i]); common < len(k) {
			copy(b[:], k[common:])
		}
		s.recs[i].pre = binary.BigEndian.Uint64(b[:])
	}
	s.scratch = radixSortPre(s.recs, s.scratch)
	for i := 0; i < len(s.recs); {
		j := i + 1
		for j < len(s.recs) && s.recs[j].pre == s.recs[i].pre {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(s.recs[i:j], func(a, b sortRec) int { return bytes.Compare(keyOf(a), keyOf(b)) })
		}
		i = j
	}
}

// radixSortPre sorts recs by pre, least significant byte first, skipping
// the bytes every record has alike (the low ones, for short keys), through
// scratch, which it returns, grown to recs.
func radixSortPre(recs, scratch []sortRec) []sortRec {
	if len(recs) < 2 {
		return scratch
	}
	var counts [8][256]int
	for _, r := range recs {
		for b := range 8 {
			counts[b][byte(r.pre>>(8*b))]++
		}
	}
	scratch = slices.Grow(scratch[:0], len(recs))[:len(recs)]
	src, dst := recs, scratch
	for b := range 8 {
		c := &counts[b]
		shift := 8 * b
		if c[byte(src[0].pre>>shift)] == len(src) {
			continue // one value of this byte: the order stands
		}
		sum := 0
		for i, n := range c {
			c[i] = sum
			sum += n
		}
		for _, r := range src {
			k := byte(r.pre >> shift)
			dst[c[k]] = r
			c[k]++
		}
		src, dst = dst, src
	}
	if &src[0] != &recs[0] {
		copy(recs, src)
	}
	return scratch
}

// spill writes the current run, sorted, to the run file.
func (s *sorter) spill() error {
	if len(s.recs) == 0 {
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, ".wxscope-import-*.tmp")
		if err != nil {
			return fmt.Errorf("create a temporary file to sort the import in %s: %w", s.dir, err)
		}
		s.file = f
	}
	s.sortBuf()
	w := bufio.NewWriterSize(io.NewOffsetWriter(s.file, s.size), 256<<10)
	start := s.size
	for _, rec := range s.recs {
		at := rec.start()
		k, v, _ := record(s.buf[at:])
		n := recordLen(k, v)
		if _, err := w.Write(s.buf[at : at+n]); err != nil {
			return fmt.Errorf("write the temporary file %s: %w", s.file.Name(), err)
		}
		s.size += int64(n)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write the temporary file %s: %w", s.file.Name(), err)
	}
	s.runs = append(s.runs, sortRun{off: start, len: s.size - start})
	s.buf, s.recs = s.buf[:0], s.recs[:0]
	return nil
}

func recordLen(k, v []byte) int {
	return uvarintLen(uint64(len(k))) + len(k) + uvarintLen(uint64(len(v))) + len(v)
}

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

// iter returns the records in key order. It may be called again for another
// pass over the same records; add must not be called after it.
func (s *sorter) iter() (*sortIter, error) {
	it := &sortIter{}
	if len(s.runs) == 0 {
		// Everything fits in memory: no file at all.
		s.sortBuf()
		s.scratch = nil
		it.mem, it.memBuf = s.recs, s.buf
		return it, nil
	}
	if err := s.spill(); err != nil {
		return nil, err
	}
	s.buf, s.recs, s.scratch = nil, nil, nil // all in the file now: the buffer is dead weight
	for i, r := range s.runs {
		rr := &runReader{r: bufio.NewReaderSize(io.NewSectionReader(s.file, r.off, r.len), 64<<10), name: s.file.Name(), seq: i}
		if rr.next() {
			it.h = append(it.h, rr)
		} else if rr.err != nil {
			return nil, rr.err
		}
	}
	heap.Init(&it.h)
	return it, nil
}

// close removes the run file.
func (s *sorter) close() {
	if s.file != nil {
		name := s.file.Name()
		s.file.Close()
		os.Remove(name)
		s.file = nil
	}
	s.buf, s.recs, s.scratch = nil, nil, nil
}

// sortIter walks the records of a sorter in key order.
type sortIter struct {
	// In memory: the sorted records of memBuf.
	mem    []sortRec
	memBuf []byte
	// Spilled: a heap of the runs' readers by their current key.
	h   runHeap
	top *runReader // the reader whose record next returned: advanced on the next call

	key, val []byte
	err      error
}

// next moves to the next record; key and val are valid until the next call.
func (it *sortIter) next() bool {
	if it.memBuf != nil || it.mem != nil {
		if len(it.mem) == 0 {
			return false
		}
		it.key, it.val, _ = record(it.memBuf[it.mem[0].start():])
		it.mem = it.mem[1:]
		return true
	}
	if it.top != nil {
		if it.top.next() {
			heap.Fix(&it.h, 0)
		} else {
			if it.top.err != nil {
				it.err = it.top.err
				return false
			}
			heap.Pop(&it.h)
		}
		it.top = nil
	}
	if len(it.h) == 0 {
		return false
	}
	it.top = it.h[0]
	it.key, it.val = it.top.key, it.top.val
	return true
}

// runReader reads the records of one run.
type runReader struct {
	r        *bufio.Reader
	name     string
	seq      int // the run's place, so that equal keys keep their order
	key, val []byte
	err      error
}

func (r *runReader) next() bool {
	kl, err := binary.ReadUvarint(r.r)
	if errors.Is(err, io.EOF) {
		return false
	}
	if err == nil {
		r.key = slices.Grow(r.key[:0], int(kl))[:kl]
		_, err = io.ReadFull(r.r, r.key)
	}
	var vl uint64
	if err == nil {
		vl, err = binary.ReadUvarint(r.r)
	}
	if err == nil {
		r.val = slices.Grow(r.val[:0], int(vl))[:vl]
		_, err = io.ReadFull(r.r, r.val)
	}
	if err != nil {
		r.err = fmt.Errorf("read back the temporary file %s: %w", r.name, err)
		return false
	}
	return true
}

type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].key, h[j].key); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
