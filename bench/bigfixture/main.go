// Command bigfixture writes the 1 M-follower cache files BENCHMARKS.md
// measures the real binary's peak memory on, and walks what the TUI holds on
// one of them:
//
//	go run ./bench/bigfixture write /tmp/wxbig   # 1m.db and 3x1m.db, ~2 min, 2.2 GB
//	go run ./bench/bigfixture write10m /tmp/wxbig # 10m.db, ~2 min, 2.3 GB
//	go run ./bench/bigfixture heap /tmp/wxbig    # the TUI's live heap, step by step
//	go run ./bench/bigfixture heap10m /tmp/wxbig # the same over 10m.db (news and shop)
//	go tool pprof -sample_index=inuse_space -top /tmp/wxbig/heap.pprof
//
// The folder defaults to $WXBIG, else /tmp/wxbig, as in bench/run.sh and
// bench/tui.sh.
//
// write makes, through the Store API with the followers of package
// bench/world (the world of the ui benchmarks):
//
//	1m.db    news 1 000 000, shop 200 000 (sharing news's first unionids),
//	         events 100 000 without unionids: the "cache of 1 M followers"
//	         of design.md
//	3x1m.db  news, shop and legacy at 1 000 000 each: shop shares every
//	         other unionid with news, legacy is on a platform of its own:
//	         the "3 apps × 1 M" of the link analysis goal
//
// write10m makes 10m.db: news 10 000 000 and shop 1 000 000 (news's first
// unionids), the TUI at ten million of issue 12 (bench/10m.toml).
//
// heap opens 1m.db read-only and drives the real TUI at 160×45 as a person
// would, keeping every view open: the home view (its link analysis), the
// presence index, the followers of news, the filter "vip", then the Links
// view over them. It prints the live heap after each step and writes a heap
// profile of the whole to heap.pprof, to see what the peak memory is made of.
// heap10m does the same over 10m.db, writing heap10m.pprof.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/bench/world"
	"wxscope/cache"
	"wxscope/ui"
	"wxscope/ui/uitest"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 || (os.Args[1] != "write" && os.Args[1] != "write10m" && os.Args[1] != "heap" && os.Args[1] != "heap10m") {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench/bigfixture write|write10m|heap|heap10m [DIR]")
		os.Exit(2)
	}
	dir := os.Getenv("WXBIG")
	if dir == "" {
		dir = "/tmp/wxbig"
	}
	if len(os.Args) == 3 {
		dir = os.Args[2]
	}
	var err error
	switch os.Args[1] {
	case "write":
		err = write(dir)
	case "write10m":
		err = write10m(dir)
	default:
		err = heap(dir, os.Args[1] == "heap10m")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bigfixture:", err)
		os.Exit(1)
	}
}

// fixtureApp is one app of a fixture file.
type fixtureApp struct {
	id, name string // the appid is "wx" and 16 hex digits, as the config wants
	prefix   string // the first characters of its openids after the "o"
	n        int
	union    func(i int, u string) string // the unionid row i gets; u is the world's
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the fixture folder: %w", err)
	}
	same := func(_ int, u string) string { return u }
	none := func(int, string) string { return "" }
	if err := writeFile(filepath.Join(dir, "1m.db"), []fixtureApp{
		{"wx00000000000000a1", "news", "Nw3k", 1_000_000, same},
		{"wx00000000000000a2", "shop", "Sp7v", 200_000, same},
		{"wx00000000000000a3", "events", "Ev5q", 100_000, none},
	}); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "3x1m.db"), []fixtureApp{
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

func write10m(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the fixture folder: %w", err)
	}
	same := func(_ int, u string) string { return u }
	return writeFile(filepath.Join(dir, "10m.db"), []fixtureApp{
		{"wx00000000000000a1", "news", "Nw3k", 10_000_000, same},
		{"wx00000000000000a2", "shop", "Sp7v", 1_000_000, same},
	})
}

// writeFile writes apps into a new cache file at path, 50 000 profiles a
// transaction.
func writeFile(path string, apps []fixtureApp) (err error) {
	os.Remove(path)
	s, err := cache.Open(path, cache.Options{})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}()
	const chunk = 50_000
	ps := make([]cache.Profile, 0, chunk)
	names := map[string]string{}
	for _, a := range apps {
		names[a.id] = a.name
		i := 0
		world.Followers(a.n, func(p *cache.Profile) {
			q := *p
			q.AppID = a.id
			q.OpenID = "o" + a.prefix + q.OpenID[1+len(a.prefix):]
			if q.UnionID != "" {
				q.UnionID = a.union(i, q.UnionID)
			}
			ps = append(ps, q)
			if i++; len(ps) == chunk || i == a.n {
				if err == nil {
					err = s.PutProfiles(a.id, ps)
				}
				ps = ps[:0]
			}
		})
		if err != nil {
			return fmt.Errorf("write %s into %s: %w", a.name, path, err)
		}
	}
	if err := s.SetAppNames(names); err != nil {
		return err
	}
	fmt.Println("wrote", path)
	return nil
}

// linksOver is the Links view's reader over the home view's: what the home
// view hands the Links view it opens.
type linksOver struct{ r *ui.CacheReader }

func (l linksOver) Analyze(ctx context.Context) (*cache.Links, error) {
	return l.r.Links(ctx, time.Now())
}

func (l linksOver) EachGroup(ctx context.Context, fn func(g *cache.Group) error) error {
	return l.r.EachGroup(ctx, fn)
}

func heap(dir string, tenM bool) error {
	path, out := filepath.Join(dir, "1m.db"), "heap.pprof"
	if tenM {
		path, out = filepath.Join(dir, "10m.db"), "heap10m.pprof"
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%w; write it first with go run ./bench/bigfixture write %s", err, dir)
	}
	s, err := cache.Open(path, cache.Options{Mode: cache.ReadOnly})
	if err != nil {
		return err
	}
	defer s.Close()
	apps := []ui.App{{Name: "news", AppID: "wx00000000000000a1"},
		{Name: "shop", AppID: "wx00000000000000a2"}, {Name: "events", AppID: "wx00000000000000a3"}}
	if tenM {
		apps = apps[:2]
	}
	refs := make([]cache.AppRef, len(apps))
	for i, a := range apps {
		refs[i] = cache.AppRef{AppID: a.AppID, Name: a.Name}
	}
	reader := ui.NewCacheReader(s, refs)
	root := ui.NewRoot(ui.Options{Theme: ui.ThemePlain, Persons: reader, ReadOnly: true})
	root.Open(ui.NewHome(root.Common(), ui.HomeSpec{CachePath: path, Apps: apps, Reader: reader}))
	d := &uitest.Driver{Model: root}

	live := func(step, want string) error {
		if !strings.Contains(d.Screen(), want) {
			return fmt.Errorf("after %s the screen lacks %q:\n%s", step, want, d.Screen())
		}
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Printf("%-32s live heap %4d MB  (heap obtained from the OS %4d MB)\n", step, m.HeapAlloc>>20, m.HeapSys>>20)
		return nil
	}
	if err := live("open", ""); err != nil {
		return err
	}
	d.Send(tea.WindowSizeMsg{Width: 160, Height: 45})
	d.Run(root.Init())
	if err := live("home: link analysis", "findings"); err != nil {
		return err
	}
	others := []string{"wx00000000000000a2", "wx00000000000000a3"}[:len(apps)-1]
	if _, err := reader.Presence(root.Common().Ctx, others); err != nil {
		return err
	}
	if err := live("+ presence index", fmt.Sprintf("wxscope · %d apps", len(apps))); err != nil {
		return err
	}
	d.Send(uitest.Key("enter"))
	if err := live("+ follower index of news", "news › followers"); err != nil {
		return err
	}
	d.Send(uitest.Key("/"))
	d.Send(uitest.Type("vip")...)
	d.Send(uitest.Key("enter"))
	if err := live(`+ filter "vip"`, `filter "vip" → `); err != nil {
		return err
	}
	d.Send(ui.PushMsg{Page: ui.NewLinks(root.Common(), ui.LinksSpec{Reader: linksOver{reader}})})
	if err := live("+ links view groups", "links"); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, out))
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	fmt.Println("wrote", f.Name())
	runtime.KeepAlive(root)
	return f.Close()
}
