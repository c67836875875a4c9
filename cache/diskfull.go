package cache

import (
	"errors"
	"fmt"
)

// DiskFullError says that a write of the cache at Path failed because the
// disk holding it is full. What was committed before stays: bbolt writes a
// transaction's pages first and its meta page last, so a write cut short
// leaves the previous commit in place.
type DiskFullError struct {
	Path string
	Err  error
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("the disk holding the cache %s is full (%v); free some space on it, or point the config's cache at a larger disk, then run the command again: everything written before is kept", e.Path, e.Err)
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// IsDiskFull reports whether err says a disk is full, on this system's
// terms (ENOSPC or EDQUOT; ERROR_DISK_FULL on Windows).
func IsDiskFull(err error) bool { return diskFull(err) }

// asDiskFull turns a write's error into a *DiskFullError when the disk is
// full (diskFull), and passes any other error unchanged.
func (s *Store) asDiskFull(err error) error {
	var df *DiskFullError
	if err == nil || errors.As(err, &df) || !diskFull(err) {
		return err
	}
	return &DiskFullError{Path: s.path, Err: err}
}
