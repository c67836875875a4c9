//go:build windows

package shell

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func winEnv() []string { return []string{"PATH=" + os.Getenv("PATH")} }

func TestWindowsOutputKeepsQuotes(t *testing.T) {
	out, err := Command{Line: `echo "a  b" & echo c"d`, Env: winEnv()}.Output(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(out), "\r\n", "\n"); got != "\"a  b\" \nc\"d\n" {
		t.Fatalf("out = %q", out)
	}
}

func TestWindowsNonZeroExitKeepsStderr(t *testing.T) {
	_, err := Command{Line: `echo the reason 1>&2 & exit /b 3`, Env: winEnv()}.Output(context.Background())
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 3 || !strings.Contains(err.Error(), "the reason") {
		t.Fatalf("err = %v", err)
	}
}

// TestWindowsTimeoutEndsTheWholeTree runs a grandchild that holds the
// output open for a minute: only ending the whole job lets Output return.
func TestWindowsTimeoutEndsTheWholeTree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Command{Line: `cmd /c ping -n 60 127.0.0.1`, Env: winEnv()}.Output(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v: the grandchild outlived the timeout", d)
	}
}

func TestWindowsOutputOverTheCap(t *testing.T) {
	_, err := Command{Line: `for /l %i in (1,1,100000) do @echo 0123456789012345678901234567890123456789`, Env: winEnv(), MaxOutput: 4096}.Output(context.Background())
	var lim *LimitError
	if !errors.As(err, &lim) {
		t.Fatalf("err = %v, want a *LimitError", err)
	}
}
