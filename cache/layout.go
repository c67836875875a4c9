package cache

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Schema 3 keeps each app's profiles as numbered rows, in the order a sync
// first listed them, with an index from openid to row beside them:
//
//	rows   one sub-bucket per appid: row (uint32 big endian) → profile row (record.go)
//	ids    one sub-bucket per appid: openid → row
//	seen   one sub-bucket per appid: chunk → which rows the running sync listed (seen.go)
//
// Openids are random keys, and the API lists them in an order of its own.
// Keyed by openid (schema 2), every commit of a sync rewrote B-tree pages
// all over the app's profiles and its unionid index, so a sync cost more
// per follower the larger the account, and mapped most of the file in
// (issue 12: 46 µs and 1.2 GB for 1.7 M profiles). Rows are appended instead,
// filling pages from left to right; a sync appends them without indexing
// them, and indexes what it appended (the openid index and the unionid
// index, in key order, index.go) at the end of the run, and on the way once
// the unindexed rows are as many as the indexed ones. An app's record says
// how far its rows are indexed (appRecord.Indexed): rows from there on are
// the tail, which only the running sync reads through; a lookup by openid
// that the index does not answer scans the tail.
//
// A re-sync walks the listing and the rows side by side: an unchanged
// account lists its followers in the order of their rows, so matching a
// listed openid costs a step of a cursor, not a lookup.
var (
	bucketRows = []byte("rows")
	bucketIDs  = []byte("ids")
	bucketSeen = []byte("seen")
)

// appRows is one app's rows and openid index in a transaction; nil buckets
// when the app has none (a read transaction creates nothing).
type appRows struct {
	rows, ids *bolt.Bucket
	indexed   uint32 // appRecord.Indexed
	next      uint32 // appRecord.Rows
}

// readRows opens the buckets of appid for reading.
func readRows(tx *bolt.Tx, appid string) (appRows, error) {
	var r appRows
	if b := tx.Bucket(bucketRows); b != nil {
		r.rows = b.Bucket([]byte(appid))
	}
	if b := tx.Bucket(bucketIDs); b != nil {
		r.ids = b.Bucket([]byte(appid))
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
	if r.ids != nil {
		if rv := r.ids.Get([]byte(openid)); rv != nil {
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
	}
	if r.indexed >= r.next {
		return 0, nil, false, nil
	}
	var found bool
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
	if r.ids == nil {
		return nil, nil
	}
	c := r.ids.Cursor()
	first, _ = c.First()
	last, _ = c.Last()
	return bytes.Clone(first), bytes.Clone(last)
}
