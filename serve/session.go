package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"github.com/charmbracelet/colorprofile"
	gossh "golang.org/x/crypto/ssh"

	"wxscope/config"
)

// Session is one SSH session as a command or the TUI sees it.
type Session struct {
	User   config.ServeUser
	Key    string // the SHA256 fingerprint of the key it logged in with
	Remote string // the client's address

	// The session's streams. With a terminal (PTY) Stdout and Stderr turn
	// "\n" into "\r\n", as a terminal's line discipline would.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// PTY says whether the client asked for a terminal; Term is its TERM.
	PTY  bool
	Term string
	// Profile is the colour profile of the client's terminal: from its TERM
	// and the NO_COLOR or COLORTERM the client sent, NoTTY without a PTY.
	Profile colorprofile.Profile
	// Environ is the terminal's environment for a program drawing on it:
	// TERM, and COLORTERM or NO_COLOR as the profile says.
	Environ []string
	// Getenv is the environment a command of this session runs with: the
	// server's own, except that the variables saying how to draw (TERM,
	// NO_COLOR, COLORTERM, ...) describe the session's terminal. No
	// variable the client sent is in it: a client cannot reach the
	// secrets' variables, PATH or what a token_command sees.
	Getenv func(string) string
	// Audit appends a line for something done inside the session, such as
	// a person looked up in the TUI.
	Audit func(command string, exit int)

	width, height atomic.Int32
}

// Size is the session's window size, 0×0 without a terminal.
func (s *Session) Size() (width, height int) {
	return int(s.width.Load()), int(s.height.Load())
}

// The reasons a session ends other than its command's own end.
var (
	errShutdown    = errors.New("the server is shutting down")
	errIdle        = errors.New("the session was idle")
	errInterrupted = errors.New("interrupted from the client")
	errGone        = errors.New("the client went away")
)

// liveSession is a session the server may have to end.
type liveSession struct {
	cancel context.CancelCauseFunc
}

// handle is the wish middleware that runs every session.
func (s *Server) handle(ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		code, admitted := s.session(sess)
		_ = sess.Exit(code)
		if admitted {
			// Only now: the shutdown waits for the exit status to be sent.
			s.wg.Done()
		}
	}
}

// session runs one session to its end and returns its exit status, and
// whether it was admitted (and so counted in s.wg).
func (s *Server) session(sess ssh.Session) (code int, admitted bool) {
	// The user of the key the connection authenticated with, looked up
	// again: the key handler also saw keys that were only offered.
	key := sess.PublicKey()
	var user config.ServeUser
	ok := key != nil
	if ok {
		user, ok = s.opts.Serve.UserByKey(key)
	}
	if !ok {
		fmt.Fprintln(sess.Stderr(), "wxscope: this key may not log in here")
		return 1, false
	}
	command := sess.RawCommand()
	line := AuditLine{User: user.Name, Key: gossh.FingerprintSHA256(key), Remote: sess.RemoteAddr().String(), Command: command}
	audit := func(exit int) {
		line.Exit = exit
		if err := s.opts.Audit.Write(line); err != nil {
			s.logf("%v", err)
		}
	}

	ctx, ls, err := s.admit(sess.Context())
	if err != nil {
		fmt.Fprintln(sess.Stderr(), "wxscope: "+err.Error())
		audit(1)
		return 1, false
	}
	defer s.release(ls)

	plan, err := Permit(user, sess.Command())
	if err != nil {
		fmt.Fprintln(sess.Stderr(), "wxscope: "+err.Error())
		audit(2)
		return 2, true
	}
	if plan.TUI {
		line.Command = strings.TrimSpace("(tui) " + command)
	}

	ss := s.newSession(sess, user, line)
	pty, winch, isPty := sess.Pty()
	if isPty {
		ss.width.Store(int32(pty.Window.Width))
		ss.height.Store(int32(pty.Window.Height))
	}
	act := &activity{}
	act.touch()
	go s.watch(ctx, ls.cancel, act)

	if plan.TUI {
		if !isPty {
			fmt.Fprintln(ss.Stderr, "wxscope: the TUI needs a terminal; connect with ssh -t, or run a command such as lookup ID --json")
			audit(2)
			return 2, true
		}
		ss.Stdin = activeReader{sess, act}
		code = s.runTUI(ctx, ss, winch, plan.ReadOnly)
	} else {
		ss.Stdin = activeReader{sess, act}
		ss.Stdout = activeWriter{ss.Stdout, act}
		ss.Stderr = activeWriter{ss.Stderr, act}
		if isPty {
			go follow(ctx, ss, winch, nil)
			in, stop := interruptible(sess, act, func() { ls.cancel(errInterrupted) })
			defer stop()
			ss.Stdin = in
		}
		code = s.opts.Command(ctx, ss, plan.Args)
	}

	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errShutdown):
		fmt.Fprintln(sess.Stderr(), "wxscope: the server is shutting down, so this session ends; what the syncs fetched is saved, and the server is back when it restarts")
		code = max(code, 1)
	case errors.Is(cause, errIdle):
		fmt.Fprintf(sess.Stderr(), "wxscope: this session was idle for %v, so it ends; connect again to go on\n", s.opts.Serve.IdleTimeout)
		code = max(code, 1)
	case errors.Is(cause, errInterrupted):
		code = max(code, 1)
	}
	audit(code)
	return code, true
}

// admit registers a session, refusing it while shutting down or at the
// cap. Its context ends with the connection, at shutdown, when it idles
// and when the client interrupts it.
func (s *Server) admit(conn context.Context) (context.Context, *liveSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return nil, nil, errShutdown
	case len(s.sessions) >= s.opts.Serve.MaxSessions:
		return nil, nil, fmt.Errorf("the server holds %d sessions, as many as [serve] max_sessions allows; try again in a while", len(s.sessions))
	}
	ctx, cancel := context.WithCancelCause(conn)
	ls := &liveSession{cancel: cancel}
	s.sessions[ls] = struct{}{}
	s.wg.Add(1)
	return ctx, ls, nil
}

func (s *Server) release(ls *liveSession) {
	ls.cancel(errGone) // ends the session's goroutines
	s.mu.Lock()
	delete(s.sessions, ls)
	s.mu.Unlock()
}

// newSession is the Session of sess for user: its streams, its terminal,
// its environment.
func (s *Server) newSession(sess ssh.Session, user config.ServeUser, line AuditLine) *Session {
	ss := &Session{User: user, Key: line.Key, Remote: line.Remote,
		Stdin: sess, Stdout: sess, Stderr: sess.Stderr(), Profile: colorprofile.NoTTY}
	if pty, _, ok := sess.Pty(); ok {
		ss.PTY, ss.Term = true, pty.Term
		ss.Profile = sessionProfile(pty.Term, sess.Environ())
	}
	ss.Environ = terminalEnviron(ss.PTY, ss.Term, ss.Profile)
	ss.Getenv = sessionGetenv(s.opts.Getenv, ss.Environ)
	ss.Audit = func(command string, exit int) {
		l := line
		l.Command, l.Exit = "(tui) "+command, exit
		if err := s.opts.Audit.Write(l); err != nil {
			s.logf("%v", err)
		}
	}
	return ss
}

// displayVars are the variables that say how to draw on a terminal. A
// session's come from its terminal, never from the server's (whose
// terminal, if any, is not the client's).
var displayVars = []string{"TERM", "COLORTERM", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TTY_FORCE",
	"TMUX", "TERM_PROGRAM", "WT_SESSION", "COLORFGBG", "GOOGLE_CLOUD_SHELL"}

// sessionProfile is the colour profile of a client's terminal: what its
// TERM supports, lowered by a NO_COLOR the client sent or raised by its
// COLORTERM. The client's variables decide only this, how output is
// coloured on its own screen.
func sessionProfile(term string, clientEnv []string) colorprofile.Profile {
	environ := []string{"TERM=" + term}
	for _, kv := range clientEnv {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NO_COLOR", "COLORTERM", "CLICOLOR", "CLICOLOR_FORCE":
			environ = append(environ, kv)
		}
	}
	p := colorprofile.Env(environ)
	if p > colorprofile.ASCII && p < colorprofile.TrueColor {
		p = max(p, colorprofile.Terminfo(term))
	}
	return p
}

// terminalEnviron describes the session's terminal to a program, in the
// variables colour detection reads: TERM, TTY_FORCE (the output is a
// terminal, though not a file), and COLORTERM or NO_COLOR for the profile.
func terminalEnviron(pty bool, term string, p colorprofile.Profile) []string {
	if !pty {
		return nil
	}
	env := []string{"TERM=" + term, "TTY_FORCE=1"}
	switch {
	case p == colorprofile.TrueColor:
		env = append(env, "COLORTERM=truecolor")
	case p <= colorprofile.ASCII:
		env = append(env, "NO_COLOR=1")
	}
	return env
}

// sessionGetenv is the server's environment with the display variables
// replaced by the session's terminal's.
func sessionGetenv(server func(string) string, terminal []string) func(string) string {
	return func(k string) string {
		for _, d := range displayVars {
			if k != d {
				continue
			}
			for _, kv := range terminal {
				if v, ok := strings.CutPrefix(kv, k+"="); ok {
					return v
				}
			}
			return ""
		}
		return server(k)
	}
}

// runTUI runs the TUI on the session's terminal until the user quits or
// ctx ends, as wish's bubbletea middleware does: window changes become
// tea.WindowSizeMsgs, and suspending is refused (ctrl+z would stop the
// server, not the client).
func (s *Server) runTUI(ctx context.Context, ss *Session, winch <-chan ssh.Window, readOnly bool) int {
	m, closeTUI, err := s.opts.TUI(ctx, ss, readOnly)
	if err != nil {
		fmt.Fprintln(ss.Stderr, "wxscope: "+err.Error())
		return 1
	}
	defer closeTUI()
	w, h := ss.Size()
	p := tea.NewProgram(m,
		tea.WithContext(ctx),
		tea.WithInput(ss.Stdin),
		tea.WithOutput(ss.Stdout),
		tea.WithEnvironment(ss.Environ),
		tea.WithColorProfile(ss.Profile),
		tea.WithWindowSize(w, h),
		tea.WithoutSignalHandler(),
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			if _, ok := msg.(tea.SuspendMsg); ok {
				return tea.ResumeMsg{}
			}
			return msg
		}),
	)
	running, stop := context.WithCancel(ctx)
	resized := make(chan struct{})
	go func() {
		defer close(resized)
		follow(running, ss, winch, p)
	}()
	_, err = p.Run()
	p.Kill()
	stop()
	<-resized
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		fmt.Fprintln(ss.Stderr, "wxscope: the terminal UI stopped: "+err.Error())
		return 1
	}
	if err != nil {
		return 1 // ended from outside: the client left, idle, shutdown
	}
	return 0
}

// follow keeps the session's window size, and tells p of each change,
// until ctx ends or the client closes the session. It also drains the
// window changes of a command that draws no screen: the SSH library queues
// them one at a time and would stop answering the session's requests.
func follow(ctx context.Context, ss *Session, winch <-chan ssh.Window, p *tea.Program) {
	for {
		select {
		case <-ctx.Done():
			return
		case win, ok := <-winch:
			if !ok {
				return
			}
			ss.width.Store(int32(win.Width))
			ss.height.Store(int32(win.Height))
			if p != nil {
				p.Send(tea.WindowSizeMsg{Width: win.Width, Height: win.Height})
			}
		}
	}
}

// activity is when a session last saw input (or, for a command, output).
type activity struct{ last atomic.Int64 }

func (a *activity) touch() { a.last.Store(time.Now().UnixNano()) }

func (a *activity) idle() time.Duration { return time.Since(time.Unix(0, a.last.Load())) }

type activeReader struct {
	r io.Reader
	a *activity
}

func (r activeReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.a.touch()
	}
	return n, err
}

type activeWriter struct {
	w io.Writer
	a *activity
}

func (w activeWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if n > 0 {
		w.a.touch()
	}
	return n, err
}

// watch ends the session with errIdle once act has been idle for the idle
// timeout.
func (s *Server) watch(ctx context.Context, cancel context.CancelCauseFunc, act *activity) {
	timeout := s.opts.Serve.IdleTimeout
	t := time.NewTicker(min(max(timeout/20, 10*time.Millisecond), 15*time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if act.idle() >= timeout {
				cancel(errIdle)
				return
			}
		}
	}
}

// interruptible is the stdin of a command run on a terminal. The client's
// terminal is in raw mode then, so ctrl+c arrives as a byte rather than a
// signal; it interrupts the command, as it would locally. The rest reaches
// the command until stop, which the session calls once the command
// returned; the goroutine reading r then ends with the session's channel.
func interruptible(r io.Reader, act *activity, interrupt func()) (in io.Reader, stop func()) {
	pr, pw := io.Pipe()
	stop = func() { pr.Close() }
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				act.touch()
				chunk := buf[:n]
				if i := strings.IndexByte(string(chunk), 0x03); i >= 0 {
					interrupt()
					chunk = chunk[:i]
				}
				if _, werr := pw.Write(chunk); werr != nil {
					return // stopped: nobody reads any more
				}
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr, stop
}
