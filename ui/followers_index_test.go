package ui

import (
	"bytes"
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/lipgloss/v2"

	"wxscope/bench/world"
	"wxscope/cache"
)

func TestFollowerIndexRowGivesBackTheOriginalStrings(t *testing.T) {
	ps := []cache.Profile{
		{OpenID: "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", UnionID: "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ", Remark: "VIP 客户 🎁 ÄÖ İ",
			SubscribeScene: "ADD_SCENE_QR_CODE", SubscribeTime: 1700000000, UnfollowedAt: 1710000000, TagIDs: []int64{101, 2}},
		{OpenID: "OABC", Remark: "\x00inner\x00nul", TagIDs: []int64{2, 101}},
		{},
	}
	x := IndexProfiles(ps)
	for i, p := range ps {
		got := x.Row(i)
		want := FollowerRow{OpenID: p.OpenID, UnionID: p.UnionID, Remark: p.Remark, Scene: p.SubscribeScene,
			FollowedAt: p.SubscribeTime, UnfollowedAt: p.UnfollowedAt, TagIDs: p.TagIDs}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %d = %+v, want %+v", i, got, want)
		}
	}
	if x.Len() != 3 || x.WithUnionID() != 1 || x.Unfollowed() != 1 {
		t.Errorf("counts: len %d unionid %d unfollowed %d", x.Len(), x.WithUnionID(), x.Unfollowed())
	}
}

func TestFollowerIndexMatchAgreesWithANaiveScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "aAbB1_-客"
	word := func(n int) string {
		var b strings.Builder
		for range n {
			r := []rune(alphabet)
			b.WriteRune(r[rng.IntN(len(r))])
		}
		return b.String()
	}
	ps := make([]cache.Profile, 500)
	for i := range ps {
		ps[i] = cache.Profile{OpenID: word(6), UnionID: word(rng.IntN(2) * 6), Remark: word(rng.IntN(4))}
	}
	x := IndexProfiles(ps)
	// Ids exactly, remarks in any ASCII case.
	naive := func(q string) []int {
		var out []int
		for i, p := range ps {
			if strings.Contains(p.OpenID, q) || strings.Contains(p.UnionID, q) ||
				strings.Contains(asciiLower(p.Remark), asciiLower(q)) {
				out = append(out, i)
			}
		}
		return out
	}
	rowsOf := func(set []uint64) []int {
		var out []int
		for r := range x.Len() {
			if set[r>>6]&(1<<(r&63)) != 0 {
				out = append(out, r)
			}
		}
		return out
	}
	for range 300 {
		q := word(1 + rng.IntN(3))
		set, n, ok := x.Match(q, nil, nil)
		want := naive(q)
		if got := rowsOf(set); !ok || n != len(want) || !slices.Equal(got, want) {
			t.Fatalf("Match(%q) = %v (n %d), want %v", q, got, n, want)
		}
		// Narrowing within the previous result gives the same answer.
		q2 := q + word(1)
		set2, _, _ := x.Match(q2, set, nil)
		if got, want := rowsOf(set2), naive(q2); !slices.Equal(got, want) {
			t.Fatalf("narrowed Match(%q) = %v, want %v", q2, got, want)
		}
	}
}

func TestFollowerIndexMatchStopsWhenAsked(t *testing.T) {
	x := IndexProfiles(fakeProfiles(10000))
	if _, _, ok := x.Match("o", nil, func() bool { return true }); ok {
		t.Fatal("Match should give up when stop says so")
	}
}

func TestFollowerIndexOrdersAreSortedAndStable(t *testing.T) {
	ps := fakeProfiles(3000)
	x := IndexProfiles(ps)
	check := func(name string, order []uint32, less func(a, b int) int) {
		t.Helper()
		if len(order) != len(ps) {
			t.Fatalf("%s: %d rows, want %d", name, len(order), len(ps))
		}
		for i := 1; i < len(order); i++ {
			a, b := int(order[i-1]), int(order[i])
			if c := less(a, b); c > 0 || (c == 0 && a > b) {
				t.Fatalf("%s: rows %d and %d out of order at %d", name, a, b, i)
			}
		}
	}
	check("follow", x.Order(SortFollowed, nil), func(a, b int) int {
		return int(ps[a].SubscribeTime - ps[b].SubscribeTime)
	})
	check("openid", x.Order(SortOpenID, nil), func(a, b int) int {
		return strings.Compare(strings.ToLower(ps[a].OpenID), strings.ToLower(ps[b].OpenID))
	})
	check("remark", x.Order(SortRemark, nil), func(a, b int) int { return strings.Compare(ps[a].Remark, ps[b].Remark) })
	check("scene", x.Order(SortScene, nil), func(a, b int) int {
		return strings.Compare(ps[a].SubscribeScene, ps[b].SubscribeScene)
	})
	state := func(r int) PresenceState { return PresenceState(r % 3) }
	check("app", x.Order(SortApp, state), func(a, b int) int { return a%3 - b%3 })
}

// bigIndex is built straight from the generator, so the benchmarks that use
// it do not also carry a million live profiles for the GC to scan. Its rows
// are in the order added; bigLoaded's in follow order, as a load builds
// them, which the benchmarks measure.
var bigIndex = sync.OnceValue(func() *FollowerIndex {
	b := NewFollowerIndexBuilder(1_000_000)
	world.Followers(1_000_000, b.Add)
	return b.Build()
})

var bigLoaded = sync.OnceValue(func() *FollowerIndex {
	b := NewFollowerIndexBuilder(1_000_000)
	b.SortByFollow()
	world.Followers(1_000_000, b.Add)
	return b.Build()
})

// BenchmarkFollowerIndexBuild1M builds the index as a load does, its rows
// put in follow order.
func BenchmarkFollowerIndexBuild1M(b *testing.B) {
	ps := make([]cache.Profile, 0, 1_000_000)
	world.Followers(1_000_000, func(p *cache.Profile) { ps = append(ps, *p) })
	var x *FollowerIndex
	for b.Loop() {
		bl := NewFollowerIndexBuilder(len(ps))
		bl.SortByFollow()
		for i := range ps {
			bl.Add(&ps[i])
		}
		x = bl.Build()
	}
	b.ReportMetric(float64(x.memBytes())/float64(x.Len()), "B/row")
}

// BenchmarkFollowerFilterKeystroke1M is what one keystroke costs in its
// goroutine: the scan plus building the visible list.
func BenchmarkFollowerFilterKeystroke1M(b *testing.B) {
	x := bigLoaded()
	order := x.Order(SortFollowed, nil)
	for _, q := range []string{"v", "vip", "VIP", "客户", "onw3k", "oNw3k", "zzzz"} {
		b.Run(q, func(b *testing.B) {
			var n int
			for b.Loop() {
				set, m, _ := x.Match(q, nil, nil)
				n = x.visibleRows(order, true, set, false).Len()
				_ = m
			}
			b.ReportMetric(float64(n), "rows")
		})
	}
	b.Run("narrow_vi_to_vip", func(b *testing.B) {
		prev, _, _ := x.Match("vi", nil, nil)
		for b.Loop() {
			set, _, _ := x.Match("vip", prev, nil)
			_ = x.visibleRows(order, true, set, false)
		}
	})
}

func BenchmarkFollowerSort1M(b *testing.B) {
	x := bigIndex() // rows in the order added: follow_time is the sort a load does
	for _, k := range []struct {
		name string
		key  SortKey
	}{{"follow_time", SortFollowed}, {"scene", SortScene}, {"openid", SortOpenID}, {"remark", SortRemark}} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if k.key == SortFollowed {
					_ = radixOrder(x.Len(), func(r int) uint32 { return x.follow[r] })
				} else {
					_ = x.Order(k.key, nil)
				}
			}
		})
	}
}

func benchCommon() *Common {
	return &Common{Styles: NewStyles(true), Ctx: context.Background(), Now: func() time.Time { return testNow }, Loc: time.UTC}
}

// BenchmarkFollowersView50 draws a 50-row window of a 1 M follower app with
// the coloured theme, presence columns included.
func BenchmarkFollowersView50(b *testing.B) {
	x := bigLoaded()
	pres := setPresence{}
	f := NewFollowersFromIndex(benchCommon(), FollowersSpec{App: "news", AppID: "wxnews", Bound: true,
		Others: testOthers, Presence: pres}, x)
	f.SetSize(200, 52)
	f.move(500_000)
	var out string
	for b.Loop() {
		out = f.View()
	}
	if lipgloss.Height(out) != 52 {
		b.Fatalf("view is %d lines", lipgloss.Height(out))
	}
}

// BenchmarkFollowersFirstFrame1M is the time from a built index to the first
// drawn screen: the view, its default order and one View.
func BenchmarkFollowersFirstFrame1M(b *testing.B) {
	x := bigLoaded()
	for b.Loop() {
		f := NewFollowersFromIndex(benchCommon(), FollowersSpec{App: "news", AppID: "wxnews", Others: testOthers}, x)
		f.SetSize(200, 52)
		_ = f.View()
	}
}

func TestFollowerIndexChunkedMatchAgreesWithOneScan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 150 000 rows")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3)) // three chunks, whatever the machine
	b := NewFollowerIndexBuilder(150_000)
	world.Followers(150_000, b.Add)
	x := b.Build()
	for _, q := range []string{"vip", "a", "客户", "zzzz"} {
		set, n, _ := x.Match(q, nil, nil)
		one := make([]uint64, len(set))
		if m := newMatcher(x, q).matchRange(0, x.Len(), nil, one, nil); m != n || !slices.Equal(one, set) {
			t.Fatalf("%q: chunked %d rows, one scan %d rows", q, n, m)
		}
		narrowed, n2, _ := x.Match(q+"x", set, nil)
		one2 := make([]uint64, len(set))
		if m := newMatcher(x, q+"x").matchRange(0, x.Len(), set, one2, nil); m != n2 || !slices.Equal(one2, narrowed) {
			t.Fatalf("%q narrowed: chunked %d rows, one scan %d rows", q+"x", n2, m)
		}
	}
}

func TestFollowerIndexVisibleFromBothEndsAgreesWithOneWalk(t *testing.T) {
	x := bigIndex()
	if x.Len() < visibleSplitMin {
		t.Fatalf("bigIndex has %d rows, fewer than a split walk needs", x.Len())
	}
	has := func(set []uint64, r uint32) bool { return set == nil || set[r>>6]&(1<<(r&63)) != 0 }
	for _, key := range []SortKey{SortFollowed, SortOpenID} {
		order := x.Order(key, nil)
		for _, q := range []string{"", "v", "vip", "a", "zzzz", "no such text"} {
			var match []uint64
			if q != "" {
				match, _, _ = x.Match(q, nil, nil)
			}
			for _, desc := range []bool{false, true} {
				for _, showU := range []bool{false, true} {
					var want []uint32
					for i := range order {
						r := order[i]
						if desc {
							r = order[len(order)-1-i]
						}
						if has(match, r) && (showU || !x.IsUnfollowed(int(r))) {
							want = append(want, r)
						}
					}
					got := x.Visible(order, desc, match, showU)
					if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
						t.Fatalf("key %d %q desc %v unfollowed %v: %d rows, want %d (or another order)", key, q, desc, showU, len(got), len(want))
					}
				}
			}
		}
	}
}

func TestIndexRareAgreesWithBytesIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"o", "a", "1", " ", "客", "\x00"}
	text := func(n int) []byte {
		var b []byte
		for range n {
			b = append(b, alphabet[rng.IntN(len(alphabet))]...)
		}
		return b
	}
	for range 20000 {
		h, q := text(rng.IntN(12)), text(1+rng.IntN(3))
		if got, want := indexRare(h, q, rarestByte(q)), bytes.Index(h, q); got != want {
			t.Fatalf("indexRare(%q, %q) = %d, want %d", h, q, got, want)
		}
	}
}

func TestFollowerIndexMatchInTheSharedOpenIDPrefixIsEveryRow(t *testing.T) {
	ps := make([]cache.Profile, 130) // two words and a part
	for i := range ps {
		ps[i] = cache.Profile{OpenID: fmt.Sprintf("oNw3k%03dx", i), Remark: "vip"}
	}
	ps[5].OpenID = "oNw3koNw3k"
	x := IndexProfiles(ps)
	if x.sharedOpen != 5 {
		t.Fatalf("shared openid prefix %d bytes, want 5", x.sharedOpen)
	}
	half := make([]uint64, 3)
	for r := 0; r < len(ps); r += 2 {
		half[r>>6] |= 1 << (r & 63)
	}
	for _, q := range []string{"o", "oN", "w3k", "oNw3k", "on", "oNw3ko", "1"} {
		for _, within := range [][]uint64{nil, half} {
			var want []int
			for i, p := range ps {
				in := within == nil || within[i>>6]&(1<<(i&63)) != 0
				if in && (strings.Contains(p.OpenID, q) || strings.Contains(p.Remark, asciiLower(q))) {
					want = append(want, i)
				}
			}
			set, n, _ := x.Match(q, within, nil)
			var got []int
			for w, word := range set {
				for ; word != 0; word &= word - 1 {
					got = append(got, w<<6|bits.TrailingZeros64(word))
				}
			}
			if n != len(want) || !slices.Equal(got, want) {
				t.Fatalf("Match(%q, within %v): %d rows %v, want %v", q, within != nil, n, got, want)
			}
		}
	}
}
