package cli

import (
	"hash/maphash"
	"slices"

	"wxscope/cache"
)

// exportLists gives an export the tag names and the blacklist of one app.
// The profiles come in the cache's row order, not the blacklist's openid
// order, so the blacklist is held as sorted 64-bit hashes of its openids:
// eight bytes an entry, and two openids that share one are not to be met
// (2^-64 a pair).
type exportLists struct {
	names  map[int64]string
	seed   maphash.Seed
	hashes []uint64 // sorted
}

func openExportLists(store *cache.Store, appid string) (*exportLists, error) {
	tags, err := store.Tags(appid)
	if err != nil {
		return nil, err
	}
	l := &exportLists{names: tags.NameMap(), seed: maphash.MakeSeed()}
	err = store.EachBlacklisted(appid, func(id string) error {
		l.hashes = append(l.hashes, maphash.String(l.seed, id))
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(l.hashes)
	return l, nil
}

// blacklisted reports whether openid is on the list.
func (l *exportLists) blacklisted(openid string) bool {
	if len(l.hashes) == 0 {
		return false
	}
	_, ok := slices.BinarySearch(l.hashes, maphash.String(l.seed, openid))
	return ok
}

// close is for symmetry with the walk it replaced: nothing is held open.
func (l *exportLists) close() error { return nil }
