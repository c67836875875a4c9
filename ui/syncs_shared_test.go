package ui

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// newSharedHomeRoot is a home view over syncs that redraws (and looks for
// syncs started elsewhere) every few milliseconds, as the SSH server's
// sessions do every second or two.
func newSharedHomeRoot(w homeWorld, src *CacheReader, syncs *Syncs, readOnly bool) *Root {
	r := NewRoot(Options{Theme: ThemePlain, Persons: src, Loc: time.UTC, ReadOnly: readOnly,
		Now: func() time.Time { return testNow }})
	r.Open(NewHome(r.Common(), HomeSpec{CachePath: "c.db", Apps: w.apps, Reader: src, Syncs: syncs, Redraw: 20 * time.Millisecond}))
	return r
}

// One Syncs shared by several programs (the SSH server's sessions): a sync
// one session starts shows live in the others, a read-only one included;
// s in another session joins it instead of starting a second; it goes on
// when the session that started it quits, and every session sees it end.
func TestSharedSyncsShowInEverySessionAndOutliveTheirStarter(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w)
	src := NewCacheReader(store, w.refs())
	g := &gate{w: w, store: store, open: make(chan struct{})}
	var runs atomic.Int32
	server, stop := context.WithCancel(context.Background())
	defer stop()
	syncs := NewSharedSyncs(server, func(ctx context.Context, appID string, progress func(cache.Progress)) error {
		runs.Add(1)
		return g.sync(ctx, appID, progress)
	})

	starter := uitest.Start(t, newSharedHomeRoot(w, src, syncs, false), 150, 20)
	other := uitest.Start(t, newSharedHomeRoot(w, src, syncs, false), 150, 20)
	support := uitest.Start(t, newSharedHomeRoot(w, src, syncs, true), 150, 20)
	for _, p := range []*uitest.Program{starter, other, support} {
		p.WaitFor(t, "the home view", func(s string) bool { return strings.Contains(s, "news") })
	}

	starter.Send(uitest.Key("s"))
	for name, p := range map[string]*uitest.Program{"the other operator": other, "support": support} {
		p.WaitFor(t, name+" seeing news sync", func(s string) bool {
			return strings.Contains(rowOf(t, s, "news"), "running") && strings.Contains(rowOf(t, s, "news"), "59 %")
		})
	}
	other.Send(uitest.Key("s"))
	other.WaitFor(t, "s joining the running sync", func(s string) bool { return strings.Contains(rowOf(t, s, "news"), "59 %") })

	starter.Send(uitest.Key("q"))
	starter.WaitFinished(t)
	time.Sleep(100 * time.Millisecond)
	if g.saved.Load() != 0 {
		t.Fatal("the sync stopped when the session that started it quit")
	}
	close(g.open)
	for name, p := range map[string]*uitest.Program{"the other operator": other, "support": support} {
		p.WaitFor(t, name+" seeing news done", func(s string) bool {
			return strings.Contains(rowOf(t, s, "news"), "done 30 fetched")
		})
		p.Send(uitest.Key("q"))
		p.WaitFinished(t)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("%d syncs of news ran, want 1", n)
	}
	syncs.Wait()
}

// Run starts a sync or joins the running one, and its result is that run's
// end; the shared context's end stops it, and it saves what it fetched.
func TestSyncsRunJoinsAndEndsWithTheSharedContext(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w)
	g := &gate{w: w, store: store, open: make(chan struct{})}
	var runs atomic.Int32
	server, stop := context.WithCancel(context.Background())
	syncs := NewSharedSyncs(server, func(ctx context.Context, appID string, progress func(cache.Progress)) error {
		runs.Add(1)
		return g.sync(ctx, appID, progress)
	})
	done1, result1 := syncs.Run("wxnews0000000001")
	done2, result2 := syncs.Run("wxnews0000000001")
	if done1 != done2 {
		t.Fatal("a second Run of a syncing app started another run")
	}
	stop()
	<-done1
	if result1() != context.Canceled || result2() != context.Canceled || g.saved.Load() != 1 {
		t.Errorf("after the shared context ended: results %v, %v; saved %d", result1(), result2(), g.saved.Load())
	}
	if runs.Load() != 1 {
		t.Errorf("%d runs, want 1", runs.Load())
	}
	syncs.Wait()
}

// A sync another session ran from start to end between two looks of a
// view still shows there: the view sees that a sync ended and reads the
// counts again.
func TestASyncThatEndedUnseenStillRefreshesTheView(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w)
	src := NewCacheReader(store, w.refs())
	server, stop := context.WithCancel(context.Background())
	defer stop()
	syncs := NewSharedSyncs(server, w.syncFunc(store, testNow))
	r := NewRoot(Options{Theme: ThemePlain, Persons: src, Loc: time.UTC, ReadOnly: true, Now: func() time.Time { return testNow }})
	r.Open(NewHome(r.Common(), HomeSpec{CachePath: "c.db", Apps: w.apps, Reader: src, Syncs: syncs, Redraw: 50 * time.Millisecond}))
	support := uitest.Start(t, r, 150, 20)
	support.WaitFor(t, "the home view", func(s string) bool { return strings.Contains(s, "never") })

	done, result := syncs.Run("wxnews0000000001")
	<-done
	if err := result(); err != nil {
		t.Fatal(err)
	}
	support.WaitFor(t, "news's new counts", func(s string) bool { return strings.Contains(squash(rowOf(t, s, "news")), "30 30 P1 100 % just now") })
	support.Send(uitest.Key("q"))
	support.WaitFinished(t)
	syncs.Wait()
}
