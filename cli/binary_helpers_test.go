package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The end-to-end tests that need a real process (kill -9, two processes on
// one cache, what a new user sees) build the wxscope binary once per test
// run, without -race: it is the program under test, not the test.
var (
	binaryOnce sync.Once
	binaryDir  string
	binaryPath string
	binaryErr  error
)

// cleanups run after every test and benchmark of the package: fixtures
// shared between benchmarks (a synced cache of millions) live that long.
var cleanups []func()

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

func wxscopeBinary(t testing.TB) string {
	t.Helper()
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "wxscope-e2e-")
		if binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "wxscope")
		cmd := exec.Command("go", "build", "-o", binaryPath, "wxscope")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binaryErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// command prepares the binary with args against this setup's config, with
// an environment of only PATH, a temporary HOME and the apps' secrets.
func (s *simSetup) command(t testing.TB, ctx context.Context, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, wxscopeBinary(t), append(args, "--config", s.cfg)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range s.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	return cmd, &stdout, &stderr
}

// runBinary runs the binary to its end.
func (s *simSetup) runBinary(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, stdout, stderr := s.command(t, ctx, args...)
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("wxscope %v: %v", args, err)
	}
	return result{code, stdout.String(), stderr.String()}
}
