package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"wxscope/wechat/wechattest"
)

// linkTestWorld: news and shop on open platform P1, events not bound,
// legacy on P2. Small enough to sync in well under a second.
func linkTestWorld() *wechattest.World {
	return wechattest.NewWorld(wechattest.WorldSpec{Seed: 11, Persons: 600, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 300},
		{Name: "shop", Platform: "P1", Followers: 240},
		{Name: "events", Followers: 120},
		{Name: "legacy", Platform: "P2", Followers: 90},
	}})
}

// newSyncedLinkSetup is the world synced into a fresh cache with the real
// sync command.
func newSyncedLinkSetup(t *testing.T) *simSetup {
	t.Helper()
	s := newSimSetup(t, linkTestWorld(), "")
	s.mustSync(t)
	return s
}

type linkLine struct {
	UnionID   string              `json:"unionid"`
	Members   map[string]string   `json:"members"`
	Missing   []string            `json:"missing"`
	Conflicts map[string][]string `json:"conflicts"`
}

// worldGroups is the truth: unionid → app name → openid, and the bound apps.
func worldGroups(w *wechattest.World) (map[string]map[string]string, []string) {
	groups := map[string]map[string]string{}
	var bound []string
	for _, a := range w.Apps() {
		worldPlatform[a.Name] = a.Platform
		for _, id := range w.Followers(a.AppID) {
			u, _ := w.User(a.AppID, id)
			if u.UnionID == "" {
				continue
			}
			if !slices.Contains(bound, a.Name) {
				bound = append(bound, a.Name)
			}
			if groups[u.UnionID] == nil {
				groups[u.UnionID] = map[string]string{}
			}
			groups[u.UnionID][a.Name] = id
		}
	}
	return groups, bound
}

// worldPlatform is the world's platform of each app, as worldGroups saw it.
var worldPlatform = map[string]string{}

// wantMissing are the bound apps of the person's platform (that of its
// members' apps) it has no member in: in an app of another platform it
// has another unionid, so it is not missing there.
func wantMissing(bound []string, members map[string]string) []string {
	home := ""
	for app := range members {
		home = worldPlatform[app]
	}
	out := []string{}
	for _, b := range bound {
		if _, ok := members[b]; !ok && worldPlatform[b] == home {
			out = append(out, b)
		}
	}
	return out
}

func TestLinksJSONLinesAreEveryPersonOfTheWorldInUnionIDOrder(t *testing.T) {
	s := newSyncedLinkSetup(t)
	groups, bound := worldGroups(s.world)
	if !slices.Equal(bound, []string{"news", "shop", "legacy"}) {
		t.Fatalf("world bound apps %v", bound)
	}
	r := s.run(context.Background(), "links", "--format", "jsonl")
	if r.code != 0 {
		t.Fatalf("links: exit %d, stderr %s", r.code, r.stderr)
	}
	var prev string
	n := 0
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var l linkLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		n++
		if l.UnionID <= prev {
			t.Errorf("%s after %s: not in unionid order", l.UnionID, prev)
		}
		prev = l.UnionID
		want := groups[l.UnionID]
		if !maps.Equal(l.Members, want) {
			t.Errorf("%s: members %v, want %v", l.UnionID, l.Members, want)
		}
		if w := wantMissing(bound, want); !slices.Equal(l.Missing, w) {
			t.Errorf("%s: missing %v, want %v", l.UnionID, l.Missing, w)
		}
	}
	if n != len(groups) {
		t.Errorf("%d lines, the world has %d persons", n, len(groups))
	}
}

func TestLinksMissingFiltersAndEveryFormatAgrees(t *testing.T) {
	s := newSyncedLinkSetup(t)
	groups, bound := worldGroups(s.world)
	var want []string
	for u, m := range groups {
		if slices.Contains(wantMissing(bound, m), "shop") {
			want = append(want, u)
		}
	}
	sort.Strings(want)

	r := s.run(context.Background(), "links", "--missing", "shop", "--format", "jsonl")
	var got []string
	for line := range strings.Lines(r.stdout) {
		var l linkLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		got = append(got, l.UnionID)
	}
	if r.code != 0 || !slices.Equal(got, want) {
		t.Fatalf("--missing shop: exit %d, %d unionids, want %d", r.code, len(got), len(want))
	}

	r = s.run(context.Background(), "links", "--missing", "shop", "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || r.code != 0 {
		t.Fatalf("csv: exit %d, %v", r.code, err)
	}
	if !slices.Equal(rows[0], []string{"unionid", "news", "shop", "events", "legacy", "missing"}) || len(rows)-1 != len(want) {
		t.Errorf("csv header %v and %d rows, want %d", rows[0], len(rows)-1, len(want))
	}
	for _, row := range rows[1:] {
		if row[2] != "" || !strings.Contains(row[5], "shop") || groups[row[0]]["news"] != row[1] {
			t.Errorf("csv row %v disagrees with the world", row)
		}
	}

	r = s.run(context.Background(), "links", "--missing", "shop")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || !strings.HasPrefix(lines[0], "unionid") || strings.Contains(lines[0], "events") {
		t.Fatalf("table header %q (events is not bound and has no column)", lines[0])
	}
	for _, u := range want[:3] {
		// Ids are shown whole.
		if !strings.Contains(r.stdout, u) || !strings.Contains(r.stdout, groups[u]["news"]) {
			t.Errorf("table lacks %s or its news openid", u)
		}
	}
	if !strings.Contains(r.stdout, "not shown: events") {
		t.Errorf("table does not say events is left out:\n%s", lines[len(lines)-1])
	}

	// Nobody can be missing in an unbound app; the command says why.
	r = s.run(context.Background(), "links", "--missing", "events", "--format", "jsonl")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "events is not bound") {
		t.Errorf("--missing events: exit %d, stdout %d bytes, stderr %q", r.code, len(r.stdout), r.stderr)
	}
}

type lookupOut struct {
	Query   string `json:"query"`
	Kind    string `json:"kind"`
	UnionID string `json:"unionid"`
	Members []struct {
		App          string  `json:"app"`
		OpenID       string  `json:"openid"`
		Subscribe    int     `json:"subscribe"`
		Time         int64   `json:"subscribe_time"`
		Scene        string  `json:"subscribe_scene"`
		Remark       string  `json:"remark"`
		Tags         []int64 `json:"tagid_list"`
		UnfollowedAt int64   `json:"unfollowed_at"`
		Status       string  `json:"status"`
	} `json:"members"`
	Missing []string `json:"missing"`
	Guess   *struct {
		App    string `json:"app"`
		Reason string `json:"reason"`
	} `json:"guess"`
	Absent []struct {
		App    string `json:"app"`
		Reason string `json:"reason"`
	} `json:"absent"`
}

func decodeLookup(t *testing.T, r result) lookupOut {
	t.Helper()
	var out lookupOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("lookup --json output %q: %v (stderr %s)", r.stdout, err, r.stderr)
	}
	return out
}

// personInBoth is a world person following news and shop.
func personInBoth(t *testing.T, s *simSetup) (newsID, shopID, union string) {
	t.Helper()
	groups, _ := worldGroups(s.world)
	var us []string
	for u, m := range groups {
		if m["news"] != "" && m["shop"] != "" {
			us = append(us, u)
		}
	}
	sort.Strings(us)
	return groups[us[0]]["news"], groups[us[0]]["shop"], us[0]
}

func TestLookupOfATicketLineShowsThePersonsOtherOpenIDs(t *testing.T) {
	s := newSyncedLinkSetup(t)
	newsID, shopID, union := personInBoth(t, s)
	for _, line := range []string{
		"openid: '" + newsID + "'",
		"[openid=" + newsID + "]",
		`  "` + newsID + `"  `,
	} {
		r := s.run(context.Background(), "lookup", line)
		if r.code != 0 {
			t.Fatalf("lookup %q: exit %d, stderr %s", line, r.code, r.stderr)
		}
		for _, want := range []string{union, newsID, shopID, "events is not bound", "legacy is bound to another open platform (P2)", "not counted as missing there"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("lookup %q lacks %q:\n%s", line, want, r.stdout)
			}
		}
	}
	// Unquoted, the line arrives as several arguments.
	r := s.run(context.Background(), "lookup", "openid:", newsID, "--json")
	out := decodeLookup(t, r)
	if r.code != 0 || out.Kind != "openid" || out.Query != newsID || out.UnionID != union {
		t.Fatalf("json: exit %d, %+v", r.code, out)
	}
	var apps []string
	for _, m := range out.Members {
		apps = append(apps, m.App+"="+m.OpenID)
		if m.Status != "following" || m.Subscribe != 1 || m.Time == 0 || m.Tags == nil {
			t.Errorf("member %+v", m)
		}
	}
	// legacy is on another platform: the person is not missing there.
	if !slices.Equal(apps, []string{"news=" + newsID, "shop=" + shopID}) || len(out.Missing) != 0 {
		t.Errorf("members %v missing %v, want news and shop, missing nowhere", apps, out.Missing)
	}
	if out.Guess != nil {
		t.Errorf("a cached openid got a guess: %+v", out.Guess)
	}

	// By unionid: the same person.
	r = s.run(context.Background(), "lookup", union, "--json")
	byUnion := decodeLookup(t, r)
	if r.code != 0 || byUnion.Kind != "unionid" || len(byUnion.Members) != 2 || !slices.Equal(byUnion.Missing, out.Missing) {
		t.Errorf("by unionid: exit %d %+v", r.code, byUnion)
	}
}

func TestLookupOfAnUnknownOpenIDGuessesItsAppAndLiveFindsAndCachesIt(t *testing.T) {
	s := newSyncedLinkSetup(t)
	shop := s.app(t, "shop")
	news := s.app(t, "news")
	// A news follower who joined after the sync: not in the cache yet.
	id := s.world.Follow(news.AppID, 1)[0]
	_ = shop

	r := s.run(context.Background(), "lookup", id, "--json")
	out := decodeLookup(t, r)
	if r.code != 1 || out.Kind != "unknown" || out.Guess == nil || out.Guess.App != "news" {
		t.Fatalf("unknown openid: exit %d, %+v", r.code, out)
	}
	if !strings.Contains(r.stderr, "--live") || !strings.Contains(r.stderr, "wxscope sync") {
		t.Errorf("stderr %q does not say what to try", r.stderr)
	}

	r = s.run(context.Background(), "lookup", id, "--live")
	if r.code != 0 || !strings.Contains(r.stdout, "news answered") || !strings.Contains(r.stdout, "shop: 40003") {
		t.Fatalf("--live: exit %d\n%s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	// Cached: found without --live now.
	r = s.run(context.Background(), "lookup", id, "--json")
	out = decodeLookup(t, r)
	if r.code != 0 || out.Kind != "openid" || len(out.Members) == 0 || out.Members[0].App != "news" {
		t.Errorf("after --live: exit %d %+v", r.code, out)
	}
}

func TestLookupExitCodesForMalformedAndUnknownIDs(t *testing.T) {
	s := newSyncedLinkSetup(t)
	for _, tt := range []struct {
		arg  string
		code int
	}{
		{"hello", 2},
		{"oShort123", 2},
		{"openid: ''", 2},
		{"oBAD" + strings.Repeat("x", 24), 1},
	} {
		r := s.run(context.Background(), "lookup", tt.arg)
		if r.code != tt.code || r.stderr == "" {
			t.Errorf("lookup %q: exit %d, want %d; stderr %q", tt.arg, r.code, tt.code, r.stderr)
		}
	}
}

func TestLookupShowsAnUnfollowerWithItsDate(t *testing.T) {
	s := newSyncedLinkSetup(t)
	newsID, shopID, _ := personInBoth(t, s)
	news := s.app(t, "news")
	if err := s.world.Unfollow(news.AppID, newsID); err != nil {
		t.Fatal(err)
	}
	s.mustSync(t, "--app", "news")
	r := s.run(context.Background(), "lookup", newsID, "--json")
	out := decodeLookup(t, r)
	if r.code != 0 || len(out.Members) != 2 {
		t.Fatalf("exit %d %+v", r.code, out)
	}
	m := out.Members[0]
	if m.App != "news" || m.Status != "unfollowed" || m.UnfollowedAt == 0 || out.Members[1].OpenID != shopID {
		t.Errorf("members %+v", out.Members)
	}
	if !slices.Contains(out.Missing, "news") {
		t.Errorf("missing %v: the person left news", out.Missing)
	}
	r = s.run(context.Background(), "lookup", newsID)
	if !strings.Contains(r.stdout, "unfollowed on ") {
		t.Errorf("text lacks the unfollow date:\n%s", r.stdout)
	}
}

type doctorOut struct {
	Apps []struct {
		App         string `json:"app"`
		Followers   int64  `json:"followers"`
		Cached      int64  `json:"cached"`
		Subscribed  int64  `json:"subscribed"`
		WithUnionID int64  `json:"with_unionid"`
		Bound       bool   `json:"bound"`
	} `json:"apps"`
	Pairs []struct {
		A, B   string
		Shared int64
	} `json:"pairs"`
	Findings []struct {
		Kind   string   `json:"kind"`
		Apps   []string `json:"apps"`
		Count  int64    `json:"count"`
		Detail string   `json:"detail"`
	} `json:"findings"`
}

func TestDoctorFindsTheUnboundAppAndTheSeparatePlatform(t *testing.T) {
	s := newSyncedLinkSetup(t)
	groups, _ := worldGroups(s.world)
	r := s.run(context.Background(), "doctor", "--json")
	if r.code != 0 {
		t.Fatalf("doctor: exit %d, stderr %s", r.code, r.stderr)
	}
	var out doctorOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Apps {
		info := s.app(t, a.App)
		n := int64(len(s.world.Followers(info.AppID)))
		if a.Followers != n || a.Cached != n || a.Subscribed != n || a.Bound != (info.Platform != "") ||
			(a.Bound && a.WithUnionID != n) || (!a.Bound && a.WithUnionID != 0) {
			t.Errorf("app %+v, world %d followers on platform %q", a, n, info.Platform)
		}
	}
	if len(out.Pairs) != 6 {
		t.Errorf("%d pairs, want 6", len(out.Pairs))
	}
	for _, p := range out.Pairs {
		var want int64
		for _, m := range groups {
			if m[p.A] != "" && m[p.B] != "" {
				want++
			}
		}
		if p.Shared != want {
			t.Errorf("pair %s/%s shared %d, want %d", p.A, p.B, p.Shared, want)
		}
	}
	var kinds []string
	for _, f := range out.Findings {
		kinds = append(kinds, f.Kind+":"+strings.Join(f.Apps, ","))
	}
	want := []string{"unbound_app:events", "separate_platform:legacy,news", "separate_platform:legacy,shop"}
	if !slices.Equal(kinds, want) {
		t.Errorf("findings %v, want %v", kinds, want)
	}
	if d := out.Findings[0].Detail; d != "events: none of 120 followers carries a unionid — bind events to the open platform account that news and shop use (开放平台 open.weixin.qq.com → 管理中心 → 公众号)" {
		t.Errorf("unbound detail %q", d)
	}

	r = s.run(context.Background(), "doctor")
	for _, want := range []string{"3 findings", "unbound_app", "→ bind events to the open platform account that news and shop use", "legacy ↔ shop", "(not bound)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor text lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestCommandsWithoutACacheSayWhatToDo(t *testing.T) {
	s := newSimSetup(t, linkTestWorld(), "")
	r := s.run(context.Background(), "doctor", "--json")
	var out doctorOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
		t.Fatalf("doctor without a cache: exit %d, %v", r.code, err)
	}
	if len(out.Findings) != 4 || out.Findings[0].Kind != "incomplete" || !strings.Contains(out.Findings[0].Detail, "never synced") {
		t.Errorf("findings %+v, want four apps never synced", out.Findings)
	}
	r = s.run(context.Background(), "links")
	if r.code != 1 || !strings.Contains(r.stderr, "wxscope sync") {
		t.Errorf("links: exit %d stderr %q", r.code, r.stderr)
	}
	r = s.run(context.Background(), "lookup", "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", "--json")
	if out := decodeLookup(t, r); r.code != 1 || out.Kind != "unknown" || !strings.Contains(r.stderr, "wxscope sync") {
		t.Errorf("lookup: exit %d %+v stderr %q", r.code, out, r.stderr)
	}
}

func TestExtractIDReadsTicketLinesAndCallsTheRestBadUsage(t *testing.T) {
	const id = "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i"
	if got, err := extractID("openid: '" + id + "'"); err != nil || got != id {
		t.Errorf("extractID = %q, %v", got, err)
	}
	for _, in := range []string{"", "hello", id[:27], id + "x", id + " oSp7vQ7hJ2kL9mN4bV6cX8zA1sD3"} {
		var u *usageError
		if got, err := extractID(in); !errors.As(err, &u) {
			t.Errorf("extractID(%q) = %q, %v; want a usage error", in, got, err)
		}
	}
}
