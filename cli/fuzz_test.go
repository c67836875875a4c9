package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"wxscope/cache"
)

// The text tables' fuzzers: whatever the ids, names, remarks and findings
// hold, not one byte a terminal would act on comes out (leak). The seeds
// are the hostile strings.

func addHostileSeeds(f *testing.F, n int) {
	for i, h := range hostileStrings {
		args := make([]any, n)
		for j := range args {
			args[j] = hostileStrings[(i+j)%len(hostileStrings)]
		}
		args[0] = h
		f.Add(args...)
	}
}

func FuzzLinksTable(f *testing.F) {
	addHostileSeeds(f, 3)
	f.Fuzz(func(t *testing.T, unionid, openid, name string) {
		refs := []cache.AppRef{{AppID: "wxA", Name: name}, {AppID: "wxB"}}
		var b bytes.Buffer
		out := bufio.NewWriter(&b)
		tg := &tableGroups{w: out, refs: refs, cols: refs, hidden: []string{name}}
		g := &cache.Group{UnionID: unionid, Members: []cache.Member{{AppID: "wxA", OpenID: openid}, {AppID: "wxA", OpenID: unionid}}, Missing: []string{"wxB", "wxA"}}
		if err := tg.header(); err != nil {
			t.Fatal(err)
		}
		if err := tg.group(g); err != nil {
			t.Fatal(err)
		}
		if err := tg.footer(1, 2, name); err != nil {
			t.Fatal(err)
		}
		out.Flush()
		if l := leak(b.String()); l != "" {
			t.Fatalf("the links table leaks %s: %q", l, b.String())
		}
	})
}

func FuzzLinksCSVOnATerminal(f *testing.F) {
	addHostileSeeds(f, 3)
	f.Fuzz(func(t *testing.T, unionid, openid, name string) {
		var b bytes.Buffer
		cg := &csvGroups{w: csv.NewWriter(&b), refs: []cache.AppRef{{AppID: "wxA", Name: name}, {AppID: "wxB"}}, cell: csvCell(true)}
		g := &cache.Group{UnionID: unionid, Members: []cache.Member{{AppID: "wxA", OpenID: openid}}, Missing: []string{"wxB"}}
		if err := cg.header(); err != nil {
			t.Fatal(err)
		}
		if err := cg.group(g); err != nil {
			t.Fatal(err)
		}
		if err := cg.footer(1, 1, ""); err != nil {
			t.Fatal(err)
		}
		// csv quotes a cell holding a newline; none is left to quote, and
		// each record ends with the one newline csv writes.
		if l := leak(b.String()); l != "" {
			t.Fatalf("links CSV on a terminal leaks %s: %q", l, b.String())
		}
	})
}

func FuzzLookupText(f *testing.F) {
	addHostileSeeds(f, 6)
	f.Fuzz(func(t *testing.T, query, unionid, openid, remark, name, detail string) {
		p := &cache.Person{Query: query, Kind: cache.KindOpenID, UnionID: unionid, Missing: []string{"wxB"},
			Apps: []cache.PersonApp{
				{AppRef: cache.AppRef{AppID: "wxA", Name: name}, Profiles: []cache.Profile{{AppID: "wxA", OpenID: openid, UnionID: unionid,
					Subscribed: true, SubscribeTime: 1700000000, Remark: remark, SubscribeScene: detail, QRSceneStr: remark, FetchedAt: 1700000000}}},
				{AppRef: cache.AppRef{AppID: "wxB", Name: detail}, Reason: cache.ReasonNotFollowing},
			}}
		live := &liveResult{Owner: name, Answers: []liveAnswer{{App: name, OpenID: openid, Result: detail}}}
		var b bytes.Buffer
		writeLookupText(&b, p, live, nil)
		p.Kind, p.Guess = cache.KindUnknown, &cache.Guess{App: name, Prefix: detail}
		writeLookupText(&b, p, nil, nil)
		p.Kind = cache.KindUnionID
		writeLookupText(&b, p, nil, nil)
		if l := leak(b.String()); l != "" {
			t.Fatalf("lookup's text leaks %s: %q", l, b.String())
		}
	})
}

func FuzzDoctorText(f *testing.F) {
	addHostileSeeds(f, 5)
	f.Fuzz(func(t *testing.T, name, evidence, action, example, path string) {
		l := &cache.Links{At: time.Unix(1700000000, 0), Apps: []cache.AppLinks{
			{AppRef: cache.AppRef{AppID: "wxA", Name: name}, InCache: true, Counts: cache.Counts{Profiles: 3, Subscribed: 2}},
			{AppRef: cache.AppRef{AppID: "wxB", Name: evidence}},
		}, Findings: []cache.Finding{
			{Kind: cache.NoUnionID, Apps: []string{name}, Of: 3, Count: 1, Examples: []string{example, name}},
			{Kind: cache.Incomplete, Apps: []string{name}, Stopped: true, LastError: evidence + action},
			{Kind: cache.FindingKind(example), Apps: []string{name, evidence}, Note: true},
			damagedFinding(path, &cache.DamagedError{Path: path, Reason: evidence}),
		}}
		var b bytes.Buffer
		writeDoctorText(&b, l, path, false)
		if l := leak(b.String()); l != "" {
			t.Fatalf("doctor's text leaks %s: %q", l, b.String())
		}
	})
}

// FuzzCommandLine: whatever the arguments, with no config file and an
// empty environment, Run returns an exit status without panicking.
func FuzzCommandLine(f *testing.F) {
	for _, seed := range []string{"", "sync", "lookup\x00oX", "links --format\x00yaml", "export --app", "--config", "help\x00lookup",
		"lookup --json --live\x00" + strings.Repeat("o", 28), "demo --followers\x00-1", "salvage\x00extra", "-h", "--version", "doctor --json=maybe",
		"\x00\x00--", "lookup\x00--\x00-x", "help\x00help\x00help"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		if joined == "" {
			args = nil
		}
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		env := &Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
			Getenv: func(k string) string {
				if k == "HOME" || k == "XDG_CONFIG_HOME" || k == "XDG_CACHE_HOME" {
					return dir
				}
				return ""
			}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		code := Run(ctx, env, args)
		if code < 0 || code > 2 {
			t.Fatalf("Run(%q) = %d", args, code)
		}
		if code != 0 && stderr.Len() == 0 {
			t.Fatalf("Run(%q) = %d with nothing on stderr", args, code)
		}
	})
}
