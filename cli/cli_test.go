package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wxscope/config"
)

const goodConfig = `[[app]]
name = "news"
appid = "wx1111111111111111"
secret_env = "WX_NEWS_SECRET"

[[app]]
name = "shop"
appid = "wx2222222222222222"
secret_env = "WX_SHOP_SECRET"
`

// result is what one in-process run of the command line left behind.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs args in-process with a fake environment: no variables but
// HOME, WXSCOPE_CONFIG pointing nowhere, and the given extra ones.
func runCLI(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	home := t.TempDir()
	env := &Env{
		Stdin:  strings.NewReader(""),
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(k string) string {
			if v, ok := vars[k]; ok {
				return v
			}
			if k == "HOME" {
				return home
			}
			return ""
		},
	}
	code := Run(context.Background(), env, args)
	return result{code, stdout.String(), stderr.String()}
}

func writeConfig(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var secrets = map[string]string{"WX_NEWS_SECRET": "s1", "WX_SHOP_SECRET": "s2"}

func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := runCLI(t, nil, args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		for _, want := range []string{
			"wxscope [--readonly] [--config FILE]",
			"wxscope demo [--followers N] [--seed S]",
			"wxscope sync [--app NAME]...",
			"wxscope lookup ID [--json] [--live]",
			"wxscope links [--missing APP] [--format table|csv|jsonl]",
			"wxscope export [--app NAME]... [--format csv|jsonl|parquet] [--out PATH]",
			"wxscope resolve --app NAME [FILE] [--format csv|jsonl]",
			"wxscope demo [--followers N] [--seed S] [--serve]",
			"wxscope doctor [--json]",
			"wxscope help",
			"wxscope version",
			"0 success, 1 failure, 2 bad usage",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: help lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
}

func TestCommandHelpShowsItsFlags(t *testing.T) {
	tests := []struct {
		args  []string
		flags []string
	}{
		{[]string{"help", "sync"}, []string{"--app NAME", "--config FILE"}},
		{[]string{"sync", "--help"}, []string{"--app NAME", "--config FILE"}},
		{[]string{"lookup", "-h"}, []string{"--json", "--live", "--config FILE"}},
		{[]string{"help", "links"}, []string{"--missing APP", "--format FORMAT", "(default table)"}},
		{[]string{"help", "export"}, []string{"--app NAME", "--format FORMAT", "(default csv)"}},
		{[]string{"help", "doctor"}, []string{"--json"}},
		{[]string{"help", "demo"}, []string{"--followers N", "--seed S"}},
		{[]string{"help", "version"}, []string{"Usage: wxscope version"}},
	}
	for _, tt := range tests {
		r := runCLI(t, nil, tt.args...)
		if r.code != 0 {
			t.Errorf("%v: exit %d, stderr %q", tt.args, r.code, r.stderr)
		}
		for _, f := range tt.flags {
			if !strings.Contains(r.stdout, f) {
				t.Errorf("%v: help lacks %q:\n%s", tt.args, f, r.stdout)
			}
		}
	}
}

func TestVersionPrintsTheName(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runCLI(t, nil, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "wxscope ") {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
}

// Every bad command line exits 2 with one "wxscope: " sentence and a usage
// line, whatever the configuration: usage is checked first.
func TestBadUsageExitsTwoWithAHint(t *testing.T) {
	cfg := writeConfig(t, goodConfig)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown top-level flag", []string{"--frob"}, "wxscope has no flag --frob"},
		{"unknown flag", []string{"sync", "--frob"}, "wxscope sync has no flag --frob;"},
		{"misspelt flag", []string{"sync", "--ap", "news"}, "wxscope sync has no flag --ap (did you mean --app?)"},
		{"unknown flag after an id", []string{"lookup", "oX", "--frob"}, "wxscope lookup has no flag --frob"},
		{"flag without its value", []string{"sync", "--app"}, "--app needs a value (NAME)"},
		{"json is no word", []string{"lookup", "oX", "--json=maybe"}, `--json is true or false, not "maybe"`},
		{"lookup without an id", []string{"lookup", "--config", cfg}, "lookup needs an openid or unionid"},
		{"lookup with a blank id", []string{"lookup", " ", "--config", cfg}, "empty"},
		{"lookup with two ids", []string{"lookup", "a", "b"}, "lookup takes one id"},
		{"sync with an argument", []string{"sync", "news"}, `sync takes no arguments, but got "news"`},
		{"unknown app", []string{"sync", "--app", "nope", "--config", cfg}, `no app named "nope"`},
		{"unknown app to export", []string{"export", "--app", "nope", "--config", cfg}, `no app named "nope"`},
		{"unknown app missing in links", []string{"links", "--missing", "nope", "--config", cfg}, `no app named "nope"`},
		{"bad links format", []string{"links", "--format", "xml"}, `--format "xml" is not one of table, csv, jsonl`},
		{"bad export format", []string{"export", "--format", "table"}, `--format "table" is not one of csv, jsonl`},
		{"no followers", []string{"demo", "--followers", "0"}, "--followers 0 is out of range"},
		{"followers not a number", []string{"demo", "--followers", "many"}, `--followers takes a whole number, not "many"`},
		{"seed not a number", []string{"demo", "--seed", "x"}, `--seed takes a whole number, not "x"`},
		{"json is not a doctor argument", []string{"doctor", "json"}, "doctor takes no arguments"},
		{"help for an unknown command", []string{"help", "frob"}, `unknown command "frob"`},
		{"version with an argument", []string{"version", "x"}, "version takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, secrets, tt.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "wxscope: ") || !strings.HasPrefix(lines[1], "usage: wxscope") {
				t.Errorf("stderr is not a sentence and a usage line:\n%s", r.stderr)
			}
			if !strings.Contains(lines[0], tt.want) || !strings.Contains(lines[0], `run "wxscope help`) {
				t.Errorf("stderr %q lacks %q and a pointer to help", lines[0], tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}

// A bad configuration exits 2 with the file, line and key, whichever
// command reads it, and wherever --config stands on the line.
func TestConfigErrorsExitTwoNamingFileLineAndKey(t *testing.T) {
	bad := writeConfig(t, strings.Replace(goodConfig, `appid = "wx2222222222222222"`, `appid = "wx22"`, 1))
	for _, args := range [][]string{
		{"--config", bad},
		{"sync", "--config", bad},
		{"lookup", "oX", "--config", bad},
		{"lookup", "--config", bad, "oX", "--json"},
		{"links", "--config", bad},
		{"export", "--format", "jsonl", "--config", bad},
		{"doctor", "--json", "--config", bad},
	} {
		r := runCLI(t, secrets, args...)
		want := fmt.Sprintf("wxscope: %s:8: app.appid: ", bad)
		if r.code != 2 || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line starting %q", args, r.code, r.stderr, want)
		}
	}
}

func TestConfigFromTheEnvironmentIsUsed(t *testing.T) {
	bad := writeConfig(t, "concurrency = 0\n"+goodConfig)
	r := runCLI(t, map[string]string{"WXSCOPE_CONFIG": bad}, "doctor")
	if r.code != 2 || !strings.Contains(r.stderr, bad+":1: concurrency") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestMissingConfigExitsTwoWithAnExample(t *testing.T) {
	r := runCLI(t, nil, "doctor")
	if r.code != 2 || !strings.Contains(r.stderr, "wxscope demo") || !strings.Contains(r.stderr, "[[app]]") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if first := strings.SplitN(r.stderr, "\n", 2)[0]; !strings.HasPrefix(first, "wxscope: ") || !strings.Contains(first, "config.toml") {
		t.Errorf("first line %q does not say which file is missing", first)
	}
}

// Commands that call the API need the secrets of the apps they use, and
// only those; commands that read the cache need none.
func TestSecretsAreRequiredOnlyWhereTheAPIIsCalled(t *testing.T) {
	cfg := writeConfig(t, goodConfig)
	onlyNews := map[string]string{"WX_NEWS_SECRET": "s1"}
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"sync", "--config", cfg}, 2},
		{[]string{"sync", "--app", "shop", "--config", cfg}, 2},
		{[]string{"lookup", "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", "--live", "--config", cfg}, 2},
		// sync --app news with only news's secret: sync_e2e_test.go (it
		// needs a simulator, not the network).
		{[]string{"lookup", "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", "--config", cfg}, 1},
		{[]string{"export", "--config", cfg}, 1},
		{[]string{"links", "--config", cfg}, 1},
		{[]string{"doctor", "--config", cfg}, 0}, // no cache: every app "never synced"
		{[]string{"--config", cfg}, 1},
	}
	for _, tt := range tests {
		r := runCLI(t, onlyNews, tt.args...)
		if r.code != tt.code {
			t.Errorf("%v: exit %d, want %d; stderr %q", tt.args, r.code, tt.code, r.stderr)
		}
		if tt.code == 2 && !strings.Contains(r.stderr, fmt.Sprintf("%s:9: app.secret_env: the environment variable WX_SHOP_SECRET for app \"shop\"", cfg)) {
			t.Errorf("%v: stderr %q does not name the variable, app, file and line", tt.args, r.stderr)
		}
	}
}

// The TUI and the demo check the command line and the configuration, then
// refuse to draw on something that is not a terminal (here stdin is a
// string): exit 1, one sentence that points at the subcommands, nothing on
// stdout.
func TestTUIWithoutATerminalPointsAtTheSubcommands(t *testing.T) {
	cfg := writeConfig(t, goodConfig)
	for _, args := range [][]string{
		{"--config", cfg},
		{"--readonly", "--config", cfg},
		{"demo"},
	} {
		r := runCLI(t, secrets, args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "wxscope: wxscope ") ||
			!strings.Contains(r.stderr, "is not one; in scripts use wxscope sync, lookup, links, export or doctor\n") || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}

func TestFlagsMayFollowPositionalArguments(t *testing.T) {
	tests := []struct {
		args     []string
		wantPos  []string
		wantJSON bool
		wantCfg  string
	}{
		{[]string{"ID", "--json"}, []string{"ID"}, true, ""},
		{[]string{"--json", "ID"}, []string{"ID"}, true, ""},
		{[]string{"ID", "--config", "f.toml", "--json"}, []string{"ID"}, true, "f.toml"},
		{[]string{"-json", "A", "-config=f", "B"}, []string{"A", "B"}, true, "f"},
		{[]string{"ID", "--", "--json"}, []string{"ID", "--json"}, false, ""},
		{[]string{}, nil, false, ""},
	}
	for _, tt := range tests {
		fs, cfg := newFlagSet("lookup")
		asJSON := fs.Bool("json", false, "")
		pos, err := parseArgs(fs, tt.args)
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if strings.Join(pos, "|") != strings.Join(tt.wantPos, "|") || *asJSON != tt.wantJSON || *cfg != tt.wantCfg {
			t.Errorf("%v: positional %q json %v config %q; want %q %v %q", tt.args, pos, *asJSON, *cfg, tt.wantPos, tt.wantJSON, tt.wantCfg)
		}
	}
}

func TestConfigFlagMayPrecedeTheCommand(t *testing.T) {
	bad := writeConfig(t, "max_age = \"soon\"\n"+goodConfig)
	r := runCLI(t, secrets, "--config", bad, "sync", "--app", "news")
	if r.code != 2 || !strings.Contains(r.stderr, bad+":1: max_age") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, secrets, "--config", bad, "frob")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown command "frob"`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestRepeatedAppFlagsSelectAppsInOrderOnce(t *testing.T) {
	cfg, err := config.Parse("c.toml", []byte(goodConfig), config.Options{Getenv: func(string) string { return "s" }})
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := newFlagSet("sync")
	var names stringList
	fs.Var(&names, "app", "")
	if _, err := parseArgs(fs, []string{"--app", "shop", "--app=news", "--app", "shop"}); err != nil {
		t.Fatal(err)
	}
	apps, err := selectApps("sync", cfg, names)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 || apps[0].Name != "shop" || apps[1].Name != "news" {
		t.Errorf("selected %v", apps)
	}
	all, _ := selectApps("sync", cfg, nil)
	if len(all) != 2 {
		t.Errorf("no --app selected %d apps, want all 2", len(all))
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{context.Canceled, 1},
		{usagef("sync", "bad"), 2},
		{fmt.Errorf("wrapped: %w", usagef("", "bad")), 2},
		{&config.Error{File: "f", Msg: "bad"}, 2},
		{fmt.Errorf("loading: %w", &config.Error{File: "f", Msg: "bad"}), 2},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.code {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.code)
		}
	}
}

func TestInterruptionIsReportedPlainly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	code := report(ctx, &Env{Stderr: &stderr}, context.Canceled)
	if code != 1 || stderr.String() != "wxscope: interrupted; run the same command again to go on\n" {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestErrorsCannotDriveTheTerminal(t *testing.T) {
	var stderr bytes.Buffer
	report(context.Background(), &Env{Stderr: &stderr}, errors.New("errmsg \x1b]52;c;ZXZpbA==\x07 and \x1b[2J\x00end"))
	if got := stderr.String(); strings.ContainsAny(got, "\x1b\x07\x00") || !strings.Contains(got, "errmsg") || !strings.Contains(got, "end") {
		t.Errorf("stderr %q", got)
	}
}

func TestHelpRequestIsNotAnError(t *testing.T) {
	fs, _ := newFlagSet("doctor")
	_, err := parseArgs(fs, []string{"-h"})
	var h *helpRequest
	if !errors.As(err, &h) || h.fs != fs || h.cmd != "doctor" {
		t.Fatalf("err = %v", err)
	}
}
