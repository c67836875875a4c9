package cache

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ProfilesOf returns the cached profiles of the openids of appid that the
// cache holds, in one read transaction (resolve asks about thousands at a
// time; a transaction each would reopen a shared file thousands of times).
func (s *Store) ProfilesOf(appid string, openids []string) (map[string]Profile, error) {
	out := make(map[string]Profile, len(openids))
	err := s.view(func(tx *bolt.Tx) error {
		for _, id := range openids {
			p, ok, err := getProfile(tx, appid, id)
			if err != nil {
				return fmt.Errorf("openid %s: %w", id, err)
			}
			if ok {
				out[id] = p
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the cached profiles of app %s: %w", appid, err)
	}
	return out, nil
}
