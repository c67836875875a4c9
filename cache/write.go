package cache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// active reports whether a cached profile counts as a current follower: it is
// in the unionid index (when it has a unionid) and in Counts.Subscribed.
func active(p *Profile) bool { return p.Subscribed && p.UnfollowedAt == 0 }

// indexed reports whether p has an entry in the unionid index. Unfollowed
// profiles leave the index (the API no longer sends their unionid) but stay
// findable by openid, and by the unionid they last carried through the
// former-members index.
func indexed(p *Profile) bool { return active(p) && p.UnionID != "" }

// former reports whether p has an entry in the former-members index: it
// carries a unionid but no longer follows. Every profile with a unionid is
// in exactly one of the two indexes.
func former(p *Profile) bool { return !active(p) && p.UnionID != "" }

// unionKey is the index key unionid \x00 appid \x00 openid.
func unionKey(dst []byte, unionid, appid, openid string) []byte {
	dst = append(dst, unionid...)
	dst = append(dst, 0)
	dst = append(dst, appid...)
	dst = append(dst, 0)
	return append(dst, openid...)
}

// splitUnionKey is the inverse of unionKey.
func splitUnionKey(k []byte) (unionid, appid, openid []byte, ok bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return nil, nil, nil, false
	}
	j := bytes.IndexByte(k[i+1:], 0)
	if j < 0 {
		return nil, nil, nil, false
	}
	j += i + 1
	return k[:i], k[i+1 : j], k[j+1:], true
}

// validID rejects ids that would break the composite index keys.
func validID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("empty %s", kind)
	}
	if strings.IndexByte(id, 0) >= 0 {
		return fmt.Errorf("%s %q contains a NUL byte", kind, id)
	}
	return nil
}

// appTx is one app's part of a write transaction: its record, its profile
// bucket and the two unionid indexes. Every change of a profile goes through
// put, which keeps the indexes and the counters in step with it.
type appTx struct {
	tx       *bolt.Tx
	appid    string
	rec      appRecord
	profiles *bolt.Bucket
	unions   *bolt.Bucket // following members
	formers  *bolt.Bucket // former members
	buf      []byte       // scratch for encoding
	key      []byte       // scratch for index keys
	arena    []byte       // bbolt keeps the slices given to Put until commit: they are copied here
}

// keep copies b into memory that lives as long as the transaction.
func (a *appTx) keep(b []byte) []byte {
	if len(a.arena)+len(b) > cap(a.arena) {
		a.arena = make([]byte, 0, max(64<<10, len(b)))
	}
	start := len(a.arena)
	a.arena = append(a.arena, b...)
	return a.arena[start:len(a.arena):len(a.arena)]
}

func openAppTx(tx *bolt.Tx, appid string) (*appTx, error) {
	if err := validID("appid", appid); err != nil {
		return nil, err
	}
	a := &appTx{tx: tx, appid: appid, unions: tx.Bucket(bucketUnionIDs), formers: tx.Bucket(bucketFormerUnionIDs)}
	if v := tx.Bucket(bucketApps).Get([]byte(appid)); v != nil {
		if err := decodeApp(v, &a.rec); err != nil {
			return nil, fmt.Errorf("app %s: %w", appid, err)
		}
	}
	b, err := tx.Bucket(bucketProfiles).CreateBucketIfNotExists([]byte(appid))
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", appid, err)
	}
	// Pages split at 90% rather than bbolt's 50%: a sync mostly adds keys
	// and rarely grows a value, and the 1 M-profile file is half the size.
	b.FillPercent = 0.9
	a.unions.FillPercent = 0.9
	a.profiles = b
	return a, nil
}

func (a *appTx) save() error {
	a.buf = encodeApp(a.buf[:0], &a.rec)
	return a.tx.Bucket(bucketApps).Put([]byte(a.appid), a.keep(a.buf))
}

// get reads the stored profile of openid.
func (a *appTx) get(openid string) (p Profile, seen uint64, ok bool, err error) {
	v := a.profiles.Get([]byte(openid))
	if v == nil {
		return Profile{}, 0, false, nil
	}
	seen, err = decodeProfile(v, &p)
	if err != nil {
		return Profile{}, 0, false, fmt.Errorf("app %s openid %s: %w", a.appid, openid, err)
	}
	p.AppID, p.OpenID = a.appid, openid
	return p, seen, true, nil
}

func (c *Counts) add(p *Profile, sign int64) {
	c.Profiles += sign
	if active(p) {
		c.Subscribed += sign
		if p.UnionID != "" {
			c.WithUnionID += sign
		}
	} else {
		c.Unfollowed += sign
	}
}

// indexOf is the index bucket p belongs in: the unionid index for a
// follower with a unionid, the former-members index for one that left, nil
// without a unionid.
func (a *appTx) indexOf(p *Profile) *bolt.Bucket {
	switch {
	case indexed(p):
		return a.unions
	case former(p):
		return a.formers
	}
	return nil
}

// put stores p (replacing old, when there was one) stamped with seen, and
// moves its index entry (following or former) and the app's counters to
// match.
func (a *appTx) put(p *Profile, old *Profile, seen uint64) error {
	if err := validID("openid", p.OpenID); err != nil {
		return fmt.Errorf("app %s: %w", a.appid, err)
	}
	if strings.IndexByte(p.UnionID, 0) >= 0 {
		return fmt.Errorf("app %s openid %s: unionid contains a NUL byte", a.appid, p.OpenID)
	}
	newIdx := a.indexOf(p)
	var oldIdx *bolt.Bucket
	if old != nil {
		oldIdx = a.indexOf(old)
	}
	same := old != nil && oldIdx == newIdx && old.UnionID == p.UnionID
	if old != nil {
		a.rec.Counts.add(old, -1)
		if oldIdx != nil && !same {
			a.key = unionKey(a.key[:0], old.UnionID, a.appid, p.OpenID)
			if err := oldIdx.Delete(a.key); err != nil {
				return err
			}
		}
	}
	a.rec.Counts.add(p, 1)
	if newIdx != nil && !same {
		a.key = unionKey(a.key[:0], p.UnionID, a.appid, p.OpenID)
		if err := newIdx.Put(a.keep(a.key), nil); err != nil {
			return err
		}
	}
	a.buf = encodeProfile(a.buf[:0], p, seen)
	return a.profiles.Put([]byte(p.OpenID), a.keep(a.buf))
}

// stamp records that run saw openid in a listing, without touching anything
// else. It reports false when openid has no profile.
func (a *appTx) stamp(openid string, run uint64) (bool, error) {
	v := a.profiles.Get([]byte(openid))
	if v == nil {
		return false, nil
	}
	if len(v) < seenRunOffset+8 || v[0] != profileFormat {
		return false, fmt.Errorf("app %s openid %s: %w", a.appid, openid, errCorrupt)
	}
	if binary.BigEndian.Uint64(v[seenRunOffset:]) == run {
		return true, nil
	}
	a.buf = append(a.buf[:0], v...) // v is the mmap'd page: never write to it
	binary.BigEndian.PutUint64(a.buf[seenRunOffset:], run)
	return true, a.profiles.Put([]byte(openid), a.keep(a.buf))
}

// updateApp runs fn on appid's part of one write transaction and saves the
// app record with it.
func (s *Store) updateApp(appid string, fn func(a *appTx) error) error {
	return s.update(func(tx *bolt.Tx) error {
		a, err := openAppTx(tx, appid)
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		return a.save()
	})
}

// PutProfiles stores profiles of one app as given (p.AppID is ignored),
// keeping the unionid index and the counters in the same transaction. A
// profile already cached keeps its sync bookkeeping. For fixtures, demos and
// tools; a sync writes through Sync.
func (s *Store) PutProfiles(appid string, ps []Profile) error {
	err := s.updateApp(appid, func(a *appTx) error {
		for i := range ps {
			p := ps[i]
			p.AppID = appid
			old, seen, ok, err := a.get(p.OpenID)
			if err != nil {
				return err
			}
			var oldp *Profile
			if ok {
				oldp = &old
			}
			if err := a.put(&p, oldp, seen); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store profiles of app %s: %w", appid, err)
	}
	return nil
}

// SetAppName records the name an app was last configured with, so offline
// commands can label it.
func (s *Store) SetAppName(appid, name string) error {
	return s.SetAppNames(map[string]string{appid: name})
}

// SetAppNames records several app names in one transaction.
func (s *Store) SetAppNames(names map[string]string) error {
	err := s.update(func(tx *bolt.Tx) error {
		for appid, name := range names {
			a, err := openAppTx(tx, appid)
			if err != nil {
				return err
			}
			a.rec.Name = name
			if err := a.save(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record app names: %w", err)
	}
	return nil
}
