package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// Every system's folder rules, checked on whatever system runs the tests:
// the paths are built with filepath.Join as the code builds them, from
// values that are absolute on any system.
func TestEachSystemsFolders(t *testing.T) {
	home, appData, localAppData := t.TempDir(), t.TempDir(), t.TempDir()
	j := filepath.Join
	plain := map[string]string{"HOME": home, "USERPROFILE": home, "home": home, "APPDATA": appData, "LOCALAPPDATA": localAppData}
	tests := []struct {
		goos                       string
		config, cache, data, state string
	}{
		{"linux", j(home, ".config"), j(home, ".cache"), j(home, ".local", "share"), j(home, ".local", "state")},
		{"freebsd", j(home, ".config"), j(home, ".cache"), j(home, ".local", "share"), j(home, ".local", "state")},
		{"darwin", j(home, "Library", "Application Support"), j(home, "Library", "Caches"),
			j(home, "Library", "Application Support"), j(home, "Library", "Application Support")},
		{"windows", appData, localAppData, localAppData, localAppData},
		{"plan9", j(home, "lib"), j(home, "lib", "cache"), j(home, "lib"), j(home, "lib")},
	}
	for _, tt := range tests {
		t.Run(tt.goos, func(t *testing.T) {
			d := dirsOf(tt.goos, env(plain))
			for _, c := range []struct {
				kind string
				get  func() (string, error)
				want string
			}{
				{"config", d.config, tt.config}, {"cache", d.cache, tt.cache}, {"data", d.data, tt.data}, {"state", d.state, tt.state},
			} {
				if got, err := c.get(); err != nil || got != c.want {
					t.Errorf("%s = %q, %v; want %q", c.kind, got, err, c.want)
				}
			}
		})
	}
}

// An absolute $XDG_*_HOME wins on every system; a relative one is ignored,
// as the XDG rules say.
func TestXDGVariablesWinOnEverySystem(t *testing.T) {
	home, appData, localAppData, xdg := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	vars := map[string]string{"HOME": home, "USERPROFILE": home, "APPDATA": appData, "LOCALAPPDATA": localAppData,
		"XDG_CONFIG_HOME": filepath.Join(xdg, "c"), "XDG_CACHE_HOME": filepath.Join(xdg, "k"),
		"XDG_DATA_HOME": filepath.Join(xdg, "d"), "XDG_STATE_HOME": filepath.Join(xdg, "s")}
	relative := map[string]string{"HOME": home, "USERPROFILE": home, "APPDATA": appData, "LOCALAPPDATA": localAppData,
		"XDG_CONFIG_HOME": "c", "XDG_CACHE_HOME": "k", "XDG_DATA_HOME": "d", "XDG_STATE_HOME": "s"}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		d := dirsOf(goos, env(vars))
		r := dirsOf(goos, env(relative))
		for _, c := range []struct {
			kind     string
			get, rel func() (string, error)
			sub      string
		}{
			{"config", d.config, r.config, "c"}, {"cache", d.cache, r.cache, "k"}, {"data", d.data, r.data, "d"}, {"state", d.state, r.state, "s"},
		} {
			if got, err := c.get(); err != nil || got != filepath.Join(xdg, c.sub) {
				t.Errorf("%s: %s = %q, %v; want the XDG variable's", goos, c.kind, got, err)
			}
			if got, err := c.rel(); err != nil || strings.HasSuffix(got, string(filepath.Separator)+c.sub) {
				t.Errorf("%s: %s = %q, %v with a relative XDG variable; want it ignored", goos, c.kind, got, err)
			}
		}
	}
}

func TestAMissingHomeNamesTheVariablesThatWouldDo(t *testing.T) {
	tests := []struct{ goos, want string }{
		{"linux", "neither $XDG_STATE_HOME nor $HOME is set"},
		{"darwin", "neither $XDG_STATE_HOME nor $HOME is set"},
		{"windows", "neither $XDG_STATE_HOME nor %LOCALAPPDATA% is set"},
	}
	for _, tt := range tests {
		if _, err := dirsOf(tt.goos, env(nil)).state(); err == nil || err.Error() != tt.want {
			t.Errorf("%s: err = %v, want %q", tt.goos, err, tt.want)
		}
	}
}

func TestLocateOnEachSystem(t *testing.T) {
	home, appData := t.TempDir(), t.TempDir()
	vars := map[string]string{"HOME": home, "USERPROFILE": home, "APPDATA": appData}
	tests := []struct{ goos, want string }{
		{"linux", filepath.Join(home, ".config", "wxscope", "config.toml")},
		{"darwin", filepath.Join(home, "Library", "Application Support", "wxscope", "config.toml")},
		{"windows", filepath.Join(appData, "wxscope", "config.toml")},
	}
	for _, tt := range tests {
		file, from, err := Locate(Options{Getenv: env(vars), goos: tt.goos})
		if err != nil || file != tt.want || from != FromDefault {
			t.Errorf("%s: Locate = %q, %q, %v; want %q", tt.goos, file, from, err, tt.want)
		}
	}
}

func TestLocateWithoutAnyFolderSaysWhatToSet(t *testing.T) {
	tests := []struct{ goos, file, because string }{
		{"linux", "~/.config/wxscope/config.toml", "neither $XDG_CONFIG_HOME nor $HOME is set"},
		{"darwin", "~/Library/Application Support/wxscope/config.toml", "neither $XDG_CONFIG_HOME nor $HOME is set"},
		{"windows", `%APPDATA%\wxscope\config.toml`, "neither $XDG_CONFIG_HOME nor %APPDATA% is set"},
	}
	for _, tt := range tests {
		_, _, err := Locate(Options{Getenv: env(nil), goos: tt.goos})
		var ce *Error
		if !errors.As(err, &ce) || ce.File != tt.file || !strings.Contains(err.Error(), tt.because) ||
			!strings.Contains(err.Error(), "--config") {
			t.Errorf("%s: err = %v (file %q); want %q and what to do", tt.goos, err, ce.File, tt.because)
		}
	}
}

func TestDefaultCacheOnEachSystem(t *testing.T) {
	home, localAppData := t.TempDir(), t.TempDir()
	vars := map[string]string{"HOME": home, "USERPROFILE": home, "LOCALAPPDATA": localAppData,
		"WX_NEWS_SECRET": theSecret}
	tests := []struct{ goos, want string }{
		{"linux", filepath.Join(home, ".cache", "wxscope", "wxscope.db")},
		{"darwin", filepath.Join(home, "Library", "Caches", "wxscope", "wxscope.db")},
		{"windows", filepath.Join(localAppData, "wxscope", "wxscope.db")},
	}
	for _, tt := range tests {
		cfg, err := parse(t, goodApps, Options{Getenv: env(vars), goos: tt.goos})
		if err != nil || cfg.Cache != tt.want {
			t.Errorf("%s: err %v, Cache = %q; want %q", tt.goos, err, cfg.Cache, tt.want)
		}
	}
}

// On Windows ~ is %USERPROFILE%, and ~\ leads there as ~/ does; elsewhere
// ~\x reads as another user's home, which wxscope does not expand.
func TestTildeOnEachSystem(t *testing.T) {
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "USERPROFILE": home, "WX_NEWS_SECRET": theSecret}
	tests := []struct {
		goos, cache, want, wantErr string
	}{
		{"linux", "~/wx.db", filepath.Join(home, "wx.db"), ""},
		{"linux", `~\wx.db`, "", "~user"},
		{"windows", "~/wx.db", filepath.Join(home, "wx.db"), ""},
		{"windows", `~\wx.db`, filepath.Clean(filepath.Join(home, `\wx.db`)), ""},
		{"windows", "~bob/wx.db", "", "~user"},
	}
	for _, tt := range tests {
		cfg, err := parse(t, "cache = '"+tt.cache+"'\n"+goodApps, Options{Getenv: env(vars), goos: tt.goos})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s %s: err = %v, want %q", tt.goos, tt.cache, err, tt.wantErr)
			}
			continue
		}
		if err != nil || cfg.Cache != tt.want {
			t.Errorf("%s %s: err %v, Cache = %q; want %q", tt.goos, tt.cache, err, cfg.Cache, tt.want)
		}
	}
	// Without a home, ~ is an error that says which variable is missing.
	_, err := parse(t, "cache = '~/wx.db'\n"+goodApps, Options{Getenv: env(map[string]string{"WX_NEWS_SECRET": theSecret}), goos: "windows"})
	if err == nil || !strings.Contains(err.Error(), "%USERPROFILE% is not set") {
		t.Errorf("no USERPROFILE: err = %v", err)
	}
}

func TestDataAndStateDirsAreWxscopesFolders(t *testing.T) {
	data, state := t.TempDir(), t.TempDir()
	getenv := env(map[string]string{"XDG_DATA_HOME": data, "XDG_STATE_HOME": state})
	if got, err := DataDir(getenv); err != nil || got != filepath.Join(data, "wxscope") {
		t.Errorf("DataDir = %q, %v", got, err)
	}
	if got, err := StateDir(getenv); err != nil || got != filepath.Join(state, "wxscope") {
		t.Errorf("StateDir = %q, %v", got, err)
	}
	if _, err := DataDir(env(nil)); err == nil {
		t.Error("DataDir found a folder in an empty environment")
	}
}
