package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"wxscope/cache"
	"wxscope/wechat/wechattest"
)

// hostileStrings are what a remark, an id from a broken API or a name in an
// old cache may hold to take over a terminal: TESTING.md counts them.
var hostileStrings = []string{
	"\x1b]52;c;ZXZpbA==\x07",        // OSC 52: set the clipboard
	"\x1b]0;owned\x07",              // set the window title
	"\x1b[2J\x1b[H\x1b[31m",         // clear the screen, home, red
	"\x1bP+q544e\x1b\\",             // DCS
	"\x9b31m",                       // a raw C1 CSI byte
	"\u009b31m\u0085",               // C1 CSI and NEL as UTF-8
	"\u202etxet desrever\u2066",     // bidi override and isolate
	"line one\nline two\r\nthree\t", // line breaks and a tab
	"bell\x07back\x08del\x7f",       // C0 controls and DEL
	"\xff\xfe not UTF-8 \xc3",       // invalid UTF-8
	"\x1b",                          // a lone ESC
	"\x1b[",                         // a CSI cut short
	"nul\x00byte",                   // NUL (ids cannot hold it; remarks can)
	"\v\f\x1c\x1d\x1e\x1f",          // the other C0 separators
}

// leak returns the first byte sequence of out a terminal would act on, or
// "": any control byte but the newline ending a line, DEL, C1 controls,
// invalid UTF-8, bidi controls.
func leak(out string) string {
	for i := 0; i < len(out); {
		b := out[i]
		if b < 0x20 && b != '\n' || b == 0x7f {
			return fmt.Sprintf("byte %#x at %d", b, i)
		}
		r, n := utf8.DecodeRuneInString(out[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return fmt.Sprintf("invalid UTF-8 at %d", i)
		case r >= 0x80 && r <= 0x9f:
			return fmt.Sprintf("C1 control %U at %d", r, i)
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c, r == 0x2028, r == 0x2029:
			return fmt.Sprintf("bidi or separator %U at %d", r, i)
		}
		i += n
	}
	return ""
}

// idOf makes a hostile string usable as an id: a NUL cannot be stored in
// one (the index keys split on it).
func idOf(prefix, s string, i int) string {
	return fmt.Sprintf("%s%s%02d", prefix, strings.ReplaceAll(s, "\x00", "\x01"), i)
}

// Every hostile string, as the ids, remarks and scenes of linked followers
// in two apps (and as conflicts and followers without unionid), through
// every text output path of links, lookup, doctor and export: not one
// byte a terminal would act on reaches the output.
func TestNoHostileStringReachesATerminalRaw(t *testing.T) {
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 3, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 5}, {Name: "shop", Platform: "P1", Followers: 5},
	}})
	s := newSimSetup(t, world, "")
	news, shop := s.app(t, "news"), s.app(t, "shop")
	store, err := cache.Open(s.cache, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var clean []string
	for i, h := range hostileStrings {
		c := fmt.Sprintf("oCleanOpenIDOfHostile_%06d", i)
		clean = append(clean, c)
		u := idOf("u", h, i)
		p := cache.Profile{OpenID: c, UnionID: u, Subscribed: true, SubscribeTime: 1700000000, Remark: h,
			SubscribeScene: h, QRSceneStr: h, FetchedAt: 1700000000}
		conflict := p
		conflict.OpenID = idOf("o", h, i) + "c"
		noUnion := cache.Profile{OpenID: idOf("o", h, i) + "n", Subscribed: true, Remark: h, FetchedAt: 1700000000}
		if err := store.PutProfiles(news.AppID, []cache.Profile{p, conflict, noUnion}); err != nil {
			t.Fatal(err)
		}
		q := p
		q.OpenID = idOf("o", h, i)
		if err := store.PutProfiles(shop.AppID, []cache.Profile{q}); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	runTTY := func(args ...string) result {
		var stdout, stderr bytes.Buffer
		env := &Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, StdoutTTY: true,
			Getenv: func(k string) string { return s.vars[k] }}
		code := Run(context.Background(), env, append(args, "--config", s.cfg))
		return result{code, stdout.String(), stderr.String()}
	}
	paths := [][]string{
		{"links"}, {"links", "--format", "csv"}, {"links", "--missing", "shop"},
		{"doctor"}, {"export"}, {"export", "--format", "jsonl"},
	}
	for _, c := range clean {
		paths = append(paths, []string{"lookup", c})
	}
	tried := 0
	for _, args := range paths {
		r := runTTY(args...)
		what := "wxscope " + strings.Join(args, " ")
		if r.code != 0 {
			t.Errorf("%s: exit %d: %s", what, r.code, r.stderr)
		}
		for _, out := range []string{r.stdout, r.stderr} {
			if l := leak(out); l != "" {
				t.Errorf("%s leaks %s:\n%q", what, l, out)
			}
		}
		tried++
	}
	// Each hostile string went through the lookup of its person and
	// through every table above.
	t.Logf("%d hostile strings × %d output paths (%d runs), no leak", len(hostileStrings), len(paths)-len(clean)+1, tried)
}
