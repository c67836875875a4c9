package cache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// The sorter gives back every record in order whether it fits in memory or
// spills many runs, and leaves no scratch file behind.
func TestSorterMergesSpilledRunsInOrder(t *testing.T) {
	for _, budget := range []int{1 << 30, 8192, 600} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			dir := t.TempDir()
			s := newSorter(dir, budget)
			rng := rand.New(rand.NewPCG(3, uint64(budget)))
			var want [][]byte
			for i := range 5000 {
				rec := fmt.Appendf(nil, "o%08x\x00%d", rng.Uint32()%3000, i%7) // duplicates too
				if i%500 == 0 {
					rec = nil // an empty record sorts first
				}
				want = append(want, rec)
				if err := s.add(rec); err != nil {
					t.Fatal(err)
				}
			}
			if budget == 600 && len(s.runs) < 100 {
				t.Fatalf("only %d runs spilled", len(s.runs))
			}
			var got [][]byte
			if err := s.each(func(rec []byte) error { got = append(got, bytes.Clone(rec)); return nil }); err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(want, bytes.Compare)
			if len(got) != len(want) {
				t.Fatalf("%d records back, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("record %d is %q, want %q", i, got[i], want[i])
				}
			}
			if err := s.close(); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("scratch files left: %v", left)
			}
		})
	}
}
