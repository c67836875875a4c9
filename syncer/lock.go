package syncer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
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
