//go:build !windows

package cache

import (
	"errors"
	"syscall"
)

// diskFull reports whether err says the disk is full: ENOSPC, or EDQUOT
// (the user's quota on it is).
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
