//go:build !windows

package cache

import "math"

// writeMmapSize is how much of the file a writable open of a Shared store
// maps at once (bolt.Options.InitialMmapSize). bbolt maps the file at the
// next power of two of its size and maps it again whenever a transaction
// grows it past that, and before each new map it copies every key and
// value the transaction holds out of the old one (node.dereference): a
// cold sync of 100 000 profiles, whose Shared store opens the file for
// each transaction, remapped a dozen times, a third of its allocations. A
// page of the map beyond the end of the file costs address space only: on
// these systems the map does not grow the file, and a page counts in RSS
// only once it is read. (On 32-bit systems, whose address space is
// scarcer, 256 MB.)
const writeMmapSize = min(1<<30, math.MaxInt/8)
