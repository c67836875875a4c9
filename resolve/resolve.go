// Package resolve finds the unionids of openids from a company's old
// records, which often kept only openids: the cache answers what it can,
// user/info/batchget the rest, and every answer is stored in the cache
// (design.md, "Resolve"). Input order is kept: one row out per row in.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"wxscope/cache"
	"wxscope/imports"
)

// The statuses of a row, a contract with scripts.
const (
	Following  = "following"  // a current follower
	Unfollowed = "unfollowed" // the person does not follow (any more)
	Invalid    = "invalid"    // the API rejected the openid (40003): not an openid of this app
	Malformed  = "malformed"  // not of an id's shape: never sent
	Error      = "error"      // not answered: the API could not be reached or its quota is spent
)

// The sources of a row's answer.
const (
	FromCache = "cache"
	FromAPI   = "api"
	FromNone  = "-"
)

// Row is one row of the output.
type Row struct {
	OpenID  string `json:"openid"`
	UnionID string `json:"unionid"`
	Status  string `json:"status"`
	Source  string `json:"source"`
}

// Fetcher asks the API for the profiles of 1..100 openids, as cache.Source
// does: an invalid openid fails the whole call with cache.ErrInvalidOpenID,
// a spent quota with a *cache.QuotaError.
type Fetcher interface {
	Profiles(ctx context.Context, openids []string) (map[string]cache.Profile, error)
}

// Options tune a resolve.
type Options struct {
	Concurrency int           // batchget calls in flight; 0 means 4
	MaxAge      time.Duration // a cached profile younger than this answers; <0: none does
	Now         func() time.Time
	// Progress, when set, is told how many input rows are written, as they
	// are, and the total known so far.
	Progress func(done, read int)
}

// Stats is what a resolve did.
type Stats struct {
	Rows      int            // rows written
	ByStatus  map[string]int // rows per status
	Calls     int            // batchget calls
	FromCache int            // distinct openids the cache answered
	// Err is why the rows with status error were not answered (the first
	// such cause), nil when there is none.
	Err error
}

// chunkRows is how many input rows go through Run's steps together: memory
// stays flat in the input's size. A variable for tests.
var chunkRows = 20_000

// batchSize is batchget's limit.
const batchSize = 100

// Run resolves the openids that next yields (false at the end of the input)
// for appid, writing one row per openid through write, in input order.
// Openids the cache cannot answer go to f. The returned error is an input,
// cache or write failure; API failures only mark rows as errors (Stats.Err
// says why).
//
// Chunks of the input go through three steps: read them and look them up
// in the cache, ask the API, store the answers and write the rows. While
// the API answers chunk k, the answers of chunk k-1 are stored and written
// and chunk k+1 is read, so the calls in flight never wait for the disk.
// The cache is read and written by turns, never at once: a cache shared with
// other processes is locked per operation.
func Run(ctx context.Context, store *cache.Store, appid string, f Fetcher, next func() (string, bool, error), write func(Row) error, opts Options) (Stats, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &run{store: store, appid: appid, f: f, opts: opts, invalid: map[string]bool{},
		st: Stats{ByStatus: map[string]int{}}}
	read := 0
	// prepare reads the next chunk and answers what the cache can.
	prepare := func() (*chunk, error) {
		var ids []string
		for len(ids) < chunkRows {
			id, ok, err := next()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			ids = append(ids, id)
		}
		read += len(ids)
		if len(ids) == 0 {
			return nil, nil
		}
		return r.prepare(ids)
	}
	// finish stores a chunk's answers and writes its rows.
	finish := func(c *chunk) error {
		if err := r.store.StoreFetched(r.appid, c.fetched, r.opts.Now()); err != nil {
			return err
		}
		for _, id := range c.ids {
			a := c.answers[id]
			if !a.ok {
				a.row, a.ok = Row{OpenID: id, Status: Error, Source: FromNone}, true
			}
			if err := write(a.row); err != nil {
				return err
			}
			r.st.Rows++
			r.st.ByStatus[a.row.Status]++
		}
		if opts.Progress != nil {
			opts.Progress(r.st.Rows, read)
		}
		return nil
	}

	cur, err := prepare()
	var prev *chunk
	for cur != nil && err == nil {
		cur.dedupeAgainst(prev)
		done := make(chan error, 1)
		go func(c *chunk) { done <- r.fetch(ctx, c) }(cur)
		if prev != nil {
			err = finish(prev)
		}
		var nxt *chunk
		if err == nil {
			nxt, err = prepare()
		}
		if ferr := <-done; err == nil {
			err = ferr
		}
		prev, cur = cur, nxt
	}
	if err == nil && prev != nil {
		err = finish(prev)
	} else if err != nil && prev != nil && len(prev.fetched) > 0 {
		// Interrupted or failed: what the API answered is kept all the same.
		_ = r.store.StoreFetched(r.appid, prev.fetched, r.opts.Now())
	}
	return r.st, err
}

// run is one resolve in progress.
type run struct {
	store *cache.Store
	appid string
	f     Fetcher
	opts  Options
	// invalid remembers the openids the API rejected, which the cache does
	// not keep, so that a duplicate in a later chunk is not asked again.
	invalid map[string]bool

	mu sync.Mutex // guards invalid, stopped, st.Calls and st.Err while calls run
	// stopped is the cause once the API can no longer answer (a spent
	// quota): every later openid is an error without a call.
	stopped error
	st      Stats
}

func (r *run) isInvalid(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.invalid[id]
}

// answer is what is known of one distinct openid.
type answer struct {
	row Row
	ok  bool
}

// chunk is a part of the input on its way through Run.
type chunk struct {
	ids     []string           // in input order, duplicates included
	answers map[string]*answer // by openid
	cached  map[string]cache.Profile
	ask     []string        // distinct openids for the API
	fetched []cache.Profile // the API's answers, to store
}

// prepare answers what it can of ids from their shape and the cache.
func (r *run) prepare(ids []string) (*chunk, error) {
	c := &chunk{ids: ids, answers: make(map[string]*answer, len(ids))}
	var distinct []string
	for _, id := range ids {
		if c.answers[id] != nil {
			continue
		}
		a := &answer{}
		c.answers[id] = a
		switch {
		case !imports.ValidID(id):
			a.row, a.ok = Row{OpenID: id, Status: Malformed, Source: FromNone}, true
		case r.isInvalid(id):
			a.row, a.ok = Row{OpenID: id, Status: Invalid, Source: FromAPI}, true
		default:
			distinct = append(distinct, id)
		}
	}
	var err error
	if c.cached, err = r.store.ProfilesOf(r.appid, distinct); err != nil {
		return nil, err
	}
	now := r.opts.Now()
	for _, id := range distinct {
		p, ok := c.cached[id]
		if ok && r.fresh(&p, now) {
			c.answers[id].row, c.answers[id].ok = rowOf(&p, FromCache), true
			r.st.FromCache++
			continue
		}
		c.ask = append(c.ask, id)
	}
	return c, nil
}

// dedupeAgainst answers the openids that prev's calls answered after this
// chunk looked in the cache: a duplicate is asked once, and would have been
// found in the cache had it been read later.
func (c *chunk) dedupeAgainst(prev *chunk) {
	if prev == nil {
		return
	}
	ask := c.ask[:0]
	for _, id := range c.ask {
		if a := prev.answers[id]; a != nil && a.ok && a.row.Status != Error {
			row := a.row
			if row.Status != Invalid {
				row.Source = FromCache
			}
			c.answers[id].row, c.answers[id].ok = row, true
			continue
		}
		ask = append(ask, id)
	}
	c.ask = ask
}

// fresh reports whether the cached p answers without a call.
func (r *run) fresh(p *cache.Profile, now time.Time) bool {
	if r.opts.MaxAge < 0 || p.FetchedAt == 0 {
		return false
	}
	age := r.opts.MaxAge
	if age == 0 {
		age = 24 * time.Hour
	}
	return now.Sub(time.Unix(p.FetchedAt, 0)) < age
}

// rowOf is the row of a profile the cache holds.
func rowOf(p *cache.Profile, source string) Row {
	row := Row{OpenID: p.OpenID, UnionID: p.UnionID, Status: Following, Source: source}
	if cache.StatusOf(p) != cache.StatusFollowing {
		row.Status = Unfollowed
	}
	return row
}

// fetch asks the API about c.ask, batchSize at a time with the configured
// calls in flight, and fills in c's answers and what to store. A spent quota
// or an unreachable API stops the asking; the rows not answered stay errors.
// It returns the context's error when the caller was interrupted.
func (r *run) fetch(ctx context.Context, c *chunk) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	var mu sync.Mutex // guards c while the calls run
	for start := 0; start < len(c.ask); start += batchSize {
		batch := c.ask[start:min(start+batchSize, len(c.ask))]
		r.mu.Lock()
		stopped := r.stopped != nil
		r.mu.Unlock()
		if stopped || gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			got, bad, calls, err := isolate(gctx, r.f, batch)
			r.mu.Lock()
			r.st.Calls += calls
			if err != nil && r.stopped == nil && ctx.Err() == nil {
				r.stopped, r.st.Err = err, err
			}
			r.mu.Unlock()
			if err != nil {
				cancel() // the other calls would fail alike
				return nil
			}
			r.mu.Lock()
			for _, id := range bad {
				r.invalid[id] = true
			}
			r.mu.Unlock()
			mu.Lock()
			defer mu.Unlock()
			for _, id := range bad {
				c.answers[id].row, c.answers[id].ok = Row{OpenID: id, Status: Invalid, Source: FromAPI}, true
			}
			// Only the openids asked about count: an answer may carry
			// others, which nobody asked the API to vouch for.
			for _, id := range batch {
				if p, ok := got[id]; ok {
					c.fetched = append(c.fetched, p)
					c.answers[id].row, c.answers[id].ok = apiRow(&p, c.cached), true
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil && r.stopped == nil {
		return err
	}
	return nil
}

// apiRow is the row of an API answer. The API gives no unionid for someone
// who does not follow; the cache may remember it from when they did.
func apiRow(p *cache.Profile, cached map[string]cache.Profile) Row {
	if p.Subscribed {
		return Row{OpenID: p.OpenID, UnionID: p.UnionID, Status: Following, Source: FromAPI}
	}
	if old, ok := cached[p.OpenID]; ok && old.UnionID != "" {
		return Row{OpenID: p.OpenID, UnionID: old.UnionID, Status: Unfollowed, Source: FromCache}
	}
	return Row{OpenID: p.OpenID, Status: Unfollowed, Source: FromAPI}
}

// isolate fetches ids; when the API rejects the batch for an invalid openid
// it bisects until the bad openids stand alone, as a sync does. It returns
// the profiles, the rejected openids and the calls it made.
func isolate(ctx context.Context, f Fetcher, ids []string) (map[string]cache.Profile, []string, int, error) {
	got, err := f.Profiles(ctx, ids)
	if err == nil {
		return got, nil, 1, nil
	}
	if !errors.Is(err, cache.ErrInvalidOpenID) || errors.Is(err, cache.ErrDailyQuota) {
		return nil, nil, 1, fmt.Errorf("ask about %d openids: %w", len(ids), err)
	}
	if len(ids) == 1 {
		return nil, ids, 1, nil
	}
	mid := len(ids) / 2
	a, badA, ca, err := isolate(ctx, f, ids[:mid])
	if err != nil {
		return nil, nil, 1 + ca, err
	}
	b, badB, cb, err := isolate(ctx, f, ids[mid:])
	if err != nil {
		return nil, nil, 1 + ca + cb, err
	}
	if a == nil {
		a = map[string]cache.Profile{}
	}
	for k, v := range b {
		a[k] = v
	}
	return a, append(badA, badB...), 1 + ca + cb, nil
}
