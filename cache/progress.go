package cache

import (
	"sync"
	"time"
)

// Phase is where a sync of one app stands.
type Phase string

// The phases of a sync, in order; a run ends in Done, Paused, QuotaStop or
// Failed.
const (
	PhaseStarting  Phase = "starting"
	PhaseListing   Phase = "listing"   // pages are being listed and hydrated
	PhaseHydrating Phase = "hydrating" // the listing is done, profiles are still being fetched
	PhaseMarking   Phase = "marking"   // marking openids the complete listing missed as unfollowed
	PhaseReading   Phase = "reading"   // an import's source is being read
	PhaseWriting   Phase = "writing"   // an import's new member set is being written and swapped in
	PhaseDone      Phase = "done"
	PhasePaused    Phase = "paused" // the context was cancelled; the next Sync resumes
	PhaseQuota     Phase = "quota"  // the daily quota is spent; resume after QuotaResetAt
	PhaseFailed    Phase = "failed"
)

// Progress is one report of a running sync, delivered to
// SyncOptions.Progress at most every SyncOptions.ProgressEvery and once more
// when the sync ends (Final true). Counts cover the whole run, including the
// part done before a resume.
type Progress struct {
	AppID string
	Name  string // the app's name as last configured, "" when unknown
	Phase Phase

	Pages   int64 // listing pages fully written
	Listed  int64 // openids listed so far
	Total   int64 // the follower total the API reports (an estimate: it moves)
	Fetched int64 // profiles fetched with Profiles calls
	Skipped int64 // listed openids whose cached profile was fresh enough
	Calls   int64 // ListFollowers and Profiles calls made by this process
	// Retries counts extra calls: those the engine made to isolate invalid
	// openids, plus the source's own retries when it implements RetryCounter.
	Retries int64
	Errors  int64 // openids that could not be fetched (40003 after bisecting)

	Elapsed      time.Duration // since this process started the sync
	Rate         float64       // openids processed (fetched or skipped) per second in this process
	ETA          time.Duration // estimate of the time left, 0 when unknown
	QuotaResetAt time.Time     // set after a quota stop, when known

	Final bool  // the last report of this sync
	Err   error // with Final: nil when the sync completed

	// Of an import (an app that is not an official account); Source is ""
	// for a sync from the API.
	Source   string // the file or "import_command of NAME" being read
	Rows     int64  // valid rows read so far
	Rejected int64  // rows rejected so far
	Members  int64  // openids in the import (when written), or in the previous one while reading
	Joined   int64  // openids new in this import (when written)
	Left     int64  // openids of the previous import missing from this one, marked left (when written)
}

// Fraction is how far the sync is, 0..1: openids processed (fetched, found
// fresh, or rejected) out of the follower total the API reports. The total
// moves during a listing, so only a finished sync is 1.
func (p Progress) Fraction() float64 {
	if p.Phase == PhaseDone {
		return 1
	}
	if p.Source != "" {
		// Reading is most of an import; the previous import's size is the
		// best guess of this one's.
		switch {
		case p.Phase == PhaseWriting:
			return 0.9
		case p.Members > 0:
			return min(0.9*float64(p.Rows+p.Rejected)/float64(p.Members), 0.9)
		}
		return 0
	}
	if p.Total <= 0 {
		return 0
	}
	f := float64(p.Fetched+p.Skipped+p.Errors) / float64(p.Total)
	return min(max(f, 0), 0.99)
}

// RetryCounter may be implemented by a Source that retries transient
// failures itself, so progress reports can show its retries.
type RetryCounter interface {
	Retries() int64
}

// everyTick calls fn every d in a goroutine of its own until stop is
// called; stop returns once fn has returned for the last time. The sync and
// the import report their progress with it.
func everyTick(d time.Duration, fn func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fn()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
