package cache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// The sorter gives back every record, duplicates and empty keys included,
// in key order whether it fits in memory or spills many runs, and leaves
// no scratch file behind: the catch-up of a sync's rows relies on all
// three.
func TestSorterMergesSpilledRunsInOrder(t *testing.T) {
	for _, limit := range []int{1 << 30, 8192, 600} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			dir := t.TempDir()
			s := newSorter(dir)
			s.limit = limit
			rng := rand.New(rand.NewPCG(3, uint64(limit)))
			type rec struct{ k, v string }
			var want []rec
			for i := range 5000 {
				k := fmt.Sprintf("o%08x", rng.Uint32()%3000) // duplicates too
				if i%500 == 0 {
					k = "" // an empty key sorts first
				}
				v := fmt.Sprint(i)
				want = append(want, rec{k, v})
				if err := s.add([]byte(k), []byte(v)); err != nil {
					t.Fatal(err)
				}
			}
			if limit == 600 && len(s.runs) < 100 {
				t.Fatalf("only %d runs spilled", len(s.runs))
			}
			it, err := s.iter()
			if err != nil {
				t.Fatal(err)
			}
			var got []rec
			for it.next() {
				got = append(got, rec{string(it.key), string(it.val)})
			}
			if it.err != nil {
				t.Fatal(it.err)
			}
			if !slices.IsSortedFunc(got, func(a, b rec) int { return bytes.Compare([]byte(a.k), []byte(b.k)) }) {
				t.Fatal("records out of key order")
			}
			cmp := func(a, b rec) int {
				if c := bytes.Compare([]byte(a.k), []byte(b.k)); c != 0 {
					return c
				}
				return bytes.Compare([]byte(a.v), []byte(b.v))
			}
			slices.SortFunc(want, cmp)
			slices.SortFunc(got, cmp)
			if !slices.Equal(got, want) {
				t.Fatalf("%d records back, want %d, or not the same", len(got), len(want))
			}
			s.close()
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("scratch files left: %v", left)
			}
		})
	}
}

// A run is sorted by eight bytes of each key after the prefix the run's
// keys share, radix sorted, and by the rest where those tie: the order
// must be bytes.Compare's for keys alike far past those eight bytes, keys
// that are prefixes of others, zero bytes and bytes above 0x7f.
func TestSortBufOrdersRunsAsBytesCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	alphabets := []string{"\x00\x01\xff", "ab", "0123456789", "oNw3k-_ABCxyz"}
	for round := range 200 {
		s := newSorter(t.TempDir())
		alpha := alphabets[round%len(alphabets)]
		prefix := strings.Repeat("o", rng.IntN(8))
		var want []string
		for range rng.IntN(300) + 1 {
			k := []byte(prefix)
			for range rng.IntN(20) {
				k = append(k, alpha[rng.IntN(len(alpha))])
			}
			want = append(want, string(k))
			if err := s.add(k, nil); err != nil {
				t.Fatal(err)
			}
		}
		s.sortBuf()
		var got []string
		for _, r := range s.recs {
			k, _, _ := record(s.buf[r.start():])
			got = append(got, string(k))
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: sorted %q, want %q", round, got, want)
		}
	}
}
