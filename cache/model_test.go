package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A randomized model-based test of the store. It drives the real Store on a
// real bbolt file through random steps: syncs of one to three apps at once
// against a world that changes between (and during) runs, listings stopped
// part way and resumed, live writes (StoreFetched, PutProfiles), imports,
// catch-ups killed after any of their transactions, writes of another
// process between a sync's transactions, and reopens of the file. A plain
// in-memory model says what the cache must answer; after every step, and at
// catch-up hooks between transactions, every reader is asked and compared
// with it.
//
// The default is a few seeds (about five seconds); WXSCOPE_LONG=1 runs many
// more, from a random first seed; WXSCOPE_MODEL_SEED=N runs seed N alone, as
// a failure prints it.

// The apps of the model: three official accounts and an imported mini
// program. Appid order is the order Apps, Person and Analyze use.
var modelOfficial = []string{"wxModelA", "wxModelB", "wxModelC"}

const modelMall = "wxModelM"

// errModelKilled is what a catch-up hook returns to stop a catch-up, as a
// kill would, and errModelBroken what a source fails with.
var (
	errModelKilled = errors.New("killed by the model test")
	errModelBroken = errors.New("errcode -1: system busy (injected by the model test)")
)

func TestModelRandomized(t *testing.T) {
	seeds, steps := 6, 30
	if raceEnabled {
		seeds = 3
	}
	first := int64(1)
	if os.Getenv("WXSCOPE_LONG") == "1" {
		seeds, steps = 400, 120
		first = time.Now().UnixNano() % 1e9
	}
	if v := os.Getenv("WXSCOPE_MODEL_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("WXSCOPE_MODEL_SEED=%q: %v", v, err)
		}
		first, seeds = n, 1
	}
	if n, err := strconv.Atoi(os.Getenv("WXSCOPE_MODEL_STEPS")); err == nil {
		steps = n
	}
	if n, err := strconv.Atoi(os.Getenv("WXSCOPE_MODEL_SEEDS")); err == nil {
		seeds = n
	}
	for i := range seeds {
		seed := first + int64(i)
		t.Run(strconv.FormatInt(seed, 10), func(t *testing.T) {
			h := newModelHarness(t, seed)
			for range steps {
				h.step()
			}
		})
	}
}

// ---------------------------------------------------------------------------
// The world: what the API says.

// wApp is one official account as the API sees it.
type wApp struct {
	appid  string
	letter string
	order  []string           // the current followers, in listing order
	info   map[string]Profile // every openid the app ever had: its answer while it follows
	// list is the listing of the run in progress (nil: its first listing
	// from the start takes one), with the openids a listing that moved
	// gives twice. A run's listing holds still while the run lasts, so
	// that what it saw is what its pages said.
	list []string
}

// mallRow is a member of the imported app as its source gives it.
type mallRow struct {
	unionid     string
	first, last int64
}

type mWorld struct {
	apps   map[string]*wApp
	mall   map[string]mallRow // every member the source ever had
	inMall map[string]bool    // the members of the source now
	unions []string           // the unionids handed out
	next   int
}

func (w *mWorld) newID(letter string) string {
	w.next++
	return fmt.Sprintf("o%s%020d", letter, w.next)
}

func (w *mWorld) newUnion() string {
	w.next++
	u := fmt.Sprintf("uModel%018d", w.next)
	w.unions = append(w.unions, u)
	return u
}

// answer is what Profiles says of id now.
func (a *wApp) answer(id string) Profile {
	if slices.Contains(a.order, id) {
		p := a.info[id]
		p.TagIDs = slices.Clone(p.TagIDs)
		return p
	}
	return Profile{OpenID: id} // subscribe 0: nothing else
}

// ---------------------------------------------------------------------------
// The model: what the cache must answer.

type mApp struct {
	exists   bool               // the cache has a record of the app
	ps       map[string]Profile // by openid
	seen     map[string]int64   // last_seen of the imported app's members (> 0 only)
	touched  map[string]bool    // written since the app last had no tail: see verify
	imported bool
}

// normal is p as the cache gives it back.
func normal(appid string, p Profile) Profile {
	p.AppID = appid
	if len(p.TagIDs) == 0 {
		p.TagIDs = nil
	}
	return p
}

// putAnswerModel is what caching the API's answer got makes of the cached
// profile old (nil: none), as putAnswer's contract says: a subscribe 0
// keeps the history and marks the unfollow, an answer never cached before
// marks it only when a sync listed the openid.
func putAnswerModel(old *Profile, got Profile, now int64, listed bool) Profile {
	p := got
	p.FetchedAt = now
	switch {
	case got.Subscribed:
		p.UnfollowedAt = 0
	case old == nil && listed:
		p.UnfollowedAt = now
	case old == nil:
		p.UnfollowedAt = 0
	default:
		p = *old
		p.Subscribed = false
		p.FetchedAt = now
		if p.UnfollowedAt == 0 {
			p.UnfollowedAt = now
		}
	}
	return p
}

func countsOf(ps map[string]Profile) Counts {
	var c Counts
	for _, p := range ps {
		c.add(&p, 1)
	}
	return c
}

// ---------------------------------------------------------------------------
// The harness.

type modelHarness struct {
	t     *testing.T
	seed  int64
	rng   *rand.Rand
	path  string
	s     *Store
	w     *mWorld
	now   time.Time
	steps []string

	mu   sync.Mutex // guards want and the step's plans while syncs run
	want map[string]*mApp
	// verifyAtHooks: one sync runs, so a catch-up hook may check the
	// whole model between the catch-up's transactions.
	verifyAtHooks bool
	plans         map[string]*hookPlan
	async         bool // syncs run in goroutines of their own: see fatalf
	entryCache    map[string]map[unionEntry]bool
}

// hookPlan is what one app's catch-up hooks do during a step: the n-th
// call of each hook (counted from 1) kills the catch-up, writes as
// another process would, or checks every reader.
type hookPlan struct {
	calls   int
	kill    int             // the call that kills (0: none)
	fetch   map[int]string  // call → openid a live lookup stores then
	put     map[int]Profile // call → what PutProfiles writes then
	verify  map[int]bool
	fetchAt time.Time // the other process's clock
}

func newModelHarness(t *testing.T, seed int64) *modelHarness {
	h := &modelHarness{
		t:    t,
		seed: seed,
		rng:  rand.New(rand.NewSource(seed)),
		path: filepath.Join(t.TempDir(), "wxscope.db"),
		w:    &mWorld{apps: map[string]*wApp{}, mall: map[string]mallRow{}, inMall: map[string]bool{}},
		now:  time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC),
		want: map[string]*mApp{},
	}
	for i, appid := range modelOfficial {
		letter := string(rune('A' + i))
		h.w.apps[appid] = &wApp{appid: appid, letter: letter, info: map[string]Profile{}}
		h.want[appid] = &mApp{ps: map[string]Profile{}, touched: map[string]bool{}}
	}
	h.want[modelMall] = &mApp{ps: map[string]Profile{}, seen: map[string]int64{}, touched: map[string]bool{}, imported: true}
	for range 6 {
		h.w.newUnion()
	}
	for _, appid := range modelOfficial {
		for range 4 + h.rng.Intn(8) {
			h.follow(h.w.apps[appid])
		}
	}
	oldChunk := indexChunk
	oldDiff := diffMax
	oldStep := catchUpStep
	t.Cleanup(func() { indexChunk, diffMax, catchUpStep = oldChunk, oldDiff, oldStep })
	catchUpStep = h.hook
	h.open(ReadWrite)
	t.Cleanup(func() {
		if h.s != nil {
			h.s.Close()
		}
	})
	return h
}

func (h *modelHarness) open(mode Mode) {
	s, err := Open(h.path, Options{Mode: mode, Timeout: 5 * time.Second})
	if err != nil {
		h.fatalf("open the cache: %v", err)
	}
	h.s = s
}

func (h *modelHarness) logf(format string, args ...any) {
	h.steps = append(h.steps, fmt.Sprintf(format, args...))
}

// fatalf fails the test with the seed that reproduces it and the steps
// that led there. In a goroutine of a sync (h.async), where the test may
// not stop, it panics with a modelFailure for guard to report.
func (h *modelHarness) fatalf(format string, args ...any) {
	h.t.Helper()
	from := max(0, len(h.steps)-25)
	msg := fmt.Sprintf("seed %d (rerun: WXSCOPE_MODEL_SEED=%d go test -run 'TestModelRandomized' ./cache/): %s\nsteps (the last %d):\n  %s",
		h.seed, h.seed, fmt.Sprintf(format, args...), len(h.steps)-from, strings.Join(h.steps[from:], "\n  "))
	if h.async {
		panic(modelFailure(msg))
	}
	h.t.Fatal(msg)
}

// modelFailure is a failure found in a goroutine of a sync.
type modelFailure string

// errModelFailed stops a sync in which the model found a failure.
var errModelFailed = errors.New("the model test failed")

// guard runs fn in a hook or a source, where a failure must stop the sync
// (errModelFailed) rather than the goroutine; the step ends the test.
func (h *modelHarness) guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(modelFailure)
			if !ok {
				panic(r)
			}
			h.t.Error(string(f))
			err = errModelFailed
		}
	}()
	return fn()
}

// pick returns a random element of xs ("" when empty).
func pick[T any](rng *rand.Rand, xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	return xs[rng.Intn(len(xs))]
}

// ---------------------------------------------------------------------------
// Changes of the world.

// follow adds a new follower to a, with a unionid most of the time: one
// another app's follower has (the same person), a new one, rarely one a
// follower of a already has (a conflict).
func (h *modelHarness) follow(a *wApp) {
	id := h.w.newID(a.letter)
	u := ""
	switch r := h.rng.Intn(20); {
	case r < 11:
		u = pick(h.rng, h.w.unions)
	case r < 16:
		u = h.w.newUnion()
	case r < 17:
		for _, o := range a.order {
			if a.info[o].UnionID != "" {
				u = a.info[o].UnionID
			}
		}
	}
	a.info[id] = Profile{OpenID: id, UnionID: u, Subscribed: true, SubscribeTime: h.now.Unix() - int64(h.rng.Intn(1e6)),
		SubscribeScene: pick(h.rng, []string{"ADD_SCENE_SEARCH", "ADD_SCENE_QR_CODE", "ADD_SCENE_SOMETHING_NEW"}),
		Remark:         pick(h.rng, []string{"", "备注", "VIP \x1b[31m"}), TagIDs: slices.Repeat([]int64{2}, h.rng.Intn(2))}
	at := h.rng.Intn(len(a.order) + 1)
	a.order = slices.Insert(a.order, at, id)
}

// changeWorld makes one random change to the world.
func (h *modelHarness) changeWorld() {
	if h.rng.Intn(4) == 0 {
		h.changeMall()
		return
	}
	a := h.w.apps[pick(h.rng, modelOfficial)]
	var gone []string
	for id := range a.info {
		if !slices.Contains(a.order, id) {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	all := slices.Sorted(maps.Keys(a.info))
	switch r := h.rng.Intn(10); {
	case r < 3 || len(a.order) < 3:
		h.follow(a)
		h.logf("world: %s has a new follower", a.appid)
	case r < 5:
		id := pick(h.rng, a.order)
		a.order = slices.DeleteFunc(a.order, func(s string) bool { return s == id })
		h.logf("world: %s unfollows %s", id, a.appid)
	case r < 6 && len(gone) > 0:
		id := pick(h.rng, gone)
		p := a.info[id]
		p.SubscribeTime = h.now.Unix()
		a.info[id] = p
		a.order = slices.Insert(a.order, h.rng.Intn(len(a.order)+1), id)
		h.logf("world: %s follows %s again", id, a.appid)
	case r < 8:
		id := pick(h.rng, all)
		p := a.info[id]
		if p.UnionID == "" {
			p.UnionID = pick(h.rng, h.w.unions)
			h.logf("world: %s of %s has the unionid %s now", id, a.appid, p.UnionID)
		} else {
			p.Remark = fmt.Sprintf("remark %d", h.rng.Intn(100))
			h.logf("world: %s of %s has a new remark", id, a.appid)
		}
		a.info[id] = p
	default:
		id := pick(h.rng, all)
		p := a.info[id]
		p.TagIDs = append(slices.Clone(p.TagIDs), int64(100+h.rng.Intn(5)))
		a.info[id] = p
		h.logf("world: %s of %s has new tags", id, a.appid)
	}
}

// changeMall changes the imported app's source: members join, leave,
// come back, gain a unionid or log in again.
func (h *modelHarness) changeMall() {
	w := h.w
	ids := slices.Sorted(maps.Keys(w.mall))
	switch r := h.rng.Intn(6); {
	case r < 2 || len(ids) < 3:
		for range 1 + h.rng.Intn(4) {
			id := w.newID("M")
			u := ""
			if h.rng.Intn(3) > 0 {
				u = pick(h.rng, w.unions)
			}
			w.mall[id] = mallRow{unionid: u, first: h.now.Unix() - int64(h.rng.Intn(1e6)), last: int64(h.rng.Intn(2)) * h.now.Unix()}
			w.inMall[id] = true
		}
		h.logf("world: new members in the mall's source")
	case r < 3:
		delete(w.inMall, pick(h.rng, ids))
		h.logf("world: a member leaves the mall's source")
	case r < 4:
		w.inMall[pick(h.rng, ids)] = true
		h.logf("world: a member is in the mall's source (again)")
	case r < 5:
		id := pick(h.rng, ids)
		m := w.mall[id]
		if m.unionid == "" {
			m.unionid = pick(h.rng, w.unions)
		}
		w.mall[id] = m
		h.logf("world: mall member %s has a unionid", id)
	default:
		id := pick(h.rng, ids)
		m := w.mall[id]
		m.last = h.now.Unix()
		w.mall[id] = m
		h.logf("world: mall member %s logged in", id)
	}
}

// ---------------------------------------------------------------------------
// Steps.

func (h *modelHarness) step() {
	h.now = h.now.Add(time.Duration(10+h.rng.Intn(170)) * time.Minute)
	for range h.rng.Intn(3) {
		h.changeWorld()
	}
	switch r := h.rng.Intn(20); {
	case r < 11:
		h.stepSync()
	case r < 13:
		h.stepStoreFetched()
	case r < 15:
		h.stepPutProfiles()
	case r < 18:
		h.stepImport()
	default:
		h.stepReopen()
	}
	h.verify("after step " + strconv.Itoa(len(h.steps)))
}

// stepReopen closes the file and opens it again, as the next command
// would (a kill between two transactions leaves what a close does).
func (h *modelHarness) stepReopen() {
	must(h.t, h.s.Close())
	mode := ReadWrite
	if h.rng.Intn(3) == 0 {
		mode = Shared
	}
	h.open(mode)
	h.logf("reopen (mode %d)", mode)
}

// modelSource lists an app of the world and answers for it, failing or
// cancelling at a planned call, and writing as another process would
// during a planned Profiles call.
type modelSource struct {
	h         *modelHarness
	a         *wApp
	now       int64 // the sync's clock
	pageSize  int
	stopAt    int    // the call that fails (0: none)
	stopHow   string // "cancel", "error", "quota"
	cancel    context.CancelFunc
	fetchAt   map[int]int   // Profiles call → which openid of its batch a live lookup stores first
	leaveAt   int           // the Profiles call before which a follower of its batch leaves (0: none)
	delay     time.Duration // each call takes this long
	oneWorker bool          // the sync fetches one batch at a time
	// omit: how many answers leave each of these openids out. Asked
	// again, an answer that leaves nothing out is written, so no call
	// fails in a sync that has these.
	omit map[string]int // guarded by h.mu
	rng  *rand.Rand     // the lister's own: the step's syncs run at once

	mu       sync.Mutex
	calls    int
	pcall    int
	answered map[string]bool // guarded by h.mu
}

// stop says whether call n fails, and how.
func (src *modelSource) stop(ctx context.Context, api string) error {
	time.Sleep(src.delay)
	src.mu.Lock()
	src.calls++
	n := src.calls
	src.mu.Unlock()
	if n != src.stopAt {
		return ctx.Err()
	}
	switch src.stopHow {
	case "cancel":
		src.cancel()
		return ctx.Err()
	case "quota":
		return &QuotaError{API: api, ResetAt: time.Unix(src.now+86400, 0), Err: errors.New("errcode 45009")}
	}
	return errModelBroken
}

func (src *modelSource) ListFollowers(ctx context.Context, next string) (FollowerPage, error) {
	if err := src.stop(ctx, "cgi-bin/user/get"); err != nil {
		return FollowerPage{}, err
	}
	src.h.mu.Lock()
	defer src.h.mu.Unlock()
	a := src.a
	if a.list == nil {
		a.list = slices.Clone(a.order)
		// A listing that moved gives some openids twice, on a later page.
		for range src.rng.Intn(3) {
			if len(a.list) > 2 {
				id := a.list[src.rng.Intn(len(a.list)-1)]
				a.list = slices.Insert(a.list, len(a.list)-src.rng.Intn(2), id)
			}
		}
		if a.list == nil {
			a.list = []string{}
		}
	}
	start := 0
	if next != "" {
		var err error
		if start, err = strconv.Atoi(strings.TrimPrefix(next, "at:")); err != nil || start > len(a.list) {
			return FollowerPage{}, fmt.Errorf("the model's source got the cursor %q", next)
		}
	}
	end := min(start+src.pageSize, len(a.list))
	page := FollowerPage{OpenIDs: slices.Clone(a.list[start:end]), Total: len(a.order), Last: end == start}
	if end > start {
		page.Next = "at:" + strconv.Itoa(end)
	}
	return page, nil
}

func (src *modelSource) Profiles(ctx context.Context, ids []string) (map[string]Profile, error) {
	if err := src.stop(ctx, "cgi-bin/user/info/batchget"); err != nil {
		return nil, err
	}
	src.mu.Lock()
	src.pcall++
	n := src.pcall
	src.mu.Unlock()
	h := src.h
	if i, ok := src.fetchAt[n]; ok {
		// Another process's live lookup of an openid of this batch, just
		// before the sync's answer: the sync's write comes after it. (Not
		// of one answered before in this sync: that answer may be written
		// before the lookup or after.)
		id := ids[i%len(ids)]
		err := h.guard(func() error {
			h.mu.Lock()
			defer h.mu.Unlock()
			if src.a.answer(id).Subscribed && !src.answered[id] {
				h.storeFetchedLocked(src.a.appid, id, time.Unix(src.now+7, 0), "during a Profiles call")
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if src.leaveAt == n {
		// A follower leaves while the sync runs: with one worker, one this
		// sync answered before, when there is one (a listing that moved
		// lists it again). With more, not one: which of two answers
		// fetched at once the sync takes for the last is either.
		gone := ""
		for _, id := range ids {
			if src.answered[id] == src.oneWorker || gone == "" && !src.answered[id] {
				gone = id
			}
		}
		if gone != "" {
			src.a.order = slices.DeleteFunc(src.a.order, func(s string) bool { return s == gone })
			h.logf("  world: %s unfollows %s during the sync", gone, src.a.appid)
		}
	}
	out := make(map[string]Profile, len(ids))
	ma := h.want[src.a.appid]
	for _, id := range ids {
		if src.omit[id] > 0 {
			src.omit[id]-- // the answer leaves it out
			continue
		}
		got := src.a.answer(id)
		out[id] = got
		// Every answer returned is written before Sync returns: the
		// writer drains what the workers send, even after a failure.
		var old *Profile
		if p, ok := ma.ps[id]; ok {
			old = &p
		}
		ma.ps[id] = normal(src.a.appid, putAnswerModel(old, got, src.now, true))
		ma.touched[id] = true
		src.answered[id] = true
	}
	return out, nil
}

// storeFetched writes a live lookup's answer for id (another process,
// between the sync's transactions, or a step of its own) and the model
// with it.
func (h *modelHarness) storeFetched(appid, id string, at time.Time, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.storeFetchedLocked(appid, id, at, why)
}

// storeFetchedLocked is storeFetched with h.mu held: no answer of a sync
// is noted in the model meanwhile.
func (h *modelHarness) storeFetchedLocked(appid, id string, at time.Time, why string) {
	got := h.w.apps[appid].answer(id)
	h.logf("  StoreFetched %s %s (subscribed %t) %s", appid, id, got.Subscribed, why)
	if err := h.s.StoreFetched(appid, []Profile{got}, at); err != nil {
		h.fatalf("StoreFetched %s %s: %v", appid, id, err)
	}
	ma := h.want[appid]
	var old *Profile
	if p, ok := ma.ps[id]; ok {
		old = &p
	}
	ma.ps[id] = normal(appid, putAnswerModel(old, got, at.Unix(), false))
	ma.touched[id] = true
	ma.exists = true
}

// randomProfile is a profile as a fixture or tool would write it.
func (h *modelHarness) randomProfile(id string) Profile {
	p := Profile{OpenID: id, Subscribed: h.rng.Intn(4) > 0, SubscribeTime: h.now.Unix() - 99, Remark: "put",
		FetchedAt: h.now.Unix() - int64(h.rng.Intn(3))*3600}
	if h.rng.Intn(3) > 0 {
		p.UnionID = pick(h.rng, h.w.unions)
	}
	if !p.Subscribed && h.rng.Intn(2) == 0 {
		p.UnfollowedAt = h.now.Unix() - 50
	}
	return p
}

// putProfiles writes ps with PutProfiles, and the model with them: the
// rows are written even when the catch-up after them is killed.
func (h *modelHarness) putProfiles(appid string, ps []Profile, why string) error {
	h.mu.Lock()
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.OpenID
	}
	h.logf("  PutProfiles %s %v %s", appid, ids, why)
	ma := h.want[appid]
	for _, p := range ps {
		ma.ps[p.OpenID] = normal(appid, p)
		ma.touched[p.OpenID] = true
	}
	ma.exists = true
	h.mu.Unlock()
	return h.s.PutProfiles(appid, ps)
}

// someOpenID is an openid of an official account: one it had, or one the
// cache has, or a new one.
func (h *modelHarness) someOpenID(appid string) string {
	a := h.w.apps[appid]
	switch h.rng.Intn(6) {
	case 0:
		id := h.w.newID(a.letter)
		a.info[id] = Profile{OpenID: id, Subscribed: true, SubscribeTime: h.now.Unix()}
		return id
	case 1:
		if ids := slices.Sorted(maps.Keys(h.want[appid].ps)); len(ids) > 0 {
			return pick(h.rng, ids)
		}
	}
	return pick(h.rng, slices.Sorted(maps.Keys(a.info)))
}

func (h *modelHarness) stepStoreFetched() {
	appid := pick(h.rng, modelOfficial)
	id := h.someOpenID(appid)
	if id == "" {
		return
	}
	h.logf("step: live lookup")
	h.storeFetched(appid, id, h.now, "")
}

func (h *modelHarness) stepPutProfiles() {
	appid := pick(h.rng, modelOfficial)
	var ps []Profile
	for range 1 + h.rng.Intn(4) {
		if id := h.someOpenID(appid); id != "" {
			ps = append(ps, h.randomProfile(id))
		}
	}
	h.logf("step: PutProfiles")
	h.plans = map[string]*hookPlan{appid: h.randomPlan(appid, false)}
	h.verifyAtHooks = true
	err := h.putProfiles(appid, ps, "")
	h.plans, h.verifyAtHooks = nil, false
	if err != nil && !errors.Is(err, errModelKilled) {
		h.fatalf("PutProfiles: %v", err)
	}
}

// randomPlan plans what app's catch-up hooks do in a step. withPut: the
// hooks may also call PutProfiles, whose own catch-up runs inside the
// hook.
func (h *modelHarness) randomPlan(appid string, withPut bool) *hookPlan {
	p := &hookPlan{fetch: map[int]string{}, put: map[int]Profile{}, verify: map[int]bool{}, fetchAt: h.now.Add(3 * time.Second)}
	if h.rng.Intn(3) == 0 {
		p.kill = 1 + h.rng.Intn(12)
	}
	for range h.rng.Intn(3) {
		if id := h.someOpenID(appid); id != "" {
			p.fetch[1+h.rng.Intn(12)] = id
		}
	}
	if withPut && h.rng.Intn(8) == 0 {
		if id := h.someOpenID(appid); id != "" {
			p.put[1+h.rng.Intn(12)] = h.randomProfile(id)
		}
	}
	for range 1 + h.rng.Intn(2) {
		p.verify[1+h.rng.Intn(12)] = true
	}
	return p
}

// hook is catchUpStep for the model: it runs the step's plan for the app.
func (h *modelHarness) hook(appid, phase string) error {
	return h.guard(func() error { return h.runPlan(appid, phase) })
}

func (h *modelHarness) runPlan(appid, phase string) error {
	h.mu.Lock()
	p := h.plans[appid]
	if p == nil {
		h.mu.Unlock()
		return nil
	}
	p.calls++
	n := p.calls
	kill := n == p.kill
	fetch, verify := p.fetch[n], p.verify[n] && h.verifyAtHooks
	put, doPut := p.put[n]
	delete(p.put, n) // PutProfiles's own catch-up calls the hook again
	h.mu.Unlock()
	if fetch != "" {
		h.storeFetched(appid, fetch, p.fetchAt, "at the catch-up's "+phase)
	}
	if doPut {
		// Its own catch-up runs inside this one, and may be killed.
		if err := h.putProfiles(appid, []Profile{put}, "at the catch-up's "+phase); err != nil && !errors.Is(err, errModelKilled) {
			h.fatalf("PutProfiles at the catch-up's %s: %v", phase, err)
		}
	}
	if verify {
		h.verify(fmt.Sprintf("at the catch-up hook %q of %s (call %d)", phase, appid, n))
	}
	if kill {
		h.mu.Lock()
		h.logf("  the catch-up of %s is killed after %q", appid, phase)
		h.mu.Unlock()
		return errModelKilled
	}
	return nil
}

// stepSync syncs one to three apps at once, each maybe stopped part way,
// its catch-ups maybe killed and written between by another process.
func (h *modelHarness) stepSync() {
	apps := slices.Clone(modelOfficial)
	h.rng.Shuffle(len(apps), func(i, j int) { apps[i], apps[j] = apps[j], apps[i] })
	apps = apps[:1+h.rng.Intn(3)]
	slices.Sort(apps)
	h.syncApps(apps, false)
}

// syncApps syncs apps at once. calm: nothing stops them, kills their
// catch-ups or writes between their transactions, and each call to the
// source takes a moment, for readers to come in between.
func (h *modelHarness) syncApps(apps []string, calm bool) {
	type job struct {
		appid string
		src   *modelSource
		ctx   context.Context
		opts  SyncOptions
		err   error
	}
	jobs := make([]*job, len(apps))
	h.plans = map[string]*hookPlan{}
	h.verifyAtHooks = len(apps) == 1
	indexChunk = pick(h.rng, []int{1, 2, 3, 20000})
	now := h.now
	var desc []string
	for i, appid := range apps {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		src := &modelSource{h: h, a: h.w.apps[appid], now: now.Unix(), pageSize: 1 + h.rng.Intn(5), cancel: cancel, fetchAt: map[int]int{}, answered: map[string]bool{},
			rng: rand.New(rand.NewSource(h.rng.Int63()))}
		if h.rng.Intn(3) == 0 && !calm {
			src.stopAt = 1 + h.rng.Intn(8)
			src.stopHow = pick(h.rng, []string{"cancel", "error", "quota"})
		}
		for range h.rng.Intn(2) {
			if !calm {
				src.fetchAt[1+h.rng.Intn(6)] = h.rng.Intn(100)
			}
		}
		if h.rng.Intn(4) == 0 && !calm {
			src.leaveAt = 1 + h.rng.Intn(8)
		}
		if h.rng.Intn(5) == 0 && !calm && src.stopAt == 0 {
			src.omit = map[string]int{pick(h.rng, src.a.order): 1 + h.rng.Intn(7)}
		}
		if calm {
			src.delay = time.Millisecond
		}
		opts := SyncOptions{Concurrency: 1 + h.rng.Intn(3), BatchSize: 1 + h.rng.Intn(4), MaxAge: pick(h.rng, []time.Duration{-1, 2 * time.Hour}),
			Now: func() time.Time { return now }}
		src.oneWorker = opts.Concurrency == 1
		jobs[i] = &job{appid: appid, src: src, ctx: ctx, opts: opts}
		if !calm {
			h.plans[appid] = h.randomPlan(appid, len(apps) == 1)
		} else {
			h.plans[appid] = &hookPlan{}
		}
		desc = append(desc, fmt.Sprintf("%s (page %d, batch %d, workers %d, max age %v, stop at call %d by %q, kill at hook %d, a follower leaves at Profiles call %d, answers leave out %v)",
			appid, src.pageSize, opts.BatchSize, opts.Concurrency, opts.MaxAge, src.stopAt, src.stopHow, h.plans[appid].kill, src.leaveAt, src.omit))
	}
	h.logf("step: sync %s, index chunk %d", strings.Join(desc, ", "), indexChunk)
	var wg sync.WaitGroup
	h.async = true
	for _, j := range jobs {
		h.want[j.appid].exists = true
		wg.Go(func() { j.err = Sync(j.ctx, h.s, j.appid, j.src, j.opts) })
	}
	wg.Wait()
	h.plans, h.verifyAtHooks, h.async = nil, false, false
	if h.t.Failed() {
		h.t.FailNow()
	}
	for _, j := range jobs {
		a := h.w.apps[j.appid]
		app, _, err := h.s.App(j.appid)
		if err != nil {
			h.fatalf("App %s: %v", j.appid, err)
		}
		h.logf("  sync %s: %v (in progress %t, cursor %q)", j.appid, j.err, app.Sync.InProgress, app.Sync.Cursor)
		switch {
		case j.err == nil:
			if app.Sync.InProgress {
				h.fatalf("sync %s returned nil with its run in progress", j.appid)
			}
			// A complete listing: the followers it did not list are
			// unfollowed now.
			listed := map[string]bool{}
			for _, id := range a.list {
				listed[id] = true
			}
			ma := h.want[j.appid]
			for id, p := range ma.ps {
				if active(&p) && !listed[id] {
					p.Subscribed = false
					p.UnfollowedAt = now.Unix()
					ma.ps[id] = p
					ma.touched[id] = true
				}
			}
			a.list = nil
		case errors.Is(j.err, errModelKilled), errors.Is(j.err, errModelBroken), errors.Is(j.err, context.Canceled), errors.Is(j.err, ErrDailyQuota),
			errors.Is(j.err, ErrIncompleteAnswer):
			if !app.Sync.InProgress {
				h.fatalf("sync %s stopped (%v) but its run is closed", j.appid, j.err)
			}
		default:
			h.fatalf("sync %s: %v", j.appid, j.err)
		}
	}
}

// stepImport imports the mall's source, which may break off part way (the
// previous import is kept), with few or many changes in place.
func (h *modelHarness) stepImport() {
	w := h.w
	ids := slices.Sorted(maps.Keys(w.inMall))
	var b strings.Builder
	b.WriteString("openid,unionid,first_seen,last_seen\n")
	for _, id := range ids {
		m := w.mall[id]
		fmt.Fprintf(&b, "%s,%s,%d,%d\n", id, m.unionid, m.first, m.last)
	}
	diffMax = pick(h.rng, []int{1, 3, 4096})
	var src io.Reader = strings.NewReader(b.String())
	broken := h.rng.Intn(6) == 0
	if broken {
		src = io.MultiReader(strings.NewReader(b.String()[:b.Len()/2]), iotest.ErrReader(errModelBroken))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if h.rng.Intn(10) == 0 && len(ids) > 0 {
		cancel()
		broken = true
	}
	h.logf("step: import %d members (broken %t, diffMax %d)", len(ids), broken, diffMax)
	now := h.now
	_, err := Import(ctx, h.s, modelMall, src, ImportOptions{Kind: "miniprogram", Source: "mall.csv", Now: func() time.Time { return now }})
	switch {
	case broken && err == nil:
		h.fatalf("a broken import succeeded")
	case broken:
		return // the previous import is kept
	case err != nil:
		h.fatalf("import: %v", err)
	}
	ma := h.want[modelMall]
	ma.exists = true
	t := now.Unix()
	for id, prev := range ma.ps {
		if !w.inMall[id] && active(&prev) {
			prev.Subscribed, prev.UnfollowedAt = false, t
			ma.ps[id] = prev
			ma.touched[id] = true
		}
	}
	for _, id := range ids {
		m := w.mall[id]
		p := Profile{AppID: modelMall, OpenID: id, UnionID: m.unionid, Subscribed: true, SubscribeTime: m.first, FetchedAt: t}
		seen := m.last
		if prev, ok := ma.ps[id]; ok {
			if p.UnionID == "" {
				p.UnionID = prev.UnionID
			}
			if p.SubscribeTime == 0 {
				p.SubscribeTime = prev.SubscribeTime
			}
			if seen == 0 {
				seen = ma.seen[id]
			}
			if seen == ma.seen[id] && sameMember(&p, &prev) {
				continue
			}
		}
		ma.ps[id] = p
		ma.touched[id] = true
		if seen > 0 {
			ma.seen[id] = seen
		} else {
			delete(ma.seen, id)
		}
	}
}

// ---------------------------------------------------------------------------
// Verification.

// unionEntry is an entry of a unionid index: unionid, appid, openid.
type unionEntry struct{ u, a, o string }

func cmpEntry(x, y unionEntry) int {
	return cmp.Or(cmp.Compare(x.u, y.u), cmp.Compare(x.a, y.a), cmp.Compare(x.o, y.o))
}

// verify asks every reader and compares its answer with the model. While
// an app has a tail (rows a catch-up has not indexed yet), its unionid
// index entries of the openids written since it last had none may be
// there or not yet, but every entry there must be right; every other
// answer is exact at every moment.
func (h *modelHarness) verify(where string) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.s.Check(); err != nil {
		h.fatalf("%s: Check: %v", where, err)
	}
	apps, err := h.s.Apps()
	if err != nil {
		h.fatalf("%s: Apps: %v", where, err)
	}
	var gotApps, wantApps []string
	for _, a := range apps {
		gotApps = append(gotApps, a.AppID)
	}
	for _, appid := range slices.Sorted(maps.Keys(h.want)) {
		if h.want[appid].exists {
			wantApps = append(wantApps, appid)
		}
	}
	if !slices.Equal(gotApps, wantApps) {
		h.fatalf("%s: Apps lists %v, want %v", where, gotApps, wantApps)
	}
	uncertain := map[string]map[string]bool{} // appid → openids whose entries may wait
	for _, a := range apps {
		ma := h.want[a.AppID]
		tail := h.hasTail(a.AppID)
		if !tail {
			clear(ma.touched)
		}
		uncertain[a.AppID] = ma.touched
		h.verifyApp(where, a, ma, tail)
	}
	h.verifyUnions(where, apps, uncertain)
}

func (h *modelHarness) hasTail(appid string) bool {
	var r appRows
	err := h.s.view(func(tx *bolt.Tx) error {
		var err error
		r, err = readRows(tx, appid)
		return err
	})
	if err != nil {
		h.fatalf("read the record of %s: %v", appid, err)
	}
	return r.indexed < r.next
}

func (h *modelHarness) verifyApp(where string, a App, ma *mApp, tail bool) {
	appid := a.AppID
	// The followers listing (the TUI's index, export): every profile once,
	// as the model has it. A tail may still hold an earlier row of an
	// openid a sync appended twice; the catch-up removes it.
	var rows []Profile
	if err := h.s.EachProfile(appid, "", func(p Profile) error { rows = append(rows, p); return nil }); err != nil {
		h.fatalf("%s: EachProfile %s: %v", where, appid, err)
	}
	last := map[string]Profile{}
	for _, p := range rows {
		last[p.OpenID] = normal(appid, p)
	}
	if len(rows) != len(last) {
		// An openid the tail holds twice (a listing that moved) is one
		// profile, the newer, at every moment: this check let it be two
		// while an app had a tail, and so never caught it.
		n := map[string]int{}
		for _, p := range rows {
			if n[p.OpenID]++; n[p.OpenID] > 1 {
				h.fatalf("%s: EachProfile of %s gives %s twice (tail %t, written since the last catch-up %t)", where, appid, p.OpenID, tail, ma.touched[p.OpenID])
			}
		}
	}
	if !reflect.DeepEqual(last, ma.ps) {
		h.fatalf("%s: EachProfile of %s:\n%s", where, appid, diffProfiles(last, ma.ps))
	}
	// The counters are kept at write time, and a sync that appends an
	// openid twice cannot tell (tailreads.go): while the tail holds both
	// rows, they count both, until the catch-up removes the older.
	if want, raw := countsOf(ma.ps), h.rowCounts(appid); a.Counts != want && (!tail || a.Counts != raw) {
		h.fatalf("%s: counters of %s are %+v, want %+v (the rows count %+v)", where, appid, a.Counts, want, raw)
	}

	ids := slices.Sorted(maps.Keys(ma.ps))
	unknown := []string{"oNobody00000000000001", "o" + appid[len(appid)-1:] + "99999999999999999999"}
	for _, id := range ids {
		p, ok, err := h.s.Profile(appid, id)
		if err != nil || !ok || !reflect.DeepEqual(p, ma.ps[id]) {
			h.fatalf("%s: Profile(%s, %s) = %+v, %t, %v; want %+v", where, appid, id, p, ok, err, ma.ps[id])
		}
	}
	for _, id := range unknown {
		if p, ok, err := h.s.Profile(appid, id); ok || err != nil {
			h.fatalf("%s: Profile(%s, %s) of an openid never cached = %+v, %t, %v", where, appid, id, p, ok, err)
		}
	}
	got, err := h.s.ProfilesOf(appid, append(slices.Clone(ids), unknown...))
	if err != nil || !reflect.DeepEqual(got, ma.ps) && len(ma.ps)+len(got) > 0 {
		h.fatalf("%s: ProfilesOf %s (%v):\n%s", where, appid, err, diffProfiles(got, ma.ps))
	}
	for _, id := range ids {
		found, err := h.s.FindOpenID(id)
		if err != nil || len(found) != 1 || !reflect.DeepEqual(found[0], ma.ps[id]) {
			h.fatalf("%s: FindOpenID(%s) = %+v, %v; want the profile in %s", where, id, found, err, appid)
		}
	}
	if ma.imported {
		seen := map[string]int64{}
		err := h.s.EachLastSeen(appid, func(id string, t int64) error { seen[id] = t; return nil })
		if err != nil || !maps.Equal(seen, ma.seen) {
			h.fatalf("%s: EachLastSeen %s = %v, %v; want %v", where, appid, seen, err, ma.seen)
		}
	}
}

// rowCounts counts every row of appid, an openid's older rows in the tail
// too.
func (h *modelHarness) rowCounts(appid string) Counts {
	var c Counts
	err := h.s.view(func(tx *bolt.Tx) error {
		r, err := readRows(tx, appid)
		if err != nil || r.rows == nil {
			return err
		}
		return r.rows.ForEach(func(k, v []byte) error {
			p, err := profileAt(appid, 0, v)
			c.add(&p, 1)
			return err
		})
	})
	if err != nil {
		h.fatalf("count the rows of %s: %v", appid, err)
	}
	return c
}

func diffProfiles(got, want map[string]Profile) string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[id]; !ok {
			fmt.Fprintf(&b, "  %s missing, want %+v\n", id, want[id])
		} else if !reflect.DeepEqual(g, want[id]) {
			fmt.Fprintf(&b, "  %s is %+v\n  %s want %+v\n", id, g, strings.Repeat(" ", len(id)), want[id])
		}
	}
	for _, id := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[id]; !ok {
			fmt.Fprintf(&b, "  %s is %+v, want none\n", id, got[id])
		}
	}
	return b.String()
}

// verifyUnions checks the readers of the unionid indexes: the walk of the
// index (link analysis), Members, MemberProfiles, Person by unionid and by
// openid, Analyze and EachGroup.
func (h *modelHarness) verifyUnions(where string, apps []App, uncertain map[string]map[string]bool) {
	// What each index must hold (upper) and may lack (upper - lower).
	var upper, lower, upperF, lowerF []unionEntry
	for _, a := range apps {
		for id, p := range h.want[a.AppID].ps {
			e := unionEntry{p.UnionID, a.AppID, id}
			switch {
			case indexed(&p):
				upper = append(upper, e)
				if !uncertain[a.AppID][id] {
					lower = append(lower, e)
				}
			case former(&p):
				upperF = append(upperF, e)
				if !uncertain[a.AppID][id] {
					lowerF = append(lowerF, e)
				}
			}
		}
	}
	var got []unionEntry
	err := h.s.EachUnionKey(func(u, a, o string) error { got = append(got, unionEntry{u, a, o}); return nil })
	if err != nil {
		h.fatalf("%s: EachUnionKey: %v", where, err)
	}
	h.within(where, "the unionid index", got, lower, upper)
	var gotF []unionEntry
	for _, k := range formerKeys(h.t, h.s) {
		parts := strings.SplitN(k, "/", 3)
		gotF = append(gotF, unionEntry{parts[0], parts[1], parts[2]})
	}
	h.within(where, "the former-members index", gotF, lowerF, upperF)

	// The lookups by unionid (Members, MemberProfiles, Person) read the
	// tails as the lookups by openid do, so they give what the model has
	// at every moment; the walk of the index (link analysis, below) sees a
	// tail once it is caught up. (This check took the index as read for
	// the truth of the lookups too, and so never caught that they missed
	// the tail.)
	truth := func(es []unionEntry) map[string][]unionEntry {
		slices.SortFunc(es, cmpEntry)
		out := map[string][]unionEntry{}
		for _, e := range es {
			out[e.u] = append(out[e.u], e)
		}
		return out
	}
	byUnion, formerBy := truth(slices.Clone(upper)), truth(slices.Clone(upperF))
	profile := func(e unionEntry) Profile { return h.want[e.a].ps[e.o] }
	unions := slices.Clone(h.w.unions)
	for _, u := range unions {
		ms, err := h.s.Members(u)
		var want []Member
		for _, e := range byUnion[u] {
			want = append(want, Member{AppID: e.a, OpenID: e.o})
		}
		if err != nil || !slices.Equal(ms, want) {
			h.fatalf("%s: Members(%s) = %v, %v; want %v", where, u, ms, err, want)
		}
		ps, err := h.s.MemberProfiles(u)
		var wantPs []Profile
		for _, e := range byUnion[u] {
			wantPs = append(wantPs, profile(e))
		}
		if err != nil || !reflect.DeepEqual(ps, wantPs) {
			h.fatalf("%s: MemberProfiles(%s) = %+v, %v; want %+v", where, u, ps, err, wantPs)
		}
		// Person by unionid: every app's members, following or former.
		want2 := map[string]map[string]Profile{}
		for _, e := range append(slices.Clone(byUnion[u]), formerBy[u]...) {
			if want2[e.a] == nil {
				want2[e.a] = map[string]Profile{}
			}
			want2[e.a][e.o] = profile(e)
		}
		kind := KindUnknown
		if len(want2) > 0 {
			kind = KindUnionID
		}
		h.verifyPerson(where, u, apps, kind, u, want2)
	}
	// Person by openid: the profile, and the members of its unionid; a
	// sample, drawn apart from the steps' randomness.
	rng := rand.New(rand.NewSource(int64(len(h.steps))))
	for _, a := range apps {
		for _, id := range slices.Sorted(maps.Keys(h.want[a.AppID].ps)) {
			if rng.Intn(4) != 0 {
				continue
			}
			p := h.want[a.AppID].ps[id]
			want := map[string]map[string]Profile{a.AppID: {id: p}}
			if p.UnionID != "" {
				for _, e := range append(slices.Clone(byUnion[p.UnionID]), formerBy[p.UnionID]...) {
					if want[e.a] == nil {
						want[e.a] = map[string]Profile{}
					}
					want[e.a][e.o] = profile(e)
				}
			}
			h.verifyPerson(where, id, apps, KindOpenID, p.UnionID, want)
		}
	}

	// Link analysis and groups, from the index walked.
	byUnion = map[string][]unionEntry{}
	for _, e := range got {
		byUnion[e.u] = append(byUnion[e.u], e)
	}
	pos := map[string]int{}
	for i, a := range apps {
		pos[a.AppID] = i
	}
	n := len(apps)
	shared := make([][]int64, n)
	for i := range shared {
		shared[i] = make([]int64, n)
	}
	conflicts := make([]int64, n)
	var persons, inOne int64
	var wantGroups []string
	for _, u := range slices.Sorted(maps.Keys(byUnion)) {
		es := byUnion[u]
		in := map[int]int{}
		var ms []string
		for _, e := range es {
			in[pos[e.a]]++
			ms = append(ms, e.a+"/"+e.o)
		}
		slices.SortStableFunc(ms, func(x, y string) int {
			return cmp.Compare(pos[strings.Split(x, "/")[0]], pos[strings.Split(y, "/")[0]])
		})
		wantGroups = append(wantGroups, u+": "+strings.Join(ms, " "))
		persons++
		if len(in) == 1 {
			inOne++
		}
		for i, c := range in {
			if c > 1 {
				conflicts[i]++
			}
			for j := range in {
				shared[i][j]++
			}
		}
	}
	l, err := Analyze(h.s, AnalyzeOptions{Now: h.now})
	if err != nil {
		h.fatalf("%s: Analyze: %v", where, err)
	}
	if l.Persons != persons || l.InOneApp != inOne {
		h.fatalf("%s: Analyze: %d persons, %d in one app; want %d, %d", where, l.Persons, l.InOneApp, persons, inOne)
	}
	for i := range n {
		if l.Apps[i].AppID != apps[i].AppID || l.Apps[i].Persons != shared[i][i] || l.Apps[i].Conflicts != conflicts[i] {
			h.fatalf("%s: Analyze: app %s has %d persons and %d conflicts; want %s with %d and %d", where,
				l.Apps[i].AppID, l.Apps[i].Persons, l.Apps[i].Conflicts, apps[i].AppID, shared[i][i], conflicts[i])
		}
		for j := range n {
			if l.Shared(i, j) != shared[i][j] {
				h.fatalf("%s: Analyze: %s and %s share %d persons; want %d", where, apps[i].AppID, apps[j].AppID, l.Shared(i, j), shared[i][j])
			}
		}
	}
	var groups []string
	err = EachGroup(h.s, nil, func(g *Group) error {
		var ms []string
		for _, m := range g.Members {
			ms = append(ms, m.AppID+"/"+m.OpenID)
		}
		groups = append(groups, g.UnionID+": "+strings.Join(ms, " "))
		return nil
	})
	if err != nil || !slices.Equal(groups, wantGroups) {
		h.fatalf("%s: EachGroup (%v):\n  %s\nwant\n  %s", where, err, strings.Join(groups, "\n  "), strings.Join(wantGroups, "\n  "))
	}
}

// within checks that the index entries got are sorted, distinct, and lie
// between lower and upper.
func (h *modelHarness) within(where, what string, got, lower, upper []unionEntry) {
	if !slices.IsSortedFunc(got, cmpEntry) || len(slices.CompactFunc(slices.Clone(got), func(x, y unionEntry) bool { return x == y })) != len(got) {
		h.fatalf("%s: %s is not sorted and distinct: %v", where, what, got)
	}
	in := map[unionEntry]bool{}
	for _, e := range got {
		in[e] = true
	}
	for _, e := range lower {
		if !in[e] {
			h.fatalf("%s: %s lacks %v (%+v)", where, what, e, h.want[e.a].ps[e.o])
		}
	}
	allowed := map[unionEntry]bool{}
	for _, e := range upper {
		allowed[e] = true
	}
	for _, e := range got {
		if !allowed[e] {
			h.fatalf("%s: %s holds %v, which the model has not (profile %+v)", where, what, e, h.want[e.a].ps[e.o])
		}
	}
}

// verifyPerson compares Person(id) with the profiles want, per app.
func (h *modelHarness) verifyPerson(where, id string, apps []App, kind IDKind, union string, want map[string]map[string]Profile) {
	p, err := h.s.Person(id, nil)
	if err != nil {
		h.fatalf("%s: Person(%s): %v", where, id, err)
	}
	if p.Kind != kind || (kind != KindUnknown && p.UnionID != union) || len(p.Apps) != len(apps) {
		h.fatalf("%s: Person(%s) is a %s with unionid %q in %d apps; want a %s with %q in %d", where, id, p.Kind, p.UnionID, len(p.Apps), kind, union, len(apps))
	}
	if kind == KindUnknown {
		return
	}
	for i, pa := range p.Apps {
		if pa.AppID != apps[i].AppID {
			h.fatalf("%s: Person(%s) app %d is %s, want %s", where, id, i, pa.AppID, apps[i].AppID)
		}
		got := map[string]Profile{}
		for _, q := range pa.Profiles {
			if _, dup := got[q.OpenID]; dup {
				h.fatalf("%s: Person(%s) shows %s of %s twice", where, id, q.OpenID, pa.AppID)
			}
			got[q.OpenID] = q
		}
		if !reflect.DeepEqual(got, want[pa.AppID]) && len(got)+len(want[pa.AppID]) > 0 {
			h.fatalf("%s: Person(%s) in %s:\n%s", where, id, pa.AppID, diffProfiles(got, want[pa.AppID]))
		}
	}
}

// ---------------------------------------------------------------------------
// Readers during syncs.

// TestModelReadersDuringSyncs runs readers in goroutines of their own while
// syncs of the model's apps run to their end (the catch-up a transaction
// per entry or two), and checks every answer against the model before the
// syncs and after them: each profile is the one or the other, an index
// entry both have is always there, and no entry neither has ever is. Run it
// under -race.
func TestModelReadersDuringSyncs(t *testing.T) {
	seed, rounds := int64(11), 12
	if raceEnabled {
		rounds = 6
	}
	if os.Getenv("WXSCOPE_LONG") == "1" {
		seed, rounds = time.Now().UnixNano()%1e9, 25
	}
	if v := os.Getenv("WXSCOPE_MODEL_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("WXSCOPE_MODEL_SEED=%q: %v", v, err)
		}
		seed = n
	}
	h := newModelHarness(t, seed)
	for _, appid := range modelOfficial {
		for range 40 {
			h.follow(h.w.apps[appid])
		}
	}
	for round := range rounds {
		if round > 0 {
			h.now = h.now.Add(3 * time.Hour)
			for range 20 {
				h.changeWorld()
			}
		}
		before := h.snapshot()
		ids := map[string][]string{}
		for _, appid := range modelOfficial {
			all := map[string]bool{}
			for id := range h.w.apps[appid].info {
				all[id] = true
			}
			for id := range before[appid] {
				all[id] = true
			}
			ids[appid] = slices.Sorted(maps.Keys(all))
		}
		unions := slices.Clone(h.w.unions)
		indexChunk = 2
		h.entryCache = nil

		// Every third round, the syncs write in Shared mode and the readers
		// read through a SharedReadOnly store of their own, as another
		// process (lookup, the read-only TUI) does, between the writes.
		reader := h.s
		if round%3 == 2 {
			must(t, h.s.Close())
			h.open(Shared)
			reader = openSharedReadOnly(t, h.path)
		}
		stop := make(chan struct{})
		var readers sync.WaitGroup
		answers := make([][]readAnswer, 3)
		for i := range answers {
			rng := rand.New(rand.NewSource(seed*100 + int64(round*10+i)))
			readers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					answers[i] = append(answers[i], h.readOnce(reader, rng, ids, unions))
					time.Sleep(200 * time.Microsecond) // leave the syncs some of the two cores
				}
			})
		}
		apps := slices.Clone(modelOfficial)
		if round > 0 {
			apps = apps[:1+h.rng.Intn(3)]
		}
		began := time.Now()
		h.syncApps(apps, true)
		took := time.Since(began)
		close(stop)
		readers.Wait()
		after := h.snapshot()
		n := 0
		for _, as := range answers {
			for _, a := range as {
				h.checkRead(round, a, before, after)
				n++
			}
		}
		h.logf("round %d: %d answers read during the syncs of %v (%v)", round, n, apps, took)
		if n == 0 {
			t.Errorf("round %d: no answer was read during the syncs", round)
		}
		if reader != h.s {
			must(t, reader.Close())
		}
		h.verify(fmt.Sprintf("after round %d", round))
	}
}

// snapshot copies the model's profiles.
func (h *modelHarness) snapshot() map[string]map[string]Profile {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]map[string]Profile{}
	for appid, ma := range h.want {
		out[appid] = maps.Clone(ma.ps)
	}
	return out
}

// readAnswer is one answer of a reader: what was asked (what, app, id) and
// the profiles or index entries it gave.
type readAnswer struct {
	what    string
	app, id string
	ids     []string // asked of ProfilesOf
	ps      []Profile
	keys    []unionEntry
	counts  Counts
	kind    IDKind
	err     error
}

// readOnce asks one reader, at random.
func (h *modelHarness) readOnce(s *Store, rng *rand.Rand, ids map[string][]string, unions []string) readAnswer {
	app := pick(rng, modelOfficial)
	id := pick(rng, ids[app])
	u := pick(rng, unions)
	switch rng.Intn(7) {
	case 0:
		p, ok, err := s.Profile(app, id)
		a := readAnswer{what: "Profile", app: app, id: id, err: err}
		if ok {
			a.ps = []Profile{p}
		}
		return a
	case 1:
		ask := []string{id, pick(rng, ids[app]), pick(rng, ids[app])}
		got, err := s.ProfilesOf(app, ask)
		return readAnswer{what: "ProfilesOf", app: app, ids: ask, ps: slices.Collect(maps.Values(got)), err: err}
	case 2:
		ms, err := s.Members(u)
		a := readAnswer{what: "Members", id: u, err: err}
		for _, m := range ms {
			a.keys = append(a.keys, unionEntry{u, m.AppID, m.OpenID})
		}
		return a
	case 3:
		p, err := s.Person(u, nil)
		a := readAnswer{what: "Person", id: u, err: err}
		if err == nil {
			a.kind, a.ps = p.Kind, p.Profiles()
		}
		return a
	case 4:
		a := readAnswer{what: "EachProfile", app: app}
		a.err = s.EachProfile(app, "", func(p Profile) error { a.ps = append(a.ps, p); return nil })
		return a
	case 5:
		a := readAnswer{what: "EachUnionKey"}
		a.err = s.EachUnionKey(func(u, ap, o string) error { a.keys = append(a.keys, unionEntry{u, ap, o}); return nil })
		return a
	}
	got, _, err := s.App(app)
	return readAnswer{what: "App", app: app, counts: got.Counts, err: err}
}

// entries are the index entries of the model m (formers too: Person),
// kept for m.
func (h *modelHarness) entries(m map[string]map[string]Profile, formers bool) map[unionEntry]bool {
	key := fmt.Sprintf("%p %t", m, formers)
	if e, ok := h.entryCache[key]; ok {
		return e
	}
	out := map[unionEntry]bool{}
	for appid, ps := range m {
		for id, p := range ps {
			if indexed(&p) || formers && former(&p) {
				out[unionEntry{p.UnionID, appid, id}] = true
			}
		}
	}
	if h.entryCache == nil {
		h.entryCache = map[string]map[unionEntry]bool{}
	}
	h.entryCache[key] = out
	return out
}

// checkRead checks an answer read during the syncs against the model
// before and after them.
func (h *modelHarness) checkRead(round int, a readAnswer, before, after map[string]map[string]Profile) {
	where := fmt.Sprintf("round %d: %s(%s %s)", round, a.what, a.app, a.id)
	if a.err != nil {
		h.fatalf("%s: %v", where, a.err)
	}
	// allowed: p is what the model had before or after (nil: none).
	allowed := func(appid, id string, p *Profile) bool {
		for _, m := range []map[string]Profile{before[appid], after[appid]} {
			q, ok := m[id]
			if p == nil && !ok || p != nil && ok && reflect.DeepEqual(normal(appid, *p), q) {
				return true
			}
		}
		return false
	}
	bounds := func(got []unionEntry, u string, formers bool) {
		b, af := h.entries(before, formers), h.entries(after, formers)
		in := map[unionEntry]bool{}
		for _, e := range got {
			if in[e] {
				h.fatalf("%s: %v twice", where, e)
			}
			in[e] = true
			if !b[e] && !af[e] {
				h.fatalf("%s: %v, which the model has neither before the syncs nor after", where, e)
			}
		}
		for e := range b {
			if af[e] && !in[e] && (u == "" || e.u == u) {
				h.fatalf("%s: lacks %v, which the model has before the syncs and after", where, e)
			}
		}
	}
	switch a.what {
	case "Profile":
		var p *Profile
		if len(a.ps) > 0 {
			p = &a.ps[0]
		}
		if !allowed(a.app, a.id, p) {
			h.fatalf("%s = %+v; before %+v, after %+v", where, p, before[a.app][a.id], after[a.app][a.id])
		}
	case "ProfilesOf":
		got := map[string]*Profile{}
		for i := range a.ps {
			got[a.ps[i].OpenID] = &a.ps[i]
		}
		for _, id := range a.ids {
			if !allowed(a.app, id, got[id]) {
				h.fatalf("%s: %s is %+v; before %+v, after %+v", where, id, got[id], before[a.app][id], after[a.app][id])
			}
		}
	case "Members", "EachUnionKey":
		if !slices.IsSortedFunc(a.keys, cmpEntry) {
			h.fatalf("%s: not in order: %v", where, a.keys)
		}
		bounds(a.keys, a.id, false)
	case "Person":
		var keys []unionEntry
		for i := range a.ps {
			p := &a.ps[i]
			if !allowed(p.AppID, p.OpenID, p) {
				h.fatalf("%s: %+v; before %+v, after %+v", where, *p, before[p.AppID][p.OpenID], after[p.AppID][p.OpenID])
			}
			keys = append(keys, unionEntry{a.id, p.AppID, p.OpenID})
		}
		bounds(keys, a.id, true)
		if (len(keys) > 0) != (a.kind == KindUnionID) {
			h.fatalf("%s: a %s with %d profiles", where, a.kind, len(keys))
		}
	case "EachProfile":
		seen := map[string]bool{}
		for i := range a.ps {
			p := &a.ps[i]
			if !allowed(a.app, p.OpenID, p) {
				h.fatalf("%s: %+v; before %+v, after %+v", where, *p, before[a.app][p.OpenID], after[a.app][p.OpenID])
			}
			seen[p.OpenID] = true
		}
		for id := range before[a.app] {
			if !seen[id] {
				h.fatalf("%s lacks %s, cached before the syncs", where, id)
			}
		}
	case "App":
		c := a.counts
		if c.Profiles != c.Subscribed+c.Unfollowed || c.Profiles < int64(len(before[a.app])) || c.WithUnionID > c.Subscribed {
			h.fatalf("%s: counters %+v, with %d profiles before the syncs and %d after", where, c, len(before[a.app]), len(after[a.app]))
		}
	}
}
