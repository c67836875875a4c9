package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/ids"
	"wxscope/sanitize"
	"wxscope/syncer"
	"wxscope/wechat"
	"wxscope/wording"
)

// runLookup shows the person behind an openid or unionid across all apps:
// from the cache, or with --live from the API, trying each app.
//
// Exit status: 0 when the cache (after --live, if asked) knows the id, 1
// when it does not (with a sentence saying what to try), 2 when no id can
// be read from the argument.
func runLookup(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "lookup")
	asJSON := c.fs.Bool("json", false, "print one JSON object instead of text")
	live := c.fs.Bool("live", false, "also ask the API: refresh the person's profiles, or find which app owns an unknown openid")
	rest, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("lookup", "lookup needs an openid or unionid")
	}
	// A line pasted without quotes arrives as several words: the id is read
	// out of all of them.
	line := strings.Join(rest, " ")
	if strings.TrimSpace(line) == "" {
		return usagef("lookup", "the id to look up is empty")
	}
	id, idErr := extractID(line)
	if idErr != nil && len(rest) > 1 {
		return usagef("lookup", "lookup takes one id, but got %d words without one: %s", len(rest), line)
	}
	// A configuration error outranks a malformed id: it blocks every command.
	if err := c.load(); err != nil {
		return err
	}
	cfg := c.cfg
	if idErr != nil {
		return idErr
	}
	refs := appRefs(cfg)

	var store *cache.Store
	var liveRes *liveResult
	if *live {
		if err := requireSecrets(cfg.Apps); err != nil {
			return err
		}
		clients := func(a config.App) (*wechat.Client, error) { return syncer.NewClient(cfg, a, nil, nil) }
		if env.served != nil {
			// Over SSH: the server's store, and its one client (one token)
			// per app.
			store, clients = env.served.store, env.served.syncer.Client
		} else {
			// Shared: a nightly sync in another process keeps going.
			store, err = cache.Open(cfg.Cache, cache.Options{Mode: cache.Shared, Command: "wxscope lookup --live"})
			if err != nil {
				return err
			}
			defer store.Close()
		}
		if liveRes, err = lookupLive(ctx, cfg, store, clients, refs, id); err != nil {
			return err
		}
	} else {
		if store, err = c.openCache(""); err != nil {
			return err
		}
		if store != nil {
			defer store.Close()
		}
	}

	var p *cache.Person
	if store != nil {
		if p, err = store.Person(id, refs); err != nil {
			return err
		}
	} else {
		p = &cache.Person{Query: id, Kind: cache.KindUnknown}
	}

	lists, err := readMemberLists(store, p)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeLookupJSON(env.Stdout, p, liveRes, lists); err != nil {
			return err
		}
	} else {
		writeLookupText(env.Stdout, p, liveRes, lists)
	}
	if p.Found() {
		return nil
	}
	switch {
	case store == nil:
		return fmt.Errorf("%s is not in the cache: nothing is synced yet; run wxscope sync, or wxscope lookup %s --live to ask the API", id, id)
	case *live:
		return fmt.Errorf("%s is not a follower's openid in any configured app, nor a cached unionid; check the id, or run wxscope sync if it is a unionid", id)
	default:
		return fmt.Errorf("%s is not in the cache; try wxscope lookup %s --live to ask each app's API, or run wxscope sync", id, id)
	}
}

// extractID reads the id out of what support pasted (ids.Pasted); a
// line without exactly one id is bad usage.
func extractID(s string) (string, error) {
	id, err := ids.Pasted(s)
	if err != nil {
		return "", usagef("lookup", "%v", err)
	}
	return id, nil
}

// idLen is the width of an id column.
const idLen = ids.Len

// liveAnswer is what one app's API said about the id.
type liveAnswer struct {
	App    string `json:"app"`
	OpenID string `json:"openid"`
	Result string `json:"result"` // "following", "not following", "40003", or the error
}

// liveResult is what --live did.
type liveResult struct {
	Owner   string       `json:"owner"` // the app whose API knows the openid; "" when none
	Answers []liveAnswer `json:"answers"`
}

// lookupLive asks the API about id and caches what it says. An id the cache
// already knows has its profiles refreshed from their apps; an unknown one
// is tried as an openid of every app at once: the app it belongs to answers,
// the others say 40003.
func lookupLive(ctx context.Context, cfg *config.Config, store *cache.Store, clients func(config.App) (*wechat.Client, error), refs []cache.AppRef, id string) (*liveResult, error) {
	p, err := store.Person(id, refs)
	if err != nil {
		return nil, err
	}
	type ask struct {
		app    config.App
		openid string
	}
	var asks []ask
	// Only official accounts have an API to ask: an imported app's import
	// is its own answer.
	if p.Found() {
		for _, pr := range p.Profiles() {
			if a, ok := cfg.App(nameOf(refs, pr.AppID)); ok && !a.Imported() {
				asks = append(asks, ask{a, pr.OpenID})
			}
		}
	} else {
		for _, a := range cfg.Apps {
			if !a.Imported() {
				asks = append(asks, ask{a, id})
			}
		}
	}
	res := &liveResult{Answers: make([]liveAnswer, len(asks))}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	now := time.Now()
	for i, q := range asks {
		wg.Go(func() {
			ans := liveAnswer{App: q.app.Name, OpenID: q.openid}
			defer func() { res.Answers[i] = ans }()
			client, err := clients(q.app)
			if err == nil {
				var u wechat.User
				u, err = client.UserInfo(ctx, q.openid)
				if err == nil {
					ans.Result = "not following"
					if u.Subscribe == 1 {
						ans.Result = "following"
					}
					err = store.StoreFetched(q.app.AppID, []cache.Profile{syncer.ProfileOf(q.app.AppID, u)}, now)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				if res.Owner == "" {
					res.Owner = q.app.Name
				}
			case errors.Is(err, wechat.ErrInvalidOpenID):
				ans.Result = "40003"
			default:
				ans.Result = err.Error()
				if firstErr == nil {
					firstErr = fmt.Errorf("ask %s's API about %s: %w", q.app.Name, q.openid, err)
				}
			}
		})
	}
	wg.Wait()
	// One app failing for another reason (quota, network) does not hide
	// what the others said, unless nobody answered.
	if res.Owner == "" && firstErr != nil {
		return nil, firstErr
	}
	return res, nil
}

func nameOf(refs []cache.AppRef, appid string) string {
	for _, r := range refs {
		if r.AppID == appid {
			return r.Label()
		}
	}
	return appid
}

// lookupMember is one member in lookup's JSON (docs/design.md contract).
type lookupMember struct {
	App            string   `json:"app"`
	OpenID         string   `json:"openid"`
	Subscribe      int      `json:"subscribe"`
	SubscribeTime  int64    `json:"subscribe_time"`
	SubscribeScene string   `json:"subscribe_scene"`
	Remark         string   `json:"remark"`
	TagIDList      []int64  `json:"tagid_list"`
	Tags           []string `json:"tags"` // the names, in tagid_list order; a deleted tag's number
	Blacklisted    bool     `json:"blacklisted"`
	UnfollowedAt   int64    `json:"unfollowed_at"`
	Status         string   `json:"status"`
	// Additions to the contract: the app's kind, and an imported member's
	// last_seen (0 when unknown, and for official accounts).
	AppKind  string `json:"app_kind"`
	LastSeen int64  `json:"last_seen"`
}

// lookupAbsent says why an app shows no following openid (an addition to
// the contract's fields).
type lookupAbsent struct {
	App    string `json:"app"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

type lookupGuess struct {
	App    string `json:"app"`
	Reason string `json:"reason"`
}

type lookupJSON struct {
	Query   string         `json:"query"`
	Kind    string         `json:"kind"`
	UnionID string         `json:"unionid"`
	Members []lookupMember `json:"members"`
	Missing []string       `json:"missing"`
	Guess   *lookupGuess   `json:"guess,omitempty"`
	Absent  []lookupAbsent `json:"absent"`
	Live    *liveResult    `json:"live,omitempty"`
}

func writeLookupJSON(w io.Writer, p *cache.Person, live *liveResult, lists *memberLists) error {
	out := lookupJSON{Query: p.Query, Kind: string(p.Kind), UnionID: p.UnionID,
		Members: []lookupMember{}, Missing: []string{}, Absent: []lookupAbsent{}, Live: live}
	for i, a := range p.Apps {
		for j, pr := range a.Profiles {
			m := lookupMember{App: a.Label(), OpenID: pr.OpenID, SubscribeTime: pr.SubscribeTime,
				SubscribeScene: pr.SubscribeScene, Remark: pr.Remark, TagIDList: pr.TagIDs,
				Tags: lists.names(&pr), Blacklisted: lists.blacklisted(&pr),
				UnfollowedAt: pr.UnfollowedAt, Status: string(cache.StatusOf(&pr)), AppKind: a.Kind}
			if j < len(a.LastSeen) {
				m.LastSeen = a.LastSeen[j]
			}
			if pr.Subscribed {
				m.Subscribe = 1
			}
			if m.TagIDList == nil {
				m.TagIDList = []int64{}
			}
			out.Members = append(out.Members, m)
		}
		if a.Reason != cache.ReasonNone {
			out.Absent = append(out.Absent, lookupAbsent{App: a.Label(), Reason: string(a.Reason), Detail: wording.Absence(wording.CLI, p, i)})
		}
	}
	for _, appid := range p.Missing {
		out.Missing = append(out.Missing, nameOfPerson(p, appid))
	}
	if p.Guess != nil {
		out.Guess = &lookupGuess{App: p.Guess.App, Reason: wording.Guess(p.Guess)}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func nameOfPerson(p *cache.Person, appid string) string {
	for _, a := range p.Apps {
		if a.AppID == appid {
			return a.Label()
		}
	}
	return appid
}

// writeLookupText draws the person as the Person screen does: one line per
// app, its openid or why there is none. Every id, name, remark and scene
// came from the API or the cache and crosses sanitize.Text (t below).
func writeLookupText(w io.Writer, p *cache.Person, live *liveResult, lists *memberLists) {
	t := sanitize.Text
	if live != nil {
		var said []string
		for _, a := range live.Answers {
			said = append(said, t(a.App)+": "+t(a.Result))
		}
		switch {
		case live.Owner != "":
			fmt.Fprintf(w, "live · %s answered for this id (%s); the answer is cached\n", t(live.Owner), strings.Join(said, ", "))
		case len(said) > 0:
			fmt.Fprintf(w, "live · no app owns this id (%s)\n", strings.Join(said, ", "))
		}
	}
	switch p.Kind {
	case cache.KindUnknown:
		fmt.Fprintf(w, "%s is not in the cache\n", t(p.Query))
		if g := p.Guess; g != nil && g.App != "" {
			fmt.Fprintf(w, "  most likely an openid of %s: %s\n", t(g.App), t(wording.Guess(g)))
		} else if g != nil {
			fmt.Fprintf(w, "  %s\n", t(wording.Guess(g)))
		}
		return
	case cache.KindUnionID:
		fmt.Fprintf(w, "person · unionid %s\n", t(p.UnionID))
	default:
		if p.UnionID != "" {
			fmt.Fprintf(w, "person · openid %s · unionid %s\n", t(p.Query), t(p.UnionID))
		} else {
			fmt.Fprintf(w, "person · openid %s · no unionid\n", t(p.Query))
		}
	}
	width := 0
	for _, a := range p.Apps {
		width = max(width, utf8.RuneCountInString(t(a.Label())))
	}
	for i, a := range p.Apps {
		name := t(a.Label())
		pad := strings.Repeat(" ", width-utf8.RuneCountInString(name))
		for j, pr := range a.Profiles {
			line := profileLine(&pr, lists)
			if !a.IsOfficial() {
				var seen int64
				if j < len(a.LastSeen) {
					seen = a.LastSeen[j]
				}
				line = memberLine(a.Kind, &pr, seen)
			}
			fmt.Fprintf(w, "  %s%s  %s  %s\n", name, pad, t(pr.OpenID), t(line))
		}
		if len(a.Profiles) == 0 {
			fmt.Fprintf(w, "  %s%s  %-*s  %s\n", name, pad, idLen, "—", t(wording.Absence(wording.CLI, p, i)))
		}
	}
	if len(p.Missing) > 0 {
		var names []string
		for _, id := range p.Missing {
			names = append(names, t(nameOfPerson(p, id)))
		}
		fmt.Fprintf(w, "missing in %s\n", strings.Join(names, ", "))
	}
}

// memberLine is an imported app's member in words: the kind, since when,
// or when it left the import, and when it was last seen.
func memberLine(kind string, pr *cache.Profile, lastSeen int64) string {
	s := wording.Kind(kind) + " member"
	if pr.UnfollowedAt > 0 {
		s = wording.Kind(kind) + ": left its import on " + time.Unix(pr.UnfollowedAt, 0).Format("2006-01-02")
		if pr.SubscribeTime > 0 {
			s += ", had been a member"
		}
	}
	if pr.SubscribeTime > 0 {
		s += " since " + time.Unix(pr.SubscribeTime, 0).Format("2006-01-02 15:04")
	}
	if lastSeen > 0 {
		s += " · last seen " + time.Unix(lastSeen, 0).Format("2006-01-02 15:04")
	}
	return s
}

// profileLine is a profile in words: follow state, time and scene, tags
// by name, blacklisted, remark.
func profileLine(pr *cache.Profile, lists *memberLists) string {
	var b strings.Builder
	since := "following"
	switch cache.StatusOf(pr) {
	case cache.StatusNotFollowing:
		return "not following (the API said so on " + time.Unix(pr.FetchedAt, 0).Format("2006-01-02") + ")"
	case cache.StatusUnfollowed:
		since = "unfollowed"
		if pr.UnfollowedAt > 0 {
			since += " on " + time.Unix(pr.UnfollowedAt, 0).Format("2006-01-02")
		}
		if pr.SubscribeTime > 0 {
			since += ", had followed"
		}
	}
	b.WriteString(since)
	if pr.SubscribeTime > 0 {
		b.WriteString(" since " + time.Unix(pr.SubscribeTime, 0).Format("2006-01-02 15:04"))
	}
	if scene := sceneWords(pr); scene != "" {
		b.WriteString(" (" + scene + ")")
	}
	if len(pr.TagIDs) > 0 {
		tags := lists.names(pr)
		for i, t := range tags {
			tags[i] = sanitize.Text(t) // operator-written, like a remark
		}
		b.WriteString(" · tags " + strings.Join(tags, ", "))
	}
	if lists.blacklisted(pr) {
		b.WriteString(" · blacklisted")
	}
	if pr.Remark != "" {
		b.WriteString(` · remark "` + sanitize.Text(pr.Remark) + `"`)
	}
	return b.String()
}

func sceneWords(pr *cache.Profile) string {
	s := sanitize.Text(strings.TrimPrefix(pr.SubscribeScene, "ADD_SCENE_"))
	switch {
	case pr.QRScene != 0:
		s += fmt.Sprintf(", scene %d", pr.QRScene)
	case pr.QRSceneStr != "":
		s += ", scene " + strconv.Quote(sanitize.Text(pr.QRSceneStr))
	}
	return s
}
