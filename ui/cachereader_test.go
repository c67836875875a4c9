package ui

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// blockingRun is a build's work that counts its runs and returns n once
// let go.
type blockingRun struct {
	runs    atomic.Int32
	release chan struct{}
	err     error
}

func (r *blockingRun) run() (int, error) {
	n := r.runs.Add(1)
	<-r.release
	return int(n), r.err
}

func TestAnalysisAskedForWhileOneRunsIsSharedNotRunTwice(t *testing.T) {
	var mu sync.Mutex
	var slot *build[int]
	r := &blockingRun{release: make(chan struct{})}
	first := join(&mu, &slot, false, r.run)
	second := join(&mu, &slot, false, r.run)
	if first != second {
		t.Fatal("a second caller started its own build while one ran")
	}
	close(r.release)
	for _, b := range []*build[int]{first, second} {
		if v, err := b.wait(context.Background()); v != 1 || err != nil {
			t.Errorf("wait = %d, %v; want 1, nil", v, err)
		}
	}
	// Not kept: the next caller reads the cache again.
	if v, _ := join(&mu, &slot, false, r.run).wait(context.Background()); v != 2 || r.runs.Load() != 2 {
		t.Errorf("after the build ended: got %d after %d runs, want a second run", v, r.runs.Load())
	}
}

func TestKeptBuildServesLaterCallersUntilTheSlotIsCleared(t *testing.T) {
	var mu sync.Mutex
	var slot *build[int]
	r := &blockingRun{release: make(chan struct{})}
	close(r.release)
	b := join(&mu, &slot, true, r.run)
	b.wait(context.Background())
	if again := join(&mu, &slot, true, r.run); again != b || r.runs.Load() != 1 {
		t.Errorf("a kept build was run again (%d runs)", r.runs.Load())
	}
	mu.Lock()
	slot = nil // what Changed does
	mu.Unlock()
	if v, _ := join(&mu, &slot, true, r.run).wait(context.Background()); v != 2 {
		t.Errorf("after the cache changed got %d, want a second run", v)
	}
}

func TestFailedBuildIsForgottenAndABuildFromBeforeAChangeKeepsItsSuccessor(t *testing.T) {
	var mu sync.Mutex
	var slot *build[int]
	boom := errors.New("boom")
	failing := &blockingRun{release: make(chan struct{}), err: boom}
	old := join(&mu, &slot, true, failing.run)
	mu.Lock()
	slot = nil // the cache changed while old ran
	mu.Unlock()
	good := &blockingRun{release: make(chan struct{})}
	fresh := join(&mu, &slot, true, good.run)
	close(failing.release)
	if _, err := old.wait(context.Background()); !errors.Is(err, boom) {
		t.Errorf("old build's error %v, want boom", err)
	}
	mu.Lock()
	kept := slot
	mu.Unlock()
	if kept != fresh {
		t.Error("the old build's failure cleared the build started after the change")
	}
	close(good.release)
	fresh.wait(context.Background())

	// A failure alone is forgotten: the next caller runs again.
	mu.Lock()
	slot = nil
	mu.Unlock()
	again := &blockingRun{release: make(chan struct{}), err: boom}
	close(again.release)
	join(&mu, &slot, true, again.run).wait(context.Background())
	join(&mu, &slot, true, again.run).wait(context.Background())
	if again.runs.Load() != 2 {
		t.Errorf("a failed build was kept: %d runs, want 2", again.runs.Load())
	}
}

func TestWaitGivesUpWithItsCallersContext(t *testing.T) {
	var mu sync.Mutex
	var slot *build[int]
	r := &blockingRun{release: make(chan struct{})}
	defer close(r.release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := join(&mu, &slot, false, r.run).wait(ctx); err != context.Canceled {
		t.Errorf("wait = %v, want context.Canceled as it is", err)
	}
}

func TestCacheReaderAnalysesAgainOnceTheLastAnalysisEnded(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "shop")
	src := NewCacheReader(store, w.refs())
	a, err := src.Links(context.Background(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Links(context.Background(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("a finished analysis was served again: r in the Links view would not read the cache")
	}
	p1, err := src.Presence(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := src.Presence(context.Background(), nil)
	src.Changed()
	p3, _ := src.Presence(context.Background(), nil)
	if p1 != p2 || p2 == p3 {
		t.Error("the presence index is not kept until the cache changes, then rebuilt")
	}
}

func TestCacheReaderPresenceReadsTheAppsAskedForAndKeepsThem(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "shop", "legacy")
	src := NewCacheReader(store, w.refs())
	const news, shop = "wxnews0000000001", "wxshop0000000002"
	p1, err := src.Presence(context.Background(), []string{shop})
	if err != nil {
		t.Fatal(err)
	}
	x1 := p1.(*PresenceIndex)
	if !x1.Has(shop, "uA0015") || x1.Has(news, "uA0029") || x1.Len() != 20 {
		t.Errorf("asked for shop: holds %d entries, shop uA0015 %v, news uA0029 %v", x1.Len(), x1.Has(shop, "uA0015"), x1.Has(news, "uA0029"))
	}
	p2, _ := src.Presence(context.Background(), []string{news, shop})
	x2 := p2.(*PresenceIndex)
	if !x2.Has(news, "uA0029") || !x2.Has(shop, "uA0015") || x2.Len() != 50 {
		t.Errorf("asked for news and shop: holds %d entries", x2.Len())
	}
	if p3, _ := src.Presence(context.Background(), []string{shop}); p3 != p2 {
		t.Error("an app already read was read again")
	}
	if x1.Has(news, "uA0029") || x1.Len() != 20 {
		t.Error("the first index changed when the reader grew")
	}
	all, _ := src.Presence(context.Background(), nil)
	if n := all.(*PresenceIndex).Len(); n != 75 {
		t.Errorf("every app: %d entries, want 75", n)
	}
}
