package cache

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// IDKind says what a looked-up id turned out to be.
type IDKind string

// The kinds of ids; the values are part of lookup's JSON contract.
const (
	KindOpenID  IDKind = "openid"
	KindUnionID IDKind = "unionid"
	KindUnknown IDKind = "unknown"
)

// Status is where a member stands; the values are part of lookup's JSON
// contract.
type Status string

// The statuses of a cached profile.
const (
	StatusFollowing  Status = "following"
	StatusUnfollowed Status = "unfollowed"
	// StatusNotFollowing: the API said subscribe 0 for an openid the cache
	// never saw following (a live lookup of a non-follower).
	StatusNotFollowing Status = "not_following"
)

// StatusOf is the status of a cached profile.
func StatusOf(p *Profile) Status {
	switch {
	case active(p):
		return StatusFollowing
	case !p.Subscribed && p.UnfollowedAt == 0:
		return StatusNotFollowing
	default:
		return StatusUnfollowed
	}
}

// Reason says why an app shows no following openid for a person.
type Reason string

// The reasons Person gives.
const (
	// ReasonNone: the app has a following member.
	ReasonNone Reason = ""
	// ReasonNotFollowing: the app is bound to the person's platform, synced,
	// and the person does not follow it.
	ReasonNotFollowing Reason = "not_following"
	// ReasonUnfollowed: the person followed the app and left; the profile is
	// kept and shown.
	ReasonUnfollowed Reason = "unfollowed"
	// ReasonNotBound: none of the app's followers carries a unionid.
	ReasonNotBound Reason = "not_bound"
	// ReasonOtherPlatform: the app is bound to another open platform, where
	// the person would have another unionid.
	ReasonOtherPlatform Reason = "other_platform"
	// ReasonNotSynced: the app has not been synced, or its sync has not
	// finished, so the cache cannot tell.
	ReasonNotSynced Reason = "not_synced"
	// ReasonNoUnionID: the looked-up follower carries no unionid, so its
	// openids in other apps cannot be found.
	ReasonNoUnionID Reason = "no_unionid"
)

// Person is everything the cache knows about one person across apps.
type Person struct {
	// Query is the id looked up.
	Query string
	Kind  IDKind
	// UnionID is the person's unionid: the query itself, or the one the
	// looked-up profile carries (or last carried, when it unfollowed); ""
	// when there is none.
	UnionID string
	// Apps has one entry per app asked about, in that order.
	Apps []PersonApp
	// Platform is the person's platform: that of the apps it has a profile
	// in with its unionid; "" without one.
	Platform string
	// Missing are the appids of the bound apps of the person's platform
	// without a following member (empty without a unionid: nobody can
	// tell). An app bound to another platform is not among them: there the
	// person has another unionid (ReasonOtherPlatform).
	Missing []string
	// Guess is set for an id the cache does not know that looks like an
	// openid of one of the apps.
	Guess *Guess
}

// Found reports whether the cache knows the id.
func (p *Person) Found() bool { return p.Kind != KindUnknown }

// Profiles returns every profile of the person, app by app.
func (p *Person) Profiles() []Profile {
	var out []Profile
	for _, a := range p.Apps {
		out = append(out, a.Profiles...)
	}
	return out
}

// PersonApp is the person as seen from one app.
type PersonApp struct {
	AppRef
	Bound    bool
	Platform string // a label P1, P2 … among the apps asked about; "" when not bound
	// Profiles are the person's cached profiles here: its following member
	// (two in a conflict), or the unfollowed profile that is its history.
	Profiles []Profile
	// LastSeen is, for an imported app, each profile's last_seen (unix
	// seconds, 0 when its source gave none), parallel to Profiles; nil for
	// an official account.
	LastSeen []int64
	// Reason says why there is no following member; ReasonNone when there
	// is one. Package wording says it in words, from the facts it rests on:
	// Bound, Platform, Profiles, Counts, and the app the person was found in
	// (the first with a profile).
	Reason Reason
	// Counts are the app's counters: how many followers are cached so far
	// (none at all: the app was never synced).
	Counts Counts
}

// Guess is which app an unknown openid most likely belongs to, and why.
type Guess struct {
	AppID string // "" when no app's openids look like it
	App   string // the app's label
	// Prefix is what all Cached openids of the app begin with, as the
	// unknown one does.
	Prefix string
	Cached int64
}

// Person looks id up as an openid (one B-tree lookup per app) and as a
// unionid (one seek in each of the two unionid indexes: members who still
// follow and members who left), never scanning profiles, and says for each of
// apps (nil: every cached app) what the person is there or why it is not.
// An id the cache does not know comes back with Kind KindUnknown and, when
// it looks like one, a guess of its app from the openid prefixes.
func (s *Store) Person(id string, apps []AppRef) (*Person, error) {
	la, err := s.linkApps(apps)
	if err != nil {
		return nil, err
	}
	res := &Person{Query: id, Kind: KindUnknown}
	// Platforms: sampled overlaps between bound apps.
	if err := s.samplePlatforms(la); err != nil {
		return nil, fmt.Errorf("look up %s: %w", id, err)
	}
	err = s.view(func(tx *bolt.Tx) error {
		res.Apps = make([]PersonApp, len(la))
		for i := range la {
			res.Apps[i] = PersonApp{AppRef: la[i].AppRef, Bound: la[i].Bound, Platform: la[i].Platform}
		}

		add := func(i int, p Profile) {
			for _, q := range res.Apps[i].Profiles {
				if q.OpenID == p.OpenID {
					return
				}
			}
			res.Apps[i].Profiles = append(res.Apps[i].Profiles, p)
		}
		for i := range la {
			p, ok, err := getProfile(tx, la[i].AppID, id)
			if err != nil {
				return err
			}
			if ok {
				res.Kind = KindOpenID
				add(i, p)
				if res.UnionID == "" {
					res.UnionID = p.UnionID
				}
			}
		}
		union := res.UnionID
		if res.Kind == KindUnknown {
			union = id
		}
		if union != "" {
			n, err := s.addMembers(tx, la, union, add)
			if err != nil {
				return err
			}
			if n > 0 && res.Kind == KindUnknown {
				res.Kind, res.UnionID = KindUnionID, id
			}
		}
		if res.Kind == KindUnknown {
			res.Guess = guessApp(tx, la, id)
			return nil
		}
		for i := range res.Apps {
			a := &res.Apps[i]
			if a.IsOfficial() || len(a.Profiles) == 0 {
				continue
			}
			a.LastSeen = make([]int64, len(a.Profiles))
			for j, p := range a.Profiles {
				t, err := lastSeenIn(seenBucket(tx, a.AppID), []byte(p.OpenID))
				if err != nil {
					return err
				}
				a.LastSeen[j] = t
			}
		}
		explain(res, la)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", id, err)
	}
	return res, nil
}

// addMembers adds the members of union among la: the following ones from
// the unionid index, then the former ones (who unfollowed, shown with their
// date) from the former-members index, with those of each app's tail
// (eachMemberOf). It returns how many it found.
func (s *Store) addMembers(tx *bolt.Tx, la []AppLinks, union string, add func(int, Profile)) (int, error) {
	n := 0
	tails := make([][]tailMember, len(la))
	for i := range la {
		var err error
		if tails[i], err = appTailMembers(tx, []byte(la[i].AppID), union); err != nil {
			return 0, err
		}
	}
	for _, following := range []bool{true, false} {
		for i := range la {
			app := []byte(la[i].AppID)
			err := eachMemberOf(tx, app, union, following, tails[i], func(openid []byte, p *Profile) error {
				if p == nil {
					q, found, err := getProfile(tx, la[i].AppID, string(openid))
					if err != nil {
						return err
					}
					if !found {
						return fmt.Errorf("an index of unionid %s names app %s openid %s, which has no profile: %w", union, app, openid, errCorrupt)
					}
					p = &q
				}
				add(i, *p)
				n++
				return nil
			})
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// explain fills in Missing and each app's reason, with the facts it rests
// on.
func explain(res *Person, la []AppLinks) {
	// The person's platforms: those of the apps it has a profile in, with
	// the unionid it is known by.
	home := map[string]bool{}
	for i := range res.Apps {
		for _, p := range res.Apps[i].Profiles {
			if p.UnionID != "" && p.UnionID == res.UnionID && la[i].Platform != "" {
				home[la[i].Platform] = true
				if res.Platform == "" {
					res.Platform = la[i].Platform
				}
			}
		}
	}
	for i := range res.Apps {
		a, l := &res.Apps[i], &la[i]
		a.Counts = l.Counts
		following := slices.ContainsFunc(a.Profiles, func(p Profile) bool { return active(&p) })
		if res.UnionID != "" && l.Bound && !following && (len(home) == 0 || home[l.Platform]) {
			res.Missing = append(res.Missing, a.AppID)
		}
		switch {
		case following:
			a.Reason = ReasonNone
		case len(a.Profiles) > 0 && StatusOf(&a.Profiles[0]) == StatusNotFollowing:
			a.Reason = ReasonNotFollowing
		case len(a.Profiles) > 0:
			a.Reason = ReasonUnfollowed
		case res.UnionID == "":
			a.Reason = ReasonNoUnionID
		case !l.InCache || (l.Counts.Profiles == 0 && !l.Synced()):
			a.Reason = ReasonNotSynced // never: nothing cached
		case l.Counts.Subscribed == 0 && l.Synced():
			a.Reason = ReasonNotBound // no followers at all
		case !l.Bound && !l.Synced():
			a.Reason = ReasonNotSynced // no unionid so far, and more to list
		case !l.Bound:
			a.Reason = ReasonNotBound
		case len(home) > 0 && !home[l.Platform]:
			a.Reason = ReasonOtherPlatform
		case l.Sync.InProgress || !l.Synced():
			a.Reason = ReasonNotSynced // bound, and more to list
		default:
			a.Reason = ReasonNotFollowing
		}
	}
}

// OpenIDPrefix returns the prefix every cached openid of appid shares (the
// common prefix of the first and last key of its openid index: they are
// sorted) and how many
// profiles it was learned from (0 or 1: none or the whole openid).
func (s *Store) OpenIDPrefix(appid string) (prefix string, n int, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		prefix, n = openIDPrefix(tx, appid)
		return nil
	})
	return prefix, n, err
}

func openIDPrefix(tx *bolt.Tx, appid string) (string, int) {
	r, err := readRows(tx, appid)
	if err != nil {
		return "", 0
	}
	first, last := r.firstLastOpenID()
	if first == nil {
		return "", 0
	}
	if bytes.Equal(first, last) {
		return string(first), 1
	}
	i := 0
	for i < len(first) && i < len(last) && first[i] == last[i] {
		i++
	}
	return string(first[:i]), 2
}

// minPrefix is the shortest learned prefix worth guessing from: every
// openid starts with "o", so one character says nothing.
const minPrefix = 3

// guessApp names the app whose openids share the longest prefix with id.
func guessApp(tx *bolt.Tx, la []AppLinks, id string) *Guess {
	best, bestLen := -1, 0
	var bestPrefix string
	for i := range la {
		prefix, n := openIDPrefix(tx, la[i].AppID)
		if n < 2 || len(prefix) < minPrefix || len(prefix) >= len(id) {
			continue
		}
		if id[:len(prefix)] == prefix && len(prefix) > bestLen {
			best, bestLen, bestPrefix = i, len(prefix), prefix
		}
	}
	if best < 0 {
		return &Guess{}
	}
	a := la[best]
	return &Guess{AppID: a.AppID, App: a.Label(), Prefix: bestPrefix, Cached: a.Counts.Profiles}
}

// StoreFetched caches profiles fetched outside a sync (a live lookup) the
// way a sync would: an answer with subscribe 0 keeps the cached fields as
// history and only marks the unfollow. A subscribe 0 for an openid never
// cached is kept with UnfollowedAt 0 (StatusNotFollowing): the API said
// whose openid it is, but nobody saw it follow.
func (s *Store) StoreFetched(appid string, ps []Profile, now time.Time) error {
	err := s.updateApp(appid, func(a *appTx) error {
		a.rec.Writes++
		if err := a.readLiveTail(openIDsOf(ps)); err != nil {
			return err
		}
		for _, got := range ps {
			if _, err := putAnswer(a, got, now.Unix(), false, rowRef{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store fetched profiles of app %s: %w", appid, err)
	}
	return nil
}
