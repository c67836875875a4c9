package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary run as a child: with waitEnv it says "ready" and waits
// for its stdin to close; with aliveEnv=PID it prints what Alive(PID) says.
const (
	waitEnv  = "PROC_TEST_WAIT"
	aliveEnv = "PROC_TEST_ALIVE"
)

func TestMain(m *testing.M) {
	if os.Getenv(waitEnv) != "" {
		os.Stdout.WriteString("ready\n")
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	if s := os.Getenv(aliveEnv); s != "" {
		pid, err := strconv.Atoi(s)
		if err != nil {
			os.Exit(2)
		}
		fmt.Println(map[bool]string{true: "alive", false: "dead"}[Alive(pid)])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startChild starts a waiting child and returns once it runs.
func startChild(t *testing.T) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), waitEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(s)
	}()
	select {
	case s := <-ready:
		if s != "ready" {
			t.Fatalf("the child said %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the child did not start in 20 s")
	}
	return cmd, stdin
}

func TestThisProcessIsAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("Alive(own pid) = false")
	}
}

func TestNoPidBelowOneIsAlive(t *testing.T) {
	// On Unix kill(0, 0) and kill(-1, 0) would succeed: they address process groups.
	for _, pid := range []int{0, -1, -os.Getpid()} {
		if Alive(pid) {
			t.Errorf("Alive(%d) = true", pid)
		}
	}
}

func TestAChildIsAliveUntilItEnds(t *testing.T) {
	cmd, stdin := startChild(t)
	pid := cmd.Process.Pid
	if !Alive(pid) {
		t.Fatalf("Alive(running child %d) = false", pid)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if Alive(pid) {
		t.Fatalf("Alive(child %d that exited) = true", pid)
	}
}

func TestAKilledChildIsDead(t *testing.T) {
	cmd, _ := startChild(t)
	pid := cmd.Process.Pid
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if Alive(pid) {
		t.Fatalf("Alive(killed child %d) = true", pid)
	}
}

// A process that is not ours to signal or query exists all the same.
func TestASystemProcessIsAlive(t *testing.T) {
	pid := systemPID(t)
	if !Alive(pid) {
		t.Fatalf("Alive(%d) = false", pid)
	}
}

// ReadHolder asks once per refused open: this is its cost.
func BenchmarkAlive(b *testing.B) {
	pid := os.Getpid()
	for b.Loop() {
		if !Alive(pid) {
			b.Fatal("not alive")
		}
	}
}
