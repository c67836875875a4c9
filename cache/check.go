package cache

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the whole file in one read transaction: bbolt's own page
// check (tx.Check), that every row decodes, that the openid index names
// every row below the app's indexed mark (and only rows with that openid),
// that the unionid index holds exactly the indexed following profiles with
// a unionid and the former-members index exactly the other indexed profiles
// with a unionid, and that every app's counters match its rows. It returns nil or an error listing the first problems
// found. It reads everything: for tests, crash tests and doctor, not for
// every start.
func (s *Store) Check() error {
	var problems []error
	add := func(format string, args ...any) bool {
		problems = append(problems, fmt.Errorf(format, args...))
		return len(problems) < 20
	}
	err := s.view(func(tx *bolt.Tx) error {
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
		// Each index entry must name a profile that belongs in that index
		// under that unionid.
		checkIndex := func(what string, appid []byte, idx *packed, belongs func(*Profile) bool) int64 {
			var n int64
			it := idx.seek(nil)
			defer func() {
				if err := it.err(); err != nil {
					add("%s of app %s: %w", what, appid, err)
				}
			}()
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
			return n
		}

		var key []byte
		return apps.ForEach(func(appid, v []byte) error {
			var rec appRecord
			if err := decodeApp(v, &rec); err != nil {
				add("app %s: %w", appid, err)
				return nil
			}
			r, err := readRows(tx, string(appid))
			if err != nil {
				add("app %s: %w", appid, err)
				return nil
			}
			if r.rows == nil || r.ids.b == nil {
				add("app %s has a record but no rows or openid index", appid)
				return nil
			}
			unions, formers := memberIndexes(tx, appid)
			var got Counts
			var indexedN, formerN, named int64
			var p Profile
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
				at, inIndex := rowOf(names)
				switch {
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
				return err
			}
			if n, err := r.ids.count(); err != nil || n != named {
				add("app %s has %d openid index entries for %d rows they name (%v)", appid, n, named, err)
			}
			if got != rec.Counts {
				add("app %s counters %+v, but its profiles count %+v", appid, rec.Counts, got)
			}
			if n := checkIndex("unionid index", appid, unions, indexed); n != indexedN {
				add("app %s has %d unionid index entries for %d indexed profiles", appid, n, indexedN)
			}
			if n := checkIndex("former-members index", appid, formers, former); n != formerN {
				add("app %s has %d former-members index entries for %d former members", appid, n, formerN)
			}
			if b := tx.Bucket(bucketSeen).Bucket(appid); b != nil {
				if err := newSeenSet().load(b); err != nil {
					add("app %s: %w", appid, err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("check the cache %s: %w", s.path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("the cache %s is inconsistent: %w", s.path, errors.Join(problems...))
	}
	return nil
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
