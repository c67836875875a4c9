package ui

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"wxscope/bench/world"
	"wxscope/cache"
	"wxscope/ui/uitest"
)

// spillRows is enough rows for several chunks and a partial last one.
const spillRows = 5*idChunkRecs + 777

// spillInto makes the unionid columns built in this test spill from their
// first full chunk into a folder of their own, three chunks a window of
// the permutation (so that it takes several passes), and returns the
// folder.
func spillInto(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	from, d, win := idSpillFrom, idSpillDir, idSpillWindow
	t.Cleanup(func() { idSpillFrom, idSpillDir, idSpillWindow = from, d, win })
	idSpillFrom, idSpillDir, idSpillWindow = idChunkRecs, dir, 3*(idChunkRecs*18+idPad)
	return dir
}

// noSpill makes the indexes built meanwhile keep their unionids in memory.
func noSpill(fn func()) {
	from := idSpillFrom
	idSpillFrom = math.MaxInt
	defer func() { idSpillFrom = from }()
	fn()
}

// spillWorld is n followers of world.Followers with a few unionids of
// another shape (kept as they are beside the packed ones), in follow order
// as a load builds them.
func spillWorld(n int) *FollowerIndex {
	b := NewFollowerIndexBuilder(n)
	b.SortByFollow()
	i := 0
	world.Followers(n, func(p *cache.Profile) {
		if i%9973 == 5 {
			p.UnionID = "odd-" + p.UnionID
		}
		i++
		b.Add(p)
	})
	return b.Build()
}

// sameIndex fails unless a and b agree on every row, on a few filters and
// on the unionid order.
func sameIndex(t *testing.T, got, want *FollowerIndex) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("%d rows, want %d", got.Len(), want.Len())
	}
	for r := range want.Len() {
		if g, w := got.Row(r), want.Row(r); !reflect.DeepEqual(g, w) {
			t.Fatalf("row %d = %+v, want %+v", r, g, w)
		}
	}
	mid := want.UnionID(want.Len() / 2)
	for _, q := range []string{"v", "zz", "oP", "-", "odd-", mid, mid[7:13], mid[len(mid)-4:], "客"} {
		g, gn, _ := got.Match(q, nil, nil)
		w, wn, _ := want.Match(q, nil, nil)
		if gn != wn || !slices.Equal(g, w) {
			t.Fatalf("filter %q: %d rows, want %d", q, gn, wn)
		}
		// Narrowing: only the rows still matching are read.
		g2, gn2, _ := got.Match(q+"a", g, nil)
		w2, wn2, _ := want.Match(q+"a", w, nil)
		if gn2 != wn2 || !slices.Equal(g2, w2) {
			t.Fatalf("filter %q within %q: %d rows, want %d", q+"a", q, gn2, wn2)
		}
	}
	if g, w := got.Order(SortUnionID, nil), want.Order(SortUnionID, nil); !slices.Equal(g, w) {
		t.Fatal("the unionid order differs")
	}
}

func TestSpilledUnionIDsReadBackEveryRow(t *testing.T) {
	var mem *FollowerIndex
	noSpill(func() { mem = spillWorld(spillRows) })
	spillInto(t)
	x := spillWorld(spillRows)
	defer x.Close()
	if x.union.spill == nil || !x.union.anySpilled() || x.SpillErr() != nil {
		t.Fatalf("the unionids did not spill: %v", x.SpillErr())
	}
	for b := range x.union.chunks {
		if !x.union.spilled(b) {
			t.Errorf("chunk %d of %d is in memory", b, len(x.union.chunks))
		}
	}
	if saved := mem.memBytes() - x.memBytes(); saved < 5*idChunkRecs*x.union.rec {
		t.Errorf("the spilled index holds %d bytes less, want at least the unionids' %d", saved, 5*idChunkRecs*x.union.rec)
	}
	sameIndex(t, x, mem)
}

// A builder not sorted by follow time (the first screenful's Snapshot, the
// tests' IndexProfiles) spills as well, without a permutation.
func TestSpilledUnionIDsInTheOrderAdded(t *testing.T) {
	ps := fakeProfiles(3*idChunkRecs + 5)
	var mem *FollowerIndex
	noSpill(func() { mem = IndexProfiles(ps) })
	spillInto(t)
	x := IndexProfiles(ps)
	defer x.Close()
	if !x.union.anySpilled() {
		t.Fatal("the unionids did not spill")
	}
	sameIndex(t, x, mem)
	if r, ok := x.findOpenID(ps[len(ps)-3].OpenID); !ok || x.UnionID(r) != ps[len(ps)-3].UnionID {
		t.Errorf("row of %s: %d %t", ps[len(ps)-3].OpenID, r, ok)
	}
}

// failWrites makes the spill files' writes fail after the first n.
func failWrites(t *testing.T, n int64) {
	t.Helper()
	old := idSpillWriteAt
	t.Cleanup(func() { idSpillWriteAt = old })
	var calls atomic.Int64
	idSpillWriteAt = func(f *os.File, b []byte, off int64) (int, error) {
		if calls.Add(1) > n {
			return 0, errors.New("no space left on device")
		}
		return old(f, b, off)
	}
}

func TestSpillFailureKeepsTheIndexWhole(t *testing.T) {
	var mem *FollowerIndex
	noSpill(func() { mem = spillWorld(spillRows) })
	cases := []struct {
		name  string
		setup func(t *testing.T)
		want  string
	}{
		{"no temporary folder", func(t *testing.T) { idSpillDir = filepath.Join(t.TempDir(), "gone") }, "create a temporary file for the unionids"},
		// Two chunks written as the load goes, then the disk is full:
		// the rest stay in memory, and so does the permutation's.
		{"disk full while loading", func(t *testing.T) { failWrites(t, 2) }, "write the unionids"},
		// Every chunk written while loading (five full ones), then the
		// permutation's file fills after one window.
		{"disk full while sorting", func(t *testing.T) { failWrites(t, 5+3) }, "write the unionids"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := spillInto(t)
			c.setup(t)
			x := spillWorld(spillRows)
			err := x.SpillErr()
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "stay in memory") {
				t.Fatalf("SpillErr = %v, want one that says %q and what became of the ids", err, c.want)
			}
			sameIndex(t, x, mem)
			if err := x.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
				t.Errorf("left in the temporary folder: %v", left)
			}
		})
	}
}

func TestSpillFileIsGoneAfterClose(t *testing.T) {
	dir := spillInto(t)
	// A file a crashed process left (on Windows, where an open file
	// cannot be removed; elsewhere none is ever left).
	stale := filepath.Join(dir, strings.Replace(idSpillPattern, "*", "1234", 1))
	if err := os.WriteFile(stale, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	x := IndexProfiles(fakeProfiles(2*idChunkRecs + 1))
	if !x.union.anySpilled() {
		t.Fatal("the unionids did not spill")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if runtime.GOOS != "windows" && len(left) > 0 {
		t.Errorf("while open, the folder holds %v: the spill should be removed at once, and the stale one too", left)
	}
	if slices.Contains(left, stale) {
		t.Errorf("the stale spill %s is still there", stale)
	}
	f := x.union.spill.f
	if err := x.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("after Close the file is not closed: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
		t.Errorf("after Close the folder holds %v", left)
	}
}

// The Followers view over a spilled index: the rows, a filter on a
// unionid, and a spill that failed said in the log.
func TestFollowersOverSpilledUnionIDs(t *testing.T) {
	ps := fakeProfiles(2*idChunkRecs + 99)
	q := ps[idChunkRecs+17].UnionID[5:13]
	run := func() (screen string, rows []uint32) {
		d, f := followersRoot(t, 160, 12, ps, nil, nil)
		if !f.idx.union.anySpilled() && f.idx.SpillErr() == nil {
			t.Fatal("the unionids did not spill")
		}
		d.Send(uitest.Key("/"))
		d.Send(uitest.Type(q)...)
		d.Send(uitest.Key("enter"))
		return d.Screen(), slices.Clone(f.rows.Slice())
	}
	var wantScreen string
	var wantRows []uint32
	noSpill(func() {
		d, f := followersRoot(t, 160, 12, ps, nil, nil)
		d.Send(uitest.Key("/"))
		d.Send(uitest.Type(q)...)
		d.Send(uitest.Key("enter"))
		wantScreen, wantRows = d.Screen(), slices.Clone(f.rows.Slice())
	})
	if len(wantRows) == 0 {
		t.Fatalf("no row matches %q", q)
	}
	spillInto(t)
	screen, rows := run()
	if screen != wantScreen || !slices.Equal(rows, wantRows) {
		t.Fatalf("spilled: %d rows\n%s\nin memory: %d rows\n%s", len(rows), screen, len(wantRows), wantScreen)
	}
	idSpillDir = filepath.Join(t.TempDir(), "gone")
	d, _ := followersRoot(t, 160, 12, ps, nil, nil)
	d.Send(uitest.Key("L"))
	if s := d.Screen(); !strings.Contains(squeeze(s), "followers of news: create a temporary file for the unionids") {
		t.Errorf("the log does not say why the unionids stay in memory:\n%s", s)
	}
}

func TestInvertInPlaceGivesTheInverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 7, 1000} {
		p := make([]uint32, n)
		for i := range p {
			p[i] = uint32(i)
		}
		rng.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
		want := make([]uint32, n)
		for i, v := range p {
			want[v] = uint32(i)
		}
		invertInPlace(p)
		if !slices.Equal(p, want) {
			t.Fatalf("n=%d: %v, want %v", n, p, want)
		}
	}
}
