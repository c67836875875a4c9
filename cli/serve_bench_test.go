package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"wxscope/serve"
)

// The figures of BENCHMARKS.md, "Serving a team": a real `wxscope serve`
// process over a synced cache of 34 000 followers, driven by SSH clients
// in this process.
//
//	go test ./cli -run XXX -bench BenchmarkServe -benchtime 400x
//
// WXSCOPE_BENCH_SESSIONS sets how many TUI sessions the held-sessions
// figures hold (default 100).

type benchServer struct {
	s       *simSetup
	p       *serveProcess
	hostKey gossh.PublicKey
	lin     teamMember
	ids     []string
}

func startBenchServer(b *testing.B, maxSessions int) *benchServer {
	b.Helper()
	lin := newMember(b, 1, "lin", "support")
	s := newSimSetup(b, loadWorld(), serveSection("max_sessions = "+strconv.Itoa(maxSessions), lin))
	s.mustSync(b)
	dir := b.TempDir()
	p := startServeBinary(b, s, dir)
	key, _, err := serve.LoadHostKey(filepath.Join(dir, "data", "wxscope", "ssh_host_ed25519_key"))
	if err != nil {
		b.Fatal(err)
	}
	return &benchServer{s: s, p: p, hostKey: key.PublicKey(), lin: lin, ids: s.world.Followers(s.app(b, "news").AppID)}
}

func (bs *benchServer) client(b *testing.B) *gossh.Client {
	b.Helper()
	c, err := dialServer(bs.p.addr, bs.hostKey, bs.lin.signer)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// rss is the server process's resident memory in bytes.
func (bs *benchServer) rss(b *testing.B) int64 {
	b.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(bs.p.cmd.Process.Pid) + "/status")
	if err != nil {
		b.Skip("needs /proc")
	}
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// lookups runs b.N `lookup ID --json` sessions, 8 connections at once, and
// reports how many a second the server answered.
func (bs *benchServer) lookups(b *testing.B) {
	b.Helper()
	clients := make([]*gossh.Client, 8)
	for i := range clients {
		clients[i] = bs.client(b)
	}
	var next atomic.Int64
	b.SetParallelism(4) // 4 × GOMAXPROCS goroutines: enough to keep 8 connections busy
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			id := bs.ids[int(n*7919)%len(bs.ids)]
			r := sshRun(b, clients[n%int64(len(clients))], "lookup "+id+" --json")
			if r.code != 0 || !strings.Contains(r.stdout, id) {
				b.Errorf("lookup %s: %+v", id, r)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cmds/s")
}

// holdTUIs opens n TUI sessions, each until its home view shows, and
// returns the server's figures for them (reported after the timed part:
// ResetTimer drops the metrics reported before it).
func (bs *benchServer) holdTUIs(b *testing.B, n int) (report func()) {
	b.Helper()
	warm := bs.client(b)
	sshRun(b, warm, "doctor")
	w := openSSHTerm(b, warm, "", 140, 30)
	w.waitFor(b, "a home view", func(s string) bool { return strings.Contains(s, "20 000") })
	time.Sleep(time.Second)
	before := bs.rss(b)
	start := time.Now()
	for i := range n {
		c := bs.client(b)
		term := openSSHTerm(b, c, "", 140, 30)
		term.waitFor(b, "home view "+strconv.Itoa(i), func(s string) bool { return strings.Contains(s, "20 000") })
	}
	opened := time.Since(start)
	time.Sleep(2 * time.Second) // a few redraws, the collector's work
	after := bs.rss(b)
	return func() {
		b.ReportMetric(float64(n), "sessions")
		b.ReportMetric(float64(after-before)/float64(n), "RSS-B/session")
		b.ReportMetric(float64(after)/(1<<20), "RSS-MB")
		b.ReportMetric(opened.Seconds()*1000/float64(n), "ms/session-opened")
	}
}

func benchSessions() int {
	if n, err := strconv.Atoi(os.Getenv("WXSCOPE_BENCH_SESSIONS")); err == nil && n > 0 {
		return n
	}
	return 100
}

func BenchmarkServeLookups(b *testing.B) {
	bs := startBenchServer(b, 64)
	bs.lookups(b)
}

func BenchmarkServeLookupsWithTUIsHeld(b *testing.B) {
	n := benchSessions()
	bs := startBenchServer(b, n+16)
	report := bs.holdTUIs(b, n)
	bs.lookups(b)
	report()
}
