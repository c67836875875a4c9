package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to the loader: it must never panic, every
// failure must be an *Error for the file, every success must hold the
// invariants the commands rely on, and the secret must never show.
func FuzzParse(f *testing.F) {
	f.Add(goodApps)
	if example, err := os.ReadFile("testdata/design-example.toml"); err == nil {
		f.Add(string(example))
	}
	f.Add("cache = \"~/x\"\napi_base = \"http://127.0.0.1:1\"\nconcurrency = 3\nmax_age = \"1h\"\n" + goodApps)
	f.Add("a = \"\"\"\nx\"\"\"\n[[app]]\nname='n'\nappid='wx0123456789abcdef'\nsecret_env='WX_NEWS_SECRET'\ntoken='classic'\n")
	f.Add("app = [{name = \"n\", appid = \"wx0123456789abcdef\", token_command = \"t\"}]\n")
	f.Add("[app]\n[[app.x]]\n\"a.b\".c = [1,\n2]\n")
	f.Add("concurrency = \n")
	f.Add("[[app]]\nname='mall'\nkind='miniprogram'\nappid='wx0123456789abcdef'\nimport='~/m.csv'\n")
	f.Add("[[app]]\nname='app'\nkind='mobile'\nappid='wx0123456789abcdef'\nimport_command='cat x'\nsecret_env='S'\n")
	f.Add("[[app]]\nsecret = \"" + theSecret + "\"\nsecret_env = \"" + theSecret + "\"\n")
	f.Fuzz(func(t *testing.T, src string) {
		getenv := func(k string) string {
			if k == "HOME" {
				return "/home/op"
			}
			if strings.HasSuffix(k, "SECRET") {
				return theSecret
			}
			return ""
		}
		cfg, err := Parse("c.toml", []byte(src), Options{Getenv: getenv})
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "c.toml" {
				t.Fatalf("error %v (%T) is not a config error for the file", err, err)
			}
			if ce.Line < 0 || ce.Line > strings.Count(src, "\n")+1 {
				t.Fatalf("line %d outside the file: %v", ce.Line, err)
			}
			if strings.Contains(err.Error(), theSecret) && !strings.Contains(src, theSecret) {
				t.Fatalf("error leaks the secret: %v", err)
			}
			return
		}
		if len(cfg.Apps) == 0 || cfg.Concurrency < 1 || cfg.Concurrency > MaxConcurrency || cfg.MaxAge < 0 || cfg.APIBase == "" || cfg.Cache == "" {
			t.Fatalf("accepted a config that breaks an invariant: %+v", cfg)
		}
		names, appids := map[string]bool{}, map[string]bool{}
		for _, a := range cfg.Apps {
			if a.Name == "" || names[a.Name] || appids[a.AppID] || !appIDPattern.MatchString(a.AppID) {
				t.Fatalf("accepted a bad or duplicate app: %+v", a)
			}
			names[a.Name], appids[a.AppID] = true, true
			if a.Imported() {
				if (a.Import == "") == (a.ImportCommand == "") || a.Token != "" || a.SecretEnv != "" || a.TokenCommand != "" {
					t.Fatalf("accepted an imported app with a token, or without exactly one source: %+v", a)
				}
				continue
			}
			if a.Import != "" || a.ImportCommand != "" {
				t.Fatalf("accepted an official account with an import: %+v", a)
			}
			if (a.Token == TokenFromCommand) == (a.TokenCommand == "") {
				t.Fatalf("token kind %q disagrees with token_command", a.Token)
			}
		}
		if s := fmt.Sprintf("%v %+v %#v", cfg, *cfg, cfg.Apps); strings.Contains(s, theSecret) {
			t.Fatalf("printing the config leaks the secret: %s", s)
		}
	})
}

// FuzzScanKeyLines checks the key scanner alone on inputs the TOML parser
// would reject: no panic, no endless loop, lines within the file.
func FuzzScanKeyLines(f *testing.F) {
	f.Add(goodApps)
	f.Add("a = '''\n\n")
	f.Add("[[\n\"\\")
	f.Fuzz(func(t *testing.T, src string) {
		n := strings.Count(src, "\n") + 1
		for path, pl := range scanKeyLines(src).byPath {
			for _, line := range pl.byElem {
				if line < 1 || line > n {
					t.Fatalf("key %q at line %d of %d", path, line, n)
				}
			}
		}
	})
}
