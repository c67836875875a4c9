//go:build race

package cache

// raceEnabled: the race detector slows the import tenfold, so tests import less.
const raceEnabled = true
