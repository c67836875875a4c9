package cache

import (
	"bytes"
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
	for _, c := range []struct {
		chunk, workers int
		parallel       bool
	}{{unionChunk, 1, false}, {1, 1, false}, {1, 2, true}, {5, 3, true}, {1000, 2, true}} {
		t.Run(fmt.Sprintf("chunk %d, %d workers, ranges %t", c.chunk, c.workers, c.parallel), func(t *testing.T) {
			walkChunk, walkWorkers, parallelWalkMin = c.chunk, c.workers, 1<<62
			if c.parallel {
				parallelWalkMin = 0
			}
			l, err := Analyze(s, AnalyzeOptions{Apps: refs, Now: fixedNow})
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
// blockIter's on every block whose keys are index keys: the same unionids,
// an entry of the same unionid as the one before told so, and a malformed
// block an error, never a panic.
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
		var want []string
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
		}
		valid = valid && it.err == nil && len(v) > 0
		var c unionCursor
		var got []string
		var gotSame []bool
		if c.enter(v) {
			for {
				same, ok := c.next()
				if !ok {
					break
				}
				got = append(got, string(c.unionid()))
				gotSame = append(gotSame, same)
			}
		}
		if !valid {
			return // the cursor may stop anywhere, with or without an error
		}
		if c.err != nil || !slices.Equal(got, want) || !slices.Equal(gotSame, wantSame) {
			t.Fatalf("the cursor read %q %v (%v), blockIter %q %v", got, gotSame, c.err, want, wantSame)
		}
	})
}
