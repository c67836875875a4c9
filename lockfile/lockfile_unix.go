//go:build unix

package lockfile

import (
	"golang.org/x/sys/unix"
)

// errBusy is what flock returns when another open file holds the lock.
var errBusy = unix.EWOULDBLOCK

// flock locks are per open file, so a second TryLock of the same file in
// this process is refused too, as on Windows.
func tryLock(fd uintptr) error {
	return ignoringEINTR(func() error { return unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB) })
}

func unlock(fd uintptr) error {
	return ignoringEINTR(func() error { return unix.Flock(int(fd), unix.LOCK_UN) })
}

// ignoringEINTR retries fn when a signal interrupted it.
func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}
