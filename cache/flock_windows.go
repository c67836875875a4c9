//go:build windows

package cache

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// The locks the page check and salvage take on the cache file are bbolt's
// own: on Windows LockFileEx on the one byte at the last offset of the file
// (bbolt's bolt_windows.go), so they exclude a bbolt writer of another
// process and never block reads of the pages themselves.

func lockRange(f *os.File, flags uint32) error {
	const last = ^uint32(0)
	return windows.LockFileEx(windows.Handle(f.Fd()), flags|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0,
		&windows.Overlapped{Offset: last, OffsetHigh: last})
}

func tryLockShared(f *os.File) error { return lockRange(f, 0) }

func tryLockExclusive(f *os.File) error { return lockRange(f, windows.LOCKFILE_EXCLUSIVE_LOCK) }

func unlockFile(f *os.File) error {
	const last = ^uint32(0)
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &windows.Overlapped{Offset: last, OffsetHigh: last})
}

// lockHeld reports whether a try-lock failed because another holds it.
func lockHeld(err error) bool {
	return errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING)
}
