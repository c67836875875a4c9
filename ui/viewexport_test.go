package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/parquet-go/parquet-go"

	"wxscope/cache"
	"wxscope/export"
	"wxscope/ui/uitest"
)

func TestFollowersSubsetNoUnionIDShowsOnlyThoseAndFiltersWithin(t *testing.T) {
	ps := fakeProfiles(100) // every 10th has no unionid: 9, 19, … 99
	var f *Followers
	d := newTestRoot(140, 30, nil, func(c *Common) Page {
		spec := newsSpec(ps, nil)
		spec.Subset = SubsetNoUnionID
		f = NewFollowers(c, spec)
		return f
	})
	// 10 without unionid; 69 unfollowed (i%7 == 6) and is hidden.
	if f.Rows() != 9 || !strings.Contains(d.Screen(), "only without unionid") {
		t.Fatalf("rows %d, want 9:\n%s", f.Rows(), d.Screen())
	}
	d.Send(uitest.Key("/"))
	d.Send(uitest.Type("remark")...) // remarks are on multiples of 5: none of these
	if f.Rows() != 0 || !strings.Contains(d.Screen(), "no followers match") {
		t.Fatalf("rows %d after filtering the subset, want 0:\n%s", f.Rows(), d.Screen())
	}
	d.Send(uitest.Key("esc"))
	if f.Rows() != 9 {
		t.Fatalf("clearing the filter should bring back the subset, got %d rows", f.Rows())
	}
}

func TestCopyUsesTheLocalClipboardAndSaysSo(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "clip")
	script := filepath.Join(dir, "fakeclip")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat > "+out+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	c := &Common{Ctx: t.Context(), Clipboard: &LocalClipboard{Name: "fakeclip", Path: script}}
	msgs := runCmd(copyID(c, "openid", "oNw3kT0c1kP4x"))
	if got, _ := os.ReadFile(out); string(got) != "oNw3kT0c1kP4x" {
		t.Errorf("the local command got %q", got)
	}
	if !hasFlash(msgs, "via fakeclip and OSC 52") {
		t.Errorf("toast should name the command: %v", msgs)
	}
	c.Clipboard = nil
	if msgs := runCmd(copyID(c, "openid", "oNw3k")); !hasFlash(msgs, "via OSC 52") {
		t.Errorf("without a local command the toast should say OSC 52: %v", msgs)
	}
	if msgs := runCmd(copyID(c, "openid", "oNw\x1b]52;c;x\x07")); !hasFlash(msgs, "not copied") {
		t.Errorf("an id with control characters must be refused: %v", msgs)
	}
}

func TestDetectLocalClipboardNeedsADisplay(t *testing.T) {
	found := func(string) (string, error) { return "/usr/bin/x", nil }
	none := func(string) (string, error) { return "", errors.New("not found") }
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if lc := DetectLocalClipboard(env(map[string]string{"WAYLAND_DISPLAY": "wayland-0"}), found); lc == nil || lc.Name != "wl-copy" {
		t.Errorf("Wayland: %+v", lc)
	}
	if lc := DetectLocalClipboard(env(map[string]string{"DISPLAY": ":0"}), found); lc == nil || lc.Name != "xclip" {
		t.Errorf("X11: %+v", lc)
	}
	if lc := DetectLocalClipboard(env(map[string]string{"SSH_CONNECTION": "1 2 3 4"}), found); lc != nil {
		t.Errorf("over SSH without a display nothing local should be used: %+v", lc)
	}
	if lc := DetectLocalClipboard(env(nil), none); lc != nil {
		t.Errorf("nothing installed: %+v", lc)
	}
}

func TestReadOnlyDisablesWriteKeys(t *testing.T) {
	r := NewRoot(Options{Theme: ThemePlain, ReadOnly: true})
	b := r.Common().WriteKey(DefaultFollowersKeys().Sort) // any binding
	if b.Enabled() {
		t.Fatal("a write key should be disabled in read-only mode")
	}
	if NewRoot(Options{Theme: ThemePlain}).Common().WriteKey(DefaultFollowersKeys().Sort).Enabled() == false {
		t.Fatal("a write key should stay enabled otherwise")
	}
}

// runCmd runs cmd and the batches it returns, collecting the messages.
func runCmd(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, runCmd(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

func hasFlash(msgs []tea.Msg, text string) bool {
	for _, m := range msgs {
		if f, ok := m.(FlashMsg); ok && strings.Contains(f.Text, text) {
			return true
		}
	}
	return false
}

// exportHome makes a home folder with a Downloads folder in it (unless
// noDownloads), points HOME at it, and runs the test from another folder,
// which must stay empty.
func exportHome(t *testing.T, noDownloads bool) (home, downloads string) {
	t.Helper()
	home = t.TempDir()
	downloads = filepath.Join(home, "Downloads")
	if !noDownloads {
		if err := os.Mkdir(downloads, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	t.Setenv("XDG_DOWNLOAD_DIR", "")
	wd := t.TempDir()
	t.Chdir(wd)
	t.Cleanup(func() {
		if entries, _ := os.ReadDir(wd); len(entries) > 0 {
			t.Errorf("the export wrote into the current folder: %v", entries)
		}
	})
	return home, downloads
}

// exportProfiles are fakeProfiles with the fields only the cache has (not
// the view's index) set on some rows, and a remark HTML would escape.
func exportProfiles(n int) []cache.Profile {
	ps := fakeProfiles(n)
	for i := range ps {
		if i%4 == 0 {
			ps[i].TagIDs = []int64{2, int64(100 + i)}
			ps[i].QRScene, ps[i].QRSceneStr, ps[i].GroupID = int64(i), "=campaign", 2
		}
		ps[i].FetchedAt = testNow.Unix() - int64(i)
	}
	ps[5].Remark = "=HYPERLINK(\"http://x\") <VIP> & co"
	return ps
}

// wantExport is what `wxscope export` writes in format for the rows the
// view shows, in the view's order.
func wantExport(t *testing.T, f *Followers, ps []cache.Profile, format export.Format) ([]export.Row, string) {
	t.Helper()
	var rows []export.Row
	var b strings.Builder
	w, err := export.NewWriter(format, &b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.rows.Slice() {
		row := export.NewRow(export.Input{App: "news", Profile: (*export.Follower)(&ps[r])})
		rows = append(rows, row)
		if format != export.Parquet {
			if err := w.Write(&row); err != nil {
				t.Fatal(err)
			}
		}
	}
	if format != export.Parquet {
		w.Close()
	}
	return rows, b.String()
}

// flashedPath is the path a footer line ends with after "rows to ".
func flashedPath(t *testing.T, screen string) string {
	t.Helper()
	ls := strings.Split(screen, "\n")
	_, path, ok := strings.Cut(ls[len(ls)-1], " rows to ")
	if !ok {
		t.Fatalf("no result in the footer:\n%s", screen)
	}
	return strings.TrimSpace(path)
}

func TestFollowersExportWritesTheShownRowsAsWxscopeExportDoesIntoDownloads(t *testing.T) {
	_, downloads := exportHome(t, false)
	ps := exportProfiles(60)
	d, f := followersRoot(t, 220, 20, ps, nil, nil)
	d.Send(uitest.Key("/"))
	d.Send(uitest.Type("remark")...)
	d.Send(uitest.Key("enter"), uitest.Key("S"), uitest.Key("e"))
	want := filepath.Join(downloads, "news-followers-20240601.csv")
	if !f.CapturesInput() || !strings.Contains(d.Screen(), "export to "+want+"█") {
		t.Fatalf("the prompt should offer %s in full:\n%s", want, d.Screen())
	}
	d.Send(uitest.Key("enter"))
	screen := d.Screen()
	if !strings.Contains(screen, "exported "+formatCount(f.Rows())+" rows to "+want) {
		t.Fatalf("no result with the row count and the full path:\n%s", screen)
	}
	if p := flashedPath(t, screen); !filepath.IsAbs(p) || p != want {
		t.Errorf("the result names %q, want the absolute %s", p, want)
	}
	got, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	rows, csvWant := wantExport(t, f, ps, export.CSV)
	if string(got) != csvWant {
		t.Errorf("the file is not what wxscope export writes for these rows in this order:\n got %s\nwant %s", got, csvWant)
	}
	// "remark N" on every 5th follower but those unfollowed (20, 55),
	// oldest first: S turned the sort round.
	if len(rows) != 9 || rows[0].OpenID != ps[0].OpenID || rows[8].OpenID != ps[50].OpenID {
		t.Fatalf("%d rows from %s to %s: want the 9 following with a remark, oldest first", len(rows), rows[0].OpenID, rows[len(rows)-1].OpenID)
	}
	if !strings.HasPrefix(string(got), strings.Join(export.Columns, ",")+"\n") || !strings.Contains(string(got), ",1704117900,") {
		t.Errorf("want the contract's header and times in unix seconds:\n%s", got)
	}
}

func TestFollowersExportJSONLinesAndParquetMatchWxscopeExport(t *testing.T) {
	_, downloads := exportHome(t, false)
	ps := exportProfiles(40)
	d, f := followersRoot(t, 220, 20, ps, nil, nil)
	d.Send(uitest.Key("u")) // the unfollowed too
	d.Send(uitest.Key("e"), uitest.Key("ctrl+u"))
	d.Send(uitest.Type("out.jsonl")...) // a bare name lands in Downloads too
	d.Send(uitest.Key("enter"))
	path := filepath.Join(downloads, "out.jsonl")
	if !strings.Contains(d.Screen(), "exported 40 rows to "+path) {
		t.Fatalf("no result:\n%s", d.Screen())
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, want := wantExport(t, f, ps, export.JSONL)
	if string(got) != want || !strings.Contains(want, `"remark":"=HYPERLINK(\"http://x\") <VIP> & co"`) {
		t.Errorf("the JSON lines are not wxscope export's:\n got %s\nwant %s", got, want)
	}

	d.Send(uitest.Key("e"), uitest.Key("ctrl+u"))
	d.Send(tea.PasteMsg{Content: "~/Downloads/out.parquet"})
	d.Send(uitest.Key("enter"))
	path = filepath.Join(downloads, "out.parquet")
	if !strings.Contains(d.Screen(), "exported 40 rows to "+path) {
		t.Fatalf("no result:\n%s", d.Screen())
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	st, _ := file.Stat()
	back, err := parquet.Read[export.Row](file, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rows) {
		t.Errorf("the Parquet rows differ from the JSON lines:\n%+v\n%+v", back, rows)
	}
}

func TestFollowersExportRefusesAnExistingFileAndSaysNothingWasWritten(t *testing.T) {
	_, downloads := exportHome(t, false)
	d, _ := followersRoot(t, 220, 20, exportProfiles(30), nil, nil)
	taken := filepath.Join(downloads, "taken.csv")
	if err := os.WriteFile(taken, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.Send(uitest.Key("e"), uitest.Key("ctrl+u"))
	d.Send(tea.PasteMsg{Content: taken})
	d.Send(uitest.Key("enter"))
	if !strings.Contains(d.Screen(), taken+" exists already; nothing was written: choose another name") {
		t.Errorf("want a clear refusal:\n%s", d.Screen())
	}
	if b, _ := os.ReadFile(taken); string(b) != "keep me\n" {
		t.Errorf("the file was changed: %q", b)
	}
	if entries, _ := os.ReadDir(downloads); len(entries) != 1 {
		t.Errorf("the refused export left %v", entries)
	}

	// The default name steps round a file that is there.
	d.Send(uitest.Key("e"), uitest.Key("enter"))
	d.Send(uitest.Key("e"))
	if want := filepath.Join(downloads, "news-followers-20240601-2.csv"); !strings.Contains(d.Screen(), "export to "+want) {
		t.Errorf("the second default should be %s:\n%s", want, d.Screen())
	}
}

func TestFollowersExportGoesHomeWithoutADownloadsFolder(t *testing.T) {
	home, _ := exportHome(t, true)
	d, _ := followersRoot(t, 220, 20, exportProfiles(10), nil, nil)
	d.Send(uitest.Key("e"), uitest.Key("enter"))
	want := filepath.Join(home, "news-followers-20240601.csv")
	if !strings.Contains(d.Screen(), "exported 9 rows to "+want) {
		t.Fatalf("want the file in the home folder:\n%s", d.Screen())
	}
	if _, err := os.Stat(want); err != nil {
		t.Error(err)
	}
}

// TestFollowersExportResultAlwaysLands runs the export in the real program,
// where commands run in goroutines, 50 times: each must end with its result
// in the footer, never with the "exporting…" notice over it.
func TestFollowersExportResultAlwaysLands(t *testing.T) {
	_, downloads := exportHome(t, false)
	ps := exportProfiles(500)
	root := NewRoot(Options{Theme: ThemePlain, Loc: time.UTC, Now: func() time.Time { return testNow }})
	root.Open(NewFollowers(root.Common(), newsSpec(ps, nil)))
	p := uitest.Start(t, root, 220, 20)
	p.WaitFor(t, "the followers list", func(s string) bool { return strings.Contains(s, "429 rows") })
	for i := range 50 {
		path := filepath.Join(downloads, fmt.Sprintf("run-%02d.csv", i))
		p.Send(uitest.Key("e"), uitest.Key("ctrl+u"), tea.PasteMsg{Content: path}, uitest.Key("enter"))
		done := "exported 429 rows to " + path
		p.WaitFor(t, "the result of run "+strconv.Itoa(i), func(s string) bool { return strings.Contains(s, done) })
		time.Sleep(20 * time.Millisecond) // a late notice would land by now
		if s := p.Screen(); !strings.Contains(s, done) {
			t.Fatalf("run %d: the result was replaced:\n%s", i, s)
		}
	}
	// Once more over the first file: the refusal lands too.
	first := filepath.Join(downloads, "run-00.csv")
	p.Send(uitest.Key("e"), uitest.Key("ctrl+u"), tea.PasteMsg{Content: first}, uitest.Key("enter"))
	p.WaitFor(t, "the refusal", func(s string) bool { return strings.Contains(s, first+" exists already; nothing was written") })
	time.Sleep(20 * time.Millisecond)
	if s := p.Screen(); !strings.Contains(s, "nothing was written") {
		t.Fatalf("the refusal was replaced:\n%s", s)
	}
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

func TestFollowersExportLookupFindsEveryShownRowAndNoOther(t *testing.T) {
	ps := fakeProfiles(3000)
	x := IndexProfiles(ps)
	rows := []uint32{2999, 7, 0, 1500}
	l := newShownLookup(x, rows)
	for pos, r := range rows {
		if got, ok := l.find(ps[r].OpenID); !ok || got != pos {
			t.Errorf("find(%s) = %d, %v; want %d", ps[r].OpenID, got, ok, pos)
		}
	}
	if _, ok := l.find(ps[8].OpenID); ok {
		t.Error("a row not shown was found")
	}
}

// BenchmarkFollowersExport1M is e then enter on news in the 1 M-follower
// cache, every following row shown, newest first: the rows read fresh from
// the file, spooled, and written in the view's order.
//
//	go test -run '^$' -bench FollowersExport1M -benchtime 1x ./ui/
func BenchmarkFollowersExport1M(b *testing.B) {
	path := cacheFixture1M(b)
	s, err := cache.Open(path, cache.Options{Mode: cache.Shared})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	src := NewCacheReader(s, benchRefs)
	x, err := LoadFollowerIndex(context.Background(), src, "wxnews", 1_000_000, nil)
	if err != nil {
		b.Fatal(err)
	}
	f := NewFollowersFromIndex(benchCommon(), FollowersSpec{App: "news", AppID: "wxnews", Reader: src}, x)
	for _, format := range []string{"csv", "parquet"} {
		b.Run(format, func(b *testing.B) {
			dir := b.TempDir()
			w := viewExport{ctx: context.Background(), app: "news", appID: "wxnews", src: src, idx: x, rows: f.rows.Slice()}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			i := 0
			for b.Loop() {
				i++
				n, err := w.writeFile(filepath.Join(dir, fmt.Sprintf("out-%d.%s", i, format)))
				if err != nil || n != f.rows.Len() {
					b.Fatalf("%d rows, %v", n, err)
				}
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(f.rows.Len())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-inuse-MB")
		})
	}
}
