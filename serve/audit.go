package serve

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Audit is the audit log: one JSON line per session and per thing done
// inside one, appended to a file that only the server's user may read.
// Each line goes out in one write to a file opened O_APPEND, so lines of
// concurrent sessions never interleave, and a crash loses at most the line
// being written.
type Audit struct {
	mu   sync.Mutex
	f    *os.File
	path string
	now  func() time.Time
}

// AuditLine is one line of the audit log (design.md, "Serving a team").
type AuditLine struct {
	Time    string `json:"time"`    // RFC 3339 in UTC, to the millisecond
	User    string `json:"user"`    // the [[serve.user]] name
	Key     string `json:"key"`     // the SHA256 fingerprint of the key that logged in
	Remote  string `json:"remote"`  // the client's address, ip:port
	Command string `json:"command"` // the command line as sent, "(tui)" for the TUI
	Exit    int    `json:"exit"`    // the exit status the session got
}

// OpenAudit opens (creating it 0600, in a folder made 0700) the audit log
// at path for appending.
func OpenAudit(path string) (*Audit, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the folder of the audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the audit log %s: %w; check the folder's permissions", path, err)
	}
	return &Audit{f: f, path: path, now: time.Now}, nil
}

// Path is the file the log appends to.
func (a *Audit) Path() string { return a.path }

// Write appends l, stamping its time when it has none.
func (a *Audit) Write(l AuditLine) error {
	if l.Time == "" {
		l.Time = a.now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return fmt.Errorf("write the audit log %s: it is closed", a.path)
	}
	if _, err := a.f.Write(b); err != nil {
		return fmt.Errorf("write the audit log %s: %w", a.path, err)
	}
	return nil
}

// Close flushes the log to disk and closes it.
func (a *Audit) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Sync()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	a.f = nil
	return err
}
