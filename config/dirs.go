package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// userDirs finds a user's folders by each system's rules, as
// os.UserHomeDir, os.UserConfigDir and os.UserCacheDir do, but reading the
// environment through getenv and for the system named by goos, so that
// every system's rules can be tested on any of them.
//
// An absolute $XDG_*_HOME wins on every system: whoever sets one on macOS
// or Windows means it. Without one, Linux and the other Unixes follow the
// XDG base directory rules (~/.config, ~/.cache, ~/.local/share,
// ~/.local/state); macOS keeps everything under ~/Library; Windows keeps the
// config in %APPDATA% (it roams with the user's profile) and the rest in
// %LOCALAPPDATA%, which stays on the machine: a cache, an SSH host key that
// names this machine and its audit log belong to it, not to every machine
// the user logs on to.
type userDirs struct {
	goos   string
	getenv func(string) string
}

// dirsOf is the userDirs of this system, reading the environment through
// getenv (nil means os.Getenv).
func dirsOf(goos string, getenv func(string) string) userDirs {
	if goos == "" {
		goos = runtime.GOOS
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	return userDirs{goos: goos, getenv: getenv}
}

func (o Options) dirs() userDirs { return dirsOf(o.goos, o.Getenv) }

// envName is how the system's users write the variable name: $HOME, or
// %USERPROFILE% on Windows.
func (d userDirs) envName(name string) string {
	if d.goos == "windows" {
		return "%" + name + "%"
	}
	return "$" + name
}

// unsetError says which variable a folder needed.
type unsetError struct{ name string } // as envName writes it

func (e *unsetError) Error() string { return e.name + " is not set" }

func (d userDirs) need(name string) (string, error) {
	if v := d.getenv(name); v != "" {
		return v, nil
	}
	return "", &unsetError{d.envName(name)}
}

// home is the user's home folder, where ~ leads.
func (d userDirs) home() (string, error) {
	switch d.goos {
	case "windows":
		return d.need("USERPROFILE")
	case "plan9":
		return d.need("home")
	}
	return d.need("HOME")
}

// under returns home joined with elem.
func (d userDirs) under(elem ...string) (string, error) {
	home, err := d.home()
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{home}, elem...)...), nil
}

// base is the folder for one kind of file: the absolute $xdg, else the
// system's own place. Its error names both variables that would do.
func (d userDirs) base(xdg, windowsVar string, darwin, plan9, unix []string) (string, error) {
	if x := d.getenv(xdg); filepath.IsAbs(x) {
		return x, nil
	}
	var dir string
	var err error
	switch d.goos {
	case "windows":
		dir, err = d.need(windowsVar)
	case "darwin", "ios":
		dir, err = d.under(darwin...)
	case "plan9":
		dir, err = d.under(plan9...)
	default:
		dir, err = d.under(unix...)
	}
	var unset *unsetError
	if errors.As(err, &unset) {
		return "", fmt.Errorf("neither $%s nor %s is set", xdg, unset.name)
	}
	return dir, err
}

var (
	macSupport = []string{"Library", "Application Support"}
	plan9Lib   = []string{"lib"}
)

// config is where the config folder goes: os.UserConfigDir.
func (d userDirs) config() (string, error) {
	return d.base("XDG_CONFIG_HOME", "APPDATA", macSupport, plan9Lib, []string{".config"})
}

// cache is where the cache folder goes: os.UserCacheDir.
func (d userDirs) cache() (string, error) {
	return d.base("XDG_CACHE_HOME", "LOCALAPPDATA", []string{"Library", "Caches"}, []string{"lib", "cache"}, []string{".cache"})
}

// data is where files go that a program makes and must keep, such as a
// key: there is no os.UserDataDir.
func (d userDirs) data() (string, error) {
	return d.base("XDG_DATA_HOME", "LOCALAPPDATA", macSupport, plan9Lib, []string{".local", "share"})
}

// state is where files go that a program keeps about its past, such as a
// log: worth keeping, unlike a cache, but not worth carrying to another
// machine.
func (d userDirs) state() (string, error) {
	return d.base("XDG_STATE_HOME", "LOCALAPPDATA", macSupport, plan9Lib, []string{".local", "state"})
}

// appDir joins wxscope's folder to a base.
func appDir(base string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "wxscope"), nil
}

// DataDir is wxscope's folder for files it makes and must keep, such as the
// SSH server's host key: $XDG_DATA_HOME/wxscope, else
// ~/.local/share/wxscope on Linux, ~/Library/Application Support/wxscope on
// macOS and %LOCALAPPDATA%\wxscope on Windows. getenv reads the
// environment; nil means os.Getenv. The folder may not exist yet.
func DataDir(getenv func(string) string) (string, error) {
	return appDir(dirsOf("", getenv).data())
}

// StateDir is wxscope's folder for what it keeps about its past, such as the
// SSH server's audit log: $XDG_STATE_HOME/wxscope, else
// ~/.local/state/wxscope on Linux, ~/Library/Application Support/wxscope on
// macOS and %LOCALAPPDATA%\wxscope on Windows. getenv reads the
// environment; nil means os.Getenv. The folder may not exist yet.
func StateDir(getenv func(string) string) (string, error) {
	return appDir(dirsOf("", getenv).state())
}

// defaultConfigName is the default config file as the system's users
// write it, for a message when it cannot be found.
func (d userDirs) defaultConfigName() string {
	switch d.goos {
	case "windows":
		return `%APPDATA%\wxscope\config.toml`
	case "darwin", "ios":
		return "~/Library/Application Support/wxscope/config.toml"
	}
	return "~/.config/wxscope/config.toml"
}
