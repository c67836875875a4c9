package cache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"maps"
	"os"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Readers of the tail: the rows a sync appended and has not indexed yet
// (layout.go) are read as if the catch-up had indexed them.
//
// A sync appends a row for every listed openid it found no row for, and it
// cannot tell cheaply that it appended the same openid earlier in the run:
// a listing that moved gives some openids twice, and knowing every openid
// appended would cost the sync a few bytes a row of memory (tens of MB at
// 10 M followers), or a pass over the tail at every commit. What it does
// know costs a cold sync next to nothing (BENCHMARKS.md): the writer keeps
// the openids appended by its last commits while they include the last two
// pages written (syncRun.recent, a few tens of thousands at most), so an
// openid repeated across a page boundary (a follower added before the
// cursor, which is an offset) goes to its row; and a listing that starts
// over from the first page (a rejected cursor) first indexes what the run
// appended (startOver), so the pages listed again find their rows.
//
// What remains is a repeat farther apart: the tail may hold two rows of
// one openid, and the catch-up keeps the later one (the newer answer). The
// readers of rows skip the earlier ones (supersededTail: a pass over the
// tail, only when there is one), and the lookups by unionid read the tail
// as the lookups by openid do (tailMembers). The counters, kept at write
// time, count both rows until the catch-up removes the older.

// supersededTail returns the rows of appid's tail that a later row of the
// tail with the same openid supersedes, as of one moment (nil when there
// are none). It reads the heads of the tail's rows, a transaction per
// tailChunk of them, and sorts a hash of each openid with its row
// (extsort.go: memory stays at one run however long the tail); only the
// rows whose hashes meet are read again, to compare their openids.
func (s *Store) supersededTail(appid string) (map[uint32]bool, error) {
	var from, end uint32
	err := s.view(func(tx *bolt.Tx) error {
		r, err := readRows(tx, appid)
		from, end = r.indexed, r.next
		if r.rows == nil {
			end = from
		}
		return err
	})
	if err != nil || end-from < 2 || from >= end {
		return nil, err
	}
	// A reader may have no right to write beside the cache (SharedReadOnly
	// over a read-only directory): the sort spills, when it must, to the
	// temporary directory.
	srt := newSorter(os.TempDir())
	defer srt.close()
	srt.expectRecords(int(end - from))
	seed := maphash.MakeSeed()
	var h recordHead
	var key []byte
	err = s.scanRows(appid, from, end, func(n uint32, v []byte) error {
		if err := decodeHead(v, &h); err != nil {
			return fmt.Errorf("row %d: %w", n, err)
		}
		key = rowKey(binary.BigEndian.AppendUint64(key[:0], maphash.Bytes(seed, h.openID)), n)
		return srt.add(key, nil)
	})
	if err != nil {
		return nil, err
	}
	it, err := srt.iter()
	if err != nil {
		return nil, err
	}
	// Rows whose openids hash alike, in runs of equal hashes.
	var suspects [][]uint32
	var run []uint32
	var last uint64
	for it.next() {
		hash := binary.BigEndian.Uint64(it.key)
		n, ok := rowOf(it.key[8:])
		if !ok {
			return nil, fmt.Errorf("scratch record %x: %w", it.key, errCorrupt)
		}
		if len(run) > 0 && hash != last {
			if len(run) > 1 {
				suspects = append(suspects, slices.Clone(run))
			}
			run = run[:0]
		}
		run, last = append(run, n), hash
	}
	if it.err != nil {
		return nil, it.err
	}
	if len(run) > 1 {
		suspects = append(suspects, slices.Clone(run))
	}
	if len(suspects) == 0 {
		return nil, nil
	}
	out := map[uint32]bool{}
	err = s.view(func(tx *bolt.Tx) error {
		r, err := readRows(tx, appid)
		if err != nil || r.rows == nil {
			return err
		}
		var newest map[string]uint32
		for _, rows := range suspects {
			clear(newest)
			if newest == nil {
				newest = map[string]uint32{}
			}
			for _, n := range rows {
				v := r.rows.Get(rowKey(nil, n))
				if v == nil {
					continue // removed since: a catch-up ran
				}
				if err := decodeHead(v, &h); err != nil {
					return fmt.Errorf("row %d: %w", n, err)
				}
				o := string(h.openID)
				if m, ok := newest[o]; ok {
					out[min(m, n)] = true
					n = max(m, n)
				}
				newest[o] = n
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// tailMember is a member of a unionid found in an app's tail.
type tailMember struct {
	openid []byte
	p      Profile
}

// tailMembers returns the members of unionid that r's tail (appid's)
// holds, in openid order: each openid with a tail row that carries this
// unionid, whose profile (as find has it: the row the openid index names,
// else its newest tail row) still carries it, following the app or having
// left it, as the catch-up will index it in the unionid index or the
// former-members one. Some may be in those indexes already (a live write
// indexes at once, and a catch-up killed between its phases indexed the
// openids and not yet the unionids): eachMemberOf gives each once. It reads
// every row of the tail, as find does for an openid the index does not
// know.
func tailMembers(r appRows, appid, unionid string) ([]tailMember, error) {
	if r.rows == nil || r.indexed >= r.next {
		return nil, nil
	}
	var p Profile
	newest := map[string]uint32{} // openid → its newest tail row, for the openids that had unionid
	err := r.eachTail(func(n uint32, v []byte, h *recordHead) bool {
		if _, ok := newest[string(h.openID)]; ok {
			newest[string(h.openID)] = n
		} else if scanRecord(v, &p) == nil && p.UnionID == unionid {
			// (A row that cannot be decoded is reported below, when it
			// is the profile of one of unionid's openids.)
			newest[string(h.openID)] = n
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	var out []tailMember
	for _, o := range slices.Sorted(maps.Keys(newest)) {
		n := newest[o]
		if rv, inIndex, err := r.ids.get([]byte(o)); err != nil {
			return nil, fmt.Errorf("openid %s: %w", o, err)
		} else if inIndex {
			if n, inIndex = rowOf(rv); !inIndex {
				return nil, fmt.Errorf("openid %s: malformed row number: %w", o, errCorrupt)
			}
		}
		v := r.rows.Get(rowKey(nil, n))
		if v == nil {
			return nil, fmt.Errorf("openid %s: the index names row %d, which is missing: %w", o, n, errCorrupt)
		}
		q, err := profileAt(appid, n, v)
		if err != nil {
			return nil, err
		}
		if q.UnionID == unionid {
			out = append(out, tailMember{openid: []byte(o), p: q})
		}
	}
	return out, nil
}

// appTailMembers is tailMembers of app in tx.
func appTailMembers(tx *bolt.Tx, app []byte, unionid string) ([]tailMember, error) {
	r, err := readRows(tx, string(app))
	if err != nil {
		return nil, err
	}
	return tailMembers(r, string(app), unionid)
}

// eachMemberOf calls fn with each member of unionid in app's unionid index
// (following) or former-members index, and among tail (the app's
// tailMembers) those that follow or have left likewise, in openid order. p
// is the member's profile when it was read already (a member of the tail),
// else nil. openid is valid only during tx.
func eachMemberOf(tx *bolt.Tx, app []byte, unionid string, following bool, tail []tailMember, fn func(openid []byte, p *Profile) error) error {
	name := bucketMembers
	if !following {
		name = bucketFormerMembers
	}
	idx := &packed{}
	if b := tx.Bucket(name); b != nil {
		idx.b = b.Bucket(app)
	}
	tail = slices.DeleteFunc(slices.Clone(tail), func(m tailMember) bool { return indexed(&m.p) != following })
	err := idx.eachWithPrefix(memberKey(nil, unionid, ""), func(openid []byte) error {
		for len(tail) > 0 && bytes.Compare(tail[0].openid, openid) < 0 {
			if err := fn(tail[0].openid, &tail[0].p); err != nil {
				return err
			}
			tail = tail[1:]
		}
		if len(tail) > 0 && bytes.Equal(tail[0].openid, openid) {
			tail = tail[1:] // indexed already
		}
		return fn(openid, nil)
	})
	if err != nil {
		return err
	}
	for i := range tail {
		if err := fn(tail[i].openid, &tail[i].p); err != nil {
			return err
		}
	}
	return nil
}
