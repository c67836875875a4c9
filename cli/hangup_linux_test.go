//go:build linux

package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pty is a pseudo-terminal for a child: the test holds the master side and
// reads what the child draws; the child gets the slave as its controlling
// terminal, so closing the master hangs it up as closing a terminal window
// does.
type pty struct {
	master, slave *os.File
	mu            sync.Mutex
	out           bytes.Buffer
	done          chan struct{} // closed when reading the master ends
}

// openPTY opens a pseudo-terminal of cols × rows through /dev/ptmx (Linux's
// posix_openpt, unlockpt and ptsname, with x/sys ioctls: no new module).
func openPTY(t *testing.T, cols, rows int) *pty {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the slave: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)}); err != nil {
		t.Fatalf("set the size: %v", err)
	}
	p := &pty{master: master, slave: slave, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := master.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		master.Close()
		slave.Close()
	})
	return p
}

func (p *pty) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitOutput waits up to d for the child's output to contain want.
func (p *pty) waitOutput(t *testing.T, want string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(p.output(), want) {
			return
		}
	}
	t.Fatalf("the child never drew %q; it drew %d bytes", want, len(p.output()))
}

// startDemoOnPTY runs `wxscope demo` on a fresh pseudo-terminal with its
// temporary folder in tmp, and waits until its first screen is up.
func startDemoOnPTY(t *testing.T, tmp string) (*exec.Cmd, *pty) {
	t.Helper()
	p := openPTY(t, 100, 30)
	cmd := exec.Command(wxscopeBinary(t), "demo", "--followers", "3000")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + tmp, "TERM=xterm-256color"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	p.waitOutput(t, "wxscope", 30*time.Second)
	// The cache exists once the first screen reads it.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if dirs, _ := filepath.Glob(filepath.Join(tmp, "wxscope-demo-*", "wxscope.db")); len(dirs) == 1 {
			return cmd, p
		}
	}
	t.Fatalf("the demo made no cache in %s", tmp)
	return nil, nil
}

// exited waits up to d for cmd to end.
func exited(t *testing.T, cmd *exec.Cmd, d time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the demo was still running %s after the hangup", d)
	}
}

// TestDemoRemovesItsCacheAndRestoresTheTerminalOnSIGHUP: a SIGHUP (what a
// terminal sends when its window closes, and kill -HUP) ends the demo as q
// does: the terminal leaves the alternate screen and raw mode, and the
// temporary cache is gone.
func TestDemoRemovesItsCacheAndRestoresTheTerminalOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	tmp := t.TempDir()
	cmd, p := startDemoOnPTY(t, tmp)
	raw, err := unix.IoctlGetTermios(int(p.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Lflag&unix.ICANON != 0 {
		t.Fatalf("the demo's terminal is not in raw mode while it runs")
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	exited(t, cmd, 20*time.Second)
	if left, _ := filepath.Glob(filepath.Join(tmp, "wxscope-demo-*")); len(left) != 0 {
		t.Errorf("after SIGHUP the demo left %v", left)
	}
	cooked, err := unix.IoctlGetTermios(int(p.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if cooked.Lflag&unix.ICANON == 0 || cooked.Lflag&unix.ECHO == 0 {
		t.Errorf("after SIGHUP the terminal is still raw (lflag %#x)", cooked.Lflag)
	}
	time.Sleep(100 * time.Millisecond) // the last bytes reach the master
	if out := p.output(); !strings.Contains(out, "\x1b[?1049l") {
		t.Errorf("after SIGHUP the terminal never left the alternate screen; the output ends %q", out[max(len(out)-200, 0):])
	}
}

// TestDemoRemovesItsCacheWhenItsTerminalCloses: closing the terminal (the
// master side of its pty) hangs the demo up; it ends and removes its cache
// although it can no longer write to the screen.
func TestDemoRemovesItsCacheWhenItsTerminalCloses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	tmp := t.TempDir()
	cmd, p := startDemoOnPTY(t, tmp)
	p.slave.Close() // only the child holds the terminal now
	p.master.Close()
	exited(t, cmd, 20*time.Second)
	if left, _ := filepath.Glob(filepath.Join(tmp, "wxscope-demo-*")); len(left) != 0 {
		t.Errorf("after its terminal closed the demo left %v", left)
	}
}
