package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/wechat/wechattest"
)

// A sync onto a disk that fills up says so, naming the cache, and keeps
// what it committed before: the real binary syncs onto a small tmpfs in a
// mount namespace of its own (unshare: Linux, and a kernel that lets users
// have one; skipped elsewhere), the cache left behind checks clean, and a
// sync of it on a disk with room finishes with exactly the world.
func TestASyncOntoAFullDiskSaysSoAndKeepsWhatItWrote(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare to make a small disk with")
	}
	probe := t.TempDir()
	if out, err := exec.Command(unshare, "-rm", "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs in a mount namespace here: %v %s", err, out)
	}
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 41, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 20000, Unfollowed: 300},
	}})
	s := newSimSetup(t, world, "concurrency = 2", wechattest.WithPageSize(1000))
	// Slow enough that the sync commits several times before the disk is
	// full, so that there is something committed to keep.
	s.srv.SetLatency(5 * time.Millisecond)
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.Mkdir(small, 0o700); err != nil {
		t.Fatal(err)
	}
	cfgText, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "full.toml")
	onSmall := regexp.MustCompile(`(?m)^cache = .*$`).ReplaceAllString(string(cfgText), fmt.Sprintf("cache = %q", filepath.Join(small, "wxscope.db")))
	if err := os.WriteFile(cfg, []byte(onSmall), 0o600); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(dir, "kept.db")
	script := fmt.Sprintf(`mount -t tmpfs -o size=4000k tmpfs %[1]q || exit 90
%[2]q sync --config %[3]q >%[4]q 2>%[5]q
echo $? >%[6]q
cp %[1]q/wxscope.db %[7]q 2>/dev/null
exit 0`, small, wxscopeBinary(t), cfg, filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr"), filepath.Join(dir, "code"), kept)
	cmd := exec.Command(unshare, "-rm", "sh", "-c", script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range s.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the sync on a small disk: %v %s", err, out)
	}
	codeText, _ := os.ReadFile(filepath.Join(dir, "code"))
	stderr, _ := os.ReadFile(filepath.Join(dir, "stderr"))
	code, _ := strconv.Atoi(strings.TrimSpace(string(codeText)))
	line := strings.TrimSpace(string(stderr))
	if code != 1 || strings.Count(line, "\n") != 0 || !strings.Contains(line, "the disk holding the cache "+filepath.Join(small, "wxscope.db")+" is full") ||
		strings.Contains(line, "cannot reach the API") {
		t.Fatalf("sync on a full disk: exit %d, stderr %s", code, stderr)
	}

	// What was committed stays, and checks clean.
	store, err := cache.Open(kept, cache.Options{})
	if err != nil {
		t.Fatalf("the cache the full disk left: %v", err)
	}
	if err := store.Check(); err != nil {
		t.Fatalf("the cache the full disk left: %v", err)
	}
	apps, err := store.Apps()
	store.Close()
	if err != nil || len(apps) != 1 || apps[0].Counts.Profiles == 0 {
		t.Fatalf("the cache the full disk left holds %+v (%v), want the profiles committed before", apps, err)
	}
	t.Logf("the full disk stopped the sync with %d profiles committed: %s", apps[0].Counts.Profiles, line)

	// On a disk with room, the sync goes on to the end.
	b, err := os.ReadFile(kept)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(s.cache), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.cache, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s.srv.SetLatency(0)
	s.mustSync(t)
	checkExport(t, s.export(t), world, nil)
}
