// Package lockfile takes an exclusive lock on a file without waiting: a lock
// that the operating system releases when its process ends, however it ends
// (kill -9 and a crash included), so that a lock never outlives its holder
// and needs no clean-up.
//
// While the lock is held the file's bytes stay readable by other processes,
// on Windows too, so the holder can write a record there saying who it is
// (Lock.SetRecord) for the message that a refused process prints
// (ReadRecord).
package lockfile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrLocked marks a TryLock refused because the lock is held elsewhere: by
// another process, or by another Lock on the same file in this process.
var ErrLocked = errors.New("the file is locked by another process")

// maxRecord bounds what ReadRecord reads: a record is a line of JSON, and
// the path could name any file.
const maxRecord = 64 << 10

// Lock is a held lock on a file. Its methods are not safe for concurrent use.
type Lock struct {
	path string
	f    *os.File
}

// TryLock opens the file at path (creating it, mode 0600, when it is
// missing) and locks it without waiting. When the lock is held elsewhere the
// error satisfies errors.Is(err, ErrLocked).
//
// On Unix the lock is flock(LOCK_EX|LOCK_NB); on Windows LockFileEx on a
// byte range far past the end of any record (the range bbolt uses), because
// a locked range on Windows also blocks other processes' reads of it.
func TryLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the lock file %s: %w", path, err)
	}
	if err := control(f, tryLock); err != nil {
		f.Close()
		if errors.Is(err, errBusy) {
			return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// A holder killed before its Unlock left its record behind: it must not
	// pass for the new holder's.
	if err := f.Truncate(0); err != nil {
		l := &Lock{path: path, f: f}
		l.Unlock()
		return nil, fmt.Errorf("clear the lock file %s: %w", path, err)
	}
	return &Lock{path: path, f: f}, nil
}

// Path is the locked file.
func (l *Lock) Path() string { return l.path }

// File is the locked file, open for reading and writing, for a holder that
// keeps more than a record there. Writing and truncating through it is safe
// on every system; closing it is Unlock's job.
func (l *Lock) File() *os.File { return l.f }

// SetRecord replaces the file's content with b. It writes before it
// truncates, so that a process reading the record meanwhile sees the old
// record or the new one (or a mix, which a decoder rejects), never an empty
// file once a record was written.
func (l *Lock) SetRecord(b []byte) error {
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("write the record of the lock %s: %w", l.path, err)
	}
	if err := l.f.Truncate(int64(len(b))); err != nil {
		return fmt.Errorf("write the record of the lock %s: %w", l.path, err)
	}
	return nil
}

// Unlock empties the record and releases the lock. The file stays: removing
// it would let one process lock the removed file while another locks a new
// file of the same name. Unlock twice is a no-op.
func (l *Lock) Unlock() error {
	if l.f == nil {
		return nil
	}
	// The record would otherwise name a process that no longer holds the
	// lock; a reader is told only what a live holder wrote.
	_ = l.f.Truncate(0)
	err := control(l.f, unlock)
	// Closing releases the lock too: the explicit unlock is for the error.
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}

// ReadRecord returns the record in the lock file at path, as its holder
// wrote it with SetRecord: empty when the holder wrote none yet. It works
// while the lock is held, and does not take it. A holder killed before its
// Unlock leaves its record until the next TryLock, so the record is news
// only after a TryLock was refused.
func ReadRecord(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the lock file %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRecord))
	if err != nil {
		return nil, fmt.Errorf("read the lock file %s: %w", path, err)
	}
	return b, nil
}

// control runs fn on the file's descriptor (handle on Windows).
func control(f *os.File, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(fd) }); err != nil {
		return err
	}
	return ferr
}
