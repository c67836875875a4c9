//go:build unix

package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gone reports whether process pid has ended: no such process, or a zombie
// waiting for init to reap it.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS == "linux" // no /proc entry on Linux: gone
	}
	// pid (comm) STATE ...: comm may hold spaces, so look after the last ')'.
	s := string(b)
	return strings.HasPrefix(strings.TrimSpace(s[strings.LastIndexByte(s, ')')+1:]), "Z")
}

// waitGone waits a little for pid to end and fails the test if it does not;
// it kills the process either way so that nothing is left running.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	defer syscall.Kill(pid, syscall.SIGKILL)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if gone(pid) {
			return
		}
	}
	t.Fatalf("process %d is still running", pid)
}

// readPid reads the pid a command wrote to path.
func readPid(t *testing.T, path string) int {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return pid
		}
	}
	t.Fatalf("no pid in %s", path)
	return 0
}

func env(t *testing.T) []string { return []string{"PATH=" + os.Getenv("PATH")} }

func TestOutputIsStdoutAndQuotingSurvives(t *testing.T) {
	out, err := Command{Line: `printf '%s|%s\n' "a  b" 'c"d'; echo noise >&2`, Env: env(t)}.Output(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "a  b|c\"d\n" {
		t.Fatalf("out = %q", out)
	}
}

func TestEnvIsExactlyWhatIsGiven(t *testing.T) {
	t.Setenv("WXSCOPE_SHELL_TEST_PARENT", "leaked")
	out, err := Command{Line: "env", Env: []string{"ONLY=this"}}.Output(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "ONLY=this\n") || strings.Contains(string(out), "leaked") {
		t.Fatalf("env of the child:\n%s", out)
	}
	out, err = Command{Line: "env"}.Output(context.Background())
	if err != nil || strings.Contains(string(out), "leaked") {
		t.Fatalf("a nil Env passed the parent's on: %v\n%s", err, out)
	}
}

func TestTimeoutEndsTheWholeGroup(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	for name, line := range map[string]string{
		// A background child with its own output: it does not hold ours.
		"detached output": `sleep 60 >/dev/null 2>&1 & echo $! > "$PIDFILE"; sleep 60`,
		// A background child holding our output open.
		"shared output": `sleep 60 & echo $! > "$PIDFILE"; wait`,
		// A pipeline.
		"pipeline": `sh -c 'echo $$ > "$PIDFILE"; exec sleep 60' | cat`,
	} {
		t.Run(name, func(t *testing.T) {
			os.Remove(pidfile)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := Command{Line: line, Env: append(env(t), "PIDFILE="+pidfile)}.Output(ctx)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v to give up", d)
			}
			var ee *ExitError
			// The timeout is read off the deadline when the command starts: a
			// loaded machine starts it a millisecond or two late.
			if !errors.As(err, &ee) || !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "timed out after ") {
				t.Fatalf("err = %v, want a timeout", err)
			}
			waitGone(t, readPid(t, pidfile))
		})
	}
}

func TestCancelEndsTheCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Command{Line: "echo started; sleep 60", Env: env(t)}.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	line, _ := bufio.NewReader(p).ReadString('\n')
	if line != "started\n" {
		t.Fatalf("read %q", line)
	}
	cancel()
	_, err = io.ReadAll(p)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want it canceled", err)
	}
	waitGone(t, p.Pid())
}

func TestLeftoverHoldingTheOutputIsEnded(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	_, err := Command{Line: `sleep 60 & echo $! > "$PIDFILE"; echo done`, Env: append(env(t), "PIDFILE="+pidfile),
		WaitDelay: 200 * time.Millisecond}.Output(context.Background())
	if err == nil || !strings.Contains(err.Error(), "kept its output open") {
		t.Fatalf("err = %v, want the leftover named", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	waitGone(t, readPid(t, pidfile))
}

func TestBackgroundChildWithItsOwnOutputIsLeftAlone(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	out, err := Command{Line: `sleep 60 >/dev/null 2>&1 & echo $! > "$PIDFILE"; echo ok`, Env: append(env(t), "PIDFILE="+pidfile),
		WaitDelay: 100 * time.Millisecond}.Output(context.Background())
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("out %q, err %v", out, err)
	}
	pid := readPid(t, pidfile)
	defer syscall.Kill(pid, syscall.SIGKILL)
	time.Sleep(300 * time.Millisecond) // past WaitDelay
	if gone(pid) {
		t.Fatal("a background process that kept to its own output was ended")
	}
}

func TestOutputOverTheCapFailsAtOnceWithBoundedMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	out, err := Command{Line: "head -c 200000000 /dev/zero", Env: env(t), MaxOutput: 64 << 10}.Output(context.Background())
	runtime.ReadMemStats(&after)
	var lim *LimitError
	if !errors.As(err, &lim) || lim.Limit != 64<<10 || !strings.Contains(err.Error(), "printed more than 65536 bytes") {
		t.Fatalf("err = %v, want a *LimitError", err)
	}
	if len(out) > 64<<10 {
		t.Errorf("kept %d bytes, past the cap", len(out))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("allocated %d MB for a capped output", alloc>>20)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestStreamingCapStopsAtTheLimit(t *testing.T) {
	p, err := Command{Line: "yes", Env: env(t), MaxOutput: 1000}.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b, err := io.ReadAll(p)
	var lim *LimitError
	if len(b) != 1000 || !errors.As(err, &lim) {
		t.Fatalf("read %d bytes, err %v", len(b), err)
	}
	if err := p.Wait(); !errors.As(err, &lim) {
		t.Fatalf("Wait = %v, want the limit", err)
	}
	waitGone(t, p.Pid())
}

func TestNonZeroExitKeepsTheEndOfStderr(t *testing.T) {
	line := `echo early >&2; i=0; while [ $i -lt 500 ]; do echo "noise $i" >&2; i=$((i+1)); done; echo "the real reason" >&2; exit 3`
	_, err := Command{Line: line, Env: env(t), StderrTail: 100}.Output(context.Background())
	var ee *ExitError
	var xe *exec.ExitError
	if !errors.As(err, &ee) || !errors.As(err, &xe) || xe.ExitCode() != 3 {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	if len(ee.Stderr) > 100 || !strings.HasSuffix(ee.Stderr, "the real reason\n") || strings.Contains(ee.Stderr, "early") {
		t.Errorf("Stderr = %q, want its last 100 bytes", ee.Stderr)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "exit status 3: noise ") || !strings.HasSuffix(msg, "; the real reason") {
		t.Errorf("Error() = %q", msg)
	}
}

func TestStreamingCommandThatFailsMidwayNeverGivesEOF(t *testing.T) {
	p, err := Command{Line: `seq 1 50000; echo "connection lost" >&2; exit 4`, Env: env(t)}.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sc := bufio.NewScanner(p)
	n := 0
	for sc.Scan() {
		n++
	}
	if n != 50000 {
		t.Errorf("read %d lines before the failure, want 50000", n)
	}
	err = sc.Err()
	if err == nil || !strings.Contains(err.Error(), "exit status 4: connection lost") {
		t.Fatalf("scanner err = %v, want the exit status (never a clean EOF)", err)
	}
	if werr := p.Wait(); werr == nil || werr.Error() != err.Error() {
		t.Fatalf("Wait = %v, want %v", werr, err)
	}
}

func TestStreamingSuccessEndsWithEOF(t *testing.T) {
	p, err := Command{Line: "seq 1 200000", Env: env(t)}.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b, err := io.ReadAll(p)
	if err != nil || strings.Count(string(b), "\n") != 200000 {
		t.Fatalf("%d lines, err %v", strings.Count(string(b), "\n"), err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
}

func TestCloseEndsAStreamingCommandEarly(t *testing.T) {
	p, err := Command{Line: "yes", Env: env(t)}.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(p, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.Close()
	p.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	waitGone(t, p.Pid())
	if _, err := p.Read(make([]byte, 10)); err == nil || err == io.EOF {
		t.Fatalf("Read after Close = %v", err)
	}
}

func TestWaitWithoutReadingGivesUpTheOutput(t *testing.T) {
	p, err := Command{Line: "yes", Env: env(t)}.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	err = p.Wait() // yes gets a broken pipe
	if err == nil {
		t.Fatal("Wait = nil for a command whose output was given up")
	}
}

func TestMissingCommandIsANonZeroExit(t *testing.T) {
	_, err := Command{Line: "no-such-command-wxscope", Env: env(t)}.Output(context.Background())
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 127 || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestDirIsTheWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	out, err := Command{Line: "pwd -P", Env: env(t), Dir: dir}.Output(context.Background())
	real, _ := filepath.EvalSymlinks(dir)
	if err != nil || strings.TrimSpace(string(out)) != real {
		t.Fatalf("pwd = %q, err %v; want %s", out, err, real)
	}
}

// TestSlowReaderIsNotMistakenForALeftover: output still waiting in the
// pipe after the shell exited means the reader is behind, not that a
// leftover holds the pipe; the background child keeps to its own output.
func TestSlowReaderIsNotMistakenForALeftover(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	p, err := Command{Line: `sleep 60 >/dev/null 2>&1 & echo $! > "$PIDFILE"; seq 1 5000`, // fits in the pipe: the shell exits at once
		Env: append(env(t), "PIDFILE="+pidfile), WaitDelay: 50 * time.Millisecond}.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pid := readPid(t, pidfile)
	defer syscall.Kill(pid, syscall.SIGKILL)
	time.Sleep(400 * time.Millisecond) // the shell exits with its output unread
	b, err := io.ReadAll(p)
	if err != nil || strings.Count(string(b), "\n") != 5000 {
		t.Fatalf("%d lines, err %v", strings.Count(string(b), "\n"), err)
	}
	if gone(pid) {
		t.Fatal("a background process that kept to its own output was ended")
	}
}
