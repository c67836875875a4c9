package cache

import (
	"bytes"
	"fmt"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// indexChunk is how many index entries one transaction of a catch-up
// writes, and tailChunk how many rows one read transaction scans: small
// enough that the dirty pages of a transaction, and the pages of the file
// it maps, stay a few MB.
const (
	indexChunk = 20000
	tailChunk  = 1 << 16
)

// catchUpMin: a sync indexes its tail on the way once it holds this many
// rows and as many as the index (catchUpDue), so that lookups and the links
// see most of a long first sync while it runs, at the cost of rewriting the
// index about twice in all.
const catchUpMin = 200_000

// catchUpDue reports whether a sync should index the tail now.
func (r *appRecord) catchUpDue() bool {
	tail := r.Rows - r.Indexed
	return tail >= catchUpMin && tail >= r.Indexed
}

// catchUp indexes the rows of appid that a sync appended without indexing
// (from rec.Indexed to rec.Rows at the start): their openids go into the
// openid index and their unionids into the unionid indexes, each sorted
// first (extsort.go) and written in key order, a chunk a transaction, so
// that the B-trees are rewritten from left to right once rather than all
// over at every commit.
//
// An openid appended twice (listed twice, or fetched again after a resumed
// page) keeps its last row; the others are removed, with their counts. It
// is resumable: each phase is idempotent, and the last transaction moves
// rec.Indexed, so a catch-up killed at any point is done again by the next.
func (s *Store) catchUp(appid string) error {
	var from, end uint32
	err := s.view(func(tx *bolt.Tx) error {
		r, err := readRows(tx, appid)
		from, end = r.indexed, r.next
		return err
	})
	if err != nil || from >= end {
		return err
	}
	if err := s.indexOpenIDs(appid, from, end); err != nil {
		return fmt.Errorf("index the openids of app %s: %w", appid, err)
	}
	if err := s.indexUnionIDs(appid, from, end); err != nil {
		return fmt.Errorf("index the unionids of app %s: %w", appid, err)
	}
	return s.updateApp(appid, func(a *appTx) error {
		a.rec.Indexed = max(a.rec.Indexed, end)
		return nil
	})
}

// scanRows calls fn for every row of appid in [from, end), a read
// transaction per tailChunk rows; fn runs inside the transaction, so v is
// valid only during the call.
func (s *Store) scanRows(appid string, from, end uint32, fn func(n uint32, v []byte) error) error {
	next := from
	for next < end {
		stop := uint32(min(uint64(next)+tailChunk, uint64(end)))
		err := s.view(func(tx *bolt.Tx) error {
			r, err := readRows(tx, appid)
			if err != nil || r.rows == nil {
				next = end
				return err
			}
			c := r.rows.Cursor()
			k, v := c.Seek(rowKey(nil, next))
			for ; k != nil; k, v = c.Next() {
				n, ok := rowOf(k)
				if !ok {
					return fmt.Errorf("malformed row key %x: %w", k, errCorrupt)
				}
				if n >= stop {
					break
				}
				if err := fn(n, v); err != nil {
					return err
				}
			}
			next = stop
			if k == nil {
				next = end // no row after these
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) scratchDir() string { return filepath.Dir(s.path) }

// indexOpenIDs writes the openid index entries of the rows [from, end).
func (s *Store) indexOpenIDs(appid string, from, end uint32) error {
	srt := newSorter(s.scratchDir(), sortBudget)
	defer srt.close()
	var h recordHead
	var rec []byte
	err := s.scanRows(appid, from, end, func(n uint32, v []byte) error {
		if err := decodeHead(v, &h); err != nil {
			return fmt.Errorf("row %d: %w", n, err)
		}
		// openid \x00 row: openids hold no NUL, so the records sort by
		// openid and then by row.
		rec = append(append(append(rec[:0], h.openID...), 0), rowKey(nil, n)...)
		return srt.add(rec)
	})
	if err != nil {
		return err
	}

	// The records of one openid come together: the last is the row that
	// stays. A batch never splits an openid's records.
	type entry struct {
		openid []byte
		rows   []uint32
	}
	var batch []entry
	var arena []byte
	count := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.updateApp(appid, func(a *appTx) error {
			for _, e := range batch {
				if err := a.indexOpenID(e.openid, e.rows); err != nil {
					return err
				}
			}
			return nil
		})
		batch, arena, count = batch[:0], arena[:0:0], 0
		return err
	}
	err = srt.each(func(r []byte) error {
		// The row is the last four bytes, after the NUL.
		i := len(r) - 5
		if i < 0 || r[i] != 0 {
			return fmt.Errorf("scratch record %q: %w", r, errCorrupt)
		}
		openid := r[:i]
		n, _ := rowOf(r[i+1:])
		if len(batch) > 0 && bytes.Equal(batch[len(batch)-1].openid, openid) {
			last := &batch[len(batch)-1]
			last.rows = append(last.rows, n)
			return nil
		}
		if count >= indexChunk {
			if err := flush(); err != nil {
				return err
			}
		}
		start := len(arena)
		arena = append(arena, openid...)
		batch = append(batch, entry{openid: arena[start:len(arena):len(arena)], rows: []uint32{n}})
		count++
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// indexOpenID points the openid index at the last of rows (the tail rows
// of openid, ascending), unless the index already names a later row;
// every other row of openid goes.
func (a *appTx) indexOpenID(openid []byte, rows []uint32) error {
	keep := rows[len(rows)-1]
	if cur, ok := rowOf(a.ids.Get(openid)); ok && cur != keep {
		if cur > keep {
			keep = cur // written, indexed, after the sync appended its rows
		} else if err := a.removeRow(cur, true); err != nil {
			return err
		}
	}
	for _, n := range rows {
		if n != keep {
			if err := a.removeRow(n, false); err != nil {
				return err
			}
		}
	}
	return a.ids.Put(a.keep(openid), a.keep(rowKey(nil, keep)))
}

// removeRow drops row n, a duplicate, with its unionid index entry when it
// was indexed.
func (a *appTx) removeRow(n uint32, indexedRow bool) error {
	p, ok, err := a.at(n)
	if err != nil || !ok {
		return err
	}
	if indexedRow {
		if err := a.reindex(nil, &p); err != nil {
			return err
		}
	}
	a.rec.Counts.add(&p, -1)
	return a.rows.Delete(rowKey(nil, n))
}

// indexUnionIDs writes the unionid index entries of the rows [from, end)
// that the openid index names (the duplicates are gone by now).
//
// The keys come from a reading of the rows that a write outside the sync
// (a live lookup) may overtake before they are written: from the moment the
// app's write counter moves, each key is checked against its row before it
// goes in.
func (s *Store) indexUnionIDs(appid string, from, end uint32) error {
	following := newSorter(s.scratchDir(), sortBudget/2)
	defer following.close()
	left := newSorter(s.scratchDir(), sortBudget/2)
	defer left.close()
	var writes uint64
	err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketApps).Get([]byte(appid)); v != nil {
			var rec appRecord
			if err := decodeApp(v, &rec); err != nil {
				return err
			}
			writes = rec.Writes
		}
		return nil
	})
	if err != nil {
		return err
	}
	var p Profile
	var key []byte
	err = s.scanRows(appid, from, end, func(n uint32, v []byte) error {
		if err := decodeRecord(v, &p); err != nil {
			return fmt.Errorf("row %d: %w", n, err)
		}
		switch {
		case indexed(&p):
			key = unionKey(key[:0], p.UnionID, appid, p.OpenID)
			return following.add(key)
		case former(&p):
			key = unionKey(key[:0], p.UnionID, appid, p.OpenID)
			return left.add(key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, w := range []struct {
		srt    *sorter
		bucket []byte
	}{{following, bucketUnionIDs}, {left, bucketFormerUnionIDs}} {
		var keys [][]byte
		flush := func() error {
			if len(keys) == 0 {
				return nil
			}
			err := s.updateApp(appid, func(a *appTx) error {
				b := a.tx.Bucket(w.bucket)
				overtaken := a.rec.Writes != writes
				for _, k := range keys {
					if overtaken {
						ok, err := a.unionKeyHolds(k, b)
						if err != nil {
							return err
						}
						if !ok {
							continue
						}
					}
					if err := b.Put(k, nil); err != nil {
						return err
					}
				}
				return nil
			})
			keys = keys[:0]
			return err
		}
		err := w.srt.each(func(k []byte) error {
			if len(keys) > 0 && bytes.Equal(keys[len(keys)-1], k) {
				return nil
			}
			keys = append(keys, bytes.Clone(k))
			if len(keys) == indexChunk {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// unionKeyHolds reports whether the unionid index key k (of bucket b)
// agrees with the row the openid index names for its openid.
func (a *appTx) unionKeyHolds(k []byte, b *bolt.Bucket) (bool, error) {
	u, _, o, ok := splitUnionKey(k)
	if !ok {
		return false, fmt.Errorf("scratch key %q: %w", k, errCorrupt)
	}
	_, p, found, err := a.get(string(o))
	if err != nil || !found {
		return false, err
	}
	return p.UnionID == string(u) && a.indexOf(&p) == b, nil
}
