package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxscope/cache"
)

const theSecret = "0123456789abcdef0123456789abcdef"

// env is a fake environment: every *_SECRET variable is set unless listed in
// unset.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

var baseEnv = map[string]string{
	"HOME":           "/home/op",
	"WX_NEWS_SECRET": theSecret,
	"WX_SHOP_SECRET": theSecret,
}

const goodApps = `
[[app]]
name = "news"
appid = "wx1111111111111111"
secret_env = "WX_NEWS_SECRET"

[[app]]
name  = "shop"
appid = "wx2222222222222222"
token_command = "tokenctl get shop"
`

func parse(t *testing.T, src string, opts Options) (*Config, error) {
	t.Helper()
	if opts.Getenv == nil {
		opts.Getenv = env(baseEnv)
	}
	return Parse("/etc/wx/config.toml", []byte(src), opts)
}

func TestParseAppliesDefaults(t *testing.T) {
	cfg, err := parse(t, goodApps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cache != "/home/op/.cache/wxscope/wxscope.db" {
		t.Errorf("Cache = %q", cfg.Cache)
	}
	if cfg.APIBase != DefaultAPIBase || cfg.Concurrency != 4 || cfg.MaxAge != 24*time.Hour {
		t.Errorf("defaults: api_base %q concurrency %d max_age %v", cfg.APIBase, cfg.Concurrency, cfg.MaxAge)
	}
	if got := strings.Join(cfg.AppNames(), ","); got != "news,shop" {
		t.Errorf("apps = %s", got)
	}
	news, _ := cfg.App("news")
	if news.Token != TokenStable || news.Secret.Reveal() != theSecret || news.SecretEnv != "WX_NEWS_SECRET" || news.Line != 2 {
		t.Errorf("news = %+v (secret %q)", news, news.Secret.Reveal())
	}
	shop, _ := cfg.App("shop")
	if shop.Token != TokenFromCommand || shop.TokenCommand != "tokenctl get shop" || !shop.Secret.IsZero() || shop.Line != 7 {
		t.Errorf("shop = %+v", shop)
	}
	if _, ok := cfg.App("nope"); ok {
		t.Error("App(nope) found an app")
	}
}

// The example in design.md is what people copy: it must load as it stands.
func TestTheDesignExampleLoads(t *testing.T) {
	t.Setenv("WX_NEWS_SECRET", theSecret)
	cfg, err := Load(Options{Path: "testdata/design-example.toml"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps) != 2 || cfg.Apps[0].Token != TokenStable || cfg.Apps[1].Token != TokenFromCommand ||
		cfg.Apps[1].TokenCommand != "tokenctl get shop" || !strings.HasSuffix(cfg.Cache, "/.cache/wxscope/wxscope.db") {
		t.Errorf("got %+v", cfg)
	}
}

func TestParseReadsEveryTopLevelKey(t *testing.T) {
	src := `
cache = "~/data/wx.db"
api_base = "http://127.0.0.1:8080/"
concurrency = 32
max_age = "90m"
` + goodApps
	cfg, err := parse(t, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cache != "/home/op/data/wx.db" || cfg.APIBase != "http://127.0.0.1:8080" || cfg.Concurrency != 32 || cfg.MaxAge != 90*time.Minute {
		t.Errorf("got %+v", cfg)
	}
}

func TestRelativeCacheIsRelativeToTheConfigFile(t *testing.T) {
	cfg, err := parse(t, `cache = "db/wx.db"`+goodApps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cache != "/etc/wx/db/wx.db" {
		t.Errorf("Cache = %q", cfg.Cache)
	}
}

func TestDefaultCacheFollowsXDGCacheHome(t *testing.T) {
	e := map[string]string{"XDG_CACHE_HOME": "/var/cache/op", "WX_NEWS_SECRET": "x"}
	cfg, err := parse(t, goodApps, Options{Getenv: env(e)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cache != "/var/cache/op/wxscope/wxscope.db" {
		t.Errorf("Cache = %q", cfg.Cache)
	}
}

func TestClassicTokenIsKept(t *testing.T) {
	src := strings.Replace(goodApps, `secret_env = "WX_NEWS_SECRET"`, "secret_env = \"WX_NEWS_SECRET\"\ntoken = \"classic\"", 1)
	cfg, err := parse(t, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Apps[0].Token != TokenClassic {
		t.Errorf("Token = %q", cfg.Apps[0].Token)
	}
}

// Each bad config must fail naming the line and key of the problem, and say
// something specific about it.
func TestParseErrorsNameFileLineAndKey(t *testing.T) {
	app := func(extra string) string {
		return "[[app]]\nname = \"news\"\nappid = \"wx1111111111111111\"\nsecret_env = \"WX_NEWS_SECRET\"\n" + extra
	}
	tests := []struct {
		name string
		src  string
		line int
		key  string
		want string
	}{
		{"syntax error", "concurrency = \n" + app(""), 1, "concurrency", "TOML syntax error"},
		{"duplicate key", app("name = \"again\"\n"), 5, "", "syntax"},
		{"unknown top-level key", "\n\ncahce = \"/x\"\n" + app(""), 3, "cahce", `did you mean "cache"`},
		{"unknown top-level table", app("") + "[extra]\nx = 1\n", 5, "extra", `unknown key "extra"`},
		{"unknown app key", app("nmae = \"x\"\n"), 5, "app.nmae", `did you mean "name"`},
		{"unknown key in the second app", app("") + "\n[[app]]\nname = \"b\"\nappid = \"wx2222222222222222\"\ntoken_command = \"t\"\nfoo = 1\n", 10, "app.foo", "2nd [[app]]"},
		{"secret written in the file", app("secret = \"" + theSecret + "\"\n"), 5, "app.secret", "never reads a secret from the file"},
		{"concurrency not a number", "concurrency = \"4\"\n" + app(""), 1, "concurrency", "whole number"},
		{"concurrency zero", "concurrency = 0\n" + app(""), 1, "concurrency", "out of range"},
		{"concurrency too high", "\nconcurrency = 33\n" + app(""), 2, "concurrency", "1 to 32"},
		{"bad duration", "max_age = \"1d\"\n" + app(""), 1, "max_age", "not a duration"},
		{"negative duration", "max_age = \"-1h\"\n" + app(""), 1, "max_age", "negative"},
		{"api_base not a URL", "api_base = \"api.weixin.qq.com\"\n" + app(""), 1, "api_base", "absolute http(s) URL"},
		{"api_base ftp", "api_base = \"ftp://x\"\n" + app(""), 1, "api_base", "absolute http(s) URL"},
		{"api_base with query", "api_base = \"https://x/?a=b\"\n" + app(""), 1, "api_base", "without query"},
		{"empty cache", "cache = \"\"\n" + app(""), 1, "cache", "cache is empty"},
		{"cache of another user", "cache = \"~bob/x\"\n" + app(""), 1, "cache", "~user"},
		{"no apps", "concurrency = 2\n", 0, "app", "no [[app]] tables"},
		{"single app table", "[app]\nname = \"x\"\n", 1, "app", "double brackets"},
		{"app not a table", "app = 3\n", 1, "app", "not a number"},
		{"app without name", "[[app]]\nappid = \"wx1111111111111111\"\nsecret_env = \"WX_NEWS_SECRET\"\n", 1, "app", "has no name"},
		{"app name with a space", "[[app]]\nname = \"my news\"\nappid = \"wx1111111111111111\"\nsecret_env = \"WX_NEWS_SECRET\"\n", 2, "app.name", `contains ' '`},
		{"app name not a string", "[[app]]\nname = 7\nappid = \"wx1111111111111111\"\nsecret_env = \"WX_NEWS_SECRET\"\n", 2, "app.name", "must be a string"},
		{"app without appid", "[[app]]\nname = \"news\"\nsecret_env = \"WX_NEWS_SECRET\"\n", 1, "app", "has no appid"},
		{"short appid", "[[app]]\nname = \"news\"\nappid = \"wx123\"\nsecret_env = \"WX_NEWS_SECRET\"\n", 3, "app.appid", `"wx" and 16 lowercase hex digits`},
		{"appid with capitals", "[[app]]\nname = \"news\"\nappid = \"wx1111111111ABCDEF\"\nsecret_env = \"WX_NEWS_SECRET\"\n", 3, "app.appid", "not an appid"},
		{"duplicate name", app("") + "[[app]]\nname = \"news\"\nappid = \"wx2222222222222222\"\ntoken_command = \"t\"\n", 6, "app.name", "used twice (first at line 1)"},
		{"duplicate appid", app("") + "[[app]]\nname = \"shop\"\nappid = \"wx1111111111111111\"\ntoken_command = \"t\"\n", 7, "app.appid", `used twice (first by app "news" at line 1)`},
		{"both secret_env and token_command", app("token_command = \"t\"\n"), 5, "app.token_command", "both secret_env and token_command"},
		{"neither secret_env nor token_command", "[[app]]\nname = \"news\"\nappid = \"wx1111111111111111\"\n", 1, "app", "neither secret_env nor token_command"},
		{"token with token_command", "[[app]]\nname = \"shop\"\nappid = \"wx2222222222222222\"\ntoken_command = \"t\"\ntoken = \"classic\"\n", 5, "app.token", "remove token"},
		{"bad token kind", app("token = \"fast\"\n"), 5, "app.token", `neither "stable" nor "classic"`},
		{"empty token_command", "[[app]]\nname = \"shop\"\nappid = \"wx2222222222222222\"\ntoken_command = \" \"\n", 4, "app.token_command", "is empty"},
		{"missing secret variable", "[[app]]\nname = \"other\"\nappid = \"wx3333333333333333\"\nsecret_env = \"WX_OTHER_SECRET\"\n", 4, "app.secret_env", `WX_OTHER_SECRET for app "other" is unset or empty`},
		{"bad variable name", "[[app]]\nname = \"news\"\nappid = \"wx1111111111111111\"\nsecret_env = \"WX NEWS\"\n", 4, "app.secret_env", "not the name of an environment variable"},
		{"secret pasted as variable name", "[[app]]\nname = \"news\"\nappid = \"wx1111111111111111\"\nsecret_env = \"" + theSecret + "\"\n", 4, "app.secret_env", "looks like an AppSecret itself"},
		{"the first problem wins", "max_age = \"x\"\nconcurrency = 99\n" + app(""), 1, "max_age", "not a duration"},
		{"inline app table falls back to its key", "app = [{name = \"n\", appid = \"wx1\", secret_env = \"WX_NEWS_SECRET\"}]\n", 1, "app.appid", "not an appid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.src, Options{})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if ce.File != "/etc/wx/config.toml" || ce.Line != tt.line || (tt.key != "" && ce.Key != tt.key) {
				t.Errorf("at %s:%d key %q, want line %d key %q\n%v", ce.File, ce.Line, ce.Key, tt.line, tt.key, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message %q lacks %q", msg, tt.want)
			}
			wantPrefix := "/etc/wx/config.toml:"
			if tt.line > 0 {
				wantPrefix = fmt.Sprintf("/etc/wx/config.toml:%d: %s", tt.line, ce.Key)
			}
			if !strings.HasPrefix(msg, wantPrefix) {
				t.Errorf("message %q does not start with %q", msg, wantPrefix)
			}
			if strings.Contains(msg, theSecret) {
				t.Errorf("message leaks the secret: %q", msg)
			}
		})
	}
}

func TestOfflineLoadToleratesAMissingSecretButRemembersIt(t *testing.T) {
	e := map[string]string{"HOME": "/h"} // no secret variables at all
	cfg, err := parse(t, goodApps, Options{Getenv: env(e), Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	serr := cfg.Apps[0].SecretErr()
	var ce *Error
	if !errors.As(serr, &ce) || ce.Line != 5 || !strings.Contains(serr.Error(), "WX_NEWS_SECRET") {
		t.Errorf("SecretErr = %v", serr)
	}
	if cfg.Apps[1].SecretErr() != nil {
		t.Errorf("a token_command app has SecretErr %v", cfg.Apps[1].SecretErr())
	}
	if _, err := parse(t, goodApps, Options{Getenv: env(e)}); err == nil {
		t.Error("online load accepted a missing secret")
	}
}

func TestLocateSearchOrder(t *testing.T) {
	tests := []struct {
		name      string
		flag      string
		vars      map[string]string
		want      string
		wantFrom  string
		wantError bool
	}{
		{"flag beats everything", "/f.toml", map[string]string{"WXSCOPE_CONFIG": "/e.toml", "XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/f.toml", FromFlag, false},
		{"environment beats XDG", "", map[string]string{"WXSCOPE_CONFIG": "/e.toml", "XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/e.toml", FromEnv, false},
		{"XDG beats HOME", "", map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/wxscope/config.toml", FromDefault, false},
		{"relative XDG is ignored", "", map[string]string{"XDG_CONFIG_HOME": "x", "HOME": "/h"}, "/h/.config/wxscope/config.toml", FromDefault, false},
		{"HOME last", "", map[string]string{"HOME": "/h"}, "/h/.config/wxscope/config.toml", FromDefault, false},
		{"nothing at all", "", map[string]string{}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"WXSCOPE_CONFIG", "XDG_CONFIG_HOME", "HOME"} {
				t.Setenv(k, tt.vars[k])
			}
			file, from, err := Locate(Options{Path: tt.flag})
			if tt.wantError {
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want *Error", err)
				}
				return
			}
			if err != nil || file != tt.want || from != tt.wantFrom {
				t.Errorf("Locate = %q, %q, %v; want %q, %q", file, from, err, tt.want, tt.wantFrom)
			}
		})
	}
}

func TestLoadReadsTheLocatedFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("WXSCOPE_CONFIG", "")
	t.Setenv("WX_NEWS_SECRET", "s")
	if err := os.MkdirAll(filepath.Join(dir, "wxscope"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "wxscope", "config.toml")
	if err := os.WriteFile(file, []byte(goodApps), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != file || len(cfg.Apps) != 2 {
		t.Errorf("loaded %q with %d apps", cfg.File, len(cfg.Apps))
	}
}

func TestMissingFileSaysWhereItLookedAndHowToStart(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, flag, envPath, wantFrom string
	}{
		{"from the flag", filepath.Join(dir, "flag.toml"), "", "--config"},
		{"from the environment", "", filepath.Join(dir, "env.toml"), "$WXSCOPE_CONFIG"},
		{"the default", "", "", "the default location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WXSCOPE_CONFIG", tt.envPath)
			t.Setenv("XDG_CONFIG_HOME", dir)
			_, err := Load(Options{Path: tt.flag})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *Error", err)
			}
			want := tt.flag + tt.envPath
			if want == "" {
				want = filepath.Join(dir, "wxscope", "config.toml")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, want+": ") || !strings.Contains(msg, tt.wantFrom) || !strings.Contains(msg, "wxscope demo") {
				t.Errorf("message %q: want the path %q, %q and a pointer to wxscope demo", msg, want, tt.wantFrom)
			}
			if !errors.Is(err, os.ErrNotExist) || !strings.Contains(ce.Hint, "[[app]]") {
				t.Errorf("want ErrNotExist and an example in the hint; hint %q", ce.Hint)
			}
		})
	}
}

func TestUnreadableFileIsAConfigError(t *testing.T) {
	_, err := Load(Options{Path: t.TempDir()}) // a directory
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("err = %v", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	cfg, err := parse(t, goodApps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "app", cfg.Apps[0], "secret", cfg.Apps[0].Secret)
	s := cfg.Apps[0].Secret
	outputs := map[string]string{
		"%v":     fmt.Sprintf("%v", cfg),
		"%+v":    fmt.Sprintf("%+v", *cfg),
		"%#v":    fmt.Sprintf("%#v", *cfg),
		"%s":     fmt.Sprintf("%s", s),
		"%q":     fmt.Sprintf("%q", s),
		"%x":     fmt.Sprintf("%x", s),
		"String": s.String(),
		"json":   string(js),
		"slog":   logged.String(),
	}
	for how, out := range outputs {
		if strings.Contains(out, theSecret) || strings.Contains(out, fmt.Sprintf("%x", theSecret)) {
			t.Errorf("%s leaks the secret: %s", how, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s does not say [redacted]: %s", how, out)
		}
	}
}

func TestScanKeyLinesFollowsMultiLineValues(t *testing.T) {
	src := `# comment
a = """
x
y"""
b = [
  1, # c
  2,
]
"q.k" = 'v'
[[app]]
c.d = 1
[[app]]
e = '''
'''
[t.u]
f = { g = 1 }
`
	kl := scanKeyLines(src)
	for _, tt := range []struct {
		path []string
		elem int
		line int
	}{
		{[]string{"a"}, -1, 2},
		{[]string{"b"}, -1, 5},
		{[]string{"q.k"}, -1, 9},
		{[]string{"app"}, 0, 10},
		{[]string{"app", "c", "d"}, 0, 11},
		{[]string{"app"}, 1, 12},
		{[]string{"app", "e"}, 1, 13},
		{[]string{"t", "u", "f"}, -1, 16},
		{[]string{"t", "u", "f", "g"}, -1, 16}, // inside an inline table: its key's line
		{[]string{"app", "zz"}, 1, 12},         // absent: the enclosing table's line
		{[]string{"nowhere"}, -1, 0},
	} {
		if got := kl.find(tt.path, tt.elem); got != tt.line {
			t.Errorf("find(%v, %d) = %d, want %d", tt.path, tt.elem, got, tt.line)
		}
	}
}

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 102: "102nd"} {
		if got := ordinal(n); got != want {
			t.Errorf("ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}

// manyApps is a config of n apps, each with its three keys.
func manyApps(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[[app]]\nname = \"a%d\"\nappid = \"wx%016x\"\nsecret_env = \"WX_NEWS_SECRET\"\n\n", i, i+1)
	}
	return b.String()
}

// More apps than the link analysis relates is a config error naming the
// file and the first extra app's line, not a failure of the first command
// that analyses links.
func TestMoreAppsThanTheLinksRelateIsAConfigErrorAtTheFirstExtraOne(t *testing.T) {
	if _, err := parse(t, manyApps(MaxApps), Options{}); err != nil {
		t.Fatalf("%d apps: %v", MaxApps, err)
	}
	_, err := parse(t, manyApps(MaxApps+1), Options{})
	var ce *Error
	if !errors.As(err, &ce) || ce.File != "/etc/wx/config.toml" || ce.Line != 5*MaxApps+1 || ce.Key != "app" || !strings.Contains(ce.Msg, "at most 64 apps") {
		t.Fatalf("%d apps: %#v", MaxApps+1, err)
	}
	if MaxApps != cache.MaxLinkedApps {
		t.Fatalf("config.MaxApps %d, but the link analysis relates %d apps", MaxApps, cache.MaxLinkedApps)
	}
	src := manyApps(60000)
	start := time.Now()
	_, err = parse(t, src, Options{})
	if !errors.As(err, &ce) || ce.Line != 5*MaxApps+1 {
		t.Fatalf("60 000 apps: %v", err)
	}
	t.Logf("60 000 apps (%d MB) refused at the 65th in %v", len(src)>>20, time.Since(start))
}

// Finding a key's line costs the same however large the file: a lookup
// scanned every key, and a file of 60 000 apps took 27 s to load.
func TestKeyLinesFindsEveryAppsLinesInLinearTime(t *testing.T) {
	run := func(n int) time.Duration {
		src := manyApps(n)
		best := time.Duration(1<<63 - 1)
		for range 3 {
			start := time.Now()
			kl := scanKeyLines(src)
			for i := range n {
				if kl.find([]string{"app", "appid"}, i) != 5*i+3 {
					t.Fatalf("app %d: line %d", i, kl.find([]string{"app", "appid"}, i))
				}
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	small, large := run(6000), run(60000)
	// Linear is a ratio of about 10; a scan per lookup made it 100.
	if ratio := float64(large) / float64(small); ratio > 40 {
		t.Fatalf("6 000 apps in %v, 60 000 in %v: %.0f times as long", small, large, ratio)
	} else {
		t.Logf("6 000 apps in %v, 60 000 in %v", small, large)
	}
}

// A config file larger than any configuration is refused, not read into
// memory whole (--config /dev/zero).
func TestAHugeConfigFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.toml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Load(Options{Path: path, Getenv: env(baseEnv)})
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "larger than 32 MiB") {
		t.Fatalf("a %d-byte config: %v", maxFileSize+1, err)
	}
}

func BenchmarkParseManyApps(b *testing.B) {
	for _, n := range []int{6000, 60000} {
		src := manyApps(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				Parse("c.toml", []byte(src), Options{Getenv: env(baseEnv)})
			}
		})
	}
}
