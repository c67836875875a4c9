package cache

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Schema 3 keeps each app's profiles as numbered rows, in the order a sync
// first listed them, with an index from openid to row beside them:
//
//	rows           one sub-bucket per appid: row (uint32 big endian) → profile row (record.go)
//	ids            one sub-bucket per appid: openid → row
//	seen           one sub-bucket per appid: chunk → which rows the running sync listed (seen.go)
//	members        one sub-bucket per appid: unionid \x00 openid → empty, for the
//	               following profiles with a unionid (the unionid index)
//	formermembers  the same for profiles that carry a unionid but no longer follow
//
// Openids are random keys, and the API lists them in an order of its own.
// Keyed by openid (schema 2), every commit of a sync rewrote B-tree pages
// all over the app's profiles and its unionid index, so a sync cost more
// per follower the larger the account, and mapped most of the file in
// (issue 12: 46 µs and 1.2 GB for 1.7 M profiles). Rows are appended instead,
// filling pages from left to right; a sync appends them without indexing
// them, and indexes what it appended (the openid index and the unionid
// index, sorted first and written in key order, index.go) when the run
// ends, completed or stopped. An app's record says how far its rows are
// indexed (appRecord.Indexed): rows from there on are the tail. The running
// sync reads through it, a lookup by openid that the index does not answer
// scans it, and so does a lookup by unionid; the readers of rows give an
// openid the tail holds twice once (tailreads.go); the links see the tail
// once the run ends. (Indexing on the way,
// each time the tail grew as large as the index, let lookups see a first
// sync's rows sooner, but inserting into a B-tree's middle splits its
// pages: the file came out a fifth larger, and the work was no less.)
//
// A re-sync walks the listing and the rows side by side: an unchanged
// account lists its followers in the order of their rows, so matching a
// listed openid costs a step of a cursor, not a lookup.
//
// The unionid index is one per app, too (schema 2 had one for all apps,
// keyed unionid \x00 appid \x00 openid): the persons two apps share have
// neighbouring keys there, so indexing one app's rows split the pages of
// the other's, left the index half empty, and cost 18 bytes more a key.
// A person's members are a lookup in each app's index (a handful of apps),
// and the walk of every unionid (link analysis) merges the apps' indexes.
var (
	bucketRows          = []byte("rows")
	bucketIDs           = []byte("ids")
	bucketSeen          = []byte("seen")
	bucketMembers       = []byte("members")
	bucketFormerMembers = []byte("formermembers")
)

// memberKey is the unionid index key unionid \x00 openid.
func memberKey(dst []byte, unionid, openid string) []byte {
	dst = append(dst, unionid...)
	dst = append(dst, 0)
	return append(dst, openid...)
}

// splitMemberKey is the inverse of memberKey.
func splitMemberKey(k []byte) (unionid, openid []byte, ok bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return nil, nil, false
	}
	return k[:i], k[i+1:], true
}

// memberIndexes are appid's two unionid indexes in a read transaction
// (with a nil bucket where absent).
func memberIndexes(tx *bolt.Tx, appid []byte) (following, left *packed) {
	following, left = &packed{}, &packed{}
	if b := tx.Bucket(bucketMembers); b != nil {
		following.b = b.Bucket(appid)
	}
	if b := tx.Bucket(bucketFormerMembers); b != nil {
		left.b = b.Bucket(appid)
	}
	return following, left
}

// eachWithPrefix calls fn with the rest of each key of p that starts with
// prefix, in order.
func (p *packed) eachWithPrefix(prefix []byte, fn func(rest []byte) error) error {
	it := p.seek(prefix)
	for k, _, ok := it.next(); ok && bytes.HasPrefix(k, prefix); k, _, ok = it.next() {
		if err := fn(k[len(prefix):]); err != nil {
			return err
		}
	}
	return it.err()
}

// appRows is one app's rows and openid index in a transaction; nil buckets
// when the app has none (a read transaction creates nothing).
type appRows struct {
	rows    *bolt.Bucket
	ids     *packed // openid → row (a nil bucket when absent)
	indexed uint32  // appRecord.Indexed
	next    uint32  // appRecord.Rows
}

// readRows opens the buckets of appid for reading.
func readRows(tx *bolt.Tx, appid string) (appRows, error) {
	r := appRows{ids: &packed{}}
	if b := tx.Bucket(bucketRows); b != nil {
		r.rows = b.Bucket([]byte(appid))
	}
	if b := tx.Bucket(bucketIDs); b != nil {
		r.ids.b = b.Bucket([]byte(appid))
	}
	if v := tx.Bucket(bucketApps).Get([]byte(appid)); v != nil {
		var rec appRecord
		if err := decodeApp(v, &rec); err != nil {
			return r, fmt.Errorf("app %s: %w", appid, err)
		}
		r.indexed, r.next = rec.Indexed, rec.Rows
	}
	return r, nil
}

// find returns the row of openid and its value (valid during the
// transaction): through the index, else in the tail.
func (r appRows) find(openid string) (row uint32, v []byte, ok bool, err error) {
	if r.rows == nil {
		return 0, nil, false, nil
	}
	rv, found, err := r.ids.get([]byte(openid))
	if err != nil {
		return 0, nil, false, fmt.Errorf("openid %s: %w", openid, err)
	}
	if found {
		row, ok := rowOf(rv)
		if !ok {
			return 0, nil, false, fmt.Errorf("openid %s: malformed row number: %w", openid, errCorrupt)
		}
		v := r.rows.Get(rowKey(nil, row))
		if v == nil {
			return 0, nil, false, fmt.Errorf("openid %s: the index names row %d, which is missing: %w", openid, row, errCorrupt)
		}
		return row, v, true, nil
	}
	if r.indexed >= r.next {
		return 0, nil, false, nil
	}
	err = r.eachTail(func(n uint32, v []byte, h *recordHead) bool {
		if string(h.openID) == openid {
			// The last match: a sync that listed an openid twice before
			// indexing appended it twice, and the later row wins.
			row, found = n, true
		}
		return true
	})
	if err != nil || !found {
		return 0, nil, false, err
	}
	return row, r.rows.Get(rowKey(nil, row)), true, nil
}

// eachTail calls fn for every row not yet indexed, in row order, until fn
// returns false.
func (r appRows) eachTail(fn func(row uint32, v []byte, h *recordHead) bool) error {
	if r.rows == nil || r.indexed >= r.next {
		return nil
	}
	var h recordHead
	c := r.rows.Cursor()
	for k, v := c.Seek(rowKey(nil, r.indexed)); k != nil; k, v = c.Next() {
		n, ok := rowOf(k)
		if !ok {
			return fmt.Errorf("malformed row key %x: %w", k, errCorrupt)
		}
		if err := decodeHead(v, &h); err != nil {
			return fmt.Errorf("row %d: %w", n, err)
		}
		if !fn(n, v, &h) {
			return nil
		}
	}
	return nil
}

// profileAt decodes the row value v of appid.
func profileAt(appid string, row uint32, v []byte) (Profile, error) {
	var p Profile
	if err := decodeRecord(v, &p); err != nil {
		return Profile{}, fmt.Errorf("app %s row %d: %w", appid, row, err)
	}
	p.AppID = appid
	return p, nil
}

// firstLastOpenID returns the smallest and largest indexed openid of an app.
func (r appRows) firstLastOpenID() (first, last []byte) {
	if r.ids.b == nil {
		return nil, nil
	}
	it := r.ids.seek(nil)
	if k, _, ok := it.next(); ok {
		first = bytes.Clone(k)
	}
	// The last key is in the last block.
	_, bv := r.ids.b.Cursor().Last()
	b := blockIter{v: bv}
	for b.next() {
		last = append(last[:0], b.key...)
	}
	return first, last
}
