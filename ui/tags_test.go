package ui

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/bench/world"
	"wxscope/cache"
	"wxscope/export"
	"wxscope/ui/uitest"
)

// memLists is a ListsReader over fixed lists, with a growth store that a
// fake refresh fills.
type memLists struct {
	tags  map[string]cache.TagList
	black map[string][]string // appid → sorted openids

	mu     sync.Mutex
	growth map[string][]cache.GrowthDay
}

func (m *memLists) Tags(_ context.Context, appID string) (cache.TagList, error) {
	return m.tags[appID], nil
}

func (m *memLists) Blacklist(_ context.Context, appID string) (*cache.Blacklist, error) {
	return cache.NewBlacklist(m.black[appID]), nil
}

func (m *memLists) Blacklisted(_ context.Context, appID, openid string) (bool, error) {
	return slices.Contains(m.black[appID], openid), nil
}

func (m *memLists) Growth(_ context.Context, appID string, first, last time.Time) ([]cache.GrowthDay, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, e := first.In(chinaTime).Format(time.DateOnly), last.In(chinaTime).Format(time.DateOnly)
	var out []cache.GrowthDay
	for _, d := range m.growth[appID] {
		if d.Date >= b && d.Date <= e {
			out = append(out, d)
		}
	}
	return out, nil
}

// testTags are news's tags: a system tag, operator tags (one with an
// escape sequence in its name); 103 is on followers but deleted.
var testTags = cache.TagList{ReadAt: testNow, Tags: []cache.Tag{
	{ID: 2, Name: "星标组"}, {ID: 100, Name: "老客户"}, {ID: 101, Name: "🎁活动"}, {ID: 104, Name: "\x1b[1m加粗\x1b[0m"},
}}

// taggedProfiles are fakeProfiles with tag lists cycling through a few
// combinations, and every 11th follower blacklisted.
func taggedProfiles(n int) ([]cache.Profile, []string) {
	sets := [][]int64{{}, {2}, {100}, {2, 101}, {103, 101}, {104}, {100, 101, 2}, {101}}
	ps := fakeProfiles(n)
	var black []string
	for i := range ps {
		ps[i].TagIDs = sets[i%len(sets)]
		if i%11 == 3 {
			black = append(black, ps[i].OpenID)
		}
	}
	slices.Sort(black)
	return ps, black
}

func listsRoot(t *testing.T, w, h int, lists ListsReader, growth GrowthFunc, first func(c *Common) Page) *uitest.Driver {
	t.Helper()
	r := NewRoot(Options{Theme: ThemePlain, Now: func() time.Time { return testNow }, Loc: time.UTC, Lists: lists, Growth: growth})
	r.Open(first(r.Common()))
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: w, Height: h})
	d.Run(r.Init())
	return d
}

func taggedFollowers(t *testing.T, w, h int) (*uitest.Driver, *Followers, []cache.Profile, []string) {
	t.Helper()
	ps, black := taggedProfiles(70)
	lists := &memLists{tags: map[string]cache.TagList{"wxnews": testTags}, black: map[string][]string{"wxnews": black}}
	var f *Followers
	d := listsRoot(t, w, h, lists, nil, func(c *Common) Page {
		f = NewFollowers(c, newsSpec(ps, nil))
		return f
	})
	return d, f, ps, black
}

func lineOf(t *testing.T, screen, openid string) string {
	t.Helper()
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, openid) {
			return l
		}
	}
	t.Fatalf("no row of %s on screen:\n%s", openid, screen)
	return ""
}

// The tags column names each follower's tags in tagid_list order, a deleted
// tag by its number, an escape sequence made harmless; blacklisted
// followers carry ⊘, and the title counts them.
func TestFollowersNameTagsAndMarkTheBlacklisted(t *testing.T) {
	d, _, ps, black := taggedFollowers(t, 160, 40)
	s := d.Screen()
	lines(t, s, 160, 40)
	if strings.Contains(s, "\x1b") {
		t.Fatal("an escape sequence of a tag name reached the screen")
	}
	ls := strings.Split(s, "\n")
	if !strings.Contains(ls[0], "⊘ 7 blacklisted") || !strings.Contains(ls[1], "tags") {
		t.Fatalf("title %q / header %q: want the blacklisted count and a tags column", ls[0], ls[1])
	}
	for i, want := range map[int]string{54: "老客户, 🎁活动, 星标组", 68: "103, 🎁活动", 61: "加粗", 67: "星标组, 🎁活动", 66: "老客户"} {
		if row := lineOf(t, s, ps[i].OpenID); !strings.Contains(row, want) {
			t.Errorf("row %d (tags %v) = %q, want %q", i, ps[i].TagIDs, row, want)
		}
	}
	for _, i := range []int{58, 68, 47} {
		on := slices.Contains(black, ps[i].OpenID)
		row := lineOf(t, s, ps[i].OpenID)
		if got := strings.Contains(row[:8], "⊘"); got != on {
			t.Errorf("row %d: ⊘ shown %v, blacklisted %v: %q", i, got, on, row)
		}
	}
}

// keptBy is the naive answer: the following followers a tag filter keeps.
func keptBy(ps []cache.Profile, black []string, tf TagFilter) int {
	n := 0
	for _, p := range ps {
		if p.UnfollowedAt != 0 {
			continue
		}
		if tf.keeps(p.TagIDs, slices.Contains(black, p.OpenID)) {
			n++
		}
	}
	return n
}

// t opens the picker; space checks, a switches any/all, enter keeps those
// followers, the text filter narrows them further, esc clears the text
// filter and then the tags.
func TestFollowersTagPickerFiltersByAnyOrAllTags(t *testing.T) {
	d, f, ps, black := taggedFollowers(t, 160, 40)
	all := f.Rows()
	d.Send(uitest.Key("t"))
	s := d.Screen()
	if !f.CapturesInput() || !strings.Contains(s, "[ ] ⊘ blacklisted") || !strings.Contains(s, "[ ] 103 (deleted)") {
		t.Fatalf("t should open the picker with the blacklist and every tag:\n%s", s)
	}
	// The entries: blacklisted, then by followers; find 星标组 and 🎁活动.
	pick := func(label string) {
		t.Helper()
		for i, e := range f.picker.entries {
			if e.label == label {
				for f.picker.cursor != i {
					if f.picker.cursor < i {
						d.Send(uitest.Key("down"))
					} else {
						d.Send(uitest.Key("up"))
					}
				}
				d.Send(uitest.Key("space"))
				return
			}
		}
		t.Fatalf("no picker entry %q", label)
	}
	pick("星标组")
	pick("🎁活动")
	d.Send(uitest.Key("enter"))
	anyN := keptBy(ps, black, TagFilter{IDs: []int64{2, 101}})
	if title := strings.Split(d.Screen(), "\n")[0]; f.Rows() != anyN || !strings.Contains(title, "tags any of ") ||
		!strings.Contains(title, "星标组") || !strings.Contains(title, "🎁活动") {
		t.Fatalf("any of 星标组, 🎁活动: %d rows, want %d\n%s", f.Rows(), anyN, d.Screen())
	}

	d.Send(uitest.Key("t"), uitest.Key("a"), uitest.Key("enter"))
	allN := keptBy(ps, black, TagFilter{IDs: []int64{2, 101}, All: true})
	if f.Rows() != allN || allN >= anyN || allN == 0 || !strings.Contains(d.Screen(), "tags all of ") {
		t.Fatalf("all of them: %d rows, want %d (fewer than any's %d)", f.Rows(), allN, anyN)
	}

	d.Send(uitest.Key("t"))
	pick("⊘ blacklisted")
	d.Send(uitest.Key("enter"))
	bothN := keptBy(ps, black, TagFilter{IDs: []int64{2, 101}, Blacklisted: true, All: true})
	if f.Rows() != bothN {
		t.Fatalf("all of 星标组, 🎁活动 and blacklisted: %d rows, want %d", f.Rows(), bothN)
	}

	// A text filter within the tag filter.
	d.Send(uitest.Key("t"), uitest.Key("c"), uitest.Key("a"))
	pick("星标组")
	d.Send(uitest.Key("enter"), uitest.Key("/"))
	d.Send(uitest.Type("remark 2")...)
	d.Send(uitest.Key("enter"))
	want := 0
	for _, p := range ps {
		if p.UnfollowedAt == 0 && slices.Contains(p.TagIDs, 2) && strings.Contains(p.Remark, "remark 2") {
			want++
		}
	}
	if f.Rows() != want || want == 0 {
		t.Fatalf("星标组 and \"remark 2\": %d rows, want %d", f.Rows(), want)
	}
	d.Send(uitest.Key("esc"))
	if f.Rows() != keptBy(ps, black, TagFilter{IDs: []int64{2}}) {
		t.Fatalf("esc should clear the text filter first: %d rows", f.Rows())
	}
	d.Send(uitest.Key("esc"))
	if f.Rows() != all || strings.Contains(d.Screen(), "tags 星标组") {
		t.Fatalf("esc again should clear the tags: %d rows, want %d", f.Rows(), all)
	}
	// esc in the picker leaves the filter as it was.
	d.Send(uitest.Key("t"), uitest.Key("space"), uitest.Key("esc"))
	if f.Rows() != all || f.CapturesInput() {
		t.Fatalf("a cancelled pick changed the rows: %d, want %d", f.Rows(), all)
	}
}

// Where the width has no room for a tags column, the tags lead the remark.
func TestFollowersFoldTagsIntoTheRemarkWhenNarrow(t *testing.T) {
	d, _, ps, _ := taggedFollowers(t, 80, 30)
	s := d.Screen()
	lines(t, s, 80, 30)
	if !strings.Contains(s, "tags, remark") {
		t.Fatalf("at 80 columns the header should say tags, remark:\n%s", s)
	}
	// The ids are cut to what tells them apart (they share oNw3kT0000).
	if row := lineOf(t, s, "…"+ps[65].OpenID[10:16]); !strings.Contains(row, "星标组 · re") {
		t.Errorf("row 65 (tag 2, a remark) = %q, want its tag then its remark", row)
	}
	d.Send(tea.WindowSizeMsg{Width: 60, Height: 15})
	lines(t, d.Screen(), 60, 15)
	d.Send(uitest.Key("t"))
	lines(t, d.Screen(), 60, 15)
}

func TestTagBitsAgreeWithANaiveTest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ids := []int64{0, 1, 2, 100, 101, 102, 103}
	ps := fakeProfiles(3000)
	bl := []string{}
	for i := range ps {
		for _, id := range ids {
			if rng.IntN(4) == 0 {
				ps[i].TagIDs = append(ps[i].TagIDs, id)
			}
		}
		if rng.IntN(9) == 0 {
			bl = append(bl, ps[i].OpenID)
		}
	}
	slices.Sort(bl)
	b := NewFollowerIndexBuilder(len(ps))
	b.MarkBlacklisted(cache.NewBlacklist(bl))
	for i := range ps {
		b.Add(&ps[i])
	}
	x := b.Build()
	if x.Blacklisted() != len(bl) {
		t.Fatalf("%d rows blacklisted, want %d", x.Blacklisted(), len(bl))
	}
	for range 200 {
		tf := TagFilter{All: rng.IntN(2) == 0, Blacklisted: rng.IntN(3) == 0}
		for _, id := range ids {
			if rng.IntN(4) == 0 {
				tf.IDs = append(tf.IDs, id)
			}
		}
		set, n := x.TagBits(tf)
		want := 0
		for r, p := range ps {
			keep := tf.keeps(p.TagIDs, slices.Contains(bl, p.OpenID))
			if keep {
				want++
			}
			if got := set[r>>6]&(1<<(r&63)) != 0; got != keep {
				t.Fatalf("filter %+v row %d (tags %v): kept %v, want %v", tf, r, p.TagIDs, got, keep)
			}
		}
		if n != want {
			t.Fatalf("filter %+v: %d rows, want %d", tf, n, want)
		}
	}
	counts := map[int64]int{}
	for _, p := range ps {
		if p.UnfollowedAt == 0 {
			for _, id := range p.TagIDs {
				counts[id]++
			}
		}
	}
	for _, c := range x.TagCounts() {
		if counts[c.ID] != c.N {
			t.Errorf("tag %d counted %d, want %d", c.ID, c.N, counts[c.ID])
		}
	}
}

// The Person view names each profile's tags and says who is blacklisted.
func TestPersonNamesTagsAndMarksTheBlacklisted(t *testing.T) {
	p := samplePerson()
	p.Apps[0].Profiles[0].TagIDs = []int64{2, 103, 104}
	lists := &memLists{tags: map[string]cache.TagList{"wxnews": testTags},
		black: map[string][]string{"wxnews": {p.Apps[0].Profiles[0].OpenID}}}
	d := listsRoot(t, 220, 12, lists, nil, func(c *Common) Page { return NewPerson(c, p) })
	s := d.Screen()
	if !strings.Contains(s, "· ⊘ blacklisted · tags 星标组, 103, 加粗 · remark") || strings.Contains(s, "\x1b") {
		t.Fatalf("person with tags 2, 103 (deleted), 104 and blacklisted:\n%s", s)
	}
	if !strings.Contains(lineOf(t, s, "oSp7vQ7hJ2kL9mN4bV6cX8zA1sD3"), "unfollowed") || strings.Count(s, "blacklisted") != 1 {
		t.Errorf("only news's profile is blacklisted:\n%s", s)
	}
}

// taggedBigIndex is a million followers of the benchmark world, carrying
// the demo's tag lists in turn, every 50th blacklisted.
var taggedBigIndex = sync.OnceValue(func() *FollowerIndex {
	sets := [][]int64{{}, {2}, {100}, {2, 101}, {100, 101, 102}, {103, 101}, {2, 104}}
	var black []string
	b := NewFollowerIndexBuilder(1_000_000)
	i := 0
	world.Followers(1_000_000, func(p *cache.Profile) {
		if i%50 == 0 {
			black = append(black, p.OpenID)
		}
		i++
	})
	b.MarkBlacklisted(cache.NewBlacklist(black))
	i = 0
	world.Followers(1_000_000, func(p *cache.Profile) {
		p.TagIDs = sets[i%len(sets)]
		i++
		b.Add(p)
	})
	return b.Build()
})

// BenchmarkTagFilter1M is what enter in the tag picker costs over a
// million followers: the bitset of two tags and the blacklist, any of them.
func BenchmarkTagFilter1M(b *testing.B) {
	x := taggedBigIndex()
	tf := TagFilter{IDs: []int64{2, 101}, Blacklisted: true}
	n := 0
	for b.Loop() {
		_, n = x.TagBits(tf)
	}
	b.ReportMetric(float64(n), "rows")
}

// BenchmarkTagCounts1M is what t costs: the followers per tag.
func BenchmarkTagCounts1M(b *testing.B) {
	x := taggedBigIndex()
	for b.Loop() {
		x.TagCounts()
	}
}

// The view's export carries the tag names and the blacklist marks, as
// wxscope export does: raw names in the file, a deleted tag as its number.
func TestFollowersExportCarriesTagNamesAndTheBlacklist(t *testing.T) {
	_, downloads := exportHome(t, false)
	d, f, ps, black := taggedFollowers(t, 160, 30)
	d.Send(uitest.Key("e"), uitest.Key("ctrl+u"))
	d.Send(uitest.Type("tags.jsonl")...)
	d.Send(uitest.Key("enter"))
	got, err := os.ReadFile(filepath.Join(downloads, "tags.jsonl"))
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Screen())
	}
	byID := map[string]cache.Profile{}
	for _, p := range ps {
		byID[p.OpenID] = p
	}
	names := testTags.NameMap()
	rows := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(rows) != f.Rows() {
		t.Fatalf("%d rows exported, the view shows %d", len(rows), f.Rows())
	}
	marked := 0
	for _, line := range rows {
		var r export.Row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		p := byID[r.OpenID]
		want := []string{}
		for _, id := range p.TagIDs {
			n, ok := names[id]
			if !ok {
				n = strconv.FormatInt(id, 10)
			}
			want = append(want, n)
		}
		if !slices.Equal(r.Tags, want) || r.Blacklisted != slices.Contains(black, r.OpenID) {
			t.Errorf("%s exported with tags %q blacklisted %v, want %q and %v", r.OpenID, r.Tags, r.Blacklisted, want, slices.Contains(black, r.OpenID))
		}
		if r.Blacklisted {
			marked++
		}
	}
	if marked == 0 || !strings.Contains(string(got), `"\u001b[1m加粗\u001b[0m"`) {
		t.Errorf("%d blacklisted rows; the raw name of tag 104 kept: %v", marked, strings.Contains(string(got), "加粗"))
	}
}
