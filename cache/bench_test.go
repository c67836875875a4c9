package cache

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Benchmarks of the hot paths: go test -run '^$' -bench . -benchtime 3x ./cache/
// The 1 M and 3 M fixtures are built once per process (that takes a while).

var fixtureDir string

// TestMain removes the shared benchmark fixture, and fails the package if any
// goroutine outlives its tests: a Sync that returned must have stopped its
// lister, workers, writer and reporter.
func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	fixtureOnce sync.Once
	fixturePath string
	fixtureErr  error
)

// benchProfile is a realistic profile: a 28-character openid, a unionid, a
// scene, a short remark and two tags.
func benchProfile(app, i int) Profile {
	p := Profile{
		OpenID:         fmt.Sprintf("o%d_Bk2PMjscyXq%013d", app, i),
		UnionID:        fmt.Sprintf("ovg9owgl%020d", i),
		Subscribed:     true,
		SubscribeTime:  1681903376 + int64(i),
		SubscribeScene: "ADD_SCENE_SEARCH",
		TagIDs:         []int64{2, 128},
		FetchedAt:      1700000000,
	}
	if i%10 == 0 {
		p.Remark = "老客户 VIP"
	}
	return p
}

// bigFixture is a cache of 3 apps × 1 M followers, all sharing unionids:
// a 3 M-entry unionid index.
func bigFixture(b *testing.B) string {
	fixtureOnce.Do(func() {
		fixtureDir, fixtureErr = os.MkdirTemp("", "wxscope-bench-")
		if fixtureErr != nil {
			return
		}
		fixturePath = filepath.Join(fixtureDir, "wxscope.db")
		s, err := Open(fixturePath, Options{})
		if err != nil {
			fixtureErr = err
			return
		}
		defer s.Close()
		const n, chunk = 1_000_000, 50_000
		ps := make([]Profile, chunk)
		for app := range 3 {
			for start := 0; start < n; start += chunk {
				for i := range ps {
					ps[i] = benchProfile(app, start+i)
				}
				if fixtureErr = s.PutProfiles(fmt.Sprintf("wx%d", app), ps); fixtureErr != nil {
					return
				}
			}
		}
	})
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return fixturePath
}

func fileMB(b *testing.B, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
}

// BenchmarkWrite100kProfiles writes 100 000 profiles in transactions of
// 1 000, as a sync does.
func BenchmarkWrite100kProfiles(b *testing.B) {
	ps := make([]Profile, 100_000)
	for i := range ps {
		ps[i] = benchProfile(0, i)
	}
	b.ReportAllocs()
	var path string
	for b.Loop() {
		b.StopTimer()
		s := openTestStore(b, Options{})
		path = s.Path()
		b.StartTimer()
		for i := 0; i < len(ps); i += 1000 {
			if err := s.PutProfiles("wx0", ps[i:i+1000]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	fileMB(b, path)
}

// benchWalk opens the big fixture ReadOnly and times walk over it, which
// must visit want rows each time.
func benchWalk(b *testing.B, want int, walk func(s *Store, visit func()) error) {
	path := bigFixture(b)
	s, err := Open(path, Options{Mode: ReadOnly})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := walk(s, func() { n++ }); err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("%d rows, want %d", n, want)
		}
	}
	fileMB(b, path)
}

// BenchmarkEachProfile1M decodes every profile of a 1 M-follower app.
func BenchmarkEachProfile1M(b *testing.B) {
	benchWalk(b, 1_000_000, func(s *Store, visit func()) error {
		return s.EachProfile("wx1", "", func(Profile) error { visit(); return nil })
	})
}

// BenchmarkEachUnionKey3M walks a 3 M-entry unionid index, keys only.
func BenchmarkEachUnionKey3M(b *testing.B) {
	benchWalk(b, 3_000_000, func(s *Store, visit func()) error {
		return s.EachUnionKey(func(_, _, _ string) error { visit(); return nil })
	})
}

// BenchmarkSharedModeLookup is the cost a Shared store pays per read:
// opening the file read-only and one lookup.
func BenchmarkSharedModeLookup(b *testing.B) {
	path := bigFixture(b)
	s, err := Open(path, Options{Mode: Shared})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	id := benchProfile(2, 123456).OpenID
	for b.Loop() {
		if ps, err := s.FindOpenID(id); err != nil || len(ps) != 1 {
			b.Fatal(len(ps), err)
		}
	}
}

// BenchmarkCatchUp indexes the tail a cold sync of n profiles leaves (rows
// appended unindexed, openids random), as a sync does at the end of its
// run: the openid index and the unionid index, sorted and written in key
// order (index.go). The store is Shared, as a sync's: held-ms is how long
// the catch-up's writes held the file (past sharedWriteBurst, a writer
// pauses for SharedWriteGap, and pauses the number of times it did).
//
//	go test -run '^$' -bench CatchUp -benchtime 1x -count 6 ./cache/
func BenchmarkCatchUp(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			var cpu, held time.Duration
			pauses := 0
			for b.Loop() {
				b.StopTimer()
				s := openTestStore(b, Options{Mode: Shared})
				rng := rand.New(rand.NewPCG(1, uint64(n)))
				const chunk = 20_000
				for i := 0; i < n; i += chunk {
					err := s.updateApp("wx0", func(a *appTx) error {
						for j := i; j < min(i+chunk, n); j++ {
							p := benchProfile(0, j)
							p.OpenID = fmt.Sprintf("oNw3k%016x%07d", rng.Uint64(), j)
							p.UnionID = fmt.Sprintf("oP1aQ%016x%07d", rng.Uint64(), j)
							if _, err := a.add(&p, false); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				time.Sleep(SharedWriteGap)
				s.mu.Lock()
				s.heldSinceGap, s.heldTotal, s.gapPauses = 0, 0, 0
				s.mu.Unlock()
				b.StartTimer()
				began := processCPU()
				if err := s.catchUp("wx0"); err != nil {
					b.Fatal(err)
				}
				cpu += processCPU() - began
				b.StopTimer()
				s.mu.Lock()
				held += s.heldTotal
				pauses += s.gapPauses
				s.mu.Unlock()
				fileMB(b, s.Path())
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N)/float64(n), "µs/row")
			b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N)/float64(n), "cpu-µs/row")
			b.ReportMetric(float64(held.Milliseconds())/float64(b.N), "held-ms")
			b.ReportMetric(float64(pauses)/float64(b.N), "pauses")
		})
	}
}

// BenchmarkVerify3M is the read export and links pay before their first
// line: every page of a 3 M-profile cache, every profile decoded.
func BenchmarkVerify3M(b *testing.B) {
	path := bigFixture(b)
	s, err := Open(path, Options{Mode: SharedReadOnly})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fileMB(b, path)
	b.ResetTimer()
	for b.Loop() {
		if err := s.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheck3M is doctor's check of the same cache: pages, bbolt's own
// check, every profile, both indexes against the profiles.
func BenchmarkCheck3M(b *testing.B) {
	path := bigFixture(b)
	s, err := Open(path, Options{Mode: SharedReadOnly})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for b.Loop() {
		if err := s.Check(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEachProfileWithTail is EachProfile over an app whose 200 000
// rows all wait in the tail (a first sync under way, or killed), one
// openid in a thousand twice: what finding the older rows (supersededTail)
// adds to reading them.
func BenchmarkEachProfileWithTail(b *testing.B) {
	s := openTestStore(b, Options{})
	const n = 200_000
	for start := 0; start < n; start += 20_000 {
		must(b, s.updateApp("wxTail", func(a *appTx) error {
			for i := start; i < start+20_000; i++ {
				p := benchProfile(0, i)
				if i%1000 == 999 {
					p = benchProfile(0, i-500) // listed again
				}
				if _, err := a.add(&p, false); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	b.Run("supersededTail", func(b *testing.B) {
		for b.Loop() {
			if skip, err := s.supersededTail("wxTail"); err != nil || len(skip) != n/1000 {
				b.Fatalf("%d rows superseded (%v), want %d", len(skip), err, n/1000)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
	})
	b.Run("EachProfile", func(b *testing.B) {
		for b.Loop() {
			rows := 0
			must(b, s.EachProfile("wxTail", "", func(Profile) error { rows++; return nil }))
			if rows != n-n/1000 {
				b.Fatalf("%d rows", rows)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
	})
}
