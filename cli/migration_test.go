package cli

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"wxscope/wechat/wechattest"
)

// The schema 2 → 3 migration of the cache, black box: a cache that wxscope
// of the schema 2 layout (main before issue 12, the commit in the answers)
// wrote over a realistic history, and the answers that binary gave from
// it, are in testdata/migration. This binary must migrate that cache, be
// killed at any moment while it does, and then give the same answers
// byte for byte, report no damage, and resume the sync the old binary was
// killed in, fetching exactly what the old binary fetched when it resumed.
//
// The fixture is committed so that the test needs neither git nor the old
// source: once this branch is merged, main is no longer a schema 2 wxscope.
// Regenerate it (from main, or the commit in WXSCOPE_MIGRATION_OLD) with
//
//	WXSCOPE_MIGRATION_FIXTURE=write go test -run TestMigrationFromMainKeepsEveryAnswer ./cli/
//
// and WXSCOPE_LONG=1 runs the history live as well, old binary and new
// side by side (skipped without git or a schema 2 main).

const migrationFixtureDir = "testdata/migration"

// migrationT0 is the simulator's clock at the start of the history: the
// subscribe_time of the followers the history adds, the quota days.
var migrationT0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

func migrationWorldSpec() wechattest.WorldSpec {
	return wechattest.WorldSpec{Seed: 20261125, Today: migrationT0, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 420, Unfollowed: 30, Blacklisted: 15},
		{Name: "shop", Platform: "P1", Followers: 300, Unfollowed: 20, Blacklisted: 5, Conflicts: 3},
		{Name: "events", Followers: 150, Unfollowed: 10}, // not bound: no unionids
		{Name: "legacy", Platform: "P2", Followers: 120, Unfollowed: 10},
	}, Imports: []wechattest.ImportSpec{
		{Name: "mall", Kind: "miniprogram", Platform: "P1", Members: 250, BeforeBinding: 25, Format: wechattest.FormatCSV},
		{Name: "app", Kind: "mobile", Members: 100, Format: wechattest.FormatTSV},
	}}
}

// commandAnswer is what one run of the binary printed.
type commandAnswer struct {
	Args   []string
	Code   int
	Stdout string
	Stderr string
}

// migrationAnswers is what the old binary answered, recorded with the
// cache it wrote (schema2.db.gz) in answers.json.gz.
type migrationAnswers struct {
	OldCommit string // the schema 2 source the old binary was built from
	World     string // fingerprint of the simulator's world at the end of the history
	// Reads are the read commands' answers from the cache as the history
	// left it, a sync killed mid-run among it.
	Reads []commandAnswer
	// Growth is `growth --days 14` of the history, and the China date it ran.
	Growth     commandAnswer
	GrowthDate string
	// Resume is the old binary's next sync on that cache, ResumeStart when
	// it began (every time it wrote is after), ResumeFetched the openids it
	// asked user/info/batchget for, and AfterResume the answers after it.
	Resume        commandAnswer
	ResumeStart   int64
	ResumeFetched []string
	AfterResume   []commandAnswer
	// NextBatchCalls is how many batchget calls the sync after that made:
	// nothing had changed.
	NextBatchCalls int
}

// migrationSim is a simulator of the migration's world and the configs of
// a cache beside it.
type migrationSim struct {
	srv     *wechattest.Server
	world   *wechattest.World
	clock   *wechattest.Clock
	dir     string
	cache   string
	cfg     string // max_age far beyond the test: a sync fetches what it has not got
	refresh string // max_age 0s: a sync refetches every profile
	vars    map[string]string

	mu      sync.Mutex
	fetched []string // openids batchget was asked for, while logging
	logging bool
	leftOut string // an openid batchget's answers leave out

	joined []string    // who followed events in step 2
	left   [][2]string // appid and openid of a follower of each app who left in step 1
}

func newMigrationSim(t *testing.T, dir string) *migrationSim {
	t.Helper()
	m := &migrationSim{dir: dir, cache: filepath.Join(dir, "cache", "wxscope.db"), vars: map[string]string{},
		world: wechattest.NewWorld(migrationWorldSpec()), clock: wechattest.NewClock(migrationT0)}
	m.srv = wechattest.NewServer(m.world, wechattest.WithClock(m.clock), wechattest.WithPageSize(200), wechattest.WithBlacklistPageSize(10))
	t.Cleanup(m.srv.Close)
	m.srv.Inject(wechattest.Fault{Path: "/cgi-bin/user/info/batchget", Times: -1, Rewrite: m.rewriteBatch})
	m.writeConfigs(t)
	m.writeImports(t, 0)
	return m
}

// rewriteBatch notes the openids of a batchget call while logging, and
// leaves leftOut out of the answer.
func (m *migrationSim) rewriteBatch(req wechattest.Request, answer []byte) []byte {
	var body struct {
		UserList []struct {
			OpenID string `json:"openid"`
		} `json:"user_list"`
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.logging && json.Unmarshal(req.Body, &body) == nil {
		for _, u := range body.UserList {
			m.fetched = append(m.fetched, u.OpenID)
		}
	}
	if m.leftOut == "" {
		return answer
	}
	var a struct {
		List []json.RawMessage `json:"user_info_list"`
	}
	if json.Unmarshal(answer, &a) != nil || a.List == nil {
		return answer
	}
	a.List = slices.DeleteFunc(a.List, func(u json.RawMessage) bool { return bytes.Contains(u, []byte(`"`+m.leftOut+`"`)) })
	b, _ := json.Marshal(a)
	return b
}

func (m *migrationSim) setLeftOut(openid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leftOut = openid
}

// startLog starts noting batchget's openids afresh; stopLog returns them, sorted.
func (m *migrationSim) startLog() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fetched, m.logging = nil, true
}

func (m *migrationSim) stopLog() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logging = false
	return slices.Sorted(slices.Values(m.fetched))
}

func (m *migrationSim) writeConfigs(t *testing.T) {
	t.Helper()
	var apps strings.Builder
	for _, a := range m.world.Apps() {
		env := "WX_" + strings.ToUpper(a.Name) + "_SECRET"
		fmt.Fprintf(&apps, "[[app]]\nname = %q\nappid = %q\nsecret_env = %q\n\n", a.Name, a.AppID, env)
		m.vars[env] = a.Secret
	}
	for _, im := range m.world.Imports() {
		fmt.Fprintf(&apps, "[[app]]\nname = %q\nkind = %q\nappid = %q\nimport = %q\n\n", im.Name, im.Kind, im.AppID, m.importPath(im.Name))
	}
	for path, maxAge := range map[*string]string{&m.cfg: "87600h", &m.refresh: "0s"} {
		*path = filepath.Join(m.dir, "config-"+maxAge+".toml")
		src := fmt.Sprintf("cache = %q\napi_base = %q\nconcurrency = 2\nmax_age = %q\n\n%s", m.cache, m.srv.URL, maxAge, apps.String())
		if err := os.WriteFile(*path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func (m *migrationSim) importPath(name string) string { return filepath.Join(m.dir, name+"-users.txt") }

// writeImports writes the imported apps' exports as they stand at step:
// from step 1 on, some members are gone from them (they left) and mall's
// keeps the rest in another order.
func (m *migrationSim) writeImports(t *testing.T, step int) {
	t.Helper()
	for _, im := range m.world.Imports() {
		var b bytes.Buffer
		if err := m.world.WriteImport(im.Name, &b); err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(b.String(), "\n")
		head, rows := lines[0], lines[1:]
		if step >= 1 {
			every := map[string]int{"mall": 20, "app": 30}[im.Name]
			kept := rows[:0:0]
			for i, r := range rows {
				if i%every != 3 {
					kept = append(kept, r)
				}
			}
			rows = kept
			if im.Name == "mall" {
				slices.Reverse(rows[:len(rows)-1]) // the last one is the empty tail of the split
			}
		}
		if err := os.WriteFile(m.importPath(im.Name), []byte(head+strings.Join(rows, "")), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func (m *migrationSim) appID(name string) string {
	for _, a := range m.world.Apps() {
		if a.Name == name {
			return a.AppID
		}
	}
	for _, a := range m.world.Imports() {
		if a.Name == name {
			return a.AppID
		}
	}
	panic("no app " + name)
}

// remarks a history sets: CJK, emoji, a combining accent, right-to-left,
// escape sequences, a quote and a backslash, and an empty one.
var migrationRemarks = []string{"老客户 🐉", "Zoë\u0301 \"q\" \\", "مرحبا", "\x1b]52;c;aGk=\x07x", "", "店长推荐"}

// mutate changes the world as the history does before its sync number
// step (1 to 4): deterministic, so that a replay rebuilds the world the
// old binary last synced against.
func (m *migrationSim) mutate(t *testing.T, step int) {
	t.Helper()
	w := m.world
	m.clock.Advance(time.Hour)
	unfollow := func(app string, every, n int) {
		id := m.appID(app)
		fs := w.Followers(id)
		for i := 0; i < n && i*every < len(fs); i++ {
			if err := w.Unfollow(id, fs[i*every]); err != nil {
				t.Fatal(err)
			}
			if i == 1 && step == 1 {
				m.left = append(m.left, [2]string{id, fs[i*every]})
			}
		}
	}
	remark := func(app string, from int) {
		id := m.appID(app)
		fs := w.Followers(id)
		for i, r := range migrationRemarks {
			if err := w.SetRemark(id, fs[from+i*17], r); err != nil {
				t.Fatal(err)
			}
		}
	}
	switch step {
	case 1: // the world moves; the sync after refetches every profile
		unfollow("news", 31, 15)
		w.Follow(m.appID("news"), 25)
		remark("news", 5)
		unfollow("shop", 23, 10)
		w.Follow(m.appID("shop"), 10)
		unfollow("events", 40, 4)
		news := m.appID("news")
		fs := w.Followers(news)
		for i := range 5 {
			must(t, w.SetBlacklisted(news, fs[100+i*7], true))
		}
		for _, id := range w.Blacklist(news)[:3] {
			must(t, w.SetBlacklisted(news, id, false))
		}
		m.writeImports(t, 1)
	case 2: // events gains followers, and the API will leave one out
		m.joined = w.Follow(m.appID("events"), 12)
	case 3: // legacy gains some, and its listing will run out of quota
		w.Follow(m.appID("legacy"), 5)
	case 4: // news moves again; its sync will be killed
		unfollow("news", 41, 10)
		w.Follow(m.appID("news"), 250)
		remark("news", 150)
	}
}

// fingerprint sums up the world as a sync sees it: a replay must sync
// against the world the history ended with.
func (m *migrationSim) fingerprint(t *testing.T) string {
	t.Helper()
	h := sha256.New()
	for _, a := range m.world.Apps() {
		fmt.Fprintln(h, a.Name, a.AppID, m.world.Tags(a.AppID), m.world.Blacklist(a.AppID))
		for _, o := range m.world.Followers(a.AppID) {
			u, _ := m.world.User(a.AppID, o)
			fmt.Fprintf(h, "%+v\n", u)
		}
		fmt.Fprintln(h, m.world.FormerFollowers(a.AppID))
	}
	for _, im := range m.world.Imports() {
		b, err := os.ReadFile(m.importPath(im.Name))
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// command prepares bin with args against config cfg.
func (m *migrationSim) command(t *testing.T, bin, cfg string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(bin, append(slices.Clone(args), "--config", cfg)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(m.dir, "home"), "TZ=Asia/Shanghai"}
	for k, v := range m.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	return cmd, &stdout, &stderr
}

// run runs bin to its end, its output with the folder written as $DIR.
func (m *migrationSim) run(t *testing.T, bin, cfg string, args ...string) commandAnswer {
	t.Helper()
	cmd, stdout, stderr := m.command(t, bin, cfg, args...)
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("wxscope %v did not end in 2 minutes", args)
	}
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("wxscope %v: %v", args, err)
	}
	dir := func(s string) string { return strings.ReplaceAll(s, m.dir, "$DIR") }
	return commandAnswer{Args: args, Code: code, Stdout: dir(stdout.String()), Stderr: dir(stderr.String())}
}

func (m *migrationSim) mustRun(t *testing.T, bin, cfg string, want int, args ...string) commandAnswer {
	t.Helper()
	a := m.run(t, bin, cfg, args...)
	if a.Code != want {
		t.Fatalf("wxscope %v: exit %d, want %d\nstdout %s\nstderr %s", args, a.Code, want, a.Stdout, a.Stderr)
	}
	return a
}

// migrationReads are the read commands whose answers must not change: every
// app's export, links, doctor, and lookups of the kinds of id support
// pastes.
func (m *migrationSim) migrationReads() [][]string {
	w := m.world
	news, shop, events, legacy := m.appID("news"), m.appID("shop"), m.appID("events"), m.appID("legacy")
	fs := w.Followers(news)
	u, _ := w.User(news, fs[5]) // a remark of the history, a unionid
	cmds := [][]string{
		{"export", "--format", "jsonl"},
		{"export", "--format", "csv"},
		{"links", "--format", "jsonl"},
		{"links", "--format", "csv"},
		{"links"},
		{"links", "--missing", "shop", "--format", "jsonl"},
		{"links", "--missing", "mall", "--format", "csv"},
		{"doctor", "--json"},
		{"doctor"},
	}
	for _, a := range []string{"events", "mall"} {
		cmds = append(cmds, []string{"export", "--app", a, "--format", "jsonl"})
	}
	ids := []string{
		fs[5], u.UnionID, // a follower and its person
		fs[len(fs)-1],              // one the killed sync listed last, or never reached
		w.FormerFollowers(news)[0], // a follower the history never saw
		w.Followers(events)[3],     // an unbound account's follower: no unionid
		w.Followers(legacy)[7],     // another platform
		w.Followers(shop)[11],      // a shop follower
		w.Followers(events)[len(w.Followers(events))-1],
		"oUnknownOpenid000000000000", // of an openid's shape, in no app
		"not an id",
	}
	for _, l := range m.left { // the former-members index answers by unionid
		u, ok := w.FormerUser(l[0], l[1])
		if !ok {
			u, _ = w.User(l[0], l[1]) // left, and came back
		}
		ids = append(ids, l[1], u.UnionID)
	}
	for _, r := range w.ImportRows("mall")[:8] { // some left in step 1, some lack a unionid
		ids = append(ids, r.OpenID)
		if r.UnionID != "" {
			ids = append(ids, r.UnionID)
		}
	}
	for _, id := range ids {
		cmds = append(cmds, []string{"lookup", id}, []string{"lookup", id, "--json"})
	}
	return cmds
}

// runMigrationHistory runs the history with the old binary bin in dir and
// records its answers; the cache it leaves is the schema 2 file.
func runMigrationHistory(t *testing.T, bin, dir string) (*migrationSim, migrationAnswers) {
	t.Helper()
	m := newMigrationSim(t, dir)
	var ans migrationAnswers
	m.mustRun(t, bin, m.cfg, 0, "sync")

	m.mutate(t, 1)
	m.mustRun(t, bin, m.refresh, 0, "sync")
	ans.Growth = m.mustRun(t, bin, m.cfg, 0, "growth", "--days", "14", "--format", "jsonl")
	ans.GrowthDate = time.Now().In(migrationT0.Location()).Format(time.DateOnly)

	m.mutate(t, 2)
	m.setLeftOut(m.joined[0])
	m.mustRun(t, bin, m.cfg, 1, "sync", "--app", "events")
	m.setLeftOut("")

	m.mutate(t, 3)
	m.srv.Inject(wechattest.Fault{Path: "/cgi-bin/user/get", Errcode: 45009, After: 1, Times: -1})
	m.mustRun(t, bin, m.cfg, 1, "sync", "--app", "legacy")
	m.srv.ClearFaults()
	m.srv.Inject(wechattest.Fault{Path: "/cgi-bin/user/info/batchget", Times: -1, Rewrite: m.rewriteBatch})

	m.mutate(t, 4)
	m.srv.SetLatency(30 * time.Millisecond)
	before := m.srv.Calls("/cgi-bin/user/info/batchget")
	cmd, _, stderr := m.command(t, bin, m.cfg, "sync", "--app", "news")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); m.srv.Calls("/cgi-bin/user/info/batchget") < before+2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("news's sync made no batchget calls in a minute: %s", stderr)
		}
	}
	time.Sleep(20 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != -1 {
		t.Fatalf("news's sync ended before the kill: %v, %s", err, stderr)
	}
	m.srv.SetLatency(0)
	ans.World = m.fingerprint(t)

	for _, args := range m.migrationReads() {
		ans.Reads = append(ans.Reads, m.run(t, bin, m.cfg, args...))
	}
	if d := ans.Reads[7].Stdout; !strings.Contains(d, `"incomplete"`) {
		t.Fatalf("the history left no sync incomplete: %s", d)
	}
	return m, ans
}

// resume runs the sync after the history and the one after that with bin,
// recording them into ans.
func (m *migrationSim) resume(t *testing.T, bin string, ans *migrationAnswers) {
	t.Helper()
	// Times are kept in whole seconds: the resume starts on a second of its
	// own, so that the times it writes are the ones from ResumeStart on.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	ans.ResumeStart = time.Now().Unix()
	m.startLog()
	ans.Resume = m.run(t, bin, m.cfg, "sync")
	ans.ResumeFetched = m.stopLog()
	ans.AfterResume = nil
	for _, args := range m.migrationReads() {
		if slices.Contains(args, "jsonl") && len(args) == 3 || args[0] == "doctor" && len(args) > 1 || args[0] == "lookup" && len(args) > 2 {
			ans.AfterResume = append(ans.AfterResume, m.run(t, bin, m.cfg, args...))
		}
	}
	calls := m.srv.Calls("/cgi-bin/user/info/batchget")
	m.mustRun(t, bin, m.cfg, 0, "sync")
	ans.NextBatchCalls = m.srv.Calls("/cgi-bin/user/info/batchget") - calls
}

// TestMigrationFromMainKeepsEveryAnswer replays testdata/migration: the new
// binary on the cache the old one wrote, killed while it migrates, then
// every answer compared (see the top of this file). Some 8 s.
func TestMigrationFromMainKeepsEveryAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary some hundred times: not with -short")
	}
	if os.Getenv("WXSCOPE_MIGRATION_FIXTURE") == "write" {
		writeMigrationFixture(t)
		return
	}
	dir := t.TempDir()
	ans := readMigrationFixture(t, filepath.Join(dir, "cache", "wxscope.db"))
	replayMigration(t, dir, ans, nil)
}

// TestMigrationFromMainLive runs the history with a binary built from main
// (or WXSCOPE_MIGRATION_OLD) now, and the new binary on what it left.
func TestMigrationFromMainLive(t *testing.T) {
	if os.Getenv("WXSCOPE_LONG") == "" {
		t.Skip("builds main's binary and runs the whole history: WXSCOPE_LONG=1")
	}
	old, commit := oldBinary(t)
	dir := t.TempDir()
	m, ans := runMigrationHistory(t, old, dir)
	ans.OldCommit = commit
	// The old binary's resume, on a copy: the new binary migrates the original.
	pristine := m.cache + ".schema2"
	copyFile(t, m.cache, pristine)
	m.resume(t, old, &ans)
	copyFile(t, pristine, m.cache)
	os.Remove(m.cache + ".lock-info")
	replayMigration(t, dir, ans, m)

	// A migration stopped half-way, and the old binary again (a
	// downgrade, or an old binary left in a cron job): it must not answer
	// from the half it can still see.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 13))
	for try := 0; ; try++ {
		copyFile(t, pristine, m.cache)
		phases := killMigration(t, m, wxscopeBinary(t), rng, 1, nil)
		if len(phases) == 1 && strings.HasPrefix(phases[0], "migrating") && !strings.Contains(phases[0], ": 6 apps") {
			t.Logf("stopped at %s", phases[0])
			break
		}
		if try == 200 {
			t.Fatal("no kill stopped the migration half-way in 200 tries")
		}
	}
	for _, args := range [][]string{{"export", "--format", "jsonl"}, {"salvage"}, {"sync"}} {
		if r := m.run(t, old, m.cfg, args...); r.Code != 1 || !strings.Contains(r.Stderr, "written by a newer wxscope") {
			t.Errorf("the old binary's %v on a half-migrated cache: exit %d, %d lines out (%d before the migration)\n%s", args, r.Code, strings.Count(r.Stdout, "\n"), strings.Count(ans.Reads[0].Stdout, "\n"), r.Stderr)
		}
	}
	m.mustRun(t, wxscopeBinary(t), m.cfg, 0, "resolve", "--app", "news", "--offline")
	compareAnswers(t, "after the old binary", ans.Reads[:1], func(args []string) commandAnswer { return m.run(t, wxscopeBinary(t), m.cfg, args...) })
}

// oldBinary builds wxscope from main (or WXSCOPE_MIGRATION_OLD), which must
// still be a schema 2 wxscope, and returns it and its commit.
func oldBinary(t *testing.T) (string, string) {
	t.Helper()
	ref := cmp.Or(os.Getenv("WXSCOPE_MIGRATION_OLD"), "main")
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the live migration test builds the old binary from main's source")
	}
	out, err := exec.Command("git", "-C", "..", "rev-parse", "--verify", ref+"^{commit}").Output()
	if err != nil {
		t.Skipf("no git ref %s to build the schema 2 binary from (%v); set WXSCOPE_MIGRATION_OLD to a commit before issue 12's layout", ref, err)
	}
	commit := strings.TrimSpace(string(out))
	store, err := exec.Command("git", "-C", "..", "show", commit+":cache/store.go").Output()
	if err != nil || !bytes.Contains(store, []byte("const SchemaVersion = 2\n")) {
		t.Skipf("%s (%s) is not a schema 2 wxscope (%v); set WXSCOPE_MIGRATION_OLD to a commit before issue 12's layout", ref, commit, err)
	}
	src := t.TempDir()
	archive := exec.Command("git", "-C", "..", "archive", commit)
	untar := exec.Command("tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	untar.Stdin = pipe
	must(t, untar.Start())
	must(t, archive.Run())
	must(t, untar.Wait())
	bin := filepath.Join(t.TempDir(), "wxscope-schema2")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = src
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the schema 2 wxscope from %s: %v\n%s", commit, err, b)
	}
	return bin, commit
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(filepath.Dir(to), 0o700))
	must(t, os.WriteFile(to, b, 0o600))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeMigrationFixture runs the history with the old binary and writes
// the cache it left and its answers into testdata/migration.
func writeMigrationFixture(t *testing.T) {
	old, commit := oldBinary(t)
	dir := t.TempDir()
	m, ans := runMigrationHistory(t, old, dir)
	ans.OldCommit = commit
	must(t, os.MkdirAll(migrationFixtureDir, 0o755))
	db, err := os.ReadFile(m.cache)
	must(t, err)
	writeGzip(t, filepath.Join(migrationFixtureDir, "schema2.db.gz"), db)
	m.resume(t, old, &ans)
	b, err := json.MarshalIndent(ans, "", " ")
	must(t, err)
	writeGzip(t, filepath.Join(migrationFixtureDir, "answers.json.gz"), b)
	t.Logf("wrote %s from %s (%d bytes of cache, %d of answers)", migrationFixtureDir, commit, len(db), len(b))
}

func writeGzip(t *testing.T, path string, b []byte) {
	t.Helper()
	var buf bytes.Buffer
	z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	z.Write(b)
	must(t, z.Close())
	must(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

func readGzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	must(t, err)
	b, err := io.ReadAll(z)
	must(t, err)
	return b
}

// readMigrationFixture puts the fixture's cache at path and returns the
// old binary's answers.
func readMigrationFixture(t *testing.T, path string) migrationAnswers {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o700))
	must(t, os.WriteFile(path, readGzip(t, filepath.Join(migrationFixtureDir, "schema2.db.gz")), 0o600))
	var ans migrationAnswers
	must(t, json.Unmarshal(readGzip(t, filepath.Join(migrationFixtureDir, "answers.json.gz")), &ans))
	return ans
}

// replaySim is a simulator of the world the fixture's history ended with.
func replaySim(t *testing.T, dir string, ans migrationAnswers) *migrationSim {
	t.Helper()
	m := newMigrationSim(t, dir)
	for step := 1; step <= 4; step++ {
		m.mutate(t, step)
	}
	if got := m.fingerprint(t); got != ans.World {
		t.Fatalf("the simulator's world is not the one the fixture's history synced against (fingerprint %s, the fixture's %s): wechattest generates it differently now; regenerate testdata/migration (see the top of this file)", got, ans.World)
	}
	return m
}

// replayMigration is the new binary on the schema 2 cache in dir: killed
// while it migrates, then every answer compared with the old binary's, then
// the resumed sync. m is the history's simulator when it ran live; nil
// builds the world anew.
func replayMigration(t *testing.T, dir string, ans migrationAnswers, m *migrationSim) {
	t.Helper()
	bin := wxscopeBinary(t)
	if m == nil {
		m = replaySim(t, dir, ans)
	}
	t.Logf("replaying the answers of wxscope %s", ans.OldCommit)
	pristine := m.cache + ".schema2"
	copyFile(t, m.cache, pristine)

	// A reader does not migrate: it asks for the sync that will.
	if r := m.run(t, bin, m.cfg, "lookup", ans.Reads[len(ans.Reads)-1].Args[1]); r.Code != 1 || !strings.Contains(r.Stderr, "run wxscope sync once to upgrade") {
		t.Errorf("lookup on the schema 2 cache: exit %d, %s", r.Code, r.Stderr)
	}

	// Killed at random moments while it migrates, then let finish: every
	// answer is the old binary's.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 12))
	mid := map[string]bool{}
	for round := 0; round < 6 && (round < 3 || len(mid) < 4); round++ {
		copyFile(t, pristine, m.cache)
		phases := killMigration(t, m, bin, rng, math.MaxInt, &ans.Reads[len(ans.Reads)-1])
		for _, p := range phases {
			if strings.HasPrefix(p, "migrating") {
				mid[p] = true
			}
		}
		t.Logf("round %d: %d kills left the file %s", round, len(phases), countPhases(phases))
		reads := ans.Reads
		if round > 0 { // the lookups once: the exports, links and doctor every time
			reads = slices.DeleteFunc(slices.Clone(reads), func(a commandAnswer) bool { return a.Args[0] == "lookup" })
		}
		compareAnswers(t, fmt.Sprintf("round %d", round), reads, func(args []string) commandAnswer { return m.run(t, bin, m.cfg, args...) })
		if t.Failed() {
			return
		}
	}
	if r := m.run(t, bin, m.cfg, "doctor", "--json"); r.Code != 0 || strings.Contains(r.Stdout, `"kind":"damaged"`) {
		t.Errorf("doctor on the migrated cache: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if len(mid) < 2 {
		t.Errorf("the kills left the migration half done in only %d ways: %q", len(mid), slices.Sorted(maps.Keys(mid)))
	}
	compareBuckets(t, pristine, m.cache, "tags", "blacklists", "growth", "imports", "importseen")
	if today := time.Now().In(migrationT0.Location()).Format(time.DateOnly); today == ans.GrowthDate {
		compareAnswers(t, "growth", []commandAnswer{ans.Growth}, func(args []string) commandAnswer { return m.run(t, bin, m.cfg, args...) })
	} else {
		t.Logf("growth not compared: its --days 14 end yesterday, and the old binary's ran on %s (its figures are in the growth bucket, compared above)", ans.GrowthDate)
	}

	// The sync the old binary was killed in resumes and fetches what the
	// old binary fetched when it resumed; the next one fetches nothing.
	var got migrationAnswers
	m.resume(t, bin, &got)
	if got.Resume.Code != ans.Resume.Code || !slices.Equal(sortedLines(normalizeSync(got.Resume.Stdout)), sortedLines(normalizeSync(ans.Resume.Stdout))) {
		t.Errorf("the resumed sync: exit %d, the old binary's %d\n%s", got.Resume.Code, ans.Resume.Code,
			firstDiff(strings.Join(sortedLines(normalizeSync(got.Resume.Stdout)), "\n"), strings.Join(sortedLines(normalizeSync(ans.Resume.Stdout)), "\n")))
	}
	if !slices.Equal(got.ResumeFetched, ans.ResumeFetched) {
		t.Errorf("the resumed sync asked batchget for %d openids, the old binary for %d", len(got.ResumeFetched), len(ans.ResumeFetched))
	}
	if got.NextBatchCalls != 0 || ans.NextBatchCalls != 0 {
		t.Errorf("the sync after the resumed one made %d batchget calls (the old binary %d): nothing had changed", got.NextBatchCalls, ans.NextBatchCalls)
	}
	for i, w := range ans.AfterResume {
		g := got.AfterResume[i]
		gs, ws := normalizeAfter(g.Stdout, got.ResumeStart), normalizeAfter(w.Stdout, ans.ResumeStart)
		if g.Code != w.Code || !slices.Equal(gs, ws) {
			t.Errorf("after the resumed sync: wxscope %v: exit %d, the old binary %d\n%s", w.Args, g.Code, w.Code, firstDiff(strings.Join(gs, "\n"), strings.Join(ws, "\n")))
		}
	}
}

func compareAnswers(t *testing.T, when string, want []commandAnswer, run func([]string) commandAnswer) {
	t.Helper()
	for _, w := range want {
		got := run(w.Args)
		gs, ws := normalizeDoctor(w.Args, got.Stdout), normalizeDoctor(w.Args, w.Stdout)
		if got.Code != w.Code || gs != ws {
			t.Errorf("%s: wxscope %v: exit %d, the old binary %d\n%s", when, w.Args, got.Code, w.Code, firstDiff(gs, ws))
		}
		if got.Stderr != w.Stderr {
			t.Errorf("%s: wxscope %v: stderr differs\n%s", when, w.Args, firstDiff(got.Stderr, w.Stderr))
		}
	}
}

var (
	agoRE      = regexp.MustCompile(`\b\d+ (s|min|h|days) ago\b`)
	notesRE    = regexp.MustCompile(` · \d+ notes?`)
	durationRE = regexp.MustCompile(`\b\d+\.\d s\b`)
	nowRE      = regexp.MustCompile(`"(fetched_at|unfollowed_at|last_sync)":(\d+)`)
)

// normalizeDoctor takes out of doctor's answers what depends on when it
// runs: how long ago each app last synced, and the stale notes a sync
// older than a day gets (the fixture is older than that).
func normalizeDoctor(args []string, out string) string {
	if args[0] != "doctor" {
		return out
	}
	if slices.Contains(args, "--json") {
		var v map[string]any
		if json.Unmarshal([]byte(out), &v) != nil {
			return out
		}
		fs, _ := v["findings"].([]any)
		v["findings"] = slices.DeleteFunc(fs, func(f any) bool { return f.(map[string]any)["kind"] == "stale" })
		b, _ := json.Marshal(v)
		return string(b)
	}
	var kept []string
	inStale := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, " · stale"):
			inStale = true
			continue
		case strings.HasPrefix(line, " ⚠ "), strings.HasPrefix(line, " · "), !strings.HasPrefix(line, "    "):
			inStale = false
		}
		if !inStale {
			kept = append(kept, line)
		}
	}
	out = strings.Join(kept, "\n")
	return notesRE.ReplaceAllString(agoRE.ReplaceAllString(out, "… ago"), "")
}

// normalizeSync takes the durations out of a sync's summary lines.
func normalizeSync(out string) string { return durationRE.ReplaceAllString(out, "… s") }

// normalizeAfter is an answer after the resumed sync, which began at start:
// the times that sync wrote read NOW, and the lines are sorted (an export
// lists the rows in the cache's order: schema 2 kept them in openid order,
// schema 3 appends the new ones in the order the sync listed them).
func normalizeAfter(out string, start int64) []string {
	out = nowRE.ReplaceAllStringFunc(out, func(s string) string {
		m := nowRE.FindStringSubmatch(s)
		if n, _ := strconv.ParseInt(m[2], 10, 64); n >= start {
			return `"` + m[1] + `":NOW`
		}
		return s
	})
	if strings.HasPrefix(out, "{\"apps\"") {
		out = normalizeDoctor([]string{"doctor", "--json"}, out)
	}
	return sortedLines(out)
}

func sortedLines(s string) []string { return slices.Sorted(slices.Values(strings.Split(s, "\n"))) }

// compareBuckets checks that the named top-level buckets, which the
// migration does not touch, hold the same keys and values in both files.
func compareBuckets(t *testing.T, before, after string, names ...string) {
	t.Helper()
	dump := func(path string) map[string]string {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
		must(t, err)
		defer db.Close()
		out := map[string]string{}
		must(t, db.View(func(tx *bolt.Tx) error {
			for _, name := range names {
				b := tx.Bucket([]byte(name))
				if b == nil {
					continue
				}
				var walk func(prefix string, b *bolt.Bucket) error
				walk = func(prefix string, b *bolt.Bucket) error {
					return b.ForEach(func(k, v []byte) error {
						if v == nil {
							return walk(prefix+string(k)+"/", b.Bucket(k))
						}
						out[prefix+string(k)] = string(v)
						return nil
					})
				}
				must(t, walk(name+"/", b))
			}
			return nil
		}))
		return out
	}
	b, a := dump(before), dump(after)
	if !maps.Equal(b, a) {
		t.Errorf("the buckets %v the migration does not touch changed: %d keys before, %d after", names, len(b), len(a))
	}
	t.Logf("%d keys of %v kept byte for byte", len(b), names)
}

// firstDiff shows the first line where got and want differ, around the
// first byte that differs.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl == wl {
			continue
		}
		at := 0
		for at < min(len(gl), len(wl)) && gl[at] == wl[at] {
			at++
		}
		from := max(0, at-80)
		return fmt.Sprintf("line %d (of %d, the old binary's %d), from byte %d:\n  new %q\n  old %q",
			i+1, len(g), len(w), from, gl[from:min(len(gl), at+120)], wl[from:min(len(wl), at+120)])
	}
	return "(no difference)"
}

// killMigration kills the new binary while it migrates the cache, after a
// random delay, until a run finishes the migration (or most kills); it
// returns the state each kill left the file in. The delays grow a little
// with every kill, so that a slow machine gets there too. Meanwhile a
// lookup races each run: it may wait, or be told to sync, but it may not
// answer otherwise than the old binary did (read, when given).
func killMigration(t *testing.T, m *migrationSim, bin string, rng *rand.Rand, most int, read *commandAnswer) []string {
	t.Helper()
	var phases []string
	for kill := 0; kill < most; kill++ {
		cmd, _, stderr := m.command(t, bin, m.cfg, "resolve", "--app", "news", "--offline")
		must(t, cmd.Start())
		raced := make(chan commandAnswer, 1)
		if read != nil {
			go func() { raced <- m.run(t, bin, m.cfg, read.Args...) }()
		}
		time.Sleep(time.Duration(rng.IntN(12000+500*kill)) * time.Microsecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if read != nil {
			r := <-raced
			asked := r.Code == 1 && (strings.Contains(r.Stderr, "run wxscope sync once to upgrade") || strings.Contains(r.Stderr, "is in use by"))
			if !asked && (r.Code != read.Code || r.Stdout != read.Stdout) {
				t.Errorf("wxscope %v racing the migration: exit %d\n%s%s", read.Args, r.Code, r.Stdout, r.Stderr)
			}
		}
		if cmd.ProcessState.ExitCode() == 0 {
			return phases
		}
		if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !st.Signaled() {
			t.Fatalf("resolve ended on its own with %v: %s", err, stderr)
		}
		phases = append(phases, migrationPhase(t, m.cache))
	}
	return phases
}

// countPhases sums up killMigration's phases: how many kills left each.
func countPhases(phases []string) string {
	n := map[string]int{}
	for _, p := range phases {
		n[p]++
	}
	var out []string
	for _, p := range slices.Sorted(maps.Keys(n)) {
		out = append(out, fmt.Sprintf("%d× %s", n[p], p))
	}
	return strings.Join(out, "; ")
}

// migrationPhase says how far the migration of the file at path got: the
// schema, and what is left in schema 2's buckets.
func migrationPhase(t *testing.T, path string) string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open the killed migration's file: %v", err)
	}
	defer db.Close()
	var phase string
	must(t, db.View(func(tx *bolt.Tx) error {
		schema := tx.Bucket([]byte("meta")).Get([]byte("schema"))
		profiles, apps := 0, 0
		if b := tx.Bucket([]byte("profiles")); b != nil {
			must(t, b.ForEachBucket(func(k []byte) error {
				apps++
				profiles += b.Bucket(k).Stats().KeyN
				return nil
			}))
		}
		keys := func(name string) int {
			if b := tx.Bucket([]byte(name)); b != nil {
				return b.Stats().KeyN
			}
			return -1
		}
		switch {
		case tx.Bucket([]byte("meta")).Get([]byte("migrating")) != nil:
			phase = fmt.Sprintf("migrating: %d apps, %d profiles, %d+%d unionid keys to move", apps, profiles, keys("unionids"), keys("formerunionids"))
		case bytes.Equal(schema, []byte{0, 0, 0, 3}):
			phase = "migrated"
		default:
			phase = fmt.Sprintf("schema %x: %d apps, %d profiles", schema, apps, profiles)
		}
		return nil
	}))
	return phase
}

// A schema 2 cache too damaged to migrate: the sync that tries says to
// salvage it, and salvage must then do so (a reader of schema 2 used to
// answer "run wxscope sync once to upgrade it", and the sync "run wxscope
// salvage", round and round). The damage here is the record of the app
// migrated last, so the migration stops part-way: salvage reads both
// layouts and keeps every profile.
func TestSalvageOfASchema2CacheTooDamagedToMigrate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary: not with -short")
	}
	dir := t.TempDir()
	ans := readMigrationFixture(t, filepath.Join(dir, "cache", "wxscope.db"))
	m := replaySim(t, dir, ans)
	last := m.appID("app") // the largest appid: its profiles move last
	for _, a := range append(m.world.Apps(), wechattest.AppInfo{AppID: m.appID("mall")}) {
		if a.AppID > last {
			t.Fatalf("app %s sorts after %s", a.AppID, last)
		}
	}
	db, err := bolt.Open(m.cache, 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("apps")).Put([]byte(last), []byte{1, 0xff}) }))
	must(t, db.Close())
	bin := wxscopeBinary(t)

	if r := m.run(t, bin, m.cfg, "sync"); r.Code != 1 || !strings.Contains(r.Stderr, "run wxscope salvage") {
		t.Fatalf("sync on the damaged schema 2 cache: exit %d, %s", r.Code, r.Stderr)
	}
	t.Logf("the migration stopped at %s", migrationPhase(t, m.cache))
	if r := m.run(t, bin, m.cfg, "salvage"); r.Code != 0 || !strings.Contains(r.Stdout, "salvaged") {
		t.Fatalf("salvage: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	// Every profile is still there, every field as the old binary exported
	// it; the tag names and the blacklist are the next sync's to read again.
	lists := regexp.MustCompile(`"tags":\[[^]]*\],"blacklisted":(true|false),`)
	r := m.mustRun(t, bin, m.cfg, 0, "export", "--format", "jsonl")
	got, want := sortedLines(lists.ReplaceAllString(r.Stdout, "")), sortedLines(lists.ReplaceAllString(ans.Reads[0].Stdout, ""))
	if !slices.Equal(got, want) {
		t.Errorf("after salvage the export has %d lines, before %d\n%s", len(got), len(want), firstDiff(strings.Join(got, "\n"), strings.Join(want, "\n")))
	}
	// The sync after holds what the old binary's did, on the file it left,
	// but that an imported app's import starts over too: its members are
	// stamped with this import's time.
	start := time.Now().Unix()
	m.mustRun(t, bin, m.cfg, 0, "sync")
	r = m.mustRun(t, bin, m.cfg, 0, "export", "--format", "jsonl")
	imported := regexp.MustCompile(`("kind":"(miniprogram|mobile)".*"fetched_at":)\d+`)
	got = normalizeAfter(imported.ReplaceAllString(r.Stdout, "${1}IMPORT"), start)
	want = normalizeAfter(imported.ReplaceAllString(ans.AfterResume[0].Stdout, "${1}IMPORT"), ans.ResumeStart)
	if !slices.Equal(got, want) {
		t.Errorf("after salvage and sync the export has %d lines, the old binary's after its sync %d\n%s", len(got), len(want), firstDiff(strings.Join(got, "\n"), strings.Join(want, "\n")))
	}
	if r := m.run(t, bin, m.cfg, "doctor", "--json"); strings.Contains(r.Stdout, `"kind":"damaged"`) {
		t.Errorf("doctor after salvage: exit %d, %s", r.Code, r.Stdout)
	}
}
