package cache

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Counts are an app's counters, kept at write time so the home screen and
// doctor need no scan. Profiles = Subscribed + Unfollowed.
type Counts struct {
	Profiles    int64 // cached profiles: every openid ever seen, following or not
	Subscribed  int64 // profiles that still follow
	WithUnionID int64 // following profiles with a unionid: this app's entries in the unionid index
	Unfollowed  int64 // profiles that no longer follow (UnfollowedAt set or the API said subscribe 0)
}

// SyncState is an app's sync bookkeeping, written in the same transaction as
// the profiles it describes. Counters describe the current run (or the last
// one when none is in progress).
type SyncState struct {
	// InProgress: a run started and has not finished; the next Sync resumes it.
	InProgress bool
	// ListingComplete: the run's listing reached its end; only the unfollow
	// marking remains.
	ListingComplete bool
	RunID           uint64 // increases by one per run of this app
	// Cursor is the listing cursor to resume from: every openid before it is
	// written. "" with InProgress means from the beginning.
	Cursor         string
	StartedAt      time.Time
	FinishedAt     time.Time // zero while a run is in progress
	LastCompleteAt time.Time // when a listing last completed (the cache's freshness)
	Pages          int64     // listing calls whose openids are all written in this run (the final empty page counts)
	Listed         int64     // openids on those pages
	Total          int64     // the follower total the API last reported (never trusted to end a listing)
	Fetched        int64     // profiles fetched in this run
	Skipped        int64     // listed openids not fetched because their profile was fresh
	Unfollowed     int64     // profiles this run marked unfollowed
	BadOpenIDs     []string  // openids the API rejected with 40003 in this run (at most 1000 kept)
	// Unanswered are openids listed in this run whose profile the API left
	// out of its answers, even when asked again: the run does not finish
	// until a Sync has them answered (at most 1000; more stop the run).
	Unanswered []string
	// Suspect is how many followers the last run listed when it refused to
	// mark unfollows because the listing shrank far below the cache's
	// followers (0 when it did not): the next run that lists about as many
	// marks them, the shrink being real.
	Suspect      int64
	LastError    string    // why the last run stopped early, "" after a clean finish
	QuotaResetAt time.Time // when a spent daily quota resets, after a quota stop
}

// App is one app in the cache: its last configured name, counters and sync
// state.
type App struct {
	AppID  string
	Name   string // "" when never configured
	Counts Counts
	Sync   SyncState
}

// Member is one (app, openid) of a unionid.
type Member struct {
	AppID  string
	OpenID string
}

// Apps lists every app in the cache in appid order, without scanning profiles.
func (s *Store) Apps() ([]App, error) {
	var apps []App
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).ForEach(func(k, v []byte) error {
			var r appRecord
			if err := decodeApp(v, &r); err != nil {
				return fmt.Errorf("app %s: %w", k, err)
			}
			apps = append(apps, App{AppID: string(k), Name: r.Name, Counts: r.Counts, Sync: r.Sync})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list apps in %s: %w", s.path, err)
	}
	return apps, nil
}

// App returns one app; ok is false when the cache has never seen it.
func (s *Store) App(appid string) (app App, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketApps).Get([]byte(appid))
		if v == nil {
			return nil
		}
		var r appRecord
		if err := decodeApp(v, &r); err != nil {
			return err
		}
		app, ok = App{AppID: appid, Name: r.Name, Counts: r.Counts, Sync: r.Sync}, true
		return nil
	})
	if err != nil {
		return App{}, false, fmt.Errorf("read app %s: %w", appid, err)
	}
	return app, ok, nil
}

// Profile returns the cached profile of (appid, openid); ok is false when
// there is none.
func (s *Store) Profile(appid, openid string) (p Profile, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		p, ok, err = getProfile(tx, appid, openid)
		return err
	})
	if err != nil {
		return Profile{}, false, fmt.Errorf("read profile %s of app %s: %w", openid, appid, err)
	}
	return p, ok, nil
}

func getProfile(tx *bolt.Tx, appid, openid string) (Profile, bool, error) {
	r, err := readRows(tx, appid)
	if err != nil {
		return Profile{}, false, err
	}
	row, v, ok, err := r.find(openid)
	if err != nil || !ok {
		return Profile{}, false, err
	}
	p, err := profileAt(appid, row, v)
	return p, err == nil, err
}

// FindOpenID returns every cached profile with this openid, whichever app it
// is in (normally at most one), followers or not. It costs one B-tree lookup
// per app, never a scan.
func (s *Store) FindOpenID(openid string) ([]Profile, error) {
	var out []Profile
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRows).ForEachBucket(func(appid []byte) error {
			p, ok, err := getProfile(tx, string(appid), openid)
			if ok {
				out = append(out, p)
			}
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("find openid %s: %w", openid, err)
	}
	return out, nil
}

// Members returns the (app, openid) pairs of a unionid, in app order: from
// the index, and from the rows a sync appended and has not indexed yet (the
// tail, read as a lookup by openid reads it). Unfollowed profiles are not
// members.
func (s *Store) Members(unionid string) ([]Member, error) {
	var out []Member
	err := s.view(func(tx *bolt.Tx) error {
		return eachMember(tx, unionid, func(app, openid []byte, _ *Profile) error {
			out = append(out, Member{AppID: string(app), OpenID: string(openid)})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("members of unionid %s: %w", unionid, err)
	}
	return out, nil
}

// MemberProfiles returns the cached profiles of a unionid's members, read in
// one transaction.
func (s *Store) MemberProfiles(unionid string) ([]Profile, error) {
	var out []Profile
	err := s.view(func(tx *bolt.Tx) error {
		return eachMember(tx, unionid, func(app, openid []byte, p *Profile) error {
			if p != nil {
				out = append(out, *p)
				return nil
			}
			q, found, err := getProfile(tx, string(app), string(openid))
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("index names app %s openid %s, which has no profile: %w", app, openid, errCorrupt)
			}
			out = append(out, q)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("profiles of unionid %s: %w", unionid, err)
	}
	return out, nil
}

// eachMember calls fn with the app and openid of each member of unionid,
// in app order (eachMemberOf: the unionid indexes and the tails). The
// slices are valid only during tx.
func eachMember(tx *bolt.Tx, unionid string, fn func(app, openid []byte, p *Profile) error) error {
	return tx.Bucket(bucketMembers).ForEachBucket(func(app []byte) error {
		tail, err := appTailMembers(tx, app, unionid)
		if err != nil {
			return err
		}
		return eachMemberOf(tx, app, unionid, true, tail, func(openid []byte, p *Profile) error { return fn(app, openid, p) })
	})
}

// profileChunk and unionChunk are how many rows one read transaction hands
// out. Callbacks run between transactions, so a slow consumer (an export to
// a pipe) of a Shared or SharedReadOnly store never holds the file, and a
// callback may call the Store.
//
// They also bound memory: bbolt reads through its mmap, so the pages one
// transaction touches (with the kernel's fault-around, up to 16 neighbours
// per fault) count in the process's RSS until a Shared or SharedReadOnly
// read lets the file go. A chunk of 65 536 union keys held about 65 MB of the
// file mapped (BENCHMARKS.md, "Peak memory"); 8192 hold about 8 MB, at the
// same speed.
const (
	profileChunk = 4096
	unionChunk   = 1 << 13
)

// EachProfile calls fn for each cached profile of appid in row order (the
// order a sync first listed them in), starting after the profile of the
// openid after ("" for the start; from the start too when after is not
// cached), until fn returns an error (returned as is). Rows are read in
// chunks of a few thousand, each in its own transaction, and fn runs
// outside any transaction: the iteration is not one snapshot when a sync
// writes meanwhile, but every row is a committed one. This is the export
// and the TUI's index path.
//
// Each openid comes once: of the rows a sync appended twice for one openid
// and has not indexed yet (tailreads.go), as of the start, the newer. (A
// row a sync appends while the iteration runs is given as it comes.)
func (s *Store) EachProfile(appid, after string, fn func(Profile) error) error {
	skip, err := s.supersededTail(appid)
	if err != nil {
		return fmt.Errorf("read profiles of app %s: %w", appid, err)
	}
	buf := make([]Profile, 0, profileChunk)
	var next uint32
	if after != "" {
		err := s.view(func(tx *bolt.Tx) error {
			r, err := readRows(tx, appid)
			if err != nil {
				return err
			}
			row, _, ok, err := r.find(after)
			if ok {
				next = row + 1
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("read profiles of app %s: %w", appid, err)
		}
	}
	for {
		buf = buf[:0]
		read := 0
		err := s.view(func(tx *bolt.Tx) error {
			r, err := readRows(tx, appid)
			if err != nil || r.rows == nil {
				return err
			}
			c := r.rows.Cursor()
			for k, v := c.Seek(rowKey(nil, next)); k != nil && read < profileChunk; k, v = c.Next() {
				n, ok := rowOf(k)
				if !ok {
					return fmt.Errorf("malformed row key %x: %w", k, errCorrupt)
				}
				read++
				next = n + 1
				if skip[n] {
					continue
				}
				p, err := profileAt(appid, n, v)
				if err != nil {
					return err
				}
				buf = append(buf, p)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read profiles of app %s: %w", appid, err)
		}
		for i := range buf {
			if err := fn(buf[i]); err != nil {
				return err
			}
		}
		if read < profileChunk {
			return nil
		}
	}
}

// EachAppProfile calls fn for every cached profile of every app, app by app
// in appid order, with EachProfile's guarantees.
func (s *Store) EachAppProfile(fn func(Profile) error) error {
	apps, err := s.Apps()
	if err != nil {
		return err
	}
	for _, a := range apps {
		if err := s.EachProfile(a.AppID, "", fn); err != nil {
			return err
		}
	}
	return nil
}

// EachUnionKey calls fn for each entry of the unionid indexes in order
// (unionid, then appid, then openid), merging the apps' indexes: keys only,
// no profile is read. The strings of one chunk of unionChunk entries share
// one allocation, so this runs at memory speed over millions of entries.
// Like EachProfile, fn runs between read transactions. This feeds link
// analysis.
func (s *Store) EachUnionKey(fn func(unionid, appid, openid string) error) error {
	var apps []string // the apps with an index, in appid order
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMembers).ForEachBucket(func(app []byte) error {
			apps = append(apps, string(app))
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("read the unionid index: %w", err)
	}
	return s.walkKeys(apps, unionRange{}, nil, func(c *walkedChunk) error {
		for _, p := range c.persons {
			u := c.arena[p.u0:p.u1]
			for _, m := range c.members[p.m0:p.m1] {
				if err := fn(u, apps[m.app], c.arena[m.o0:m.o1]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// EachUnionGroup calls fn once per unionid in the index with its members in
// app order. members is reused between calls: copy it to keep it.
func (s *Store) EachUnionGroup(fn func(unionid string, members []Member) error) error {
	var cur string
	var members []Member
	err := s.EachUnionKey(func(u, a, o string) error {
		if u != cur && len(members) > 0 {
			if err := fn(cur, members); err != nil {
				return err
			}
			members = members[:0]
		}
		cur = u
		members = append(members, Member{AppID: a, OpenID: o})
		return nil
	})
	if err != nil || len(members) == 0 {
		return err
	}
	return fn(cur, members)
}
