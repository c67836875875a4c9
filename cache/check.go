package cache

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the whole file in one read transaction: bbolt's own page
// check (tx.Check), that every profile decodes, that the unionid index holds
// exactly the following profiles with a unionid and the former-members index
// exactly the other profiles with a unionid, and that every app's counters
// match its profiles. It returns nil or an error listing the first problems
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
	if err != nil {
		return fmt.Errorf("check the cache %s: %w", s.path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("the cache %s is inconsistent: %w", s.path, errors.Join(problems...))
	}
	return nil
}
