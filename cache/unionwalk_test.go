package cache

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// unionWalkFixture writes three analysed apps and one that is not, with
// unionids of several shapes: two platforms (one random after its prefix,
// one of zero-padded numbers, so that halving by bytes must look past a
// long common prefix), short ones that are prefixes of others, non-ASCII
// ones, and conflicts, one of them of 150 openids in one app, which spans
// blocks of the packed index.
func unionWalkFixture(t *testing.T) (*Store, []AppRef) {
	t.Helper()
	s := openTestStore(t, Options{})
	rng := rand.New(rand.NewSource(7))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var unions []string
	for i := range 1500 {
		b := []byte("oP1_")
		for range 22 {
			b = append(b, alphabet[rng.Intn(len(alphabet))])
		}
		unions = append(unions, string(b), fmt.Sprintf("oP2_%020d", i*7))
	}
	unions = append(unions, "uX", "uXY", "uXYZ", "u用户一", "u用户二", "\x7e\x7e")
	apps := []string{"wxWalkA", "wxWalkB", "wxWalkC", "wxWalkNotAnalysed"}
	ps := make([][]Profile, len(apps))
	n := 0
	member := func(a int, u string) {
		n++
		ps[a] = append(ps[a], Profile{OpenID: fmt.Sprintf("o%s%08d", apps[a][6:], n), UnionID: u, Subscribed: true})
	}
	for _, u := range unions {
		for a := range apps {
			if rng.Intn(3) > 0 {
				member(a, u)
				if rng.Intn(40) == 0 {
					member(a, u) // a conflict
				}
			}
		}
	}
	for range 150 {
		member(0, unions[11])
	}
	for a, appid := range apps {
		must(t, s.PutProfiles(appid, ps[a]))
	}
	return s, []AppRef{{AppID: apps[0]}, {AppID: apps[1]}, {AppID: apps[2]}}
}

// The analysis reads the persons of the unionid indexes person by person,
// decoding the packed blocks in place, a transaction per walkChunk entries,
// in ranges walked side by side: whatever the chunk and the ranges, it
// counts what a plain walk of every index key (EachUnionKey) counts.
func TestAnalyzeCountsWhatTheIndexHolds(t *testing.T) {
	s, refs := unionWalkFixture(t)
	pos := map[string]int{}
	for i, r := range refs {
		pos[r.AppID] = i
	}
	// What every key of the index says.
	masks := map[uint64]int64{}
	conflicts := make([]int64, len(refs))
	examples := make([][]string, len(refs))
	var cur string
	var mask, dup uint64
	var seen map[int]int
	flush := func() {
		if mask != 0 {
			masks[mask]++
		}
		for d := dup; d != 0; d &= d - 1 {
			i := bits.TrailingZeros64(d)
			conflicts[i]++
			if len(examples[i]) < 3 {
				examples[i] = append(examples[i], cur)
			}
		}
		mask, dup, seen = 0, 0, map[int]int{}
	}
	flush()
	must(t, s.EachUnionKey(func(u, a, o string) error {
		if u != cur {
			flush()
			cur = u
		}
		if i, ok := pos[a]; ok {
			if seen[i]++; seen[i] > 1 {
				dup |= 1 << i
			}
			mask |= 1 << i
		}
		return nil
	}))
	flush()
	var persons, inOne int64
	shared := make([][]int64, len(refs))
	for i := range shared {
		shared[i] = make([]int64, len(refs))
	}
	for m, c := range masks {
		persons += c
		if bits.OnesCount64(m) == 1 {
			inOne += c
		}
		for i := range refs {
			for j := range refs {
				if m&(1<<i) != 0 && m&(1<<j) != 0 {
					shared[i][j] += c
				}
			}
		}
	}

	oldChunk, oldMin, oldWorkers := walkChunk, parallelWalkMin, walkWorkers
	t.Cleanup(func() { walkChunk, parallelWalkMin, walkWorkers = oldChunk, oldMin, oldWorkers })
	var first *Links
	var reader *Store // a reader of its own, holding the file only while it reads
	for _, c := range []struct {
		chunk, workers int
		parallel       bool
		mode           Mode
	}{{unionChunk, 1, false, ReadWrite}, {1, 1, false, ReadWrite}, {1, 2, true, ReadWrite}, {5, 3, true, ReadWrite}, {1000, 2, true, ReadWrite},
		{7, 2, true, SharedReadOnly}} {
		t.Run(fmt.Sprintf("chunk %d, %d workers, ranges %t, mode %d", c.chunk, c.workers, c.parallel, c.mode), func(t *testing.T) {
			walkChunk, walkWorkers, parallelWalkMin = c.chunk, c.workers, 1<<62
			if c.parallel {
				parallelWalkMin = 0
			}
			from := s
			if c.mode == SharedReadOnly {
				if reader == nil {
					path := s.Path()
					must(t, s.Close())
					reader = openSharedReadOnly(t, path)
				}
				from = reader
			}
			l, err := Analyze(from, AnalyzeOptions{Apps: refs, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			if l.Persons != persons || l.InOneApp != inOne {
				t.Errorf("%d persons, %d in one app; the index has %d, %d", l.Persons, l.InOneApp, persons, inOne)
			}
			for i := range refs {
				for j := range refs {
					if l.Shared(i, j) != shared[i][j] {
						t.Errorf("apps %d and %d share %d persons; the index has %d", i, j, l.Shared(i, j), shared[i][j])
					}
				}
				if l.Apps[i].Conflicts != conflicts[i] {
					t.Errorf("app %d has %d conflicts; the index has %d", i, l.Apps[i].Conflicts, conflicts[i])
				}
			}
			var got [][]string
			for _, f := range l.Findings {
				if f.Kind == Conflict {
					got = append(got, f.Examples)
				}
			}
			var want [][]string
			for _, ex := range examples {
				if ex != nil {
					want = append(want, ex)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("conflict examples %q; the index's first are %q", got, want)
			}
			if first == nil {
				first = l
			} else if !reflect.DeepEqual(l, first) {
				t.Errorf("the analysis differs from the one of one walk:\n%+v\n%+v", l, first)
			}
		})
	}
}

// The halving finds cuts in both platforms' unionids (the numbered ones
// share all but their last digits), and the ranges it makes are in order,
// each holding persons.
func TestSplitUnionsCutsWhereTheUnionIDsDiffer(t *testing.T) {
	s, refs := unionWalkFixture(t)
	var apps []string
	for _, r := range refs {
		apps = append(apps, r.AppID)
	}
	ranges, err := s.splitUnions(apps, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranges) != 16 {
		t.Fatalf("%d ranges, want 16", len(ranges))
	}
	p1, p2 := 0, 0
	for i, r := range ranges {
		if i > 0 && !bytes.Equal(r.from, ranges[i-1].to) || i == 0 && r.from != nil || i == len(ranges)-1 && r.to != nil {
			t.Fatalf("range %d is %q..%q after %q..%q", i, r.from, r.to, ranges[max(i-1, 0)].from, ranges[max(i-1, 0)].to)
		}
		if r.to != nil && bytes.Compare(r.from, r.to) >= 0 {
			t.Fatalf("range %d is %q..%q", i, r.from, r.to)
		}
		persons := 0
		must(t, s.walkUnions(apps, r, func(_, _ uint64, u []byte) {
			persons++
			if bytes.HasPrefix(u, []byte("oP1_")) {
				p1++
			}
			if bytes.HasPrefix(u, []byte("oP2_")) {
				p2++
			}
		}))
		if persons == 0 {
			t.Errorf("range %d (%q..%q) holds no person", i, r.from, r.to)
		}
	}
	cutsIn := func(prefix string) int {
		n := 0
		for _, r := range ranges {
			if strings.HasPrefix(string(r.from), prefix) {
				n++
			}
		}
		return n
	}
	if cutsIn("oP1_") < 3 || cutsIn("oP2_") < 3 {
		t.Errorf("cuts %q: want several in each platform's unionids", slices.Collect(func(yield func(string) bool) {
			for _, r := range ranges {
				if !yield(string(r.from)) {
					return
				}
			}
		}))
	}
}

// FuzzUnionCursor: the walk's decoding of a block in place agrees with
// blockIter's on every block whose keys are index keys: the same unionids
// (and whole keys, for a cursor that keeps them), an entry of the same
// unionid as the one before told so, and a malformed block an error, never
// a panic.
func FuzzUnionCursor(f *testing.F) {
	block := func(keys ...string) []byte {
		b := appendString(nil, "wxWalkA")
		var prev []byte
		for _, k := range keys {
			b = appendEntry(b, prev, []byte(k), nil)
			prev = []byte(k)
		}
		return b
	}
	f.Add(block("u1\x00o1", "u1\x00o2", "u2\x00o1", "u22\x00o", "u3\x00o9"))
	f.Add(block("oP1aQ0000\x00oNw3k01", "oP1aQ0001\x00oNw3k01", "oP1aQ0001\x00oNw3k02"))
	f.Add(block("a\x00", "a\x00\x00", "ab\x00"))
	f.Add([]byte{0})
	f.Add([]byte{3, 'w', 'x'})
	f.Fuzz(func(t *testing.T, v []byte) {
		var want, wantKeys []string
		var wantSame []bool
		it := blockIter{v: v}
		valid := true
		for it.next() {
			u, _, ok := splitMemberKey(it.key)
			if !ok {
				valid = false
				break
			}
			wantSame = append(wantSame, len(want) > 0 && want[len(want)-1] == string(u))
			want = append(want, string(u))
			wantKeys = append(wantKeys, string(it.key))
		}
		valid = valid && it.err == nil && len(v) > 0
		for _, full := range []bool{false, true} {
			c := unionCursor{full: full}
			var got, gotKeys []string
			var gotSame []bool
			if c.enter(v) {
				for {
					same, ok := c.next()
					if !ok {
						break
					}
					got = append(got, string(c.unionid()))
					gotSame = append(gotSame, same)
					if full {
						gotKeys = append(gotKeys, string(c.unionid())+"\x00"+string(c.openid()))
					}
				}
			}
			if !valid {
				continue // the cursor may stop anywhere, with or without an error
			}
			if c.err != nil || !slices.Equal(got, want) || !slices.Equal(gotSame, wantSame) {
				t.Fatalf("the cursor (full %t) read %q %v (%v), blockIter %q %v", full, got, gotSame, c.err, want, wantSame)
			}
			if full && !slices.Equal(gotKeys, wantKeys) {
				t.Fatalf("the cursor read the keys %q, blockIter %q", gotKeys, wantKeys)
			}
		}
	})
}

// EachGroup gives every person of the index, in unionid order, with its
// members in the order of the apps given, whatever the chunk and however
// many goroutines read the ranges ahead; a callback's error stops it.
func TestEachGroupGivesWhatTheIndexHolds(t *testing.T) {
	s, refs := unionWalkFixture(t)
	pos := map[string]int{}
	for i, r := range refs {
		pos[r.AppID] = i
	}
	var want []string
	var cur string
	var ms []string
	flush := func() {
		if len(ms) > 0 {
			slices.SortStableFunc(ms, func(a, b string) int { return pos[strings.Split(a, "/")[0]] - pos[strings.Split(b, "/")[0]] })
			want = append(want, cur+": "+strings.Join(ms, " "))
		}
		ms = nil
	}
	must(t, s.EachUnionKey(func(u, a, o string) error {
		if u != cur {
			flush()
			cur = u
		}
		if _, ok := pos[a]; ok {
			ms = append(ms, a+"/"+o)
		}
		return nil
	}))
	flush()

	oldChunk, oldMin, oldWorkers := walkChunk, parallelWalkMin, walkWorkers
	t.Cleanup(func() { walkChunk, parallelWalkMin, walkWorkers = oldChunk, oldMin, oldWorkers })
	for _, c := range []struct{ chunk, workers int }{{unionChunk, 1}, {1, 1}, {3, 2}, {64, 3}} {
		t.Run(fmt.Sprintf("chunk %d, %d workers", c.chunk, c.workers), func(t *testing.T) {
			walkChunk, walkWorkers, parallelWalkMin = c.chunk, c.workers, 0
			var got []string
			var kept []*Group // what a caller keeps must be copied; its strings stay valid
			err := EachGroup(s, refs, func(g *Group) error {
				var ms []string
				for _, m := range g.Members {
					ms = append(ms, m.AppID+"/"+m.OpenID)
				}
				got = append(got, g.UnionID+": "+strings.Join(ms, " "))
				if len(got)%97 == 0 {
					kept = append(kept, &Group{UnionID: g.UnionID, Members: slices.Clone(g.Members)})
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("EachGroup gives %d groups, the index %d; first difference at %d", len(got), len(want), firstDiff(got, want))
			}
			for i, g := range kept {
				if !strings.HasPrefix(want[97*(i+1)-1], g.UnionID+": "+g.Members[0].AppID+"/"+g.Members[0].OpenID) {
					t.Fatalf("a kept group changed: %+v, was %s", g, want[97*(i+1)-1])
				}
			}
			stop := errors.New("enough")
			n := 0
			err = EachGroup(s, refs, func(g *Group) error {
				if n++; n == len(want)/2 {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) || n != len(want)/2 {
				t.Fatalf("EachGroup stopped with %v after %d groups, want %v after %d", err, n, stop, len(want)/2)
			}
		})
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
