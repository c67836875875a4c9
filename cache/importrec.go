package cache

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// An imported app (a mini program, a mobile app, a website) keeps its
// members as profiles like an official account's followers, so the links,
// lookups, exports and views read them unchanged. What only an import has
// lives in buckets of its own, made on the first import (no schema change:
// a build without imports never looks at them):
//
//	imports     appid → import record (kind, source, when read, counts)
//	importseen  one sub-bucket per appid: the last_seen values of the
//	            members whose source gave one, packed in blocks (importseen.go)
//	importstage "p" and "s", each with one sub-bucket per appid: the next
//	            member set and its last_seen values while an import writes
//	            them; moved over profiles/APPID and importseen/APPID in the
//	            transaction that swaps the import in
var (
	bucketImports     = []byte("imports")
	bucketImportSeen  = []byte("importseen")
	bucketImportStage = []byte("importstage")
	stageProfiles     = []byte("p")
	stageSeen         = []byte("s")
)

// ImportInfo is what the cache keeps of an app's latest import: what the
// home view says about it.
type ImportInfo struct {
	Kind   string // "miniprogram", "mobile" or "web", as configured when it was read
	Source string // the file, or "import_command of NAME"
	Format string // "csv", "tsv" or "jsonl"; "" for a source with nothing in it
	ReadAt time.Time
	// Rows are the valid rows of the source (an openid on several rows, as
	// in a login log, counts each time); Members the distinct openids.
	Rows, Members int64
	Rejected      int64 // rows not imported (reported as SOURCE:LINE: reason)
	Joined        int64 // openids that were not in the previous import
	Left          int64 // openids of the previous import missing from this one
	// Pending: the unionid index has not caught up with this import yet
	// (the process stopped during the import's last step). The next import
	// of the app rebuilds the app's index entries first.
	Pending bool
}

// importFormat is the version byte of an encoded import record.
//
// Layout of version 1: version, flags (bit 0: pending), then the strings
// kind, source, format (uvarint length + bytes), the varints read_at (unix
// nanoseconds), rows, members, rejected, joined, left.
const importFormat = 1

func encodeImport(dst []byte, in *ImportInfo) []byte {
	dst = append(dst, importFormat)
	var flags byte
	if in.Pending {
		flags |= 1
	}
	dst = append(dst, flags)
	dst = appendString(dst, in.Kind)
	dst = appendString(dst, in.Source)
	dst = appendString(dst, in.Format)
	dst = appendTime(dst, in.ReadAt)
	for _, n := range []int64{in.Rows, in.Members, in.Rejected, in.Joined, in.Left} {
		dst = binary.AppendVarint(dst, n)
	}
	return dst
}

func decodeImport(v []byte, in *ImportInfo) error {
	if len(v) < 2 || v[0] != importFormat {
		return fmt.Errorf("import record: unknown format: %w", errCorrupt)
	}
	if v[1]&^1 != 0 {
		return fmt.Errorf("import record: unknown flags %#x: %w", v[1], errCorrupt)
	}
	in.Pending = v[1]&1 != 0
	r := reader{s: string(v), off: 2}
	in.Kind = r.string()
	in.Source = r.string()
	in.Format = r.string()
	in.ReadAt = r.time()
	for _, n := range []*int64{&in.Rows, &in.Members, &in.Rejected, &in.Joined, &in.Left} {
		*n = r.varint()
	}
	return r.end("import record")
}

// getImport reads the import record of appid; ok is false when the app was
// never imported.
func getImport(tx *bolt.Tx, appid string) (in ImportInfo, ok bool, err error) {
	b := tx.Bucket(bucketImports)
	if b == nil {
		return ImportInfo{}, false, nil
	}
	v := b.Get([]byte(appid))
	if v == nil {
		return ImportInfo{}, false, nil
	}
	if err := decodeImport(v, &in); err != nil {
		return ImportInfo{}, false, fmt.Errorf("app %s: %w", appid, err)
	}
	return in, true, nil
}

// ImportInfo returns what the cache knows of appid's latest import; ok is
// false when the app was never imported (an official account, or an import
// not read yet).
func (s *Store) ImportInfo(appid string) (in ImportInfo, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		in, ok, err = getImport(tx, appid)
		return err
	})
	if err != nil {
		return ImportInfo{}, false, fmt.Errorf("read the import record of app %s: %w", appid, err)
	}
	return in, ok, nil
}

// Imports returns the import record of every imported app, by appid, in one
// read.
func (s *Store) Imports() (map[string]ImportInfo, error) {
	out := map[string]ImportInfo{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketImports)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var in ImportInfo
			if err := decodeImport(v, &in); err != nil {
				return fmt.Errorf("app %s: %w", k, err)
			}
			out[string(k)] = in
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read the import records: %w", err)
	}
	return out, nil
}

// LastSeen returns the last_seen of openid in imported app appid (unix
// seconds), 0 when its source never gave one.
func (s *Store) LastSeen(appid, openid string) (int64, error) {
	var t int64
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		t, err = lastSeenIn(seenBucket(tx, appid), []byte(openid))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read the last_seen of %s in app %s: %w", openid, appid, err)
	}
	return t, nil
}

// EachLastSeen calls fn for each member of imported app appid whose source
// gave a last_seen, in openid order, in chunks like EachProfile: a view that
// lists members walks it beside EachProfile.
func (s *Store) EachLastSeen(appid string, fn func(openid string, lastSeen int64) error) error {
	var after []byte
	buf := make([]seenEntry, 0, profileChunk)
	for {
		buf = buf[:0]
		more := false
		err := s.view(func(tx *bolt.Tx) error {
			b := seenBucket(tx, appid)
			if b == nil {
				return nil
			}
			sc := &seenCursor{c: b.Cursor()}
			sc.seek(after)
			if after != nil && sc.cur() != nil && sc.cur().openid == string(after) {
				sc.next()
			}
			for e := sc.cur(); e != nil; e = sc.cur() {
				if len(buf) == profileChunk {
					more = true
					break
				}
				buf = append(buf, *e)
				sc.next()
			}
			return sc.err
		})
		if err != nil {
			return fmt.Errorf("read the last_seen values of app %s: %w", appid, err)
		}
		for _, e := range buf {
			if err := fn(e.openid, e.t); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		after = []byte(buf[len(buf)-1].openid)
	}
}

func seenBucket(tx *bolt.Tx, appid string) *bolt.Bucket {
	b := tx.Bucket(bucketImportSeen)
	if b == nil {
		return nil
	}
	return b.Bucket([]byte(appid))
}
