package cache

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migrateChunk is how many profiles one transaction of the schema 3
// migration moves.
var migrateChunk = 20000 // a variable so that tests can take many chunks

// keyMigrating, in meta, marks a file the schema 2 → 3 migration has begun
// on and not finished. Such a file already says schema 3: an older
// wxscope takes a schema 2 file for its own, and would read the apps not
// yet moved as all there is, or the moved apps' records as damage (its
// salvage then keeping only the profiles not yet moved). It refuses a
// schema 3 file as a newer wxscope's.
var keyMigrating = []byte("migrating")

// midMigration reports whether the file is part-way through migrateRows.
func midMigration(tx *bolt.Tx) bool {
	meta := tx.Bucket(bucketMeta)
	return meta != nil && meta.Get(keyMigrating) != nil
}

// createRowBuckets (within schema 2 → 3) makes the buckets of the row
// layout; the profiles move into them in migrateRows.
func createRowBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketRows, bucketIDs, bucketSeen, bucketMembers, bucketFormerMembers} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// migrateRows moves a schema 2 file to schema 3 (layout.go), in place and
// resumably: each transaction moves the next migrateChunk profiles of one
// app out of its openid-keyed bucket into rows (numbered in openid order)
// and the openid index, deleting them from the old bucket in the same
// transaction, so a migration killed at any point goes on where it stopped
// and nothing is lost or copied twice. The unionid indexes keep their keys.
// The profiles a run in progress had listed (their seen-run stamp is the
// run's id) become its seen rows, so the run resumes. The first transaction
// marks the file (keyMigrating), the last removes the old bucket and the
// mark. A reader of a marked file asks for a sync.
func migrateRows(db *bolt.DB) error {
	var v uint32
	migrating := false
	err := db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if b := meta.Get(keySchema); len(b) == 4 {
				v = binary.BigEndian.Uint32(b)
			}
		}
		migrating = midMigration(tx)
		return nil
	})
	if err != nil || (v != 2 && !migrating) {
		return err
	}
	for {
		done, err := migrateRowsChunk(db)
		if err != nil || done {
			return err
		}
	}
}

func migrateRowsChunk(db *bolt.DB) (done bool, err error) {
	err = db.Update(func(tx *bolt.Tx) error {
		if err := createRowBuckets(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if !midMigration(tx) {
			if err := meta.Put(keyMigrating, []byte("2 → 3")); err != nil {
				return err
			}
			if err := meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, 3)); err != nil {
				return err
			}
		}
		old := tx.Bucket(bucketProfiles)
		var appid []byte
		if old != nil {
			c := old.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if v == nil { // a sub-bucket
					appid = k
					break
				}
			}
		}
		if appid == nil {
			if old != nil {
				if err := tx.DeleteBucket(bucketProfiles); err != nil {
					return err
				}
			}
			// Then the unionid indexes, split by app.
			for _, m := range []struct{ from, to []byte }{{bucketUnionIDs, bucketMembers}, {bucketFormerUnionIDs, bucketFormerMembers}} {
				if tx.Bucket(m.from) == nil {
					continue
				}
				moved, err := moveUnionKeys(tx, m.from, m.to)
				if err != nil || moved {
					return err
				}
				if err := tx.DeleteBucket(m.from); err != nil {
					return err
				}
			}
			done = true
			return meta.Delete(keyMigrating)
		}
		appid = append([]byte(nil), appid...)
		a, err := openAppTx(tx, string(appid))
		if err != nil {
			return err
		}
		from := old.Bucket(appid)
		seen := newSeenSet()
		seenBucket := a.seenBucket()
		if err := seen.load(seenBucket); err != nil {
			return err
		}
		run := a.rec.Sync.RunID
		inProgress := a.rec.Sync.InProgress
		c := from.Cursor()
		n := 0
		var p Profile
		var ids, rows [][]byte
		for k, v := c.First(); k != nil && n < migrateChunk; k, v = c.First() {
			stamp, err := decodeProfile(v, &p)
			if err != nil {
				// Check reports what does not decode; the migration must not
				// refuse to open the cache over one value.
				if err := c.Delete(); err != nil {
					return err
				}
				continue
			}
			p.AppID, p.OpenID = string(appid), string(k)
			row := a.rec.Rows
			a.rec.notePrefix(p.OpenID)
			a.rec.Rows++
			a.rec.Indexed = a.rec.Rows
			a.buf = encodeRecord(a.buf[:0], &p)
			if err := a.rows.Put(a.keep(rowKey(nil, row)), a.keep(a.buf)); err != nil {
				return err
			}
			ids = append(ids, a.keep(k))
			rows = append(rows, rowKey(nil, row))
			if inProgress && stamp == run {
				seen.set(row)
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		// In openid order, so the index's blocks are written at its end.
		for len(ids) > 0 {
			m, err := a.ids.merge(ids, func(i int, _ []byte, _ bool) []byte { return rows[i] })
			if err != nil {
				return err
			}
			ids, rows = ids[m:], rows[m:]
		}
		if n < migrateChunk {
			// The app's profiles are all moved.
			if err := old.DeleteBucket(appid); err != nil {
				return err
			}
		}
		if err := seen.save(seenBucket); err != nil {
			return err
		}
		return a.save()
	})
	if err != nil {
		return false, fmt.Errorf("move the profiles into rows: %w", err)
	}
	return done, nil
}

// moveUnionKeys moves up to migrateChunk keys of schema 2's unionid index
// from into the per-app indexes under to, deleting them from from; it
// reports whether it moved any (false: from is empty). The keys come in
// unionid order, so each app's index fills from left to right.
func moveUnionKeys(tx *bolt.Tx, from, to []byte) (bool, error) {
	src := tx.Bucket(from)
	dst := tx.Bucket(to)
	c := src.Cursor()
	n := 0
	keys := map[string][][]byte{}
	for k, _ := c.First(); k != nil && n < migrateChunk; k, _ = c.First() {
		if u, app, openid, ok := splitUnionKey(k); ok {
			keys[string(app)] = append(keys[string(app)], memberKey(nil, string(u), string(openid)))
		} // a malformed key is Check's to report, and there is nothing to move
		if err := c.Delete(); err != nil {
			return false, err
		}
		n++
	}
	empty := []byte{}
	for app, ks := range keys {
		b, err := dst.CreateBucketIfNotExists([]byte(app))
		if err != nil {
			return false, err
		}
		b.FillPercent = 1
		p := &packed{b: b, tx: cloneKeeper{}, owner: []byte(app)}
		for len(ks) > 0 {
			m, err := p.merge(ks, func(int, []byte, bool) []byte { return empty })
			if err != nil {
				return false, err
			}
			ks = ks[m:]
		}
	}
	return n > 0, nil
}
