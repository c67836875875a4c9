package cli

import (
	"errors"
	"iter"

	"wxscope/cache"
)

// exportLists gives an export the tag names and the blacklist of one app.
// The blacklist is walked beside the profiles, both in openid order, so
// memory does not grow with it.
type exportLists struct {
	names map[int64]string
	next  func() (string, bool)
	stop  func()
	cur   string // the next blacklisted openid not yet passed; "" when done
	done  bool
	err   error
}

// errStopWalk ends the blacklist walk early.
var errStopWalk = errors.New("stop")

func openExportLists(store *cache.Store, appid string) (*exportLists, error) {
	tags, err := store.Tags(appid)
	if err != nil {
		return nil, err
	}
	l := &exportLists{names: tags.NameMap()}
	seq := iter.Seq[string](func(yield func(string) bool) {
		err := store.EachBlacklisted(appid, func(id string) error {
			if !yield(id) {
				return errStopWalk
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopWalk) {
			l.err = err
		}
	})
	l.next, l.stop = iter.Pull(seq)
	l.advance()
	return l, nil
}

func (l *exportLists) advance() {
	if id, ok := l.next(); ok {
		l.cur = id
	} else {
		l.cur, l.done = "", true
	}
}

// blacklisted reports whether openid is on the list; the openids asked must
// come in increasing order (EachProfile's).
func (l *exportLists) blacklisted(openid string) bool {
	for !l.done && l.cur < openid {
		l.advance()
	}
	return !l.done && l.cur == openid
}

// close ends the walk and says whether it failed.
func (l *exportLists) close() error {
	l.stop()
	return l.err
}
