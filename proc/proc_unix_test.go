//go:build unix

package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// systemPID is init's, which every Unix has, in a container too.
func systemPID(*testing.T) int { return 1 }

// kill(pid, 0) on another user's process fails with EPERM, which means it
// exists. Run as root, the test drops to nobody in a child to see it; run
// as anyone else, pid 1 is another user's already.
func TestAnotherUsersProcessIsAliveDespiteEPERM(t *testing.T) {
	if os.Getuid() != 0 {
		if err := syscall.Kill(1, 0); err != syscall.EPERM {
			t.Skipf("kill(1, 0) = %v, not EPERM: pid 1 is ours", err)
		}
		if !Alive(1) {
			t.Fatal("Alive(1) = false although kill(1, 0) said EPERM")
		}
		return
	}
	// nobody must be able to run a copy of the test binary.
	dir := t.TempDir() // and its parent: both are made 0700
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "proc.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), aliveEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("cannot run a child as nobody: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "alive" {
		t.Fatalf("as nobody, Alive(1) said %q", got)
	}
}
