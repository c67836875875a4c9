package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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
// skipping anyone. Every listed openid is stamped with the run's id; after a
// complete listing, the cached followers without the stamp are marked
// unfollowed (never deleted).
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

	// hint is where the lister expects the next listed openid's row: an
	// unchanged account lists its followers in the order of their rows.
	hint uint32
	// lookups: the app had rows when the run began, so an openid missing
	// at the hint may have a row elsewhere. A first sync appends every
	// row itself, and skips a futile index lookup per follower.
	lookups bool

	// Progress counters, written by several goroutines.
	phase                                  atomic.Value
	pages, listed, total, fetched, skipped atomic.Int64
	calls, retries, errs, processed, base  atomic.Int64
	quotaReset                             atomic.Value
	reportMu                               sync.Mutex
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
	seq      int
	profiles []answer
	stamps   []uint32 // rows of requested openids the answer left out: listed, so seen
	bad      []string // openids the API rejected
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
	r.setPhase(PhaseMarking)
	if err := r.finish(); err != nil {
		return r.stop(ctx, err)
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
		st.LastError, st.QuotaResetAt = "", time.Time{}
		r.state = *st
		r.state.BadOpenIDs = slices.Clone(st.BadOpenIDs)
		r.runID = st.RunID
		r.pages.Store(st.Pages)
		r.listed.Store(st.Listed)
		r.total.Store(st.Total)
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

	// write returns once results close, so perr and quotaErr are set.
	werr := r.write(results, cancel)
	if perr != nil {
		return perr
	}
	if werr != nil {
		return werr
	}
	if quotaErr != nil {
		return quotaErr
	}
	if !r.state.ListingComplete {
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
	for seq := 0; ; seq++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.calls.Add(1)
		page, err := r.src.ListFollowers(ctx, cursor)
		if err != nil {
			return fmt.Errorf("list followers after %q: %w", cursor, err)
		}
		if page.Total > 0 {
			r.total.Store(int64(page.Total))
		}
		ids := dedupe(page.OpenIDs)
		last := page.Last || len(ids) == 0 || page.Next == ""
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
		results <- pageMsg{seq: seq, next: page.Next, listed: len(ids), last: last, batches: len(jobs), fresh: fresh}
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

func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if _, dup := seen[id]; dup || id == "" {
			continue
		}
		seen[id] = struct{}{}
		out = append(out, id)
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
		got, bad, err := r.fetch(ctx, j.ids)
		if err != nil {
			return err
		}
		m := batchMsg{seq: j.seq, bad: bad}
		for i, id := range j.ids {
			if p, ok := got[id]; ok {
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
			}
			if timer == nil && !due {
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
	}
	for _, p := range g.pages {
		st.Skipped += int64(len(p.fresh))
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
	for bi := range g.batches {
		b := &g.batches[bi]
		for i := range b.profiles {
			if a := &b.profiles[i]; a.ref.known {
				known = append(known, a)
			} else {
				fresh = append(fresh, a)
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
	err := r.s.updateApp(r.appid, func(a *appTx) error {
		for _, list := range [][]*answer{known, fresh} {
			for _, got := range list {
				n, err := putAnswer(a, got.p, now.Unix(), true, got.ref)
				if err != nil {
					return err
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
	r.state = st
	r.pages.Store(st.Pages)
	return nil
}

// putAnswer caches the API's answer for got.OpenID and returns its row. An
// answer with subscribe 0 carries nothing but the openid, so the cached
// fields stay as they were (support needs the history) and only the follow
// state changes.
//
// listed says a sync listed the openid, and ref is where its row is, when
// the sync found one: a sync appends an openid it found no row for to the
// tail, unindexed (index.go). An answer from outside a sync (a live
// lookup) looks the row up and indexes a new one at once; its subscribe 0
// for an openid never cached is kept with UnfollowedAt 0
// (StatusNotFollowing), since nobody saw it follow, where a listed one
// unfollowed just now.
func putAnswer(a *appTx, got Profile, now int64, listed bool, ref rowRef) (uint32, error) {
	var old Profile
	ok := false
	switch {
	case ref.known:
		var err error
		if old, ok, err = a.at(ref.row); err != nil {
			return 0, err
		}
		ok = ok && old.OpenID == got.OpenID
	case !listed:
		var err error
		if ref.row, old, ok, err = a.get(got.OpenID); err != nil {
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
	if ok {
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
	missed, note := r.unfollows(&t, &r.state)
	for {
		chunk := missed[:min(len(missed), unfollowChunk)]
		missed = missed[len(chunk):]
		lastChunk := len(missed) == 0
		err := r.s.updateApp(r.appid, func(a *appTx) error {
			st := &a.rec.Sync
			if err := r.markUnfollowed(a, st, chunk, now); err != nil {
				return err
			}
			if lastChunk {
				r.closeState(st, now, note)
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

// unfollows returns the followers the run is to mark unfollowed: those t
// found missed, or none when the listing ended far short of the total the
// API reported (a stale cursor answering with an empty page, say), which
// must not mark the rest of the account unfollowed. note explains the
// latter; it is "" for a listing that saw about everyone.
func (r *syncRun) unfollows(t *tally, st *SyncState) (missed []uint32, note string) {
	if total := r.total.Load(); total > 0 && t.seen+int64(len(st.BadOpenIDs))+total/50+10 < total {
		return nil, fmt.Sprintf("the listing ended after %d of the %d followers the API reports; unfollows were not marked, sync again", t.seen, total)
	}
	return t.missed, ""
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

// closeState ends the run in st.
func (r *syncRun) closeState(st *SyncState, now time.Time, note string) {
	st.InProgress = false
	st.FinishedAt = now
	st.LastCompleteAt = now
	st.Cursor = ""
	st.LastError = note
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
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.o.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.report(false, nil)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
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
