// Package serve is the SSH server of `wxscope serve`: one host holds the
// AppSecrets, the tokens, the cache and the syncs, and a team reaches it
// with their SSH keys (design.md, "Serving a team"). It is built on Charm's
// wish, as soft-serve is: public-key authentication against the
// [[serve.user]] tables, the roles, the audit log, idle and session limits,
// a rate limit on failed logins, and a shutdown that tells every session.
//
// The package knows nothing of the commands themselves: the caller (the
// serve command in package cli) hands it a function that runs a command
// line and one that builds the TUI, both over the server's one store and
// one set of syncs.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	gossh "golang.org/x/crypto/ssh"

	"wxscope/config"
)

// Options configure a Server.
type Options struct {
	// Serve is the [serve] section: the address, the idle timeout, the
	// session cap and the users.
	Serve config.Serve
	// HostKey is the host key (LoadHostKey).
	HostKey gossh.Signer
	// Audit is the audit log every session is written to.
	Audit *Audit
	// Getenv is the server's own environment. A session's Getenv is made
	// from it (see Session.Getenv); the client's environment never is.
	Getenv func(string) string
	// Command runs a headless command line for a session, writing to its
	// Stdout and Stderr, and returns the exit status.
	Command func(ctx context.Context, s *Session, args []string) int
	// TUI builds the TUI of a session; closeTUI runs once the program ended,
	// however it ended.
	TUI func(ctx context.Context, s *Session, readOnly bool) (m tea.Model, closeTUI func(), err error)
	// Log receives the server's own lines: where it listens, refused
	// logins, the shutdown. Nil discards them.
	Log io.Writer

	// Limits, zero for the defaults; tests shorten them.
	FailedLogins     int           // failed logins an address may make in a burst (default 10)
	FailedLoginEvery time.Duration // then one more every so often (default 30 s)
	HandshakeTimeout time.Duration // default 20 s
	ShutdownGrace    time.Duration // how long sessions get to end at shutdown (default 3 s)
}

// Defaults of the limits in Options.
const (
	DefaultFailedLogins     = 10
	DefaultFailedLoginEvery = 30 * time.Second
	DefaultHandshakeTimeout = 20 * time.Second
	DefaultShutdownGrace    = 3 * time.Second
)

// Server is the SSH server. Make one with New, bind it with Listen, run it
// with Serve.
type Server struct {
	opts     Options
	srv      *ssh.Server
	logMu    sync.Mutex
	failures *failures

	ln net.Listener

	mu       sync.Mutex
	sessions map[*liveSession]struct{}
	conns    int
	pending  map[string]*connInfo // remote address → its connection
	closing  bool
	wg       sync.WaitGroup // session handlers
}

// New builds the server from opts.
func New(opts Options) (*Server, error) {
	if opts.HostKey == nil || opts.Audit == nil || opts.Command == nil || opts.TUI == nil || opts.Getenv == nil {
		return nil, errors.New("serve: Options needs HostKey, Audit, Getenv, Command and TUI")
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.FailedLogins <= 0 {
		opts.FailedLogins = DefaultFailedLogins
	}
	if opts.FailedLoginEvery <= 0 {
		opts.FailedLoginEvery = DefaultFailedLoginEvery
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = DefaultShutdownGrace
	}
	s := &Server{
		opts:     opts,
		failures: newFailures(opts.FailedLogins, opts.FailedLoginEvery),
		sessions: map[*liveSession]struct{}{},
		pending:  map[string]*connInfo{},
	}
	srv, err := wish.NewServer(
		wish.WithAddress(opts.Serve.Listen),
		func(srv *ssh.Server) error { srv.AddHostKey(opts.HostKey); return nil },
		wish.WithVersion("wxscope"),
		// Keys only: with no password or keyboard-interactive handler the
		// server offers neither method, so a client never even asks for a
		// password.
		wish.WithPublicKeyAuth(s.publicKey),
		// The connection's own idle timeout is a backstop for peers that
		// vanished; a session's idle rule (input, and output for commands)
		// is its watchdog's, which says why it ends.
		wish.WithIdleTimeout(opts.Serve.IdleTimeout+time.Minute),
		wish.WithMiddleware(s.handle),
		ssh.WrapConn(s.wrapConn),
	)
	if err != nil {
		return nil, fmt.Errorf("set up the SSH server: %w", err)
	}
	srv.HandshakeTimeout = opts.HandshakeTimeout
	srv.ConnectionFailedCallback = s.connectionFailed
	srv.ConnectionCloseCallback = s.connectionClosed
	s.srv = srv
	return s, nil
}

// Listen binds the server's address; Addr then says where it listens
// (a port 0 in the config picks a free one).
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.opts.Serve.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; is another wxscope serve running, or set [serve] listen to another address", s.opts.Serve.Listen, err)
	}
	s.ln = ln
	return nil
}

// Addr is the address the server listens on, after Listen.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve answers connections until ctx ends, then shuts down: no new
// connection is taken, every session is told in a line on its stderr and
// ends, and connections still open after Options.ShutdownGrace are closed.
// It returns once every session handler has returned.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.logf("listening on %s, host key %s, %d users", s.ln.Addr(), gossh.FingerprintSHA256(s.opts.HostKey.PublicKey()), len(s.opts.Serve.Users))
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()
	select {
	case err := <-served:
		// The listener failed on its own.
		s.shutdown()
		return fmt.Errorf("the SSH server stopped: %w", err)
	case <-ctx.Done():
	}
	n := s.shutdown()
	<-served
	s.logf("stopped; %d sessions were told", n)
	return nil
}

// shutdown ends every session and closes the server, within the grace
// period; it returns how many sessions were open.
func (s *Server) shutdown() int {
	s.mu.Lock()
	s.closing = true
	n := len(s.sessions)
	for ls := range s.sessions {
		ls.cancel(errShutdown)
	}
	s.mu.Unlock()

	// No new connection; the sessions told above exit, and then every
	// connection is closed, whether or not its client has let go yet.
	_ = s.ln.Close()
	handlers := make(chan struct{})
	go func() { s.wg.Wait(); close(handlers) }()
	select {
	case <-handlers:
	case <-time.After(s.opts.ShutdownGrace):
		// A handler stuck past the grace period (its command ignores its
		// context) ends when its connection's writes fail.
		s.logf("some sessions did not end within %v", s.opts.ShutdownGrace)
	}
	_ = s.srv.Close()
	return n
}

// logf writes one line to the server's log.
func (s *Server) logf(format string, args ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.opts.Log, "wxscope serve: "+format+"\n", args...)
}
