//go:build race

package imports

// raceEnabled: the race detector slows decoding tenfold, so tests read less.
const raceEnabled = true
