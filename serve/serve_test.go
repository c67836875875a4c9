package serve

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"wxscope/config"
)

// Only the listed keys get in. An unknown key, a password and
// keyboard-interactive answers are all refused before any session starts
// (no session, no audit line), and the server's log names the refused key.
func TestOnlyListedKeysGetIn(t *testing.T) {
	lin := newPerson(t, 1, "lin", config.RoleSupport)
	stranger := newPerson(t, 9, "stranger", config.RoleOperator)
	ts := startServer(t, []person{lin})

	for name, auth := range map[string]gossh.AuthMethod{
		"an unknown key": gossh.PublicKeys(stranger.signer),
		"a password":     gossh.Password("hunter2"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"hunter2"}, nil
		}),
	} {
		if c, err := ts.dial(auth); err == nil {
			c.Close()
			t.Errorf("%s logged in", name)
		} else if !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("%s: %v, want the handshake refused", name, err)
		}
	}
	ts.waitLog(t, "it offered only keys not in [[serve.user]]: "+gossh.FingerprintSHA256(stranger.signer.PublicKey()))
	ts.waitLog(t, "it offered no key (only public keys are accepted)")
	if strings.Contains(ts.log.String(), "hunter2") {
		t.Errorf("the log shows a password:\n%s", ts.log.String())
	}

	// A client offering the unknown key first, then the listed one, gets
	// in as the user of the key it signed with.
	c, err := ts.dial(gossh.PublicKeys(stranger.signer, lin.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := run(t, c, "lookup oX"); r.code != 0 || r.stdout != "found oX for lin\n" {
		t.Errorf("lookup as lin: %+v", r)
	}
	lines := ts.waitAudit(t, 1)
	if len(lines) != 1 || lines[0].User != "lin" || lines[0].Key != gossh.FingerprintSHA256(lin.signer.PublicKey()) {
		t.Errorf("audit: %+v", lines)
	}
}

// What each role may run: support the TUI read-only and the read
// commands, an operator sync as well; anything else exits 2 with one
// sentence, and every session is in the audit log with its exit status.
func TestRolesDecideWhatRuns(t *testing.T) {
	lin := newPerson(t, 1, "lin", config.RoleSupport)
	wu := newPerson(t, 2, "wu", config.RoleOperator)
	ts := startServer(t, []person{lin, wu})
	lc, wc := ts.login(t, lin), ts.login(t, wu)

	tests := []struct {
		who    string
		cmd    string
		code   int
		output string
	}{
		{"lin", "lookup oLIN --json", 0, "found oLIN --json for lin\n"},
		{"lin", "sync", 2, "wxscope: lin has the support role, which may not run sync; the commands for support are lookup, links, export, doctor, resolve, help, version, and an operator can run sync\n"},
		{"lin", "lookup oX --live", 2, "wxscope: lin has the support role, which answers lookups from the cache; --live asks the API, which an operator can do\n"},
		{"lin", "lookup oX --config /etc/passwd", 2, "wxscope: over SSH every command uses the server's configuration; run it without --config\n"},
		{"lin", "demo", 2, "wxscope: \"demo\" is not a command wxscope serves over SSH; the commands are lookup, links, export, doctor, resolve, help, version\n"},
		{"wu", "sync --app news", 0, "synced\n"},
		{"wu", "serve", 2, "wxscope: \"serve\" is not a command wxscope serves over SSH; the commands are lookup, links, export, doctor, resolve, help, version, sync\n"},
		{"wu", "--bogus", 2, "wxscope: \"--bogus\" is no command; over SSH the TUI takes only --readonly, and a command goes first, as in lookup ID --json\n"},
	}
	for _, tt := range tests {
		r := run(t, map[string]*gossh.Client{"lin": lc, "wu": wc}[tt.who], tt.cmd)
		got := r.stdout + r.stderr
		if r.code != tt.code || got != tt.output {
			t.Errorf("%s: %q: exit %d, output %q; want %d, %q", tt.who, tt.cmd, r.code, got, tt.code, tt.output)
		}
	}
	lines := ts.waitAudit(t, len(tests))
	for i, tt := range tests {
		l := lines[i]
		p := map[string]person{"lin": lin, "wu": wu}[tt.who]
		if l.User != tt.who || l.Key != gossh.FingerprintSHA256(p.signer.PublicKey()) || l.Command != tt.cmd || l.Exit != tt.code ||
			!strings.HasPrefix(l.Remote, "127.0.0.1:") {
			t.Errorf("audit line %d = %+v, want user %s, command %q, exit %d", i, l, tt.who, tt.cmd, tt.code)
		}
		if _, err := time.Parse(time.RFC3339, l.Time); err != nil {
			t.Errorf("audit line %d: time %q: %v", i, l.Time, err)
		}
	}
}

// The TUI: read-only for support, and for an operator who asks with
// --readonly; it needs a terminal; what a person looks up in it is audited.
func TestTheTUIFollowsTheRole(t *testing.T) {
	lin := newPerson(t, 1, "lin", config.RoleSupport)
	wu := newPerson(t, 2, "wu", config.RoleOperator)
	ts := startServer(t, []person{lin, wu})

	for _, tt := range []struct {
		p        person
		cmd      string
		readOnly bool
	}{{lin, "", true}, {wu, "", false}, {wu, "--readonly", true}, {lin, "--readonly", true}} {
		term := openTerminal(t, ts.login(t, tt.p), tt.cmd)
		term.waitFor(t, "TUI for "+tt.p.user.Name+" read-only="+map[bool]string{true: "true", false: "false"}[tt.readOnly])
		term.in.Write([]byte("l"))
		term.in.Write([]byte("q"))
		if code := term.wait(t); code != 0 {
			t.Errorf("%s %q: the TUI exited %d", tt.p.user.Name, tt.cmd, code)
		}
	}
	r := run(t, ts.login(t, lin), "")
	if r.code != 2 || !strings.Contains(r.stderr, "the TUI needs a terminal") {
		t.Errorf("the TUI without a terminal: %+v", r)
	}
	lines := ts.waitAudit(t, 9)
	var lookups, sessions int
	for _, l := range lines {
		switch l.Command {
		case "(tui) lookup oX":
			lookups++
		case "(tui)", "(tui) --readonly":
			sessions++
		}
	}
	if lookups != 4 || sessions != 5 {
		t.Errorf("audit: %d TUI lookups (want 4), %d TUI sessions (want 5): %+v", lookups, sessions, lines)
	}
}

// A command gets the server's environment, never the client's: the
// variables the client sends reach no command (nor a token_command
// through it); only how to draw follows the client's terminal.
func TestTheClientsEnvironmentNeverReachesACommand(t *testing.T) {
	wu := newPerson(t, 2, "wu", config.RoleOperator)
	ts := startServer(t, []person{wu})
	c := ts.login(t, wu)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"WX_NEWS_SECRET": "from-the-client", "PATH": "/tmp/evil", "LD_PRELOAD": "/tmp/evil.so", "HOME": "/tmp"} {
		if err := sess.Setenv(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := sess.CombinedOutput("doctor WX_NEWS_SECRET PATH LD_PRELOAD HOME TERM NO_COLOR")
	if err != nil {
		t.Fatal(err)
	}
	want := "WX_NEWS_SECRET=server-secret-0123456789abcdef\nPATH=/usr/bin:/bin\nLD_PRELOAD=\nHOME=/home/wx\nTERM=\nNO_COLOR=\npty=false size=0x0 profile=NoTTY\n"
	if string(out) != want {
		t.Errorf("without a terminal the command sees\n%s\nwant\n%s", out, want)
	}

	term := openTerminal(t, c, "doctor PATH TERM NO_COLOR COLORTERM", "NO_COLOR", "1", "PATH", "/tmp/evil")
	if code := term.wait(t); code != 0 {
		t.Fatalf("exit %d: %q", code, term.output())
	}
	want = "PATH=/usr/bin:/bin\r\nTERM=xterm-256color\r\nNO_COLOR=1\r\nCOLORTERM=\r\npty=true size=100x30 profile=Ascii\r\n"
	if term.output() != want {
		t.Errorf("on a terminal with NO_COLOR the command sees\n%q\nwant\n%q", term.output(), want)
	}
}

// Ctrl+C on a terminal interrupts the command, as it would locally.
func TestCtrlCInterruptsACommandOnATerminal(t *testing.T) {
	wu := newPerson(t, 2, "wu", config.RoleOperator)
	ts := startServer(t, []person{wu})
	term := openTerminal(t, ts.login(t, wu), "links")
	time.Sleep(100 * time.Millisecond)
	term.in.Write([]byte{0x03})
	if code := term.wait(t); code != 1 || !strings.Contains(term.output(), "interrupted") {
		t.Errorf("after ctrl+c: exit %d, %q", code, term.output())
	}
}

// A session without input (and, for a command, without output) for the
// idle timeout ends with a line saying so; one that keeps talking lives on.
func TestIdleSessionsEnd(t *testing.T) {
	wu := newPerson(t, 2, "wu", config.RoleOperator)
	ts := startServer(t, []person{wu}, func(o *Options) { o.Serve.IdleTimeout = 300 * time.Millisecond })
	c := ts.login(t, wu)

	tui := openTerminal(t, c, "")
	tui.waitFor(t, "TUI for wu")
	busy := openTerminal(t, c, "export")
	start := time.Now()
	r := run(t, c, "links")
	if took := time.Since(start); r.code != 1 || !strings.Contains(r.stderr, "this session was idle for 300ms, so it ends; connect again to go on") || took > 3*time.Second {
		t.Errorf("an idle command: %+v after %v", r, took)
	}
	if code := tui.wait(t); code != 1 || !strings.Contains(tui.output(), "this session was idle for 300ms") {
		t.Errorf("an idle TUI: exit %d, %q", code, tui.output())
	}
	select {
	case err := <-busy.done:
		t.Errorf("a command writing all the time ended as idle: %v", err)
	default:
	}
}

// No more than max_sessions at once: the next one is told, and gets in
// once one ends.
func TestSessionCap(t *testing.T) {
	wu := newPerson(t, 2, "wu", config.RoleOperator)
	ts := startServer(t, []person{wu}, func(o *Options) { o.Serve.MaxSessions = 2 })
	c := ts.login(t, wu)
	a := openTerminal(t, c, "")
	a.waitFor(t, "TUI for wu")
	b := openTerminal(t, c, "")
	b.waitFor(t, "TUI for wu")
	r := run(t, c, "lookup oX")
	if r.code != 1 || r.stderr != "wxscope: the server holds 2 sessions, as many as [serve] max_sessions allows; try again in a while\n" {
		t.Errorf("a third session: %+v", r)
	}
	a.in.Write([]byte("q"))
	a.wait(t)
	if r := run(t, c, "lookup oX"); r.code != 0 {
		t.Errorf("after one ended: %+v", r)
	}
}

// Failed logins are limited per address: past the budget an address is
// refused before the handshake, even with a good key, while another
// address still gets in.
func TestFailedLoginsAreLimitedPerAddress(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs 127.0.0.2 on the loopback interface")
	}
	wu := newPerson(t, 2, "wu", config.RoleOperator)
	stranger := newPerson(t, 9, "stranger", config.RoleOperator)
	ts := startServer(t, []person{wu}, func(o *Options) { o.FailedLogins, o.FailedLoginEvery = 3, time.Hour })
	for range 3 {
		if c, err := ts.dialFrom("127.0.0.3", gossh.PublicKeys(stranger.signer)); err == nil {
			c.Close()
			t.Fatal("an unknown key got in")
		}
	}
	if c, err := ts.dialFrom("127.0.0.3", gossh.PublicKeys(wu.signer)); err == nil {
		c.Close()
		t.Error("a listed key got in from an address past its failed logins")
	}
	c, err := ts.dialFrom("127.0.0.4", gossh.PublicKeys(wu.signer))
	if err != nil {
		t.Fatalf("another address: %v", err)
	}
	c.Close()
	ts.waitLog(t, "refusing connections from 127.0.0.3 for a while: too many failed logins")
}

// SIGTERM (the server's context ending) tells every session in a line,
// ends them, refuses new ones and returns within the grace period.
func TestShutdownTellsEverySession(t *testing.T) {
	lin := newPerson(t, 1, "lin", config.RoleSupport)
	wu := newPerson(t, 2, "wu", config.RoleOperator)
	ts := startServer(t, []person{lin, wu})
	tui := openTerminal(t, ts.login(t, lin), "")
	tui.waitFor(t, "TUI for lin")
	cmd := openTerminal(t, ts.login(t, wu), "links")
	export := openTerminal(t, ts.login(t, wu), "export")
	export.waitFor(t, "row 3")
	time.Sleep(50 * time.Millisecond)

	start := time.Now()
	ts.stop(t)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("shutdown took %v", took)
	}
	const told = "wxscope: the server is shutting down, so this session ends"
	for name, term := range map[string]*terminal{"the TUI": tui, "a waiting command": cmd, "an export": export} {
		if code := term.wait(t); code != 1 || !strings.Contains(term.output(), told) {
			t.Errorf("%s: exit %d, output ends %q", name, code, tail(term.output()))
		}
	}
	if c, err := ts.dial(gossh.PublicKeys(wu.signer)); err == nil {
		c.Close()
		t.Error("a login after the shutdown got in")
	}
	lines := ts.waitAudit(t, 3)
	for _, l := range lines {
		if l.Exit != 1 {
			t.Errorf("audit after shutdown: %+v", l)
		}
	}
}

func tail(s string) string {
	if len(s) > 200 {
		return s[len(s)-200:]
	}
	return s
}

// A client that goes away mid-command leaves nothing running: the
// command's context ends, its goroutines and the session's return.
func TestADisconnectLeavesNothingBehind(t *testing.T) {
	wu := newPerson(t, 2, "wu", config.RoleOperator)
	ts := startServer(t, []person{wu})
	warm := ts.login(t, wu)
	run(t, warm, "lookup oX")
	before := runtime.NumGoroutine()

	for range 10 {
		c, err := ts.dial(gossh.PublicKeys(wu.signer))
		if err != nil {
			t.Fatal(err)
		}
		export := openTerminal(t, c, "export")
		export.waitFor(t, "row 2")
		tui := openTerminal(t, c, "")
		tui.waitFor(t, "TUI for wu")
		c.Close()
	}
	lines := ts.waitAudit(t, 21)
	for _, l := range lines[1:] {
		if l.Exit != 1 {
			t.Errorf("a session cut off mid-way: %+v", l)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after the disconnects, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The host key is made once, 0600, and the same key is used on the next
// start; a key others can read is refused.
func TestHostKeyIsMadeOnceAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wxscope", "ssh_host_ed25519_key")
	first, made, err := LoadHostKey(path)
	if err != nil || !made {
		t.Fatalf("first start: %v, made %v", err, made)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v, mode %v", err, fi.Mode())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("the key's folder has mode %v", di.Mode().Perm())
	}
	if _, ok := first.PublicKey().(gossh.CryptoPublicKey).CryptoPublicKey().(ed25519.PublicKey); !ok {
		t.Errorf("the host key is %s, not ed25519", first.PublicKey().Type())
	}
	again, made, err := LoadHostKey(path)
	if err != nil || made || string(again.PublicKey().Marshal()) != string(first.PublicKey().Marshal()) {
		t.Fatalf("second start: %v, made %v, same key %v", err, made, err == nil && string(again.PublicKey().Marshal()) == string(first.PublicKey().Marshal()))
	}
	if pub, err := os.ReadFile(path + ".pub"); err != nil || !strings.HasPrefix(string(pub), "ssh-ed25519 ") {
		t.Errorf("the public half: %q, %v", pub, err)
	}
	os.Chmod(path, 0o644)
	if _, _, err := LoadHostKey(path); err == nil || !strings.Contains(err.Error(), "can be read by others (mode 0644); run chmod 600") {
		t.Errorf("a readable host key: %v", err)
	}
}

func TestDefaultPathsFollowXDG(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tt := range []struct {
		env         map[string]string
		key, audit  string
		errContains string
	}{
		{map[string]string{"HOME": "/home/wx"}, "/home/wx/.local/share/wxscope/ssh_host_ed25519_key", "/home/wx/.local/state/wxscope/audit.jsonl", ""},
		{map[string]string{"HOME": "/home/wx", "XDG_DATA_HOME": "/d", "XDG_STATE_HOME": "/s"}, "/d/wxscope/ssh_host_ed25519_key", "/s/wxscope/audit.jsonl", ""},
		{map[string]string{"HOME": "/home/wx", "XDG_DATA_HOME": "rel", "XDG_STATE_HOME": "rel"}, "/home/wx/.local/share/wxscope/ssh_host_ed25519_key", "/home/wx/.local/state/wxscope/audit.jsonl", ""},
		{map[string]string{}, "", "", "nor $HOME"},
	} {
		key, kerr := DefaultHostKeyPath(env(tt.env))
		audit, aerr := DefaultAuditPath(env(tt.env))
		if tt.errContains != "" {
			if kerr == nil || aerr == nil || !strings.Contains(kerr.Error(), tt.errContains) {
				t.Errorf("%v: %v, %v", tt.env, kerr, aerr)
			}
			continue
		}
		if key != tt.key || audit != tt.audit || kerr != nil || aerr != nil {
			t.Errorf("%v: %s, %s (%v, %v)", tt.env, key, audit, kerr, aerr)
		}
	}
}

// Permit reads flags as the flag package does, wherever they stand.
func TestPermit(t *testing.T) {
	lin := config.ServeUser{Name: "lin", Role: config.RoleSupport}
	wu := config.ServeUser{Name: "wu", Role: config.RoleOperator}
	for _, tt := range []struct {
		u    config.ServeUser
		args []string
		want Plan
		err  string
	}{
		{lin, nil, Plan{TUI: true, ReadOnly: true}, ""},
		{wu, nil, Plan{TUI: true}, ""},
		{wu, []string{"-readonly"}, Plan{TUI: true, ReadOnly: true}, ""},
		{wu, []string{"--readonly", "x"}, Plan{}, "no command"},
		{lin, []string{"-h"}, Plan{Command: "help", Args: []string{"-h"}}, ""},
		{lin, []string{"--version"}, Plan{Command: "version", Args: []string{"--version"}}, ""},
		{lin, []string{"export", "--format", "csv"}, Plan{Command: "export", Args: []string{"export", "--format", "csv"}}, ""},
		{lin, []string{"resolve", "--app", "news"}, Plan{Command: "resolve", Args: []string{"resolve", "--app", "news", "--offline"}}, ""},
		{wu, []string{"resolve", "--app", "news"}, Plan{Command: "resolve", Args: []string{"resolve", "--app", "news"}}, ""},
		{lin, []string{"lookup", "x", "-live=true"}, Plan{}, "--live asks the API"},
		{wu, []string{"lookup", "x", "-live"}, Plan{Command: "lookup", Args: []string{"lookup", "x", "-live"}}, ""},
		{wu, []string{"sync", "-config=/x"}, Plan{}, "without --config"},
		{wu, []string{"sync", "--", "--config"}, Plan{}, "without --config"},
		{lin, []string{"lookup", "--configure"}, Plan{Command: "lookup", Args: []string{"lookup", "--configure"}}, ""},
		{lin, []string{"sync\x1b[2J"}, Plan{}, `"sync\x1b[2J" is not a command`},
	} {
		got, err := Permit(tt.u, tt.args)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Permit(%s, %q) = %+v, %v; want an error with %q", tt.u.Role, tt.args, got, err, tt.err)
		case tt.err == "" && (err != nil || !reflect.DeepEqual(got, tt.want)):
			t.Errorf("Permit(%s, %q) = %+v, %v; want %+v", tt.u.Role, tt.args, got, err, tt.want)
		}
	}
}

// FuzzPermit: whatever the command line, Permit never panics, never lets
// support sync or pass --config, and its sentences carry no raw control
// character a client could have put there.
func FuzzPermit(f *testing.F) {
	f.Add("lookup\x00oX\x00--json", true)
	f.Add("sync\x00--app\x00news", false)
	f.Add("--readonly", false)
	f.Add("lookup\x00--config=/etc/passwd", true)
	f.Add("\x1b]0;x\x07", false)
	f.Fuzz(func(t *testing.T, line string, support bool) {
		var args []string
		if line != "" {
			args = strings.Split(line, "\x00")
		}
		u := config.ServeUser{Name: "u", Role: config.RoleOperator}
		if support {
			u.Role = config.RoleSupport
		}
		plan, err := Permit(u, args)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\x00\x1b\x07\r\n") {
				t.Fatalf("sentence carries a control character: %q", err.Error())
			}
			return
		}
		for _, a := range args {
			if isFlag(a, "config") {
				t.Fatalf("permitted --config: %q", args)
			}
		}
		if support && (plan.Command == "sync" || (plan.TUI && !plan.ReadOnly)) {
			t.Fatalf("support permitted %+v for %q", plan, args)
		}
		if !plan.TUI && plan.Command == "" {
			t.Fatalf("an empty plan for %q", args)
		}
	})
}
