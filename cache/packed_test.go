package cache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A packed index agrees with a map under random puts, deletes and merges,
// spread over several transactions: every key reads back, a walk from any
// key gives the rest in order, and no block outgrows its size.
func TestPackedIndexMatchesAMap(t *testing.T) {
	s := openTestStore(t, Options{})
	model := map[string]string{}
	rng := rand.New(rand.NewPCG(5, 9))
	key := func() []byte { return fmt.Appendf(nil, "oNw3kx%06d", rng.IntN(3000)) }
	for round := range 40 {
		err := s.update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("packedtest"))
			if err != nil {
				return err
			}
			p := &packed{b: b, tx: cloneKeeper{}}
			switch round % 4 {
			case 0, 1:
				for range 200 {
					k, v := key(), fmt.Appendf(nil, "v%d", rng.IntN(1000))
					if rng.IntN(4) == 0 {
						delete(model, string(k))
						if err := p.delete(k); err != nil {
							return err
						}
					} else {
						model[string(k)] = string(v)
						if err := p.put(k, v); err != nil {
							return err
						}
					}
				}
			default:
				// A merge of sorted distinct keys, some deleted, some kept.
				set := map[string]bool{}
				for range 1 + rng.IntN(2500) {
					set[string(key())] = true
				}
				var batch [][]byte
				for k := range set {
					batch = append(batch, []byte(k))
				}
				slices.SortFunc(batch, bytes.Compare)
				for len(batch) > 0 {
					n, err := p.merge(batch, func(i int, cur []byte, has bool) []byte {
						k := string(batch[i])
						if want, ok := model[k]; ok != has || (has && want != string(cur)) {
							t.Errorf("merge: %s has %q %v, model %q %v", k, cur, has, want, ok)
						}
						switch i % 3 {
						case 0:
							delete(model, k)
							return nil
						case 1:
							if has {
								return cur
							}
						}
						model[k] = "m" + k
						return []byte("m" + k)
					})
					if err != nil {
						return err
					}
					batch = batch[n:]
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		checkPacked(t, s, model)
	}
}

func checkPacked(t *testing.T, s *Store, model map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(model))
	for k := range model {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("packedtest"))
		p := &packed{b: b}
		// Blocks: bounded, keyed by their last entry.
		c := b.Cursor()
		for bk, bv := c.First(); bk != nil; bk, bv = c.Next() {
			if len(bv) > packedBlock+64 {
				t.Fatalf("block %s holds %d bytes", bk, len(bv))
			}
			it := blockIter{v: bv}
			var last []byte
			for it.next() {
				last = append(last[:0], it.key...)
			}
			if last == nil || !bytes.Equal(last, bk) {
				t.Fatalf("block %s ends with %q", bk, last)
			}
		}
		var got []string
		it := p.seek(nil)
		for k, v, ok := it.next(); ok; k, v, ok = it.next() {
			got = append(got, string(k))
			if model[string(k)] != string(v) {
				t.Fatalf("%s = %q, model %q", k, v, model[string(k)])
			}
		}
		if it.err() != nil || !slices.Equal(got, keys) {
			t.Fatalf("walk: %d keys (%v), model %d", len(got), it.err(), len(keys))
		}
		for i := 0; i < len(keys); i += 1 + len(keys)/20 {
			v, ok, err := p.get([]byte(keys[i]))
			if err != nil || !ok || string(v) != model[keys[i]] {
				t.Fatalf("get %s = %q %v %v", keys[i], v, ok, err)
			}
			// A seek to a key, or to just before it, walks the rest.
			for _, from := range []string{keys[i], keys[i][:len(keys[i])-1]} {
				it := p.seek([]byte(from))
				k, _, ok := it.next()
				j, _ := slices.BinarySearch(keys, from)
				if !ok || string(k) != keys[j] {
					t.Fatalf("seek %q gives %q %v, want %q", from, k, ok, keys[j])
				}
			}
		}
		if _, ok, _ := p.get([]byte("oNw3kx999999")); ok {
			t.Fatal("a key never put reads back")
		}
		if n, err := p.count(); err != nil || n != int64(len(keys)) {
			t.Fatalf("count %d %v, want %d", n, err, len(keys))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Deleting most of an index in one transaction, in random order, empties
// whole pages before the commit rebalances them: every key deleted stays
// deleted and every other one stays. (Keyed by their first key, blocks
// were found with a Seek and a Prev, and bbolt's Prev stops at an emptied
// page as if it were the start: deletes missed their block and keys came
// back.)
func TestPackedIndexSurvivesEmptiedPages(t *testing.T) {
	for trial := range 3 {
		s := openTestStore(t, Options{})
		key := func(i int) []byte { return fmt.Appendf(nil, "union%05d\x00oFake%05d", i, i) }
		var keys [][]byte
		for i := range 6700 {
			keys = append(keys, key(i))
		}
		empty := []byte{}
		for len(keys) > 0 {
			err := s.update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists([]byte("p"))
				if err != nil {
					return err
				}
				b.FillPercent = 1
				n, err := (&packed{b: b, tx: cloneKeeper{}}).merge(keys[:min(len(keys), 1000)], func(int, []byte, bool) []byte { return empty })
				keys = keys[n:]
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		order := rand.New(rand.NewPCG(uint64(trial), 1)).Perm(5000)
		err := s.update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("p"))
			b.FillPercent = 1
			f, err := tx.CreateBucketIfNotExists([]byte("f"))
			if err != nil {
				return err
			}
			p, q := &packed{b: b, tx: cloneKeeper{}}, &packed{b: f, tx: cloneKeeper{}}
			for _, i := range order {
				if err := p.delete(key(i)); err != nil {
					return err
				}
				if err := q.put(key(i), nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.view(func(tx *bolt.Tx) error {
			p := &packed{b: tx.Bucket([]byte("p"))}
			for i := range 6700 {
				if _, ok, err := p.get(key(i)); err != nil || ok != (i >= 5000) {
					t.Fatalf("trial %d: key %d present %v (%v)", trial, i, ok, err)
				}
			}
			if n, err := p.count(); err != nil || n != 1700 {
				t.Fatalf("trial %d: %d keys left (%v), want 1700", trial, n, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
