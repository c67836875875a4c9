package cache

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// syncCountingTailReads syncs src into s and returns how many catch-ups
// read their rows back from the file rather than take them from the feed.
func syncCountingTailReads(t *testing.T, s *Store, src Source, opts SyncOptions) int64 {
	t.Helper()
	before := tailReads.Load()
	must(t, Sync(context.Background(), s, "wxA", src, opts))
	return tailReads.Load() - before
}

// A cold sync's catch-up indexes the rows the run fed it as it wrote them,
// reading none of them back, and the indexes it writes are the ones a
// reading of the rows gives: every follower found by openid and by
// unionid, Check content. Spilled to scratch files, the feed gives the same.
func TestACatchUpTakesTheRowsTheSyncFed(t *testing.T) {
	for _, limit := range []int{feedRunBytes, 2048} {
		t.Run(fmt.Sprintf("runs of %d bytes", limit), func(t *testing.T) {
			old := feedRunBytes
			feedRunBytes = limit
			t.Cleanup(func() { feedRunBytes = old })
			s := openTestStore(t, Options{Mode: Shared})
			src := newFakeSource(1500, 400)
			opts := testSyncOptions()
			opts.BatchSize = 50
			if reads := syncCountingTailReads(t, s, src, opts); reads != 0 {
				t.Fatalf("the catch-up read the rows %d times", reads)
			}
			checkConsistency(t, s)
			assertCacheMatches(t, s, "wxA", src)
			for _, i := range []int{1, 700, 1499} {
				id := src.followers[i]
				assertMembers(t, s, src.profiles[id].UnionID, "wxA/"+id)
			}
			if a, _, _ := s.App("wxA"); a.Counts != (Counts{Profiles: 1500, Subscribed: 1500, WithUnionID: 1000}) {
				t.Fatalf("counts %+v", a.Counts)
			}
		})
	}
}

// A follower that a listing which moved gives twice is answered twice.
// Answered again in a later group, the answer is a row of its own, as a
// reading of the rows would find it: the feed holds both and the
// catch-up keeps the later. Answered again in the same group, or gone by
// then (a subscribe 0 goes to the row that keeps its history), the row
// is written again: what the feed took of it no longer holds, so the
// catch-up reads the rows. Either way the sync's last answer stands.
func TestAFeedWhoseRowWasWrittenAgainIsNotTaken(t *testing.T) {
	for _, c := range []struct {
		name        string
		gap, leaves bool
		reads       int64
	}{
		{"again in a later group", true, false, 0},
		{"again in the same group", false, false, 1},
		{"gone by the later group", true, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := openTestStore(t, Options{})
			fake := newFakeSource(4, 100)
			f := slices.Clone(fake.followers)
			src := &pagedSource{fakeSource: fake, pages: [][]string{{f[0], f[1]}, {f[2], f[3]}, {f[1]}}}
			var once sync.Once
			src.answered = func(ids []string) {
				if slices.Contains(ids, f[3]) {
					once.Do(func() {
						if c.leaves {
							fake.remove(f[1])
						} else {
							p := fake.profiles[f[1]]
							p.UnionID, p.Remark = "union-moved", "answered again"
							fake.profiles[f[1]] = p
						}
						if c.gap {
							time.Sleep(2 * commitDelay) // the first answer is written meanwhile
						}
					})
				}
			}
			opts := testSyncOptions()
			opts.Concurrency, opts.BatchSize = 1, 2
			if reads := syncCountingTailReads(t, s, src, opts); reads != c.reads {
				t.Fatalf("the catch-up read the rows %d times, want %d", reads, c.reads)
			}
			checkConsistency(t, s)
			p, _, _ := s.Profile("wxA", f[1])
			switch {
			case c.leaves:
				if p.Subscribed || p.UnionID != "union00001" || p.Remark == "" {
					t.Fatalf("cached as %+v, want the history", p)
				}
				assertMembers(t, s, "union00001")
			default:
				if p.UnionID != "union-moved" || p.Remark != "answered again" {
					t.Fatalf("cached as %+v", p)
				}
				assertMembers(t, s, "union-moved", "wxA/"+f[1])
				assertMembers(t, s, "union00001")
			}
			if a, _, _ := s.App("wxA"); a.Counts.Profiles != 4 {
				t.Fatalf("counts %+v", a.Counts)
			}
		})
	}
}

// A write outside the sync (a live lookup in another process) moves the
// app's write counter: it may have written a row the feed took, so the
// catch-up reads the rows, and the lookup's answer stands.
func TestAFeedIsNotTakenAfterAWriteOutsideTheSync(t *testing.T) {
	s := openTestStore(t, Options{Mode: Shared})
	fake := newFakeSource(300, 100)
	id := fake.followers[250]
	looked := fake.profiles[fake.followers[20]]
	looked.Remark = "looked up"
	var once sync.Once
	src := &beforeProfiles{fakeSource: fake, before: func(ids []string) {
		if slices.Contains(ids, id) {
			once.Do(func() {
				// Row 20 is in the tail by now: the first page's answers
				// were written (a group waits commitDelay at most).
				time.Sleep(2 * commitDelay)
				if err := s.StoreFetched("wxA", []Profile{looked}, fixedNow.Add(time.Minute)); err != nil {
					t.Error(err)
				}
			})
		}
	}}
	opts := testSyncOptions()
	opts.Concurrency, opts.BatchSize = 1, 50
	if reads := syncCountingTailReads(t, s, src, opts); reads != 1 {
		t.Fatalf("the catch-up read the rows %d times, want once", reads)
	}
	checkConsistency(t, s)
	if a, _, _ := s.App("wxA"); a.Counts.Profiles != 300 {
		t.Fatalf("counts %+v", a.Counts)
	}
	if p, _, _ := s.Profile("wxA", looked.OpenID); p.Remark != "looked up" {
		t.Fatalf("the looked-up follower is cached as %+v", p)
	}
}
