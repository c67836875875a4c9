package cache

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"wxscope/cache/cachetest"

	bolt "go.etcd.io/bbolt"
)

// damageApps are the apps of the damage fixture.
var damageApps = []AppRef{{AppID: "wx0000000000000001", Name: "news"}, {AppID: "wx0000000000000002", Name: "shop"}, {AppID: "wx0000000000000003", Name: "club"}}

// writeDamageFixture writes a cache of n profiles per app (a tenth of them
// unfollowed, every one with a unionid shared across the apps) to path, as
// a finished sync leaves it.
func writeDamageFixture(t testing.TB, path string, n int) {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for a, ref := range damageApps {
		ps := make([]Profile, n)
		for i := range ps {
			ps[i] = Profile{OpenID: fmt.Sprintf("oApp%d_%022d", a, i*7919%100000), UnionID: fmt.Sprintf("uU_%024d", i),
				Subscribed: i%10 != 0, SubscribeTime: 1681903376, Remark: "备注 " + fmt.Sprint(i), TagIDs: []int64{2, int64(i)}, FetchedAt: 1700000000}
			if i%10 == 0 {
				ps[i].UnfollowedAt = 1700000100
			}
		}
		if err := s.PutProfiles(ref.AppID, ps); err != nil {
			t.Fatal(err)
		}
	}
	// One at a time: a map's order would make the file's layout differ
	// from run to run.
	for _, ref := range damageApps {
		if err := s.SetAppName(ref.AppID, ref.Name); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

var (
	damageOnce  sync.Once
	damageBytes []byte
)

// damageFixture is the bytes of a healthy cache of 3 apps × 3000 profiles
// (about 180 pages), built once per test binary.
func damageFixture(t testing.TB) []byte {
	damageOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wxscope-damage-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "wxscope.db")
		writeDamageFixture(t, path, 3000)
		damageBytes, err = os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
	})
	return bytes.Clone(damageBytes)
}

// damageKinds are cachetest's kinds with the error each must give.
var damageKinds = func() []damageKind {
	var out []damageKind
	for _, k := range cachetest.Kinds {
		want := map[cachetest.Outcome]error{cachetest.Damaged: ErrDamaged, cachetest.NoCache: ErrNoCache, cachetest.NotCache: ErrNotCache}[k.Want]
		out = append(out, damageKind{k.Name, func(t testing.TB, b []byte) []byte {
			t.Helper()
			d, err := k.Damage(b)
			if err != nil {
				t.Fatalf("%s: %v", k.Name, err)
			}
			return d
		}, want})
	}
	return out
}()

type damageKind struct {
	name   string
	damage func(t testing.TB, b []byte) []byte
	want   error
}

// readPaths are every way the commands and the TUI read a store.
var readPaths = []struct {
	name string
	read func(s *Store) error
}{
	{"Apps", func(s *Store) error { _, err := s.Apps(); return err }},
	{"App", func(s *Store) error { _, _, err := s.App(damageApps[1].AppID); return err }},
	{"Profile", func(s *Store) error {
		_, _, err := s.Profile(damageApps[0].AppID, "oApp0_0000000000000000007919")
		return err
	}},
	{"FindOpenID", func(s *Store) error { _, err := s.FindOpenID("oApp2_0000000000000000015838"); return err }},
	{"Members", func(s *Store) error { _, err := s.Members("uU_000000000000000000000001"); return err }},
	{"MemberProfiles", func(s *Store) error { _, err := s.MemberProfiles("uU_000000000000000000000002"); return err }},
	{"Person", func(s *Store) error { _, err := s.Person("uU_000000000000000000000003", damageApps); return err }},
	{"OpenIDPrefix", func(s *Store) error { _, _, err := s.OpenIDPrefix(damageApps[2].AppID); return err }},
	{"EachProfile", func(s *Store) error {
		return s.EachProfile(damageApps[0].AppID, "", func(Profile) error { return nil })
	}},
	{"EachAppProfile", func(s *Store) error { return s.EachAppProfile(func(Profile) error { return nil }) }},
	{"EachUnionKey", func(s *Store) error { return s.EachUnionKey(func(u, a, o string) error { return nil }) }},
	{"EachUnionGroup", func(s *Store) error { return s.EachUnionGroup(func(string, []Member) error { return nil }) }},
	{"Analyze", func(s *Store) error { _, err := Analyze(s, AnalyzeOptions{Apps: damageApps}); return err }},
	{"EachGroup", func(s *Store) error { return EachGroup(s, damageApps, func(*Group) error { return nil }) }},
	{"Verify", func(s *Store) error { return s.Verify() }},
	{"Check", func(s *Store) error { return s.Check() }},
}

// knownFailure reports whether err is what a damaged, empty or foreign
// file may give: never a crash, never something a user cannot act on.
func knownFailure(err error) bool {
	return errors.Is(err, ErrDamaged) || errors.Is(err, ErrNotCache) || errors.Is(err, ErrNoCache)
}

// Every read path of a store, in every mode, on every kind of damaged file:
// an error saying so or an answer, never a panic or a fault, and a
// read-only store leaves the file's bytes as they were.
func TestEveryReadPathSurvivesEveryKindOfDamage(t *testing.T) {
	for _, kind := range damageKinds {
		t.Run(kind.name, func(t *testing.T) {
			damaged := kind.damage(t, damageFixture(t))
			for _, mode := range []Mode{SharedReadOnly, ReadOnly, Shared, ReadWrite} {
				path := filepath.Join(t.TempDir(), "wxscope.db")
				if err := os.WriteFile(path, damaged, 0o600); err != nil {
					t.Fatal(err)
				}
				s, err := Open(path, Options{Mode: mode})
				if err != nil {
					if !knownFailure(err) {
						t.Errorf("mode %d: Open: %v, want an error saying the file is damaged or not a cache", mode, err)
					}
					if !errors.Is(err, kind.want) && !(mode == ReadWrite || mode == Shared) {
						t.Errorf("mode %d: Open: %v, want %v", mode, err, kind.want)
					}
					continue
				}
				found := false
				for _, rp := range readPaths {
					err := rp.read(s)
					switch {
					case err == nil:
					case knownFailure(err):
						found = true
					default:
						t.Errorf("mode %d: %s: %v, want an error saying the file is damaged", mode, rp.name, err)
					}
				}
				if !found && kind.want == ErrDamaged {
					t.Errorf("mode %d: no read path found the damage (%s)", mode, kind.name)
				}
				if errors.Is(kind.want, ErrDamaged) && s.Damaged() == nil && found {
					t.Errorf("mode %d: the store met damage but Damaged() is nil", mode)
				}
				s.Close()
				if mode.readOnly() {
					if after, _ := os.ReadFile(path); !bytes.Equal(after, damaged) {
						t.Errorf("mode %d: a read-only store changed the damaged file", mode)
					}
				}
			}
		})
	}
}

// Verify finds each kind of damage before a command writes a line, and says
// where the file is and what to do.
func TestVerifyNamesTheFileAndSalvage(t *testing.T) {
	for _, kind := range damageKinds[:6] {
		path := filepath.Join(t.TempDir(), "wxscope.db")
		if err := os.WriteFile(path, kind.damage(t, damageFixture(t)), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{Mode: SharedReadOnly})
		if err == nil {
			err = s.Verify()
			s.Close()
		}
		var de *DamagedError
		if !errors.As(err, &de) {
			t.Errorf("%s: Verify = %v, want a *DamagedError", kind.name, err)
			continue
		}
		for _, want := range []string{path, "wxscope salvage", "wxscope sync"} {
			if !bytes.Contains([]byte(err.Error()), []byte(want)) {
				t.Errorf("%s: %q does not say %q", kind.name, err, want)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "wxscope.db")
	if err := os.WriteFile(path, damageFixture(t), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{Mode: SharedReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Verify(); err != nil {
		t.Errorf("Verify of a healthy cache: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("Check of a healthy cache: %v", err)
	}
}

// The first damage a store meets is told to OnDamage once, for the TUI to
// end on.
func TestOnDamageIsToldOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wxscope.db")
	if err := os.WriteFile(path, damageKinds[1].damage(t, damageFixture(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	told := make(chan error, 4)
	s, err := Open(path, Options{Mode: SharedReadOnly, OnDamage: func(err error) { told <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 3 {
		if err := s.EachAppProfile(func(Profile) error { return nil }); !errors.Is(err, ErrDamaged) {
			t.Fatalf("EachAppProfile over damaged branch pages: %v", err)
		}
	}
	if err := <-told; !errors.Is(err, ErrDamaged) {
		t.Fatalf("OnDamage got %v", err)
	}
	select {
	case err := <-told:
		t.Fatalf("OnDamage told twice: %v", err)
	default:
	}
}

// profilesOf reads every profile of a cache, keyed by app and openid.
func profilesOf(t testing.TB, path string) map[string]Profile {
	t.Helper()
	s, err := Open(path, Options{Mode: SharedReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := map[string]Profile{}
	if err := s.EachAppProfile(func(p Profile) error { out[p.AppID+"/"+p.OpenID] = p; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Salvage of each kind of damage leaves a fresh cache that checks clean,
// holding only profiles as they were written (most of them), with the app
// names; the damaged file is kept byte for byte under a dated name beside
// it, and nothing else is removed.
func TestSalvageCopiesWhatIsReadableAndKeepsTheDamagedFile(t *testing.T) {
	want := map[string]Profile{}
	{
		path := filepath.Join(t.TempDir(), "wxscope.db")
		if err := os.WriteFile(path, damageFixture(t), 0o600); err != nil {
			t.Fatal(err)
		}
		want = profilesOf(t, path)
	}
	now := time.Date(2026, 12, 1, 8, 46, 0, 0, time.Local)
	for _, kind := range damageKinds[:6] {
		t.Run(kind.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "wxscope.db")
			damaged := kind.damage(t, damageFixture(t))
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := Salvage(path, now)
			if kind.name == "truncated to 8 KiB" {
				// Nothing but the meta pages is left.
				if err == nil || !strings.Contains(err.Error(), "nothing to salvage") {
					t.Fatalf("Salvage of a file cut to its meta pages: %v, %+v", err, r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kept, _ := os.ReadFile(r.Kept); !bytes.Equal(kept, damaged) || r.Kept != path+".damaged-20261201-0846" {
				t.Errorf("the damaged file was not kept as it was under %s (got %s)", path+".damaged-20261201-0846", r.Kept)
			}
			s, err := Open(path, Options{Mode: SharedReadOnly})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); err != nil {
				t.Errorf("the salvaged cache: %v", err)
			}
			apps, err := s.Apps()
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			got := profilesOf(t, path)
			for k, p := range got {
				w, ok := want[k]
				if !ok || !reflect.DeepEqual(p, w) {
					t.Errorf("salvaged %s as %+v, but it was written as %+v", k, p, w)
					break
				}
			}
			if int64(len(got)) != r.Profiles || len(got) < len(want)/4 {
				t.Errorf("salvaged %d profiles (report: %d) of %d", len(got), r.Profiles, len(want))
			}
			named := 0
			for _, a := range apps {
				if a.Name != "" {
					named++
				}
				if a.Sync.InProgress || !a.Sync.LastCompleteAt.IsZero() {
					t.Errorf("app %s: the salvaged sync state %+v claims a run", a.AppID, a.Sync)
				}
			}
			entries, _ := os.ReadDir(dir)
			t.Logf("%s: %d of %d profiles, %d apps (%d named), %d pages and %d values lost; files %d",
				kind.name, len(got), len(want), len(apps), named, r.LostPages, r.LostValues, len(entries))
			if len(entries) != 2 {
				t.Errorf("the folder holds %d files, want the cache and the damaged one", len(entries))
			}
		})
	}
}

// Random damage, as the fuzzer makes it but reproducibly: bytes flipped
// across the file, or in one page, or the file cut anywhere, each through
// every read path and salvage (damageTrial). 40 trials; WXSCOPE_LONG=1
// runs 1 000.
func TestRandomDamageIsNeverCrashedOn(t *testing.T) {
	trials := 40
	if os.Getenv("WXSCOPE_LONG") != "" {
		trials = 1000
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range trials {
		b := smallCache(t)
		switch i % 3 {
		case 0: // bytes anywhere
			for range 1 + rng.IntN(64) {
				b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			}
		case 1: // a burst in one page
			page := rng.IntN(len(b) / 4096)
			for range 1 + rng.IntN(32) {
				b[page*4096+rng.IntN(4096)] = byte(rng.IntN(256))
			}
		case 2: // cut anywhere
			b = b[:rng.IntN(len(b))]
		}
		damageTrial(t, b)
	}
	t.Logf("%d damaged files read and salvaged", trials)
}

// Verify walks the rows bucket beside the others (verifySideBySide): a
// page that the rows and another bucket both reach is damage all the same,
// although neither walk reaches it twice, and of two damages it names the
// one a walk in bucket order meets first, as Check does.
func TestVerifyBesideTheRowsSeesWhatOneWalkWould(t *testing.T) {
	// share points the top-level bucket "zz" at the rows bucket's root.
	share := func(t *testing.T, b []byte) []byte {
		t.Helper()
		pf, err := openPages(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		ps, root := pf.meta.pageSize, int64(pf.meta.root)
		p := b[root*ps : (root+1)*ps]
		if native.Uint16(p[8:]) != pageFlagLeaf {
			t.Fatal("the root is not one leaf page")
		}
		var rows, zz []byte
		for i := range int(native.Uint16(p[10:])) {
			el, err := elementAt(p, pageFlagLeaf, i)
			if err != nil {
				t.Fatal(err)
			}
			switch string(el.key) {
			case string(bucketRows):
				rows = el.value
			case "zz":
				zz = el.value
			}
		}
		if native.Uint64(rows) == 0 || zz == nil {
			t.Fatal("no rows bucket of its own pages, or no bucket zz")
		}
		native.PutUint64(zz, native.Uint64(rows)) // zz aliases b
		return b
	}
	healthy := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "wxscope.db")
		writeDamageFixture(t, path, 3000)
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("zz"))
			return err
		})
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	verify := func(t *testing.T, path string, b []byte) (verr, cerr error) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{Mode: SharedReadOnly})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return s.Verify(), s.Check()
	}

	path := healthy(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if verr, _ := verify(t, path, bytes.Clone(b)); verr != nil {
		t.Fatalf("Verify of a healthy cache with a bucket zz: %v", verr)
	}
	verr, cerr := verify(t, path, share(t, bytes.Clone(b)))
	if !errors.Is(verr, ErrDamaged) || !strings.Contains(verr.Error(), "reached twice") {
		t.Errorf("Verify of a page two buckets reach: %v", verr)
	}
	if !errors.Is(cerr, ErrDamaged) || !strings.Contains(cerr.Error(), "reached twice") {
		t.Errorf("Check of a page two buckets reach: %v", cerr)
	}

	// An app record that does not decode (the apps bucket, first in
	// order) and a row that does not (walked beside it): Verify names the
	// record, whichever walk ends first.
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketApps).Put([]byte(damageApps[0].AppID), []byte{0xff, 0xff}); err != nil {
			return err
		}
		rows := tx.Bucket(bucketRows).Bucket([]byte(damageApps[2].AppID))
		return rows.Put(rowKey(nil, 5), []byte{0xff, 0xff, 0xff})
	})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if b, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		verr, cerr := verify(t, path, bytes.Clone(b))
		if !errors.Is(verr, ErrDamaged) || !strings.Contains(verr.Error(), "the record of app") {
			t.Fatalf("Verify of a bad record and a bad row: %v", verr)
		}
		if !errors.Is(cerr, ErrDamaged) || !strings.Contains(cerr.Error(), "the record of app") {
			t.Fatalf("Check of a bad record and a bad row: %v", cerr)
		}
	}
}
