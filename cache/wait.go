package cache

import (
	"os"
	"time"
)

// A Shared writer pauses SharedWriteGap between writes so that another
// process waiting for the file gets in; when nobody waits, that pause only
// slows the sync (at a 5 ms API latency a cold sync of three apps spent a
// fifth of its time in it). So a process kept waiting for the cache says
// so: it holds a shared lock on the wait file beside the cache from the
// moment it finds the file busy until it has the file's lock, and a writer
// that owes a gap first tries that file's exclusive lock, without waiting:
// only when it cannot have it does someone wait, and it pauses.
//
// The locks are the cache file's kind (flock_unix.go, flock_windows.go):
// they belong to an open file, so a Store of this process waiting for
// another one's write counts as waiting too, and the system lets them go
// with the process, kill -9 included. A waiter that cannot announce itself
// (a folder it may not write) is left to bbolt's polling between writes,
// and a wait file that cannot be tested makes the writer pause as it
// always did.

// WaitPath is the wait file of the cache at path. The first process that
// has to wait for the cache creates it, empty; it stays, as the sync lock
// does, and holds nothing but its locks.
func WaitPath(path string) string { return path + ".wait" }

// waitNotice is this process's announcement that it waits for the cache
// file; the zero value announces nothing.
type waitNotice struct{ f *os.File }

// announceTries bounds how long announce tries for the shared lock: a
// writer holds the exclusive one only to test it, for microseconds.
const announceTries = 100

// announce takes the shared lock on the wait file of the cache at path,
// once: every later call until withdraw does nothing.
func (w *waitNotice) announce(path string) {
	if w.f != nil {
		return
	}
	f, err := os.OpenFile(WaitPath(path), os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	for range announceTries {
		err := tryLockShared(f)
		if err == nil {
			w.f = f
			return
		}
		if !lockHeld(err) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	f.Close()
}

// withdraw lets the announcement go: this process has the file, or gave up.
func (w *waitNotice) withdraw() {
	if w.f == nil {
		return
	}
	unlockFile(w.f)
	w.f.Close()
	w.f = nil
}

// someoneWaits reports whether a process (this one included, through
// another Store) announced that it waits for the cache at path. Without a
// wait file nobody ever waited there.
func someoneWaits(path string) bool {
	f, err := os.Open(WaitPath(path))
	if err != nil {
		return !os.IsNotExist(err)
	}
	defer f.Close()
	if err := tryLockExclusive(f); err != nil {
		return true // held, or locks do not work here: pause, as ever
	}
	unlockFile(f)
	return false
}
