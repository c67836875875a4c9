package ui

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"wxscope/cache"
)

// idWorld is a set of followers whose ids have the shapes an idColumn must
// handle: the packed shape (a shared prefix, then width lane characters),
// and every other kind kept as it is.
type idWorld struct {
	name   string
	prefix string
	width  int
	sorted bool // ids in ascending order, as a sorted listing gives them
	odd    int  // one in odd rows has an id of another shape (0: none)
	noUID  int  // one in noUID rows has no unionid (0: all have one)
}

func (w idWorld) profiles(rng *rand.Rand, n int) []cache.Profile {
	rnd := func(k int) string {
		b := make([]byte, k)
		for i := range b {
			b[i] = idLanes[rng.IntN(64)]
		}
		return string(b)
	}
	odd := func() string {
		switch rng.IntN(6) {
		case 0:
			return w.prefix + rnd(w.width+1) // longer
		case 1:
			return w.prefix + rnd(max(w.width-1, 0)) // shorter
		case 2:
			return "x" + rnd(len(w.prefix)+w.width-1) // another prefix, same length
		case 3:
			return w.prefix + rnd(w.width/2) + "客" // not of the alphabet
		case 4:
			return w.prefix + "\x00" + rnd(w.width-1) // a NUL
		}
		return "o" // very short
	}
	ps := make([]cache.Profile, n)
	for i := range ps {
		ps[i].OpenID = w.prefix + rnd(w.width)
		ps[i].UnionID = "uP1a" + rnd(w.width+1)
		if w.odd > 0 && rng.IntN(w.odd) == 0 {
			ps[i].OpenID = odd()
		}
		if w.odd > 0 && rng.IntN(w.odd) == 0 {
			ps[i].UnionID = odd()
		}
		if w.noUID > 0 && rng.IntN(w.noUID) == 0 {
			ps[i].UnionID = ""
		}
		if rng.IntN(7) == 0 {
			ps[i].Remark = "Vip " + rnd(3)
		}
	}
	if w.sorted {
		slices.SortFunc(ps, func(a, b cache.Profile) int { return strings.Compare(a.OpenID, b.OpenID) })
	}
	return ps
}

var idWorlds = []idWorld{
	{name: "real", prefix: "oNw3k", width: 23, noUID: 10},
	{name: "real-odd", prefix: "oNw3k", width: 23, odd: 20, noUID: 10},
	{name: "sorted", prefix: "oSp7v", width: 23, sorted: true, noUID: 3},
	{name: "narrow", prefix: "o", width: 3, odd: 9},
	{name: "nine-lanes", prefix: "oab", width: 9},
	{name: "wide", prefix: "oWd", width: 37, odd: 15},
	{name: "no-prefix", prefix: "", width: 12, odd: 5},
	// Around the widths of three loads written out (17 to 24 lanes).
	{name: "w16", prefix: "oA", width: 16, noUID: 2},
	{name: "w17", prefix: "oB", width: 17, noUID: 4},
	{name: "w19", prefix: "oC", width: 19, odd: 30},
	{name: "w24", prefix: "oD", width: 24},
	{name: "w25", prefix: "oE", width: 25},
}

// queriesFor picks queries that hit ids at every place: parts of real ids
// (inside, at the start, across the prefix's end, at the end), the prefix,
// and letters, in both cases.
func queriesFor(rng *rand.Rand, ps []cache.Profile) []string {
	qs := []string{"o", "on", "N", "Nw", "3k", "k", "ku", "1", "vip", "VIP", "Vip 1", "-", "_", "x", "客", "\x00", "zz", "P1a", "uP1a"}
	for range 200 {
		p := ps[rng.IntN(len(ps))]
		id := p.OpenID
		if rng.IntN(2) == 0 && p.UnionID != "" {
			id = p.UnionID
		}
		if id == "" {
			continue
		}
		i := rng.IntN(len(id))
		j := i + 1 + rng.IntN(min(len(id)-i, 12))
		if rng.IntN(4) == 0 {
			i = 0
		}
		qs = append(qs, id[i:min(j, len(id))])
	}
	return qs
}

func TestIDColumnsAgreeWithTheIDsAsTheyAre(t *testing.T) {
	for seed, w := range idWorlds {
		t.Run(w.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 9))
			ps := w.profiles(rng, 3000)
			x := IndexProfiles(ps)
			for r, p := range ps {
				if got := x.OpenID(r); got != p.OpenID {
					t.Fatalf("row %d openid %q, want %q", r, got, p.OpenID)
				}
				if got := x.UnionID(r); got != p.UnionID {
					t.Fatalf("row %d unionid %q, want %q", r, got, p.UnionID)
				}
				if got := x.hasUnionID(r); got != (p.UnionID != "") {
					t.Fatalf("row %d has a unionid: %v", r, got)
				}
			}
			if w.odd == 0 && (len(x.open.ex.rows) != 0 || len(x.union.ex.rows) != 0) {
				t.Errorf("ids of one shape kept as they are: %d openids, %d unionids", len(x.open.ex.rows), len(x.union.ex.rows))
			}
			if w.sorted && len(x.open.prefix) != len(w.prefix) {
				t.Errorf("prefix %q after the sorted ids, want %q", x.open.prefix, w.prefix)
			}
			for _, q := range queriesFor(rng, ps) {
				checkMatch(t, x, ps, q, nil)
				// Narrowing within a random half gives the same as a
				// scan and a mask.
				half := make([]uint64, (len(ps)+63)/64)
				for i := range half {
					half[i] = rng.Uint64()
				}
				checkMatch(t, x, ps, q, half)
			}
			for _, key := range []SortKey{SortOpenID, SortUnionID} {
				field := func(r int) string { return ps[r].OpenID }
				if key == SortUnionID {
					field = func(r int) string { return ps[r].UnionID }
				}
				want := identity(len(ps))
				slices.SortStableFunc(want, func(a, b uint32) int { return strings.Compare(field(int(a)), field(int(b))) })
				if got := x.Order(key, nil); !slices.Equal(got, want) {
					t.Fatalf("order by %d differs from a sort of the ids", key)
				}
			}
		})
	}
}

// checkMatch compares Match with a scan of the profiles: ids exactly,
// remarks in any ASCII case.
func checkMatch(t *testing.T, x *FollowerIndex, ps []cache.Profile, q string, within []uint64) {
	t.Helper()
	set, n, ok := x.Match(q, within, nil)
	if !ok {
		t.Fatalf("Match(%q) gave up", q)
	}
	count := 0
	for r, p := range ps {
		want := (within == nil || within[r>>6]&(1<<(r&63)) != 0) &&
			(strings.Contains(p.OpenID, q) || strings.Contains(p.UnionID, q) || strings.Contains(asciiLower(p.Remark), asciiLower(q)))
		if got := set[r>>6]&(1<<(r&63)) != 0; got != want {
			t.Fatalf("Match(%q, within %v): row %d (%q, %q, %q) is %v, want %v", q, within != nil, r, p.OpenID, p.UnionID, p.Remark, got, want)
		}
		if want {
			count++
		}
	}
	if n != count {
		t.Fatalf("Match(%q) counts %d rows, sets %d", q, n, count)
	}
	for _, w := range set[len(ps)>>6:] {
		if w>>(len(ps)&63) != 0 && len(ps)&63 != 0 {
			t.Fatalf("Match(%q) sets bits past the last row", q)
		}
	}
}

func TestIDColumnKeepsAPrefixOfOddFirstIDs(t *testing.T) {
	// The first ids are odd ones; the column still packs the rest.
	var ps []cache.Profile
	for i := range 40 {
		ps = append(ps, cache.Profile{OpenID: fmt.Sprintf("odd-%d", i)})
	}
	for i := range 2000 {
		ps = append(ps, cache.Profile{OpenID: fmt.Sprintf("oNw3kT%06dAbCdEfGhIjKlMnOpQ", i)[:28]})
	}
	x := IndexProfiles(ps)
	if len(x.open.ex.rows) != 40 {
		t.Errorf("%d openids kept as they are, want the 40 odd ones", len(x.open.ex.rows))
	}
	for r, p := range ps {
		if x.OpenID(r) != p.OpenID {
			t.Fatalf("row %d: %q, want %q", r, x.OpenID(r), p.OpenID)
		}
	}
}

func TestSortRowsAgreesWithAStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, 100, 5000, 70_000, 200_000} {
		for _, span := range []uint64{1, 3, 1000, 1 << 20, 1 << 31, 1 << 40, ^uint64(0)} {
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = rng.Uint64N(span)
				if span == ^uint64(0) {
					keys[i] = rng.Uint64() &^ 0xffff // ties in the low bits
				}
			}
			// whole compares what the keys hold and more: the row's parity.
			whole := func(a, b uint32) int { return cmp.Or(cmp.Compare(keys[a], keys[b]), cmp.Compare(a%2, b%2)) }
			for _, w := range []func(a, b uint32) int{nil, whole} {
				want := identity(n)
				slices.SortStableFunc(want, func(a, b uint32) int {
					if w != nil {
						return w(a, b)
					}
					return cmp.Compare(keys[a], keys[b])
				})
				got := sortRows(n, func(i int, ks []uint64, rows []uint32) {
					for j := range ks {
						ks[j], rows[j] = keys[i+j], uint32(i+j)
					}
				}, w, nil)
				if !slices.Equal(got, want) {
					t.Fatalf("n %d span %d whole %v: sortRows differs from a stable sort", n, span, w != nil)
				}
			}
		}
	}
}

func TestSortInPlaceSortsTheKeysAndGivesTheirRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{0, 1, 5, 1000, 100_000} {
		for _, span := range []uint32{1, 7, 60_000, 1 << 28, 1<<32 - 1} {
			keys := make([]uint32, n)
			for i := range keys {
				keys[i] = rng.Uint32N(span) + 1_000_000*(span&1)
			}
			orig := slices.Clone(keys)
			want := identity(n)
			slices.SortStableFunc(want, func(a, b uint32) int { return cmp.Compare(orig[a], orig[b]) })
			perm := sortInPlace(keys)
			if !slices.Equal(perm, want) {
				t.Fatalf("n %d span %d: the rows differ from a stable sort", n, span)
			}
			for p, r := range perm {
				if keys[p] != orig[r] {
					t.Fatalf("n %d span %d: key %d is %d, want %d", n, span, p, keys[p], orig[r])
				}
			}
		}
	}
}

func TestRemarkOrderIsCaseBlindAndPutsTheEmptyFirst(t *testing.T) {
	ps := []cache.Profile{{Remark: "b"}, {}, {Remark: "VIP 2"}, {Remark: "vip 10"}, {}, {Remark: "Vip 2"}, {Remark: "a\x00"}, {Remark: "a"}}
	x := IndexProfiles(ps)
	got := x.Order(SortRemark, nil)
	want := []uint32{1, 4, 7, 6, 0, 3, 2, 5}
	if !slices.Equal(got, want) {
		t.Errorf("remark order %v, want %v", got, want)
	}
}

func TestZeroLanesFindsEveryZeroLane(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100_000 {
		v := rng.Uint64()
		// Make some lanes zero.
		for range rng.IntN(4) {
			v &^= 63 << (4 + 6*rng.IntN(10))
		}
		var want uint64
		for j := range 10 {
			if v>>(58-6*j)&63 == 0 {
				want |= 1 << (63 - 6*j)
			}
		}
		if got := zeroLanes(v); got != want {
			t.Fatalf("zeroLanes(%064b) = %064b, want %064b", v, got, want)
		}
	}
}

// FuzzFollowerIndexAgreesWithItsProfiles builds an index of followers read
// from the input, one a line as openid, unionid and remark separated by
// tabs (a line "*N" repeats the one before it N times with its last
// character changed, so that small inputs make columns that settle and
// pack), and checks the ids it gives back, a filter and the id orders
// against the profiles themselves.
func FuzzFollowerIndexAgreesWithItsProfiles(f *testing.F) {
	f.Add("oNw3kT0c1kP4xQ9w2E5r7T1y3U6i\toP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ\tVIP\n*1500\noNw3kX\t\t客户", "w3kT0")
	f.Add("oSp7v----------A\toP1a\t\n*3000\noSp7v---------A-\t\t\n*200", "v--")
	f.Add("a\tb\tc\n\t\t\n\x00\t\x00\t\x00", "\x00")
	f.Add("oAAAA\toBBBB\tx\n*2000\noAAAB\toBBBC\tX\n*2000", "AAB")
	f.Fuzz(func(t *testing.T, data, query string) {
		var ps []cache.Profile
		for line := range strings.SplitSeq(data, "\n") {
			if n, ok := strings.CutPrefix(line, "*"); ok && len(ps) > 0 {
				k := 0
				fmt.Sscan(n, &k)
				prev := ps[len(ps)-1]
				for i := range min(k, 5000) {
					p := prev
					if p.OpenID != "" {
						p.OpenID = p.OpenID[:len(p.OpenID)-1] + string(idLanes[i%64])
					}
					if p.UnionID != "" && i%3 != 0 {
						p.UnionID = p.UnionID[:len(p.UnionID)-1] + string(idLanes[(i*7)%64])
					}
					ps = append(ps, p)
				}
				continue
			}
			fields := append(strings.SplitN(line, "\t", 3), "", "")
			ps = append(ps, cache.Profile{OpenID: clip(fields[0]), UnionID: clip(fields[1]), Remark: clip(fields[2])})
			if len(ps) > 20_000 {
				break
			}
		}
		x := IndexProfiles(ps)
		for r, p := range ps {
			if x.OpenID(r) != p.OpenID || x.UnionID(r) != p.UnionID || x.Row(r).Remark != p.Remark {
				t.Fatalf("row %d gives back %q %q %q, want %q %q %q", r, x.OpenID(r), x.UnionID(r), x.Row(r).Remark, p.OpenID, p.UnionID, p.Remark)
			}
		}
		if query != "" {
			checkMatch(t, x, ps, query, nil)
		}
		want := identity(len(ps))
		slices.SortStableFunc(want, func(a, b uint32) int { return strings.Compare(ps[a].OpenID, ps[b].OpenID) })
		if got := x.Order(SortOpenID, nil); !slices.Equal(got, want) {
			t.Fatal("the openid order differs from a sort of the openids")
		}
	})
}

// The index a load builds keeps its rows in follow-time order: it must be
// the index of the same profiles in their order, permuted, in every field,
// filter, tag set, subset and order.
func TestFollowerIndexSortedByFollowIsTheSameIndexPermuted(t *testing.T) {
	for seed, w := range idWorlds {
		t.Run(w.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 77))
			n := 5000
			if w.name == "real" {
				n = 3*idChunkRecs + 123 // records across chunks
			}
			ps := w.profiles(rng, n)
			var bl []string
			for i := range ps {
				ps[i].SubscribeTime = 1_600_000_000 + rng.Int64N(400) // many ties
				ps[i].SubscribeScene = []string{"A", "B", "C"}[rng.IntN(3)]
				if rng.IntN(9) == 0 {
					ps[i].UnfollowedAt = ps[i].SubscribeTime + 1
				}
				if rng.IntN(4) == 0 {
					ps[i].TagIDs = []int64{int64(rng.IntN(5)), 100}
				}
				if rng.IntN(11) == 0 && ps[i].OpenID != "" {
					bl = append(bl, ps[i].OpenID)
				}
			}
			blacklist := cache.NewBlacklist(bl)
			build := func(sorted bool) *FollowerIndex {
				b := NewFollowerIndexBuilder(len(ps))
				b.MarkBlacklisted(blacklist)
				if sorted {
					b.SortByFollow()
				}
				for i := range ps {
					b.Add(&ps[i])
				}
				return b.Build()
			}
			u, s := build(false), build(true)
			perm := u.Order(SortFollowed, nil)
			if s.Order(SortFollowed, nil) != nil {
				t.Fatal("the sorted index has an order by follow time")
			}
			for p, r := range perm {
				if got, want := s.Row(p), u.Row(int(r)); !reflect.DeepEqual(got, want) {
					t.Fatalf("row %d = %+v, want row %d of the unsorted index, %+v", p, got, r, want)
				}
				if s.IsUnfollowed(p) != u.IsUnfollowed(int(r)) || s.hasUnionID(p) != u.hasUnionID(int(r)) {
					t.Fatalf("row %d: unfollowed or unionid differ", p)
				}
			}
			same := func(what string, a, b []uint64) {
				t.Helper()
				for p, r := range perm {
					if a[p>>6]&(1<<(p&63)) != 0 != (b[r>>6]&(1<<(r&63)) != 0) {
						t.Fatalf("%s: row %d differs from row %d", what, p, r)
					}
				}
			}
			for _, q := range queriesFor(rng, ps)[:60] {
				sm, sn, _ := s.Match(q, nil, nil)
				um, un, _ := u.Match(q, nil, nil)
				if sn != un {
					t.Fatalf("Match(%q): %d rows, unsorted %d", q, sn, un)
				}
				same("Match("+q+")", sm, um)
				// Visible in the rows' own order is the unsorted
				// index's walk of its order, row for row.
				for _, desc := range []bool{false, true} {
					got := s.Visible(nil, desc, sm, false)
					want := u.Visible(perm, desc, um, false)
					if len(got) != len(want) {
						t.Fatalf("Visible(%q): %d rows, want %d", q, len(got), len(want))
					}
					for i := range got {
						if perm[got[i]] != want[i] {
							t.Fatalf("Visible(%q) row %d is %d, want %d", q, i, perm[got[i]], want[i])
						}
					}
				}
			}
			tf := TagFilter{IDs: []int64{2, 100}, Blacklisted: true}
			st, _ := s.TagBits(tf)
			ut, _ := u.TagBits(tf)
			same("TagBits", st, ut)
			ss, _ := s.subsetBits(SubsetNoUnionID)
			us, _ := u.subsetBits(SubsetNoUnionID)
			same("subset", ss, us)
			if !reflect.DeepEqual(s.TagCounts(), u.TagCounts()) || s.Blacklisted() != u.Blacklisted() || s.Unfollowed() != u.Unfollowed() {
				t.Fatal("tag counts, blacklisted or unfollowed differ")
			}
			// Orders: by the same keys, ties in the sorted index's rows.
			for _, key := range []SortKey{SortOpenID, SortUnionID, SortRemark, SortScene} {
				field := func(x *FollowerIndex, r int) string {
					row := x.Row(r)
					switch key {
					case SortOpenID:
						return row.OpenID
					case SortUnionID:
						return row.UnionID
					case SortRemark:
						return asciiLower(row.Remark)
					}
					return row.Scene
				}
				order := s.Order(key, nil)
				for i := 1; i < len(order); i++ {
					a, b := int(order[i-1]), int(order[i])
					if c := strings.Compare(field(s, a), field(s, b)); c > 0 || (c == 0 && a > b) {
						t.Fatalf("order %d: rows %d and %d out of order", key, a, b)
					}
				}
			}
			if id := ps[len(ps)/2].OpenID; id != "" {
				r, ok := s.findOpenID(id)
				if !ok || s.OpenID(r) != id {
					t.Fatalf("findOpenID(%q) = %d, %v", id, r, ok)
				}
			}
		})
	}
}

func TestRowListOfABitsetIsItsRowsInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{0, 1, 63, 64, 65, 1000, 4096} {
		for _, density := range []float64{0, 0.01, 0.5, 1} {
			set := make([]uint64, (n+63)/64)
			var asc []uint32
			for r := range n {
				if rng.Float64() < density {
					set[r>>6] |= 1 << (r & 63)
					asc = append(asc, uint32(r))
				}
			}
			for _, desc := range []bool{false, true} {
				want := slices.Clone(asc)
				if desc {
					slices.Reverse(want)
				}
				l := bitsOf(set, desc)
				if l.Len() != len(want) || !slices.Equal(l.Slice(), want) && len(want) > 0 {
					t.Fatalf("n %d density %.2f desc %v: %d rows, want %d", n, density, desc, l.Len(), len(want))
				}
				for i, r := range want {
					if l.At(i) != r || l.Index(r) != i {
						t.Fatalf("n %d desc %v: At(%d) = %d, Index(%d) = %d, want %d and %d", n, desc, i, l.At(i), r, l.Index(r), r, i)
					}
				}
				for r := range n {
					if set[r>>6]&(1<<(r&63)) == 0 && l.Index(uint32(r)) != -1 {
						t.Fatalf("Index of row %d, not shown, is %d", r, l.Index(uint32(r)))
					}
				}
			}
		}
	}
}
