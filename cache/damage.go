package cache

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"
	"unicode/utf8"

	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged marks a cache file whose pages or values cannot be read as
// written: flipped bytes, a cut-off file, a broken page. The error carrying
// it is a *DamagedError, which says what to do.
var ErrDamaged = errors.New("cache damaged")

// DamagedError says that the cache file at Path is damaged, why, and what to
// do: salvage what is readable, then sync the rest.
type DamagedError struct {
	Path   string
	Reason string // what was found, in words
	Err    error  // what found it, when it was an error (nil for a fault or a failed check of the pages)
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the cache %s is damaged (%s); run wxscope salvage to copy what is still readable into a fresh cache, keeping the damaged file beside it, then wxscope sync to fetch the rest", e.Path, e.Reason)
}

// Unwrap lets errors.Is find ErrDamaged and the error behind the finding.
func (e *DamagedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrDamaged}
	}
	return []error{ErrDamaged, e.Err}
}

// maxReason bounds the reason a fault or a bad value gives: the text of a
// damaged key can be anything.
const maxReason = 240

func shortReason(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// damaged is the *DamagedError of this store for reason (and err), noted
// for Damaged and OnDamage.
func (s *Store) damaged(reason string, err error) error {
	e := &DamagedError{Path: s.path, Reason: shortReason(reason), Err: err}
	s.noteDamage(e)
	return e
}

// noteDamage records the first damage this store met and tells
// Options.OnDamage about it, once.
func (s *Store) noteDamage(e *DamagedError) {
	s.damageOnce.Do(func() {
		s.firstDamage.Store(e)
		if s.opts.OnDamage != nil {
			go s.opts.OnDamage(e)
		}
	})
}

// Damaged returns the first *DamagedError a read or write of this store
// met, or nil.
func (s *Store) Damaged() error {
	if e := s.firstDamage.Load(); e != nil {
		return e
	}
	return nil
}

// asDamage turns what a damaged file makes bbolt or the decoders do into a
// *DamagedError: a value that does not decode (errCorrupt), or a page
// bbolt trips over. Other errors pass unchanged.
func (s *Store) asDamage(err error) error {
	var de *DamagedError
	switch {
	case err == nil || errors.As(err, &de):
		return err
	case errors.Is(err, errCorrupt):
		return s.damaged(err.Error(), err)
	}
	return err
}

// guard runs fn, which reads or writes the file through bbolt, so that a
// damaged file gives a *DamagedError rather than a crash. bbolt reads its
// pages through a memory map and trusts the offsets in them: a damaged page
// makes it panic on an assertion or a bounds check, or read outside the map
// (SIGSEGV) or past the end of a truncated file (SIGBUS), which
// SetPanicOnFault turns into a panic of this goroutine. bbolt's deferred
// rollback has let the transaction go by the time the panic reaches here.
func (s *Store) guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = s.damaged(fmt.Sprintf("a page does not read as bbolt wrote it: %v", r), nil)
		}
	}()
	return s.asDamage(fn())
}

// precheck looks at the few pages every bbolt read starts from (the meta
// pages, the root, the freelist; see openPages) before bbolt maps the file,
// holding a shared lock meanwhile so that no writer is half-way through a
// commit. A file that is not a bbolt file gives ErrNotCache, a damaged one
// a *DamagedError; a missing or empty file passes (bbolt creates or
// initialises it, or says it is missing). Kept waiting, it announces the
// wait through w (wait.go).
func (s *Store) precheck(deadline time.Time, w *waitNotice) error {
	f, err := os.Open(s.path)
	if err != nil {
		return nil // bbolt reports it, or creates the file
	}
	defer f.Close()
	if err := flockShared(f, deadline, func() { w.announce(s.path) }); errors.Is(err, bolterrors.ErrTimeout) {
		return s.inUse(err)
	} else if err != nil {
		return nil // no lock to be had here: leave the file to bbolt
	}
	defer unlockFile(f)
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	_, err = openPages(f, fi.Size())
	var fp *fileProblem
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fp) && fp.notBolt:
		return fmt.Errorf("the file %s is %w (not a bbolt file); point the config's cache at another path or move the file away", s.path, ErrNotCache)
	default:
		return s.damaged(err.Error(), nil)
	}
}

// flockShared takes a shared lock on f (bbolt's, see flock_unix.go), polling until deadline as bbolt
// does for its own lock; busy is called each time the lock is found held.
func flockShared(f *os.File, deadline time.Time, busy func()) error {
	for {
		err := tryLockShared(f)
		if err == nil || !lockHeld(err) {
			return err
		}
		busy()
		if time.Now().After(deadline) {
			return bolterrors.ErrTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}
