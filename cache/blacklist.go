package cache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BlacklistState is what the cache knows of an app's blacklist as a whole.
type BlacklistState struct {
	Count  int64     // openids on the list the last complete read gave
	ReadAt time.Time // when that read was; zero when the list was never read
	// Unavailable says why the last read failed, "" when it succeeded; the
	// list of the last complete read stays meanwhile.
	Unavailable string
	TriedAt     time.Time // when the last read, complete or not, was
	// current is the generation holding the list (0: none yet).
	current uint64
}

// blacklistChunk is how many openids ReplaceBlacklist holds before writing
// them: a blacklist is usually small, but nothing says it is.
const blacklistChunk = 1 << 15

var keyBlacklistState = []byte("state")

// present is the value of a listed openid: empty, but not nil, which Get
// answers for a missing key.
var present = []byte{}

// genName names generation g's sub-bucket.
func genName(g uint64) []byte { return binary.BigEndian.AppendUint64([]byte{'g'}, g) }

// ReplaceBlacklist reads pages (each a page of blacklisted openids) to the
// end and makes what they listed the blacklist of appid, read at at. The
// openids are written in chunks as they arrive, into a list of their own
// that replaces the last one in a single transaction once the pages end, so
// a reader sees the old list or the new one, never a mix, and memory does
// not grow with the list. When pages yields an error, or a write fails, the
// new list is dropped, the old one stays and the error is returned (record
// why with SetBlacklistUnavailable). A replacement killed midway leaves a
// partial list that the next one removes.
func (s *Store) ReplaceBlacklist(appid string, pages iter.Seq2[[]string, error], at time.Time) (count int64, err error) {
	if err := validID("appid", appid); err != nil {
		return 0, err
	}
	key := "blacklist\x00" + appid // beside the syncs' keys, which are appids
	s.syncMu.Lock()
	if s.syncing[key] {
		s.syncMu.Unlock()
		return 0, fmt.Errorf("replace the blacklist of app %s: another replacement is running in this process", appid)
	}
	s.syncing[key] = true
	s.syncMu.Unlock()
	defer func() {
		s.syncMu.Lock()
		delete(s.syncing, key)
		s.syncMu.Unlock()
	}()

	var gen uint64
	err = s.update(func(tx *bolt.Tx) error {
		b, st, err := blacklistBucket(tx, appid)
		if err != nil {
			return err
		}
		if err := dropStaleGenerations(b, st.current); err != nil {
			return err
		}
		gen = st.current + 1
		_, err = b.CreateBucket(genName(gen))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("replace the blacklist of app %s: %w", appid, err)
	}
	drop := func(cause error) (int64, error) {
		// Best effort: the next replacement drops it anyway.
		_ = s.update(func(tx *bolt.Tx) error {
			b, st, err := blacklistBucket(tx, appid)
			if err != nil {
				return err
			}
			return dropStaleGenerations(b, st.current)
		})
		return 0, cause
	}

	buf := make([]string, 0, blacklistChunk)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		// In key order: bbolt inserts into a node's sorted slice, and the
		// API's order would move it on every insert.
		slices.Sort(buf)
		buf = slices.Compact(buf)
		err := s.update(func(tx *bolt.Tx) error {
			g := tx.Bucket(bucketBlacklists).Bucket([]byte(appid)).Bucket(genName(gen))
			if g == nil {
				return fmt.Errorf("the list being written is gone")
			}
			g.FillPercent = 0.9
			for _, id := range buf {
				k := []byte(id)      // a fresh slice per key: bbolt keeps it until the commit
				if g.Get(k) == nil { // a chunk holds each openid once: Get sees committed keys only
					if err := g.Put(k, present); err != nil {
						return err
					}
					count++
				}
			}
			return nil
		})
		buf = buf[:0]
		return err
	}
	for page, err := range pages {
		if err != nil {
			return drop(err)
		}
		for _, id := range page {
			if validID("openid", id) != nil {
				continue // an empty openid names nobody
			}
			buf = append(buf, id)
			if len(buf) == blacklistChunk {
				if err := flush(); err != nil {
					return drop(fmt.Errorf("write the blacklist of app %s: %w", appid, err))
				}
			}
		}
	}
	if err := flush(); err != nil {
		return drop(fmt.Errorf("write the blacklist of app %s: %w", appid, err))
	}
	err = s.update(func(tx *bolt.Tx) error {
		b, st, err := blacklistBucket(tx, appid)
		if err != nil {
			return err
		}
		if b.Bucket(genName(gen)) == nil {
			return fmt.Errorf("the list being written is gone")
		}
		st = BlacklistState{Count: count, ReadAt: at, TriedAt: at, current: gen}
		if err := b.Put(keyBlacklistState, encodeBlacklistState(nil, &st)); err != nil {
			return err
		}
		return dropStaleGenerations(b, gen)
	})
	if err != nil {
		return drop(fmt.Errorf("replace the blacklist of app %s: %w", appid, err))
	}
	return count, nil
}

// blacklistBucket returns appid's blacklist bucket, created if need be, and
// its state.
func blacklistBucket(tx *bolt.Tx, appid string) (*bolt.Bucket, BlacklistState, error) {
	top, err := tx.CreateBucketIfNotExists(bucketBlacklists)
	if err != nil {
		return nil, BlacklistState{}, err
	}
	b, err := top.CreateBucketIfNotExists([]byte(appid))
	if err != nil {
		return nil, BlacklistState{}, err
	}
	var st BlacklistState
	if v := b.Get(keyBlacklistState); v != nil {
		if err := decodeBlacklistState(v, &st); err != nil {
			return nil, BlacklistState{}, err
		}
	}
	return b, st, nil
}

// dropStaleGenerations deletes every generation of b but keep.
func dropStaleGenerations(b *bolt.Bucket, keep uint64) error {
	var stale [][]byte
	err := b.ForEachBucket(func(k []byte) error {
		if !bytes.Equal(k, genName(keep)) {
			stale = append(stale, slices.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range stale {
		if err := b.DeleteBucket(k); err != nil {
			return err
		}
	}
	return nil
}

// SetBlacklistUnavailable records that the blacklist of appid could not be
// read at at, and why (one sentence); the list of the last complete read
// stays.
func (s *Store) SetBlacklistUnavailable(appid, why string, at time.Time) error {
	if err := validID("appid", appid); err != nil {
		return err
	}
	err := s.update(func(tx *bolt.Tx) error {
		b, st, err := blacklistBucket(tx, appid)
		if err != nil {
			return err
		}
		st.Unavailable, st.TriedAt = why, at
		return b.Put(keyBlacklistState, encodeBlacklistState(nil, &st))
	})
	if err != nil {
		return fmt.Errorf("record that the blacklist of app %s is unavailable: %w", appid, err)
	}
	return nil
}

// readBlacklist returns appid's state and current list in tx; the list is
// nil when there is none.
func readBlacklist(tx *bolt.Tx, appid string) (BlacklistState, *bolt.Bucket, error) {
	top := tx.Bucket(bucketBlacklists)
	if top == nil {
		return BlacklistState{}, nil, nil
	}
	b := top.Bucket([]byte(appid))
	if b == nil {
		return BlacklistState{}, nil, nil
	}
	var st BlacklistState
	if v := b.Get(keyBlacklistState); v != nil {
		if err := decodeBlacklistState(v, &st); err != nil {
			return BlacklistState{}, nil, fmt.Errorf("app %s: %w", appid, err)
		}
	}
	if st.current == 0 {
		return st, nil, nil
	}
	return st, b.Bucket(genName(st.current)), nil
}

// BlacklistState returns what the cache knows of appid's blacklist; a zero
// state when it was never read.
func (s *Store) BlacklistState(appid string) (BlacklistState, error) {
	var st BlacklistState
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		st, _, err = readBlacklist(tx, appid)
		return err
	})
	if err != nil {
		return BlacklistState{}, fmt.Errorf("read the blacklist of app %s: %w", appid, err)
	}
	return st, nil
}

// Blacklisted reports whether openid is on appid's blacklist, as the last
// complete read found it.
func (s *Store) Blacklisted(appid, openid string) (bool, error) {
	on := false
	err := s.view(func(tx *bolt.Tx) error {
		_, g, err := readBlacklist(tx, appid)
		if g != nil && openid != "" {
			on = g.Get([]byte(openid)) != nil
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("read the blacklist of app %s: %w", appid, err)
	}
	return on, nil
}

// blacklistReadChunk is how many openids one read transaction of
// EachBlacklisted hands out.
const blacklistReadChunk = 1 << 13

// EachBlacklisted calls fn for each openid on appid's blacklist in openid
// order (the order of EachProfile, so a caller can walk both side by side),
// until fn returns an error (returned as is). As EachProfile, it reads in
// chunks, each in its own transaction, and fn runs outside any: when a sync
// replaces the list meanwhile, the iteration goes on in the new list from
// where it was.
func (s *Store) EachBlacklisted(appid string, fn func(openid string) error) error {
	var next []byte
	buf := make([]string, 0, blacklistReadChunk)
	for {
		buf = buf[:0]
		err := s.view(func(tx *bolt.Tx) error {
			_, g, err := readBlacklist(tx, appid)
			if err != nil || g == nil {
				return err
			}
			c := g.Cursor()
			k, _ := c.First()
			if next != nil {
				if k, _ = c.Seek(next); k != nil && bytes.Equal(k, next) {
					k, _ = c.Next()
				}
			}
			for ; k != nil && len(buf) < blacklistReadChunk; k, _ = c.Next() {
				buf = append(buf, string(k))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read the blacklist of app %s: %w", appid, err)
		}
		for _, id := range buf {
			if err := fn(id); err != nil {
				return err
			}
		}
		if len(buf) < blacklistReadChunk {
			return nil
		}
		next = []byte(buf[len(buf)-1])
	}
}

// Blacklist is an app's blacklist held in memory, for a caller that asks
// about many followers in no particular order (the TUI's index). It holds
// one string per blacklisted openid; a caller walking the profiles in
// order wants EachBlacklisted instead.
type Blacklist struct {
	BlacklistState
	ids []string // sorted
}

// NewBlacklist is a Blacklist of openids held in memory (they need not be
// sorted), for a caller that has the list already, and for tests.
func NewBlacklist(openids []string) *Blacklist {
	ids := slices.Clone(openids)
	slices.Sort(ids)
	return &Blacklist{BlacklistState: BlacklistState{Count: int64(len(ids))}, ids: slices.Compact(ids)}
}

// Has reports whether openid is on the list.
func (b *Blacklist) Has(openid string) bool {
	if b == nil {
		return false
	}
	_, ok := slices.BinarySearch(b.ids, openid)
	return ok
}

// Len is the number of openids on the list.
func (b *Blacklist) Len() int {
	if b == nil {
		return 0
	}
	return len(b.ids)
}

// Blacklist reads appid's whole blacklist into memory; an empty one when
// it was never read.
func (s *Store) Blacklist(appid string) (*Blacklist, error) {
	st, err := s.BlacklistState(appid)
	if err != nil {
		return nil, err
	}
	out := &Blacklist{BlacklistState: st, ids: make([]string, 0, min(max(st.Count, 0), 1<<16))}
	err = s.EachBlacklisted(appid, func(id string) error {
		out.ids = append(out.ids, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
