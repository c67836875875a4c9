//go:build !windows

package cache

import (
	"errors"
	"os"
	"syscall"
)

// The locks the page check and salvage take on the cache file are bbolt's
// own: flock on Unix, so they exclude a bbolt writer of another process.

func tryLockShared(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
}

func tryLockExclusive(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// lockHeld reports whether a try-lock failed because another holds it.
func lockHeld(err error) bool { return errors.Is(err, syscall.EWOULDBLOCK) }
