package serve

import (
	"bufio"
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
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	gossh "golang.org/x/crypto/ssh"

	"wxscope/config"
)

// A person of the tests: a key pair and the [[serve.user]] it is listed in.
type person struct {
	signer gossh.Signer
	user   config.ServeUser
}

func newPerson(t testing.TB, seed byte, name string, role config.Role) person {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), seed))
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return person{signer: signer, user: config.ServeUser{Name: name, Role: role, Keys: []gossh.PublicKey{signer.PublicKey()}}}
}

// testServer is a Server on a free loopback port with fake commands and a
// fake TUI, its audit log and its own log in a temporary folder.
type testServer struct {
	*Server
	addr    string
	hostKey gossh.PublicKey
	audit   string
	log     *syncBuffer
	cancel  context.CancelFunc
	done    chan error
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// serverEnv is the server's own environment in the tests.
var serverEnv = map[string]string{"WX_NEWS_SECRET": "server-secret-0123456789abcdef", "PATH": "/usr/bin:/bin", "HOME": "/home/wx", "TERM": "server-term", "NO_COLOR": ""}

// fakeCommand stands for cli.Run: each command line does something a test
// can see.
func fakeCommand(ctx context.Context, s *Session, args []string) int {
	switch args[0] {
	case "lookup":
		fmt.Fprintf(s.Stdout, "found %s for %s\n", strings.Join(args[1:], " "), s.User.Name)
		return 0
	case "sync":
		fmt.Fprintln(s.Stdout, "synced")
		return 0
	case "links": // waits for its context, printing nothing
		<-ctx.Done()
		fmt.Fprintln(s.Stderr, "wxscope: interrupted")
		return 1
	case "export": // writes until its context ends or the client is gone
		for i := 0; ; i++ {
			if ctx.Err() != nil {
				return 1
			}
			if _, err := fmt.Fprintf(s.Stdout, "row %d\n", i); err != nil {
				return 1
			}
			time.Sleep(5 * time.Millisecond)
		}
	case "doctor": // the environment it runs with
		for _, k := range args[1:] {
			fmt.Fprintf(s.Stdout, "%s=%s\n", k, s.Getenv(k))
		}
		w, h := s.Size()
		fmt.Fprintf(s.Stdout, "pty=%v size=%dx%d profile=%s\n", s.PTY, w, h, s.Profile)
		return 0
	}
	return 3
}

// fakeTUI is a screen that says who it is for and quits on q.
type fakeTUI struct {
	who      string
	readOnly bool
	audit    func(string, int)
}

func (m fakeTUI) Init() tea.Cmd { return nil }

func (m fakeTUI) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "q":
			return m, tea.Quit
		case "l":
			m.audit("lookup oX", 0)
		}
	}
	return m, nil
}

func (m fakeTUI) View() tea.View {
	return tea.NewView(fmt.Sprintf("TUI for %s read-only=%v", m.who, m.readOnly))
}

type serverOption func(*Options)

func startServer(t testing.TB, users []person, opts ...serverOption) *testServer {
	t.Helper()
	dir := t.TempDir()
	signer, made, err := LoadHostKey(filepath.Join(dir, "data", "ssh_host_ed25519_key"))
	if err != nil || !made {
		t.Fatalf("host key: %v (made %v)", err, made)
	}
	auditPath := filepath.Join(dir, "state", "audit.jsonl")
	audit, err := OpenAudit(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{hostKey: signer.PublicKey(), audit: auditPath, log: &syncBuffer{}, done: make(chan error, 1)}
	o := Options{
		Serve:   config.Serve{Listen: "127.0.0.1:0", IdleTimeout: time.Minute, MaxSessions: 32},
		HostKey: signer,
		Audit:   audit,
		Getenv:  func(k string) string { return serverEnv[k] },
		Command: fakeCommand,
		TUI: func(_ context.Context, s *Session, readOnly bool) (tea.Model, func(), error) {
			return fakeTUI{who: s.User.Name, readOnly: readOnly, audit: s.Audit}, func() {}, nil
		},
		Log:           ts.log,
		ShutdownGrace: 2 * time.Second,
	}
	for _, p := range users {
		o.Serve.Users = append(o.Serve.Users, p.user)
	}
	for _, f := range opts {
		f(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ts.Server, ts.addr = srv, srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	go func() { ts.done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		ts.stop(t)
		audit.Close()
	})
	return ts
}

// stop shuts the server down and waits for Serve to return.
func (ts *testServer) stop(t testing.TB) {
	t.Helper()
	ts.cancel()
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		ts.done <- nil // a second stop returns at once
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop within 10 s")
	}
}

// dial logs in with auth, trusting only the server's host key.
func (ts *testServer) dial(auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
		User:            "whoever",
		Auth:            auth,
		HostKeyCallback: gossh.FixedHostKey(ts.hostKey),
		Timeout:         5 * time.Second,
	})
}

func (ts *testServer) login(t testing.TB, p person) *gossh.Client {
	t.Helper()
	c, err := ts.dial(gossh.PublicKeys(p.signer))
	if err != nil {
		t.Fatalf("%s cannot log in: %v", p.user.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// result is what a command line over SSH gave.
type result struct {
	code           int
	stdout, stderr string
}

// run runs cmd in a new session of c, without a terminal.
func run(t testing.TB, c *gossh.Client, cmd string) result {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	return result{exitCode(t, sess.Run(cmd)), stdout.String(), stderr.String()}
}

func exitCode(t testing.TB, err error) int {
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

// terminal is a session with a PTY whose output a test reads as it comes.
type terminal struct {
	sess *gossh.Session
	in   io.WriteCloser
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func openTerminal(t testing.TB, c *gossh.Client, cmd string, env ...string) *terminal {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(env); i += 2 {
		if err := sess.Setenv(env[i], env[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.RequestPty("xterm-256color", 30, 100, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	term := &terminal{sess: sess, done: make(chan error, 1)}
	term.in, _ = sess.StdinPipe()
	sess.Stdout = lockedWriter{term}
	sess.Stderr = lockedWriter{term}
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

type lockedWriter struct{ t *terminal }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.t.mu.Lock()
	defer w.t.mu.Unlock()
	return w.t.out.Write(p)
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor waits until the output holds want.
func (term *terminal) waitFor(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(term.output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows:\n%q", want, term.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait waits for the session's end and returns its exit status.
func (term *terminal) wait(t testing.TB) int {
	t.Helper()
	select {
	case err := <-term.done:
		return exitCode(t, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("the session did not end; it shows:\n%q", term.output())
		return -1
	}
}

// auditLines reads the audit log.
func (ts *testServer) auditLines(t testing.TB) []AuditLine {
	t.Helper()
	f, err := os.Open(ts.audit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []AuditLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l AuditLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

// waitAudit waits until the audit log has n lines and returns them.
func (ts *testServer) waitAudit(t testing.TB, n int) []AuditLine {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines := ts.auditLines(t)
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit log has %d lines, want %d: %+v", len(lines), n, lines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialFrom connects from the local address ip (any of 127.0.0.0/8 reaches
// the server), to stand for another client machine.
func (ts *testServer) dialFrom(ip string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", ts.addr)
	if err != nil {
		return nil, err
	}
	c, chans, reqs, err := gossh.NewClientConn(conn, ts.addr, &gossh.ClientConfig{
		User: "whoever", Auth: auth, HostKeyCallback: gossh.FixedHostKey(ts.hostKey), Timeout: 5 * time.Second})
	if err != nil {
		conn.Close()
		return nil, err
	}
	return gossh.NewClient(c, chans, reqs), nil
}

// waitLog waits until the server's log holds want.
func (ts *testServer) waitLog(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ts.log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the server's log never said %q:\n%s", want, ts.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
