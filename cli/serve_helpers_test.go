package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"wxscope/cache"
	"wxscope/serve"
)

// teamMember is a person of the serve tests: a key pair and a role.
type teamMember struct {
	name, role string
	signer     gossh.Signer
}

func newMember(t testing.TB, seed byte, name, role string) teamMember {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), seed))
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return teamMember{name: name, role: role, signer: signer}
}

// serveSection is the [serve] config of members, listening on a free
// loopback port.
func serveSection(extra string, members ...teamMember) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[serve]\nlisten = \"127.0.0.1:0\"\n%s\n", extra)
	for _, m := range members {
		key := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(m.signer.PublicKey())))
		fmt.Fprintf(&b, "[[serve.user]]\nname = %q\nrole = %q\nkeys = [%q]\n\n", m.name, m.role, key+" "+m.name+"@laptop")
	}
	return b.String()
}

// teamServer is `wxscope serve` running in-process over a simSetup.
type teamServer struct {
	s       *simSetup
	addr    string
	hostKey gossh.PublicKey
	data    string // XDG_DATA_HOME
	state   string // XDG_STATE_HOME
	log     *lockedBuffer
	cancel  context.CancelFunc
	done    chan error
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startTeam runs the server of s's config (which holds a [serve] section).
func startTeam(t testing.TB, s *simSetup, hooks serveHooks) *teamServer {
	t.Helper()
	dir := t.TempDir()
	ts := &teamServer{s: s, data: filepath.Join(dir, "data"), state: filepath.Join(dir, "state"), log: &lockedBuffer{}, done: make(chan error, 1)}
	vars := map[string]string{"HOME": dir, "XDG_DATA_HOME": ts.data, "XDG_STATE_HOME": ts.state, "PATH": os.Getenv("PATH")}
	for k, v := range s.vars {
		vars[k] = v
	}
	env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: ts.log, Getenv: func(k string) string { return vars[k] }}
	ready := make(chan net.Addr, 1)
	hooks.ready = func(a net.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	go func() {
		ts.done <- func() error {
			cfg, err := env.loadConfig(s.cfg)
			if err != nil {
				return err
			}
			return serveTeam(ctx, env, cfg, hooks)
		}()
	}()
	select {
	case a := <-ready:
		ts.addr = a.String()
	case err := <-ts.done:
		t.Fatalf("the server did not start: %v\n%s", err, ts.log.String())
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not start within 10 s")
	}
	signer, _, err := serve.LoadHostKey(filepath.Join(ts.data, "wxscope", "ssh_host_ed25519_key"))
	if err != nil {
		t.Fatal(err)
	}
	ts.hostKey = signer.PublicKey()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop shuts the server down (SIGTERM, in-process) and waits for it.
func (ts *teamServer) stop(t testing.TB) {
	t.Helper()
	ts.cancel()
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("wxscope serve: %v\n%s", err, ts.log.String())
		}
		ts.done <- nil
	case <-time.After(15 * time.Second):
		t.Fatalf("wxscope serve did not stop within 15 s:\n%s", ts.log.String())
	}
}

func (ts *teamServer) login(t testing.TB, m teamMember) *gossh.Client {
	t.Helper()
	c, err := dialServer(ts.addr, ts.hostKey, m.signer)
	if err != nil {
		t.Fatalf("%s cannot log in: %v", m.name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialServer(addr string, hostKey gossh.PublicKey, signer gossh.Signer) (*gossh.Client, error) {
	return gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User: "whoever", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.FixedHostKey(hostKey), Timeout: 10 * time.Second,
	})
}

// sshRun runs cmd in a new session of c without a terminal.
func sshRun(t testing.TB, c *gossh.Client, cmd string, env ...string) result {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for i := 0; i+1 < len(env); i += 2 {
		if err := sess.Setenv(env[i], env[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	return result{sshExit(t, sess.Run(cmd)), stdout.String(), stderr.String()}
}

func sshExit(t testing.TB, err error) int {
	t.Helper()
	var exit *gossh.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitStatus()
	default:
		t.Fatalf("session: %v", err)
		return -1
	}
}

// sshTerm is a session with a terminal whose screen a test reads as it
// comes (raw: escape sequences and all).
type sshTerm struct {
	sess *gossh.Session
	in   io.WriteCloser
	out  *lockedBuffer
	done chan error
}

func openSSHTerm(t testing.TB, c *gossh.Client, cmd string, width, height int) *sshTerm {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", height, width, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	term := &sshTerm{sess: sess, out: &lockedBuffer{}, done: make(chan error, 1)}
	term.in, _ = sess.StdinPipe()
	sess.Stdout, sess.Stderr = term.out, term.out
	if cmd == "" {
		err = sess.Shell()
	} else {
		err = sess.Start(cmd)
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() { term.done <- sess.Wait() }()
	t.Cleanup(func() { sess.Close() })
	return term
}

var ansiSeq = regexp.MustCompile(`\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[=>PX^_]`)

// text is what the terminal received, escape sequences removed.
func (term *sshTerm) text() string { return ansiSeq.ReplaceAllString(term.out.String(), "") }

func (term *sshTerm) waitFor(t testing.TB, what string, cond func(text string) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond(term.text()) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %s; it shows the end of:\n%s", what, lastBytes(term.text(), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (term *sshTerm) wait(t testing.TB) int {
	t.Helper()
	select {
	case err := <-term.done:
		return sshExit(t, err)
	case <-time.After(20 * time.Second):
		t.Fatalf("the session did not end; it shows the end of:\n%s", lastBytes(term.text(), 3000))
		return -1
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// auditLines reads the server's audit log.
func (ts *teamServer) auditLines(t testing.TB) []serve.AuditLine {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ts.state, "wxscope", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeAudit(t, b)
}

func decodeAudit(t testing.TB, b []byte) []serve.AuditLine {
	t.Helper()
	var lines []serve.AuditLine
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var a serve.AuditLine
		dec := jsonDecoder(l)
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		lines = append(lines, a)
	}
	return lines
}

// profilesCached counts the cached profiles of every app.
func profilesCached(t testing.TB, path string) (n int64, inProgress bool) {
	t.Helper()
	store, err := cache.Open(path, cache.Options{Mode: cache.SharedReadOnly})
	if errors.Is(err, cache.ErrNoCache) {
		return 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	apps, err := store.Apps()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		n += a.Counts.Profiles
		inProgress = inProgress || a.Sync.InProgress
	}
	return n, inProgress
}

func jsonDecoder(s string) *json.Decoder {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	return dec
}

func numGoroutines() int { return runtime.NumGoroutine() }

func goroutineDump() string {
	buf := make([]byte, 8<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// sessionGoroutines counts the goroutines of SSH sessions and TUIs, server
// and client side: what a session that ended must not leave. The API
// client's idle keep-alive connections are the server's, and not counted,
// nor are the server's own two (serve.Server.Serve and the accept loop it
// starts): the server says it is ready before it starts the accept loop, so
// a count taken just after counted the loop or not as the scheduler had it,
// and on a loaded machine a count at the end found one more than at the
// start, with every session gone (1 run in 3 under -race).
func sessionGoroutines() int {
	n := 0
	for _, g := range strings.Split(goroutineDump(), "\n\n") {
		if strings.Contains(g, "wxscope/serve.(*Server).Serve(") || strings.Contains(g, "wxscope/serve.(*Server).Serve.func1(") {
			continue
		}
		for _, mark := range []string{"wxscope/serve.", "charm.land/bubbletea", "charm.land/ssh.", "golang.org/x/crypto/ssh.", "wxscope/ui.", "wxscope/cache."} {
			if strings.Contains(g, mark) {
				n++
				break
			}
		}
	}
	return n
}
