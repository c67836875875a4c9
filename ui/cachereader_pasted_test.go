package ui

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ids"
	"wxscope/ui/uitest"
)

// The jump prompt takes what support pastes: a ticket line finds the person
// as `wxscope lookup` would.
func TestJumpReadsTheIDOutOfAPastedTicketLine(t *testing.T) {
	const appid, openid, unionid = "wx1111111111111111", "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ"
	store, err := cache.Open(filepath.Join(t.TempDir(), "c.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.PutProfiles(appid, []cache.Profile{{AppID: appid, OpenID: openid, UnionID: unionid, Subscribed: true, FetchedAt: 1}}); err != nil {
		t.Fatal(err)
	}
	src := NewCacheReader(store, []cache.AppRef{{AppID: appid, Name: "news"}})
	d, err := src.Person(context.Background(), "用户反馈 openid: '"+openid+"' 无法关联")
	if err != nil {
		t.Fatal(err)
	}
	if d.UnionID != unionid || len(d.Apps) != 1 || len(d.Apps[0].Profiles) != 1 || d.Apps[0].Profiles[0].OpenID != openid {
		t.Errorf("ticket line found %+v", d)
	}
}

// TestJumpWithTwoPastedIDsSaysThereAreTwo: a ticket line with two ids is
// not "no cached follower has this id": the footer says there are two, as
// wxscope lookup does, and nothing is looked up; a ticket line with one
// shows that id in the note, not the whole line.
func TestJumpWithTwoPastedIDsSaysThereAreTwo(t *testing.T) {
	const appid, a, b = "wx1111111111111111", "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", "oNw3kT0c1kP4xQ9w2E5r7T1y3U6j"
	store, err := cache.Open(filepath.Join(t.TempDir(), "c.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.PutProfiles(appid, []cache.Profile{{OpenID: a, Subscribed: true, FetchedAt: 1}, {OpenID: b, Subscribed: true, FetchedAt: 1}}); err != nil {
		t.Fatal(err)
	}
	src := NewCacheReader(store, []cache.AppRef{{AppID: appid, Name: "news"}})
	d := newTestRoot(160, 8, src, func(c *Common) Page { return NewPerson(c, &cache.Person{Query: "x"}) })
	r := d.Model.(*Root)
	d.Send(uitest.Key(":"), tea.PasteMsg{Content: "工单: " + a + " 和 " + b + " 是同一个人吗"}, uitest.Key("enter"))
	footer := lastLine(d.Screen())
	if !strings.Contains(footer, "more than one id") || !strings.Contains(footer, a) || !strings.Contains(footer, b) ||
		strings.Contains(footer, "no cached follower") || r.Depth() != 1 {
		t.Errorf("two ids: footer %q, depth %d", footer, r.Depth())
	}
	if _, err := src.Person(context.Background(), a+" "+b); !errors.Is(err, ids.ErrSeveralIDs) {
		t.Errorf("CacheReader.Person of two ids: %v, want ErrSeveralIDs", err)
	}
	d.Send(uitest.Key(":"), tea.PasteMsg{Content: "用户反馈 openid: '" + a + "' 无法关联"})
	if cmd := d.SendOnly(uitest.Key("enter")); lastLine(d.Screen()) != "looking up "+a+"…" {
		t.Errorf("the note while one id of a ticket line is looked up: %q", lastLine(d.Screen()))
	} else {
		d.Run(cmd)
	}
	if r.Depth() != 2 {
		t.Fatalf("one id in a ticket line did not open the person:\n%s", d.Screen())
	}
}
