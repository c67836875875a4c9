package ui

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/ui/uitest"
)

func TestFollowersExportWritesTheFilteredSortedRowsAsCSV(t *testing.T) {
	t.Chdir(t.TempDir())
	ps := fakeProfiles(60)
	ps[5].Remark = "=HYPERLINK(\"http://x\")"
	pres := setPresence{"wxshop/" + ps[5].UnionID: true}
	d, f := followersRoot(t, 140, 20, ps, pres, nil)
	d.Send(uitest.Key("/"))
	d.Send(uitest.Type("remark")...)
	d.Send(uitest.Key("enter"), uitest.Key("e"))
	if !f.CapturesInput() || !strings.Contains(d.Screen(), "export to news-followers-20240601.csv") {
		t.Fatalf("the prompt should offer the default name:\n%s", d.Screen())
	}
	d.Send(uitest.Key("enter"))
	if !strings.Contains(d.Screen(), "exported "+formatCount(f.Rows())+" rows to ") {
		t.Fatalf("no toast with the row count:\n%s", d.Screen())
	}
	file, err := os.Open("news-followers-20240601.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	recs, err := csv.NewReader(file).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "openid,unionid,subscribe_time,subscribe_scene,in_shop,in_events,remark" {
		t.Errorf("header = %s", got)
	}
	if len(recs)-1 != f.Rows() {
		t.Fatalf("%d rows written, the view shows %d", len(recs)-1, f.Rows())
	}
	// Newest first, as shown; every row has a remark (the filter).
	if recs[1][0] != f.Selected() {
		t.Errorf("first row %s, the view's first is %s", recs[1][0], f.Selected())
	}
	for _, r := range recs[1:] {
		if r[0] == ps[5].OpenID {
			if r[6] != "'=HYPERLINK(\"http://x\")" || r[4] != "yes" || r[5] != "" {
				t.Errorf("row of ps[5] = %q: want the formula defused, shop yes, events unknown", r)
			}
		}
	}
}

func TestFollowersExportToJSONLinesAndNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	d, f := followersRoot(t, 140, 20, fakeProfiles(30), nil, nil)
	d.Send(uitest.Key("e"), uitest.Key("ctrl+u"))
	d.Send(uitest.Type("out.jsonl")...)
	d.Send(uitest.Key("enter"))
	file, err := os.Open(filepath.Join(dir, "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for sc := bufio.NewScanner(file); sc.Scan(); n++ {
		var l exportLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.App != "news" || l.OpenID == "" {
			t.Fatalf("line %d = %s (%v)", n, sc.Text(), err)
		}
	}
	file.Close()
	if n != f.Rows() {
		t.Errorf("%d lines, %d rows shown", n, f.Rows())
	}
	d.Send(uitest.Key("e"), uitest.Key("ctrl+u"))
	d.Send(uitest.Type("out.jsonl")...)
	d.Send(uitest.Key("enter"))
	if !strings.Contains(d.Screen(), "exists already") {
		t.Errorf("a second export to the same file should refuse:\n%s", d.Screen())
	}
}

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

func TestFollowersExportJSONLinesKeepsRemarksReadable(t *testing.T) {
	ps := fakeProfiles(1)
	ps[0].Remark = "<VIP> & co"
	x := IndexProfiles(ps)
	var b strings.Builder
	if err := (viewExport{app: "news", idx: x, rows: []uint32{0}, loc: time.UTC}).jsonl(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"remark":"<VIP> & co"`) {
		t.Errorf("the remark should be written as it is, as wxscope export does: %s", b.String())
	}
}
