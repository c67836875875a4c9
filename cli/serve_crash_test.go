package cli

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"wxscope/cache"
	"wxscope/serve"
	"wxscope/wechat/wechattest"
)

// serveProcess is a real `wxscope serve` process.
type serveProcess struct {
	cmd  *exec.Cmd
	addr string
	log  *lockedBuffer
	done chan error
}

var listeningLine = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// startServeBinary starts the binary's server over s's config, with its
// data and state in dir, and waits until it listens.
func startServeBinary(t testing.TB, s *simSetup, dir string) *serveProcess {
	t.Helper()
	cmd := exec.Command(wxscopeBinary(t), "serve", "--config", s.cfg)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_STATE_HOME=" + filepath.Join(dir, "state")}
	for k, v := range s.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: cmd, log: &lockedBuffer{}, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.log.Write([]byte(sc.Text() + "\n"))
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case p.addr = <-found:
	case err := <-p.done:
		t.Fatalf("wxscope serve exited before listening: %v\n%s", err, p.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("wxscope serve did not listen within 30 s:\n%s", p.log.String())
	}
	return p
}

// wait waits for the process to end and returns its exit status (-1 when
// a signal ended it).
func (p *serveProcess) wait(t testing.TB, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("wxscope serve did not exit within %v:\n%s", within, p.log.String())
		return 0
	}
}

// A real server killed with SIGKILL in the middle of a sync started over
// SSH loses nothing it wrote: the cache is consistent, the run resumable;
// the restarted server keeps its host key, and its sync ends with exactly
// the simulator's world, fetching only what the first had not. Then a
// SIGTERM tells the sessions and exits 0 within seconds.
func TestServeKilledMidSyncResumesAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it: not with -short")
	}
	wu := newMember(t, 2, "wu", "operator")
	lin := newMember(t, 1, "lin", "support")
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 43, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 8000, Unfollowed: 100},
		{Name: "shop", Platform: "P1", Followers: 3000, Unfollowed: 100},
	}})
	s := newSimSetup(t, world, "concurrency = 2\n"+serveSection("", wu, lin), wechattest.WithPageSize(500))
	s.srv.SetLatency(20 * time.Millisecond)
	dir := t.TempDir()

	first := startServeBinary(t, s, dir)
	hostKey, _, err := serve.LoadHostKey(filepath.Join(dir, "data", "wxscope", "ssh_host_ed25519_key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialServer(first.addr, hostKey.PublicKey(), wu.signer)
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := c.NewSession()
	if err := sess.Start("sync"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for n, _ := profilesCached(t, s.cache); n < 2000; n, _ = profilesCached(t, s.cache) {
		if time.Now().After(deadline) {
			t.Fatalf("the sync cached %d profiles in 30 s:\n%s", n, first.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = first.cmd.Process.Signal(syscall.SIGKILL)
	first.wait(t, 10*time.Second)
	if err := sess.Wait(); err == nil {
		t.Error("the sync's session ended well although its server was killed")
	}
	c.Close()

	store, err := cache.Open(s.cache, cache.Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	if err := store.Check(); err != nil {
		t.Fatalf("the cache is inconsistent after kill -9: %v", err)
	}
	store.Close()
	saved, inProgress := profilesCached(t, s.cache)
	if !inProgress || saved < 2000 {
		t.Fatalf("after kill -9: %d profiles, a run in progress %v", saved, inProgress)
	}
	batches := s.srv.Calls("/cgi-bin/user/info/batchget")

	// The same host key: a client that trusts the first server's key logs in.
	second := startServeBinary(t, s, dir)
	c2, err := dialServer(second.addr, hostKey.PublicKey(), wu.signer)
	if err != nil {
		t.Fatalf("the restarted server's host key is not the first's: %v", err)
	}
	defer c2.Close()
	if r := sshRun(t, c2, "sync"); r.code != 0 {
		t.Fatalf("the sync after the restart: %+v\n%s", r, second.log.String())
	}
	checkExport(t, s.export(t), s.world, nil)
	// 11 000 followers are 110 batches; those the killed run saved are not
	// fetched again (a batch in flight at the kill may be).
	if after := s.srv.Calls("/cgi-bin/user/info/batchget") - batches; after > 110-int(saved)/100+3 {
		t.Errorf("the resumed sync made %d batch calls with %d profiles saved", after, saved)
	}

	tuiClient, err := dialServer(second.addr, hostKey.PublicKey(), lin.signer)
	if err != nil {
		t.Fatal(err)
	}
	defer tuiClient.Close()
	tui := openSSHTerm(t, tuiClient, "", 140, 20)
	tui.waitFor(t, "the TUI", func(s string) bool { return strings.Contains(s, "read-only") })
	start := time.Now()
	_ = second.cmd.Process.Signal(syscall.SIGTERM)
	if code := second.wait(t, 10*time.Second); code != 0 {
		t.Errorf("after SIGTERM wxscope serve exited %d:\n%s", code, second.log.String())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("SIGTERM took %v to stop the server", took)
	}
	if tui.wait(t) == 0 || !strings.Contains(tui.text(), "the server is shutting down") {
		t.Errorf("the TUI was not told of the shutdown:\n%s", lastBytes(tui.text(), 500))
	}

	b, err := os.ReadFile(filepath.Join(dir, "state", "wxscope", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := decodeAudit(t, b)
	// The sync cut by kill -9 left no line (its server died); the second
	// server's sync and TUI did.
	if len(lines) != 2 || lines[0].Command != "sync" || lines[0].Exit != 0 || lines[0].User != "wu" ||
		lines[1].Command != "(tui)" || lines[1].User != "lin" || lines[1].Key != gossh.FingerprintSHA256(lin.signer.PublicKey()) {
		t.Errorf("the audit log: %+v", lines)
	}

}
