package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercentKeepsTheFloorThenAnEighth(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		floor, live, other int64
		want               int
	}{
		{160 * mib, 20 * mib, 10 * mib, 100},      // far below the floor: the default
		{160 * mib, 100 * mib, 10 * mib, 50},      // up to the floor
		{160 * mib, 140 * mib, 10 * mib, 12},      // near it: an eighth at least
		{160 * mib, 450 * mib, 10 * mib, 12},      // above it
		{160 * mib, 0, 10 * mib, 100},             // nothing yet
		{160 * mib, 100 * mib, -5 * mib, 60},      // a negative count of the rest is none
		{math.MaxInt64, 100 * mib, 10 * mib, 100}, // no limit to keep: no overflow
		{math.MaxInt64 / 2, 1 << 40, 0, 100},
	} {
		if got := Percent(c.floor, c.live, c.other); got != c.want {
			t.Errorf("Percent(%d, %d, %d MiB) = %d, want %d", c.floor/mib, c.live/mib, c.other/mib, got, c.want)
		}
	}
}

// current is the percentage Follow set last, as the runtime has it.
func current(t *testing.T) int {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	p := debug.SetGCPercent(percent)
	if p != percent {
		t.Fatalf("the runtime's GOGC is %d, Follow set %d", p, percent)
	}
	return p
}

// The real runtime: a live heap above the floor brings the percentage down
// to an eighth after a collection, and its end brings it back up.
func TestFollowMovesThePercentageWithTheLiveHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const floor = 256 << 20
	Follow(floor)
	defer Follow(floor) // leave the floor as found for other tests
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("soft limit %d under Follow, want none", l)
	}
	wait := func(ok func(int) bool) int {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			runtime.GC()
			runtime.GC() // the cleanup runs after the collection that found its object
			time.Sleep(10 * time.Millisecond)
			p := current(t)
			if ok(p) || time.Now().After(deadline) {
				return p
			}
		}
	}
	if p := wait(func(p int) bool { return p == 100 }); p != 100 {
		t.Fatalf("GOGC %d with little live, want 100", p)
	}
	big := make([]byte, 512<<20)
	for i := range big {
		big[i] = 1 // resident
	}
	if p := wait(func(p int) bool { return p == MinPercent }); p != MinPercent {
		t.Fatalf("GOGC %d with 512 MiB live over a floor of 256, want %d", p, MinPercent)
	}
	runtime.KeepAlive(big)
	big = nil
	if p := wait(func(p int) bool { return p == 100 }); p != 100 {
		t.Fatalf("GOGC %d once the 512 MiB are garbage, want 100", p)
	}
	_ = big
}

func TestRaiseFloorKeepsTheHigherFloor(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	Follow(64 << 20)
	defer Follow(64 << 20)
	RaiseFloor(200 << 20)
	RaiseFloor(100 << 20)
	if f := Floor(); f != 200<<20 {
		t.Errorf("floor %d MiB, want 200", f>>20)
	}
}
