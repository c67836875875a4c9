package cli

import (
	"time"

	"wxscope/cache"
	"wxscope/config"
)

// listNotes are the sentences of the tags and blacklists that a sync since
// since could not read: the sync succeeded without them (an unverified
// account cannot list its tags), so they are notes, not failures.
func listNotes(store *cache.Store, apps []config.App, since time.Time) []string {
	var notes []string
	for _, a := range apps {
		if l, err := store.Tags(a.AppID); err == nil && l.Unavailable != "" && !l.TriedAt.Before(since) {
			notes = append(notes, l.Unavailable)
		}
		if st, err := store.BlacklistState(a.AppID); err == nil && st.Unavailable != "" && !st.TriedAt.Before(since) {
			notes = append(notes, st.Unavailable)
		}
	}
	return notes
}
