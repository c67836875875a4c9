package cli

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"wxscope/wechat/wechattest"
)

// loadWorld is the world of the load test and the benchmarks: two apps
// synced before the server starts, a third synced under load.
func loadWorld() *wechattest.World {
	return wechattest.NewWorld(wechattest.WorldSpec{Seed: 47, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 20000, Unfollowed: 500},
		{Name: "shop", Platform: "P1", Followers: 8000, Unfollowed: 200},
		{Name: "events", Platform: "P1", Followers: 6000},
	}})
}

// 50 sessions at once (10 under the race detector), half TUIs and half
// headless command loops, while an
// operator's sync runs: every command answers as it should, every TUI
// keeps answering keys, the sync ends with the world in the cache, and
// when everyone leaves nothing is left behind.
func TestServeHoldsFiftySessionsWithASyncRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("50 SSH sessions and a sync: not with -short")
	}
	tuis, loops := 25, 25
	if raceEnabled {
		// The race detector slows every session down tenfold: the
		// concurrency is what it checks, and a fifth of it shows it.
		tuis, loops = 5, 5
	}
	members := []teamMember{newMember(t, 1, "lin", "support"), newMember(t, 2, "wu", "operator"), newMember(t, 3, "mei", "operator")}
	s := newSimSetup(t, loadWorld(), "concurrency = 2\n"+serveSection("max_sessions = 64", members...), wechattest.WithPageSize(1000))
	s.mustSync(t, "--app", "news", "--app", "shop")
	s.srv.SetLatency(10 * time.Millisecond)
	ts := startTeam(t, s, serveHooks{redraw: 500 * time.Millisecond})
	before := sessionGoroutines()
	start := time.Now()

	clients := make([]*gossh.Client, len(members))
	for i, m := range members {
		clients[i] = ts.login(t, m)
	}
	syncDone := make(chan result, 1)
	go func() { syncDone <- sshRun(t, clients[1], "sync --app events") }()

	terms := make([]*sshTerm, tuis)
	for i := range terms {
		terms[i] = openSSHTerm(t, clients[i%len(clients)], "", 140, 24)
	}
	for _, term := range terms {
		term.waitFor(t, "a home view", func(s string) bool { return strings.Contains(s, "20 000") })
	}
	t.Logf("%d TUIs open after %v", tuis, time.Since(start))

	news := s.app(t, "news")
	ids := s.world.Followers(news.AppID)
	var answered, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range loops {
		wg.Go(func() {
			c := clients[i%len(clients)]
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var cmd, want string
				// Mostly lookups, as support works; now and then a
				// whole-cache read.
				switch n % 8 {
				default:
					id := ids[(i*977+n*31)%len(ids)]
					cmd, want = "lookup "+id+" --json", `"openid":"`+id+`"`
				case 6:
					cmd, want = "doctor --json", `"findings"`
				case 7:
					cmd, want = "export --app shop --format jsonl", `"app":"shop"`
				}
				if r := sshRun(t, c, cmd); r.code != 0 || !strings.Contains(r.stdout, want) {
					failed.Add(1)
					t.Errorf("%s under load: exit %d, %s", cmd, r.code, r.stderr)
					return
				}
				answered.Add(1)
			}
		})
	}

	// Meanwhile every TUI answers a key: into the Followers view of news and
	// back.
	for round := range 2 {
		for i, term := range terms {
			term.out.reset()
			term.in.Write([]byte("\r"))
			term.waitFor(t, fmt.Sprintf("TUI %d's followers (round %d)", i, round), func(s string) bool { return strings.Contains(s, "news ·") || strings.Contains(s, "followers") })
			term.in.Write([]byte("\x1b"))
		}
	}
	t.Logf("every TUI answered two rounds of keys after %v", time.Since(start))
	r := <-syncDone
	t.Logf("the sync ended after %v", time.Since(start))
	close(stop)
	wg.Wait()
	if r.code != 0 || !strings.Contains(r.stdout, "events: 6000/6000 followers") {
		t.Fatalf("the sync under load: %+v", r)
	}
	t.Logf("%d commands answered during the sync, %d failed", answered.Load(), failed.Load())
	if answered.Load() < int64(loops) {
		t.Errorf("only %d commands answered", answered.Load())
	}
	checkExport(t, s.export(t), s.world, nil)

	for _, term := range terms {
		term.in.Write([]byte("q"))
	}
	for _, term := range terms {
		if code := term.wait(t); code != 0 {
			t.Errorf("a TUI exited %d", code)
		}
	}
	for _, c := range clients {
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for sessionGoroutines() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d session goroutines after everyone left, %d before:\n%s", sessionGoroutines(), before, goroutineDump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
