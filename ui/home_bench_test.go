package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"wxscope/bench/world"
	"wxscope/cache"
)

// The benchmarks of what a user waits for, on a cache file of 1 M
// followers (news), beside 200 000 (shop, sharing unionids with news) and
// 100 000 (events, unbound):
//
//	go test -run '^$' -bench 'Home|OpenFollowers|Presence' -benchtime 5x ./ui/
//
// The file is built once per process, in a temporary folder removed at the
// end (about a minute).

var (
	cacheFixtureOnce sync.Once
	cacheFixtureDir  string
	cacheFixtureErr  error
)

var benchRefs = []cache.AppRef{{AppID: "wxnews", Name: "news"}, {AppID: "wxshop", Name: "shop"}, {AppID: "wxevents", Name: "events"}}

func cacheFixture1M(b *testing.B) string {
	cacheFixtureOnce.Do(func() {
		cacheFixtureDir, cacheFixtureErr = os.MkdirTemp("", "wxscope-ui-bench-")
		if cacheFixtureErr != nil {
			return
		}
		path := filepath.Join(cacheFixtureDir, "wxscope.db")
		s, err := cache.Open(path, cache.Options{})
		if err != nil {
			cacheFixtureErr = err
			return
		}
		defer s.Close()
		const chunk = 50_000
		ps := make([]cache.Profile, 0, chunk)
		for _, app := range []struct {
			id     string
			n      int
			unions bool
		}{{"wxnews", 1_000_000, true}, {"wxshop", 200_000, true}, {"wxevents", 100_000, false}} {
			var n int
			world.Followers(app.n, func(p *cache.Profile) {
				q := *p
				q.OpenID = app.id[2:4] + q.OpenID[2:]
				if !app.unions {
					q.UnionID = ""
				}
				ps = append(ps, q)
				if n++; len(ps) == chunk || n == app.n {
					if cacheFixtureErr == nil {
						cacheFixtureErr = s.PutProfiles(app.id, ps)
					}
					ps = ps[:0]
				}
			})
		}
		if cacheFixtureErr == nil {
			cacheFixtureErr = s.SetAppNames(map[string]string{"wxnews": "news", "wxshop": "shop", "wxevents": "events"})
		}
	})
	if cacheFixtureErr != nil {
		b.Fatal(cacheFixtureErr)
	}
	return filepath.Join(cacheFixtureDir, "wxscope.db")
}

// extraCleanups run after every test and benchmark (fixtures shared by
// several benchmarks).
var extraCleanups []func()

func TestMain(m *testing.M) {
	code := m.Run()
	if cacheFixtureDir != "" {
		os.RemoveAll(cacheFixtureDir)
	}
	for _, f := range extraCleanups {
		f()
	}
	os.Exit(code)
}

func homeApps() []App {
	apps := make([]App, len(benchRefs))
	for i, r := range benchRefs {
		apps[i] = App{Name: r.Name, AppID: r.AppID}
	}
	return apps
}

// BenchmarkHomeFirstScreen1M is `wxscope` from nothing to its first screen:
// open the cache file (Shared mode, as the TUI does), read the counters,
// draw the home view. The link analysis arrives after, in the background.
func BenchmarkHomeFirstScreen1M(b *testing.B) {
	path := cacheFixture1M(b)
	var out string
	for b.Loop() {
		s, err := cache.Open(path, cache.Options{Mode: cache.Shared})
		if err != nil {
			b.Fatal(err)
		}
		src := NewCacheReader(s, benchRefs)
		r := NewRoot(Options{Theme: ThemeAuto})
		a := NewHome(r.Common(), HomeSpec{CachePath: path, Apps: homeApps(), Reader: src})
		r.Open(a)
		r.Update(tea.WindowSizeMsg{Width: 160, Height: 45})
		r.Update(a.readCounts()())
		out = r.Render()
		s.Close()
	}
	if strings.Contains(out, "reading the cache") || !strings.Contains(out, "932 877") {
		b.Fatalf("first screen lacks the count:\n%s", out)
	}
}

// BenchmarkOpenFollowers1M is enter on news: read its 1 M profiles from
// the file into the index, order it by follow time and draw the first
// frame. The presence index is built beside it (BenchmarkPresenceBuild).
func BenchmarkOpenFollowers1M(b *testing.B) {
	path := cacheFixture1M(b)
	s, err := cache.Open(path, cache.Options{Mode: cache.Shared})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	src := NewCacheReader(s, benchRefs)
	for b.Loop() {
		x, err := LoadFollowerIndex(context.Background(), src, "wxnews", 1_000_000, nil)
		if err != nil {
			b.Fatal(err)
		}
		f := NewFollowersFromIndex(benchCommon(), FollowersSpec{App: "news", AppID: "wxnews", Bound: true, Others: testOthers}, x)
		f.SetSize(160, 44)
		_ = f.View()
		if x.Len() != 1_000_000 {
			b.Fatalf("index holds %d rows", x.Len())
		}
	}
}

// BenchmarkPresenceBuild reads the 1.2 M-entry unionid index into the
// presence columns' lookup.
func BenchmarkPresenceBuild(b *testing.B) {
	path := cacheFixture1M(b)
	s, err := cache.Open(path, cache.Options{Mode: cache.Shared})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var x *PresenceIndex
	for b.Loop() {
		if x, err = BuildPresence(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(x.Len()), "entries")
}

// BenchmarkPresenceHas is one presence cell.
func BenchmarkPresenceHas(b *testing.B) {
	path := cacheFixture1M(b)
	s, err := cache.Open(path, cache.Options{Mode: cache.Shared})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	x, err := BuildPresence(context.Background(), s)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("u%027d", i*977)
	}
	i := 0
	for b.Loop() {
		x.Has("wxshop", ids[i&1023])
		i++
	}
}
