package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testKey is the authorized_keys line of an ed25519 key made from seed.
func testKey(t testing.TB, seed byte, comment string) (string, ssh.PublicKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), seed))
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		line += " " + comment
	}
	return line, pub
}

func TestServeDefaultsWithoutASection(t *testing.T) {
	cfg, err := parse(t, goodApps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Serve
	if s.Listen != "127.0.0.1:2222" || s.IdleTimeout != 30*time.Minute || s.MaxSessions != 32 || len(s.Users) != 0 {
		t.Errorf("defaults = %+v", s)
	}
}

func TestServeReadsEveryKey(t *testing.T) {
	lin, linKey := testKey(t, 1, "lin@laptop")
	wu, wuKey := testKey(t, 2, "")
	wu2, wu2Key := testKey(t, 3, "wu@desk")
	src := goodApps + fmt.Sprintf(`
[serve]
listen = "0.0.0.0:2022"
idle_timeout = "5m"
max_sessions = 64

[[serve.user]]
name = "lin"
role = "support"
keys = [%q]

[[serve.user]]
name = "wu"
role = "operator"
keys = [
  %q,
  %q,
]
`, lin, wu, wu2)
	cfg, err := parse(t, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Serve
	if s.Listen != "0.0.0.0:2022" || s.IdleTimeout != 5*time.Minute || s.MaxSessions != 64 || len(s.Users) != 2 {
		t.Fatalf("serve = %+v", s)
	}
	if u := s.Users[0]; u.Name != "lin" || u.Role != RoleSupport || len(u.Keys) != 1 || u.Line != 17 {
		t.Errorf("lin = %+v", u)
	}
	if u := s.Users[1]; u.Name != "wu" || u.Role != RoleOperator || len(u.Keys) != 2 || u.Line != 22 {
		t.Errorf("wu = %+v", u)
	}
	for _, c := range []struct {
		key  ssh.PublicKey
		want string
	}{{linKey, "lin"}, {wuKey, "wu"}, {wu2Key, "wu"}} {
		if u, ok := s.UserByKey(c.key); !ok || u.Name != c.want {
			t.Errorf("UserByKey(%s) = %q %v, want %q", ssh.FingerprintSHA256(c.key), u.Name, ok, c.want)
		}
	}
	_, stranger := testKey(t, 9, "")
	if u, ok := s.UserByKey(stranger); ok {
		t.Errorf("an unlisted key belongs to %q", u.Name)
	}
}

func TestServeErrorsNameFileLineAndKey(t *testing.T) {
	lin, _ := testKey(t, 1, "lin@laptop")
	wu, _ := testKey(t, 2, "wu@desk")
	user := func(name, role, keys string) string {
		return fmt.Sprintf("[[serve.user]]\nname = %q\nrole = %q\nkeys = %s\n", name, role, keys)
	}
	q := func(s string) string { return fmt.Sprintf("[%q]", s) }
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPub, _ := ssh.NewPublicKey(&smallRSA.PublicKey)
	small := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(smallPub)))
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("not really")}))

	// Each source comes before goodApps, so its lines are the file's.
	tests := []struct {
		name string
		src  string
		line int
		key  string
		want string
	}{
		{"serve not a table", "serve = 1\n", 1, "serve", "must be a [serve] table"},
		{"unknown key in [serve]", "[serve]\nlisten = \"127.0.0.1:2222\"\nlistne = \"x\"\n", 3, "serve.listne", `did you mean "listen"`},
		{"a password in [serve]", "[serve]\npassword = \"x\"\n", 2, "serve.password", "takes no passwords"},
		{"listen without a port", "[serve]\nlisten = \"127.0.0.1\"\n", 2, "serve.listen", "not host:port"},
		{"listen with a bad port", "[serve]\nlisten = \"127.0.0.1:99999\"\n", 2, "serve.listen", "port number"},
		{"listen not a string", "[serve]\nlisten = 2222\n", 2, "serve.listen", "must be a string"},
		{"bad idle_timeout", "[serve]\nidle_timeout = \"30\"\n", 2, "serve.idle_timeout", "not a duration"},
		{"zero idle_timeout", "[serve]\nidle_timeout = \"0s\"\n", 2, "serve.idle_timeout", "not positive"},
		{"max_sessions not a number", "[serve]\nmax_sessions = \"32\"\n", 2, "serve.max_sessions", "whole number"},
		{"max_sessions zero", "[serve]\nmax_sessions = 0\n", 2, "serve.max_sessions", "out of range"},
		{"single user table", "[serve.user]\nname = \"lin\"\n", 1, "serve.user", "double brackets"},
		{"unknown user key", user("lin", "support", q(lin)) + "rol = \"x\"\n", 5, "serve.user.rol", "1st [[serve.user]]"},
		{"user password", user("lin", "support", q(lin)) + "password = \"hunter2\"\n", 5, "serve.user.password", "takes no passwords"},
		{"user without name", "[[serve.user]]\nrole = \"support\"\nkeys = " + q(lin) + "\n", 1, "serve.user", "has no name"},
		{"user name with a space", user("lin wu", "support", q(lin)), 2, "serve.user.name", `contains ' '`},
		{"user without role", "[[serve.user]]\nname = \"lin\"\nkeys = " + q(lin) + "\n", 1, "serve.user", `user "lin" has no role`},
		{"unknown role", user("lin", "admin", q(lin)), 3, "serve.user.role", `role "admin" of user "lin" is neither`},
		{"user without keys", "[[serve.user]]\nname = \"lin\"\nrole = \"support\"\n", 1, "serve.user", "has no keys"},
		{"keys not a list", user("lin", "support", fmt.Sprintf("%q", lin)), 4, "serve.user.keys", "must be a list of strings"},
		{"empty keys", user("lin", "support", "[]"), 4, "serve.user.keys", "is empty"},
		{"key not a string", user("lin", "support", "[1]"), 4, "serve.user.keys", "key 1 of user \"lin\" must be a string"},
		{"malformed key", user("lin", "support", q("ssh-ed25519 AAAAnotbase64 lin")), 4, "serve.user.keys", "is not an OpenSSH public key"},
		{"truncated key", user("lin", "support", q(lin[:40])), 4, "serve.user.keys", "is not an OpenSSH public key"},
		{"key with options", user("lin", "support", q(`command="/bin/sh" `+lin)), 4, "serve.user.keys", "authorized_keys options"},
		{"two keys in one string", user("lin", "support", q(lin+"\n"+wu)), 4, "serve.user.keys", "more than one key"},
		{"small RSA key", user("lin", "support", q(small)), 4, "serve.user.keys", "RSA key of 1024 bits"},
		{"private key pasted", user("lin", "support", fmt.Sprintf("[%q]", privPEM)), 4, "serve.user.keys", "is a private key"},
		{"duplicate user", user("lin", "support", q(lin)) + user("lin", "operator", q(wu)), 6, "serve.user.name", `user name "lin" is used twice (first at line 1)`},
		{"one key for two users", user("lin", "support", q(lin)) + user("wu", "operator", q(lin)), 8, "serve.user.keys", `listed for user "lin" at line 1`},
		{"one key twice for a user", user("lin", "support", fmt.Sprintf("[%q, %q]", lin, lin)), 4, "serve.user.keys", "listed for this user already"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.src+goodApps, Options{})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if ce.File != "/etc/wx/config.toml" || ce.Line != tt.line || ce.Key != tt.key {
				t.Errorf("at %s:%d key %q, want line %d key %q\n%v", ce.File, ce.Line, ce.Key, tt.line, tt.key, err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q lacks %q", msg, tt.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("message echoes what it must not: %v", err)
			}
		})
	}
}

// FuzzParseServe feeds arbitrary [serve] sections to the loader: it must
// never panic, a failure is an *Error for the file with a line inside it,
// and what it accepts holds the invariants the server relies on: a listen
// address, a positive idle timeout, a session cap in range, and users with
// unique names, a known role and keys that belong to one user each.
func FuzzParseServe(f *testing.F) {
	lin, _ := testKey(f, 1, "lin@laptop")
	wu, _ := testKey(f, 2, "")
	f.Add(fmt.Sprintf("[serve]\nlisten = \"127.0.0.1:0\"\nidle_timeout = \"1m\"\nmax_sessions = 4\n[[serve.user]]\nname = \"lin\"\nrole = \"support\"\nkeys = [%q]\n", lin))
	f.Add(fmt.Sprintf("[[serve.user]]\nname = \"wu\"\nrole = \"operator\"\nkeys = [%q, %q]\n", wu, lin))
	f.Add(fmt.Sprintf("serve = {user = [{name = \"a\", role = \"support\", keys = [%q]}]}\n", wu))
	f.Add("[serve]\nlisten = \"[::1]:22\"\n[[serve.user]]\nname = \"x\"\nrole = \"admin\"\nkeys = [\"ssh-rsa AAAA\"]\n")
	f.Fuzz(func(t *testing.T, src string) {
		cfg, err := Parse("c.toml", []byte(src+goodApps), Options{Getenv: env(baseEnv)})
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "c.toml" {
				t.Fatalf("error %v (%T) is not a config error for the file", err, err)
			}
			if ce.Line < 0 || ce.Line > strings.Count(src+goodApps, "\n")+1 {
				t.Fatalf("line %d outside the file: %v", ce.Line, err)
			}
			return
		}
		s := cfg.Serve
		if checkListen(s.Listen) != "" || s.IdleTimeout <= 0 || s.MaxSessions < 1 || s.MaxSessions > MaxMaxSessions {
			t.Fatalf("accepted a [serve] that breaks an invariant: %+v", s)
		}
		names, keys := map[string]bool{}, map[string]bool{}
		for _, u := range s.Users {
			if u.Name == "" || names[u.Name] || (u.Role != RoleSupport && u.Role != RoleOperator) || len(u.Keys) == 0 {
				t.Fatalf("accepted a bad or duplicate user: %+v", u)
			}
			names[u.Name] = true
			for _, k := range u.Keys {
				fp := ssh.FingerprintSHA256(k)
				if keys[fp] {
					t.Fatalf("accepted key %s twice", fp)
				}
				keys[fp] = true
			}
		}
	})
}
