//go:build windows

package lockfile

import (
	"golang.org/x/sys/windows"
)

// errBusy is what LockFileEx returns, with LOCKFILE_FAIL_IMMEDIATELY, when
// another handle holds the range.
var errBusy = windows.ERROR_LOCK_VIOLATION

// lockRange is the one byte locked: the last of the 64-bit offsets, as
// bbolt does. A locked range blocks other handles' reads and writes of it,
// so it must lie past any record; a lock past the end of the file is
// allowed, and truncating the file leaves it in place.
func lockRange() *windows.Overlapped {
	return &windows.Overlapped{Offset: ^uint32(0), OffsetHigh: ^uint32(0)}
}

// Locks are per handle, so a second TryLock of the same file in this
// process is refused too, as on Unix.
func tryLock(h uintptr) error {
	return windows.LockFileEx(windows.Handle(h), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, lockRange())
}

func unlock(h uintptr) error {
	return windows.UnlockFileEx(windows.Handle(h), 0, 1, 0, lockRange())
}
