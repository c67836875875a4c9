package serve

import (
	"errors"
	"path/filepath"
)

// Where the server keeps its files when the caller names none. These follow
// the XDG base directories on every system for now; config.DataDir and
// config.StateDir, which know the other systems' places, will replace them.

// DefaultHostKeyPath is $XDG_DATA_HOME/wxscope/ssh_host_ed25519_key, or
// ~/.local/share/wxscope/ssh_host_ed25519_key when XDG_DATA_HOME is unset.
func DefaultHostKeyPath(getenv func(string) string) (string, error) {
	dir, err := xdgDir(getenv, "XDG_DATA_HOME", ".local/share")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "wxscope", "ssh_host_ed25519_key"), nil
}

// DefaultAuditPath is $XDG_STATE_HOME/wxscope/audit.jsonl, or
// ~/.local/state/wxscope/audit.jsonl when XDG_STATE_HOME is unset.
func DefaultAuditPath(getenv func(string) string) (string, error) {
	dir, err := xdgDir(getenv, "XDG_STATE_HOME", ".local/state")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "wxscope", "audit.jsonl"), nil
}

// xdgDir is the directory named by the variable xdg when it holds an
// absolute path (the XDG rule: a relative one is ignored), else home/under.
func xdgDir(getenv func(string) string, xdg, under string) (string, error) {
	if d := getenv(xdg); filepath.IsAbs(d) {
		return d, nil
	}
	home := getenv("HOME")
	if !filepath.IsAbs(home) {
		return "", errors.New("neither $" + xdg + " nor $HOME is set to an absolute path; set one of them")
	}
	return filepath.Join(home, under), nil
}
