package cache

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Link analysis: who is the same person across apps, which apps are bound
// to an open platform, and which to the same one.
//
// Definitions (docs/design.md, "The links"):
//
//   - A person is a non-empty unionid; its members are the cached (app,
//     openid) pairs that carry it and still follow. Profiles of people who
//     unfollowed keep the unionid they had (the API stops sending it), but
//     they are history, not members: they are not in the unionid index, a
//     group never lists them and they do not count in overlaps. Person shows
//     them beside the members with the status "unfollowed", so support still
//     sees the history.
//   - An app is bound when any of its subscribed followers (or current
//     import rows) carries a unionid (read from the counters kept at write
//     time: no scan). Every kind of app joins the links the same way: a mini
//     program's, an app's or a website's imported members are members like
//     an official account's followers.
//   - Platform labels P1, P2 … name the groups of bound apps that share
//     unionids, largest first: by the members with a unionid of their apps
//     (ties in the order of the apps given). The API never says which open
//     platform an app is bound to, so two bound apps that share no follower
//     get different labels.
//   - A person is missing in app X when X is bound, X is on the person's
//     platform (that of the apps it is a member of) and the person has no
//     following member in X. A person of P2 is never missing in a P1 app:
//     there the same human has another unionid, which nobody can see.
//     Person says why an app has no member (another platform, not
//     following, unfollowed, not synced).

// AppRef names one app for the analysis: its appid, the short label shown
// for it and its kind.
type AppRef struct {
	AppID string
	Name  string
	// Kind is the app's kind as configured: "official" (or ""),
	// "miniprogram", "mobile" or "web". Left empty, an app whose members
	// were imported takes the kind of its last import.
	Kind string
}

// Official kind: an AppRef's Kind for an official account.
const KindOfficial = "official"

// IsOfficial reports whether the app is an official account, whose
// followers come from the API (an empty Kind is one).
func (a AppRef) IsOfficial() bool { return a.Kind == "" || a.Kind == KindOfficial }

// Label is the app's name, or its appid when it has none.
func (a AppRef) Label() string {
	if a.Name != "" {
		return a.Name
	}
	return a.AppID
}

// MaxLinkedApps is the most apps one analysis handles. An open platform
// binds at most 60 official accounts, so this is no limit in practice.
const MaxLinkedApps = 64

// AppLinks is one app as the link analysis sees it.
type AppLinks struct {
	AppRef
	// InCache is false when the cache has never seen the app (never synced).
	InCache bool
	Counts  Counts
	Sync    SyncState
	// Bound: some subscribed follower carries a unionid.
	Bound bool
	// Platform is the label (P1, P2 …) of the apps this one shares
	// unionids with; "" when not bound.
	Platform string
	// Persons is how many distinct unionids have a member here.
	Persons int64
	// Missing is how many persons of this app's platform have no member
	// here (bound apps only): those who could be here under the same
	// unionid.
	Missing int64
	// OtherPlatforms is how many persons of other platforms have no member
	// here: not counted as missing, since there they have another unionid.
	OtherPlatforms int64
	// Conflicts is how many unionids have two or more openids here.
	Conflicts int64
}

// Synced reports whether a listing of the app ever completed.
func (a *AppLinks) Synced() bool { return !a.Sync.LastCompleteAt.IsZero() }

// Pair is the overlap of two apps: the persons with members in both. A and
// B index Links.Apps, A < B.
type Pair struct {
	A, B   int
	Shared int64
}

// Links is the result of Analyze.
type Links struct {
	Apps []AppLinks
	// Persons is the number of distinct unionids with a member in Apps.
	Persons int64
	// InOneApp counts the persons with members in one app only.
	InOneApp int64
	// Pairs holds every pair of Apps, in order (0,1), (0,2) … (1,2) ….
	Pairs []Pair
	// Findings are what doctor reports, most serious first.
	Findings []Finding
	// At is the time the analysis judged staleness against.
	At time.Time

	shared [][]int64
}

// Shared returns the persons shared by Apps[i] and Apps[j] (Apps[i].Persons
// when i == j).
func (l *Links) Shared(i, j int) int64 { return l.shared[i][j] }

// Index returns the position of appid in Apps, or -1.
func (l *Links) Index(appid string) int {
	for i := range l.Apps {
		if l.Apps[i].AppID == appid {
			return i
		}
	}
	return -1
}

// FindingKind names a kind of finding; the values are part of doctor's
// JSON contract.
type FindingKind string

// The kinds of findings, as docs/design.md names them.
const (
	// UnboundApp: no follower of the app carries a unionid.
	UnboundApp FindingKind = "unbound_app"
	// SeparatePlatform: two bound apps with many followers share no person.
	SeparatePlatform FindingKind = "separate_platform"
	// NoUnionID: subscribed followers of a bound app without a unionid.
	NoUnionID FindingKind = "no_unionid"
	// Conflict: one unionid with two or more openids in one app.
	Conflict FindingKind = "conflict"
	// Stale: the app's last complete sync is older than StaleAfter.
	Stale FindingKind = "stale"
	// Incomplete: the app's sync has not finished (or never ran).
	Incomplete FindingKind = "incomplete"
)

// Finding is one thing doctor reports, as facts: package wording writes
// the sentences (what was seen, what to do) for the command line or the TUI.
type Finding struct {
	Kind FindingKind
	// Apps are the labels of the apps concerned, AppIDs their appids and
	// AppKinds their kinds (AppRef.Kind: "official", "miniprogram" …).
	Apps     []string
	AppIDs   []string
	AppKinds []string
	// Count is the size of the evidence: followers without a unionid
	// (unbound_app, no_unionid), persons of the smaller app that would link
	// once it moves (separate_platform), unionids in conflict, or profiles
	// cached so far (stale, incomplete: 0 is an app never synced).
	Count int64
	// Examples are a few ids behind the finding (openids, or unionids for
	// a conflict), for support to look up.
	Examples []string
	// Note marks a finding that needs no action now (stale).
	Note bool
	// CachePath and Damage, on a damaged finding, name the file and what
	// is wrong with it.
	CachePath, Damage string

	// The facts the finding's sentences rest on; each kind sets those it
	// needs.

	// Of is what Count is out of: the app's subscribed followers
	// (no_unionid), or the persons with a unionid of the larger app
	// (separate_platform).
	Of int64
	// Platforms are the platform labels of Apps, in order
	// (separate_platform).
	Platforms []string
	// BindTo are the apps of the platform most persons are on, the one an
	// unbound app most likely belongs to (unbound_app); nil when no app is
	// bound.
	BindTo []string
	// Synced: a listing of the app has completed (unbound_app).
	Synced bool
	// Stopped: a sync of the app started and has not finished
	// (incomplete). It listed Listed of the Total openids the API last
	// reported (0: not known), stopped because of LastError, and when the
	// daily quota was spent, it resets at QuotaResetAt.
	Stopped      bool
	Listed       int64
	Total        int64
	LastError    string
	QuotaResetAt time.Time
	// SyncedBy, on an incomplete app, is the process syncing it now (its
	// sync lock's holder): the finding is a note that it is under way.
	SyncedBy *Holder
	// Age is how long ago the app's last sync completed (stale).
	Age time.Duration
}

// AnalyzeOptions tune Analyze. The zero value analyses every cached app.
type AnalyzeOptions struct {
	// Apps are the apps to analyse, in display order (the configuration's).
	// An app the cache has never seen is reported as not synced. Index
	// entries of other apps are ignored. Nil means every app in the cache,
	// in appid order, under its stored name.
	Apps []AppRef
	// Now is the time staleness is judged against; time.Now when zero.
	Now time.Time
	// StaleAfter is the age of the last complete sync from which an app is
	// stale; 24 h when zero.
	StaleAfter time.Duration
	// MinSeparate is how many persons each of two bound apps must have
	// before sharing none of them is reported as separate_platform; 20 when
	// zero. Below it, no overlap is what chance gives small apps.
	MinSeparate int64
	// Syncing names, per appid, the process syncing that app now (the sync
	// lock's holder, which the caller reads): its unfinished run is under
	// way, not stopped.
	Syncing map[string]*Holder
}

// DefaultStaleAfter is when doctor calls a cache stale.
const DefaultStaleAfter = 24 * time.Hour

// Analyze reads the app counters and walks the unionid index once (keys
// only, no profile) to group persons across apps, count the overlap of every
// pair, label platforms and collect the findings. It never loads the index
// into memory: each person is reduced to the set of apps it is in, and only
// a histogram of those sets is kept. s may be nil when there is no cache
// file yet: every app is then reported as never synced.
func Analyze(s *Store, opts AnalyzeOptions) (*Links, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	if opts.MinSeparate <= 0 {
		opts.MinSeparate = 20
	}
	apps, err := s.linkApps(opts.Apps)
	if err != nil {
		return nil, err
	}
	l := &Links{Apps: apps, At: opts.Now}
	n := len(apps)

	// One pass over the index: a person is the bit set of its apps.
	parts, err := s.personSets(apps)
	if err != nil {
		return nil, fmt.Errorf("link analysis: %w", err)
	}
	masks := map[uint64]int64{}
	conflicts := make([]conflictSeen, n)
	for _, part := range parts {
		part.each(func(m uint64, c int64) { masks[m] += c })
		for i := range conflicts {
			conflicts[i].count += part.conflicts[i].count
			for _, ex := range part.conflicts[i].examples {
				if len(conflicts[i].examples) < 3 {
					conflicts[i].examples = append(conflicts[i].examples, ex)
				}
			}
		}
	}

	l.shared = make([][]int64, n)
	for i := range l.shared {
		l.shared[i] = make([]int64, n)
	}
	for m, c := range masks {
		l.Persons += c
		if bits.OnesCount64(m) == 1 {
			l.InOneApp += c
		}
		for a := m; a != 0; a &= a - 1 {
			i := bits.TrailingZeros64(a)
			for b := a; b != 0; b &= b - 1 {
				j := bits.TrailingZeros64(b)
				l.shared[i][j] += c
				if i != j {
					l.shared[j][i] += c
				}
			}
		}
	}
	for i := range apps {
		apps[i].Persons = l.shared[i][i]
		apps[i].Conflicts = conflicts[i].count
		for j := i + 1; j < n; j++ {
			l.Pairs = append(l.Pairs, Pair{A: i, B: j, Shared: l.shared[i][j]})
		}
	}
	labelPlatforms(apps, func(i, j int) bool { return l.shared[i][j] > 0 })

	// Missing counts, from the histogram: a person is missing in every
	// bound app of its platform outside its set.
	for m, c := range masks {
		home := apps[bits.TrailingZeros64(m)].Platform
		for i := range apps {
			if !apps[i].Bound || m&(1<<i) != 0 {
				continue
			}
			if apps[i].Platform == home {
				apps[i].Missing += c
			} else {
				apps[i].OtherPlatforms += c
			}
		}
	}

	conflictExamples := make([][]string, n)
	for i := range conflicts {
		conflictExamples[i] = conflicts[i].examples
	}
	l.Findings, err = s.findings(l, opts, conflictExamples)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// conflictSeen is what the walk learned of one app's conflicts: how many
// unionids have two openids or more there, and the first few.
type conflictSeen struct {
	count    int64
	examples []string
}

// personSet is what a walk of part of the unionid index reduces its
// persons to: how many persons each set of apps has (a histogram of the
// masks; bit i for apps[i]), and each app's conflicts.
type personSet struct {
	dense     []int64          // by mask, for up to denseMasks apps
	sparse    map[uint64]int64 // by mask, for more
	conflicts []conflictSeen
}

// denseMasks is the most apps whose masks a personSet counts in a slice
// (2^denseMasks of them) rather than a map.
const denseMasks = 12

func newPersonSet(n int) *personSet {
	p := &personSet{conflicts: make([]conflictSeen, n)}
	if n <= denseMasks {
		p.dense = make([]int64, 1<<n)
	} else {
		p.sparse = map[uint64]int64{}
	}
	return p
}

func (p *personSet) add(mask, dup uint64, unionid []byte) {
	if p.dense != nil {
		p.dense[mask]++
	} else {
		p.sparse[mask]++
	}
	for d := dup; d != 0; d &= d - 1 {
		c := &p.conflicts[bits.TrailingZeros64(d)]
		c.count++
		if len(c.examples) < 3 {
			c.examples = append(c.examples, string(unionid))
		}
	}
}

// each calls fn for every set of apps with persons.
func (p *personSet) each(fn func(mask uint64, persons int64)) {
	for m, c := range p.dense {
		if c > 0 {
			fn(uint64(m), c)
		}
	}
	for m, c := range p.sparse {
		fn(m, c)
	}
}

// personSets walks the unionid indexes of apps (walkUnionsParallel) and
// returns what each range of the walk reduced its persons to, in key
// order. Index entries of other apps are not read.
func (s *Store) personSets(apps []AppLinks) ([]*personSet, error) {
	if s == nil {
		return nil, nil
	}
	ids := make([]string, len(apps))
	var entries int64
	for i := range apps {
		ids[i] = apps[i].AppID
		entries += apps[i].Counts.WithUnionID
	}
	var parts []*personSet
	err := s.walkUnionsParallel(ids, entries, func(i, n int) personSink {
		if parts == nil {
			parts = make([]*personSet, n)
		}
		parts[i] = newPersonSet(len(apps))
		return parts[i].add
	})
	return parts, err
}

// linkApps reads the counters and sync state of the apps to analyse.
func (s *Store) linkApps(refs []AppRef) ([]AppLinks, error) {
	var cached []App
	var imported map[string]ImportInfo
	if s != nil {
		var err error
		if cached, err = s.Apps(); err != nil {
			return nil, err
		}
		if imported, err = s.Imports(); err != nil {
			return nil, err
		}
	}
	if refs == nil {
		for _, a := range cached {
			refs = append(refs, AppRef{AppID: a.AppID, Name: a.Name})
		}
	}
	if len(refs) > MaxLinkedApps {
		return nil, fmt.Errorf("link analysis handles at most %d apps, but %d were given", MaxLinkedApps, len(refs))
	}
	out := make([]AppLinks, len(refs))
	for i, r := range refs {
		out[i].AppRef = r
		for _, a := range cached {
			if a.AppID == r.AppID {
				out[i].InCache = true
				out[i].Counts = a.Counts
				out[i].Sync = a.Sync
				if out[i].Name == "" {
					out[i].Name = a.Name
				}
			}
		}
		if in, ok := imported[r.AppID]; ok && out[i].Kind == "" {
			out[i].Kind = in.Kind
		}
		if out[i].Kind == "" {
			out[i].Kind = KindOfficial
		}
		out[i].Bound = out[i].Counts.WithUnionID > 0
	}
	return out, nil
}

// labelPlatforms names the groups of bound apps that share persons (as told
// by same) P1, P2 …, largest first by the members with a unionid of their
// apps, ties in the order of apps. Analyze and Person (which only samples
// whether two apps share persons) count size the same way, so they agree on
// the labels.
func labelPlatforms(apps []AppLinks, same func(i, j int) bool) {
	parent := make([]int, len(apps))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := range apps {
		for j := i + 1; j < len(apps); j++ {
			if apps[i].Bound && apps[j].Bound && same(i, j) {
				if ri, rj := find(i), find(j); ri != rj {
					parent[max(ri, rj)] = min(ri, rj)
				}
			}
		}
	}
	size := map[int]int64{}
	var roots []int // in the order of their first app
	for i := range apps {
		if !apps[i].Bound {
			continue
		}
		r := find(i)
		if _, ok := size[r]; !ok {
			roots = append(roots, r)
		}
		size[r] += apps[i].Counts.WithUnionID
	}
	slices.SortStableFunc(roots, func(a, b int) int {
		switch {
		case size[a] > size[b]:
			return -1
		case size[a] < size[b]:
			return 1
		}
		return 0
	})
	labels := make(map[int]string, len(roots))
	for k, r := range roots {
		labels[r] = fmt.Sprintf("P%d", k+1)
	}
	for i := range apps {
		if apps[i].Bound {
			apps[i].Platform = labels[find(i)]
		}
	}
}

// findings turns the analysis into doctor's findings, most serious first.
func (s *Store) findings(l *Links, opts AnalyzeOptions, conflictExamples [][]string) ([]Finding, error) {
	apps := l.Apps
	var out []Finding
	// The platform most followers are on is the one to bind others to.
	persons := map[string]int64{}
	main := ""
	for i := range apps {
		if p := apps[i].Platform; p != "" {
			persons[p] += apps[i].Persons
			if main == "" || persons[p] > persons[main] {
				main = p
			}
		}
	}
	var bound []string
	for i := range apps {
		if apps[i].Platform == main && main != "" {
			bound = append(bound, apps[i].Label())
		}
	}
	one := func(kind FindingKind, a *AppLinks, count int64) Finding {
		return Finding{Kind: kind, Apps: []string{a.Label()}, AppIDs: []string{a.AppID}, AppKinds: []string{a.Kind}, Count: count}
	}

	for i := range apps {
		a := &apps[i]
		if a.Bound || a.Counts.Subscribed == 0 {
			continue
		}
		f := one(UnboundApp, a, a.Counts.Subscribed)
		f.BindTo, f.Synced = bound, a.Synced()
		ex, err := s.exampleOpenIDs(a.AppID, 3, func(p *Profile) bool { return active(p) })
		if err != nil {
			return nil, err
		}
		f.Examples = ex
		out = append(out, f)
	}

	for _, p := range l.Pairs {
		a, b := &apps[p.A], &apps[p.B]
		if !a.Bound || !b.Bound || p.Shared > 0 || a.Persons < opts.MinSeparate || b.Persons < opts.MinSeparate {
			continue
		}
		// The smaller app is the one to move, most likely.
		small, big := a, b
		if b.Persons < a.Persons {
			small, big = b, a
		}
		out = append(out, Finding{Kind: SeparatePlatform, Apps: []string{small.Label(), big.Label()},
			AppIDs: []string{small.AppID, big.AppID}, AppKinds: []string{small.Kind, big.Kind}, Count: small.Persons, Of: big.Persons,
			Platforms: []string{small.Platform, big.Platform}})
	}

	for i := range apps {
		a := &apps[i]
		n := a.Counts.Subscribed - a.Counts.WithUnionID
		if !a.Bound || n <= 0 {
			continue
		}
		f := one(NoUnionID, a, n)
		f.Of = a.Counts.Subscribed
		ex, err := s.exampleOpenIDs(a.AppID, 3, func(p *Profile) bool { return active(p) && p.UnionID == "" })
		if err != nil {
			return nil, err
		}
		f.Examples = ex
		out = append(out, f)
	}

	for i := range apps {
		a := &apps[i]
		if a.Conflicts == 0 {
			continue
		}
		f := one(Conflict, a, a.Conflicts)
		f.Examples = conflictExamples[i]
		out = append(out, f)
	}

	for i := range apps {
		a := &apps[i]
		switch {
		case a.Sync.InProgress && opts.Syncing[a.AppID] != nil:
			f := one(Incomplete, a, a.Counts.Profiles)
			f.Note, f.SyncedBy, f.Listed = true, opts.Syncing[a.AppID], a.Sync.Listed
			out = append(out, f)
		case a.Sync.InProgress:
			f := one(Incomplete, a, a.Counts.Profiles)
			f.Stopped, f.Listed, f.Total = true, a.Sync.Listed, a.Sync.Total
			f.LastError, f.QuotaResetAt = a.Sync.LastError, a.Sync.QuotaResetAt
			out = append(out, f)
		case !a.Synced():
			// Never synced (no profile: Count 0), or profiles cached by
			// a sync that never finished.
			out = append(out, one(Incomplete, a, a.Counts.Profiles))
		}
	}

	for i := range apps {
		a := &apps[i]
		if !a.Synced() || a.Sync.InProgress {
			continue
		}
		age := opts.Now.Sub(a.Sync.LastCompleteAt)
		if age < opts.StaleAfter {
			continue
		}
		f := one(Stale, a, a.Counts.Profiles)
		f.Note, f.Age = true, age
		out = append(out, f)
	}
	return out, nil
}

// errEnough stops an iteration early.
var errEnough = errors.New("enough")

// exampleOpenIDs returns up to n openids of appid whose profile matches
// keep, reading profiles in order until it has them.
func (s *Store) exampleOpenIDs(appid string, n int, keep func(*Profile) bool) ([]string, error) {
	var out []string
	err := s.EachProfile(appid, "", func(p Profile) error {
		if keep(&p) {
			out = append(out, p.OpenID)
			if len(out) == n {
				return errEnough
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return out, nil
}

// Group is one person of the unionid index, as EachGroup gives it.
type Group struct {
	UnionID string
	// Members are the following (app, openid) pairs of the person, in the
	// order of the apps given; an app appears twice in a conflict.
	Members []Member
	// Platform is the person's platform: that of its members' apps.
	Platform string
	// Missing are the appids of the bound apps of the person's platform
	// without a member, in order.
	Missing []string
}

// EachGroup streams the persons of the unionid index in unionid order,
// restricted to apps (nil: every cached app), with the apps each is missing
// in. Bound states come from the counters and platforms from sampled
// overlaps, as Person has them; nothing is held in memory but the current
// group. g and its slices are reused: copy what you keep. The iteration
// runs between read transactions, as EachUnionKey's does.
func EachGroup(s *Store, apps []AppRef, fn func(g *Group) error) error {
	la, err := s.linkApps(apps)
	if err != nil {
		return err
	}
	if err := s.samplePlatforms(la); err != nil {
		return err
	}
	ids := make([]string, len(la))
	var entries int64
	for i := range la {
		ids[i] = la[i].AppID
		entries += la[i].Counts.WithUnionID
	}
	var g Group
	return s.walkKeysParallel(ids, entries, func(c *walkedChunk) error {
		for _, p := range c.persons {
			g.UnionID, g.Members = c.arena[p.u0:p.u1], g.Members[:0]
			var have uint64
			for _, m := range c.members[p.m0:p.m1] {
				have |= 1 << m.app
				g.Members = append(g.Members, Member{AppID: ids[m.app], OpenID: c.arena[m.o0:m.o1]})
			}
			// The platforms of the member apps: one, unless a sample
			// missed the overlap that joins two.
			var home uint64
			g.Platform = ""
			for m := have; m != 0; m &= m - 1 {
				i := bits.TrailingZeros64(m)
				if p := la[i].Platform; p != "" {
					if g.Platform == "" {
						g.Platform = p
					}
					for j := range la {
						if la[j].Platform == p {
							home |= 1 << j
						}
					}
				}
			}
			g.Missing = g.Missing[:0]
			for i := range la {
				if la[i].Bound && home&(1<<i) != 0 && have&(1<<i) == 0 {
					g.Missing = append(g.Missing, la[i].AppID)
				}
			}
			if err := fn(&g); err != nil {
				return err
			}
		}
		return nil
	})
}

// samplePlatforms labels the platforms of la from sampled overlaps
// (samePlatform), in one read transaction: what Person and EachGroup use,
// where a full pass over the index (Analyze) would cost too much.
func (s *Store) samplePlatforms(la []AppLinks) error {
	if s == nil {
		labelPlatforms(la, func(int, int) bool { return false })
		return nil
	}
	return s.view(func(tx *bolt.Tx) error {
		labelPlatforms(la, func(i, j int) bool {
			a, b := la[i].AppID, la[j].AppID
			if la[j].Counts.WithUnionID < la[i].Counts.WithUnionID {
				a, b = b, a
			}
			return samePlatform(tx, a, b)
		})
		return nil
	})
}

// samePlatformSample is how many followers with a unionid samePlatform
// reads from the smaller app before deciding two apps share none.
const samePlatformSample = 2000

// samePlatform reports whether bound apps a and b share a person, reading
// up to samePlatformSample followers with a unionid of a and looking each
// up in the index: a few milliseconds, exact for apps smaller than the
// sample. Lookups use it to name platforms without a full analysis.
func samePlatform(tx *bolt.Tx, a, b string) bool {
	r, err := readRows(tx, a)
	if err != nil || r.rows == nil {
		return false
	}
	other, _ := memberIndexes(tx, []byte(b))
	if other.b == nil {
		return false
	}
	var key []byte
	var p Profile
	seen := 0
	c := r.rows.Cursor()
	for k, v := c.First(); k != nil && seen < samePlatformSample; k, v = c.Next() {
		if err := scanRecord(v, &p); err != nil || !indexed(&p) {
			continue
		}
		seen++
		key = memberKey(key[:0], p.UnionID, "")
		if k2, _, ok := other.seek(key).next(); ok && bytes.HasPrefix(k2, key) {
			return true
		}
	}
	return false
}
