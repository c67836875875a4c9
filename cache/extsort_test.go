package cache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
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
