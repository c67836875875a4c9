package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSource is an in-memory follower list with fault injection.
type fakeSource struct {
	mu        sync.Mutex
	followers []string // in listing order
	profiles  map[string]Profile
	pageSize  int
	delay     time.Duration // per call

	listCalls, profileCalls int
	fetched                 map[string]int // openid → times fetched successfully

	bad               map[string]bool // these openids fail a batch with 40003
	quotaAfterCalls   int             // Profiles call number N+1 and later: 45009 (0: never)
	quotaOnListAfter  int             // ListFollowers call number N+1 and later: 45009 (0: never)
	cancelAfterCalls  int             // cancel() at the start of Profiles call number N+1
	cancel            context.CancelFunc
	failProfilesWith  error
	truncateListingAt int // list only this many followers, then claim the end (0: all)
}

func newFakeSource(n int, pageSize int) *fakeSource {
	f := &fakeSource{profiles: map[string]Profile{}, pageSize: pageSize, fetched: map[string]int{}, bad: map[string]bool{}}
	for i := range n {
		f.add(fmt.Sprintf("oFake%05d", i), i)
	}
	return f
}

func (f *fakeSource) add(openid string, i int) {
	f.followers = append(f.followers, openid)
	u := ""
	if i%3 != 0 {
		u = fmt.Sprintf("union%05d", i)
	}
	f.profiles[openid] = Profile{OpenID: openid, UnionID: u, Subscribed: true, SubscribeTime: int64(1600000000 + i),
		SubscribeScene: "ADD_SCENE_SEARCH", Remark: fmt.Sprintf("备注 %d \x1b[31m", i), TagIDs: []int64{int64(i % 7)}}
}

func (f *fakeSource) remove(openids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.followers = slices.DeleteFunc(f.followers, func(s string) bool { return slices.Contains(openids, s) })
}

func (f *fakeSource) ListFollowers(ctx context.Context, next string) (FollowerPage, error) {
	time.Sleep(f.delay)
	if err := ctx.Err(); err != nil {
		return FollowerPage{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listCalls++
	if f.quotaOnListAfter > 0 && f.listCalls > f.quotaOnListAfter {
		return FollowerPage{}, &QuotaError{API: "cgi-bin/user/get", ResetAt: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), Err: errors.New("errcode 45009")}
	}
	list := f.followers
	if f.truncateListingAt > 0 {
		list = list[:f.truncateListingAt]
	}
	start := 0
	if next != "" {
		start = slices.Index(list, next) + 1
		if start == 0 {
			return FollowerPage{Total: len(f.followers)}, nil // a stale cursor: an empty page
		}
	}
	end := min(start+f.pageSize, len(list))
	page := FollowerPage{OpenIDs: slices.Clone(list[start:end]), Total: len(f.followers)}
	if end > start {
		page.Next = list[end-1] // the API's quirk: the last openid, even on the last page
	}
	page.Last = end == start
	return page, nil
}

func (f *fakeSource) Profiles(ctx context.Context, openids []string) (map[string]Profile, error) {
	f.mu.Lock()
	f.profileCalls++
	call := f.profileCalls
	if f.cancelAfterCalls > 0 && call > f.cancelAfterCalls {
		f.cancel()
	}
	f.mu.Unlock()
	time.Sleep(f.delay)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(openids) == 0 || len(openids) > 100 {
		return nil, fmt.Errorf("errcode 40032: %d openids", len(openids))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.quotaAfterCalls > 0 && call > f.quotaAfterCalls {
		return nil, &QuotaError{API: "cgi-bin/user/info/batchget", ResetAt: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), Err: errors.New("errcode 45009")}
	}
	if f.failProfilesWith != nil {
		return nil, f.failProfilesWith
	}
	out := map[string]Profile{}
	for _, id := range openids {
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("duplicate openid %s in one batch", id)
		}
		if f.bad[id] {
			return nil, fmt.Errorf("errcode 40003 invalid openid: %w", ErrInvalidOpenID)
		}
		if slices.Contains(f.followers, id) {
			out[id] = f.profiles[id]
		} else {
			out[id] = Profile{OpenID: id} // subscribe 0: nothing else
		}
	}
	for id := range out {
		f.fetched[id]++
	}
	return out, nil
}

func (f *fakeSource) calls() (list, profiles int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.listCalls, f.profileCalls
}

var fixedNow = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

func testSyncOptions() SyncOptions {
	return SyncOptions{Now: func() time.Time { return fixedNow }}
}

// assertCacheMatches checks every follower of src is cached as src describes it.
func assertCacheMatches(t *testing.T, s *Store, appid string, src *fakeSource) {
	t.Helper()
	for _, id := range src.followers {
		p, ok, err := s.Profile(appid, id)
		if err != nil || !ok {
			t.Fatalf("follower %s missing from the cache (%v)", id, err)
		}
		want := src.profiles[id]
		if p.UnionID != want.UnionID || p.Remark != want.Remark || !p.Subscribed || p.UnfollowedAt != 0 {
			t.Fatalf("follower %s cached as %+v, want %+v", id, p, want)
		}
	}
	checkConsistency(t, s)
}

func TestSyncFillsTheCache(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(2500, 1000)
	if err := Sync(context.Background(), s, "wxA", src, testSyncOptions()); err != nil {
		t.Fatal(err)
	}
	assertCacheMatches(t, s, "wxA", src)
	a, _, _ := s.App("wxA")
	if want := (Counts{Profiles: 2500, Subscribed: 2500, WithUnionID: 1666}); a.Counts != want {
		t.Fatalf("counts %+v, want %+v", a.Counts, want)
	}
	st := a.Sync
	if st.InProgress || st.Pages != 4 || st.Listed != 2500 || st.Fetched != 2500 || st.Total != 2500 ||
		!st.LastCompleteAt.Equal(fixedNow) || st.LastError != "" {
		t.Fatalf("sync state %+v", st)
	}
	if _, calls := src.calls(); calls != 25 {
		t.Fatalf("%d Profiles calls, want 25", calls)
	}
}

func TestWarmResyncMakesNoProfilesCalls(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(1200, 500)
	must(t, Sync(context.Background(), s, "wxA", src, testSyncOptions()))
	_, before := src.calls()
	must(t, Sync(context.Background(), s, "wxA", src, testSyncOptions()))
	if _, after := src.calls(); after != before {
		t.Fatalf("a warm re-sync made %d Profiles calls", after-before)
	}
	a, _, _ := s.App("wxA")
	if a.Sync.Skipped != 1200 || a.Sync.Fetched != 0 || a.Sync.RunID != 2 || a.Counts.Unfollowed != 0 {
		t.Fatalf("state %+v counts %+v", a.Sync, a.Counts)
	}
	checkConsistency(t, s)

	// Past MaxAge, everything is fetched again.
	opts := testSyncOptions()
	opts.Now = func() time.Time { return fixedNow.Add(25 * time.Hour) }
	must(t, Sync(context.Background(), s, "wxA", src, opts))
	if _, again := src.calls(); again != before+12 {
		t.Fatalf("a stale re-sync made %d Profiles calls, want 12", again-before)
	}
}

func TestSyncResumesAfterCancelLosingNothing(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(3000, 700)
	for round := 1; ; round++ {
		if round > 20 {
			t.Fatal("the sync never completed")
		}
		ctx, cancel := context.WithCancel(context.Background())
		src.mu.Lock()
		src.cancelAfterCalls, src.cancel = src.profileCalls+4, cancel
		src.mu.Unlock()
		opts := testSyncOptions()
		opts.Concurrency = 3
		err := Sync(ctx, s, "wxA", src, opts)
		cancel()
		checkConsistency(t, s)
		if err == nil {
			if round < 3 {
				t.Fatalf("completed in round %d: the test did not interrupt the sync", round)
			}
			break
		}
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "resume") {
			t.Fatalf("round %d: %v", round, err)
		}
		a, _, _ := s.App("wxA")
		if !a.Sync.InProgress || a.Sync.RunID != 1 {
			t.Fatalf("round %d: state %+v", round, a.Sync)
		}
		// Every profile on a page before the cursor is written.
		if c := a.Sync.Cursor; c != "" {
			for _, id := range src.followers[:slices.Index(src.followers, c)+1] {
				if _, ok, _ := s.Profile("wxA", id); !ok {
					t.Fatalf("round %d: cursor %s passed %s, which is not written", round, c, id)
				}
			}
		}
	}
	assertCacheMatches(t, s, "wxA", src)
	// Nothing written was fetched twice.
	for id, n := range src.fetched {
		if n != 1 {
			t.Fatalf("%s fetched %d times", id, n)
		}
	}
}

func TestUnfollowersAreMarkedOnlyAfterACompleteListing(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(300, 100)
	must(t, Sync(context.Background(), s, "wxA", src, testSyncOptions()))
	gone := []string{src.followers[1], src.followers[150], src.followers[299]}
	src.remove(gone...)

	// A listing stopped by the quota after two pages marks nobody.
	src.quotaOnListAfter = src.listCalls + 2
	later := testSyncOptions()
	later.Now = func() time.Time { return fixedNow.Add(time.Hour) }
	err := Sync(context.Background(), s, "wxA", src, later)
	if !errors.Is(err, ErrDailyQuota) {
		t.Fatalf("err = %v", err)
	}
	if a, _, _ := s.App("wxA"); a.Counts.Unfollowed != 0 {
		t.Fatalf("an incomplete listing marked %d unfollowed", a.Counts.Unfollowed)
	}
	checkConsistency(t, s)

	src.quotaOnListAfter = 0
	must(t, Sync(context.Background(), s, "wxA", src, later))
	a, _, _ := s.App("wxA")
	if a.Counts.Unfollowed != 3 || a.Counts.Subscribed != 297 || a.Sync.Unfollowed != 3 {
		t.Fatalf("counts %+v state %+v", a.Counts, a.Sync)
	}
	for _, id := range gone {
		p, ok, _ := s.Profile("wxA", id)
		if !ok || p.Subscribed || p.UnfollowedAt != fixedNow.Add(time.Hour).Unix() || p.UnionID != src.profiles[id].UnionID {
			t.Fatalf("unfollower %s cached as %+v", id, p)
		}
		if p.UnionID != "" {
			assertMembers(t, s, p.UnionID)
		}
	}
	checkConsistency(t, s)

	// Coming back makes them a follower again.
	src.followers = append(src.followers, gone[0])
	must(t, Sync(context.Background(), s, "wxA", src, later))
	if p, _, _ := s.Profile("wxA", gone[0]); !p.Subscribed || p.UnfollowedAt != 0 {
		t.Fatalf("returning follower cached as %+v", p)
	}
	checkConsistency(t, s)
}

func TestAListingFarShortOfTheTotalMarksNobody(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(1000, 100)
	must(t, Sync(context.Background(), s, "wxA", src, testSyncOptions()))
	src.truncateListingAt = 400
	if err := Sync(context.Background(), s, "wxA", src, testSyncOptions()); !errors.Is(err, ErrListingSuspect) {
		t.Fatalf("a listing ending at 400 of 1000: %v, want ErrListingSuspect", err)
	}
	a, _, _ := s.App("wxA")
	if a.Counts.Unfollowed != 0 || !strings.Contains(a.Sync.LastError, "400 of the 1000") {
		t.Fatalf("counts %+v, last error %q", a.Counts, a.Sync.LastError)
	}
	if a.Sync.InProgress || !a.Sync.LastCompleteAt.Equal(fixedNow) {
		t.Fatalf("the refused run: state %+v, want it closed and the last complete sync the first one", a.Sync)
	}
}

func TestBatchWithBadOpenidsBisects(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(500, 250)
	bad := []string{src.followers[7], src.followers[8], src.followers[420]}
	for _, id := range bad {
		src.bad[id] = true
	}
	var last Progress
	opts := testSyncOptions()
	opts.Progress = func(p Progress) { last = p }
	must(t, Sync(context.Background(), s, "wxA", src, opts))
	a, _, _ := s.App("wxA")
	got := slices.Sorted(slices.Values(a.Sync.BadOpenIDs))
	if !slices.Equal(got, bad) {
		t.Fatalf("bad openids %v, want %v", got, bad)
	}
	if a.Counts.Profiles != 497 || last.Errors != 3 || last.Retries == 0 {
		t.Fatalf("counts %+v, progress %+v", a.Counts, last)
	}
	for _, id := range src.followers {
		if _, ok, _ := s.Profile("wxA", id); ok == src.bad[id] {
			t.Fatalf("%s: cached %t, bad %t", id, ok, src.bad[id])
		}
	}
	checkConsistency(t, s)
}

func TestDailyQuotaStopsCleanlyAndSaysWhenToResume(t *testing.T) {
	s := openTestStore(t, Options{})
	must(t, s.SetAppName("wxA", "news"))
	src := newFakeSource(1000, 200)
	src.quotaAfterCalls = 3
	var final Progress
	opts := testSyncOptions()
	opts.Concurrency = 1
	opts.Progress = func(p Progress) { final = p }
	err := Sync(context.Background(), s, "wxA", src, opts)
	var qe *QuotaError
	if !errors.As(err, &qe) || !strings.Contains(err.Error(), "news (wxA)") || !strings.Contains(err.Error(), "2030-01-02") {
		t.Fatalf("err = %v", err)
	}
	a, _, _ := s.App("wxA")
	if !a.Sync.InProgress || !a.Sync.QuotaResetAt.Equal(qe.ResetAt) || a.Counts.Profiles != 300 || a.Sync.LastError == "" {
		t.Fatalf("state %+v counts %+v", a.Sync, a.Counts)
	}
	if !final.Final || final.Phase != PhaseQuota || !final.QuotaResetAt.Equal(qe.ResetAt) || final.Err == nil {
		t.Fatalf("final progress %+v", final)
	}
	checkConsistency(t, s)

	src.quotaAfterCalls = 0
	must(t, Sync(context.Background(), s, "wxA", src, testSyncOptions()))
	assertCacheMatches(t, s, "wxA", src)
	if a, _, _ := s.App("wxA"); a.Sync.LastError != "" || !a.Sync.QuotaResetAt.IsZero() || a.Sync.RunID != 1 {
		t.Fatalf("state after resume %+v", a.Sync)
	}
}

func TestOtherErrorsAreRecordedAndNameTheApp(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(100, 100)
	boom := errors.New("errcode 48001: api unauthorized")
	src.failProfilesWith = boom
	err := Sync(context.Background(), s, "wxA", src, testSyncOptions())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "wxA") {
		t.Fatalf("err = %v", err)
	}
	a, _, _ := s.App("wxA")
	if !strings.Contains(a.Sync.LastError, "48001") || !a.Sync.InProgress {
		t.Fatalf("state %+v", a.Sync)
	}
}

func TestUnsubscribedAnswerMarksUnfollowedAndKeepsHistory(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(10, 100)
	must(t, Sync(context.Background(), s, "wxA", src, testSyncOptions()))
	id := src.followers[1]
	// Still listed (the listing was taken before the unfollow), but the
	// batch answer says subscribe 0.
	listing := slices.Clone(src.followers)
	src.remove(id)
	opts := testSyncOptions()
	opts.MaxAge = -1
	must(t, Sync(context.Background(), s, "wxA", &listingOverride{fakeSource: src, listing: listing}, opts))
	p, _, _ := s.Profile("wxA", id)
	if p.Subscribed || p.UnfollowedAt != fixedNow.Unix() || p.UnionID == "" || p.Remark == "" {
		t.Fatalf("cached as %+v", p)
	}
	checkConsistency(t, s)
}

// listingOverride lists a fixed set of openids but hydrates from the fake.
type listingOverride struct {
	*fakeSource
	listing []string
}

func (l *listingOverride) ListFollowers(ctx context.Context, next string) (FollowerPage, error) {
	if next != "" {
		return FollowerPage{Last: true}, nil
	}
	return FollowerPage{OpenIDs: l.listing, Next: l.listing[len(l.listing)-1], Total: len(l.listing)}, nil
}

func TestProgressIsThrottledAndEndsWithAFinalReport(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(2000, 500)
	src.delay = 5 * time.Millisecond
	var reports []Progress
	var mu sync.Mutex
	opts := testSyncOptions()
	opts.Progress = func(p Progress) { mu.Lock(); reports = append(reports, p); mu.Unlock() }
	start := time.Now()
	must(t, Sync(context.Background(), s, "wxA", src, opts))
	elapsed := time.Since(start)
	if max := int(elapsed/(100*time.Millisecond)) + 2; len(reports) > max {
		t.Fatalf("%d reports in %v", len(reports), elapsed)
	}
	last := reports[len(reports)-1]
	if !last.Final || last.Phase != PhaseDone || last.Fetched != 2000 || last.Listed != 2000 || last.Total != 2000 || last.Pages != 5 || last.Err != nil || last.Rate <= 0 {
		t.Fatalf("final report %+v", last)
	}
	for _, p := range reports[:len(reports)-1] {
		if p.Final {
			t.Fatal("a report before the last claimed to be final")
		}
	}
}

func TestSyncInSharedModeLetsALookupIn(t *testing.T) {
	s := openTestStore(t, Options{Mode: Shared, Command: "wxscope sync"})
	src := newFakeSource(3000, 500)
	src.delay = 10 * time.Millisecond
	done := make(chan error)
	go func() { done <- Sync(context.Background(), s, "wxA", src, testSyncOptions()) }()
	time.Sleep(100 * time.Millisecond)
	for range 5 {
		r, err := Open(s.Path(), Options{Mode: ReadOnly, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatalf("lookup during a sync: %v", err)
		}
		if _, err := r.FindOpenID(src.followers[0]); err != nil {
			t.Fatal(err)
		}
		r.Close()
		time.Sleep(50 * time.Millisecond)
	}
	must(t, <-done)
	assertCacheMatches(t, s, "wxA", src)
}

func TestTwoSyncsOfOneAppInOneProcessAreRefused(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(500, 100)
	src.delay = 20 * time.Millisecond
	done := make(chan error)
	go func() { done <- Sync(context.Background(), s, "wxA", src, testSyncOptions()) }()
	time.Sleep(30 * time.Millisecond)
	if err := Sync(context.Background(), s, "wxA", newFakeSource(1, 1), testSyncOptions()); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("err = %v", err)
	}
	must(t, <-done)
}

// More unfollowers than one transaction marks (unfollowChunk) are marked
// after the last commit, in chunks; fewer are marked in the last commit.
func TestUnfollowersBeyondAChunkAreAllMarked(t *testing.T) {
	for _, gone := range []int{10, unfollowChunk + 700} {
		// Fewer leave than stay: a listing that shrank below half the
		// cache's followers is not trusted at once (see
		// TestAListingThatShrinksFarBelowTheCacheMarksOnlyOnceConfirmed).
		stay := gone + 1000
		s := openTestStore(t, Options{})
		src := newFakeSource(gone+stay, 1000)
		must(t, Sync(context.Background(), s, "wxA", src, testSyncOptions()))
		src.followers = src.followers[gone:]
		later := testSyncOptions()
		later.Now = func() time.Time { return fixedNow.Add(time.Hour) }
		must(t, Sync(context.Background(), s, "wxA", src, later))
		a, _, _ := s.App("wxA")
		if a.Counts.Unfollowed != int64(gone) || a.Counts.Subscribed != int64(stay) || a.Sync.Unfollowed != int64(gone) || a.Sync.InProgress || a.Sync.LastError != "" {
			t.Fatalf("%d gone: counts %+v, state %+v", gone, a.Counts, a.Sync)
		}
		checkConsistency(t, s)
	}
}

// A listing that would mark most of the cache's followers unfollowed is
// not trusted at once: the run ends without marking anyone and says so; the
// next run that lists as few confirms the shrink and marks them.
func TestAListingThatShrinksFarBelowTheCacheMarksOnlyOnceConfirmed(t *testing.T) {
	s := openTestStore(t, Options{})
	src := newFakeSource(1000, 100)
	must(t, Sync(context.Background(), s, "wxA", src, testSyncOptions()))
	src.followers = src.followers[:300]
	later := testSyncOptions()
	later.Now = func() time.Time { return fixedNow.Add(time.Hour) }
	err := Sync(context.Background(), s, "wxA", src, later)
	if !errors.Is(err, ErrListingSuspect) || !strings.Contains(err.Error(), "300 followers where the cache holds 1000") {
		t.Fatalf("a listing of 300 where the cache holds 1000: %v", err)
	}
	if a, _, _ := s.App("wxA"); a.Counts.Unfollowed != 0 || a.Counts.Subscribed != 1000 || a.Sync.InProgress || a.Sync.Suspect != 300 {
		t.Fatalf("after the refused run: counts %+v, state %+v", a.Counts, a.Sync)
	}
	must(t, Sync(context.Background(), s, "wxA", src, later))
	a, _, _ := s.App("wxA")
	if a.Counts.Unfollowed != 700 || a.Counts.Subscribed != 300 || a.Sync.Suspect != 0 || a.Sync.LastError != "" {
		t.Fatalf("after the confirming run: counts %+v, state %+v", a.Counts, a.Sync)
	}
	checkConsistency(t, s)
}

// A page's openids lose their empty and repeated ones and keep their order;
// a page with neither is given back as it is, and the scratch map carries
// nothing from one page to the next.
func TestDedupeKeepsTheFirstOfEachOpenIDInOrder(t *testing.T) {
	seen := map[string]struct{}{}
	for _, c := range []struct{ in, want []string }{
		{[]string{"a", "b", "c"}, []string{"a", "b", "c"}},
		{[]string{"a", "", "b", "a", "c", "b"}, []string{"a", "b", "c"}},
		{[]string{"", ""}, []string{}},
		{[]string{"c", "a"}, []string{"c", "a"}}, // seen on the page before
		{nil, nil},
	} {
		got := dedupe(c.in, seen)
		if !slices.Equal(got, c.want) {
			t.Errorf("dedupe(%q) = %q, want %q", c.in, got, c.want)
		}
		if len(got) == len(c.in) && len(got) > 0 && &got[0] != &c.in[0] {
			t.Errorf("dedupe(%q) copied a page with nothing to leave out", c.in)
		}
	}
}
