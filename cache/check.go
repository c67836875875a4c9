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
// record and profile and splits every index key, in one read transaction.
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
		case bytes.Equal(name, bucketProfiles):
			return w.each(*top, func(appid, _ []byte, app *bucketRef) error {
				if app == nil {
					return problemf("the profiles bucket holds a value %q where app buckets belong", appid)
				}
				return w.each(*app, check("the profiles of an app", func(k, v []byte) error {
					if err := validProfile(v, &p); err != nil {
						return problemf("app %q openid %q: %v", appid, k, err)
					}
					return nil
				}))
			})
		case bytes.Equal(name, bucketUnionIDs), bytes.Equal(name, bucketFormerUnionIDs):
			return w.each(*top, check("an index", func(k, v []byte) error {
				if _, _, _, ok := splitUnionKey(k); !ok || len(v) != 0 {
					return problemf("the %s bucket holds a malformed key %q", name, k)
				}
				return nil
			}))
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

// Check verifies the whole file in one read transaction: bbolt's own page
// check (tx.Check), that every profile decodes, that the unionid index holds
// exactly the following profiles with a unionid and the former-members index
// exactly the other profiles with a unionid, and that every app's counters
// match its profiles. It returns nil or a *DamagedError listing the first
// problems found. It reads everything: for tests, crash tests and doctor, not for
// every start.
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
		apps, profiles := tx.Bucket(bucketApps), tx.Bucket(bucketProfiles)
		unions, formers := tx.Bucket(bucketUnionIDs), tx.Bucket(bucketFormerUnionIDs)

		err := profiles.ForEachBucket(func(appid []byte) error {
			if apps.Get(appid) == nil {
				add("app %s has profiles but no app record", appid)
			}
			return nil
		})
		if err != nil {
			return err
		}
		// The cheap proof first: both indexes hold, per app, exactly the
		// keys the profiles call for, in one sequential pass over each
		// (fingerprints). Only when they do not are the entries and the
		// profiles looked up one by one, to say which.
		if fast, agree := quickCheck(tx); agree {
			problems = append(problems, fast...)
			return nil
		}
		// Each index entry must name a profile that belongs in that index
		// under that unionid.
		checkIndex := func(what string, idx *bolt.Bucket, belongs func(*Profile) bool) map[string]int64 {
			perApp := map[string]int64{}
			c := idx.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				u, a, o, ok := splitUnionKey(k)
				if !ok || v == nil || len(v) != 0 {
					if !add("malformed %s entry %q", what, k) {
						return perApp
					}
					continue
				}
				perApp[string(a)]++
				p, found, err := getProfile(tx, string(a), string(o))
				switch {
				case err != nil:
					ok = add("%s entry %q: %w", what, k, err)
				case !found:
					ok = add("%s entry unionid %s app %s openid %s has no profile", what, u, a, o)
				case !belongs(&p) || p.UnionID != string(u):
					ok = add("%s entry unionid %s app %s openid %s disagrees with its profile (unionid %q, subscribed %t, unfollowed_at %d)", what, u, a, o, p.UnionID, p.Subscribed, p.UnfollowedAt)
				}
				if !ok {
					return perApp
				}
			}
			return perApp
		}
		indexPerApp := checkIndex("unionid index", unions, indexed)
		formerPerApp := checkIndex("former-members index", formers, former)
		if len(problems) >= 20 {
			return nil
		}

		var key []byte
		return apps.ForEach(func(appid, v []byte) error {
			var rec appRecord
			if err := decodeApp(v, &rec); err != nil {
				add("app %s: %w", appid, err)
				return nil
			}
			b := profiles.Bucket(appid)
			if b == nil {
				add("app %s has a record but no profile bucket", appid)
				return nil
			}
			var got Counts
			var indexedN, formerN int64
			err := b.ForEach(func(openid, v []byte) error {
				var p Profile
				if _, err := decodeProfile(v, &p); err != nil {
					add("app %s openid %s: %w", appid, openid, err)
					return nil
				}
				got.add(&p, 1)
				if indexed(&p) {
					indexedN++
					key = unionKey(key[:0], p.UnionID, string(appid), string(openid))
					if unions.Get(key) == nil {
						add("app %s openid %s (unionid %s) is missing from the unionid index", appid, openid, p.UnionID)
					}
				}
				if former(&p) {
					formerN++
					key = unionKey(key[:0], p.UnionID, string(appid), string(openid))
					if formers.Get(key) == nil {
						add("app %s openid %s (unionid %s, no longer following) is missing from the former-members index", appid, openid, p.UnionID)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if got != rec.Counts {
				add("app %s counters %+v, but its profiles count %+v", appid, rec.Counts, got)
			}
			if n := indexPerApp[string(appid)]; n != indexedN {
				add("app %s has %d unionid index entries for %d indexed profiles", appid, n, indexedN)
			}
			if n := formerPerApp[string(appid)]; n != formerN {
				add("app %s has %d former-members index entries for %d former members", appid, n, formerN)
			}
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

// fingerprint is a multiset of index keys: how many, and two sums of their
// hashes that no other set of keys is likely to match.
type fingerprint struct {
	n        int64
	sum, mix uint64
}

func (f *fingerprint) add(seed maphash.Seed, key []byte) {
	h := maphash.Bytes(seed, key)
	f.n++
	f.sum += h
	f.mix += h * h
}

// quickCheck compares each index with the profiles by fingerprints, per
// app, and checks every app's counters, in sequential passes. agree is
// false when an index key is malformed or an index disagrees with the
// profiles: Check then looks at every entry to say which. problems are
// the counters and values found wrong meanwhile.
func quickCheck(tx *bolt.Tx) (problems []error, agree bool) {
	seed := maphash.MakeSeed()
	fingerprints := func(idx *bolt.Bucket) (map[string]fingerprint, bool) {
		out := map[string]fingerprint{}
		c := idx.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			_, a, _, ok := splitUnionKey(k)
			if !ok || v == nil || len(v) != 0 {
				return nil, false
			}
			f := out[string(a)]
			f.add(seed, k)
			out[string(a)] = f
		}
		return out, true
	}
	unions, ok1 := fingerprints(tx.Bucket(bucketUnionIDs))
	formers, ok2 := fingerprints(tx.Bucket(bucketFormerUnionIDs))
	if !ok1 || !ok2 {
		return nil, false
	}
	profiles := tx.Bucket(bucketProfiles)
	agree = true
	var key []byte
	var p Profile
	err := tx.Bucket(bucketApps).ForEach(func(appid, v []byte) error {
		var rec appRecord
		if err := decodeApp(v, &rec); err != nil {
			problems = append(problems, fmt.Errorf("app %s: %w", appid, err))
			return nil
		}
		b := profiles.Bucket(appid)
		if b == nil {
			problems = append(problems, fmt.Errorf("app %s has a record but no profile bucket", appid))
			return nil
		}
		var got Counts
		var wantUnions, wantFormers fingerprint
		err := b.ForEach(func(openid, v []byte) error {
			if _, err := decodeProfile(v, &p); err != nil {
				agree = false // the detailed check names it
				return nil
			}
			got.add(&p, 1)
			if p.UnionID != "" {
				key = unionKey(key[:0], p.UnionID, string(appid), string(openid))
				if indexed(&p) {
					wantUnions.add(seed, key)
				} else {
					wantFormers.add(seed, key)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if got != rec.Counts {
			problems = append(problems, fmt.Errorf("app %s counters %+v, but its profiles count %+v", appid, rec.Counts, got))
		}
		if unions[string(appid)] != wantUnions || formers[string(appid)] != wantFormers {
			agree = false
		}
		delete(unions, string(appid))
		delete(formers, string(appid))
		return nil
	})
	// Entries of an app without a record name profiles that are not there.
	return problems, err == nil && agree && len(unions) == 0 && len(formers) == 0
}
