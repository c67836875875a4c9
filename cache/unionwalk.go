package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// The walk of every unionid (link analysis) merges the apps' unionid
// indexes person by person. Each index is packed (packed.go): blocks of
// entries in key order, each key sharing what it can with the one before,
// and the key of an entry is unionid \x00 openid. A person is the run of
// entries with one unionid, so the walk needs no more of an entry than its
// unionid, and not even that to know an entry is the same person's as the
// one before: it shares the whole unionid and its NUL with it. unionCursor
// decodes the blocks where bbolt maps them, keeping only the current
// unionid, and the merge compares bytes: no string, no allocation per
// entry.
//
// The walk reads walkChunk entries a read transaction, resuming at the
// unionid it stopped before, so that a Shared or SharedReadOnly store maps
// only the pages of a chunk at a time. The key space is cut into ranges
// (splitUnions) that goroutines of their own walk side by side: the
// analysis adds their results up in key order (walkUnionsParallel), and
// the walk of the keys (walkKeys: EachGroup, EachUnionKey) hands their
// chunks on in key order (walkKeysParallel).

// unionCursor is one app's place in the walk: its current entry's unionid.
type unionCursor struct {
	c   *bolt.Cursor
	v   []byte // the current block (valid during the transaction)
	off int    // where the next entry of v begins
	// key[:klen] holds the current entry's unionid and its NUL; the
	// openid is not kept, since no later entry of the same person needs it
	// to be told apart from the next person, unless full: then it is the
	// whole key. (The buffer is written in place, not resliced: a slice
	// stored in the cursor at every entry cost a write barrier each while
	// the collector ran.)
	key    []byte
	klen   int
	full   bool
	ulen   int // len of the unionid in key
	keyLen int // the whole key's length, to check the next entry's shared prefix
	ok     bool
	err    error
}

// unionid is the current entry's unionid (valid until the next move).
func (u *unionCursor) unionid() []byte { return u.key[:u.ulen] }

// seek moves to the first entry whose unionid is at or after from (nil:
// the first entry). from holds no NUL, so an entry's key is at or after it
// exactly when its unionid is.
func (u *unionCursor) seek(b *bolt.Bucket, from []byte) bool {
	u.c = b.Cursor()
	var bv []byte
	if from == nil {
		_, bv = u.c.First()
	} else {
		_, bv, _ = (&packed{}).blockOf(u.c, from)
	}
	u.v, u.off, u.ok, u.ulen, u.keyLen, u.klen = nil, 0, false, 0, 0, 0
	if bv == nil {
		return false
	}
	if !u.enter(bv) {
		return false
	}
	for {
		if _, ok := u.next(); !ok {
			return false
		}
		if from == nil || bytes.Compare(u.unionid(), from) >= 0 {
			return true
		}
	}
}

// enter starts reading block v: past its head, the appid it belongs to.
func (u *unionCursor) enter(v []byte) bool {
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)-w) {
		u.fail(0)
		return false
	}
	u.v, u.off, u.keyLen = v, w+int(n), 0
	return true
}

func (u *unionCursor) fail(at int) {
	u.ok = false
	u.err = fmt.Errorf("packed index block: malformed entry at byte %d: %w", at, errCorrupt)
}

// next moves to the next entry, block after block: ok is false at the end
// of the index (or on a malformed entry: err); same tells that the entry
// is of the same unionid as the one before.
func (u *unionCursor) next() (same, ok bool) {
	for u.off >= len(u.v) {
		if u.c == nil {
			u.ok = false // a block read on its own (tests)
			return false, false
		}
		k, v := u.c.Next()
		if k == nil {
			u.ok = false
			return false, false
		}
		if !u.enter(v) {
			return false, false
		}
	}
	v, off := u.v, u.off
	shared, n1 := binary.Uvarint(v[off:])
	if n1 <= 0 || shared > uint64(u.keyLen) {
		u.fail(off)
		return false, false
	}
	p := off + n1
	sl, n2 := binary.Uvarint(v[p:])
	if n2 <= 0 || sl > uint64(len(v)-p-n2) {
		u.fail(off)
		return false, false
	}
	p += n2
	suffix := v[p : p+int(sl)]
	p += int(sl)
	vl, n3 := binary.Uvarint(v[p:])
	if n3 <= 0 || vl > uint64(len(v)-p-n3) {
		u.fail(off)
		return false, false
	}
	u.off = p + n3 + int(vl)
	had := u.ok
	u.ok = true
	u.keyLen = int(shared) + len(suffix)
	if had && int(shared) > u.ulen {
		// The entry shares the unionid and its NUL: the same person.
		if u.full {
			u.set(int(shared), suffix)
		}
		return true, true
	}
	// Most likely a new unionid; but the first entry of a block shares
	// nothing and may still be the same person's (and a block not written
	// by this package may share less than it could).
	i := bytes.IndexByte(suffix, 0)
	if i < 0 {
		u.fail(off)
		return false, false
	}
	same = had && int(shared)+i == u.ulen && bytes.Equal(suffix[:i], u.key[shared:u.ulen])
	switch {
	case u.full:
		u.set(int(shared), suffix)
	case !same:
		u.set(int(shared), suffix[:i+1])
	}
	u.ulen = int(shared) + i
	return same, true
}

// set makes the key held key[:shared] followed by b.
func (u *unionCursor) set(shared int, b []byte) {
	need := shared + len(b)
	if need > len(u.key) {
		k := make([]byte, max(2*need, 64))
		copy(k, u.key[:shared])
		u.key = k
	}
	copy(u.key[shared:], b)
	u.klen = need
}

// openid is the current entry's openid, for a cursor that keeps whole
// keys (full).
func (u *unionCursor) openid() []byte { return u.key[u.ulen+1 : u.klen] }

// skipPerson moves past the entries of the current unionid and returns how
// many there were; the cursor is then at the next person (or not ok).
func (u *unionCursor) skipPerson() int {
	n := 1
	for {
		same, ok := u.next()
		if !ok || !same {
			return n
		}
		n++
	}
}

// personSink is what a walk reports each person to: the apps it has
// entries in (bit i for app i), those with more than one (a conflict), and
// its unionid (valid during the call).
type personSink func(mask, dup uint64, unionid []byte)

// unionRange is a part of the unionid key space: the unionids from from
// (nil: the first) up to before to (nil: past the last).
type unionRange struct{ from, to []byte }

// walkUnions walks the persons of the unionid indexes of apps (bit i of a
// mask is apps[i]) in r, in unionid order, a read transaction per
// walkChunk entries (or the one person more that reaches it), reporting
// each to sink.
func (s *Store) walkUnions(apps []string, r unionRange, sink personSink) error {
	curs := make([]unionCursor, len(apps))
	resume := r.from
	for {
		done := true
		err := s.view(func(tx *bolt.Tx) error {
			// The current person's unionid, copied: its cursor moves on.
			// (A local: one the closure shared would cost a write barrier
			// a person while the collector runs.)
			var u []byte
			root := tx.Bucket(bucketMembers)
			var live []int // the cursors with entries left
			for i, appid := range apps {
				curs[i].ok = false
				b := root.Bucket([]byte(appid))
				if b == nil {
					continue
				}
				if curs[i].seek(b, resume) {
					live = append(live, i)
				} else if err := curs[i].err; err != nil {
					return fmt.Errorf("app %s: %w", appid, err)
				}
			}
			entries := 0
			for len(live) > 0 {
				// The smallest unionid, and which cursors are at it: one
				// comparison a cursor.
				m, at := live[0], uint64(1)<<live[0]
				for _, i := range live[1:] {
					switch c := bytes.Compare(curs[i].unionid(), curs[m].unionid()); {
					case c < 0:
						m, at = i, 1<<i
					case c == 0:
						at |= 1 << i
					}
				}
				if r.to != nil && bytes.Compare(curs[m].unionid(), r.to) >= 0 {
					return nil
				}
				if entries >= walkChunk {
					resume = append(resume[:0:0], curs[m].unionid()...)
					done = false
					return nil
				}
				u = append(u[:0], curs[m].unionid()...)
				var mask, dup uint64
				for k := 0; k < len(live); {
					i := live[k]
					c := &curs[i]
					if at&(1<<i) == 0 {
						k++
						continue
					}
					n := c.skipPerson()
					entries += n
					mask |= 1 << i
					if n > 1 {
						dup |= 1 << i
					}
					if c.err != nil {
						return fmt.Errorf("app %s: %w", apps[i], c.err)
					}
					if !c.ok {
						live = append(live[:k], live[k+1:]...)
						continue
					}
					k++
				}
				sink(mask, dup, u)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read the unionid index: %w", err)
		}
		if done {
			return nil
		}
	}
}

// walkedChunk is what one read transaction of walkKeys read: persons in
// unionid order, each with its members in the order of the apps given,
// then of their openids. Their bytes are in one arena that is never
// written again, so strings may alias it.
type walkedChunk struct {
	arena   string
	persons []walkedPerson
	members []walkedMember
}

// walkedPerson is a person of a walkedChunk: its unionid is
// arena[u0:u1], its members members[m0:m1].
type walkedPerson struct{ u0, u1, m0, m1 int32 }

// walkedMember is a member of a walkedPerson: app (an index into the apps
// walked) and its openid arena[o0:o1].
type walkedMember struct{ app, o0, o1 int32 }

// walkKeys walks the persons of the unionid indexes of apps in r with
// their openids, in unionid order, a read transaction per walkChunk
// entries (or the one person more that reaches it), and calls fn with each
// chunk between the transactions: a callback may take its time, or call
// the Store. Each chunk comes from next (nil: one chunk, reused).
func (s *Store) walkKeys(apps []string, r unionRange, next func() *walkedChunk, fn func(c *walkedChunk) error) error {
	curs := make([]unionCursor, len(apps))
	for i := range curs {
		curs[i].full = true
	}
	if next == nil {
		c := &walkedChunk{}
		next = func() *walkedChunk { return c }
	}
	resume := r.from
	arenaHint := 4096
	for {
		c := next()
		done := true
		// The arena is new every chunk: strings of the chunk alias it, and
		// a caller may keep them. It is sized by the chunk before.
		arena := make([]byte, 0, arenaHint)
		err := s.view(func(tx *bolt.Tx) error {
			// Locals, not the variables the closure shares, are what
			// grows at every entry: no write barrier.
			ps, ms, ar := c.persons[:0], c.members[:0], arena
			defer func() { c.persons, c.members, arena = ps, ms, ar }()
			root := tx.Bucket(bucketMembers)
			var live []int
			for i, appid := range apps {
				curs[i].ok = false
				b := root.Bucket([]byte(appid))
				if b == nil {
					continue // the app is gone, or never had a unionid
				}
				if curs[i].seek(b, resume) {
					live = append(live, i)
				} else if err := curs[i].err; err != nil {
					return fmt.Errorf("app %s: %w", appid, err)
				}
			}
			entries := 0
			for len(live) > 0 {
				m, at := live[0], uint64(1)<<live[0] // as in walkUnions
				for _, i := range live[1:] {
					switch c := bytes.Compare(curs[i].unionid(), curs[m].unionid()); {
					case c < 0:
						m, at = i, 1<<i
					case c == 0:
						at |= 1 << i
					}
				}
				if r.to != nil && bytes.Compare(curs[m].unionid(), r.to) >= 0 {
					return nil
				}
				if entries >= walkChunk {
					resume = append(resume[:0:0], curs[m].unionid()...)
					done = false
					return nil
				}
				u0 := int32(len(ar))
				ar = append(ar, curs[m].unionid()...)
				p := walkedPerson{u0: u0, u1: int32(len(ar)), m0: int32(len(ms))}
				for k := 0; k < len(live); {
					i := live[k]
					cur := &curs[i]
					if at&(1<<i) == 0 {
						k++
						continue
					}
					for same := true; same; {
						o0 := int32(len(ar))
						ar = append(ar, cur.openid()...)
						ms = append(ms, walkedMember{app: int32(i), o0: o0, o1: int32(len(ar))})
						entries++
						same, _ = cur.next()
					}
					if cur.err != nil {
						return fmt.Errorf("app %s: %w", apps[i], cur.err)
					}
					if !cur.ok {
						live = append(live[:k], live[k+1:]...)
						continue
					}
					k++
				}
				p.m1 = int32(len(ms))
				ps = append(ps, p)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read the unionid index: %w", err)
		}
		arenaHint = max(arenaHint, len(arena)+len(arena)/8)
		if len(c.persons) > 0 {
			c.arena = unsafe.String(unsafe.SliceData(arena), len(arena))
			if err := fn(c); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}

// splitUnions cuts the unionid key space of the indexes of apps into up to
// parts ranges, in order, by halving each range at the middle of the
// unionids it holds: the bytes after the common prefix of its first and
// last unionid, read as a number. Real unionids are random after a prefix
// per open platform, so the halves hold about as many persons; a skewed
// space is halved again where its own unionids differ. A range the halving
// cannot cut stays whole.
func (s *Store) splitUnions(apps []string, parts int) ([]unionRange, error) {
	ranges := []unionRange{{}}
	err := s.view(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketMembers)
		var bs []*bolt.Bucket
		for _, appid := range apps {
			if b := root.Bucket([]byte(appid)); b != nil {
				bs = append(bs, b)
			}
		}
		for len(ranges) < parts {
			next := make([]unionRange, 0, 2*len(ranges))
			for k, r := range ranges {
				if len(next)+len(ranges)-k >= parts {
					next = append(next, r)
					continue
				}
				mid, ok, err := middleUnion(bs, r)
				if err != nil {
					return err
				}
				if ok {
					next = append(next, unionRange{r.from, mid}, unionRange{mid, r.to})
				} else {
					next = append(next, r)
				}
			}
			if len(next) == len(ranges) {
				break
			}
			ranges = next
		}
		return nil
	})
	return ranges, err
}

// middleUnion returns a unionid that cuts r in two non-empty parts, if it
// finds one.
func middleUnion(bs []*bolt.Bucket, r unionRange) ([]byte, bool, error) {
	var lo, hi []byte
	var c unionCursor
	for _, b := range bs {
		if c.seek(b, r.from) {
			if r.to == nil || bytes.Compare(c.unionid(), r.to) < 0 {
				if lo == nil || bytes.Compare(c.unionid(), lo) < 0 {
					lo = append(lo[:0:0], c.unionid()...)
				}
			}
		} else if c.err != nil {
			return nil, false, c.err
		}
		last, err := lastUnionBefore(b, r.to)
		if err != nil {
			return nil, false, err
		}
		if last != nil && (r.from == nil || bytes.Compare(last, r.from) >= 0) && (hi == nil || bytes.Compare(last, hi) > 0) {
			hi = last
		}
	}
	if lo == nil || hi == nil || bytes.Compare(lo, hi) >= 0 {
		return nil, false, nil
	}
	p := 0
	for p < len(lo) && p < len(hi) && lo[p] == hi[p] {
		p++
	}
	var a, z [8]byte
	copy(a[:], lo[p:])
	copy(z[:], hi[p:])
	x, y := binary.BigEndian.Uint64(a[:]), binary.BigEndian.Uint64(z[:])
	mid := binary.BigEndian.AppendUint64(append([]byte(nil), hi[:p]...), x+(y-x)/2)
	// A unionid holds no NUL, and the cut must not either (see seek).
	if i := bytes.IndexByte(mid[p:], 0); i >= 0 {
		mid = mid[:p+i]
	}
	if bytes.Compare(mid, lo) <= 0 || bytes.Compare(mid, hi) > 0 {
		return nil, false, nil
	}
	return mid, true, nil
}

// lastUnionBefore returns the largest unionid of the index b before to
// (nil: the largest of all), or nil when there is none.
func lastUnionBefore(b *bolt.Bucket, to []byte) ([]byte, error) {
	c := b.Cursor()
	var bv []byte
	if to == nil {
		_, bv = c.Last()
	} else {
		k, v := c.Seek(to)
		if k == nil {
			_, bv = c.Last()
		} else {
			bv = v
		}
	}
	for bv != nil {
		var last []byte
		it := blockIter{v: bv}
		for it.next() {
			u, _, ok := splitMemberKey(it.key)
			if !ok {
				return nil, fmt.Errorf("malformed index key %q: %w", it.key, errCorrupt)
			}
			if to != nil && bytes.Compare(u, to) >= 0 {
				break
			}
			last = append(last[:0], u...)
		}
		if it.err != nil {
			return nil, it.err
		}
		if last != nil {
			return last, nil
		}
		_, bv = c.Prev()
	}
	return nil, nil
}

// walkUnionsParallel is walkUnions over the whole key space, cut into
// ranges that up to GOMAXPROCS goroutines walk side by side. Each range
// reports to a sink of its own, made by newSink(i) for range i of n;
// ranges are in key order, so a caller that adds their results up in
// order sees what one walk would have seen.
func (s *Store) walkUnionsParallel(apps []string, entries int64, newSink func(i, n int) personSink) error {
	workers := walkWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ranges := []unionRange{{}}
	if workers > 1 && entries >= parallelWalkMin {
		var err error
		if ranges, err = s.splitUnions(apps, 8*workers); err != nil {
			return fmt.Errorf("read the unionid index: %w", err)
		}
	}
	sinks := make([]personSink, len(ranges))
	for i := range ranges {
		sinks[i] = newSink(i, len(ranges))
	}
	if len(ranges) == 1 {
		return s.walkUnions(apps, ranges[0], sinks[0])
	}
	var next atomic.Int64
	errs := make([]error, len(ranges))
	var wg sync.WaitGroup
	for range min(workers, len(ranges)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ranges) {
					return
				}
				if errs[i] = s.walkUnions(apps, ranges[i], sinks[i]); errs[i] != nil {
					next.Store(int64(len(ranges))) // the others stop at their next range
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// walkKeysParallel is walkKeys over the whole key space, cut into ranges
// (splitUnions) that up to GOMAXPROCS goroutines read side by side, a few
// chunks ahead of fn, which gets them in key order on the caller's
// goroutine, as one walk would give them.
func (s *Store) walkKeysParallel(apps []string, entries int64, fn func(c *walkedChunk) error) error {
	workers := walkWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers < 2 || entries < parallelWalkMin {
		return s.walkKeys(apps, unionRange{}, nil, fn)
	}
	ranges, err := s.splitUnions(apps, 8*workers)
	if err != nil {
		return fmt.Errorf("read the unionid index: %w", err)
	}
	if len(ranges) == 1 {
		return s.walkKeys(apps, unionRange{}, nil, fn)
	}
	// Each range's chunks wait in a channel of their own: a goroutine
	// reading ahead waits once two are there. The chunks fn is done with
	// go back to be filled again (but for their arenas: see walkKeys).
	chunks := make([]chan *walkedChunk, len(ranges))
	for i := range chunks {
		chunks[i] = make(chan *walkedChunk, 2)
	}
	free := make(chan *walkedChunk, 2*workers+2)
	fresh := func() *walkedChunk {
		select {
		case c := <-free:
			return c
		default:
			return &walkedChunk{}
		}
	}
	errs := make([]error, len(ranges))
	stop := make(chan struct{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(ranges)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ranges) {
					return
				}
				select {
				case <-stop:
					close(chunks[i])
					continue
				default:
				}
				errs[i] = s.walkKeys(apps, ranges[i], fresh, func(c *walkedChunk) error {
					select {
					case chunks[i] <- c:
						return nil
					case <-stop:
						return errWalkStopped
					}
				})
				close(chunks[i])
			}
		})
	}
	defer wg.Wait()
	defer close(stop)
	for i := range ranges {
		for c := range chunks[i] {
			if err := fn(c); err != nil {
				return err
			}
			c.arena = ""
			select {
			case free <- c:
			default:
			}
		}
		if errs[i] != nil {
			return errs[i]
		}
	}
	return nil
}

// errWalkStopped ends a range whose chunks nobody takes any more.
var errWalkStopped = errors.New("the walk stopped")

// The walk's tuning, variables so that a test can have a few entries take
// several transactions and ranges: walkChunk is how many entries a read
// transaction reads (unionChunk, as EachUnionKey's), parallelWalkMin how
// many index entries a walk must have before it is cut into ranges (below
// it, the goroutines would cost more than they save), and walkWorkers how
// many goroutines walk them (0: GOMAXPROCS).
var (
	walkChunk       = unionChunk
	parallelWalkMin = int64(200_000)
	walkWorkers     = 0
)
