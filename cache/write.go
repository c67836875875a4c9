package cache

import (
	"bytes"
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

// unionKey is schema 2's index key unionid \x00 appid \x00 openid (the
// migration reads it).
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

// appTx is one app's part of a write transaction: its record, its rows and
// openid index, and the two unionid indexes. Every change of a profile goes
// through update, add or remove, which keep the indexes and the counters in
// step with it.
type appTx struct {
	tx      *bolt.Tx
	appid   string
	rec     appRecord
	rows    *bolt.Bucket
	ids     *packed           // openid → row
	unions  *packed           // this app's following members: its unionid index
	formers *packed           // this app's former members
	buf     []byte            // scratch for encoding
	key     []byte            // scratch for index keys
	live    map[string]uint32 // readLiveTail's tail rows
	arena   []byte            // bbolt keeps the slices given to Put until commit: they are copied here
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
	a := &appTx{tx: tx, appid: appid}
	if v := tx.Bucket(bucketApps).Get([]byte(appid)); v != nil {
		if err := decodeApp(v, &a.rec); err != nil {
			return nil, fmt.Errorf("app %s: %w", appid, err)
		}
	}
	var err error
	if a.rows, err = tx.Bucket(bucketRows).CreateBucketIfNotExists([]byte(appid)); err != nil {
		return nil, fmt.Errorf("app %s: %w", appid, err)
	}
	// Rows are appended and the indexes' blocks written in key order
	// (index.go), so pages are filled to the brim: bbolt's default of half
	// full is for keys that arrive at random. A later insert into a full
	// page splits it, as it would anyway.
	a.rows.FillPercent = 1
	for _, x := range []struct {
		p    **packed
		name []byte
	}{{&a.ids, bucketIDs}, {&a.unions, bucketMembers}, {&a.formers, bucketFormerMembers}} {
		b, err := tx.Bucket(x.name).CreateBucketIfNotExists([]byte(appid))
		if err != nil {
			return nil, fmt.Errorf("app %s: %w", appid, err)
		}
		b.FillPercent = 1
		*x.p = &packed{b: b, tx: a, owner: []byte(appid)}
	}
	return a, nil
}

func (a *appTx) save() error {
	a.buf = encodeApp(a.buf[:0], &a.rec)
	return a.tx.Bucket(bucketApps).Put([]byte(a.appid), a.keep(a.buf))
}

// get reads the profile of openid through the openid index (rows a sync
// appended and has not indexed yet are not found).
func (a *appTx) get(openid string) (row uint32, p Profile, ok bool, err error) {
	v, found, err := a.ids.get([]byte(openid))
	if err != nil || !found {
		return 0, Profile{}, false, err
	}
	row, ok = rowOf(v)
	if !ok {
		return 0, Profile{}, false, fmt.Errorf("app %s openid %s: malformed row number: %w", a.appid, openid, errCorrupt)
	}
	p, ok, err = a.at(row)
	if err == nil && !ok {
		err = fmt.Errorf("app %s openid %s: the index names row %d, which is missing: %w", a.appid, openid, row, errCorrupt)
	}
	return row, p, ok, err
}

// openIDsOf lists the openids of ps.
func openIDsOf(ps []Profile) []string {
	ids := make([]string, len(ps))
	for i := range ps {
		ids[i] = ps[i].OpenID
	}
	return ids
}

// readLiveTail notes the last tail row of each of openids that the openid
// index does not name (in a.live), in one pass over the tail: such an
// openid is cached, in a row a sync appended and has not indexed yet, and
// a write of it must go to that row. Appended again, the openid's newer
// row would be the one a catch-up keeps, and the other would go with its
// history and with what the sync's run listed (seen.go). A write outside a
// sync calls it first, and a sync for the answers that need it (commit).
func (a *appTx) readLiveTail(openids []string) error {
	a.live = nil
	if a.rec.Indexed >= a.rec.Rows {
		return nil
	}
	want := map[string]bool{}
	for _, id := range openids {
		if _, found, err := a.ids.get([]byte(id)); err != nil {
			return fmt.Errorf("app %s openid %s: %w", a.appid, id, err)
		} else if !found {
			want[id] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	a.live = map[string]uint32{}
	return appRows{rows: a.rows, ids: a.ids, indexed: a.rec.Indexed, next: a.rec.Rows}.eachTail(func(n uint32, _ []byte, h *recordHead) bool {
		if want[string(h.openID)] {
			a.live[string(h.openID)] = n // the last one: see find
		}
		return true
	})
}

// getLive is get that also finds the tail rows readLiveTail noted
// (inTail).
func (a *appTx) getLive(openid string) (row uint32, p Profile, ok, inTail bool, err error) {
	if row, p, ok, err = a.get(openid); ok || err != nil {
		return row, p, ok, false, err
	}
	n, in := a.live[openid]
	if !in {
		return 0, Profile{}, false, false, nil
	}
	p, ok, err = a.at(n)
	return n, p, ok, ok, err
}

// reviseTail rewrites tail row n, which held old and which the openid index
// does not name, with p, for a write outside a sync, and indexes it at
// once: a catch-up running meanwhile read the row before this write, and
// its unionid keys for it no longer hold (index.go).
func (a *appTx) reviseTail(n uint32, p, old *Profile) error {
	if err := a.update(n, p, old); err != nil {
		return err
	}
	if err := a.ids.put([]byte(p.OpenID), rowKey(nil, n)); err != nil {
		return err
	}
	return a.reindex(p, nil)
}

// at reads row n.
func (a *appTx) at(n uint32) (Profile, bool, error) {
	v := a.rows.Get(rowKey(a.key[:0], n))
	if v == nil {
		return Profile{}, false, nil
	}
	p, err := profileAt(a.appid, n, v)
	return p, err == nil, err
}

// indexedRow reports whether row n of openid is in the openid index: every
// row below rec.Indexed is, and a row of the tail may be (a write outside
// a sync indexes at once).
func (a *appTx) indexedRow(n uint32, openid string) bool {
	if n < a.rec.Indexed {
		return true
	}
	v, _, _ := a.ids.get([]byte(openid)) // a damaged block: the row is not indexed
	r, ok := rowOf(v)
	return ok && r == n
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

// indexOf is the index p belongs in: the unionid index for a follower with
// a unionid, the former-members index for one that left, nil without a
// unionid.
func (a *appTx) indexOf(p *Profile) *packed {
	switch {
	case indexed(p):
		return a.unions
	case former(p):
		return a.formers
	}
	return nil
}

func (a *appTx) check(p *Profile) error {
	if err := validID("openid", p.OpenID); err != nil {
		return fmt.Errorf("app %s: %w", a.appid, err)
	}
	if strings.IndexByte(p.UnionID, 0) >= 0 {
		return fmt.Errorf("app %s openid %s: unionid contains a NUL byte", a.appid, p.OpenID)
	}
	return nil
}

// reindex moves the unionid index entry of an indexed row from what old
// needed (nil: none) to what p needs (nil: none).
func (a *appTx) reindex(p, old *Profile) error {
	var newIdx, oldIdx *packed
	if p != nil {
		newIdx = a.indexOf(p)
	}
	if old != nil {
		oldIdx = a.indexOf(old)
	}
	if p != nil && old != nil && oldIdx == newIdx && old.UnionID == p.UnionID {
		return nil
	}
	if oldIdx != nil {
		a.key = memberKey(a.key[:0], old.UnionID, old.OpenID)
		if err := oldIdx.delete(a.key); err != nil {
			return err
		}
	}
	if newIdx != nil {
		if err := newIdx.put(memberKey(nil, p.UnionID, p.OpenID), nil); err != nil {
			return err
		}
	}
	return nil
}

// update rewrites row n, which held old, with p (same openid), moving its
// unionid index entry when the row is indexed, and the counters.
func (a *appTx) update(n uint32, p, old *Profile) error {
	if err := a.check(p); err != nil {
		return err
	}
	if a.indexedRow(n, p.OpenID) {
		if err := a.reindex(p, old); err != nil {
			return err
		}
	}
	a.rec.Counts.add(old, -1)
	a.rec.Counts.add(p, 1)
	a.buf = encodeRecord(a.buf[:0], p)
	return a.rows.Put(a.keep(rowKey(a.key[:0], n)), a.keep(a.buf))
}

// add appends p as a new row. With index, the row goes into the openid and
// unionid indexes at once (writes of a few profiles); without, it stays in
// the tail for the sync that appends it to index in key order (index.go).
func (a *appTx) add(p *Profile, index bool) (uint32, error) {
	if err := a.check(p); err != nil {
		return 0, err
	}
	n := a.rec.Rows
	if n == 1<<32-1 {
		return 0, fmt.Errorf("app %s: no room for another row", a.appid)
	}
	a.rec.notePrefix(p.OpenID)
	a.rec.Rows++
	a.rec.Counts.add(p, 1)
	if index {
		if a.rec.Indexed == n {
			a.rec.Indexed++ // no tail: the index stays complete
		}
		if err := a.ids.put([]byte(p.OpenID), rowKey(nil, n)); err != nil {
			return 0, err
		}
		if err := a.reindex(p, nil); err != nil {
			return 0, err
		}
	}
	a.buf = encodeRecord(a.buf[:0], p)
	return n, a.rows.Put(a.keep(rowKey(a.key[:0], n)), a.keep(a.buf))
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

// PutProfiles stores profiles of one app as given (p.AppID is ignored) in
// one transaction: a profile already cached is rewritten in its row, a new
// one is appended, and the new ones are then indexed in key order, as a
// sync's are (catchUp). For fixtures, demos and tools; a sync writes
// through Sync.
func (s *Store) PutProfiles(appid string, ps []Profile) error {
	err := s.updateApp(appid, func(a *appTx) error {
		a.rec.Writes++
		if err := a.readLiveTail(openIDsOf(ps)); err != nil {
			return err
		}
		for i := range ps {
			p := ps[i]
			p.AppID = appid
			n, old, ok, inTail, err := a.getLive(p.OpenID)
			switch {
			case err != nil:
			case inTail:
				err = a.reviseTail(n, &p, &old)
			case ok:
				err = a.update(n, &p, &old)
			default:
				_, err = a.add(&p, false)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = s.catchUp(appid)
	}
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
