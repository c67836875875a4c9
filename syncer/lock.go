package syncer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"wxscope/cache"
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

// syncLockError says who else is syncing the cache.
type syncLockError struct {
	path   string
	holder *cache.Holder // nil when the holder's record could not be read
}

func (e *syncLockError) Error() string {
	who := "another wxscope sync"
	if e.holder != nil {
		h := *e.holder
		if h.Command == "" {
			h.Command = "wxscope sync"
		}
		who = h.String()
	}
	return fmt.Sprintf("%s is already syncing the cache %s; wait for it to finish, or stop it and run this again", who, e.path)
}

func (e *syncLockError) Unwrap() error { return ErrRunning }

// lockSync takes the sync lock of the cache at path without waiting, and
// records this process in it. unlock releases it.
func lockSync(path, command string) (unlock func(), err error) {
	lp := LockPath(path)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the sync lock %s: %w", lp, err)
	}
	if err := flockSoon(f); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &syncLockError{path: path, holder: Holder(lp)}
		}
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	h := cache.Holder{PID: os.Getpid(), Command: command, Since: time.Now()}
	b, _ := json.Marshal(h)
	// The record is advice for messages: failing to write it is no error.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt(b, 0)
	}
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// lockProbeWait is how long lockSync tries before it takes the lock for
// another sync's: Running takes it for a moment to see whether anyone
// holds it, and a sync starting in that moment must not be refused.
const lockProbeWait = 200 * time.Millisecond

// flockSoon takes f's lock exclusively, trying for lockProbeWait.
func flockSoon(f *os.File) error {
	deadline := time.Now().Add(lockProbeWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil || !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Running returns who is syncing the cache at path: the recorded holder of
// its sync lock while a live process holds it (a record without a holder
// when the record cannot be read), nil when nobody does. A killed sync's
// record stays in the file, but not its lock: the kernel let that go.
func Running(path string) *cache.Holder {
	lp := LockPath(path)
	f, err := os.Open(lp)
	if err != nil {
		return nil
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return nil
	} else if !errors.Is(err, syscall.EWOULDBLOCK) {
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
	b, err := os.ReadFile(lp)
	if err != nil {
		return nil
	}
	var h cache.Holder
	if json.Unmarshal(b, &h) != nil || h.PID <= 0 {
		return nil
	}
	return &h
}
