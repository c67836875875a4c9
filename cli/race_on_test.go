//go:build race

package cli

// raceEnabled says the tests run with the race detector, which makes the
// load test's 50 sessions take minutes: it runs fewer then.
const raceEnabled = true
