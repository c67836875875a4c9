package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// heldLinks is a Reader whose link analysis waits, once armed, until it is
// let go: the analysis after a sync is then still out when the sync's row
// says done.
type heldLinks struct {
	Reader
	armed   atomic.Bool
	release chan struct{}
}

func (h *heldLinks) Links(ctx context.Context, now time.Time) (*cache.Links, error) {
	if h.armed.Load() {
		<-h.release
	}
	return h.Reader.Links(ctx, now)
}

// heldSyncs is a SyncFunc that waits for its app's channel, then syncs from
// the world for real.
type heldSyncs struct {
	w     homeWorld
	store *cache.Store
	go_   map[string]chan struct{}
}

func (h heldSyncs) sync(ctx context.Context, appID string, progress func(cache.Progress)) error {
	progress(cache.Progress{AppID: appID, Phase: cache.PhaseListing, Total: 25, Listed: 10, Fetched: 10})
	select {
	case <-h.go_[appID]:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.w.syncFunc(h.store, testNow)(ctx, appID, progress)
}

// TestHomeHoldsFindingsBackUntilTheirSyncsEndAndAreAnalysed: a finding
// about an app that syncs, or whose sync ended after the analysis on screen
// began, would contradict its row ("legacy: never synced" beside "done"):
// the view says what it waits for instead, and shows the finding once an
// analysis of the finished sync is in.
func TestHomeHoldsFindingsBackUntilTheirSyncsEndAndAreAnalysed(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "shop", "events")
	legacy := w.apps[3].AppID
	hs := heldSyncs{w: w, store: store, go_: map[string]chan struct{}{legacy: make(chan struct{})}}
	reader := &heldLinks{Reader: NewCacheReader(store, w.refs()), release: make(chan struct{})}
	r := NewRoot(Options{Theme: ThemePlain, Persons: reader.Reader.(*CacheReader), Loc: time.UTC, Now: func() time.Time { return testNow }})
	r.Open(NewHome(r.Common(), HomeSpec{CachePath: store.Path(), Apps: w.apps, Reader: reader, Syncs: NewSyncs(hs.sync)}))
	p := uitest.Start(t, r, 150, 20)
	p.WaitFor(t, "legacy's finding", func(s string) bool { return strings.Contains(s, "legacy: never synced") })

	p.Send(uitest.Keys("j", "j", "j", "s")...)
	p.WaitFor(t, "legacy syncing, its finding held back", func(s string) bool {
		return strings.Contains(rowOf(t, s, "legacy"), "running") && !strings.Contains(s, "legacy: never synced") &&
			strings.Contains(s, "syncing legacy: findings about it come when the syncs end")
	})

	reader.armed.Store(true) // the analysis after the sync stays out
	close(hs.go_[legacy])
	p.WaitFor(t, "legacy done while its analysis is out", func(s string) bool {
		return strings.Contains(rowOf(t, s, "legacy"), "done")
	})
	s := p.Screen()
	if strings.Contains(s, "legacy: never synced") || !strings.Contains(s, "analysing what the sync of legacy wrote…") {
		t.Errorf("a finding from before legacy's sync stays beside its done row:\n%s", s)
	}
	// events' advice names the platform to bind it to, which legacy's
	// sync may change: it waits too.
	if strings.Contains(s, "events: none of 12 followers") {
		t.Errorf("the advice about events does not wait for legacy's analysis:\n%s", s)
	}

	reader.armed.Store(false)
	close(reader.release)
	p.WaitFor(t, "the analysis of legacy's sync", func(s string) bool {
		return strings.Contains(s, "legacy ↔ news: 0 shared persons") && !strings.Contains(s, "analysing") &&
			strings.Contains(s, "events: none of 12 followers carries a unionid — bind events to the open platform account that news and shop use")
	})
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

// pageThenFail lists one page of followers, then fails: the sync is left in
// progress, as a headless sync's is while it runs.
type pageThenFail struct{ memSource }

func (s pageThenFail) ListFollowers(ctx context.Context, next string) (cache.FollowerPage, error) {
	if next != "" {
		return cache.FollowerPage{}, errors.New("the network went away")
	}
	page, _ := s.memSource.ListFollowers(ctx, "")
	page.OpenIDs, page.Last = page.OpenIDs[:10], false
	page.Next = page.OpenIDs[9]
	return page, nil
}

// TestHomeSaysWhoSyncsTheCacheInAnotherProcess: while a headless sync in
// another process holds the cache's sync lock, the home view names it, shows
// its app as syncing there, holds back that app's findings, and shows them
// when it ends.
func TestHomeSaysWhoSyncsTheCacheInAnotherProcess(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "events", "legacy")
	shop := w.apps[1].AppID
	err := cache.Sync(context.Background(), store, shop, pageThenFail{w.sources[shop]}, cache.SyncOptions{Now: func() time.Time { return testNow }})
	if err == nil {
		t.Fatal("the failing source's sync succeeded")
	}
	var holder atomic.Pointer[cache.Holder]
	holder.Store(&cache.Holder{PID: 4242, Command: "wxscope sync --app shop", Since: testNow})
	src := NewCacheReader(store, w.refs())
	r := NewRoot(Options{Theme: ThemePlain, Persons: src, Loc: time.UTC, Now: func() time.Time { return testNow }})
	r.Open(NewHome(r.Common(), HomeSpec{CachePath: store.Path(), Apps: w.apps, Reader: src,
		Syncs: NewSyncs(func(context.Context, string, func(cache.Progress)) error { return nil }),
		OtherSync: func(appID string) *cache.Holder {
			if appID != shop {
				return nil
			}
			return holder.Load()
		}}))
	p := uitest.Start(t, r, 170, 20)
	p.WaitFor(t, "the other process named", func(s string) bool {
		return strings.Contains(s, "wxscope sync --app shop (pid 4242") && strings.Contains(s, "is syncing") &&
			!strings.Contains(s, "analysing the links")
	})
	s := p.Screen()
	if row := rowOf(t, s, "shop"); !strings.Contains(row, "running") || !strings.Contains(row, "syncing in wxscope sync --app shop (pid 4242") {
		t.Errorf("shop's row does not say where it syncs: %q", row)
	}
	if strings.Contains(s, "shop: sync stopped") || !strings.Contains(s, "is syncing shop: findings about it come when it ends") {
		t.Errorf("shop's finding is not held back:\n%s", s)
	}
	p.Send(uitest.Key("j"), uitest.Key("s"))
	p.WaitFor(t, "s says who syncs shop", func(s string) bool {
		return strings.Contains(s, "shop is syncing in wxscope sync --app shop (pid 4242")
	})

	holder.Store(nil) // the other process ends (here its run stays unfinished)
	p.WaitFor(t, "shop's finding once the other process is gone", func(s string) bool {
		title, _, _ := strings.Cut(s, "\n")
		return strings.Contains(s, "shop: sync stopped at 10 listed") && !strings.Contains(title, "is syncing")
	})
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

// pageThenWait lists one page of followers, then waits for the sync to be
// stopped.
type pageThenWait struct{ memSource }

func (s pageThenWait) ListFollowers(ctx context.Context, next string) (cache.FollowerPage, error) {
	if next != "" {
		<-ctx.Done()
		return cache.FollowerPage{}, ctx.Err()
	}
	page, _ := s.memSource.ListFollowers(ctx, "")
	slices.Sort(page.OpenIDs)
	page.OpenIDs, page.Last = page.OpenIDs[:10], false
	page.Next = page.OpenIDs[9]
	return page, nil
}

// TestStopSaysStoppingThenWhereItStoppedInTheCachesNumbers: x turns the row
// to "stopping" at once (not "running 39 %" while the run saves), the
// footer's "stopping…" gives way to where it stopped when it has, and the
// row, the footer and the finding give the one number the cache saved, not
// the last progress report's.
func TestStopSaysStoppingThenWhereItStoppedInTheCachesNumbers(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "shop", "events", "legacy")
	news := w.apps[0].AppID
	saved := make(chan struct{})
	fn := func(ctx context.Context, appID string, progress func(cache.Progress)) error {
		// A report ahead of what is written: pages listed, not yet saved.
		progress(cache.Progress{AppID: appID, Phase: cache.PhaseListing, Listed: 18, Total: 30, Fetched: 12})
		err := cache.Sync(ctx, store, appID, pageThenWait{w.sources[news]}, cache.SyncOptions{Now: func() time.Time { return testNow }})
		<-saved // saving takes a moment
		return err
	}
	root := newHomeRoot(w, store, NewSyncs(fn), Options{})
	p := uitest.Start(t, root, 150, 20)
	p.WaitFor(t, "the home view", func(s string) bool { return strings.Contains(s, "s to sync") })
	p.Send(uitest.Key("s"))
	p.WaitFor(t, "news running", func(s string) bool { return strings.Contains(rowOf(t, s, "news"), "running") })
	// x once the first page is saved: the number the cache holds is 10 (under
	// the race detector the page may still be on its way when running shows).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if a, ok, err := store.App(news); err == nil && ok && a.Sync.Listed == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sync never saved its first page")
		}
	}
	p.Send(uitest.Key("x"))
	p.WaitFor(t, "news stopping", func(s string) bool {
		row := rowOf(t, s, "news")
		return strings.Contains(row, "stopping — saving what it fetched…") && !strings.Contains(row, "%")
	})
	close(saved)
	p.WaitFor(t, "where news stopped", func(s string) bool {
		return strings.Contains(rowOf(t, s, "news"), "stopped at 10 listed of 30 — s resumes") &&
			strings.Contains(s, "news stopped at 10 listed of 30; s resumes there") &&
			strings.Contains(s, "news: sync stopped at 10 listed of 30")
	})
	if s := p.Screen(); strings.Contains(rowOf(t, s, "news"), "18") || strings.Contains(s, "stopping") {
		t.Errorf("the last report's number, or the stopping note, stayed:\n%s", s)
	}
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

// TestHomeBoundColumnFollowsTheCountersNotAnOlderAnalysis: the counters are
// read more often than the links are analysed; an analysis from before the
// sync (no follower yet, so not bound) must not put "no" beside "100 %".
func TestHomeBoundColumnFollowsTheCountersNotAnOlderAnalysis(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w)
	reader := &heldLinks{Reader: NewCacheReader(store, w.refs()), release: make(chan struct{})}
	defer close(reader.release)
	r := NewRoot(Options{Theme: ThemePlain, Loc: time.UTC, Now: func() time.Time { return testNow }})
	r.Open(NewHome(r.Common(), HomeSpec{CachePath: store.Path(), Apps: w.apps, Reader: reader,
		Syncs: NewSyncs(w.syncFunc(store, testNow))}))
	p := uitest.Start(t, r, 150, 20)
	p.WaitFor(t, "the first analysis", func(s string) bool { return strings.Contains(s, "news: never synced") })
	reader.armed.Store(true) // the analysis after the sync stays out
	p.Send(uitest.Key("s"))
	p.WaitFor(t, "news synced and counted", func(s string) bool {
		return strings.Contains(squash(rowOf(t, s, "news")), "30 30 yes 100 %")
	})
	if row := squash(rowOf(t, p.Screen(), "news")); strings.Contains(row, " no ") {
		t.Errorf("news's row: %q", row)
	}
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}
