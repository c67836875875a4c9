package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// bbolt reads its file through a memory map and trusts every page id,
// offset and length in it: a damaged page makes it read outside the map
// (SIGSEGV), past the end of a truncated file (SIGBUS) or trip one of its
// assertions. pageFile reads the same file with ReadAt into checked slices
// and trusts nothing, so that a damaged cache is found and described, never
// crashed on: Open checks the few pages every read starts from, Verify and
// Check walk every page before bbolt's own check (which would crash on what
// this finds), and Salvage reads whatever is still readable around the
// damage.
//
// The layout is bbolt's (go.etcd.io/bbolt/internal/common), version 2: every
// page starts with a 16-byte header (id u64, flags u16, count u16, overflow
// u32); a meta page holds the meta after it; branch and leaf pages hold
// count 16-byte elements, whose key (and value) sit pos bytes after the
// element. bbolt writes these structs from memory, so in the machine's byte
// order.

const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	pageHeaderSize  = 16
	pageElemSize    = 16 // branch and leaf elements alike
	metaSize        = 64
	pageFlagBranch  = 0x01
	pageFlagLeaf    = 0x02
	pageFlagMeta    = 0x04
	pageFlagFree    = 0x10
	leafFlagBucket  = 0x01
	bucketHeaderLen = 16 // a bucket's value: root page id u64, sequence u64
	noFreelist      = ^uint64(0)
	// maxTreeDepth bounds the descent: a B-tree of 4 KiB pages holding a
	// few hundred million keys is five levels deep, so anything deeper is a
	// loop in a damaged file.
	maxTreeDepth = 64
)

var native = binary.NativeEndian

// boltMeta is one of the file's two meta pages.
type boltMeta struct {
	page     int // 0 or 1
	pageSize int64
	root     uint64
	freelist uint64
	hwm      uint64 // the high water mark: pages [0, hwm) are in use or free
	txid     uint64
	// valid: the version and checksum are right (the magic always is, or
	// the meta is not a candidate at all).
	valid bool
}

// parseMeta reads the meta of the page in b, reporting false when b does
// not hold bbolt's magic number where the meta starts.
func parseMeta(b []byte, page int) (boltMeta, bool) {
	if len(b) < pageHeaderSize+metaSize {
		return boltMeta{}, false
	}
	m := b[pageHeaderSize : pageHeaderSize+metaSize]
	if native.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:56])
	return boltMeta{
		page:     page,
		pageSize: int64(native.Uint32(m[8:])),
		root:     native.Uint64(m[16:]),
		freelist: native.Uint64(m[32:]),
		hwm:      native.Uint64(m[40:]),
		txid:     native.Uint64(m[48:]),
		valid:    native.Uint32(m[4:]) == boltVersion && native.Uint64(m[56:]) == h.Sum64(),
	}, true
}

// pageFile is a bbolt file read page by page without trusting it.
type pageFile struct {
	r    io.ReaderAt
	size int64
	meta boltMeta
	// metas are the meta pages found, bbolt's choice first: the valid one
	// with the highest txid.
	metas []boltMeta
}

// fileProblem says what is wrong with a file that is not a readable bbolt
// file; notBolt when nothing in it looks like one at all.
type fileProblem struct {
	notBolt bool
	msg     string
	placed  bool // msg names the page it was found on
}

func (p *fileProblem) Error() string { return p.msg }

func problemf(format string, args ...any) error {
	return &fileProblem{msg: fmt.Sprintf(format, args...)}
}

// onPage says that the problem err was found on page id, unless it already
// names the deeper page it was found on.
func onPage(id uint64, err error) error {
	var fp *fileProblem
	if !errors.As(err, &fp) || fp.placed {
		return err
	}
	return &fileProblem{msg: fmt.Sprintf("page %d: %s", id, fp.msg), placed: true}
}

// readMetas finds the meta pages of the file r of size bytes, as bbolt
// does: the page size from the first meta, else from the second one found
// at any of the page sizes bbolt supports.
func readMetas(r io.ReaderAt, size int64) []boltMeta {
	var metas []boltMeta
	buf := make([]byte, pageHeaderSize+metaSize)
	if n, _ := r.ReadAt(buf, 0); n == len(buf) {
		if m, ok := parseMeta(buf, 0); ok {
			metas = append(metas, m)
		}
	}
	second := func(off int64) bool {
		if n, _ := r.ReadAt(buf, off); n == len(buf) {
			if m, ok := parseMeta(buf, 1); ok && m.pageSize == off {
				metas = append(metas, m)
				return true
			}
		}
		return false
	}
	if len(metas) == 0 || !validPageSize(metas[0].pageSize) || !second(metas[0].pageSize) {
		for i := range 15 {
			if off := int64(1024) << i; off < size-1024 && second(off) {
				break
			}
		}
	}
	// bbolt's choice first: valid before invalid, then the higher txid.
	if len(metas) == 2 && (metas[1].valid && !metas[0].valid || metas[1].valid == metas[0].valid && metas[1].txid > metas[0].txid) {
		metas[0], metas[1] = metas[1], metas[0]
	}
	return metas
}

func validPageSize(n int64) bool { return n >= 512 && n <= 1<<24 && n&(n-1) == 0 }

// openPages reads the meta pages of r and checks, in a few reads, what
// every bbolt read starts from: that the file reaches its high water mark
// (a truncated file makes bbolt fault), and the root and freelist pages'
// headers. It does not walk the tree: see walk.
func openPages(r io.ReaderAt, size int64) (*pageFile, error) {
	metas := readMetas(r, size)
	if len(metas) == 0 {
		return nil, &fileProblem{notBolt: true, msg: "no bbolt header"}
	}
	pf := &pageFile{r: r, size: size, metas: metas, meta: metas[0]}
	m := pf.meta
	switch {
	case !m.valid:
		return pf, problemf("both meta pages fail their checksum")
	case !validPageSize(m.pageSize):
		return pf, problemf("its page size %d is impossible", m.pageSize)
	case m.hwm < 4 || m.hwm > uint64(1<<62)/uint64(m.pageSize):
		return pf, problemf("its page count %d is impossible", m.hwm)
	case size < int64(m.hwm)*m.pageSize:
		return pf, problemf("it is %d bytes long, but its pages reach to byte %d: the file was cut short", size, int64(m.hwm)*m.pageSize)
	}
	if _, err := pf.page(m.root, pageFlagBranch|pageFlagLeaf, nil); err != nil {
		return pf, fmt.Errorf("its root: %w", err)
	}
	if m.freelist != noFreelist {
		p, err := pf.page(m.freelist, pageFlagFree, nil)
		if err == nil {
			_, err = freelistIDs(p, m.hwm)
		}
		if err != nil {
			return pf, fmt.Errorf("its freelist: %w", err)
		}
	}
	return pf, nil
}

// page reads page id, which must have one of the flags in want, into buf
// (grown as needed) and returns it with its overflow pages.
func (pf *pageFile) page(id uint64, want uint16, buf []byte) ([]byte, error) {
	ps, hwm := pf.meta.pageSize, pf.meta.hwm
	if id < 2 || id >= hwm {
		return buf, &fileProblem{msg: fmt.Sprintf("page %d is outside the file's %d pages", id, hwm), placed: true}
	}
	// One read for the page, a second one only for its overflow pages.
	if int64(cap(buf)) < ps {
		buf = make([]byte, ps)
	}
	buf = buf[:ps]
	if _, err := pf.r.ReadAt(buf, int64(id)*ps); err != nil {
		return buf, onPage(id, problemf("it cannot be read (%v)", err))
	}
	got, flags, count, overflow := native.Uint64(buf[0:]), native.Uint16(buf[8:]), native.Uint16(buf[10:]), uint64(native.Uint32(buf[12:]))
	switch {
	case got != id:
		return buf, onPage(id, problemf("it calls itself page %d", got))
	case flags&want == 0 || flags&(flags-1) != 0:
		return buf, onPage(id, problemf("it has the wrong type (flags %#x)", flags))
	case id+overflow >= hwm:
		return buf, onPage(id, problemf("it runs %d pages past the file's %d", overflow, hwm))
	}
	if overflow > 0 {
		n := int64(overflow+1) * ps
		if int64(cap(buf)) < n {
			buf = append(buf[:ps], make([]byte, n-ps)...)
		}
		buf = buf[:n]
		if _, err := pf.r.ReadAt(buf[ps:], int64(id+1)*ps); err != nil {
			return buf, onPage(id, problemf("it cannot be read (%v)", err))
		}
	}
	if flags != pageFlagFree && pageHeaderSize+int(count)*pageElemSize > len(buf) {
		return buf, onPage(id, problemf("it claims %d elements, more than it holds", count))
	}
	return buf, nil
}

// freelistIDs are the free page ids of freelist page p.
func freelistIDs(p []byte, hwm uint64) ([]uint64, error) {
	start, count := uint64(0), uint64(native.Uint16(p[10:]))
	if count == 0xFFFF {
		if len(p) < pageHeaderSize+8 {
			return nil, problemf("the freelist page is too short")
		}
		start, count = 1, native.Uint64(p[pageHeaderSize:])
	}
	if count > uint64(len(p)-pageHeaderSize)/8-start {
		return nil, problemf("the freelist claims %d pages, more than its page holds", count)
	}
	ids := make([]uint64, count)
	for i := range ids {
		ids[i] = native.Uint64(p[pageHeaderSize+8*(start+uint64(i)):])
		if ids[i] < 2 || ids[i] >= hwm {
			return nil, problemf("the freelist names page %d, outside the file's %d pages", ids[i], hwm)
		}
	}
	return ids, nil
}

// element is one element of a page: a branch's key and child page, or a
// leaf's key and value.
type element struct {
	key, value []byte
	child      uint64 // branch
	bucket     bool   // leaf: the value is a bucket header
}

// elementAt reads element i of page p (a branch or leaf page of the given
// flags), checking that its key and value lie within the page.
func elementAt(p []byte, flags uint16, i int) (element, error) {
	off := uint64(pageHeaderSize + i*pageElemSize)
	e := p[off : off+pageElemSize]
	var el element
	var pos, ksize, vsize uint64
	if flags == pageFlagBranch {
		pos, ksize, el.child = uint64(native.Uint32(e[0:])), uint64(native.Uint32(e[4:])), native.Uint64(e[8:])
	} else {
		el.bucket = native.Uint32(e[0:])&leafFlagBucket != 0
		pos, ksize, vsize = uint64(native.Uint32(e[4:])), uint64(native.Uint32(e[8:])), uint64(native.Uint32(e[12:]))
	}
	start := off + pos
	if end := start + ksize + vsize; end > uint64(len(p)) {
		return element{}, problemf("element %d reaches past its page (byte %d of %d)", i, end, len(p))
	}
	el.key = p[start : start+ksize : start+ksize]
	el.value = p[start+ksize : start+ksize+vsize : start+ksize+vsize]
	return el, nil
}

// bucketRef is a bucket: its root page, or, for a small bucket stored
// inline in its parent's value, that page.
type bucketRef struct {
	root   uint64
	inline []byte
}

// subBucket reads the bucket header of a leaf value.
func subBucket(v []byte) (bucketRef, error) {
	if len(v) < bucketHeaderLen {
		return bucketRef{}, problemf("a bucket header of %d bytes is too short", len(v))
	}
	b := bucketRef{root: native.Uint64(v)}
	if b.root == 0 {
		b.inline = v[bucketHeaderLen:]
		if len(b.inline) < pageHeaderSize || native.Uint16(b.inline[8:]) != pageFlagLeaf ||
			pageHeaderSize+int(native.Uint16(b.inline[10:]))*pageElemSize > len(b.inline) {
			return bucketRef{}, problemf("an inline bucket is malformed")
		}
	}
	return b, nil
}

// walker goes through the pages of a pageFile, each reachable page once.
// Strict, it stops at the first problem; tolerant (for Salvage), it skips
// the subtree of a page it cannot read, counts it and goes on.
type walker struct {
	pf       *pageFile
	tolerant bool
	seen     []uint64 // a bit per page
	bufs     [][]byte // one page buffer per depth, reused
	base     int      // the depth a bucket walk started now begins at
	problems []error  // tolerant: the first few problems
	skipped  int      // tolerant: subtrees skipped
}

func newWalker(pf *pageFile, tolerant bool) *walker {
	return &walker{pf: pf, tolerant: tolerant, seen: make([]uint64, (pf.meta.hwm+63)/64)}
}

// fail records a problem; in strict mode it is the walk's error.
func (w *walker) fail(err error) error {
	if !w.tolerant {
		return err
	}
	w.skipped++
	if len(w.problems) < 10 {
		w.problems = append(w.problems, err)
	}
	return nil
}

// root is the file's root bucket, whose keys are the top-level buckets.
func (w *walker) root() bucketRef { return bucketRef{root: w.pf.meta.root} }

// each calls fn for every key of bucket b in key order, with child set for
// a key that holds a sub-bucket. The slices are valid only during fn, which
// may walk child with each. Keys must rise strictly across the whole
// bucket and lie within the bounds the branch pages above them give, so
// that bbolt's searches find them.
func (w *walker) each(b bucketRef, fn func(k, v []byte, child *bucketRef) error) error {
	var last []byte
	haveLast := false
	leaf := func(p []byte) error {
		for i := range int(native.Uint16(p[10:])) {
			el, err := elementAt(p, pageFlagLeaf, i)
			if err != nil {
				return err
			}
			if haveLast && bytes.Compare(el.key, last) <= 0 {
				return problemf("keys are out of order")
			}
			last, haveLast = append(last[:0], el.key...), true
			var child *bucketRef
			if el.bucket {
				c, err := subBucket(el.value)
				if err != nil {
					return err
				}
				child = &c
			}
			if err := fn(el.key, el.value, child); err != nil {
				return err
			}
		}
		return nil
	}
	if b.root == 0 {
		err := leaf(b.inline)
		var fp *fileProblem
		if errors.As(err, &fp) {
			return w.fail(fmt.Errorf("an inline bucket: %w", err))
		}
		return err
	}
	return w.descend(b.root, w.base, nil, nil, leaf)
}

// descend walks the subtree of page id at depth, whose keys must lie in
// [lo, hi) (nil: unbounded), calling leaf for each leaf page in order.
func (w *walker) descend(id uint64, depth int, lo, hi []byte, leaf func(p []byte) error) error {
	if depth >= maxTreeDepth {
		return w.fail(onPage(id, problemf("it is more than %d levels deep: the tree loops", maxTreeDepth)))
	}
	if id < w.pf.meta.hwm && w.seen[id/64]&(1<<(id%64)) != 0 {
		return w.fail(onPage(id, problemf("it is reached twice")))
	}
	for len(w.bufs) <= depth {
		w.bufs = append(w.bufs, nil)
	}
	p, err := w.pf.page(id, pageFlagBranch|pageFlagLeaf, w.bufs[depth])
	w.bufs[depth] = p
	if err != nil {
		return w.fail(err)
	}
	for i := id; i <= id+uint64(native.Uint32(p[12:])); i++ {
		w.seen[i/64] |= 1 << (i % 64)
	}
	flags, count := native.Uint16(p[8:]), int(native.Uint16(p[10:]))
	inBounds := func(k []byte) bool {
		return (lo == nil || bytes.Compare(k, lo) >= 0) && (hi == nil || bytes.Compare(k, hi) < 0)
	}
	if flags == pageFlagLeaf {
		for i := range count {
			el, err := elementAt(p, flags, i)
			if err != nil {
				return w.fail(onPage(id, err))
			}
			if !inBounds(el.key) {
				return w.fail(onPage(id, problemf("it holds a key outside the range its parent gives it")))
			}
		}
		// A bucket walked from within leaf starts below this page, so
		// that this page's buffer stays as it is.
		saved := w.base
		w.base = depth + 1
		err := leaf(p)
		w.base = saved
		var fp *fileProblem
		if errors.As(err, &fp) {
			return w.fail(onPage(id, err))
		}
		return err
	}
	// A branch. Its keys alias this depth's buffer, which the children
	// leave alone: they read into the deeper ones.
	var prev []byte
	for i := range count {
		el, err := elementAt(p, flags, i)
		if err != nil {
			return w.fail(onPage(id, err))
		}
		if !inBounds(el.key) || (i > 0 && bytes.Compare(prev, el.key) >= 0) {
			return w.fail(onPage(id, problemf("its keys are out of order")))
		}
		prev = el.key
		childHi := hi
		if i+1 < count {
			next, err := elementAt(p, flags, i+1)
			if err != nil {
				return w.fail(onPage(id, err))
			}
			childHi = next.key
		}
		if err := w.descend(el.child, depth+1, el.key, childHi, leaf); err != nil {
			return err
		}
	}
	return nil
}
