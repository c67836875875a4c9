// Package memlimit keeps the Go runtime's soft memory limit a little above
// what the program holds: at a floor while it holds little (the TUI over a
// 1 M-follower cache stays under 200 MB), and above the live heap once a
// large view holds more than the floor, where a fixed limit would make the
// collector run back to back (4 927 collections for one walk through a
// 10 M-follower app at 160 MiB) without freeing anything.
package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The limit after a collection is what the program held after it (the live
// heap and the runtime's own memory) and a headroom of an eighth of the live
// heap, at least MinHeadroom: garbage may grow by that much before the next
// collection. An eighth keeps a 450 MB heap within 510 MB, where the
// runtime's default (GOGC=100) would let it reach 900.
const MinHeadroom = 32 << 20

var (
	mu      sync.Mutex
	floor   int64
	running bool
	samples = []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
)

// Follow sets the soft memory limit to floor and, after every collection
// from then on, to Limit(floor) of what the program then holds. Calling it
// again changes the floor.
func Follow(n int64) {
	mu.Lock()
	defer mu.Unlock()
	floor = n
	debug.SetMemoryLimit(limitLocked())
	if !running {
		running = true
		arm()
	}
}

// RaiseFloor raises the floor Follow keeps the limit at to n, if it is lower;
// without Follow it raises the limit itself.
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
		debug.SetMemoryLimit(limitLocked())
	}
}

// Floor is the floor Follow keeps the limit at, 0 when it does not.
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
	debug.SetMemoryLimit(limitLocked())
	arm()
}

// limitLocked is the limit for what the program holds now.
func limitLocked() int64 {
	metrics.Read(samples)
	v := func(i int) int64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(min(samples[i].Value.Uint64(), math.MaxInt64))
	}
	live := v(0)
	// The runtime's memory other than the heap's spans (stacks, the
	// collector's metadata): counted by the limit, not by the live heap.
	other := v(1) - v(2) - v(3) - v(4) - v(5)
	return Limit(floor, live, other)
}

// Limit is the limit for a live heap of live bytes and other bytes of the
// runtime's own: max(floor, live + other + headroom).
func Limit(floor, live, other int64) int64 {
	return max(floor, live+max(other, 0)+max(MinHeadroom, live/8))
}
