package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/wechat"
	"wxscope/wechat/wechattest"
)

func teamWorld(news, shop int) *wechattest.World {
	return wechattest.NewWorld(wechattest.WorldSpec{Seed: 41, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: news, Unfollowed: 50},
		{Name: "shop", Platform: "P1", Followers: shop, Unfollowed: 30},
	}})
}

// Over SSH a command gives what it gives locally: the same output on the
// same streams and the same exit status, read from the server's cache
// while the server holds it; every session is audited, the ids support
// looked up included.
func TestServedCommandsAnswerAsLocally(t *testing.T) {
	lin := newMember(t, 1, "lin", "support")
	wu := newMember(t, 2, "wu", "operator")
	s := newSimSetup(t, teamWorld(1500, 900), serveSection("", lin, wu))
	s.mustSync(t)
	ts := startTeam(t, s, serveHooks{})
	c := ts.login(t, lin)

	news := s.app(t, "news")
	openid := s.world.Followers(news.AppID)[7]
	unknown := "o" + strings.Repeat("Z", 27)
	local := func(cmd string) result {
		args := strings.Fields(cmd)
		if args[0] == "help" || args[0] == "version" { // they take no --config
			return runCLI(t, nil, args...)
		}
		return s.run(context.Background(), args...)
	}
	for _, cmd := range []string{
		"lookup " + openid + " --json",
		"lookup " + openid,
		"lookup " + unknown + " --json",
		"links --format jsonl",
		"links --missing shop",
		"export --format jsonl --app news",
		"export --format csv",
		"doctor --json",
		"doctor",
		"lookup",
		"export --format xml",
		"help lookup",
		"version",
	} {
		local := local(cmd)
		remote := sshRun(t, c, cmd)
		if remote != local {
			t.Errorf("%s:\nover SSH: exit %d\n%s\n%s\nlocally: exit %d\n%s\n%s", cmd,
				remote.code, lastBytes(remote.stdout, 400), remote.stderr, local.code, lastBytes(local.stdout, 400), local.stderr)
		}
	}

	if r := sshRun(t, c, "sync"); r.code != 2 || !strings.Contains(r.stderr, "support role, which may not run sync") {
		t.Errorf("support's sync: %+v", r)
	}
	if r := sshRun(t, c, "lookup "+openid+" --live"); r.code != 2 || !strings.Contains(r.stderr, "--live asks the API") {
		t.Errorf("support's lookup --live: %+v", r)
	}
	// An operator's --live goes through the server's own client of each
	// app: one token fetch per app for the server's whole life.
	tokens := s.srv.Calls("/" + wechat.PathStableToken)
	op := ts.login(t, wu)
	for range 3 {
		if r := sshRun(t, op, "lookup "+openid+" --live --json"); r.code != 0 || !strings.Contains(r.stdout, `{"app":"news","openid":"`+openid+`","result":"following"}`) {
			t.Errorf("operator's lookup --live: %+v", r)
		}
	}
	if got := s.srv.Calls("/"+wechat.PathStableToken) - tokens; got != 2 {
		t.Errorf("three live lookups over SSH (of a person in both apps) fetched %d tokens, want 2: the server's one client per app", got)
	}

	var lookups int
	for _, l := range ts.auditLines(t) {
		if l.User == "lin" && strings.HasPrefix(l.Command, "lookup "+openid) {
			lookups++
		}
	}
	if lookups != 3 {
		t.Errorf("the audit log has %d of lin's 3 lookups of %s", lookups, openid)
	}
}

// Two operators, one sync: the sync one starts with `sync` is the one the
// other's `sync` and TUI join; the API sees one sync's calls and one
// token per app; support sees it live in the TUI but cannot start one.
func TestTwoOperatorsShareOneSync(t *testing.T) {
	wu := newMember(t, 2, "wu", "operator")
	mei := newMember(t, 3, "mei", "operator")
	lin := newMember(t, 1, "lin", "support")
	s := newSimSetup(t, teamWorld(3000, 1000), "concurrency = 2\n"+serveSection("", wu, mei, lin), wechattest.WithPageSize(500))
	s.srv.SetLatency(30 * time.Millisecond)
	ts := startTeam(t, s, serveHooks{redraw: 50 * time.Millisecond})

	support := openSSHTerm(t, ts.login(t, lin), "", 160, 20)
	support.waitFor(t, "support's home view", func(s string) bool { return strings.Contains(s, "read-only") })
	meiTUI := openSSHTerm(t, ts.login(t, mei), "", 160, 20)
	meiTUI.waitFor(t, "mei's home view", func(s string) bool { return strings.Contains(s, "s sync") })

	first := make(chan result, 1)
	go func() { first <- sshRun(t, ts.login(t, wu), "sync") }()
	support.waitFor(t, "support seeing news sync", func(s string) bool { return strings.Contains(s, "running") })
	meiTUI.in.Write([]byte("s")) // news is under the cursor: joins the sync
	second := sshRun(t, ts.login(t, mei), "sync --app news")
	got := <-first
	if got.code != 0 || second.code != 0 || !strings.Contains(got.stdout, "news: 3000/3000 followers") || !strings.Contains(second.stdout, "news: 3000/3000 followers") {
		t.Fatalf("the two syncs: %+v\n%+v", got, second)
	}
	meiTUI.waitFor(t, "mei's TUI seeing news done", func(s string) bool { return strings.Contains(s, "done 3 000 fetched") })
	support.in.Write([]byte("S"))
	time.Sleep(300 * time.Millisecond)

	// One sync of each app: every follower fetched once, one token each.
	if n := s.srv.Calls("/cgi-bin/user/info/batchget"); n != 30+10 {
		t.Errorf("%d batchget calls, want 40 (one sync of 3000 + 1000 followers)", n)
	}
	if n := s.srv.Calls("/" + wechat.PathStableToken); n != 2 {
		t.Errorf("%d token fetches, want 2 (one per app)", n)
	}
	checkExport(t, s.export(t), s.world, nil)
	meiTUI.in.Write([]byte("q"))
	support.in.Write([]byte("q"))
	if a, b := meiTUI.wait(t), support.wait(t); a != 0 || b != 0 {
		t.Errorf("the TUIs exited %d and %d", a, b)
	}
}

// While the server syncs (it holds the cache Shared), reads get in: over
// SSH, and from a local process opening the cache SharedReadOnly.
func TestReadsGetInWhileTheServerSyncs(t *testing.T) {
	wu := newMember(t, 2, "wu", "operator")
	lin := newMember(t, 1, "lin", "support")
	s := newSimSetup(t, teamWorld(4000, 500), "concurrency = 2\n"+serveSection("", wu, lin), wechattest.WithPageSize(400))
	s.mustSync(t, "--app", "shop")
	s.srv.SetLatency(20 * time.Millisecond)
	ts := startTeam(t, s, serveHooks{})
	syncing := make(chan result, 1)
	go func() { syncing <- sshRun(t, ts.login(t, wu), "sync --app news") }()

	shop := s.app(t, "shop")
	openid := s.world.Followers(shop.AppID)[3]
	c := ts.login(t, lin)
	reads := 0
	for done := false; !done; {
		select {
		case r := <-syncing:
			if r.code != 0 {
				t.Fatalf("the sync: %+v", r)
			}
			done = true
		default:
			start := time.Now()
			if r := sshRun(t, c, "lookup "+openid+" --json"); r.code != 0 {
				t.Fatalf("a lookup over SSH during the sync: %+v", r)
			}
			if r := s.run(context.Background(), "export", "--app", "shop", "--format", "jsonl"); r.code != 0 || strings.Count(r.stdout, "\n") != 500 {
				t.Fatalf("a local export during the sync: exit %d, %d rows, %s", r.code, strings.Count(r.stdout, "\n"), r.stderr)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("a lookup and an export took %v during the sync", took)
			}
			reads++
		}
	}
	if reads < 3 {
		t.Errorf("only %d rounds of reads ran during the sync; make it slower", reads)
	}
}

// A client that goes away in the middle of an export or a TUI leaves
// nothing on the server: no goroutine, no read transaction (an exclusive
// open of the cache gets in at once).
func TestADisconnectMidExportLeavesNothingBehind(t *testing.T) {
	lin := newMember(t, 1, "lin", "support")
	s := newSimSetup(t, teamWorld(20000, 100), serveSection("", lin))
	s.mustSync(t)
	ts := startTeam(t, s, serveHooks{})
	sshRun(t, ts.login(t, lin), "doctor")
	before := numGoroutines()

	for range 5 {
		c, err := dialServer(ts.addr, ts.hostKey, lin.signer)
		if err != nil {
			t.Fatal(err)
		}
		sess, _ := c.NewSession()
		out, _ := sess.StdoutPipe()
		if err := sess.Start("export --format jsonl"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64<<10)
		if _, err := out.Read(buf); err != nil {
			t.Fatal(err)
		}
		tui := openSSHTerm(t, c, "", 120, 30)
		tui.waitFor(t, "the TUI", func(s string) bool { return strings.Contains(s, "news") })
		tui.in.Write([]byte("\r")) // the Followers view of news: a walk of its 20 000 rows
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for numGoroutines() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the disconnects, %d before:\n%s", numGoroutines(), before, goroutineDump())
		}
		time.Sleep(50 * time.Millisecond)
	}
	store, err := cache.Open(s.cache, cache.Options{Mode: cache.ReadWrite, Timeout: time.Second})
	if err != nil {
		t.Fatalf("an exclusive open after the disconnects: %v", err)
	}
	store.Close()
	lines := ts.auditLines(t)
	cut := 0
	for _, l := range lines {
		if l.Exit != 0 {
			cut++
		}
	}
	if cut != 10 {
		t.Errorf("the audit log has %d cut-off sessions, want 10: %+v", cut, lines)
	}
}

// The client's environment reaches no command: not a secret variable, not
// PATH, not a token_command, which runs with the server's environment.
// And no session sees a secret or token, whatever it runs.
func TestNothingLeaksToOrFromASession(t *testing.T) {
	wu := newMember(t, 2, "wu", "operator")
	world := teamWorld(300, 200)
	dump := filepath.Join(t.TempDir(), "token-command-env")
	// shop takes its token from a command that records its environment
	// and prints no usable token.
	extra := serveSection("", wu)
	s := newSimSetup(t, world, extra)
	cfg, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	shopSecretEnv := "WX_SHOP_SECRET"
	src := strings.Replace(string(cfg), "secret_env = \""+shopSecretEnv+"\"", "token_command = \"env > "+dump+"; echo not-a-token\"", 1)
	if err := os.WriteFile(s.cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startTeam(t, s, serveHooks{})
	c := ts.login(t, wu)

	r := sshRun(t, c, "sync", "LEAKED_FROM_CLIENT", "yes", "WX_NEWS_SECRET", "from-the-client", "PATH", "/tmp/evil")
	if r.code != 1 || !strings.Contains(r.stdout, "news: 300/300 followers") || !strings.Contains(r.stderr, "shop") {
		t.Fatalf("sync with a bad token_command: %+v", r)
	}
	env, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(env), "LEAKED_FROM_CLIENT") || strings.Contains(string(env), "from-the-client") || strings.Contains(string(env), "/tmp/evil") {
		t.Errorf("the token_command saw the client's environment:\n%s", env)
	}
	outputs := r.stdout + r.stderr
	for _, cmd := range []string{"lookup " + world.Followers(s.app(t, "news").AppID)[0] + " --live --json", "doctor --json", "export --format jsonl", "help"} {
		r := sshRun(t, c, cmd)
		outputs += r.stdout + r.stderr
	}
	for _, a := range world.Apps() {
		if strings.Contains(outputs, a.Secret) {
			t.Errorf("a session's output shows the AppSecret of %s", a.Name)
		}
	}
	// The stable token the simulator gives is the one the server holds.
	token := stableToken(t, s, s.app(t, "news"))
	if strings.Contains(outputs, token) || strings.Contains(outputs, "from-the-client") {
		t.Errorf("a session's output shows the access token or the client's variables:\n%s", lastBytes(outputs, 2000))
	}
	log, _ := os.ReadFile(filepath.Join(ts.state, "wxscope", "audit.jsonl"))
	for _, a := range world.Apps() {
		if strings.Contains(string(log), a.Secret) || strings.Contains(ts.log.String(), a.Secret) {
			t.Errorf("the audit log or the server's log shows the AppSecret of %s", a.Name)
		}
	}
}

// SIGTERM mid-sync: every session is told in a line, the sync saves its
// progress, the server returns within seconds, and the next server's sync
// resumes where it stopped.
func TestServeShutdownMidSyncSavesAndTells(t *testing.T) {
	wu := newMember(t, 2, "wu", "operator")
	lin := newMember(t, 1, "lin", "support")
	s := newSimSetup(t, teamWorld(6000, 500), "concurrency = 2\n"+serveSection("", wu, lin), wechattest.WithPageSize(500))
	// Slow enough (about 4 s) that the support session, opened after the
	// sync starts, sees it run even on a loaded machine.
	s.srv.SetLatency(100 * time.Millisecond)
	ts := startTeam(t, s, serveHooks{})
	syncTerm := openSSHTerm(t, ts.login(t, wu), "sync", 100, 20)
	tui := openSSHTerm(t, ts.login(t, lin), "", 160, 20)
	tui.waitFor(t, "support seeing the sync", func(s string) bool { return strings.Contains(s, "running") })
	deadline := time.Now().Add(20 * time.Second)
	for n, _ := profilesCached(t, s.cache); n < 500; n, _ = profilesCached(t, s.cache) {
		if time.Now().After(deadline) {
			t.Fatal("the sync cached nothing in 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	start := time.Now()
	ts.stop(t)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the shutdown took %v", took)
	}
	const told = "wxscope: the server is shutting down, so this session ends"
	for name, term := range map[string]*sshTerm{"the sync": syncTerm, "the TUI": tui} {
		if code := term.wait(t); code == 0 || !strings.Contains(term.text(), told) {
			t.Errorf("%s: exit %d, it shows the end of:\n%s", name, code, lastBytes(term.text(), 600))
		}
	}
	// On the session's terminal the sync redraws its bars in place, in
	// colour, as it does on a local one.
	if raw := syncTerm.out.String(); !strings.Contains(raw, "\r\x1b[2A") || !strings.Contains(raw, "\x1b[38;") {
		t.Errorf("the sync on a terminal over SSH does not redraw in place in colour:\n%q", lastBytes(raw, 400))
	}
	saved, inProgress := profilesCached(t, s.cache)
	if saved == 0 || !inProgress {
		t.Fatalf("after the shutdown: %d profiles cached, a run in progress %v", saved, inProgress)
	}
	batches := s.srv.Calls("/cgi-bin/user/info/batchget")

	s.srv.SetLatency(0)
	ts2 := startTeam(t, s, serveHooks{})
	if r := sshRun(t, ts2.login(t, wu), "sync"); r.code != 0 {
		t.Fatalf("the sync after the restart: %+v", r)
	}
	checkExport(t, s.export(t), s.world, nil)
	// 6 500 followers are 65 batches; those saved are not fetched again.
	if after := s.srv.Calls("/cgi-bin/user/info/batchget") - batches; after > 65-int(saved)/100+2 {
		t.Errorf("the resumed sync made %d batch calls; it should fetch only what the first had not (%d profiles saved)", after, saved)
	}
}

// stableToken asks the simulator for app's current stable token.
func stableToken(t testing.TB, s *simSetup, app wechattest.AppInfo) string {
	t.Helper()
	body := fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q}`, app.AppID, app.Secret)
	resp, err := http.Post(s.srv.URL+"/"+wechat.PathStableToken, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("stable token: %v %+v", err, tok)
	}
	return tok.AccessToken
}
