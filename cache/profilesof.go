package cache

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// profilesOfChunk is how many openids one read transaction of ProfilesOf
// looks up. Each lookup maps a few pages of the file in (an index block and
// a row), and a shared store lets them go when its transaction ends: resolve
// --offline over a 10 M-profile cache, 20 000 openids a transaction, peaked
// at 286 MB, most of it pages of the index. Thousands to a transaction still
// keep the reopenings of a shared file few.
const profilesOfChunk = 2048

// ProfilesOf returns the cached profiles of the openids of appid that the
// cache holds, a read transaction per profilesOfChunk openids. The openids
// the index does not know are looked for in one pass over the rows a
// running sync has not indexed yet.
func (s *Store) ProfilesOf(appid string, openids []string) (map[string]Profile, error) {
	out := make(map[string]Profile, len(openids))
	missing := map[string]bool{}
	hasTail := false
	for start := 0; start < len(openids); start += profilesOfChunk {
		part := openids[start:min(len(openids), start+profilesOfChunk)]
		err := s.view(func(tx *bolt.Tx) error {
			r, err := readRows(tx, appid)
			if err != nil || r.rows == nil {
				return err
			}
			hasTail = hasTail || r.indexed < r.next
			r.next = r.indexed // the index alone: no scan per openid
			for _, id := range part {
				row, v, ok, err := r.find(id)
				if err != nil {
					return fmt.Errorf("openid %s: %w", id, err)
				}
				if !ok {
					missing[id] = true
					continue
				}
				p, err := profileAt(appid, row, v)
				if err != nil {
					return err
				}
				out[id] = p
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read the cached profiles of app %s: %w", appid, err)
		}
	}
	if len(missing) == 0 || !hasTail {
		return out, nil
	}
	// The tail as it is now: a catch-up between two of the transactions
	// above may have indexed what an earlier one found only in the tail.
	err := s.view(func(tx *bolt.Tx) error {
		tail, err := readRows(tx, appid)
		if err != nil || tail.rows == nil {
			return err
		}
		r := tail
		r.next = r.indexed
		for id := range missing {
			row, v, ok, err := r.find(id)
			if err != nil {
				return fmt.Errorf("openid %s: %w", id, err)
			}
			if ok {
				p, err := profileAt(appid, row, v)
				if err != nil {
					return err
				}
				out[id] = p
				delete(missing, id)
			}
		}
		var ferr error
		err = tail.eachTail(func(n uint32, v []byte, h *recordHead) bool {
			if !missing[string(h.openID)] {
				return true
			}
			p, err := profileAt(appid, n, v)
			if err != nil {
				ferr = err
				return false
			}
			out[p.OpenID] = p // a later row of the same openid wins
			return true
		})
		if err == nil {
			err = ferr
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read the cached profiles of app %s: %w", appid, err)
	}
	return out, nil
}
