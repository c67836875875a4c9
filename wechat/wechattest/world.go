package wechattest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"
)

// AppSpec describes one official account of a World.
type AppSpec struct {
	Name       string // short label, e.g. "news"
	AppID      string // "" → derived from the seed ("wx" + 16 hex)
	Secret     string // "" → derived (32 hex)
	Platform   string // open platform id, e.g. "P1"; "" = not bound (never emits unionid)
	Followers  int    // current followers
	Unfollowed int    // former followers: persons who followed and left
	// Blacklisted is how many of the followers are on the account's
	// blacklist (tags/members/getblacklist); at most Followers.
	Blacklisted int
	// Unverified makes the account one without WeChat verification (认证):
	// the APIs the fact sheet marks "verified accounts only" answer 48001
	// (see the package doc). Default false: a verified account.
	Unverified bool
	// Conflicts is a data fault for the doctor's conflict finding: that
	// many followers of a bound account answer user/info with the unionid
	// of another of its followers, so one unionid has two openids in one
	// account. The real API gives a person one openid per account; a cache
	// meets this when it holds another account's followers under this one
	// (a token_command that printed the wrong app's token, say). At most
	// Followers/2.
	Conflicts int
}

// WorldSpec describes a whole World.
type WorldSpec struct {
	Seed int64
	Apps []AppSpec
	// Imports are the apps that are not official accounts (mini programs,
	// mobile apps, websites): the API knows nothing of them, and the world
	// writes their members' records as exports (WriteImport).
	Imports []ImportSpec
	Persons int // population size; 0 → derived so that apps overlap realistically
	// Today anchors the generated subscribe times: follows spread over the
	// nine years before it. Zero means a fixed day, so tests are
	// reproducible; the demo passes the real date so its charts look current.
	Today time.Time
}

// AppInfo is what a test or the demo needs to configure a client for an app.
type AppInfo struct {
	Name, AppID, Secret, Platform string
	Unverified                    bool // as AppSpec.Unverified, or as SetUnverified last set it
}

// User is the simulator's own truth about one openid: what user/info would
// answer, without the blank legacy fields.
type User struct {
	Subscribe      int
	OpenID         string
	UnionID        string
	SubscribeTime  int64
	Remark         string
	GroupID        int64
	TagIDList      []int64
	SubscribeScene string
	QRScene        int64
	QRSceneStr     string
}

// World is a population of persons and the official accounts they follow.
// It is deterministic from its seed, and safe for concurrent use: servers
// read it while tests mutate it.
//
// Nothing per follower is stored: who follows which app, in which order,
// is derived from the seed (members.go), and openids, unionids and profiles
// from (app, person), on demand. Only what tests change afterwards is kept.
type World struct {
	mu      sync.RWMutex
	seed    int64
	persons uint32
	apps    []*app
	byID    map[string]*app
	imports []*importApp
	now     func() time.Time // for the subscribe_time of Follow; set by the first server
	today   int64            // unix seconds that generated subscribe times lead up to
}

type app struct {
	info      AppInfo // info.Unverified changes under World.mu (SetUnverified)
	ids       *idCodec
	unionIDs  *idCodec // nil when the app is not bound to an open platform
	salt      uint64
	roster    *roster           // who follows, who left, who is blacklisted
	initial   int               // Followers of the spec: the growth history ends there
	followed  map[uint32]int64  // subscribe_time of those who followed through Follow
	remarks   map[uint32]string // remarks set through updateremark
	twins     map[uint32]uint32 // AppSpec.Conflicts: a follower whose answer carries another's unionid
	followSeq uint64

	growthOnce sync.Once
	growth     *growth // built on the first datacube call or Growth
}

// NewWorld generates the world spec describes. It panics on a spec that
// cannot be built (duplicate names or appids, negative counts, a population
// smaller than an app's followers plus unfollowers), as httptest does on
// misuse: these are programming errors in a test.
func NewWorld(spec WorldSpec) *World {
	w := &World{seed: spec.Seed, byID: make(map[string]*app), today: defaultToday}
	if !spec.Today.IsZero() {
		w.today = spec.Today.Unix()
	}
	largest := 0
	for _, as := range spec.Apps {
		if as.Followers < 0 || as.Unfollowed < 0 || as.Blacklisted < 0 {
			panic(fmt.Sprintf("wechattest: app %q: negative follower counts", as.Name))
		}
		if as.Blacklisted > as.Followers {
			panic(fmt.Sprintf("wechattest: app %q: %d blacklisted of %d followers", as.Name, as.Blacklisted, as.Followers))
		}
		if as.Conflicts < 0 || 2*as.Conflicts > as.Followers || as.Conflicts > 0 && as.Platform == "" {
			panic(fmt.Sprintf("wechattest: app %q: %d conflicts of %d followers (at most half, and only when bound)", as.Name, as.Conflicts, as.Followers))
		}
		largest = max(largest, as.Followers+as.Unfollowed)
	}
	for _, is := range spec.Imports {
		largest = max(largest, is.Members)
	}
	persons := spec.Persons
	if persons == 0 {
		// Twice the largest app: two apps of similar size then share about
		// a quarter to a half of their followers, as sister accounts do.
		persons = 2*largest + 16
	}
	if persons < largest {
		panic(fmt.Sprintf("wechattest: %d persons cannot fill an app of %d followers and unfollowers", persons, largest))
	}
	if persons >= 1<<32-1 {
		panic("wechattest: population too large")
	}
	w.persons = uint32(persons)

	platforms := map[string]*idCodec{}
	names := map[string]bool{}
	for i, as := range spec.Apps {
		if names[as.Name] {
			panic(fmt.Sprintf("wechattest: duplicate app name %q", as.Name))
		}
		names[as.Name] = true
		info := AppInfo{Name: as.Name, AppID: as.AppID, Secret: as.Secret, Platform: as.Platform, Unverified: as.Unverified}
		sum := sha256.Sum256(fmt.Appendf(nil, "wechattest/app/%d/%d/%s", spec.Seed, i, as.Name))
		if info.AppID == "" {
			info.AppID = "wx" + hex.EncodeToString(sum[:8])
		}
		if info.Secret == "" {
			info.Secret = hex.EncodeToString(sum[16:32])
		}
		if w.byID[info.AppID] != nil {
			panic(fmt.Sprintf("wechattest: duplicate appid %q", info.AppID))
		}
		a := &app{
			info:     info,
			ids:      newIDCodec(spec.Seed, "openid", info.AppID),
			salt:     salt(spec.Seed, "profile/"+info.AppID),
			followed: map[uint32]int64{},
			remarks:  map[uint32]string{},
			initial:  as.Followers,
		}
		if as.Platform != "" {
			if platforms[as.Platform] == nil {
				platforms[as.Platform] = newIDCodec(spec.Seed, "unionid", as.Platform)
			}
			a.unionIDs = platforms[as.Platform]
		}
		a.roster = newRoster(uint64(persons), salt(spec.Seed, "members/"+info.AppID), as.Followers, as.Unfollowed, as.Blacklisted)
		// The conflicts pair followers from the end of the member order
		// (the blacklist is spread evenly over all of it).
		a.twins = make(map[uint32]uint32, as.Conflicts)
		for j := range as.Conflicts {
			p := uint32(a.roster.members.at(uint64(as.Followers - 1 - 2*j)))
			a.twins[p] = uint32(a.roster.members.at(uint64(as.Followers - 2 - 2*j)))
		}
		w.apps = append(w.apps, a)
		w.byID[info.AppID] = a
	}
	w.addImports(spec, platforms)
	return w
}

// DemoWorld is the world of `wxscope demo` and of most tests: news and shop
// bound to open platform P1 (overlapping followers, same unionids), events
// not bound (no unionids), legacy bound to another platform P2 (different
// unionids for the same persons), each with some former followers and 2% of
// its followers blacklisted. All four are verified. Beside them, two apps
// whose members are imported: the mini program mall, bound to P1 (a tenth
// of its rows recorded before the binding, without unionid), exported as a
// CSV, and the mobile app app, not bound, exported by mysql -B.
func DemoWorld(seed int64, followersPerApp int) *World {
	return NewWorld(DemoSpec(seed, followersPerApp))
}

// DemoSpec is the spec DemoWorld generates, for callers that adjust it
// (the demo sets Today to the real date).
func DemoSpec(seed int64, followersPerApp int) WorldSpec {
	f := followersPerApp
	spec := func(name, platform string, scale float64) AppSpec {
		n := int(float64(f) * scale)
		return AppSpec{Name: name, Platform: platform, Followers: n, Unfollowed: max(n/20, min(n, 3)), Blacklisted: n / 50}
	}
	return WorldSpec{Seed: seed, Apps: []AppSpec{
		spec("news", "P1", 1.0),
		spec("shop", "P1", 0.8),
		spec("events", "", 0.4),
		spec("legacy", "P2", 0.3),
	}, Imports: []ImportSpec{
		{Name: "mall", Kind: "miniprogram", Platform: "P1", Members: f * 6 / 10, BeforeBinding: f * 6 / 100, Format: FormatCSV},
		{Name: "app", Kind: "mobile", Members: f * 3 / 10, Format: FormatTSV},
	}}
}

// Apps lists the world's apps in spec order.
func (w *World) Apps() []AppInfo {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]AppInfo, len(w.apps))
	for i, a := range w.apps {
		out[i] = a.info
	}
	return out
}

// Followers returns the current followers of appid in user/get order.
func (w *World) Followers(appid string) []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if a == nil {
		return nil
	}
	return a.openIDs(a.roster.followerList())
}

// EachFollower calls fn with each current follower of appid in user/get
// order until fn returns false: Followers without holding them all, for
// worlds of millions.
func (w *World) EachFollower(appid string, fn func(openid string) bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if a == nil {
		return
	}
	a.roster.followerList().each(0, true, func(p uint32, _ uint64) bool { return fn(a.ids.encode(p)) })
}

// FollowerCount returns how many current followers appid has, without
// listing them.
func (w *World) FollowerCount(appid string) int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if a == nil {
		return 0
	}
	return a.roster.followerCount()
}

// FormerFollowers returns the openids of persons who followed appid and left.
func (w *World) FormerFollowers(appid string) []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if a == nil {
		return nil
	}
	var out []string
	a.roster.eachFormer(func(p uint32) { out = append(out, a.ids.encode(p)) })
	return out
}

func (a *app) openIDs(l list) []string {
	out := make([]string, 0, l.size)
	l.each(0, true, func(p uint32, _ uint64) bool {
		out = append(out, a.ids.encode(p))
		return true
	})
	return out
}

// lookup decodes openid for app a: the person and whether openid is one
// this app could have issued (well formed, this app's, an existing person).
func (w *World) lookup(a *app, openid string) (uint32, bool) {
	p, ok := a.ids.decode(openid)
	return p, ok && p < w.persons
}

func (a *app) isFollower(p uint32) bool { return a.roster.following(p) }

// User returns what user/info would answer for openid of appid: the full
// profile for a follower (unionid only when the app is bound), only
// Subscribe 0 and the openid for anyone else. It reports false for an
// openid this app never issued (malformed, another app's, unknown app):
// the API answers 40003 there.
func (w *World) User(appid, openid string) (User, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if a == nil {
		return User{}, false
	}
	p, ok := w.lookup(a, openid)
	if !ok {
		return User{}, false
	}
	return w.user(a, p, openid), true
}

// user builds the answer for person p of app a; the caller holds w.mu.
func (w *World) user(a *app, p uint32, openid string) User {
	if !a.isFollower(p) {
		return User{Subscribe: 0, OpenID: openid}
	}
	u := w.derivedUser(a, p, openid)
	if t, ok := a.followed[p]; ok {
		u.SubscribeTime = t
	}
	if r, ok := a.remarks[p]; ok {
		u.Remark = r
	}
	if twin, ok := a.twins[p]; ok && a.unionIDs != nil {
		u.UnionID = a.unionIDs.encode(twin)
	}
	return u
}

// derivedUser is the profile of person p of app a as the seed derives it,
// before the changes a test or the demo made (follow times, remarks,
// twins); the caller holds w.mu.
func (w *World) derivedUser(a *app, p uint32, openid string) User {
	pr := deriveProfile(a.salt, p, w.today)
	u := User{Subscribe: 1, OpenID: openid, SubscribeTime: pr.subscribeTime, Remark: pr.remark, GroupID: pr.groupID,
		TagIDList: slices.Clone(pr.tags), SubscribeScene: pr.scene, QRScene: pr.qrScene, QRSceneStr: pr.qrSceneStr}
	if a.unionIDs != nil {
		u.UnionID = a.unionIDs.encode(p)
	}
	return u
}

// FormerUser returns what user/info answered for openid of appid while
// that former follower still followed: the profile an earlier sync cached
// (the demo's cache starts with some, as a cache synced last week would).
// It reports false for an openid that is not a former follower of appid.
func (w *World) FormerUser(appid, openid string) (User, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if a == nil {
		return User{}, false
	}
	p, ok := w.lookup(a, openid)
	if !ok {
		return User{}, false
	}
	if !a.roster.former(p) {
		return User{}, false
	}
	return w.derivedUser(a, p, openid), true
}

// Unfollow makes openid a former follower of appid.
func (w *World) Unfollow(appid, openid string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.byID[appid]
	if a == nil {
		return fmt.Errorf("wechattest: unfollow: no app with appid %q", appid)
	}
	p, ok := w.lookup(a, openid)
	if !ok {
		return fmt.Errorf("wechattest: unfollow: %q is not an openid of app %s", openid, a.info.Name)
	}
	if !a.isFollower(p) {
		return fmt.Errorf("wechattest: unfollow: %s does not follow app %s", openid, a.info.Name)
	}
	// The blacklist is of followers (❓ the real one may outlive a follow):
	// unfollow takes p off it too.
	a.roster.unfollow(p)
	delete(a.followed, p)
	return nil
}

// Follow adds n followers to appid and returns their openids. Some are
// former followers coming back, some follow other apps already, and when
// the population runs short new persons are born. Their subscribe_time is
// the time of the first server's clock (or the wall clock).
func (w *World) Follow(appid string, n int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.byID[appid]
	if a == nil {
		return nil
	}
	now := time.Now
	if w.now != nil {
		now = w.now
	}
	out := make([]string, 0, n)
	for len(out) < n {
		h := mix(a.salt ^ 0x5bd1e995 ^ a.followSeq)
		a.followSeq++
		var p uint32
		picked := false
		if h%5 == 0 {
			p, picked = a.roster.pickFormer(h >> 8)
		}
		for try := uint64(0); !picked && try < 16; try++ {
			p = uint32(mix(h+try) % uint64(w.persons))
			picked = !a.isFollower(p)
		}
		if !picked {
			if w.persons == 1<<32-2 {
				break // no room for more persons
			}
			p = w.persons
			w.persons++
		}
		// Anywhere in the listing: a place from the hash, between two
		// generated followers.
		a.roster.join(p, mix(h^0x2545f4914f6cdd1d))
		a.followed[p] = now().Unix()
		out = append(out, a.ids.encode(p))
	}
	return out
}

// SetRemark changes the remark of a follower, as updateremark does.
func (w *World) SetRemark(appid, openid, remark string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.byID[appid]
	if a == nil {
		return fmt.Errorf("wechattest: set remark: no app with appid %q", appid)
	}
	p, ok := w.lookup(a, openid)
	if !ok {
		return fmt.Errorf("wechattest: set remark: %q is not an openid of app %s", openid, a.info.Name)
	}
	if !a.isFollower(p) {
		return fmt.Errorf("wechattest: set remark: %s does not follow app %s", openid, a.info.Name)
	}
	a.remarks[p] = remark
	return nil
}

// Person returns the index of the person behind openid of appid, so tests
// can find the same person in another app with OpenID.
func (w *World) Person(appid, openid string) (int, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if a == nil {
		return 0, false
	}
	p, ok := w.lookup(a, openid)
	return int(p), ok
}

// OpenID returns the openid person has (or would have) in appid; "" for an
// unknown app or person.
func (w *World) OpenID(appid string, person int) string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if a == nil || person < 0 || person >= int(w.persons) {
		return ""
	}
	return a.ids.encode(uint32(person))
}

// attachClock lets Follow stamp subscribe times with a server's clock.
func (w *World) attachClock(now func() time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.now == nil {
		w.now = now
	}
}
