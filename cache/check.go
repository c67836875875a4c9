package cache

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"os"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// FindingDamaged is doctor's finding for a cache file that Check finds
// damaged: pages or values that do not read back as written, or indexes and
// counters that disagree with the profiles. Salvage is the way out.
const FindingDamaged FindingKind = "damaged"

// Verify reads every page of the file, checking what bbolt trusts (page
// ids, types, offsets, key order; see pageFile), and decodes every app
// record and profile row and every index block, in one read transaction.
// It returns nil or a *DamagedError. After it, nothing a read of this
// snapshot does can fault: export and links call it before they write
// their first line, so that damage gives an error and no partial output.
// It costs a read of the file (a fraction of a second for a million
// profiles).
func (s *Store) Verify() error {
	return s.view(func(tx *bolt.Tx) error { return s.verifyPages(nil) })
}

// verifyPages walks the file's pages, strictly, and decodes what the
// buckets hold; with sums, it also adds up what Check compares
// (checkSums). It runs inside a read transaction, so no writer changes the
// file meanwhile. It reads the file with ReadAt, not through bbolt's map: a
// walk of every page maps none of them in.
//
// Without sums, the rows bucket is walked beside the others, in a
// goroutine of its own: decoding the values is most of the walk's CPU, and
// the rows bucket holds most of them (a Verify of 3 M profiles took 28 %
// less). Check adds up per app as it goes, in one walk in bucket order.
func (s *Store) verifyPages(sums *checkSums) error {
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("verify the cache %s: %w", s.path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("verify the cache %s: %w", s.path, err)
	}
	pf, err := openPages(f, fi.Size())
	if err != nil {
		return s.damaged(err.Error(), nil)
	}
	w := newWalker(pf, false)
	tops, err := topBuckets(w)
	switch {
	case err != nil:
	case sums == nil:
		err = verifySideBySide(pf, w, tops)
	default:
		w.base = 1 // below the root, as in verifySideBySide
		for _, b := range tops {
			if err = verifyTop(pf, w, b, sums); err != nil {
				break
			}
		}
	}
	if err != nil {
		var fp *fileProblem
		if errors.As(err, &fp) {
			return s.damaged(err.Error(), nil)
		}
		return err
	}
	if sums != nil {
		sums.pagesAccounted = pagesAccounted(pf, w)
	}
	return nil
}

// topBucket is a top-level bucket, as the root's page names it.
type topBucket struct {
	name []byte
	ref  bucketRef
}

// topBuckets walks the root with w and returns the buckets it names, in
// key order (those that are not ours too: Check's schema test says so),
// copied out of the root's page.
func topBuckets(w *walker) ([]topBucket, error) {
	var tops []topBucket
	err := w.each(w.root(), func(name, _ []byte, top *bucketRef) error {
		if top != nil {
			ref := *top
			ref.inline = bytes.Clone(ref.inline)
			tops = append(tops, topBucket{bytes.Clone(name), ref})
		}
		return nil
	})
	return tops, err
}

// verifyTop walks the top-level bucket b with w (verifyBucket). A problem
// that no deeper page names (an inline bucket's) is on the root's page.
func verifyTop(pf *pageFile, w *walker, b topBucket, sums *checkSums) error {
	if err := verifyBucket(w, b.name, b.ref, sums); err != nil {
		return onPage(pf.meta.root, err)
	}
	return nil
}

// verifySideBySide walks tops, which root's walk found, the rows bucket
// in a walker of its own beside the others, and returns the problem one
// walk in bucket order would have met first: the one of the earliest
// bucket, or else a page that two walks reached.
func verifySideBySide(pf *pageFile, root *walker, tops []topBucket) error {
	rows, rest := newWalker(pf, false), newWalker(pf, false)
	rows.base, rest.base = 1, 1 // below the root
	// walk walks the rows bucket, or all but it, and says the index in
	// tops of the bucket it failed in.
	walk := func(w *walker, theRows bool) (at int, err error) {
		for i, b := range tops {
			if bytes.Equal(b.name, bucketRows) == theRows {
				if err := verifyTop(pf, w, b, nil); err != nil {
					return i, err
				}
			}
		}
		return len(tops), nil
	}
	var rowsAt int
	var rowsErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		rowsAt, rowsErr = walk(rows, true)
	}()
	restAt, restErr := walk(rest, false)
	<-done
	switch {
	case rowsErr != nil && (restErr == nil || rowsAt < restAt):
		return rowsErr
	case restErr != nil:
		return restErr
	}
	// One walk finds a page it reaches twice; a page that two of them
	// reached, only they together.
	for i := range root.seen {
		a, b, c := root.seen[i], rows.seen[i], rest.seen[i]
		if twice := a&b | a&c | b&c; twice != 0 {
			return onPage(uint64(i)*64+uint64(bits.TrailingZeros64(twice)), problemf("it is reached twice"))
		}
	}
	return nil
}

// verifyBucket walks the top-level bucket name, whose root is top, with w,
// decoding every value: see verifyPages.
func verifyBucket(w *walker, name []byte, top bucketRef, sums *checkSums) error {
	var p Profile
	var rec appRecord
	check := func(what string, fn func(k, v []byte) error) func(k, v []byte, child *bucketRef) error {
		return func(k, v []byte, child *bucketRef) error {
			if child != nil {
				return problemf("%s holds a bucket %q where values belong", what, k)
			}
			return fn(k, v)
		}
	}
	switch {
	case bytes.Equal(name, bucketApps):
		return w.each(top, check("the apps bucket", func(k, v []byte) error {
			if err := decodeApp(v, &rec); err != nil {
				return problemf("the record of app %q: %v", k, err)
			}
			sums.record(k, &rec)
			return nil
		}))
	case bytes.Equal(name, bucketRows):
		return w.each(top, func(appid, _ []byte, app *bucketRef) error {
			if app == nil {
				return problemf("the rows bucket holds a value %q where app buckets belong", appid)
			}
			a := sums.app(appid, bucketRows)
			return w.each(*app, check("the rows of an app", func(k, v []byte) error {
				n, ok := rowOf(k)
				if !ok {
					return problemf("app %q has a malformed row key %x", appid, k)
				}
				if err := scanRecord(v, &p); err != nil {
					return problemf("app %q row %x: %v", appid, k, err)
				}
				a.row(sums, n, &p) // p aliases the page: nothing keeps it

				return nil
			}))
		})
	case bytes.Equal(name, bucketIDs), bytes.Equal(name, bucketMembers), bytes.Equal(name, bucketFormerMembers):
		return w.each(top, func(appid, _ []byte, app *bucketRef) error {
			if app == nil {
				return problemf("the %s bucket holds a value %q where app buckets belong", name, appid)
			}
			a := sums.app(appid, name)
			return w.each(*app, check("an index", func(k, v []byte) error {
				if err := validBlock(name, k, v); err != nil {
					return problemf("the %s index of app %q: %v", name, appid, err)
				}
				a.block(sums, name, v)
				return nil
			}))
		})
	case bytes.Equal(name, bucketSeen):
		return w.each(top, func(appid, _ []byte, app *bucketRef) error {
			if app == nil {
				return problemf("the seen bucket holds a value %q where app buckets belong", appid)
			}
			sums.app(appid, bucketSeen)
			return w.each(*app, check("the seen rows of an app", func(k, v []byte) error {
				if _, ok := rowOf(k); !ok || len(v) != seenChunkRows/8 {
					return problemf("app %q has a malformed seen chunk %x", appid, k)
				}
				return nil
			}))
		})
	default:
		return walkAll(w, top)
	}
}

// Check verifies the whole file in one read transaction: the pages (as
// Verify does, and that every page is reached once or free, as bbolt's
// tx.Check does), that every value decodes, that the openid index names
// every row below the app's indexed mark (and only rows with that openid),
// that the unionid index holds exactly the indexed following profiles with
// a unionid and the former-members index exactly the other indexed
// profiles with a unionid, and that every app's counters match its rows.
// It returns nil or a *DamagedError listing the first problems found. It
// reads everything, with ReadAt (a sound file costs a sequential read and
// memory for nothing per profile): for tests, crash tests and doctor, not
// for every start.
func (s *Store) Check() error {
	var problems []error
	add := func(format string, args ...any) bool {
		problems = append(problems, fmt.Errorf(format, args...))
		return len(problems) < 20
	}
	err := s.view(func(tx *bolt.Tx) error {
		// The cheap proof first, in one sequential read of the file that
		// maps none of it in (doctor on a 2 M-profile cache held 400 MB
		// of it otherwise): the pages are sound and all accounted for,
		// every value decodes, and the indexes hold, per app, exactly the
		// entries the rows call for (fingerprints). bbolt's check, which
		// trusts the pages as much as every other read, in a goroutine of
		// its own where a fault cannot be caught, runs only on a file whose
		// pages the walk found sound.
		sums := newCheckSums()
		if err := s.verifyPages(sums); err != nil {
			add("%w", err)
			return nil
		}
		if err := s.checkSchema(tx); err != nil {
			add("%w", err)
			return nil
		}
		fast, agree := sums.compare()
		if agree {
			problems = append(problems, fast...)
			return nil
		}
		// Only when they do not agree are the pages checked by bbolt and
		// the entries and rows looked up one by one, to say which.
		for err := range tx.Check() {
			if !add("bbolt: %w", err) {
				return nil
			}
		}
		apps := tx.Bucket(bucketApps)
		for _, name := range [][]byte{bucketRows, bucketIDs, bucketSeen, bucketMembers, bucketFormerMembers} {
			err := tx.Bucket(name).ForEachBucket(func(appid []byte) error {
				if apps.Get(appid) == nil {
					add("app %s has %s but no app record", appid, name)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return apps.ForEach(func(appid, v []byte) error {
			s.checkApp(tx, appid, v, add)
			return nil
		})
	})
	var de *DamagedError
	switch {
	case errors.As(err, &de):
		return err
	case err != nil:
		return fmt.Errorf("check the cache %s: %w", s.path, err)
	case len(problems) == 1 && errors.As(problems[0], &de):
		return de
	case len(problems) > 0:
		joined := errors.Join(problems...)
		e := &DamagedError{Path: s.path, Reason: "inconsistent: " + joined.Error(), Err: joined}
		s.noteDamage(e)
		return e
	}
	return nil
}

// checkApp looks at every row and index entry of one app, one by one,
// adding what is wrong.
func (s *Store) checkApp(tx *bolt.Tx, appid, v []byte, add func(string, ...any) bool) {
	var rec appRecord
	if err := decodeApp(v, &rec); err != nil {
		add("app %s: %w", appid, err)
		return
	}
	r, err := readRows(tx, string(appid))
	if err != nil {
		add("app %s: %w", appid, err)
		return
	}
	if r.rows == nil || r.ids.b == nil {
		add("app %s has a record but no rows or openid index", appid)
		return
	}
	unions, formers := memberIndexes(tx, appid)
	// Each index entry must name a profile that belongs in that index
	// under that unionid.
	checkIndex := func(what string, idx *packed, belongs func(*Profile) bool) int64 {
		var n int64
		it := idx.seek(nil)
		for k, v, more := it.next(); more; k, v, more = it.next() {
			u, o, ok := splitMemberKey(k)
			if !ok || len(v) != 0 {
				if !add("malformed %s entry %q of app %s", what, k, appid) {
					return n
				}
				continue
			}
			n++
			p, found, err := indexedProfile(tx, string(appid), string(o))
			switch {
			case err != nil:
				ok = add("%s entry %q of app %s: %w", what, k, appid, err)
			case !found:
				ok = add("%s entry unionid %s app %s openid %s has no indexed profile", what, u, appid, o)
			case !belongs(&p) || p.UnionID != string(u):
				ok = add("%s entry unionid %s app %s openid %s disagrees with its profile (unionid %q, subscribed %t, unfollowed_at %d)", what, u, appid, o, p.UnionID, p.Subscribed, p.UnfollowedAt)
			}
			if !ok {
				return n
			}
		}
		if err := it.err(); err != nil {
			add("%s of app %s: %w", what, appid, err)
		}
		return n
	}
	var got Counts
	var indexedN, formerN, named int64
	var p Profile
	var key []byte
	err = r.rows.ForEach(func(k, v []byte) error {
		n, ok := rowOf(k)
		if !ok {
			add("app %s: malformed row key %x", appid, k)
			return nil
		}
		if err := decodeRecord(v, &p); err != nil {
			add("app %s row %d: %w", appid, n, err)
			return nil
		}
		if n >= rec.Rows {
			add("app %s row %d is beyond the %d rows its record counts", appid, n, rec.Rows)
		}
		got.add(&p, 1)
		names, _, _ := r.ids.get([]byte(p.OpenID))
		switch at, inIndex := rowOf(names); {
		case inIndex && at == n:
			named++
		case n < rec.Indexed:
			add("app %s row %d (openid %s) is below the indexed mark %d but the openid index names %x", appid, n, p.OpenID, rec.Indexed, names)
			return nil
		default:
			return nil // the tail: indexed by the sync that appended it
		}
		// A tail row the openid index already names is one a catch-up
		// stopped between its transactions (a kill, or a doctor while a
		// sync ends) has indexed by openid: its unionid entry may be
		// written yet or not, and the next catch-up writes it.
		tail := n >= rec.Indexed
		for _, w := range []struct {
			belongs bool
			idx     *packed
			count   *int64
			missing string
		}{
			{indexed(&p), unions, &indexedN, "app %s openid %s (unionid %s) is missing from the unionid index"},
			{former(&p), formers, &formerN, "app %s openid %s (unionid %s, no longer following) is missing from the former-members index"},
		} {
			if !w.belongs {
				continue
			}
			key = memberKey(key[:0], p.UnionID, p.OpenID)
			_, ok, _ := w.idx.get(key)
			if ok || !tail {
				*w.count++
			}
			if !ok && !tail {
				add(w.missing, appid, p.OpenID, p.UnionID)
			}
		}
		return nil
	})
	if err != nil {
		add("app %s: %w", appid, err)
	}
	if n, err := r.ids.count(); err != nil || n != named {
		add("app %s has %d openid index entries for %d rows they name (%v)", appid, n, named, err)
	}
	if got != rec.Counts {
		add("app %s counters %+v, but its profiles count %+v", appid, rec.Counts, got)
	}
	if n := checkIndex("unionid index", unions, indexed); n != indexedN {
		add("app %s has %d unionid index entries for %d indexed profiles", appid, n, indexedN)
	}
	if n := checkIndex("former-members index", formers, former); n != formerN {
		add("app %s has %d former-members index entries for %d former members", appid, n, formerN)
	}
	if b := tx.Bucket(bucketSeen).Bucket(appid); b != nil {
		if err := newSeenSet().load(b); err != nil {
			add("app %s: %w", appid, err)
		}
	}
}

// indexedProfile is the profile the openid index names for openid.
func indexedProfile(tx *bolt.Tx, appid, openid string) (Profile, bool, error) {
	r, err := readRows(tx, appid)
	if err != nil {
		return Profile{}, false, err
	}
	r.next = r.indexed // no tail
	row, v, ok, err := r.find(openid)
	if err != nil || !ok {
		return Profile{}, false, err
	}
	p, err := profileAt(appid, row, v)
	return p, err == nil, err
}

// fingerprint is a multiset of index entries: how many, and two sums of
// their hashes that no other set of entries is likely to match.
type fingerprint struct {
	n        int64
	sum, mix uint64
}

func (f *fingerprint) add(seed maphash.Seed, key, val []byte) {
	var h maphash.Hash
	h.SetSeed(seed)
	h.Write(key)
	h.WriteByte(0)
	h.Write(val)
	x := h.Sum64()
	f.n++
	f.sum += x
	f.mix += x * x
}

// walkAll walks bucket b and every bucket within it.
func walkAll(w *walker, b bucketRef) error {
	return w.each(b, func(_, _ []byte, child *bucketRef) error {
		if child == nil {
			return nil
		}
		return walkAll(w, *child)
	})
}

// checkSums is what Check's walk of the pages adds up, per app, to prove
// in one sequential pass that the indexes hold exactly the entries the
// rows call for: fingerprints of the entries each index holds and of the
// ones the rows want, and the counters of the rows. The rows of the tail,
// which a sync appended and has not indexed, count when the openid index
// names them (a sync leaves none when it ends): the walk meets the ids
// bucket before the rows bucket (buckets go in name order), and keeps the
// few entries that name the tail. It holds nothing per profile.
type checkSums struct {
	seed maphash.Seed
	apps map[string]*appSums
	// pagesAccounted: every page below the high water mark is a meta page,
	// the freelist, reached once by the walk or free, and no page is both
	// (what bbolt's tx.Check proves of the pages, without mapping them in).
	pagesAccounted bool
}

type appSums struct {
	rec                              appRecord
	hasRecord                        bool
	in                               map[string]bool // the buckets holding a sub-bucket of the app
	haveIDs, haveUnions, haveFormers fingerprint
	wantIDs, wantUnions, wantFormers fingerprint
	got                              Counts
	tail                             map[string]uint32 // openid index entries naming rows from rec.Indexed on
	malformed                        bool              // a row the detailed check must name
	key, rowBuf                      []byte
}

func newCheckSums() *checkSums {
	return &checkSums{seed: maphash.MakeSeed(), apps: map[string]*appSums{}}
}

func (c *checkSums) app(appid, bucket []byte) *appSums {
	if c == nil {
		return nil
	}
	a := c.apps[string(appid)]
	if a == nil {
		a = &appSums{in: map[string]bool{}, tail: map[string]uint32{}}
		c.apps[string(appid)] = a
	}
	if bucket != nil {
		a.in[string(bucket)] = true
	}
	return a
}

func (c *checkSums) record(appid []byte, rec *appRecord) {
	if c == nil {
		return
	}
	a := c.app(appid, nil)
	a.rec, a.hasRecord = *rec, true
}

// block adds the entries of a (valid) block of the index name.
func (a *appSums) block(c *checkSums, name, v []byte) {
	if a == nil {
		return
	}
	it := blockIter{v: v}
	for it.next() {
		switch {
		case bytes.Equal(name, bucketIDs):
			a.haveIDs.add(c.seed, it.key, it.val)
			if n, ok := rowOf(it.val); ok && a.hasRecord && n >= a.rec.Indexed {
				a.tail[string(it.key)] = n
			}
		case bytes.Equal(name, bucketMembers):
			a.haveUnions.add(c.seed, it.key, nil)
		default:
			a.haveFormers.add(c.seed, it.key, nil)
		}
	}
}

// row adds row n, profile p, to what the indexes must hold.
func (a *appSums) row(c *checkSums, n uint32, p *Profile) {
	if a == nil {
		return
	}
	if !a.hasRecord || n >= a.rec.Rows {
		a.malformed = true
		return
	}
	a.got.add(p, 1)
	if n >= a.rec.Indexed {
		if at, ok := a.tail[p.OpenID]; !ok || at != n {
			return // the tail, not indexed
		}
	}
	a.rowBuf = rowKey(a.rowBuf[:0], n)
	a.wantIDs.add(c.seed, []byte(p.OpenID), a.rowBuf)
	a.key = memberKey(a.key[:0], p.UnionID, p.OpenID)
	switch {
	case indexed(p):
		a.wantUnions.add(c.seed, a.key, nil)
	case former(p):
		a.wantFormers.add(c.seed, a.key, nil)
	}
}

// compare says what the sums prove: problems are the counters found wrong
// and the sub-buckets of apps with no record; agree is false when the
// detailed check must look at every entry to say what disagrees.
func (c *checkSums) compare() (problems []error, agree bool) {
	agree = c.pagesAccounted
	ids := make([]string, 0, len(c.apps))
	for appid := range c.apps {
		ids = append(ids, appid)
	}
	slices.Sort(ids)
	for _, appid := range ids {
		a := c.apps[appid]
		if !a.hasRecord {
			for _, name := range [][]byte{bucketRows, bucketIDs, bucketSeen, bucketMembers, bucketFormerMembers} {
				if a.in[string(name)] {
					problems = append(problems, fmt.Errorf("app %s has %s but no app record", appid, name))
				}
			}
			continue
		}
		if !a.in[string(bucketRows)] || !a.in[string(bucketIDs)] || a.malformed {
			agree = false
			continue
		}
		if a.got != a.rec.Counts {
			problems = append(problems, fmt.Errorf("app %s counters %+v, but its profiles count %+v", appid, a.rec.Counts, a.got))
		}
		if a.haveIDs != a.wantIDs || a.haveUnions != a.wantUnions || a.haveFormers != a.wantFormers {
			agree = false
		}
	}
	return problems, agree
}

// pagesAccounted reports whether the pages w walked, the meta pages, the
// freelist and the free pages it names cover the file's pages below its
// high water mark, each once.
func pagesAccounted(pf *pageFile, w *walker) bool {
	hwm := pf.meta.hwm
	seen := slices.Clone(w.seen)
	mark := func(id uint64) bool {
		if id >= hwm || seen[id/64]&(1<<(id%64)) != 0 {
			return false
		}
		seen[id/64] |= 1 << (id % 64)
		return true
	}
	if !mark(0) || !mark(1) {
		return false
	}
	if pf.meta.freelist == noFreelist {
		return false // bbolt rebuilds it by a walk of its own: leave it to tx.Check
	}
	p, err := pf.page(pf.meta.freelist, pageFlagFree, nil)
	if err != nil {
		return false
	}
	for i := range uint64(native.Uint32(p[12:])) + 1 {
		if !mark(pf.meta.freelist + i) {
			return false
		}
	}
	free, err := freelistIDs(p, hwm)
	if err != nil {
		return false
	}
	for _, id := range free {
		if !mark(id) {
			return false
		}
	}
	for id := range hwm {
		if seen[id/64]&(1<<(id%64)) == 0 {
			return false
		}
	}
	return true
}
