// Command cachestats says what a wxscope cache file is made of: for each
// bucket (and each app's sub-bucket) its keys, pages and bytes in use, and
// the file's free pages, with bytes per profile, so that BENCHMARKS.md can
// say where the bytes of a profile go (issue 12, goal 3):
//
//	go run ./bench/cachestats CACHE_FILE
//
// It opens the file read-only with bbolt directly and reads every page: run
// it while nothing writes the cache.
package main

import (
	"fmt"
	"os"
	"sort"

	bolt "go.etcd.io/bbolt"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench/cachestats CACHE_FILE")
		os.Exit(2)
	}
	path := os.Args[1]
	fi, err := os.Stat(path)
	if err != nil {
		fail(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		fail(err)
	}
	defer db.Close()
	type row struct {
		name                string
		keys, pages, inuse  int
		leafPages, branches int
	}
	var rows []row
	profiles := 0
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			add := func(label string, s bolt.BucketStats) {
				pages := s.LeafPageN + s.LeafOverflowN + s.BranchPageN + s.BranchOverflowN
				rows = append(rows, row{label, s.KeyN, pages, s.LeafInuse + s.BranchInuse, s.LeafPageN + s.LeafOverflowN, s.BranchPageN + s.BranchOverflowN})
			}
			top := b.Stats()
			add(string(name), top)
			if string(name) == "rows" || string(name) == "profiles" {
				return b.ForEachBucket(func(app []byte) error {
					s := b.Bucket(app).Stats()
					profiles += s.KeyN
					add("  "+string(name)+"/"+string(app), s)
					return nil
				})
			}
			return nil
		})
	})
	if err != nil {
		fail(err)
	}
	sort.SliceStable(rows, func(i, j int) bool { return false })
	st := db.Stats()
	pageSize := os.Getpagesize()
	per := func(b int) string {
		if profiles == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", float64(b)/float64(profiles))
	}
	fmt.Printf("%s: %d bytes, %d profiles, %s B/profile; page size %d, %d free pages (%s B/profile), %d pending\n",
		path, fi.Size(), profiles, per(int(fi.Size())), pageSize, st.FreePageN, per(st.FreePageN*pageSize), st.PendingPageN)
	fmt.Printf("%-40s %12s %10s %10s %8s %12s %10s\n", "bucket", "keys", "pages", "B/profile", "fill %", "in use", "branches")
	for _, r := range rows {
		fill := 0.0
		if r.pages > 0 {
			fill = 100 * float64(r.inuse) / float64(r.pages*pageSize)
		}
		fmt.Printf("%-40s %12d %10d %10s %8.1f %12d %10d\n", r.name, r.keys, r.pages, per(r.pages*pageSize), fill, r.inuse, r.branches)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cachestats:", err)
	os.Exit(1)
}
