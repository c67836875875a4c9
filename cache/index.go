package cache

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// indexChunk is how many index entries one transaction of a catch-up
// writes, and tailChunk how many rows one read transaction scans: small
// enough that the dirty pages of a transaction, and the pages of the file
// it maps, stay a few MB. indexChunk is a variable so that a test can have
// a few rows take several transactions.
var indexChunk = 20000

const tailChunk = 1 << 16

// catchUpRunBytes bounds each of a catch-up's three sorters in memory
// (an import's one sorts in runs of sortRunBytes): 100 000 rows fit, and a
// sync of more is at its peak of memory here, the three full at once. A
// larger account spills more runs, which merge as cheaply.
const catchUpRunBytes = 8 << 20

// catchUpStep is called after each phase of a catch-up of appid, and after
// each transaction within one ("ids chunk", "members chunk", "formermembers
// chunk"); a test makes it fail to leave the index half caught up, as a
// kill would, or writes there as another process would.
var catchUpStep = func(appid, phase string) error { return nil }

// catchUp indexes the rows of appid that a sync appended without indexing
// (from rec.Indexed to rec.Rows at the start): their openids go into the
// openid index and their unionids into the unionid indexes, each sorted
// first (extsort.go) and written in key order, a chunk a transaction, so
// that the B-trees are rewritten from left to right once rather than all
// over at every commit. One reading of the rows feeds all three.
//
// An openid appended twice (listed twice, or fetched again after a resumed
// page) keeps its last row; the others are removed, with their counts. It
// is resumable: each phase is idempotent, and the last transaction moves
// rec.Indexed, so a catch-up killed at any point is done again by the next.
//
// The unionid keys come from a reading of the rows that a write outside
// the sync (a live lookup) may overtake before they are written: from the
// moment the app's write counter moves, each key is checked against its row
// before it goes in.
func (s *Store) catchUp(appid string) error {
	var from, end uint32
	var writes uint64
	err := s.view(func(tx *bolt.Tx) error {
		r, err := readRows(tx, appid)
		from, end = r.indexed, r.next
		if v := tx.Bucket(bucketApps).Get([]byte(appid)); v != nil {
			var rec appRecord
			if err := decodeApp(v, &rec); err != nil {
				return err
			}
			writes = rec.Writes
		}
		return err
	})
	if err != nil || from >= end {
		return err
	}
	dir := filepath.Dir(s.path)
	ids := newSorter(dir)
	defer ids.close()
	ids.expectRecords(int(end - from))
	following := newSorter(dir)
	defer following.close()
	following.expectRecords(int(end - from)) // most rows are followers with a unionid
	left := newSorter(dir)
	defer left.close()
	for _, srt := range []*sorter{ids, following, left} {
		srt.limit = catchUpRunBytes
	}
	var p Profile
	var key, row []byte
	// p aliases each row's page: the sorters copy what they keep.
	err = s.scanRows(appid, from, end, func(n uint32, v []byte) error {
		if err := scanRecord(v, &p); err != nil {
			return fmt.Errorf("row %d: %w", n, err)
		}
		row = rowKey(row[:0], n)
		if err := ids.add([]byte(p.OpenID), row); err != nil {
			return err
		}
		var to *sorter
		switch {
		case indexed(&p):
			to = following
		case former(&p):
			to = left
		default:
			return nil
		}
		key = memberKey(key[:0], p.UnionID, p.OpenID)
		return to.add(key, row)
	})
	if err == nil {
		err = catchUpStep(appid, "scan")
	}
	if err != nil {
		return fmt.Errorf("index the rows of app %s: %w", appid, err)
	}
	removed, err := s.indexOpenIDs(appid, ids)
	if err == nil {
		err = catchUpStep(appid, "ids")
	}
	if err != nil {
		return fmt.Errorf("index the openids of app %s: %w", appid, err)
	}
	for _, w := range []struct {
		srt    *sorter
		bucket []byte
	}{{following, bucketMembers}, {left, bucketFormerMembers}} {
		err := s.indexUnionIDs(appid, w.srt, w.bucket, removed, writes)
		if err == nil {
			err = catchUpStep(appid, string(w.bucket))
		}
		if err != nil {
			return fmt.Errorf("index the unionids of app %s: %w", appid, err)
		}
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

// indexOpenIDs writes the openid index entries of the sorted records
// (openid → row) and returns the rows it removed as duplicates.
func (s *Store) indexOpenIDs(appid string, srt *sorter) (map[uint32]bool, error) {
	// The records of one openid come together: the last is the row that
	// stays. A batch never splits an openid's records.
	type entry struct {
		openid   []byte
		from, to int // its rows: rows[from:to]
	}
	removed := map[uint32]bool{}
	// Sized for a chunk once: grown by appending, they were a tenth of a
	// catch-up's garbage.
	chunk := min(indexChunk, srt.count)
	batch := make([]entry, 0, chunk)
	arena := make([]byte, 0, chunk*32) // the batch's openids (28 bytes, real ones)
	rows := make([]uint32, 0, chunk)   // the batch's rows, an openid's together
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		keys := make([][]byte, len(batch))
		for i := range batch {
			keys[i] = batch[i].openid
		}
		var err error
		var vals []byte // the values merge writes, back to back: it encodes them into blocks
		for done := 0; done < len(batch) && err == nil; {
			err = s.updateApp(appid, func(a *appTx) error {
				var ferr error
				vals = vals[:0]
				n, err := a.ids.merge(keys[done:], func(i int, cur []byte, has bool) []byte {
					e := batch[done+i]
					c, ok := rowOf(cur)
					keep, err := a.indexOpenID(rows[e.from:e.to], c, has && ok, removed)
					if err != nil && ferr == nil {
						ferr = err
					}
					vals = rowKey(vals, keep)
					return vals[len(vals)-4 : len(vals) : len(vals)]
				})
				done += n
				if ferr != nil {
					return ferr
				}
				return err
			})
			if err == nil {
				err = catchUpStep(appid, "ids chunk")
			}
		}
		// What bbolt keeps until the commit was copied (appTx.keep), so
		// the next batch reuses the memory.
		batch, arena, rows = batch[:0], arena[:0], rows[:0]
		return err
	}
	it, err := srt.iter()
	if err != nil {
		return nil, err
	}
	for it.next() {
		openid := it.key
		n, ok := rowOf(it.val)
		if !ok {
			return nil, fmt.Errorf("scratch record %q: %w", it.key, errCorrupt)
		}
		if len(batch) > 0 && bytes.Equal(batch[len(batch)-1].openid, openid) {
			rows = append(rows, n)
			batch[len(batch)-1].to = len(rows)
			continue
		}
		if len(batch) >= indexChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		start := len(arena)
		arena = append(arena, openid...)
		rows = append(rows, n)
		batch = append(batch, entry{openid: arena[start:len(arena):len(arena)], from: len(rows) - 1, to: len(rows)})
	}
	if it.err != nil {
		return nil, it.err
	}
	return removed, flush()
}

// indexOpenID returns the row the openid index is to name for an openid
// with the tail rows rows: the last of them, unless the index already names
// (cur, when have) a later one. Every other row of the openid goes, noted
// in removed.
func (a *appTx) indexOpenID(rows []uint32, cur uint32, have bool, removed map[uint32]bool) (uint32, error) {
	keep := slices.Max(rows)
	if have && cur != keep {
		if cur > keep {
			keep = cur // written, indexed, after the sync appended its rows
		} else if err := a.removeRow(cur, true); err != nil {
			return 0, err
		}
		removed[min(cur, keep)] = true
	}
	for _, n := range rows {
		if n != keep {
			if err := a.removeRow(n, false); err != nil {
				return 0, err
			}
			removed[n] = true
		}
	}
	return keep, nil
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

// indexUnionIDs writes the sorted unionid index keys (key → row) into the
// app's sub-bucket of bucket, but those of removed rows; writes is the
// app's write counter when the rows were read (see catchUp).
func (s *Store) indexUnionIDs(appid string, srt *sorter, bucket []byte, removed map[uint32]bool, writes uint64) error {
	chunk := min(indexChunk, srt.count) // sized once, as indexOpenIDs's
	keys := make([][]byte, 0, chunk)
	arena := make([]byte, 0, chunk*64) // a unionid and an openid, 57 bytes of real ones
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		empty := []byte{}
		var err error
		for done := 0; done < len(keys) && err == nil; {
			err = s.updateApp(appid, func(a *appTx) error {
				b := a.unions
				if bytes.Equal(bucket, bucketFormerMembers) {
					b = a.formers
				}
				overtaken := a.rec.Writes != writes
				var ferr error
				n, err := b.merge(keys[done:], func(i int, cur []byte, has bool) []byte {
					if overtaken {
						ok, err := a.unionKeyHolds(keys[done+i], b)
						if err != nil && ferr == nil {
							ferr = err
						}
						if !ok {
							if has {
								return cur // put there by the write that overtook
							}
							return nil
						}
					}
					return empty
				})
				done += n
				if ferr != nil {
					return ferr
				}
				return err
			})
			if err == nil {
				err = catchUpStep(appid, string(bucket)+" chunk")
			}
		}
		keys, arena = keys[:0], arena[:0] // bbolt was handed copies (appTx.keep)
		return err
	}
	it, err := srt.iter()
	if err != nil {
		return err
	}
	for it.next() {
		n, ok := rowOf(it.val)
		if !ok {
			return fmt.Errorf("scratch record %q: %w", it.key, errCorrupt)
		}
		if removed[n] || (len(keys) > 0 && bytes.Equal(keys[len(keys)-1], it.key)) {
			continue
		}
		start := len(arena)
		arena = append(arena, it.key...)
		keys = append(keys, arena[start:len(arena):len(arena)])
		if len(keys) == indexChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if it.err != nil {
		return it.err
	}
	return flush()
}

// unionKeyHolds reports whether the unionid index key k (of the index b)
// agrees with the row the openid index names for its openid.
func (a *appTx) unionKeyHolds(k []byte, b *packed) (bool, error) {
	u, o, ok := splitMemberKey(k)
	if !ok {
		return false, fmt.Errorf("scratch key %q: %w", k, errCorrupt)
	}
	_, p, found, err := a.get(string(o))
	if err != nil || !found {
		return false, err
	}
	return p.UnionID == string(u) && a.indexOf(&p) == b, nil
}
