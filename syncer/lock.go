package syncer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"wxscope/cache"
	"wxscope/lockfile"
	"wxscope/proc"
)

// A headless sync opens the cache in cache.Shared mode so that a lookup in
// another process gets in between its writes. That also lets a second sync
// in: two processes syncing the same app would each keep their own cursor in
// memory and overwrite the other's. So a sync takes this lock for its whole
// run: an flock on a file beside the cache, which the kernel releases when
// the process dies, kill -9 included. The file records who holds it, for
// the message the second sync prints.

// LockPath is the sync lock of the cache at path.
func LockPath(path string) string { return path + ".sync-lock" }

// ErrRunning marks a sync refused because another process is syncing.
var ErrRunning = errors.New("another sync is running")

// lockError says who else is syncing the cache.
type lockError struct {
	path   string
	holder *cache.Holder // nil when the holder's record could not be read
}

func (e *lockError) Error() string {
	return fmt.Sprintf("%s is already syncing the cache %s; wait for it to finish, or stop it and run this again", e.who(), e.path)
}

// who names the holder: "wxscope sync --app news (pid 4242, since 14:05)".
func (e *lockError) who() string {
	if e.holder == nil {
		return "another wxscope sync"
	}
	h := *e.holder
	if h.Command == "" {
		h.Command = "wxscope sync"
	}
	return h.String()
}

func (e *lockError) Unwrap() error { return ErrRunning }

// lockSync takes the sync lock of the cache at path without waiting, and
// records this process in it. unlock releases it.
func lockSync(path, command string) (unlock func(), err error) {
	lp := LockPath(path)
	l, err := lockfile.TryLock(lp)
	if errors.Is(err, lockfile.ErrLocked) {
		return nil, &lockError{path: path, holder: Holder(lp)}
	}
	if err != nil {
		return nil, err // it names the file and what failed
	}
	h := cache.Holder{PID: os.Getpid(), Command: command, Since: time.Now()}
	b, _ := json.Marshal(h)
	_ = l.SetRecord(b) // the record is advice for messages: failing to write it is no error
	return func() { _ = l.Unlock() }, nil
}

// Holder reads who holds the sync lock file lp, or nil when nobody has
// recorded it.
func Holder(lp string) *cache.Holder {
	b, err := lockfile.ReadRecord(lp)
	if err != nil {
		return nil
	}
	var h cache.Holder
	if json.Unmarshal(b, &h) != nil || h.PID <= 0 {
		return nil
	}
	return &h
}

// OtherHolder returns the process, other than this one, that holds the sync
// lock of the cache at path, or nil when none does: the TUI shows who syncs
// the cache beside it. The record is checked against the live processes,
// since a holder killed with kill -9 leaves its record behind.
func OtherHolder(path string) *cache.Holder {
	h := Holder(LockPath(path))
	if h == nil || h.PID == os.Getpid() || !proc.Alive(h.PID) {
		return nil
	}
	return h
}
