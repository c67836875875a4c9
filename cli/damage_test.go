package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wxscope/cache/cachetest"
	"wxscope/wechat/wechattest"
)

// damagedSetup is a synced cache of a small world, and its healthy bytes.
func damagedSetup(t *testing.T) (*simSetup, []byte) {
	t.Helper()
	s := newSimSetup(t, wechattest.DemoWorld(11, 1500), "")
	s.mustSync(t)
	healthy, err := os.ReadFile(s.cache)
	if err != nil {
		t.Fatal(err)
	}
	return s, healthy
}

// The read commands on each kind of damaged cache: exit 1 and one line on
// stderr that names the file and says what to do, nothing on stdout (doctor
// prints its report with the finding), and the file's bytes unchanged.
// lookup may answer from pages the damage spared.
func TestReadCommandsOnADamagedCacheSayOneSentenceAndWriteNothing(t *testing.T) {
	s, healthy := damagedSetup(t)
	news := s.app(t, "news")
	someone := s.world.Followers(news.AppID)[7]
	commands := [][]string{
		{"export"}, {"export", "--format", "jsonl"}, {"links"}, {"links", "--format", "csv"}, {"links", "--format", "jsonl"},
		{"doctor"}, {"doctor", "--json"}, {"lookup", someone}, {"lookup", someone, "--json"},
	}
	for _, kind := range cachetest.Kinds {
		damaged, err := kind.Damage(bytes.Clone(healthy))
		if err != nil {
			t.Fatalf("%s: %v", kind.Name, err)
		}
		if err := os.WriteFile(s.cache, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range commands {
			r := s.run(context.Background(), args...)
			what := kind.Name + ": wxscope " + strings.Join(args, " ")
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			switch {
			case kind.Want == cachetest.NoCache:
				// An empty file is a cache nothing was written to yet.
				if args[0] == "doctor" && r.code != 0 || args[0] != "doctor" && r.code != 1 {
					t.Errorf("%s: exit %d, stderr %s", what, r.code, r.stderr)
				}
				continue
			case args[0] == "lookup" && r.code == 0:
				if !strings.Contains(r.stdout, someone) {
					t.Errorf("%s: exit 0 without the person: %s", what, r.stdout)
				}
				continue
			case r.code != 1 || len(lines) != 1:
				t.Errorf("%s: exit %d with %d lines on stderr, want exit 1 and one sentence:\n%s", what, r.code, len(lines), r.stderr)
				continue
			case args[0] == "doctor" && kind.Want == cachetest.Damaged:
				if !strings.Contains(r.stdout, "damaged") {
					t.Errorf("%s: the report lacks the damaged finding:\n%s", what, r.stdout)
				}
			case r.stdout != "":
				t.Errorf("%s: %d bytes on stdout, want none:\n%.300s", what, len(r.stdout), r.stdout)
			}
			want := []string{s.cache, "wxscope salvage"}
			if kind.Want == cachetest.NotCache {
				want = []string{s.cache, "not a wxscope cache"}
			}
			for _, w := range want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("%s: %q does not say %q", what, lines[0], w)
				}
			}
		}
		if after, _ := os.ReadFile(s.cache); !bytes.Equal(after, damaged) {
			t.Errorf("%s: the read commands changed the file", kind.Name)
		}
	}
}

// wxscope salvage of each salvageable kind of damage, then a sync: the
// cache holds exactly the world again, and the damaged file is still there.
func TestSalvageThenSyncRestoresTheWholeCache(t *testing.T) {
	s, healthy := damagedSetup(t)
	for _, kind := range cachetest.Kinds[:5] {
		damaged, err := kind.Damage(bytes.Clone(healthy))
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(s.cache)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".damaged-") {
				os.Remove(filepath.Join(dir, e.Name())) // the previous kind's
			}
		}
		if err := os.WriteFile(s.cache, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		r := s.run(context.Background(), "salvage")
		if r.code != 0 || !strings.Contains(r.stdout, "salvaged") || !strings.Contains(r.stdout, ".damaged-") {
			t.Fatalf("%s: salvage: exit %d\nstdout %s\nstderr %s", kind.Name, r.code, r.stdout, r.stderr)
		}
		kept := ""
		entries, _ = os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".damaged-") {
				kept = filepath.Join(dir, e.Name())
			}
		}
		if b, _ := os.ReadFile(kept); !bytes.Equal(b, damaged) {
			t.Fatalf("%s: the damaged file is not kept as it was (%q)", kind.Name, kept)
		}
		if r := s.run(context.Background(), "salvage"); r.code != 0 || !strings.Contains(r.stdout, "nothing to salvage") {
			t.Errorf("%s: a second salvage: exit %d, %s%s", kind.Name, r.code, r.stdout, r.stderr)
		}
		s.mustSync(t)
		checkExport(t, s.export(t), s.world, nil)
		if r := s.run(context.Background(), "doctor", "--json"); r.code != 0 || strings.Contains(r.stdout, `"damaged"`) {
			t.Errorf("%s: doctor after salvage and sync: exit %d, %s", kind.Name, r.code, r.stdout)
		}
	}
}

// salvage with no cache, or a healthy one, changes nothing.
func TestSalvageOfNoCacheOrAHealthyOneDoesNothing(t *testing.T) {
	s := newSimSetup(t, wechattest.DemoWorld(12, 300), "")
	if r := s.run(context.Background(), "salvage"); r.code != 1 || !strings.Contains(r.stderr, "nothing to salvage") {
		t.Errorf("salvage without a cache: exit %d, %s", r.code, r.stderr)
	}
	s.mustSync(t)
	before, _ := os.ReadFile(s.cache)
	if r := s.run(context.Background(), "salvage"); r.code != 0 || !strings.Contains(r.stdout, "nothing to salvage") {
		t.Errorf("salvage of a healthy cache: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
	if after, _ := os.ReadFile(s.cache); !bytes.Equal(before, after) {
		t.Error("salvage of a healthy cache changed it")
	}
}

// A sync on a damaged cache refuses to write through the damage, and says
// what to do.
func TestSyncOnADamagedCacheSaysSalvage(t *testing.T) {
	s, healthy := damagedSetup(t)
	damaged, err := cachetest.Kinds[0].Damage(bytes.Clone(healthy))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.cache, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	r := s.run(context.Background(), "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "wxscope salvage") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("sync on a damaged cache: exit %d\nstderr %s", r.code, r.stderr)
	}
}
