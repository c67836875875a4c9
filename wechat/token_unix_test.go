//go:build unix

package wechat

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestTokenCommandTimeoutEndsItsWholeProcessGroup(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) {
		// The background sleep keeps the command's output open, as a
		// forgotten agent would.
		cfg.TokenCommand = `sleep 60 & echo $! > "` + pidfile + `"; wait`
		cfg.TokenCommandTimeout = 300 * time.Millisecond
	})
	_, err := c.UserInfo(context.Background(), "o1")
	if err == nil || !strings.Contains(err.Error(), "token_command failed: timed out after 300ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	b, rerr := os.ReadFile(pidfile)
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if rerr != nil || perr != nil {
		t.Fatalf("no pid from the command: %v %v", rerr, perr)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ended(pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the token command's background process %d outlived its timeout", pid)
		}
	}
}

// ended reports whether pid is gone or a zombie waiting to be reaped.
func ended(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return runtime.GOOS == "linux"
	}
	s := string(b)
	return strings.HasPrefix(strings.TrimSpace(s[strings.LastIndexByte(s, ')')+1:]), "Z")
}

func TestTokenCommandPrinting200MBFailsClearlyInBoundedMemory(t *testing.T) {
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) {
		cfg.TokenCommand = "head -c 200000000 /dev/zero | tr '\\0' x"
		cfg.TokenCommandTimeout = 10 * time.Second
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := c.UserInfo(context.Background(), "o1")
	runtime.ReadMemStats(&after)
	want := "wechat " + testAppID + ": token_command printed more than 65536 bytes; it must print only the token"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MB reading a capped token command", alloc>>20)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: the command was read to its end", d)
	}
	if f.count(PathUserInfo) != 0 {
		t.Error("API called without a token")
	}
}
