package ui

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"wxscope/cache"
)

// TestWriteBigFixture writes the cache files BENCHMARKS.md measures the real
// binary's peak memory on, when WXSCOPE_BIG_FIXTURE names a folder (it is
// skipped otherwise):
//
//	1m.db    news 1 000 000, shop 200 000 (sharing news's first unionids),
//	         events 100 000 without unionids: the "cache of 1 M followers"
//	         of design.md, the same world as the ui benchmarks
//	3x1m.db  news, shop and legacy at 1 000 000 each: shop shares every
//	         other unionid with news, legacy is on a platform of its own:
//	         the "3 apps × 1 M" of the link analysis goal
//
// Both are written through the Store API with genWorld's followers (CJK and
// emoji remarks, unfollowed rows, one in ten without a unionid):
//
//	WXSCOPE_BIG_FIXTURE=/tmp/wxbig go test -run WriteBigFixture -timeout 20m ./ui/
func TestWriteBigFixture(t *testing.T) {
	dir := os.Getenv("WXSCOPE_BIG_FIXTURE")
	if dir == "" {
		t.Skip("set WXSCOPE_BIG_FIXTURE to a folder to write the 1 M-follower cache files")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	type app struct {
		id, name string // the appid is "wx" and 16 hex digits, as the config wants
		prefix   string // the first characters of its openids after the "o"
		n        int
		union    func(i int, u string) string // the unionid row i gets; u is genWorld's
	}
	same := func(_ int, u string) string { return u }
	none := func(int, string) string { return "" }
	write := func(file string, apps []app) {
		path := filepath.Join(dir, file)
		os.Remove(path)
		s, err := cache.Open(path, cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		const chunk = 50_000
		ps := make([]cache.Profile, 0, chunk)
		names := map[string]string{}
		for _, a := range apps {
			names[a.id] = a.name
			i := 0
			genWorld(a.n, func(p *cache.Profile) {
				q := *p
				q.AppID = a.id
				q.OpenID = "o" + a.prefix + q.OpenID[1+len(a.prefix):]
				if q.UnionID != "" {
					q.UnionID = a.union(i, q.UnionID)
				}
				ps = append(ps, q)
				if i++; len(ps) == chunk || i == a.n {
					if err := s.PutProfiles(a.id, ps); err != nil {
						t.Fatal(err)
					}
					ps = ps[:0]
				}
			})
		}
		if err := s.SetAppNames(names); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
	write("1m.db", []app{
		{"wx00000000000000a1", "news", "Nw3k", 1_000_000, same},
		{"wx00000000000000a2", "shop", "Sp7v", 200_000, same},
		{"wx00000000000000a3", "events", "Ev5q", 100_000, none},
	})
	write("3x1m.db", []app{
		{"wx00000000000000a1", "news", "Nw3k", 1_000_000, same},
		{"wx00000000000000a2", "shop", "Sp7v", 1_000_000, func(i int, u string) string {
			if i%2 == 1 {
				return "oP1s" + u[4:] // a person of P1 that news does not have
			}
			return u
		}},
		{"wx00000000000000a4", "legacy", "Lg9x", 1_000_000, func(_ int, u string) string { return "oP2z" + u[4:] }},
	})
}

// TestBigFixtureHeap walks what the TUI holds on 1m.db (written by
// TestWriteBigFixture) after the user has opened the followers of news and
// then the Links view: the home's link analysis, the presence index, the
// follower index with its default order, and the Links view's groups. It
// logs the live heap after each step and writes a heap profile of the
// whole, to see which of them the peak memory is made of:
//
//	WXSCOPE_BIG_FIXTURE=/tmp/wxbig go test -run BigFixtureHeap -v ./ui/
//	go tool pprof -sample_index=inuse_space -top /tmp/wxbig/heap.pprof
func TestBigFixtureHeap(t *testing.T) {
	dir := os.Getenv("WXSCOPE_BIG_FIXTURE")
	if dir == "" {
		t.Skip("set WXSCOPE_BIG_FIXTURE to the folder TestWriteBigFixture wrote")
	}
	ctx := context.Background()
	s, err := cache.Open(filepath.Join(dir, "1m.db"), cache.Options{Mode: cache.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	refs := []cache.AppRef{{AppID: "wx00000000000000a1", Name: "news"},
		{AppID: "wx00000000000000a2", Name: "shop"}, {AppID: "wx00000000000000a3", Name: "events"}}
	src := NewCacheReader(s, refs)
	live := func(step string) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		t.Logf("%-28s live heap %4d MB  (heap obtained from the OS %4d MB)", step, m.HeapAlloc>>20, m.HeapSys>>20)
	}
	live("open")
	links, err := src.Links(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	live("home: link analysis")
	pres, err := src.Presence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live("+ presence index")
	x, err := LoadFollowerIndex(ctx, src, "wx00000000000000a1", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	order := x.Order(SortFollowed, nil)
	rows := x.Visible(order, true, nil, false)
	live("+ follower index of news")
	set, _, _ := x.Match("vip", nil, nil)
	filtered := x.Visible(order, true, set, false)
	live("+ filter \"vip\"")
	groups, err := loadGroups(ctx, homeLinks{src: src, now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	live("+ links view groups")
	f, err := os.Create(filepath.Join(dir, "heap.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
	if links.Persons == 0 || pres == nil || len(rows) == 0 || len(filtered) == 0 || groups.len() == 0 {
		t.Fatalf("empty: %d persons, %d rows, %d filtered, %d groups", links.Persons, len(rows), len(filtered), groups.len())
	}
	runtime.KeepAlive(x)
}
