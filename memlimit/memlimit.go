// Package memlimit keeps the TUI's and the server's heap a little above what
// they hold: at a floor while they hold little (the TUI over a 1 M-follower
// cache stays under 200 MB), and an eighth above the live heap once a large
// view holds more than the floor. A fixed soft limit under the live heap
// makes the collector run back to back (4 927 collections for one walk
// through a 10 M-follower app at 160 MiB) without freeing anything; the
// runtime's default, a heap twice the live one, would let 450 MB grow to
// 900.
//
// It sets the collector's percentage (GOGC) after every collection, so the
// runtime's own pacer follows the live heap at once when it jumps (a view
// that builds its index), and lifts main's soft limit, which would not.
package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// MinPercent is the least growth allowed before the next collection: an
// eighth of the live heap.
const MinPercent = 12

var (
	mu      sync.Mutex
	floor   int64
	running bool
	percent = -2 // the GOGC last set; -2: none yet
	samples = []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
)

// Follow lifts the soft memory limit and, from then on after every
// collection, sets the collector's percentage to Percent(floor) of what the
// program then holds. Calling it again changes the floor.
func Follow(n int64) {
	mu.Lock()
	defer mu.Unlock()
	floor = n
	debug.SetMemoryLimit(math.MaxInt64)
	setLocked()
	if !running {
		running = true
		arm()
	}
}

// RaiseFloor raises the floor Follow keeps the heap at to n, if it is lower.
// Without Follow it raises the soft memory limit to n, if it is lower.
func RaiseFloor(n int64) {
	mu.Lock()
	defer mu.Unlock()
	if !running {
		if debug.SetMemoryLimit(-1) < n {
			debug.SetMemoryLimit(n)
		}
		return
	}
	if floor < n {
		floor = n
		setLocked()
	}
}

// Floor is the floor Follow keeps the heap at, 0 when it does not.
func Floor() int64 {
	mu.Lock()
	defer mu.Unlock()
	if !running {
		return 0
	}
	return floor
}

// arm makes adjust run after the next collection: a cleanup of an object
// nothing refers to runs once a collection has found it unreachable, and
// adjust arms the next one.
func arm() {
	runtime.AddCleanup(new([16]byte), func(struct{}) { adjust() }, struct{}{})
}

func adjust() {
	mu.Lock()
	defer mu.Unlock()
	setLocked()
	arm()
}

// setLocked sets the percentage for what the program holds now.
func setLocked() {
	metrics.Read(samples)
	v := func(i int) int64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(min(samples[i].Value.Uint64(), math.MaxInt64))
	}
	// The runtime's memory other than the heap's spans (stacks, the
	// collector's metadata) counts in what the program holds, not in the
	// live heap.
	other := v(1) - v(2) - v(3) - v(4) - v(5)
	if p := Percent(floor, v(0), other); p != percent {
		percent = p
		debug.SetGCPercent(p)
	}
}

// Percent is the collector's percentage for a live heap of live bytes and
// other bytes of the runtime's own: the heap may grow to the floor, and at
// least by MinPercent (at most by 100, the runtime's default).
func Percent(floor, live, other int64) int {
	if live <= 0 {
		return 100
	}
	room := floor - max(other, 0) - live
	if room >= live {
		return 100 // and room*100 may not fit: a floor of no limit at all
	}
	return int(max(room*100/live, MinPercent))
}
