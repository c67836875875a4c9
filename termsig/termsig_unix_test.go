//go:build unix

package termsig

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startChild runs the test binary as a waiting child under sh, which first
// runs prelude (a trap, say) and then execs it, and returns once it listens.
func startChild(t *testing.T, prelude string) (cmd *exec.Cmd, listens string, lines *bufio.Reader) {
	t.Helper()
	cmd = exec.Command("/bin/sh", "-c", prelude+` exec "$0" -test.run='^$'`, os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines = bufio.NewReader(out)
	first := readLine(t, lines)
	if !strings.HasPrefix(first, "ready ") {
		t.Fatalf("the child said %q", first)
	}
	return cmd, strings.TrimPrefix(first, "ready "), lines
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		s, _ := r.ReadString('\n')
		got <- strings.TrimSpace(s)
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("the child said nothing for 20 s")
		return ""
	}
}

// Each stop signal ends the child through its context, not by the
// signal's default action: it prints the cause and exits 0.
func TestEachStopSignalCancelsTheContext(t *testing.T) {
	skipIfStartedIgnoring(t, candidates...)
	for _, tt := range []struct {
		sig   syscall.Signal
		cause string
	}{
		{syscall.SIGINT, "interrupt signal received"},
		{syscall.SIGTERM, "terminated signal received"},
		{syscall.SIGHUP, "hangup signal received"},
	} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			cmd, listens, lines := startChild(t, "")
			if listens != "[interrupt terminated hangup]" {
				t.Fatalf("the child listens to %s", listens)
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			if got := readLine(t, lines); got != tt.cause {
				t.Errorf("cause %q, want %q", got, tt.cause)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("the child ended with %v, want a clean exit", err)
			}
		})
	}
}

// Under nohup (SIGHUP ignored at start), closing the terminal must not stop
// a sync: SIGHUP is left out, stays ignored, and SIGTERM still works.
func TestAnIgnoredHangupStaysIgnored(t *testing.T) {
	skipIfStartedIgnoring(t, candidates...)
	cmd, listens, lines := startChild(t, `trap "" HUP;`)
	if listens != "[interrupt terminated]" {
		t.Fatalf("with SIGHUP ignored the child listens to %s", listens)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("SIGHUP ended the child: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := readLine(t, lines); got != "terminated signal received" {
		t.Errorf("cause %q after SIGHUP then SIGTERM", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the child ended with %v", err)
	}
}
