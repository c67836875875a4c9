package cli

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestLookupByUnionIDShowsTheAppThePersonLeft(t *testing.T) {
	s := newSyncedLinkSetup(t)
	newsID, shopID, union := personInBoth(t, s)
	shop := s.app(t, "shop")
	if err := s.world.Unfollow(shop.AppID, shopID); err != nil {
		t.Fatal(err)
	}
	s.mustSync(t, "--app", "shop")

	r := s.run(context.Background(), "lookup", union, "--json")
	out := decodeLookup(t, r)
	if r.code != 0 || out.Kind != "unionid" || len(out.Members) != 2 {
		t.Fatalf("exit %d %+v stderr %s", r.code, out, r.stderr)
	}
	news, left := out.Members[0], out.Members[1]
	if news.App != "news" || news.OpenID != newsID || news.Status != "following" {
		t.Errorf("news member %+v", news)
	}
	if left.App != "shop" || left.OpenID != shopID || left.Status != "unfollowed" || left.UnfollowedAt == 0 || left.Subscribe != 0 {
		t.Errorf("shop member %+v, want the unfollowed %s with its date", left, shopID)
	}
	if len(out.Missing) == 0 || out.Missing[0] != "shop" {
		t.Errorf("missing %v: the person left shop", out.Missing)
	}

	r = s.run(context.Background(), "lookup", union)
	day := time.Unix(left.UnfollowedAt, 0).Format("2006-01-02")
	for _, want := range []string{shopID + "  unfollowed on " + day, "missing in shop"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, r.stdout)
		}
	}
}
