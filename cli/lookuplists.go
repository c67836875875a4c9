package cli

import (
	"strconv"

	"wxscope/cache"
)

// memberLists names the tags of a person's profiles and says which of them
// are blacklisted, from what the last sync of each app read.
type memberLists struct {
	tags  map[string]cache.TagList // appid → its tags
	black map[[2]string]bool       // (appid, openid) → on the blacklist
}

// readMemberLists reads the tags and blacklist entries of p's apps; store
// may be nil (nothing synced yet), and the lists are then empty.
func readMemberLists(store *cache.Store, p *cache.Person) (*memberLists, error) {
	m := &memberLists{tags: map[string]cache.TagList{}, black: map[[2]string]bool{}}
	if store == nil {
		return m, nil
	}
	for _, pr := range p.Profiles() {
		if _, ok := m.tags[pr.AppID]; !ok {
			l, err := store.Tags(pr.AppID)
			if err != nil {
				return nil, err
			}
			m.tags[pr.AppID] = l
		}
		on, err := store.Blacklisted(pr.AppID, pr.OpenID)
		if err != nil {
			return nil, err
		}
		m.black[[2]string{pr.AppID, pr.OpenID}] = on
	}
	return m, nil
}

// names are pr's tag names in tagid_list order; a tag without a name any
// more (or never read) shows as its number.
func (m *memberLists) names(pr *cache.Profile) []string {
	if m == nil {
		out := make([]string, len(pr.TagIDs))
		for i, id := range pr.TagIDs {
			out[i] = strconv.FormatInt(id, 10)
		}
		return out
	}
	l := m.tags[pr.AppID]
	return l.Names(pr.TagIDs)
}

// blacklisted reports whether pr was on its app's blacklist at the last sync.
func (m *memberLists) blacklisted(pr *cache.Profile) bool {
	return m != nil && m.black[[2]string{pr.AppID, pr.OpenID}]
}
