package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// Regressions the model test (model_test.go) found: writes that met rows a
// sync had appended and not indexed yet (the tail).

// errCatchUpKilled is what killCatchUpAt's catch-ups stop with.
var errCatchUpKilled = errors.New("catch-up killed by the test")

// killCatchUpAt makes the catch-ups of the test stop after phase, as a
// kill there would, until the test ends or the returned function is
// called.
func killCatchUpAt(t *testing.T, phase string) (restore func()) {
	t.Helper()
	old := catchUpStep
	catchUpStep = func(_, p string) error {
		if p == phase {
			return errCatchUpKilled
		}
		return nil
	}
	restore = func() { catchUpStep = old }
	t.Cleanup(restore)
	return restore
}

// A live lookup (another process, during a sync) of openids a sync appended
// and has not indexed yet rewrites their rows: appended again, the newer
// row was the one the catch-up kept, so the row the run had listed went
// (the follower was then marked unfollowed at the end of the run), and a
// subscribe 0 lost the history it keeps. Seeds 5 and 73757736.
func TestALiveLookupOfATailOpenIDRewritesItsRow(t *testing.T) {
	later := fixedNow.Add(time.Minute)
	for _, when := range []string{"after a kill", "during the catch-up"} {
		t.Run(when, func(t *testing.T) {
			s := openTestStore(t, Options{})
			src := newFakeSource(10, 100)
			stays, leaves := src.followers[3], src.followers[5] // both with a unionid
			fetched := src.profiles[stays]
			fetched.Remark, fetched.UnionID = "looked up", "union-new"
			lookup := func() {
				must(t, s.StoreFetched("wxA", []Profile{fetched, {OpenID: leaves}}, later))
			}
			if when == "after a kill" {
				// The run's last catch-up is killed: every row it
				// appended is in the tail, listed (seen.go).
				restore := killCatchUpAt(t, "scan")
				if err := Sync(context.Background(), s, "wxA", src, testSyncOptions()); !errors.Is(err, errCatchUpKilled) {
					t.Fatalf("sync = %v, want it killed", err)
				}
				restore()
				lookup()
			} else {
				old := catchUpStep
				catchUpStep = func(_, phase string) error {
					if phase == "scan" {
						lookup() // after the catch-up read the rows
					}
					return nil
				}
				err := Sync(context.Background(), s, "wxA", src, testSyncOptions())
				catchUpStep = old
				must(t, err)
			}
			checkConsistency(t, s)
			src.remove(leaves)
			must(t, Sync(context.Background(), s, "wxA", src, testSyncOptions()))
			checkConsistency(t, s)
			if p, _, _ := s.Profile("wxA", stays); !active(&p) || p.Remark != "looked up" || p.FetchedAt != later.Unix() {
				t.Errorf("the follower a lookup rewrote is cached as %+v", p)
			}
			assertMembers(t, s, "union-new", "wxA/"+stays)
			want := src.profiles[leaves]
			if p, _, _ := s.Profile("wxA", leaves); p.Subscribed || p.UnfollowedAt != later.Unix() || p.UnionID != want.UnionID || p.Remark != want.Remark {
				t.Errorf("the follower a lookup found gone is cached as %+v, want the history of %+v", p, want)
			}
			if a, _, _ := s.App("wxA"); a.Counts != (Counts{Profiles: 10, Subscribed: 9, WithUnionID: 6, Unfollowed: 1}) {
				t.Errorf("counts %+v", a.Counts)
			}
		})
	}
}

// beforeProfiles calls before with each batch, then answers from the fake.
type beforeProfiles struct {
	*fakeSource
	before func(ids []string)
}

func (b *beforeProfiles) Profiles(ctx context.Context, ids []string) (map[string]Profile, error) {
	b.before(ids)
	return b.fakeSource.Profiles(ctx, ids)
}

// An openid a live lookup caches while a sync fetches it is written by the
// sync to that row: appended beside it, the sync's newer answer was found by
// no lookup (the index named the other row) until the catch-up. Seeds 6
// and 7.
func TestASyncRewritesTheRowALiveLookupCachedMeanwhile(t *testing.T) {
	s := openTestStore(t, Options{})
	fake := newFakeSource(6, 100)
	id := fake.followers[2]
	var once sync.Once
	src := &beforeProfiles{fakeSource: fake, before: func(ids []string) {
		if slices.Contains(ids, id) {
			once.Do(func() {
				if err := s.StoreFetched("wxA", []Profile{fake.profiles[id]}, fixedNow.Add(-time.Minute)); err != nil {
					t.Error(err)
				}
			})
		}
	}}
	killCatchUpAt(t, "scan") // the rows stay in the tail
	if err := Sync(context.Background(), s, "wxA", src, testSyncOptions()); !errors.Is(err, errCatchUpKilled) {
		t.Fatalf("sync = %v, want it killed", err)
	}
	checkConsistency(t, s)
	if p, ok, _ := s.Profile("wxA", id); !ok || p.FetchedAt != fixedNow.Unix() {
		t.Fatalf("Profile = %+v, want the sync's answer, fetched at %d", p, fixedNow.Unix())
	}
	rows := 0
	must(t, s.EachProfile("wxA", "", func(p Profile) error {
		if p.OpenID == id {
			rows++
		}
		return nil
	}))
	if a, _, _ := s.App("wxA"); rows != 1 || a.Counts.Profiles != 6 {
		t.Fatalf("%d rows of %s, counts %+v", rows, id, a.Counts)
	}
}

// pagedSource lists fixed pages and answers from the fake, which a test
// changes between the pages' batches.
type pagedSource struct {
	*fakeSource
	pages [][]string
	// answered is called after each batch is answered.
	answered func(ids []string)
}

func (p *pagedSource) ListFollowers(ctx context.Context, next string) (FollowerPage, error) {
	i := 0
	if next != "" {
		fmt.Sscanf(next, "page%d", &i)
	}
	if i >= len(p.pages) {
		return FollowerPage{Last: true}, nil
	}
	p.fakeSource.mu.Lock()
	total := len(p.fakeSource.followers) // a test removes followers while the sync runs
	p.fakeSource.mu.Unlock()
	return FollowerPage{OpenIDs: p.pages[i], Next: fmt.Sprintf("page%d", i+1), Total: total}, nil
}

func (p *pagedSource) Profiles(ctx context.Context, ids []string) (map[string]Profile, error) {
	got, err := p.fakeSource.Profiles(ctx, ids)
	if err == nil {
		p.answered(ids)
	}
	return got, err
}

// A follower a listing that moved gives twice, and who leaves in between,
// keeps the history of its first answer: the subscribe 0 of the second was
// appended as a row of its own, which the catch-up kept. Seeds 73757746
// and 73757768.
func TestAFollowerListedTwiceWhoLeftInBetweenKeepsItsHistory(t *testing.T) {
	for _, commits := range []string{"one commit", "two commits"} {
		t.Run(commits, func(t *testing.T) {
			s := openTestStore(t, Options{})
			fake := newFakeSource(4, 100)
			f := fake.followers
			id := f[1]
			want := fake.profiles[id]
			src := &pagedSource{fakeSource: fake, pages: [][]string{{f[0], f[1]}, {f[2], f[3]}, {f[1]}}}
			src.answered = func(ids []string) {
				if slices.Contains(ids, f[3]) {
					fake.remove(id)
					if commits == "two commits" {
						time.Sleep(2 * commitDelay) // the first answer is written meanwhile
					}
				}
			}
			opts := testSyncOptions()
			opts.Concurrency, opts.BatchSize = 1, 2
			must(t, Sync(context.Background(), s, "wxA", src, opts))
			checkConsistency(t, s)
			p, _, _ := s.Profile("wxA", id)
			if p.Subscribed || p.UnfollowedAt != fixedNow.Unix() || p.UnionID != want.UnionID || p.Remark != want.Remark || p.SubscribeTime != want.SubscribeTime {
				t.Fatalf("cached as %+v, want the history of %+v", p, want)
			}
			if a, _, _ := s.App("wxA"); a.Counts.Profiles != 4 || a.Counts.Unfollowed != 1 {
				t.Fatalf("counts %+v", a.Counts)
			}
		})
	}
}

// leavingOut answers from the fake, but leaves id out of its first omit
// answers after the first, and has it unfollow before the answer after
// them.
type leavingOut struct {
	*pagedSource
	id    string
	asked int
	omit  int
}

func (l *leavingOut) Profiles(ctx context.Context, ids []string) (map[string]Profile, error) {
	if !slices.Contains(ids, l.id) {
		return l.pagedSource.Profiles(ctx, ids)
	}
	l.asked++
	if l.asked == 2+l.omit {
		l.fakeSource.remove(l.id)
	}
	got, err := l.pagedSource.Profiles(ctx, ids)
	if l.asked > 1 && l.asked <= 1+l.omit {
		delete(got, l.id)
	}
	return got, err
}

// The same when the second answer comes at the end of the listing, after
// answers left the openid out (askUnanswered): the same cause, found by
// looking for it after the seeds above, not by a seed.
func TestAFollowerListedTwiceWhoLeftBeforeTheLastAskKeepsItsHistory(t *testing.T) {
	s := openTestStore(t, Options{})
	fake := newFakeSource(4, 100)
	f := slices.Clone(fake.followers) // remove changes the fake's
	want := fake.profiles[f[1]]
	wait := func(ids []string) {
		if slices.Contains(ids, f[3]) {
			time.Sleep(2 * commitDelay) // the first answer is written meanwhile
		}
	}
	src := &leavingOut{pagedSource: &pagedSource{fakeSource: fake, pages: [][]string{{f[0], f[1]}, {f[2], f[3]}, {f[1]}}, answered: wait},
		id: f[1], omit: 1 + maxReasks}
	opts := testSyncOptions()
	opts.Concurrency, opts.BatchSize = 1, 2
	must(t, Sync(context.Background(), s, "wxA", src, opts))
	checkConsistency(t, s)
	p, _, _ := s.Profile("wxA", f[1])
	if p.Subscribed || p.UnfollowedAt != fixedNow.Unix() || p.UnionID != want.UnionID || p.Remark != want.Remark {
		t.Fatalf("cached as %+v, want the history of %+v", p, want)
	}
}
