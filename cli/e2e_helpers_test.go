package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"wxscope/wechat/wechattest"
)

// simSetup is a simulator serving a world, and a config file pointing at it
// with a fresh cache.
type simSetup struct {
	srv   *wechattest.Server
	world *wechattest.World
	cfg   string            // the config file
	cache string            // the cache file
	vars  map[string]string // the environment: every app's secret
}

// newSimSetup starts a simulator for world and writes a config naming every
// app of it (or only those in only), each with its secret in WX_<NAME>_SECRET.
func newSimSetup(t testing.TB, world *wechattest.World, extra string, opts ...wechattest.Option) *simSetup {
	t.Helper()
	srv := wechattest.NewServer(world, opts...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	s := &simSetup{srv: srv, world: world, cache: filepath.Join(dir, "cache", "wxscope.db"), vars: map[string]string{}}
	var b strings.Builder
	fmt.Fprintf(&b, "cache = %q\napi_base = %q\n%s\n", s.cache, srv.URL, extra)
	for _, a := range world.Apps() {
		env := "WX_" + strings.ToUpper(a.Name) + "_SECRET"
		fmt.Fprintf(&b, "[[app]]\nname = %q\nappid = %q\nsecret_env = %q\n\n", a.Name, a.AppID, env)
		s.vars[env] = a.Secret
	}
	s.cfg = filepath.Join(dir, "config.toml")
	if err := os.WriteFile(s.cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// app returns the world's app named name.
func (s *simSetup) app(t testing.TB, name string) wechattest.AppInfo {
	t.Helper()
	for _, a := range s.world.Apps() {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no app %q in the world", name)
	return wechattest.AppInfo{}
}

// run runs the command line in-process against this setup's config.
func (s *simSetup) run(ctx context.Context, args ...string) result {
	var stdout, stderr bytes.Buffer
	env := &Env{
		Stdin:  strings.NewReader(""),
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(k string) string { return s.vars[k] },
	}
	code := Run(ctx, env, append(args, "--config", s.cfg))
	return result{code, stdout.String(), stderr.String()}
}

// mustSync runs `wxscope sync` and fails the test unless it exits 0.
func (s *simSetup) mustSync(t testing.TB, args ...string) result {
	t.Helper()
	r := s.run(context.Background(), append([]string{"sync"}, args...)...)
	if r.code != 0 {
		t.Fatalf("sync %v: exit %d\nstdout %s\nstderr %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// export runs `wxscope export --format jsonl` and decodes its rows.
func (s *simSetup) export(t testing.TB, args ...string) []exportRow {
	t.Helper()
	r := s.run(context.Background(), append([]string{"export", "--format", "jsonl"}, args...)...)
	if r.code != 0 {
		t.Fatalf("export: exit %d, stderr %s", r.code, r.stderr)
	}
	return decodeRows(t, r.stdout)
}

func decodeRows(t testing.TB, out string) []exportRow {
	t.Helper()
	var rows []exportRow
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r exportRow
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	return rows
}

// checkExport compares exported rows with the world: every current follower
// of each app exactly once, following, with the profile the API gives; every
// other row a former follower marked unfollowed. mustBeGone are openids that
// a complete sync saw and that left since: they must be in the export,
// marked unfollowed.
func checkExport(t testing.TB, rows []exportRow, world *wechattest.World, mustBeGone map[string][]string) {
	t.Helper()
	seen := map[string]bool{}
	type key struct{ appid, openid string }
	rowOf := map[key]exportRow{}
	apps := map[string]wechattest.AppInfo{}
	for _, a := range world.Apps() {
		apps[a.AppID] = a
	}
	problems := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if problems++; problems <= 10 {
			t.Errorf(format, args...)
		}
	}
	for _, r := range rows {
		k := r.AppID + "/" + r.OpenID
		if seen[k] {
			fail("%s exported twice", k)
		}
		seen[k] = true
		rowOf[key{r.AppID, r.OpenID}] = r
		a, ok := apps[r.AppID]
		if !ok || r.App != a.Name {
			fail("row of unknown app %q (%s)", r.App, r.AppID)
		}
	}
	for _, a := range world.Apps() {
		// The tags by name and the blacklist, as the last sync read them.
		names := map[int64]string{}
		for _, tag := range world.Tags(a.AppID) {
			names[tag.ID] = tag.Name
		}
		black := map[string]bool{}
		for _, id := range world.Blacklist(a.AppID) {
			black[id] = true
		}
		following := map[string]bool{}
		for _, id := range world.Followers(a.AppID) {
			following[id] = true
			r, ok := rowOf[key{a.AppID, id}]
			if !ok {
				fail("%s: follower %s not exported", a.Name, id)
				continue
			}
			u, _ := world.User(a.AppID, id)
			tags := u.TagIDList
			if tags == nil {
				tags = []int64{}
			}
			if r.Subscribe != 1 || r.UnfollowedAt != 0 || r.UnionID != u.UnionID || r.Remark != u.Remark ||
				r.SubscribeTime != u.SubscribeTime || r.SubscribeScene != u.SubscribeScene || r.QRScene != u.QRScene ||
				r.QRSceneStr != u.QRSceneStr || r.GroupID != u.GroupID || !slices.Equal(r.TagIDList, tags) || r.FetchedAt == 0 {
				fail("%s: %s exported as %+v, the API says %+v", a.Name, id, r, u)
			}
			wantTags := make([]string, len(tags))
			for i, tid := range tags {
				if wantTags[i] = names[tid]; wantTags[i] == "" || a.Unverified {
					wantTags[i] = strconv.FormatInt(tid, 10) // deleted, or never named (48001)
				}
			}
			if !slices.Equal(r.Tags, wantTags) || r.Blacklisted != black[id] {
				fail("%s: %s exported with tags %q, blacklisted %v; the API names %q, blacklisted %v", a.Name, id, r.Tags, r.Blacklisted, wantTags, black[id])
			}
		}
		for _, r := range rows {
			if r.AppID == a.AppID && !following[r.OpenID] && (r.Subscribe != 0 || r.UnfollowedAt == 0) {
				fail("%s: %s no longer follows but is exported with subscribe %d, unfollowed_at %d", a.Name, r.OpenID, r.Subscribe, r.UnfollowedAt)
			}
		}
		for _, id := range mustBeGone[a.AppID] {
			if r, ok := rowOf[key{a.AppID, id}]; !ok || r.Subscribe != 0 || r.UnfollowedAt == 0 {
				fail("%s: %s left after a complete sync saw it, but is exported as %+v (present %v)", a.Name, id, r, ok)
			}
		}
	}
	if problems > 10 {
		t.Errorf("... and %d more problems", problems-10)
	}
}
