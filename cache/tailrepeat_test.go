package cache

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// Listings that give an openid twice in one run, the tail still holding
// both listings' answers: the counters count each follower once.

// scriptedSource lists the pages it is given, in order, whatever the cursor,
// and answers Profiles as the fakeSource it wraps. before, when set, runs
// before page i is given.
type scriptedSource struct {
	*fakeSource
	pages     [][]string
	fromStart map[int]bool // these pages say the listing started over
	before    func(i int) error
	calls     int
}

func (p *scriptedSource) ListFollowers(ctx context.Context, next string) (FollowerPage, error) {
	i := p.calls
	p.calls++ // only the lister calls
	if i >= len(p.pages) {
		return FollowerPage{Total: len(p.followers), Last: true}, nil
	}
	if p.before != nil {
		if err := p.before(i); err != nil {
			return FollowerPage{}, err
		}
	}
	ids := p.pages[i]
	return FollowerPage{OpenIDs: ids, Next: ids[len(ids)-1], Total: len(p.followers), FromStart: p.fromStart[i]}, nil
}

// waitForProfiles waits until app holds n profiles: the pages listed so
// far are written, in commit groups of their own.
func waitForProfiles(s *Store, appid string, n int64) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		a, _, err := s.App(appid)
		if err != nil {
			return err
		}
		if a.Counts.Profiles >= n {
			return nil
		}
	}
	return fmt.Errorf("app %s did not reach %d profiles within 30 s", appid, n)
}

// checkCountsOnce checks that Store.App and Store.Apps count want
// followers, each once.
func checkCountsOnce(t *testing.T, s *Store, appid string, want int64) {
	t.Helper()
	a, _, err := s.App(appid)
	must(t, err)
	if a.Counts.Profiles != want || a.Counts.Subscribed != want {
		t.Errorf("App counts %+v, want %d profiles, all following", a.Counts, want)
	}
	apps, err := s.Apps()
	must(t, err)
	for _, x := range apps {
		if x.AppID == appid && x.Counts != a.Counts {
			t.Errorf("Apps counts %+v, App %+v", x.Counts, a.Counts)
		}
	}
}

// An openid at the end of one page and at the start of the next (a
// follower added before the cursor, which is an offset), the two pages
// written in different commit groups: it has one row and counts once, the
// end-of-run catch-up killed so that the tail holds it.
func TestAnOpenIDRepeatedAcrossAPageBoundaryCountsOnceInTheTail(t *testing.T) {
	s := openTestStore(t, Options{})
	f := newFakeSource(200, 100)
	src := &scriptedSource{fakeSource: f, pages: [][]string{f.followers[:100], f.followers[99:]}}
	src.before = func(i int) error {
		if i == 1 {
			return waitForProfiles(s, "wxA", 100)
		}
		return nil
	}
	killCatchUpAt(t, "scan")
	if err := Sync(context.Background(), s, "wxA", src, testSyncOptions()); !errors.Is(err, errCatchUpKilled) {
		t.Fatalf("sync = %v, want its catch-up killed", err)
	}
	checkCountsOnce(t, s, "wxA", 200)
	checkConsistency(t, s)
}

// A listing that starts over (FromStart) after three pages, written in
// groups of their own, lists those openids again: each goes to its row,
// and counts once, the end-of-run catch-up killed so that the tail holds
// what was listed after the start over.
func TestAListingThatStartsOverCountsEachFollowerOnceInTheTail(t *testing.T) {
	s := openTestStore(t, Options{})
	f := newFakeSource(500, 100)
	fl := f.followers
	src := &scriptedSource{fakeSource: f,
		pages:     [][]string{fl[:100], fl[100:200], fl[200:300], fl[:100], fl[100:200], fl[200:300], fl[300:400], fl[400:]},
		fromStart: map[int]bool{3: true},
	}
	src.before = func(i int) error {
		if i > 0 && i < 3 {
			return waitForProfiles(s, "wxA", int64(100*i))
		}
		return nil
	}
	scans := 0
	old := catchUpStep
	catchUpStep = func(_, phase string) error {
		if phase == "scan" {
			if scans++; scans > 1 { // the start over's catch-up runs, the last one is killed
				return errCatchUpKilled
			}
		}
		return nil
	}
	t.Cleanup(func() { catchUpStep = old })
	opts := testSyncOptions()
	opts.MaxAge = -1 // fetched again when listed again
	if err := Sync(context.Background(), s, "wxA", src, opts); !errors.Is(err, errCatchUpKilled) {
		t.Fatalf("sync = %v, want its catch-up killed", err)
	}
	if scans != 2 {
		t.Errorf("%d catch-ups scanned, want 2 (the start over's, the last)", scans)
	}
	checkCountsOnce(t, s, "wxA", 500)
	checkConsistency(t, s)
}
