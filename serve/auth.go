package serve

import (
	"net"
	"strings"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"
)

// Who gets in: a key listed in [[serve.user]], and nothing else. The key
// handler answers the client's offers; the session handler looks the user
// up again by the key the connection actually authenticated with (as
// soft-serve's AuthenticationMiddleware does), since the offers include
// keys that were never used to sign.

// publicKey is the public-key handler: only listed keys get in, and none
// from an address that failed too often.
func (s *Server) publicKey(ctx ssh.Context, key ssh.PublicKey) bool {
	if s.failures.blocked(hostOf(ctx.RemoteAddr())) {
		return false
	}
	if _, ok := s.opts.Serve.UserByKey(key); ok {
		return true
	}
	s.mu.Lock()
	if c := s.pending[ctx.RemoteAddr().String()]; c != nil && len(c.refused) < 8 {
		c.refused = append(c.refused, gossh.FingerprintSHA256(key))
	}
	s.mu.Unlock()
	return false
}

// connInfo is what the server remembers of a connection until it ends:
// the keys it offered that are not listed, for the line a refused login
// leaves in the log. Guarded by Server.mu.
type connInfo struct {
	refused []string
}

// maxConns bounds the connections open at once, sessions or not yet: a
// connection that never opens a session still holds a goroutine or two
// until its handshake or idle timeout ends it.
func (s *Server) maxConns() int { return 2*s.opts.Serve.MaxSessions + 8 }

// wrapConn admits a new connection: not while shutting down, not beyond
// maxConns, and not from an address whose failed logins spent its budget.
// A refused one is closed before the SSH handshake, costing nothing.
func (s *Server) wrapConn(ctx ssh.Context, conn net.Conn) net.Conn {
	host := hostOf(conn.RemoteAddr())
	if s.failures.blocked(host) {
		if s.failures.noteDrop(host) {
			s.logf("refusing connections from %s for a while: too many failed logins", host)
		}
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.conns >= s.maxConns() {
		return nil
	}
	s.conns++
	s.pending[conn.RemoteAddr().String()] = &connInfo{}
	return conn
}

// connectionFailed counts a connection that did not log in against its
// address, and logs it.
func (s *Server) connectionFailed(conn net.Conn, err error) {
	host := hostOf(conn.RemoteAddr())
	blocked := s.failures.fail(host)
	s.mu.Lock()
	var refused []string
	if c := s.pending[conn.RemoteAddr().String()]; c != nil {
		refused = c.refused
	}
	s.mu.Unlock()
	why := err.Error()
	switch {
	case len(refused) > 0:
		why = "it offered only keys not in [[serve.user]]: " + strings.Join(refused, ", ")
	case strings.Contains(why, "no auth passed yet"), strings.Contains(why, "no supported methods remain"):
		why = "it offered no key (only public keys are accepted)"
	}
	s.logf("login refused from %s: %s", conn.RemoteAddr(), why)
	if blocked {
		s.logf("refusing connections from %s for a while: too many failed logins", host)
	}
}

func (s *Server) connectionClosed(conn net.Conn) {
	s.mu.Lock()
	s.conns--
	delete(s.pending, conn.RemoteAddr().String())
	s.mu.Unlock()
}

// hostOf is the IP of addr, the key of the failed-login limit.
func hostOf(addr net.Addr) string {
	if t, ok := addr.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	if addr == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return h
}

// failures limits failed logins per address: a burst, then one more every
// so often. An address over its budget is refused at once, its offered
// keys unread, until it earns another try.
type failures struct {
	burst int
	every time.Duration

	mu      sync.Mutex
	hosts   map[string]*rate.Limiter
	dropped map[string]time.Time // when a refused address was last logged
}

// maxTracked bounds the addresses remembered; past it, those back to a
// full budget are forgotten.
const maxTracked = 4096

func newFailures(burst int, every time.Duration) *failures {
	return &failures{burst: burst, every: every, hosts: map[string]*rate.Limiter{}, dropped: map[string]time.Time{}}
}

// blocked reports whether host has no failed login left to spend.
func (f *failures) blocked(host string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.hosts[host]
	return l != nil && l.Tokens() < 1
}

// fail spends one failed login of host and reports whether it is now
// blocked.
func (f *failures) fail(host string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.hosts[host]
	if l == nil {
		if len(f.hosts) >= maxTracked {
			f.prune()
		}
		l = rate.NewLimiter(rate.Every(f.every), f.burst)
		f.hosts[host] = l
	}
	l.Allow()
	return l.Tokens() < 1
}

// noteDrop reports whether a refused connection of host should be logged:
// once a minute at most, so that a flood does not flood the log.
func (f *failures) noteDrop(host string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.dropped[host]; ok && time.Since(t) < time.Minute {
		return false
	}
	if len(f.dropped) >= maxTracked {
		clear(f.dropped)
	}
	f.dropped[host] = time.Now()
	return true
}

func (f *failures) prune() {
	for h, l := range f.hosts {
		if l.Tokens() >= float64(f.burst) {
			delete(f.hosts, h)
		}
	}
	if len(f.hosts) >= maxTracked {
		// Every address is failing: forget the oldest half, roughly; a
		// map has no order, so any half.
		n := 0
		for h := range f.hosts {
			if n++; n > maxTracked/2 {
				break
			}
			delete(f.hosts, h)
		}
	}
}
