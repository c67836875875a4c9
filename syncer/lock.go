package syncer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"wxscope/cache"
	"wxscope/lockfile"
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

// lockSync takes the sync lock of the cache at path, trying for
// lockProbeWait, and records this process in it. unlock releases it.
func lockSync(path, command string) (unlock func(), err error) {
	lp := LockPath(path)
	l, err := lockSoon(lp)
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

// lockProbeWait is how long lockSync tries before it takes the lock for
// another sync's: Running takes it for a moment to see whether anyone
// holds it, and a sync starting in that moment must not be refused.
const lockProbeWait = 200 * time.Millisecond

// lockSoon takes the lock at lp, trying for lockProbeWait.
func lockSoon(lp string) (*lockfile.Lock, error) {
	deadline := time.Now().Add(lockProbeWait)
	for {
		l, err := lockfile.TryLock(lp)
		if err == nil || !errors.Is(err, lockfile.ErrLocked) || time.Now().After(deadline) {
			return l, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Running returns who is syncing the cache at path: the recorded holder of
// its sync lock while a live process holds it (a record without a holder
// when the record cannot be read), nil when nobody does. A killed sync's
// record stays in the file, but not its lock: the system let that go.
func Running(path string) *cache.Holder {
	lp := LockPath(path)
	if _, err := os.Stat(lp); err != nil {
		return nil // no sync ever ran here
	}
	l, err := lockfile.TryLock(lp)
	if err == nil {
		_ = l.Unlock()
		return nil
	}
	if !errors.Is(err, lockfile.ErrLocked) {
		return nil
	}
	if h := Holder(lp); h != nil {
		return h
	}
	return &cache.Holder{Command: "another wxscope sync"}
}

// SyncsApp reports whether holder h, syncing a cache, may be syncing the
// app named app: a "wxscope sync" names its apps with --app (all of them
// without); of another holder (the TUI) it cannot be told, so yes.
func SyncsApp(h *cache.Holder, app string) bool {
	words := strings.Fields(h.Command)
	if len(words) < 2 || words[1] != "sync" {
		return true
	}
	named := false
	for i := 2; i+1 < len(words); i++ {
		if words[i] == "--app" || words[i] == "-app" {
			named = true
			if words[i+1] == app {
				return true
			}
		}
	}
	return !named
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
