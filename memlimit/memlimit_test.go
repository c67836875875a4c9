package memlimit

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimitIsTheFloorUntilTheHeapOutgrowsIt(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ floor, live, other, want int64 }{
		{160 * mib, 20 * mib, 8 * mib, 160 * mib},
		{160 * mib, 110 * mib, 10 * mib, 160 * mib},
		{160 * mib, 400 * mib, 10 * mib, 460 * mib},
		{160 * mib, 800 * mib, 10 * mib, 910 * mib},
	} {
		if got := Limit(c.floor, c.live, c.other); got != c.want {
			t.Errorf("Limit(%d, %d, %d MiB) = %d MiB, want %d", c.floor/mib, c.live/mib, c.other/mib, got/mib, c.want/mib)
		}
	}
}

// The real runtime: a live heap above the floor raises the limit after a
// collection, and its end lowers it back.
func TestFollowMovesTheLimitWithTheLiveHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const floor = 64 << 20
	Follow(floor)
	defer Follow(floor) // leave the floor as found for other tests
	waitLimit := func(ok func(int64) bool) int64 {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			runtime.GC()
			runtime.GC() // the cleanup runs after the collection that found its object
			time.Sleep(10 * time.Millisecond)
			l := debug.SetMemoryLimit(-1)
			if ok(l) || time.Now().After(deadline) {
				return l
			}
		}
	}
	if l := waitLimit(func(l int64) bool { return l == floor }); l != floor {
		t.Fatalf("limit %d MiB with little live, want the floor %d MiB", l>>20, floor>>20)
	}
	big := make([]byte, 256<<20)
	for i := range big {
		big[i] = 1 // resident
	}
	if l := waitLimit(func(l int64) bool { return l >= 256<<20+MinHeadroom }); l < 256<<20+MinHeadroom {
		t.Fatalf("limit %d MiB with 256 MiB live, want it above the live heap", l>>20)
	}
	runtime.KeepAlive(big)
	big = nil
	if l := waitLimit(func(l int64) bool { return l == floor }); l != floor {
		t.Fatalf("limit %d MiB once the 256 MiB are garbage, want the floor %d MiB", l>>20, floor>>20)
	}
	_ = big
}

func TestRaiseFloorKeepsTheHigherFloor(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	Follow(64 << 20)
	defer Follow(64 << 20)
	RaiseFloor(200 << 20)
	RaiseFloor(100 << 20)
	if f := Floor(); f != 200<<20 {
		t.Errorf("floor %d MiB, want 200", f>>20)
	}
	if l := debug.SetMemoryLimit(-1); l < 200<<20 {
		t.Errorf("limit %d MiB below the floor", l>>20)
	}
}
