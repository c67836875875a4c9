package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `wxscope demo --serve` prints config=PATH, then the export lines the config
// needs; with them every headless command works with no credentials, and an
// interrupt removes what it made.
func TestDemoServeLetsEveryCommandRunWithoutCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	serve := exec.CommandContext(ctx, wxscopeBinary(t), "demo", "--serve", "--followers", "400")
	serve.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	serve.WaitDelay = 5 * time.Second
	out, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer serve.Process.Kill()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "config=") {
		t.Fatalf("first line %q, want config=PATH", lines.Text())
	}
	cfg := strings.TrimPrefix(lines.Text(), "config=")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for range 4 { // one secret per demo app
		if !lines.Scan() {
			t.Fatalf("the output ended after %d lines: %v", len(env), lines.Err())
		}
		kv, ok := strings.CutPrefix(lines.Text(), "export ")
		if !ok || !strings.Contains(kv, "=") {
			t.Fatalf("line %q, want export NAME=VALUE", lines.Text())
		}
		env = append(env, kv)
	}

	wx := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, wxscopeBinary(t), append(args, "--config", cfg)...)
		cmd.Env = env
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("wxscope %v: %v", args, err)
		}
		return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
	}
	// The mini program and the mobile app are configured like a user's.
	if toml, err := os.ReadFile(cfg); err != nil || !strings.Contains(string(toml), "name = \"mall\"\nappid = ") ||
		!strings.Contains(string(toml), "kind = \"miniprogram\"\nimport = ") || !strings.Contains(string(toml), "kind = \"mobile\"\nimport = ") {
		t.Errorf("the demo's config lacks its imported apps (%v):\n%s", err, toml)
	}
	if stdout, stderr, code := wx("sync"); code != 0 || !strings.Contains(stdout, "mall: 240 rows read from ") {
		t.Fatalf("sync: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	export, stderr, code := wx("export", "--format", "jsonl")
	if code != 0 || strings.Count(export, "\n") < 400 || !strings.Contains(export, `"app":"mall"`) {
		t.Fatalf("export: exit %d, %d rows, stderr %q", code, strings.Count(export, "\n"), stderr)
	}
	var row struct{ OpenID string }
	if err := json.Unmarshal([]byte(export[:strings.IndexByte(export, '\n')]), &row); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := wx("lookup", row.OpenID, "--json"); code != 0 {
		t.Errorf("lookup %s: exit %d, stderr %q", row.OpenID, code, stderr)
	}
	if _, stderr, code := wx("links", "--format", "jsonl"); code != 0 {
		t.Errorf("links: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := wx("doctor", "--json"); code != 0 {
		t.Errorf("doctor: exit %d, stderr %q", code, stderr)
	}

	if err := serve.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := serve.Wait(); err != nil {
		t.Errorf("demo --serve after Ctrl-C: %v, want exit 0", err)
	}
	if _, err := os.Stat(filepath.Dir(cfg)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo's folder %s is still there after Ctrl-C (%v)", filepath.Dir(cfg), err)
	}
}
