package cache

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wxscope/proc"
)

// Holder is the process that writes the cache, as recorded in the lock-info
// file beside it (path + ".lock-info") so that a process kept waiting can say
// who holds the file. Readers do not record themselves.
type Holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

// String names the holder as a person reads it, e.g. "wxscope sync (pid
// 4242, since 14:05)": the start's time of day when it is today, the date
// too otherwise.
func (h *Holder) String() string {
	since := h.Since.Local()
	at := since.Format("15:04")
	ny, nm, nd := time.Now().Date()
	if y, m, d := since.Date(); y != ny || m != nm || d != nd {
		at = since.Format("2006-01-02 15:04")
	}
	return fmt.Sprintf("%s (pid %d, since %s)", h.Command, h.PID, at)
}

// InUseError says the cache file stayed locked past the timeout, and by whom
// when that is known. errors.Is(err, ErrInUse) holds.
type InUseError struct {
	Path   string
	Holder *Holder // nil when the holder left no (live) lock-info: a reader, or an older wxscope
	Err    error   // bbolt's timeout
}

func (e *InUseError) Error() string {
	if e.Holder == nil {
		return fmt.Sprintf("the cache %s is in use by another process (probably a wxscope reading it); wait for it to finish or stop it", e.Path)
	}
	return fmt.Sprintf("the cache %s is in use by %s; wait for it to finish or stop it", e.Path, e.Holder)
}

// Unwrap lets errors.Is find ErrInUse and bbolt's timeout.
func (e *InUseError) Unwrap() []error { return []error{ErrInUse, e.Err} }

// LockInfoPath is the lock-info file of the cache at path.
func LockInfoPath(path string) string { return path + ".lock-info" }

// ReadHolder returns the writer recorded beside the cache at path, or nil
// when there is none or the recorded process is gone (a killed writer leaves
// its file behind).
func ReadHolder(path string) *Holder {
	b, err := os.ReadFile(LockInfoPath(path))
	if err != nil {
		return nil
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil || h.PID <= 0 || !proc.Alive(h.PID) {
		return nil
	}
	return &h
}

func (s *Store) inUse(err error) error {
	return &InUseError{Path: s.path, Holder: ReadHolder(s.path), Err: err}
}

// writeHolder records this process, running command, as the cache's
// writer. It is advice for error messages, so failing to write it is not an
// error.
func (s *Store) writeHolder(command string) {
	h := &Holder{PID: os.Getpid(), Command: command, Since: time.Now()}
	b, _ := json.Marshal(h)
	tmp := LockInfoPath(s.path) + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil && os.Rename(tmp, LockInfoPath(s.path)) == nil {
		s.holder = h
	}
}

// removeHolder deletes the lock-info file if it is still this process's.
func (s *Store) removeHolder() {
	if s.holder == nil {
		return
	}
	b, err := os.ReadFile(LockInfoPath(s.path))
	if err == nil {
		var h Holder
		if json.Unmarshal(b, &h) == nil && h.PID == os.Getpid() {
			os.Remove(LockInfoPath(s.path))
		}
	}
	s.holder = nil
}

func defaultCommand() string {
	if len(os.Args) == 0 {
		return "wxscope"
	}
	args := append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)
	return strings.Join(args, " ")
}
