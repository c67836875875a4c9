package config

import (
	"crypto/rsa"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// The [serve] section: where `wxscope serve` listens, how long an idle
// session lives, how many sessions it holds, and the people who may connect
// over SSH, each with a role and public keys (design.md, "Serving a team").

// Defaults of the [serve] section.
const (
	DefaultListen      = "127.0.0.1:2222"
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxSessions = 32
	// MaxMaxSessions bounds max_sessions: each session holds a goroutine or
	// a few and, for a TUI, its views' memory.
	MaxMaxSessions = 4096
	// minRSABits is the smallest RSA key accepted; OpenSSH refuses smaller.
	minRSABits = 2048
)

// Serve is the [serve] section.
type Serve struct {
	// Listen is the address the SSH server listens on, host:port.
	Listen string
	// IdleTimeout ends a session that saw no input (and, for a command, no
	// output either) for this long.
	IdleTimeout time.Duration
	// MaxSessions caps the sessions open at once.
	MaxSessions int
	// Users are the [[serve.user]] tables in the order of the file; only
	// their keys get in.
	Users []ServeUser
}

// Role says what a person connecting over SSH may do.
type Role string

// The roles of [[serve.user]].
const (
	// RoleSupport may open the TUI read-only and run the read commands.
	RoleSupport Role = "support"
	// RoleOperator may also sync, from the TUI or with `sync`.
	RoleOperator Role = "operator"
)

// ServeUser is one [[serve.user]]: a person, their role and their keys.
type ServeUser struct {
	Name string
	Role Role
	// Keys are the person's public keys, parsed from authorized_keys lines.
	Keys []ssh.PublicKey
	// Line is the line of the user's [[serve.user]] header.
	Line int
}

var (
	serveKeys     = []string{"listen", "idle_timeout", "max_sessions", "user"}
	serveUserKeys = []string{"name", "role", "keys"}
)

// serve reads the [serve] section; v is raw["serve"], nil when absent.
func (p *parser) serve(v any) Serve {
	s := Serve{Listen: DefaultListen, IdleTimeout: DefaultIdleTimeout, MaxSessions: DefaultMaxSessions}
	if v == nil {
		return s
	}
	t, ok := v.(map[string]any)
	if !ok {
		p.fail([]string{"serve"}, -1, "serve must be a [serve] table, not %s", typeName(v))
		return s
	}
	prefix := []string{"serve"}
	p.unknownServeKeys(t, serveKeys, prefix, -1, "",
		"the keys of [serve] are listen, idle_timeout, max_sessions and [[serve.user]] tables")
	if addr, ok := p.str(t, "listen", prefix, -1); ok {
		if err := checkListen(addr); err != "" {
			p.fail([]string{"serve", "listen"}, -1, "listen %q %s; write host:port, e.g. %q, or \"0.0.0.0:2222\" to serve the team", addr, err, DefaultListen)
		} else {
			s.Listen = addr
		}
	}
	if str, ok := p.str(t, "idle_timeout", prefix, -1); ok {
		d, err := time.ParseDuration(str)
		switch {
		case err != nil:
			p.fail([]string{"serve", "idle_timeout"}, -1, "idle_timeout %q is not a duration; write it like \"30m\" or \"2h\"", str)
		case d <= 0:
			p.fail([]string{"serve", "idle_timeout"}, -1, "idle_timeout %q is not positive; an idle session must end some time, e.g. \"30m\"", str)
		default:
			s.IdleTimeout = d
		}
	}
	if v, present := t["max_sessions"]; present {
		n, isInt := v.(int64)
		switch {
		case !isInt:
			p.fail([]string{"serve", "max_sessions"}, -1, "max_sessions must be a whole number, not %s; write e.g. max_sessions = %d", typeName(v), DefaultMaxSessions)
		case n < 1 || n > MaxMaxSessions:
			p.fail([]string{"serve", "max_sessions"}, -1, "max_sessions %d is out of range; use 1 to %d sessions open at once", n, MaxMaxSessions)
		default:
			s.MaxSessions = int(n)
		}
	}
	s.Users = p.serveUsers(t["user"])
	return s
}

// checkListen says why addr is no host:port to listen on, or "".
func checkListen(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "is not host:port"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "has no port number from 0 to 65535"
	}
	return ""
}

func (p *parser) serveUsers(v any) []ServeUser {
	var tables []map[string]any
	switch t := v.(type) {
	case nil:
		return nil // `wxscope serve` says so when it starts; other commands do not care
	case []map[string]any:
		tables = t
	case []any:
		for _, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				p.fail([]string{"serve", "user"}, -1, "serve.user must be a list of tables; write each person as a [[serve.user]] table")
				return nil
			}
			tables = append(tables, m)
		}
	default:
		p.fail([]string{"serve", "user"}, -1, "serve.user must be a list of [[serve.user]] tables, with double brackets, not %s", typeName(v))
		return nil
	}

	users := make([]ServeUser, 0, len(tables))
	names := map[string]int{}  // name → index of the first user with it
	owners := map[string]int{} // key fingerprint → index of the user listing it
	for i, t := range tables {
		u := p.serveUser(t, i)
		if u.Name != "" {
			if j, dup := names[u.Name]; dup {
				p.fail([]string{"serve", "user", "name"}, i, "user name %q is used twice (first at line %d); give each person one [[serve.user]] with all their keys", u.Name, users[j].Line)
			} else {
				names[u.Name] = i
			}
		}
		for _, k := range u.Keys {
			fp := ssh.FingerprintSHA256(k)
			if j, dup := owners[fp]; dup {
				who := "this user already"
				if j != i {
					who = fmt.Sprintf("user %q at line %d", users[j].Name, users[j].Line)
				}
				p.fail([]string{"serve", "user", "keys"}, i, "key %s of user %q is listed for %s; a key belongs to one person, once", fp, u.Name, who)
				continue
			}
			owners[fp] = i
		}
		users = append(users, u)
	}
	return users
}

func (p *parser) serveUser(t map[string]any, i int) ServeUser {
	prefix := []string{"serve", "user"}
	u := ServeUser{Line: p.lines.find(prefix, i)}
	p.unknownServeKeys(t, serveUserKeys, prefix, i, fmt.Sprintf(" in the %s [[serve.user]]", ordinal(i+1)),
		"the keys of a [[serve.user]] are name, role and keys")
	nth := ordinal(i + 1)

	if s, ok := p.str(t, "name", prefix, i); ok {
		if err := checkName(s); err != "" {
			p.fail([]string{"serve", "user", "name"}, i, "user name %q %s; use letters, digits, '-', '_' or '.', up to 32 characters", s, err)
		} else {
			u.Name = s
		}
	} else if _, present := t["name"]; !present {
		p.fail(prefix, i, "the %s [[serve.user]] has no name; add name = \"...\", the person the audit log names", nth)
	}
	label := u.Name
	if label == "" {
		label = "#" + strconv.Itoa(i+1)
	}

	if s, ok := p.str(t, "role", prefix, i); ok {
		switch Role(s) {
		case RoleSupport, RoleOperator:
			u.Role = Role(s)
		default:
			p.fail([]string{"serve", "user", "role"}, i, "role %q of user %q is neither \"support\" (read-only) nor \"operator\" (may also sync)", s, label)
		}
	} else if _, present := t["role"]; !present {
		p.fail(prefix, i, "user %q has no role; add role = \"support\" (read-only) or role = \"operator\" (may also sync)", label)
	}

	v, present := t["keys"]
	if !present {
		p.fail(prefix, i, "user %q has no keys; add keys = [\"ssh-ed25519 AAAA... %s@laptop\"], the lines of their .pub files", label, label)
		return u
	}
	list, ok := v.([]any)
	if !ok {
		p.fail([]string{"serve", "user", "keys"}, i, "keys of user %q must be a list of strings, not %s; write keys = [\"ssh-ed25519 AAAA...\"]", label, typeName(v))
		return u
	}
	if len(list) == 0 {
		p.fail([]string{"serve", "user", "keys"}, i, "keys of user %q is empty; give at least one public key, or remove the user", label)
	}
	for n, e := range list {
		s, ok := e.(string)
		if !ok {
			p.fail([]string{"serve", "user", "keys"}, i, "key %d of user %q must be a string in quotes, not %s", n+1, label, typeName(e))
			continue
		}
		k, why := parsePublicKey(s)
		if why != "" {
			p.fail([]string{"serve", "user", "keys"}, i, "key %d of user %q %s", n+1, label, why)
			continue
		}
		u.Keys = append(u.Keys, k)
	}
	return u
}

// parsePublicKey reads one authorized_keys line, or says why it is no key
// wxscope accepts. A private key pasted by mistake is never echoed.
func parsePublicKey(s string) (ssh.PublicKey, string) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "PRIVATE KEY") {
		return nil, "is a private key; paste the public key instead (the line of the .pub file), and since the private key was in this file, make a new key pair"
	}
	k, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, fmt.Sprintf("is not an OpenSSH public key (%q); paste the whole line of the .pub file, e.g. \"ssh-ed25519 AAAA... name@laptop\"", shorten(s, 24))
	}
	switch {
	case len(options) > 0:
		return nil, fmt.Sprintf("has authorized_keys options (%s), which wxscope does not apply; remove them and let the role say what the person may do", strings.Join(options, ","))
	case len(strings.TrimSpace(string(rest))) > 0:
		return nil, "holds more than one key; give each key as its own string in the list"
	}
	if _, isCert := k.(*ssh.Certificate); isCert {
		return nil, "is a certificate; list the person's plain public key"
	}
	switch k.Type() {
	case "ssh-dss":
		return nil, "is a DSA key, which OpenSSH no longer accepts; make an ed25519 key (ssh-keygen -t ed25519)"
	case ssh.KeyAlgoRSA:
		if ck, ok := k.(ssh.CryptoPublicKey); ok {
			if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok && rk.N.BitLen() < minRSABits {
				return nil, fmt.Sprintf("is an RSA key of %d bits, fewer than %d; make an ed25519 key (ssh-keygen -t ed25519)", rk.N.BitLen(), minRSABits)
			}
		}
	}
	return k, ""
}

// shorten cuts s to n runes for a message.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// unknownServeKeys reports every key of a [serve] or [[serve.user]] table
// that is not one of known.
func (p *parser) unknownServeKeys(table map[string]any, known []string, prefix []string, elem int, where, list string) {
	for key := range table {
		if slices.Contains(known, key) {
			continue
		}
		path := append(append([]string(nil), prefix...), key)
		switch key {
		case "password", "passwords", "password_hash":
			p.fail(path, elem, "unknown key %q%s: wxscope serve takes no passwords, only public keys; list the person's keys in keys", key, where)
			continue
		}
		hint := ""
		if s := Closest(key, known); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", s)
		}
		p.fail(path, elem, "unknown key %q%s%s; %s", key, where, hint, list)
	}
}

// UserByKey returns the user one of whose keys is k.
func (s Serve) UserByKey(k ssh.PublicKey) (ServeUser, bool) {
	b := k.Marshal()
	for _, u := range s.Users {
		for _, uk := range u.Keys {
			if string(uk.Marshal()) == string(b) {
				return u, true
			}
		}
	}
	return ServeUser{}, false
}
