// Package shell runs a command line from the configuration (token_command,
// import_command) the way a user expects on each OS: through /bin/sh -c on
// Unix and cmd.exe /C on Windows, with an environment given exactly, in a
// process group of its own that is ended as a whole on timeout or cancel,
// so that nothing the command started outlives it.
//
// Output runs a command for a short answer, capped. Start streams its
// standard output for a large one; the stream's io.EOF means the command
// succeeded, so a reader cannot mistake a command that broke off for a
// short answer.
package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Command.
const (
	DefaultMaxOutput  = 64 << 10 // what Output keeps of standard output
	DefaultStderrTail = 4 << 10  // how much of the end of stderr an error keeps
	DefaultWaitDelay  = time.Second
)

// Command is a command line and how to run it.
type Command struct {
	// Line is the command line as the user wrote it, for the platform's
	// shell.
	Line string
	// Env is the child's whole environment. Nil is an empty one (Windows
	// still adds SYSTEMROOT); pass os.Environ() to hand on this process's.
	// It is explicit so that a server never passes its client's environment
	// on by accident.
	Env []string
	// Dir is the working directory; empty is this process's.
	Dir string
	// MaxOutput caps standard output: past it reading fails with a
	// *LimitError and the command is ended. Zero is DefaultMaxOutput for
	// Output and no cap for Start.
	MaxOutput int64
	// StderrTail is how many bytes of the end of stderr are kept for the
	// error (default DefaultStderrTail).
	StderrTail int
	// WaitDelay is how long, after the shell itself has exited, processes
	// it left behind may hold its output open without writing before they
	// are ended (and, after a kill, how long before the output is closed
	// regardless). Default DefaultWaitDelay.
	WaitDelay time.Duration
}

// ExitError is a command that did not succeed: it exited non-zero or by a
// signal, or it was ended (timeout, cancel, too much output, processes left
// holding its output).
type ExitError struct {
	// Err is what happened: an *exec.ExitError for a non-zero exit; an
	// error matching context.DeadlineExceeded or context.Canceled when the
	// context ended it; a *LimitError past MaxOutput.
	Err error
	// Stderr is the end of what the command printed on stderr, at most
	// StderrTail bytes, as printed.
	Stderr string
}

// Error gives what happened and then stderr, its lines joined by "; ".
func (e *ExitError) Error() string {
	if tail := StderrLine(e.Stderr); tail != "" {
		return e.Err.Error() + ": " + tail
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// StderrLine makes one line of what a command printed on stderr: blank
// space trimmed, lines joined by "; ".
func StderrLine(stderr string) string {
	var lines []string
	for line := range strings.Lines(stderr) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "; ")
}

// LimitError is standard output going past Command.MaxOutput.
type LimitError struct {
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("it printed more than %d bytes on standard output", e.Limit)
}

// endedError is why the command was ended by this package.
type endedError struct {
	msg string
	err error // context.DeadlineExceeded, context.Canceled, or nil
}

func (e *endedError) Error() string { return e.msg }
func (e *endedError) Unwrap() error { return e.err }

// errLeftover ends a command whose shell exited while processes it started
// kept its output open: the output may not be complete.
var errLeftover = &endedError{msg: "it exited while processes it started kept its output open; they were ended"}

// errClosed ends a command whose reader gave up on it.
var errClosed = &endedError{msg: "it was ended before it finished"}

// Output runs the command and returns its standard output. It fails with
// an *ExitError when the command does not succeed, including when its
// output passes MaxOutput (default DefaultMaxOutput): then the command is
// ended at once rather than read to its end.
func (c Command) Output(ctx context.Context) ([]byte, error) {
	if c.MaxOutput == 0 {
		c.MaxOutput = DefaultMaxOutput
	}
	p, err := c.Start(ctx)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	out, err := io.ReadAll(p)
	if err != nil {
		if werr := p.Wait(); werr != nil {
			return out, werr
		}
		return out, err
	}
	return out, nil
}

// Process is a started command. Reading it reads the command's standard
// output; not safe for concurrent use.
type Process struct {
	cmd       *exec.Cmd
	grp       group
	stdout    *os.File // the read end
	limit     int64
	read      int64
	waitDelay time.Duration
	timeout   time.Duration // the context's, when it has a deadline

	stdoutEOF atomic.Bool
	readErr   error // sticky: the error Read returns from now on

	stderr     tailBuffer
	stderrR    *os.File
	stderrDone chan struct{}

	exited  chan struct{} // closed once the shell has exited
	waitErr error         // its status, set before exited is closed

	mu     sync.Mutex
	reason error // why this package ended the command, if it did

	finishOnce sync.Once
	finished   chan struct{}
	err        error // the final status, set before finished is closed
}

// Start starts the command with its standard output as the stream to read.
// Read it to the end: io.EOF comes only after the command exited
// successfully; otherwise Read's error is an *ExitError (a *LimitError
// past MaxOutput, at once). Then, or to stop early, call Close; Wait gives
// the status again.
func (c Command) Start(ctx context.Context) (*Process, error) {
	tail := c.StderrTail
	if tail <= 0 {
		tail = DefaultStderrTail
	}
	p := &Process{
		limit:      c.MaxOutput,
		waitDelay:  c.WaitDelay,
		stderr:     tailBuffer{max: tail},
		stderrDone: make(chan struct{}),
		exited:     make(chan struct{}),
		finished:   make(chan struct{}),
	}
	if p.waitDelay <= 0 {
		p.waitDelay = DefaultWaitDelay
	}
	if dl, ok := ctx.Deadline(); ok {
		p.timeout = time.Until(dl).Round(time.Millisecond)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	cmd := command(c.Line)
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = c.Dir
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("making a pipe for the command's output: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("making a pipe for the command's stderr: %w", err)
	}
	// *os.File ends go to the child as they are: no copying goroutine that
	// a leftover process could keep waiting.
	cmd.Stdout, cmd.Stderr = outW, errW
	grp, err := startGroup(cmd)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	p.cmd, p.grp, p.stdout, p.stderrR = cmd, grp, outR, errR

	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	go func() {
		io.Copy(&p.stderr, errR)
		close(p.stderrDone)
	}()
	go p.watch(ctx)
	return p, nil
}

// Pid is the shell's process id (on Unix also its process group's).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Read reads the command's standard output. It returns io.EOF only once
// the output has ended and the command exited successfully.
func (p *Process) Read(b []byte) (int, error) {
	if p.readErr != nil {
		return 0, p.readErr
	}
	if p.limit > 0 && int64(len(b)) > p.limit-p.read+1 {
		b = b[:p.limit-p.read+1] // enough to see the cap passed
	}
	n, err := p.stdout.Read(b)
	p.read += int64(n)
	if p.limit > 0 && p.read > p.limit {
		n -= int(p.read - p.limit)
		lim := &LimitError{Limit: p.limit}
		p.end(lim)
		p.stdoutEOF.Store(true)
		p.readErr = &ExitError{Err: lim, Stderr: p.stderr.String()}
		return n, p.readErr
	}
	if err != nil {
		p.stdoutEOF.Store(true)
		if ferr := p.finish(); ferr != nil {
			err = ferr
		} else if err != io.EOF {
			err = fmt.Errorf("reading the command's output: %w", err)
		}
		p.readErr = err
	}
	return n, err
}

// Wait waits for the command to end and returns nil when it succeeded,
// else an *ExitError. Output not read yet is given up: the command gets a
// closed pipe if it writes more.
func (p *Process) Wait() error {
	if !p.stdoutEOF.Load() {
		p.stdoutEOF.Store(true)
		p.stdout.Close()
	}
	return p.finish()
}

// Close ends the command if it is still running, with every process of its
// group, and frees what it holds. It is safe to call more than once and
// after Wait; it returns nil (Wait gives the status).
func (p *Process) Close() error {
	select {
	case <-p.finished:
	default:
		p.end(errClosed)
		p.Wait()
	}
	return nil
}

// end ends the command's whole group, for reason, once.
func (p *Process) end(reason error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reason != nil {
		return
	}
	select {
	case <-p.finished:
		return
	default:
	}
	p.reason = reason
	p.grp.kill()
}

// watch ends the command when ctx ends, and ends processes the shell left
// behind holding its output open: WaitDelay after the shell exits, a pipe
// that holds no data but has a writer will never end. (A background
// process with output of its own is left alone.) After any end it gives
// the output WaitDelay to close, then closes it, so that nothing waits on
// a process that left the group.
func (p *Process) watch(ctx context.Context) {
	exited := p.exited
	var grace, force <-chan time.Time
	for {
		select {
		case <-p.finished:
			return
		case <-ctx.Done():
			p.end(p.ctxReason(ctx))
			force = time.After(p.waitDelay)
			ctx = context.Background() // seen: do not select it again
		case <-exited:
			exited = nil
			grace = time.After(p.waitDelay)
		case <-grace:
			grace = nil
			switch p.outputState() {
			case pipeIdle:
				p.end(errLeftover)
				force = time.After(p.waitDelay)
			case pipeData:
				grace = time.After(p.waitDelay) // its reader is behind: look again
			}
		case <-force:
			force = nil
			p.stdoutEOF.Store(true)
			p.stdout.Close()
			p.stderrR.Close()
		}
	}
}

func (p *Process) ctxReason(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && p.timeout > 0 {
		return &endedError{msg: fmt.Sprintf("timed out after %s", p.timeout), err: ctx.Err()}
	}
	return &endedError{msg: ctx.Err().Error(), err: ctx.Err()}
}

// outputState tells, once the shell has exited, what keeps its output
// open: pipeIdle when a process it left holds a pipe open without writing
// (the output would never end), pipeData when output waits to be read,
// pipeClosed when every writer is gone.
func (p *Process) outputState() pipeState {
	state := pipeClosed
	pipes := []*os.File{p.stdout, p.stderrR}
	if p.stdoutEOF.Load() {
		pipes[0] = nil
	}
	select {
	case <-p.stderrDone:
		pipes[1] = nil
	default:
	}
	for _, f := range pipes {
		if f != nil {
			state = max(state, stateOf(f))
		}
	}
	return state
}

// pipeState is what the read end of a pipe can tell without reading.
type pipeState int

// The states, in the order outputState gives them precedence.
const (
	pipeClosed pipeState = iota // no writer left: it reads to its end
	pipeData                    // something is waiting to be read
	pipeIdle                    // a writer holds it open, writing nothing
)

// finish waits for the shell to exit and stderr to end, and settles the
// final status.
func (p *Process) finish() error {
	p.finishOnce.Do(func() {
		<-p.exited
		<-p.stderrDone
		p.stderrR.Close()
		p.mu.Lock()
		reason := p.reason
		switch {
		case reason != nil:
			p.err = &ExitError{Err: reason, Stderr: p.stderr.String()}
		case p.waitErr != nil:
			p.err = &ExitError{Err: p.waitErr, Stderr: p.stderr.String()}
		}
		close(p.finished)
		p.mu.Unlock()
		p.grp.release()
	})
	<-p.finished
	return p.err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2*t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

// String is the kept tail; a cut one starts at a line break if one is
// near, so that a half line does not open the error.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.b
	if len(b) > t.max {
		b, t.cut = b[len(b)-t.max:], true
	}
	if t.cut {
		if i := strings.IndexByte(string(b), '\n'); i >= 0 && i < len(b)/2 {
			b = b[i+1:]
		}
	}
	return strings.ToValidUTF8(string(b), "")
}

// group is the OS's hold on a command's processes.
type group interface {
	// kill ends every process of the group.
	kill() error
	// release frees the hold, leaving any process alone.
	release()
}
