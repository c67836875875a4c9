package cache

import (
	"errors"
	"fmt"
	"iter"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// pagesOf yields ids as pages of n, then err if it is not nil.
func pagesOf(ids []string, n int, err error) iter.Seq2[[]string, error] {
	return func(yield func([]string, error) bool) {
		for len(ids) > 0 {
			k := min(n, len(ids))
			if !yield(ids[:k], nil) {
				return
			}
			ids = ids[k:]
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

func openids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%08d", prefix, i)
	}
	return out
}

func TestTagsKeepTheLastListWhenAReadFails(t *testing.T) {
	s := openTestStore(t, Options{})
	if l, err := s.Tags("wxA"); err != nil || !l.ReadAt.IsZero() || len(l.Tags) != 0 {
		t.Fatalf("tags never read: %+v, %v; want a zero list", l, err)
	}
	t1 := time.Unix(1700000000, 0)
	tags := []Tag{{2, "星标组", 5}, {101, "🎁活动", 3}, {104, "\x1b[1m加粗\x1b[0m", 1}}
	must(t, s.SetTags("wxA", tags, t1))
	t2 := t1.Add(time.Hour)
	must(t, s.SetTagsUnavailable("wxA", "news is not verified (48001)", t2))

	l, err := s.Tags("wxA")
	must(t, err)
	if !reflect.DeepEqual(l.Tags, tags) || !l.ReadAt.Equal(t1) || !l.TriedAt.Equal(t2) || l.Unavailable == "" {
		t.Fatalf("after a failed read: %+v, want the list of %v kept, tried at %v, with the reason", l, t1, t2)
	}
	if got := l.Names([]int64{101, 103, 2}); !slices.Equal(got, []string{"🎁活动", "103", "星标组"}) {
		t.Errorf("names of 101, 103 (deleted), 2: %q", got)
	}
	if m := l.NameMap(); len(m) != 3 || m[104] != tags[2].Name {
		t.Errorf("name map %v", m)
	}

	must(t, s.SetTags("wxA", tags[:1], t2.Add(time.Hour)))
	if l, _ := s.Tags("wxA"); l.Unavailable != "" || len(l.Tags) != 1 {
		t.Errorf("a successful read after a failed one: %+v, want one tag and no reason", l)
	}
	if l, _ := s.Tags("wxB"); len(l.Tags) != 0 {
		t.Errorf("another app's tags: %+v", l)
	}
	checkConsistency(t, s)
}

// Several chunks' worth of openids, with duplicates across pages: the list
// holds each once, in openid order, and replaces the last one whole.
func TestReplaceBlacklistReplacesTheWholeList(t *testing.T) {
	s := openTestStore(t, Options{})
	at := time.Unix(1700000000, 0)
	old := openids("oOld", 10)
	_, err := s.ReplaceBlacklist("wxA", pagesOf(old, 3, nil), at)
	must(t, err)

	ids := openids("oNew", 2*blacklistChunk+500)
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	pages := append(rev, ids[:1000]...) // the API's order is not ours; a page seen twice
	n, err := s.ReplaceBlacklist("wxA", pagesOf(pages, 1000, nil), at.Add(time.Hour))
	must(t, err)
	if n != int64(len(ids)) {
		t.Fatalf("replaced with %d openids, want %d", n, len(ids))
	}
	st, err := s.BlacklistState("wxA")
	must(t, err)
	if st.Count != n || !st.ReadAt.Equal(at.Add(time.Hour)) || st.Unavailable != "" {
		t.Fatalf("state %+v", st)
	}
	var got []string
	must(t, s.EachBlacklisted("wxA", func(id string) error { got = append(got, id); return nil }))
	if !slices.Equal(got, ids) {
		t.Fatalf("listed %d openids (first %q), want the %d new ones in order", len(got), got[:min(3, len(got))], len(ids))
	}
	for _, c := range []struct {
		id   string
		want bool
	}{{old[0], false}, {ids[0], true}, {ids[len(ids)-1], true}, {"", false}, {"oNobody", false}} {
		if on, err := s.Blacklisted("wxA", c.id); err != nil || on != c.want {
			t.Errorf("Blacklisted(%q) = %v, %v; want %v", c.id, on, err, c.want)
		}
	}
	bl, err := s.Blacklist("wxA")
	must(t, err)
	if bl.Len() != len(ids) || !bl.Has(ids[7]) || bl.Has(old[7]) || bl.Count != n {
		t.Errorf("in memory: %d openids, has new %v, has old %v", bl.Len(), bl.Has(ids[7]), bl.Has(old[7]))
	}
	if gens := generations(t, s, "wxA"); gens != 1 {
		t.Errorf("%d generations left in the file, want 1", gens)
	}
	checkConsistency(t, s)
}

func generations(t *testing.T, s *Store, appid string) int {
	t.Helper()
	n := 0
	must(t, s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBlacklists).Bucket([]byte(appid)).ForEachBucket(func([]byte) error { n++; return nil })
	}))
	return n
}

// While the new list is being written, a reader sees the old one; a
// listing that breaks off leaves the old one in place, and nothing of the
// new one in the file.
func TestABrokenBlacklistReadKeepsTheOldList(t *testing.T) {
	s := openTestStore(t, Options{})
	at := time.Unix(1700000000, 0)
	old := openids("oOld", 5)
	_, err := s.ReplaceBlacklist("wxA", pagesOf(old, 5, nil), at)
	must(t, err)

	ids := openids("oNew", blacklistChunk+2000)
	broken := errors.New("connection reset")
	checked := false
	pages := func(yield func([]string, error) bool) {
		for page, err := range pagesOf(ids, 1000, broken) {
			if err == nil && page[0] == ids[(blacklistChunk+999)/1000*1000] {
				checked = true
				// One chunk is written by now: readers still see the old list.
				if on, _ := s.Blacklisted("wxA", ids[0]); on {
					t.Error("a reader sees the new list before it is complete")
				}
				if on, _ := s.Blacklisted("wxA", old[0]); !on {
					t.Error("a reader lost the old list while the new one is written")
				}
			}
			if !yield(page, err) {
				return
			}
		}
	}
	if _, err := s.ReplaceBlacklist("wxA", pages, at.Add(time.Hour)); !errors.Is(err, broken) {
		t.Fatalf("replace with a broken listing: %v, want its error", err)
	}
	if !checked {
		t.Fatal("the listing never reached the page after the first chunk")
	}
	must(t, s.SetBlacklistUnavailable("wxA", "the blacklist could not be read", at.Add(time.Hour)))
	bl, err := s.Blacklist("wxA")
	must(t, err)
	if bl.Len() != len(old) || !bl.Has(old[0]) || bl.Has(ids[0]) || !bl.ReadAt.Equal(at) || bl.Unavailable == "" {
		t.Fatalf("after a broken read: %d openids, read at %v, unavailable %q; want the old 5 of %v and the reason", bl.Len(), bl.ReadAt, bl.Unavailable, at)
	}
	if gens := generations(t, s, "wxA"); gens != 1 {
		t.Errorf("%d generations in the file after the broken read, want only the old one", gens)
	}
}

// A replacement killed midway leaves its partial list in the file (nothing
// in the process survives to drop it); the next replacement removes it.
func TestAPartialBlacklistOfAKilledReadIsDroppedNextTime(t *testing.T) {
	s := openTestStore(t, Options{})
	at := time.Unix(1700000000, 0)
	_, err := s.ReplaceBlacklist("wxA", pagesOf(openids("o", 3), 3, nil), at)
	must(t, err)
	// What a kill after the first chunk leaves.
	must(t, s.update(func(tx *bolt.Tx) error {
		b, st, err := blacklistBucket(tx, "wxA")
		must(t, err)
		g, err := b.CreateBucket(genName(st.current + 1))
		must(t, err)
		return g.Put([]byte("oPartial"), nil)
	}))
	if on, _ := s.Blacklisted("wxA", "oPartial"); on {
		t.Fatal("a partial list is visible")
	}
	_, err = s.ReplaceBlacklist("wxA", pagesOf(openids("p", 2), 3, nil), at)
	must(t, err)
	if gens := generations(t, s, "wxA"); gens != 1 {
		t.Errorf("%d generations after the next replacement, want 1", gens)
	}
	if bl, _ := s.Blacklist("wxA"); bl.Len() != 2 || bl.Has("oPartial") {
		t.Errorf("list after the next replacement: %d openids, partial's %v", bl.Len(), bl.Has("oPartial"))
	}
}

// A large blacklist streams through: the heap stays far below what the
// list itself would take in memory.
func TestReplaceBlacklistMemoryDoesNotGrowWithTheList(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 400 000 openids")
	}
	s := openTestStore(t, Options{})
	const n = 400_000
	// The whole list in memory: n strings of 28 bytes and their headers.
	whole := uint64(n * (28 + 16))
	var base, peak uint64
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base = ms.HeapAlloc
	pages := func(yield func([]string, error) bool) {
		page := make([]string, 10000)
		for p := range n / len(page) {
			for i := range page {
				page[i] = fmt.Sprintf("oBlack%022d", p*len(page)+i)
			}
			if p%5 == 4 {
				runtime.GC() // the live heap, not garbage waiting for the collector
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			if !yield(page, nil) {
				return
			}
		}
	}
	got, err := s.ReplaceBlacklist("wxA", pages, time.Now())
	must(t, err)
	if got != n {
		t.Fatalf("stored %d, want %d", got, n)
	}
	grew := peak - min(peak, base)
	t.Logf("heap grew %d KB at most while storing %d openids (the list alone is %d KB)", grew>>10, n, whole>>10)
	if grew > whole/2 {
		t.Errorf("heap grew %d KB while storing %d openids: the list seems held in memory (%d KB)", grew>>10, n, whole>>10)
	}
}

func TestGrowthStoresDaysByDate(t *testing.T) {
	s := openTestStore(t, Options{})
	at := time.Unix(1700000000, 0)
	days := []GrowthDay{
		{Date: "2025-05-02", New: 10, Cancel: 3, Cumulate: 107, HasSummary: true, HasCumulate: true, FetchedAt: at},
		{Date: "2025-05-01", New: 5, Cancel: 8, Cumulate: 100, HasSummary: true, HasCumulate: true, FetchedAt: at},
		{Date: "2025-04-30", FetchedAt: at}, // asked, nothing there
	}
	must(t, s.PutGrowth("wxA", days))
	got, err := s.Growth("wxA", "2025-04-30", "2025-05-01")
	must(t, err)
	if len(got) != 2 || got[0].Date != "2025-04-30" || got[0].Known() || got[1].Net() != -3 || got[1].Cumulate != 100 || !got[1].FetchedAt.Equal(at) {
		t.Fatalf("growth 04-30..05-01: %+v", got)
	}
	// A later fetch of a day replaces it.
	must(t, s.PutGrowth("wxA", []GrowthDay{{Date: "2025-05-02", New: 11, HasSummary: true}}))
	if got, _ := s.Growth("wxA", "2025-05-02", "2025-05-31"); len(got) != 1 || got[0].New != 11 || got[0].HasCumulate {
		t.Errorf("after a refetch: %+v", got)
	}
	if got, _ := s.Growth("wxB", "2025-01-01", "2025-12-31"); len(got) != 0 {
		t.Errorf("another app's growth: %+v", got)
	}
	for _, bad := range []string{"2025-5-01", "2025-02-30", "", "2025-05-01\x00"} {
		if err := s.PutGrowth("wxA", []GrowthDay{{Date: bad}}); err == nil {
			t.Errorf("PutGrowth accepted the date %q", bad)
		}
	}
	checkConsistency(t, s)
}

// A cache written before these buckets existed, opened read-only (which
// creates nothing), reads as "never read", without an error.
func TestTagsBlacklistAndGrowthOfAnOlderCacheReadAsNeverRead(t *testing.T) {
	path := sharedReadOnlyFixture(t)
	r := openSharedReadOnly(t, path)
	if l, err := r.Tags("wxA"); err != nil || !l.ReadAt.IsZero() {
		t.Errorf("tags: %+v, %v", l, err)
	}
	if bl, err := r.Blacklist("wxA"); err != nil || bl.Len() != 0 || !bl.ReadAt.IsZero() {
		t.Errorf("blacklist: %+v, %v", bl, err)
	}
	if on, err := r.Blacklisted("wxA", "oA1"); err != nil || on {
		t.Errorf("blacklisted: %v, %v", on, err)
	}
	if g, err := r.Growth("wxA", "2025-01-01", "2025-12-31"); err != nil || len(g) != 0 {
		t.Errorf("growth: %+v, %v", g, err)
	}
	if err := r.SetTags("wxA", nil, time.Now()); !errors.Is(err, ErrReadOnly) {
		t.Errorf("SetTags on a read-only store: %v", err)
	}
}
