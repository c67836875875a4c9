package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"
)

// SyncOptions tune Sync. The zero value is the documented defaults.
type SyncOptions struct {
	// Concurrency is how many Profiles calls are in flight; default 4.
	Concurrency int
	// MaxAge: a following profile fetched less than MaxAge ago is not
	// fetched again. Default 24h; negative refetches everything.
	MaxAge time.Duration
	// BatchSize is the openids per Profiles call, 1..100; default 100.
	BatchSize int
	// Progress, when set, receives progress reports from one goroutine at a
	// time, at most every ProgressEvery (default 100 ms) and once at the end.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Now stamps FetchedAt, UnfollowedAt and the sync times; time.Now by default.
	Now func() time.Time
}

// commitDelay is how long fetched profiles wait in memory, at least, before
// they are written: writes are grouped into few transactions, each carrying
// the cursor and progress it describes.
//
// A group waits longer when commits are slow: at least commitDuty times
// the last commit, so that writing takes about a fifth of the time at any
// pace (rows are appended, so a commit costs what it writes; with schema 2
// every commit rewrote most of the app's B-tree, and a fixed 200 ms had a
// sync of 100 000 followers spend more CPU writing than on everything else
// together). Early on, commits are quick and frequent, so a killed sync
// loses little.
const (
	commitDelay = 200 * time.Millisecond
	commitDuty  = 4
	// commitHardMax: a group holds at most this many profiles; while a
	// commit (or a catch-up) runs, the workers wait once the next group is
	// full. A fetched profile holds on to its answer's body, 400 bytes or
	// so, and the cache's 200 MB must hold two groups beside everything
	// else. Appending rows costs the same per profile in any group size.
	commitHardMax = 20000
)

// Sync brings the cache of one app up to date from src, resuming the run a
// previous Sync left unfinished.
//
// A lister walks src.ListFollowers page by page while Concurrency workers
// hydrate the openids whose cached profile is missing or older than MaxAge
// with src.Profiles, from the first page on. Profiles are written in groups,
// each in one transaction with the cursor it makes safe: the saved cursor
// never passes a page until every openid of that page and of all pages before
// it is written, so a Sync killed at any moment resumes without losing or
// skipping anyone. A listing that starts over from the first page
// (FollowerPage.FromStart) waits until what it listed is written and
// indexed, so the openids it lists again go to their rows (startOver).
// Every listed openid is stamped with the run's id; after a complete
// listing, the cached followers without the stamp are marked unfollowed
// (never deleted).
//
// Sync returns nil only when the app synced completely. A spent daily quota
// (ErrDailyQuota) stops it cleanly and the error says when to resume;
// openids the API rejects (ErrInvalidOpenID) are isolated by bisecting their
// batch and recorded in the app's SyncState; any other error is recorded
// there too and returned, naming the app. A cancelled ctx pauses the sync
// after writing everything already fetched.
func Sync(ctx context.Context, store *Store, appid string, src Source, opts SyncOptions) error {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = 24 * time.Hour
	}
	if opts.BatchSize <= 0 || opts.BatchSize > 100 {
		opts.BatchSize = 100
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 100 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := validID("appid", appid); err != nil {
		return fmt.Errorf("sync: %w", err)
	}

	store.syncMu.Lock()
	if store.syncing[appid] {
		store.syncMu.Unlock()
		return fmt.Errorf("sync of app %s: another sync of this app is already running in this process", appid)
	}
	store.syncing[appid] = true
	store.syncMu.Unlock()
	defer func() {
		store.syncMu.Lock()
		delete(store.syncing, appid)
		store.syncMu.Unlock()
	}()

	r := &syncRun{s: store, appid: appid, label: appid, src: src, o: opts, started: time.Now(), tracks: map[int]*pageTrack{}}
	r.setPhase(PhaseStarting)
	stopReports := r.startReports()
	err := r.run(ctx)
	stopReports()
	r.report(true, err)
	return err
}

// syncRun is one Sync call.
type syncRun struct {
	s       *Store
	appid   string
	label   string // "name (appid)" for errors
	name    string
	src     Source
	o       SyncOptions
	runID   uint64
	started time.Time

	// Owned by the writer (the goroutine running run).
	state   SyncState
	tracks  map[int]*pageTrack
	nextSeq int      // the first page whose openids are not all written
	seen    *seenSet // the rows this run listed
	// recent holds the openids appended by the last commits, a map a
	// commit, with their rows, as long as a commit's pages include one of
	// the last recentPages pages written: a listing that moved repeats an
	// openid across a page boundary (the cursor is an offset,
	// wechat-api.md §2.2), and the repeat goes to the row the first one
	// appended. A commit's map is dropped whole, so keeping them costs a
	// cold sync a lookup or two that miss per follower. Owned by commit.
	recent  []recentGroup
	lastSeq int // the last page a commit appended for
	// refused: the run ended without marking unfollows, for this reason
	// (see unfollows); Sync returns it.
	refused error

	// hint is where the lister expects the next listed openid's row: an
	// unchanged account lists its followers in the order of their rows.
	hint uint32
	// lookups: the app had rows when the run began, so an openid missing
	// at the hint may have a row elsewhere. A first sync appends every
	// row itself, and skips a futile index lookup per follower.
	lookups bool
	// writes is the app's write counter (appRecord.Writes) when the run
	// began: once a write outside the sync moved it, an openid the lister
	// found no row for may have one by the time its answer is written.
	writes uint64

	// Progress counters, written by several goroutines.
	phase                                  atomic.Value
	pages, listed, total, fetched, skipped atomic.Int64
	maxTotal                               atomic.Int64 // the highest total any page of the run reported
	calls, retries, errs, processed, base  atomic.Int64
	quotaReset                             atomic.Value
	reportMu                               sync.Mutex
}

// recentPages is how many of the last pages written a commit kept in
// recent must include: the last page and the one before it. Two pages hold
// at most 20 000 openids and a commit at most commitHardMax, so recent
// holds a few commits' worth at most.
const recentPages = 2

// recentGroup is what one commit appended: the rows of its openids, and
// the last page they were listed on.
type recentGroup struct {
	rows    map[string]uint32
	lastSeq int
}

// pageTrack is a listed page whose batches are not all written yet.
type pageTrack struct {
	next      string
	listed    int
	remaining int // batches not yet written
	last      bool
}

// pageMsg announces a listed page to the writer, before any of its batches.
type pageMsg struct {
	seq     int
	next    string
	listed  int
	last    bool
	batches int
	fresh   []uint32 // rows whose profile is fresh: only marked seen
	bad     []string // listed ids that cannot be openids (plausibleIDs), shortened
}

// rowRef is where the lister found a listed openid's row: row, when known.
type rowRef struct {
	row   uint32
	known bool
}

// answer is one fetched profile and the row it goes to.
type answer struct {
	p   Profile
	ref rowRef
}

// batchMsg is the answer to one batch of a page.
type batchMsg struct {
	seq        int
	profiles   []answer
	stamps     []uint32 // rows of requested openids the answer left out: listed, so seen
	bad        []string // openids the API rejected
	unanswered []string // requested openids the answer left out even when asked again
}

func (r *syncRun) setPhase(p Phase) { r.phase.Store(p) }

func (r *syncRun) run(ctx context.Context) error {
	if err := r.begin(); err != nil {
		return fmt.Errorf("sync of app %s: %w", r.label, err)
	}
	// A run killed before it indexed what it appended (kill -9) left a
	// tail: indexed now, the resumed listing finds those rows rather than
	// fetching them again.
	if err := r.s.catchUp(r.appid); err != nil {
		return r.stop(ctx, err)
	}
	if !r.state.ListingComplete {
		if err := r.pipeline(ctx); err != nil {
			// What was appended is indexed however the run stops, so
			// that lookups and the links see it (index.go).
			if ierr := r.s.catchUp(r.appid); ierr != nil {
				err = errors.Join(err, ierr)
			}
			return r.stop(ctx, err)
		}
	}
	if len(r.state.Unanswered) > 0 {
		r.setPhase(PhaseHydrating)
		if err := r.askUnanswered(ctx); err != nil {
			return r.stop(ctx, err)
		}
	}
	r.setPhase(PhaseMarking)
	if err := r.finish(); err != nil {
		return r.stop(ctx, err)
	}
	if r.refused != nil {
		r.setPhase(PhaseFailed)
		return fmt.Errorf("sync of app %s: %w", r.label, r.refused)
	}
	r.setPhase(PhaseDone)
	return nil
}

// begin starts a new run or picks up the unfinished one.
func (r *syncRun) begin() error {
	now := r.o.Now()
	return r.s.updateApp(r.appid, func(a *appTx) error {
		r.reportMu.Lock() // the report goroutine reads name
		r.name = a.rec.Name
		r.reportMu.Unlock()
		r.label = r.appid
		if r.name != "" {
			r.label = fmt.Sprintf("%s (%s)", r.name, r.appid)
		}
		st := &a.rec.Sync
		seen := a.tx.Bucket(bucketSeen)
		if !st.InProgress {
			*st = SyncState{
				InProgress:     true,
				RunID:          st.RunID + 1,
				StartedAt:      now,
				LastCompleteAt: st.LastCompleteAt,
				Total:          st.Total,
				Suspect:        st.Suspect,
			}
			// A new run has listed nothing yet.
			if seen.Bucket([]byte(r.appid)) != nil {
				if err := seen.DeleteBucket([]byte(r.appid)); err != nil {
					return err
				}
			}
		}
		r.seen = newSeenSet()
		if err := r.seen.load(seen.Bucket([]byte(r.appid))); err != nil {
			return fmt.Errorf("app %s: %w", r.appid, err)
		}
		r.lookups = a.rec.Rows > 0
		r.writes = a.rec.Writes
		st.LastError, st.QuotaResetAt = "", time.Time{}
		r.state = *st
		r.state.BadOpenIDs = slices.Clone(st.BadOpenIDs)
		r.state.Unanswered = slices.Clone(st.Unanswered)
		r.runID = st.RunID
		r.pages.Store(st.Pages)
		r.listed.Store(st.Listed)
		r.total.Store(st.Total)
		if st.Listed > 0 {
			// A resumed listing: the pages before the cursor reported it.
			r.maxTotal.Store(st.Total)
		}
		r.fetched.Store(st.Fetched)
		r.skipped.Store(st.Skipped)
		r.base.Store(st.Listed)
		return nil
	})
}

// pipeline lists, hydrates and writes until the listing is complete and
// written, or something stops it.
func (r *syncRun) pipeline(ctx context.Context) error {
	r.setPhase(PhaseListing)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(pctx)
	// work holds more than a page of batches (10 000 openids = 100 batches),
	// so the lister fetches the next page while this one is hydrated rather
	// than leaving the workers idle at every page boundary. results lets the
	// workers go on while the writer commits.
	work := make(chan batchJob, 256+4*r.o.Concurrency)
	results := make(chan any, 32*r.o.Concurrency)

	// A listing stopped by the daily quota lets the workers finish the pages
	// it already listed, so the saved cursor passes them: user/get has 500
	// calls a day, and re-listing those pages tomorrow would spend them again.
	var quotaErr error
	g.Go(func() error {
		defer close(work)
		err := r.list(gctx, work, results)
		switch {
		case err == nil:
			r.setPhase(PhaseHydrating)
		case errors.Is(err, ErrDailyQuota):
			quotaErr = err
			return nil
		}
		return err
	})
	for range r.o.Concurrency {
		g.Go(func() error { return r.hydrate(gctx, work, results) })
	}
	var perr error
	go func() {
		perr = g.Wait()
		close(results)
	}()

	// write returns once results close, so perr and quotaErr are set. A
	// failed write cancels the others, whose errors then only say so.
	werr := r.write(results, cancel)
	if werr != nil {
		return werr
	}
	if perr != nil {
		return perr
	}
	if quotaErr != nil {
		return quotaErr
	}
	if !r.state.ListingComplete && r.refused == nil {
		return errors.New("the listing ended without its last page") // cannot happen: list returns only after the last page
	}
	return nil
}

type batchJob struct {
	seq  int
	ids  []string
	refs []rowRef // the row of each of ids, when the lister found one
}

// list walks the listing from the saved cursor, classifies each page's
// openids against the cache and queues the ones to fetch.
func (r *syncRun) list(ctx context.Context, work chan<- batchJob, results chan<- any) error {
	cursor := r.state.Cursor
	largest := 0 // the most openids a page of this run held
	seen := make(map[string]struct{}, 10000)
	for seq := 0; ; seq++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if bound, implied := r.pageBound(seq, largest); seq > bound {
			return fmt.Errorf("%w: %d pages listed where the %d followers the API reports take %d (if this happens again, the API's user/get is broken for this account)",
				ErrListingStuck, seq, r.maxTotal.Load(), implied)
		}
		r.calls.Add(1)
		page, err := r.src.ListFollowers(ctx, cursor)
		if err != nil {
			return fmt.Errorf("list followers after %q: %w", cursor, err)
		}
		largest = max(largest, len(page.OpenIDs))
		if !page.Last && len(page.OpenIDs) > 0 && page.Next != "" && page.Next == cursor {
			return fmt.Errorf("%w: user/get after %q answered that same next_openid again (if this happens again, the API's user/get is broken for this account)",
				ErrListingStuck, shortID(cursor))
		}
		if page.Count > len(page.OpenIDs) {
			// data null with a count, a cut-off list: whatever this page
			// was to hold, it did not, and its end would be taken for the
			// listing's.
			return fmt.Errorf("%w: user/get after %q announced %d openids and delivered %d; no unfollows were marked",
				ErrListingSuspect, cursor, page.Count, len(page.OpenIDs))
		}
		if page.Total > 0 {
			r.total.Store(int64(page.Total))
			if int64(page.Total) > r.maxTotal.Load() {
				r.maxTotal.Store(int64(page.Total))
			}
		}
		if page.FromStart && seq > 0 {
			if err := r.startOver(ctx, seq, results); err != nil {
				return err
			}
		}
		ids, bad := plausibleIDs(dedupe(page.OpenIDs, seen))
		last := page.Last || len(ids)+len(bad) == 0 || page.Next == ""
		r.errs.Add(int64(len(bad)))
		fresh, stale, refs, err := r.classify(ids)
		if err != nil {
			return err
		}
		r.listed.Add(int64(len(ids)))
		var jobs []batchJob
		for i := 0; i < len(stale); i += r.o.BatchSize {
			end := min(i+r.o.BatchSize, len(stale))
			jobs = append(jobs, batchJob{seq: seq, ids: stale[i:end], refs: refs[i:end]})
		}
		// The writer must learn of the page before any of its batches.
		results <- pageMsg{seq: seq, next: page.Next, listed: len(ids), last: last, batches: len(jobs), fresh: fresh, bad: bad}
		for _, j := range jobs {
			select {
			case work <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if last {
			return nil
		}
		cursor = page.Next
	}
}

// flushMsg asks the writer to close done once every page before seq is
// written and no commit runs.
type flushMsg struct {
	seq  int
	done chan struct{}
}

// startOver prepares the lister for a listing that started over at page
// seq (FollowerPage.FromStart): it waits until everything listed before is
// written, then indexes what the run appended (catchUp), so that the pages
// listed again find their openids' rows and nobody gets a second row. Only
// the pages before seq have batches in flight, and the lister sends no
// more until this returns: nothing listed before the catch-up is written
// as new after it. A run stopped here loses nothing: the cursor saved is
// after the pages written, and the next run catches up first.
func (r *syncRun) startOver(ctx context.Context, seq int, results chan<- any) error {
	f := flushMsg{seq: seq, done: make(chan struct{})}
	results <- f
	select {
	case <-f.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := r.s.catchUp(r.appid); err != nil {
		return err
	}
	// The app has rows now, in the index, and the listing starts from the
	// first of them.
	r.lookups, r.hint = true, 0
	return nil
}

// ErrListingStuck marks a listing that does not advance: the API keeps
// answering the cursor it was given, or more pages than its total implies.
var ErrListingStuck = errors.New("the API's follower listing does not advance")

// pageBound is how many pages a run may list before its listing counts as
// stuck, given the largest page so far: three times what the highest total
// the API reported implies (a cursor the API rejects starts the listing
// over, up to twice), and some. No bound while no total is known.
func (r *syncRun) pageBound(seq, largest int) (bound int, implied int64) {
	total := r.maxTotal.Load()
	if total <= 0 || largest <= 0 {
		return math.MaxInt, 0
	}
	implied = (total + int64(largest) - 1) / int64(largest)
	return int(3*implied) + 10, implied
}

// maxIDLen bounds an id the cache stores: real openids and unionids are 28
// characters; a bbolt key holds at most 32 KiB, and the index key holds a
// unionid and an openid.
const maxIDLen = 128

// plausibleID reports whether s can be an openid or unionid the cache
// stores: 1 to maxIDLen bytes, no control byte (a NUL would split the index
// keys).
func plausibleID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// plausibleIDs splits ids into those that can be openids and the others,
// shortened for the record (shortID): one bad id must not fail the app's
// sync on every run, as a write of it would.
func plausibleIDs(ids []string) (ok, bad []string) {
	for i, id := range ids {
		if !plausibleID(id) {
			ok = append(ok, ids[:i]...)
			for _, id := range ids[i:] {
				if plausibleID(id) {
					ok = append(ok, id)
				} else {
					bad = append(bad, shortID(id))
				}
			}
			return ok, bad
		}
	}
	return ids, nil
}

// shortID is id as a record or a message may hold it: at most maxIDLen
// bytes, the rest counted.
func shortID(id string) string {
	if len(id) <= maxIDLen {
		return id
	}
	return fmt.Sprintf("%s…(%d bytes)", strings.ToValidUTF8(id[:maxIDLen], ""), len(id))
}

// dedupe returns ids without the empty ones and without repeats, in their
// order: ids itself when it has neither. seen is scratch, the same map for
// every page of a listing.
func dedupe(ids []string, seen map[string]struct{}) []string {
	clear(seen)
	var out []string // nil until an id is left out
	for i, id := range ids {
		if _, dup := seen[id]; dup || id == "" {
			if out == nil {
				out = append(make([]string, 0, len(ids)), ids[:i]...)
			}
			continue
		}
		seen[id] = struct{}{}
		if out != nil {
			out = append(out, id)
		}
	}
	if out == nil {
		return ids
	}
	return out
}

// classify splits a page into the rows whose cached profile is fresh (still
// following, fetched within MaxAge) and the openids that must be fetched,
// with their rows when they have one.
//
// It walks the rows beside the listing: the row after the last one found
// is the first one tried, and only an openid that is not there is looked
// up in the openid index. So a re-sync of an unchanged account, which lists
// its followers in the order their rows were appended, reads its rows from
// left to right, a step of a cursor per follower.
func (r *syncRun) classify(ids []string) (fresh []uint32, stale []string, refs []rowRef, err error) {
	now := r.o.Now()
	err = r.s.view(func(tx *bolt.Tx) error {
		ar, err := readRows(tx, r.appid)
		if err != nil || ar.rows == nil {
			stale = ids
			refs = make([]rowRef, len(ids))
			return err
		}
		c := ar.rows.Cursor()
		var h recordHead
		k, v := c.Seek(rowKey(nil, r.hint))
		stale, refs = make([]string, 0, len(ids)), make([]rowRef, 0, len(ids))
		for _, id := range ids {
			var ref rowRef
			if k != nil && decodeHead(v, &h) == nil && string(h.openID) == id {
				ref.row, _ = rowOf(k)
				ref.known = true
			} else if r.lookups {
				if rv, found, _ := ar.ids.get([]byte(id)); found { // a damaged block: fetched again
					n, _ := rowOf(rv)
					if k, v = c.Seek(rowKey(nil, n)); k != nil && decodeHead(v, &h) == nil && string(h.openID) == id {
						ref.row, ref.known = n, true
					}
				}
			}
			if !ref.known {
				stale = append(stale, id)
				refs = append(refs, ref)
				continue
			}
			r.hint = ref.row + 1
			k, v = c.Next()
			if r.o.MaxAge >= 0 && h.active() && now.Sub(time.Unix(h.fetchedAt, 0)) < r.o.MaxAge {
				fresh = append(fresh, ref.row)
			} else {
				stale = append(stale, id)
				refs = append(refs, ref)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read cached profiles: %w", err)
	}
	r.skipped.Add(int64(len(fresh)))
	r.processed.Add(int64(len(fresh)))
	return fresh, stale, refs, nil
}

// hydrate fetches queued batches until the queue closes or something fails.
func (r *syncRun) hydrate(ctx context.Context, work <-chan batchJob, results chan<- any) error {
	for j := range work {
		got, bad, missing, err := r.fetchAnswered(ctx, j.ids, true)
		if err != nil {
			return err
		}
		m := batchMsg{seq: j.seq, bad: bad, unanswered: missing, profiles: make([]answer, 0, len(got))}
		for i, id := range j.ids {
			if p, ok := got[id]; ok && p.UnionID != "" && !plausibleID(p.UnionID) {
				// An answer whose unionid cannot be one is isolated like a
				// rejected openid: writing it would fail the whole batch.
				m.bad = append(m.bad, id)
				r.errs.Add(1)
			} else if ok {
				p.OpenID = id
				m.profiles = append(m.profiles, answer{p: p, ref: j.refs[i]})
			} else if !slices.Contains(bad, id) && j.refs[i].known {
				m.stamps = append(m.stamps, j.refs[i].row)
			}
		}
		r.fetched.Add(int64(len(m.profiles)))
		r.processed.Add(int64(len(j.ids)))
		results <- m // the writer drains results until they close: this never blocks for good
	}
	return nil
}

// ErrIncompleteAnswer marks a sync that stopped, or did not finish,
// because the API left profiles it was asked for out of its answers.
var ErrIncompleteAnswer = errors.New("the API's answers left out profiles asked for")

// maxReasks bounds how often the openids an answer left out are asked
// again, in a batch of their own.
const maxReasks = 2

// fetchAnswered is fetch, asking again (up to maxReasks times) for the
// openids the answer left out, and returning those still left out. An
// answer for an openid not asked for is dropped. With failFast, a batch
// of which most stayed unanswered stops the sync: an API that answers
// batchget with nothing, or with other openids, is broken, and the rest of
// the listing would only spend quota on it.
func (r *syncRun) fetchAnswered(ctx context.Context, ids []string, failFast bool) (map[string]Profile, []string, []string, error) {
	got, bad, err := r.fetch(ctx, ids)
	if err != nil {
		return nil, nil, nil, err
	}
	asked := make(map[string]bool, len(ids))
	for _, id := range ids {
		asked[id] = true
	}
	// The map is ours (Source): it is filtered where it is, not copied.
	answered := got
	if answered == nil {
		answered = make(map[string]Profile, len(ids))
	}
	for id := range answered {
		if !asked[id] {
			delete(answered, id)
		}
	}
	var missing []string
	for try := 0; ; try++ {
		missing = missing[:0]
		for _, id := range ids {
			if _, ok := answered[id]; !ok && !slices.Contains(bad, id) {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 || try == maxReasks {
			break
		}
		r.retries.Add(1)
		more, moreBad, err := r.fetch(ctx, slices.Clone(missing))
		if err != nil {
			return nil, nil, nil, err
		}
		for id, p := range more {
			if asked[id] {
				answered[id] = p
			}
		}
		bad = append(bad, moreBad...)
	}
	if failFast && len(ids) > 4 && 2*len(missing) > len(ids) {
		return nil, nil, nil, fmt.Errorf("%w: batchget answered %d of the %d profiles asked for, even when asked again for the rest",
			ErrIncompleteAnswer, len(ids)-len(missing), len(ids))
	}
	return answered, bad, slices.Clone(missing), nil
}

// askUnanswered asks again, at the end of the listing, for the openids
// answers left out, writing what comes back. Those still left out keep the
// run from finishing: the next Sync asks for them again.
func (r *syncRun) askUnanswered(ctx context.Context) error {
	ids := slices.Clone(r.state.Unanswered)
	for i := 0; i < len(ids); i += r.o.BatchSize {
		batch := ids[i:min(i+r.o.BatchSize, len(ids))]
		got, bad, _, err := r.fetchAnswered(ctx, batch, false)
		if err != nil {
			return err
		}
		now := r.o.Now()
		err = r.s.updateApp(r.appid, func(a *appTx) error {
			st := &a.rec.Sync
			// The listing appended rows it has not indexed yet, maybe of
			// these openids (listed twice): a subscribe 0 written in a row
			// of its own would lose the history in theirs (commit).
			if err := a.readLiveTail(batch); err != nil {
				return err
			}
			for _, id := range batch {
				if p, ok := got[id]; ok {
					p.OpenID = id
					var ref rowRef
					n, _, found, _, err := a.getLive(id)
					if err != nil {
						return err
					}
					ref.row, ref.known = n, found
					if n, err = putAnswer(a, p, now.Unix(), true, ref); err != nil {
						return err
					}
					r.seen.set(n)
					st.Fetched++
				}
			}
			if err := r.seen.save(a.seenBucket()); err != nil {
				return err
			}
			for _, id := range bad {
				if len(st.BadOpenIDs) < maxBadOpenIDs && !slices.Contains(st.BadOpenIDs, id) {
					st.BadOpenIDs = append(st.BadOpenIDs, id)
				}
			}
			st.Unanswered = slices.DeleteFunc(st.Unanswered, func(id string) bool {
				_, ok := got[id]
				return ok || slices.Contains(bad, id)
			})
			r.state = *st
			r.state.BadOpenIDs = slices.Clone(st.BadOpenIDs)
			r.state.Unanswered = slices.Clone(st.Unanswered)
			return nil
		})
		if err != nil {
			return fmt.Errorf("write profiles: %w", err)
		}
		r.fetched.Add(int64(len(got)))
	}
	if left := r.state.Unanswered; len(left) > 0 {
		return fmt.Errorf("%w: batchget left out the profiles of %d listed followers (such as %q), even when asked again; the sync is not complete until they are answered",
			ErrIncompleteAnswer, len(left), shortID(left[0]))
	}
	return nil
}

// fetch calls Profiles for ids; when the API rejects the batch for an
// invalid openid it bisects the batch until the bad openids stand alone.
func (r *syncRun) fetch(ctx context.Context, ids []string) (map[string]Profile, []string, error) {
	r.calls.Add(1)
	got, err := r.src.Profiles(ctx, ids)
	if err == nil {
		return got, nil, nil
	}
	if !errors.Is(err, ErrInvalidOpenID) || errors.Is(err, ErrDailyQuota) {
		return nil, nil, fmt.Errorf("fetch %d profiles: %w", len(ids), err)
	}
	if len(ids) == 1 {
		r.errs.Add(1)
		return nil, ids, nil
	}
	mid := len(ids) / 2
	r.retries.Add(2)
	a, badA, err := r.fetch(ctx, ids[:mid])
	if err != nil {
		return nil, nil, err
	}
	b, badB, err := r.fetch(ctx, ids[mid:])
	if err != nil {
		return nil, nil, err
	}
	if a == nil {
		a = map[string]Profile{}
	}
	for k, v := range b {
		a[k] = v
	}
	return a, append(badA, badB...), nil
}

// group is what the writer commits in one transaction.
type group struct {
	pages    []pageMsg
	batches  []batchMsg
	profiles int
}

// write commits what the lister and the workers produce, in groups. It
// drains results to the end even after a failure, so no producer blocks.
//
// A commit runs in its own goroutine while the next group gathers: a
// commit rewrites most of the app's B-tree (openids are random keys), so it
// takes longer as the cache grows, and the workers must not wait for it.
// Groups grow to what arrives during a commit, so the number of commits,
// and with it the writing, stays bounded however slow each one gets.
func (r *syncRun) write(results <-chan any, cancel context.CancelFunc) error {
	var g group
	var werr error
	var timer <-chan time.Time
	type outcome struct {
		err  error
		took time.Duration
	}
	var busy chan outcome      // the running commit's; nil when none runs
	var lastTook time.Duration // how long the last commit took
	due := false               // g is to be committed as soon as no commit runs
	var flush *flushMsg        // the lister waits for everything before flush.seq to be written
	start := func() {
		if werr == nil && (len(g.pages) > 0 || len(g.batches) > 0) {
			done := make(chan outcome, 1)
			cg := g
			go func() {
				began := time.Now()
				err := r.commit(&cg)
				done <- outcome{err, time.Since(began)}
			}()
			busy = done
		}
		g, timer, due = group{}, nil, false
	}
	settle := func(o outcome) {
		busy, lastTook = nil, o.took
		if o.err != nil && werr == nil {
			werr = o.err
			cancel()
		}
	}
	for {
		in := results
		if busy != nil && g.profiles >= commitHardMax {
			in = nil // memory: let the workers wait for the commit
		}
		select {
		case m, ok := <-in:
			if !ok {
				if busy != nil {
					settle(<-busy)
				}
				start()
				if busy != nil {
					settle(<-busy)
				}
				return werr
			}
			switch m := m.(type) {
			case pageMsg:
				g.pages = append(g.pages, m)
			case batchMsg:
				g.batches = append(g.batches, m)
				g.profiles += len(m.profiles)
			case flushMsg:
				flush = &m
			}
			if flush != nil {
				due = true // the lister waits: commit what comes at once
			} else if timer == nil && !due {
				timer = time.After(max(commitDelay, commitDuty*lastTook))
			}
		case <-timer:
			due, timer = true, nil
		case o := <-busy:
			settle(o)
		}
		if g.profiles >= commitHardMax {
			due = true // memory: a full group waits for no timer
		}
		if due && busy == nil {
			start()
		}
		// commit advanced nextSeq before it reported to busy.
		if flush != nil && busy == nil && r.nextSeq >= flush.seq {
			close(flush.done)
			flush = nil
		}
	}
}

// commit writes one group, with the cursor and progress it makes safe, in
// one transaction. The group that completes the listing also closes the run
// (finishIn): the cursor passes the last page only once every page is
// written, so nothing of the run is left to write after it.
func (r *syncRun) commit(g *group) error {
	now := r.o.Now()
	st := r.state
	st.BadOpenIDs = slices.Clone(r.state.BadOpenIDs)
	st.Unanswered = slices.Clone(r.state.Unanswered)
	for _, p := range g.pages {
		r.tracks[p.seq] = &pageTrack{next: p.next, listed: p.listed, remaining: p.batches, last: p.last}
	}
	for _, b := range g.batches {
		r.tracks[b.seq].remaining--
		st.Fetched += int64(len(b.profiles))
		for _, id := range b.bad {
			if len(st.BadOpenIDs) < maxBadOpenIDs && !slices.Contains(st.BadOpenIDs, id) {
				st.BadOpenIDs = append(st.BadOpenIDs, id)
			}
		}
		for _, id := range b.unanswered {
			if !slices.Contains(st.Unanswered, id) {
				st.Unanswered = append(st.Unanswered, id)
			}
		}
	}
	if len(st.Unanswered) > 0 {
		// A page listed again after a stop may have them answered now.
		answered := map[string]bool{}
		for _, b := range g.batches {
			for i := range b.profiles {
				answered[b.profiles[i].p.OpenID] = true
			}
		}
		st.Unanswered = slices.DeleteFunc(st.Unanswered, func(id string) bool { return answered[id] })
	}
	if len(st.Unanswered) > maxBadOpenIDs {
		return fmt.Errorf("%w: batchget left out the profiles of more than %d listed followers, even when asked again", ErrIncompleteAnswer, maxBadOpenIDs)
	}
	for _, p := range g.pages {
		st.Skipped += int64(len(p.fresh))
		for _, id := range p.bad {
			if len(st.BadOpenIDs) < maxBadOpenIDs && !slices.Contains(st.BadOpenIDs, id) {
				st.BadOpenIDs = append(st.BadOpenIDs, id)
			}
		}
	}
	// Advance the cursor over the pages now completely written, in order.
	for t := r.tracks[r.nextSeq]; t != nil && t.remaining == 0; t = r.tracks[r.nextSeq] {
		st.Cursor = t.next
		st.Pages++
		st.Listed += int64(t.listed)
		if t.last {
			st.ListingComplete = true
		}
		delete(r.tracks, r.nextSeq)
		r.nextSeq++
	}
	st.Total = r.total.Load()

	// Rows to rewrite in row order (the pages they are on, from left to
	// right), then the new ones, appended in the order they were listed.
	// The sort is stable, so an openid listed twice (the listing moved)
	// keeps its last answer.
	var known, fresh []*answer
	var freshSeq []int // the page of each of fresh
	for bi := range g.batches {
		b := &g.batches[bi]
		for i := range b.profiles {
			if a := &b.profiles[i]; a.ref.known {
				known = append(known, a)
			} else {
				fresh = append(fresh, a)
				freshSeq = append(freshSeq, b.seq)
			}
		}
	}
	slices.SortStableFunc(known, func(a, b *answer) int { return cmp.Compare(a.ref.row, b.ref.row) })
	for _, p := range g.pages {
		for _, n := range p.fresh {
			r.seen.set(n)
		}
	}
	for _, b := range g.batches {
		for _, n := range b.stamps {
			r.seen.set(n)
		}
	}
	var appended map[string]uint32
	lastSeq := -1
	err := r.s.updateApp(r.appid, func(a *appTx) error {
		// An openid the lister found no row for may have one by now: a
		// live lookup since the run began may have cached it (a second
		// row would answer lookups until the catch-up), and one listed
		// again (the listing moved) this run appended, in this group or
		// before. A subscribe 0 must find that row, or the history it
		// keeps goes with it, the catch-up keeping the last row. Any
		// other is looked for only among this group's and recent (the
		// last pages'): a repeat across a page boundary goes to its row,
		// one farther apart gets a second row until the catch-up
		// (tailreads.go).
		moved := a.rec.Writes != r.writes
		var gone []string
		for _, got := range fresh {
			if !got.p.Subscribed {
				gone = append(gone, got.p.OpenID)
			}
		}
		if err := a.readLiveTail(gone); err != nil {
			return err
		}
		// appended: this group's, added to recent once it is written.
		appended = make(map[string]uint32, len(fresh))
		for _, list := range [][]*answer{known, fresh} {
			for i, got := range list {
				ref := got.ref
				if !ref.known {
					if n, ok := r.appendedRow(appended, got.p.OpenID); ok {
						ref = rowRef{row: n, known: true}
					} else if moved || !got.p.Subscribed {
						n, _, found, _, err := a.getLive(got.p.OpenID)
						if err != nil {
							return err
						}
						ref = rowRef{row: n, known: found}
					}
				}
				n, err := putAnswer(a, got.p, now.Unix(), true, ref)
				if err != nil {
					return err
				}
				if !ref.known { // appended: one of fresh
					appended[got.p.OpenID] = n
					lastSeq = max(lastSeq, freshSeq[i])
				}
				r.seen.set(n)
			}
		}
		if err := r.seen.save(a.seenBucket()); err != nil {
			return err
		}
		a.rec.Sync = st
		return nil
	})
	if err != nil {
		return fmt.Errorf("write profiles: %w", err)
	}
	r.remember(appended, lastSeq)
	r.state = st
	r.pages.Store(st.Pages)
	return nil
}

// appendedRow returns the row this run appended for openid in this commit
// (appended) or in a recent one.
func (r *syncRun) appendedRow(appended map[string]uint32, openid string) (uint32, bool) {
	if n, ok := appended[openid]; ok {
		return n, true
	}
	for _, g := range r.recent {
		if n, ok := g.rows[openid]; ok {
			return n, true
		}
	}
	return 0, false
}

// remember keeps what a commit appended, up to page lastSeq, in recent,
// and drops the commits whose pages are all recentPages or more before the
// last one written.
func (r *syncRun) remember(appended map[string]uint32, lastSeq int) {
	if len(appended) == 0 {
		return
	}
	r.lastSeq = max(r.lastSeq, lastSeq)
	r.recent = slices.DeleteFunc(r.recent, func(g recentGroup) bool { return g.lastSeq <= r.lastSeq-recentPages })
	r.recent = append(r.recent, recentGroup{rows: appended, lastSeq: lastSeq})
}

// putAnswer caches the API's answer for got.OpenID and returns its row. An
// answer with subscribe 0 carries nothing but the openid, so the cached
// fields stay as they were (support needs the history) and only the follow
// state changes.
//
// listed says a sync listed the openid, and ref is where its row is, when
// the sync found one: a sync appends an openid it found no row for to the
// tail, unindexed (index.go). An answer from outside a sync (a live
// lookup) looks the row up, in the tail too (readLiveTail must have run),
// and indexes the row at once; its subscribe 0 for an openid never cached
// is kept with UnfollowedAt 0 (StatusNotFollowing), since nobody saw it
// follow, where a listed one unfollowed just now.
func putAnswer(a *appTx, got Profile, now int64, listed bool, ref rowRef) (uint32, error) {
	var old Profile
	ok, inTail := false, false
	switch {
	case ref.known:
		var err error
		if old, ok, err = a.at(ref.row); err != nil {
			return 0, err
		}
		ok = ok && old.OpenID == got.OpenID
	case !listed:
		var err error
		if ref.row, old, ok, inTail, err = a.getLive(got.OpenID); err != nil {
			return 0, err
		}
	}
	p := got
	p.AppID = a.appid
	p.FetchedAt = now
	switch {
	case got.Subscribed:
		p.UnfollowedAt = 0
	case !ok && listed:
		p.UnfollowedAt = now
	case !ok:
		p.UnfollowedAt = 0
	default:
		p = old
		p.Subscribed = false
		p.FetchedAt = now
		if p.UnfollowedAt == 0 {
			p.UnfollowedAt = now
		}
	}
	switch {
	case inTail:
		return ref.row, a.reviseTail(ref.row, &p, &old)
	case ok:
		return ref.row, a.update(ref.row, &p, &old)
	}
	return a.add(&p, !listed)
}

// seenBucket is the app's bucket of seen rows, created on first use.
func (a *appTx) seenBucket() *bolt.Bucket {
	b, err := a.tx.Bucket(bucketSeen).CreateBucketIfNotExists([]byte(a.appid))
	if err != nil {
		panic(err) // the name is a valid appid, the transaction writable
	}
	return b
}

// unfollowChunk is how many unfollows one transaction marks.
const unfollowChunk = 5000

// finish indexes what the run appended, marks the followers the complete
// listing missed as unfollowed and closes the run. Each step is
// idempotent, so a run killed here finishes on the next Sync.
func (r *syncRun) finish() error {
	if err := r.s.catchUp(r.appid); err != nil {
		return err
	}
	now := r.o.Now()
	t := tally{}
	if err := r.scanSeen(t.add); err != nil {
		return err
	}
	missed, refused := r.unfollows(&t, &r.state)
	if refused != nil {
		err := r.s.updateApp(r.appid, func(a *appTx) error {
			a.rec.Sync.Suspect = r.state.Suspect
			r.closeRefused(&a.rec.Sync, now, refused)
			r.state = a.rec.Sync
			return nil
		})
		if err != nil {
			return fmt.Errorf("mark unfollowers: %w", err)
		}
		r.refused = refused
		return nil
	}
	for {
		chunk := missed[:min(len(missed), unfollowChunk)]
		missed = missed[len(chunk):]
		lastChunk := len(missed) == 0
		err := r.s.updateApp(r.appid, func(a *appTx) error {
			st := &a.rec.Sync
			st.Suspect = r.state.Suspect
			if err := r.markUnfollowed(a, st, chunk, now); err != nil {
				return err
			}
			if lastChunk {
				r.closeState(st, now)
			}
			r.state = *st
			return nil
		})
		if err != nil {
			return fmt.Errorf("mark unfollowers: %w", err)
		}
		if lastChunk {
			return nil
		}
	}
}

// tally is what the end of a run learns from the app's rows: how many the
// run saw, and the followers it missed.
type tally struct {
	seen   int64
	missed []uint32
}

func (t *tally) add(row uint32, h *recordHead, seen bool) {
	if seen {
		t.seen++
	} else if h.active() {
		t.missed = append(t.missed, row)
	}
}

// ErrListingSuspect marks a listing the engine does not trust to say who
// unfollowed: a page that announced more openids than it delivered, a
// listing that ended far short of the total the API reported, or one that
// shrank far below the followers the cache holds.
var ErrListingSuspect = errors.New("the follower listing is not to be trusted")

// unfollows returns the followers the run is to mark unfollowed: those t
// found missed. It refuses to mark any (refused says why) when the listing
// ended far short of the highest total the API reported during it (a stale
// cursor answering with an empty page, an odd answer ending the listing
// early), or when it would mark most of the cache's followers: an API
// answering from stale data must not unfollow an account. A shrink that
// the next run's listing confirms (about as many followers as the refused
// run listed: st.Suspect) is real, and marked then.
func (r *syncRun) unfollows(t *tally, st *SyncState) (missed []uint32, refused error) {
	seen := t.seen + int64(len(st.BadOpenIDs))
	if total := r.maxTotal.Load(); total > 0 && seen+total/50+10 < total {
		return nil, fmt.Errorf("%w: the listing ended after %d of the %d followers the API reports; unfollows were not marked",
			ErrListingSuspect, t.seen, total)
	}
	gone := int64(len(t.missed))
	if gone > 10 && gone > seen {
		if confirmed := st.Suspect > 0 && abs(seen-st.Suspect) <= st.Suspect/50+2; !confirmed {
			st.Suspect = seen
			return nil, fmt.Errorf("%w: the listing has %d followers where the cache holds %d; unfollows were not marked in case the API answered from stale data, and if the next sync lists as few they are marked then",
				ErrListingSuspect, seen, seen+gone)
		}
	}
	st.Suspect = 0
	return t.missed, nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// markUnfollowed marks the rows a complete listing missed as unfollowed,
// unless this run saw them after all or they no longer follow anyway.
func (r *syncRun) markUnfollowed(a *appTx, st *SyncState, rows []uint32, now time.Time) error {
	for _, n := range rows {
		p, ok, err := a.at(n)
		if err != nil {
			return err
		}
		if !ok || r.seen.has(n) || !active(&p) {
			continue
		}
		old := p
		p.Subscribed = false
		p.UnfollowedAt = now.Unix()
		if err := a.update(n, &p, &old); err != nil {
			return err
		}
		st.Unfollowed++
	}
	return nil
}

// closeState ends the run in st, complete.
func (r *syncRun) closeState(st *SyncState, now time.Time) {
	st.InProgress = false
	st.FinishedAt = now
	st.LastCompleteAt = now
	st.Cursor = ""
	st.LastError = ""
	st.QuotaResetAt = time.Time{}
	st.Total = r.total.Load()
}

// closeRefused ends the run in st without marking unfollows and without
// counting as complete: the next Sync starts a new run from the first page.
func (r *syncRun) closeRefused(st *SyncState, now time.Time, why error) {
	st.InProgress = false
	st.ListingComplete = false
	st.FinishedAt = now
	st.Cursor = ""
	st.LastError = why.Error()
	st.QuotaResetAt = time.Time{}
	st.Total = r.total.Load()
}

// scanSeen calls fn for every row of the app with whether this run listed
// it, a read transaction per tailChunk rows.
func (r *syncRun) scanSeen(fn func(row uint32, h *recordHead, seen bool)) error {
	var h recordHead
	err := r.s.scanRows(r.appid, 0, 1<<32-1, func(n uint32, v []byte) error {
		if err := decodeHead(v, &h); err != nil {
			return fmt.Errorf("row %d: %w", n, err)
		}
		fn(n, &h, r.seen.has(n))
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan cached profiles: %w", err)
	}
	return nil
}

// stop records why the run stopped in the app's state and builds the error
// Sync returns. Everything fetched before the stop is already written.
func (r *syncRun) stop(ctx context.Context, cause error) error {
	var qe *QuotaError
	var err error
	quota := errors.As(cause, &qe)
	switch {
	case quota:
		r.setPhase(PhaseQuota)
		when := "its reset"
		if !qe.ResetAt.IsZero() {
			r.quotaReset.Store(qe.ResetAt)
			when = qe.ResetAt.Local().Format("2006-01-02 15:04")
		}
		err = fmt.Errorf("sync of app %s stopped: %w; progress is saved, sync again after %s to resume", r.label, cause, when)
	case ctx.Err() != nil:
		r.setPhase(PhasePaused)
		err = fmt.Errorf("sync of app %s interrupted (%w); progress is saved, sync again to resume", r.label, context.Cause(ctx))
	default:
		r.setPhase(PhaseFailed)
		err = fmt.Errorf("sync of app %s: %w", r.label, cause)
	}
	werr := r.s.updateApp(r.appid, func(a *appTx) error {
		a.rec.Sync.LastError = err.Error()
		if quota {
			a.rec.Sync.QuotaResetAt = qe.ResetAt
		}
		return nil
	})
	if werr != nil {
		return errors.Join(err, fmt.Errorf("record the sync state of app %s: %w", r.label, werr))
	}
	return err
}

// startReports delivers throttled progress reports until the returned
// function is called.
func (r *syncRun) startReports() (stop func()) {
	if r.o.Progress == nil {
		return func() {}
	}
	return everyTick(r.o.ProgressEvery, func() { r.report(false, nil) })
}

func (r *syncRun) report(final bool, err error) {
	if r.o.Progress == nil {
		return
	}
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	p := Progress{
		AppID:   r.appid,
		Name:    r.name,
		Phase:   r.phase.Load().(Phase),
		Pages:   r.pages.Load(),
		Listed:  r.listed.Load(),
		Total:   r.total.Load(),
		Fetched: r.fetched.Load(),
		Skipped: r.skipped.Load(),
		Calls:   r.calls.Load(),
		Retries: r.retries.Load(),
		Errors:  r.errs.Load(),
		Elapsed: time.Since(r.started),
		Final:   final,
		Err:     err,
	}
	if rc, ok := r.src.(RetryCounter); ok {
		p.Retries += rc.Retries()
	}
	if t, ok := r.quotaReset.Load().(time.Time); ok {
		p.QuotaResetAt = t
	}
	done := r.processed.Load()
	if secs := p.Elapsed.Seconds(); secs > 0 && done > 0 {
		p.Rate = float64(done) / secs
		if left := p.Total - r.base.Load() - done; left > 0 && !final {
			p.ETA = time.Duration(float64(left) / p.Rate * float64(time.Second))
		}
	}
	r.o.Progress(p)
}
