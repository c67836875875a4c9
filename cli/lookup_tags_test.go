package cli

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"wxscope/wechat/wechattest"
)

// lookup names a member's tags (a deleted tag by its number, an escape
// sequence in a name made harmless) and says who is blacklisted; a sync of
// an unverified account succeeds and says why its tag names are missing.
func TestLookupNamesTagsAndMarksTheBlacklisted(t *testing.T) {
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 4, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 3000, Blacklisted: 200},
		{Name: "events", Followers: 300, Unverified: true},
	}})
	s := newSimSetup(t, world, "")
	r := s.mustSync(t)
	if !strings.Contains(r.stderr, "events: the tag names cannot be read") || !strings.Contains(r.stderr, "48001") {
		t.Errorf("sync's stderr %q, want a note that events's tags are unavailable (48001)", r.stderr)
	}
	news := s.app(t, "news")
	black := world.Blacklist(news.AppID)
	var deleted, bold, listed string
	for _, id := range world.Followers(news.AppID) {
		u, _ := world.User(news.AppID, id)
		switch {
		case slices.Contains(u.TagIDList, wechattest.DeletedTagID) && deleted == "":
			deleted = id
		case slices.Contains(u.TagIDList, 104) && bold == "":
			bold = id
		case slices.Contains(black, id) && listed == "":
			listed = id
		}
	}
	if deleted == "" || bold == "" || listed == "" {
		t.Fatal("the world lacks a follower with the deleted tag, with tag 104, or blacklisted")
	}

	names := map[int64]string{}
	for _, tag := range world.Tags(news.AppID) {
		names[tag.ID] = tag.Name
	}
	for _, id := range []string{deleted, bold, listed} {
		r := s.run(context.Background(), "lookup", id, "--json")
		if r.code != 0 {
			t.Fatalf("lookup %s: exit %d, %s", id, r.code, r.stderr)
		}
		var out struct {
			Members []lookupMember `json:"members"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(out.Members, func(m lookupMember) bool { return m.OpenID == id })
		if i < 0 {
			t.Fatalf("lookup %s: no member with the openid in %s", id, r.stdout)
		}
		m := out.Members[i]
		u, _ := world.User(news.AppID, id)
		want := []string{}
		for _, tid := range u.TagIDList {
			if n, ok := names[tid]; ok {
				want = append(want, n)
			} else {
				want = append(want, "103")
			}
		}
		if !slices.Equal(m.Tags, want) || m.Blacklisted != slices.Contains(black, id) {
			t.Errorf("lookup %s: tags %q blacklisted %v, want %q and %v", id, m.Tags, m.Blacklisted, want, slices.Contains(black, id))
		}
	}

	text := s.run(context.Background(), "lookup", bold).stdout
	if strings.Contains(text, "\x1b") || !strings.Contains(text, "加粗") {
		t.Errorf("lookup text of a follower with an escape sequence in a tag name: %q", text)
	}
	if text := s.run(context.Background(), "lookup", deleted).stdout; !strings.Contains(text, "103") || !strings.Contains(text, "🎁活动") {
		t.Errorf("lookup text of a follower with the deleted tag: %q", text)
	}
	if text := s.run(context.Background(), "lookup", listed).stdout; !strings.Contains(text, "· blacklisted") {
		t.Errorf("lookup text of a blacklisted follower: %q", text)
	}
}
