package lockfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests re-run this test binary as a child process that takes the lock
// (or tries to), so that contention and a kill -9 are between two real
// processes, as between two wxscope syncs.
const (
	holdEnv = "LOCKFILE_TEST_HOLD" // the child locks this file and holds it until its stdin closes
	tryEnv  = "LOCKFILE_TEST_TRY"  // the child tries this file once and says what happened
)

func TestMain(m *testing.M) {
	if path := os.Getenv(holdEnv); path != "" {
		os.Exit(childHold(path))
	}
	if path := os.Getenv(tryEnv); path != "" {
		os.Exit(childTry(path))
	}
	os.Exit(m.Run())
}

func childRecord(pid int) string { return fmt.Sprintf(`{"pid":%d,"command":"holder"}`, pid) }

func childHold(path string) int {
	l, err := TryLock(path)
	if err != nil {
		fmt.Println("error:", err)
		return 3
	}
	if err := l.SetRecord([]byte(childRecord(os.Getpid()))); err != nil {
		fmt.Println("error:", err)
		return 3
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := l.Unlock(); err != nil {
		fmt.Println("error:", err)
		return 4
	}
	return 0
}

// childTry prints "refused RECORD" or "locked".
func childTry(path string) int {
	l, err := TryLock(path)
	switch {
	case errors.Is(err, ErrLocked):
		rec, err := ReadRecord(path)
		if err != nil {
			fmt.Println("error:", err)
			return 3
		}
		fmt.Printf("refused %s\n", rec)
	case err != nil:
		fmt.Println("error:", err)
		return 3
	default:
		fmt.Println("locked")
		l.Unlock()
	}
	return 0
}

// child starts this binary in one of the child roles on path.
func child(t *testing.T, role, path string) (cmd *exec.Cmd, stdin io.WriteCloser, stdout *bufio.Reader) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), role+"="+path)
	cmd.Stderr = os.Stderr
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
	return cmd, stdin, bufio.NewReader(out)
}

// line reads the child's next line, failing after a while rather than
// hanging the test.
func line(t *testing.T, r *bufio.Reader) string {
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

// holdInChild starts a child that holds the lock on path and returns once
// it holds it.
func holdInChild(t *testing.T, path string) (cmd *exec.Cmd, stdin io.WriteCloser) {
	t.Helper()
	cmd, stdin, out := child(t, holdEnv, path)
	if s := line(t, out); s != "locked" {
		t.Fatalf("the holding child said %q", s)
	}
	return cmd, stdin
}

// tryInChild runs a child that tries the lock once, and returns what it said.
func tryInChild(t *testing.T, path string) string {
	t.Helper()
	cmd, _, out := child(t, tryEnv, path)
	s := line(t, out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the trying child said %q and ended with %v", s, err)
	}
	return s
}

func TestAnotherProcessHoldingTheLockRefusesItAndItsRecordReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync-lock")
	cmd, stdin := holdInChild(t, path)

	l, err := TryLock(path)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock while a child holds it: %v, want ErrLocked", err)
	}
	if l != nil {
		t.Fatal("a refused TryLock returned a Lock")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("the error %q does not name the file", err)
	}
	rec, err := ReadRecord(path)
	if err != nil || string(rec) != childRecord(cmd.Process.Pid) {
		t.Fatalf("ReadRecord = %q, %v; want the child's record %q", rec, err, childRecord(cmd.Process.Pid))
	}

	// The child unlocks when its stdin closes: the lock is free, the
	// record gone.
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the child's Unlock: %v", err)
	}
	if rec, err := ReadRecord(path); err != nil || len(rec) != 0 {
		t.Errorf("record after Unlock = %q, %v; want none", rec, err)
	}
	l, err = TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after the child unlocked: %v", err)
	}
	l.Unlock()
}

func TestTheHolderRecordReadsFromAProcessThatIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync-lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := `{"pid":4242,"command":"wxscope sync news","since":"2026-08-28T14:05:00Z"}`
	if err := l.SetRecord([]byte(rec)); err != nil {
		t.Fatal(err)
	}
	if got := tryInChild(t, path); got != "refused "+rec {
		t.Fatalf("the child said %q, want it refused with the record", got)
	}
	// A shorter record replaces the longer one entirely.
	if err := l.SetRecord([]byte(`{"pid":7}`)); err != nil {
		t.Fatal(err)
	}
	if got := tryInChild(t, path); got != `refused {"pid":7}` {
		t.Fatalf("after a shorter record the child said %q", got)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if got := tryInChild(t, path); got != "locked" {
		t.Fatalf("after Unlock the child said %q, want it to lock", got)
	}
}

// The point of the package: a holder killed with SIGKILL (TerminateProcess
// on Windows) never runs its Unlock, and the lock is free all the same.
func TestKillingTheHolderReleasesTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync-lock")
	cmd, _ := holdInChild(t, path)
	if _, err := TryLock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock while the child holds it: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if cmd.ProcessState.Success() {
		t.Fatal("the child ended on its own, not killed")
	}
	// Windows documents that it releases a dead process's locks "depending
	// on available system resources", so allow it a moment; Unix releases
	// them as the process ends.
	var l *Lock
	var err error
	start := time.Now()
	for {
		l, err = TryLock(path)
		if !errors.Is(err, ErrLocked) || time.Since(start) > 5*time.Second {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("TryLock %v after killing the holder: %v", time.Since(start), err)
	}
	t.Logf("locked %v after the holder's death was reaped", time.Since(start))
	defer l.Unlock()
	// The killed holder's record does not pass for the new holder's.
	if rec, err := ReadRecord(path); err != nil || len(rec) != 0 {
		t.Errorf("record after the new TryLock = %q, %v; want the dead holder's gone", rec, err)
	}
}

func TestASecondLockInTheSameProcessIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync-lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLock in this process: %v, want ErrLocked", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatalf("second Unlock: %v", err)
	}
	l2, err := TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	}
	l2.Unlock()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the lock file is gone after Unlock: %v", err)
	}
}

func TestTheHolderCanWriteThroughFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync-lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if l.Path() != path {
		t.Errorf("Path = %q", l.Path())
	}
	if _, err := l.File().WriteAt([]byte("written directly"), 0); err != nil {
		t.Fatal(err)
	}
	if got := tryInChild(t, path); got != "refused written directly" {
		t.Fatalf("the child said %q", got)
	}
}

func TestALockInAMissingFolderIsAnOpenErrorNotErrLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no such folder", "sync-lock")
	_, err := TryLock(path)
	if err == nil || errors.Is(err, ErrLocked) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want a not-exist error that is not ErrLocked", err)
	}
	if _, err := ReadRecord(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadRecord err = %v", err)
	}
}

// A sync takes the lock once per run: its cost is an open, a lock and a
// truncate.
func BenchmarkTryLockSetRecordUnlock(b *testing.B) {
	path := filepath.Join(b.TempDir(), "sync-lock")
	rec := []byte(childRecord(os.Getpid()))
	for b.Loop() {
		l, err := TryLock(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.SetRecord(rec); err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(); err != nil {
			b.Fatal(err)
		}
	}
}
