package cache

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ProfilesOf returns the cached profiles of the openids of appid that the
// cache holds, in one read transaction (resolve asks about thousands at a
// time; a transaction each would reopen a shared file thousands of times).
// The openids the index does not know are looked for in one pass over the
// rows a running sync has not indexed yet.
func (s *Store) ProfilesOf(appid string, openids []string) (map[string]Profile, error) {
	out := make(map[string]Profile, len(openids))
	err := s.view(func(tx *bolt.Tx) error {
		r, err := readRows(tx, appid)
		if err != nil || r.rows == nil {
			return err
		}
		tail := r
		r.next = r.indexed // the index alone: no scan per openid
		missing := map[string]bool{}
		for _, id := range openids {
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
		if len(missing) == 0 {
			return nil
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
