package cache

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"os"

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
	return s.view(func(tx *bolt.Tx) error { return s.verifyPages(true) })
}

// verifyPages walks the file's pages, strictly; with values, it also
// decodes what the buckets hold. It runs inside a read transaction, so no
// writer changes the file meanwhile.
func (s *Store) verifyPages(values bool) error {
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
	var p Profile
	var rec appRecord
	check := func(what string, fn func(k, v []byte) error) func(k, v []byte, child *bucketRef) error {
		return func(k, v []byte, child *bucketRef) error {
			if child != nil {
				return problemf("%s holds a bucket %q where values belong", what, k)
			}
			if !values {
				return nil
			}
			return fn(k, v)
		}
	}
	err = w.each(w.root(), func(name, _ []byte, top *bucketRef) error {
		if top == nil {
			return nil // not one of ours: Check's schema test says so
		}
		switch {
		case bytes.Equal(name, bucketApps):
			return w.each(*top, check("the apps bucket", func(k, v []byte) error {
				if err := decodeApp(v, &rec); err != nil {
					return problemf("the record of app %q: %v", k, err)
				}
				return nil
			}))
		case bytes.Equal(name, bucketRows):
			return w.each(*top, func(appid, _ []byte, app *bucketRef) error {
				if app == nil {
					return problemf("the rows bucket holds a value %q where app buckets belong", appid)
				}
				return w.each(*app, check("the rows of an app", func(k, v []byte) error {
					if _, ok := rowOf(k); !ok {
						return problemf("app %q has a malformed row key %x", appid, k)
					}
					if err := validRecord(v, &p); err != nil {
						return problemf("app %q row %x: %v", appid, k, err)
					}
					return nil
				}))
			})
		case bytes.Equal(name, bucketIDs), bytes.Equal(name, bucketMembers), bytes.Equal(name, bucketFormerMembers):
			return w.each(*top, func(appid, _ []byte, app *bucketRef) error {
				if app == nil {
					return problemf("the %s bucket holds a value %q where app buckets belong", name, appid)
				}
				return w.each(*app, check("an index", func(k, v []byte) error {
					if err := validBlock(name, k, v); err != nil {
						return problemf("the %s index of app %q: %v", name, appid, err)
					}
					return nil
				}))
			})
		case bytes.Equal(name, bucketSeen):
			return w.each(*top, func(appid, _ []byte, app *bucketRef) error {
				if app == nil {
					return problemf("the seen bucket holds a value %q where app buckets belong", appid)
				}
				return w.each(*app, check("the seen rows of an app", func(k, v []byte) error {
					if _, ok := rowOf(k); !ok || len(v) != seenChunkRows/8 {
						return problemf("app %q has a malformed seen chunk %x", appid, k)
					}
					return nil
				}))
			})
		default:
			return w.each(*top, func([]byte, []byte, *bucketRef) error { return nil })
		}
	})
	if err != nil {
		var fp *fileProblem
		if errors.As(err, &fp) {
			return s.damaged(err.Error(), nil)
		}
		return err
	}
	return nil
}

// Check verifies the whole file in one read transaction: the pages (as
// Verify does), bbolt's own check (tx.Check), that every row decodes, that
// the openid index names every row below the app's indexed mark (and only
// rows with that openid), that the unionid index holds exactly the indexed
// following profiles with a unionid and the former-members index exactly
// the other indexed profiles with a unionid, and that every app's counters
// match its rows. It returns nil or a *DamagedError listing the first
// problems found. It reads everything: for tests, crash tests and doctor,
// not for every start.
func (s *Store) Check() error {
	var problems []error
	add := func(format string, args ...any) bool {
		problems = append(problems, fmt.Errorf(format, args...))
		return len(problems) < 20
	}
	err := s.view(func(tx *bolt.Tx) error {
		// bbolt's check trusts the pages as much as every other read, in a
		// goroutine of its own where a fault cannot be caught: the pages
		// are walked first, and only a file whose pages are sound is
		// handed to it.
		if err := s.verifyPages(false); err != nil {
			add("%w", err)
			return nil
		}
		for err := range tx.Check() {
			if !add("bbolt: %w", err) {
				return nil
			}
		}
		if err := s.checkSchema(tx); err != nil {
			add("%w", err)
			return nil
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
		// The cheap proof first: the indexes hold, per app, exactly the
		// entries the rows call for, in one sequential pass over each
		// (fingerprints). Only when they do not are the entries and the
		// rows looked up one by one, to say which.
		if fast, agree := quickCheck(tx); agree {
			problems = append(problems, fast...)
			return nil
		}
		problems = problems[:0]
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
		if indexed(&p) {
			indexedN++
			key = memberKey(key[:0], p.UnionID, p.OpenID)
			if _, ok, _ := unions.get(key); !ok {
				add("app %s openid %s (unionid %s) is missing from the unionid index", appid, p.OpenID, p.UnionID)
			}
		}
		if former(&p) {
			formerN++
			key = memberKey(key[:0], p.UnionID, p.OpenID)
			if _, ok, _ := formers.get(key); !ok {
				add("app %s openid %s (unionid %s, no longer following) is missing from the former-members index", appid, p.OpenID, p.UnionID)
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

// quickCheck compares each app's indexes with its rows by fingerprints and
// checks every app's counters, in sequential passes (the rows of the tail,
// which a sync appended and has not indexed, are looked up in the openid
// index; a sync leaves none when it ends). agree is false when an entry is
// malformed or an index disagrees with the rows: Check then looks at every
// entry to say which. problems are the counters found wrong meanwhile.
func quickCheck(tx *bolt.Tx) (problems []error, agree bool) {
	seed := maphash.MakeSeed()
	agree = true
	empty := []byte{}
	fingerprints := func(idx *packed, members bool) (fingerprint, bool) {
		var f fingerprint
		it := idx.seek(nil)
		for k, v, ok := it.next(); ok; k, v, ok = it.next() {
			if members {
				if _, _, ok := splitMemberKey(k); !ok || len(v) != 0 {
					return f, false
				}
			}
			f.add(seed, k, v)
		}
		return f, it.err() == nil
	}
	var p Profile
	var key, row []byte
	err := tx.Bucket(bucketApps).ForEach(func(appid, v []byte) error {
		var rec appRecord
		if err := decodeApp(v, &rec); err != nil {
			problems = append(problems, fmt.Errorf("app %s: %w", appid, err))
			return nil
		}
		r, err := readRows(tx, string(appid))
		if err != nil || r.rows == nil || r.ids.b == nil {
			agree = false
			return nil
		}
		unions, formers := memberIndexes(tx, appid)
		haveIDs, ok1 := fingerprints(r.ids, false)
		haveUnions, ok2 := fingerprints(unions, true)
		haveFormers, ok3 := fingerprints(formers, true)
		if !ok1 || !ok2 || !ok3 {
			agree = false
			return nil
		}
		var got Counts
		var wantIDs, wantUnions, wantFormers fingerprint
		err = r.rows.ForEach(func(k, v []byte) error {
			n, ok := rowOf(k)
			if !ok || n >= rec.Rows || scanRecord(v, &p) != nil {
				agree = false // the detailed check names it
				return nil
			}
			got.add(&p, 1)
			if n >= rec.Indexed {
				if at, ok := rowOf(lookedUp(r.ids.get([]byte(p.OpenID)))); !ok || at != n {
					return nil // the tail, not indexed
				}
			}
			row = rowKey(row[:0], n)
			wantIDs.add(seed, []byte(p.OpenID), row)
			key = memberKey(key[:0], p.UnionID, p.OpenID)
			switch {
			case indexed(&p):
				wantUnions.add(seed, key, empty)
			case former(&p):
				wantFormers.add(seed, key, empty)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if got != rec.Counts {
			problems = append(problems, fmt.Errorf("app %s counters %+v, but its profiles count %+v", appid, rec.Counts, got))
		}
		if haveIDs != wantIDs || haveUnions != wantUnions || haveFormers != wantFormers {
			agree = false
		}
		return nil
	})
	return problems, err == nil && agree
}

// lookedUp drops the error of an index lookup: a damaged block reads as a
// missing entry, which the fingerprints then disagree over.
func lookedUp(v []byte, _ bool, _ error) []byte { return v }
