package cache

import (
	"encoding/binary"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// formerKeys lists the former-members index as unionid/appid/openid.
func formerKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFormerUnionIDs).ForEach(func(k, _ []byte) error {
			u, a, o, ok := splitUnionKey(k)
			if !ok {
				t.Errorf("malformed key %q", k)
			}
			out = append(out, string(u)+"/"+string(a)+"/"+string(o))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFormerIndexFollowsUnfollowUnionIDChangeAndRefollow(t *testing.T) {
	s := openTestStore(t, Options{})
	p := testProfile("oA1", "u1")
	step := func(what string, p Profile, members, formers []string) {
		t.Helper()
		must(t, s.PutProfiles("wxA", []Profile{p}))
		checkConsistency(t, s)
		assertMembers(t, s, "u1", members...)
		if got := formerKeys(t, s); !slices.Equal(got, formers) {
			t.Fatalf("%s: former index %v, want %v", what, got, formers)
		}
	}
	step("following", p, []string{"wxA/oA1"}, nil)

	p.Subscribed, p.UnfollowedAt = false, 1746057600
	step("unfollowed", p, nil, []string{"u1/wxA/oA1"})

	p.FetchedAt++ // a rewrite of the same former member keeps its one entry
	step("rewritten", p, nil, []string{"u1/wxA/oA1"})

	p.UnionID = "u2"
	step("unionid changed while away", p, nil, []string{"u2/wxA/oA1"})

	p.UnionID = ""
	step("unionid gone", p, nil, nil)

	p.UnionID = "u1"
	step("unionid back", p, nil, []string{"u1/wxA/oA1"})

	p.Subscribed, p.UnfollowedAt = true, 0
	step("followed again", p, []string{"wxA/oA1"}, nil)
}

// unfollowInShop is the link world with one person of news and shop who
// then leaves shop, synced at leftAt. It returns the person's unionid and
// shop openid.
func unfollowInShop(t *testing.T, lw *linkWorld, leftAt time.Time) (union, shopID string) {
	t.Helper()
	groups, _ := lw.truth()
	var us []string
	for u, g := range groups {
		if g["wxnews0000000001"] != nil && g["wxshop0000000002"] != nil {
			us = append(us, u)
		}
	}
	slices.Sort(us)
	union = us[0]
	shopID = groups[union]["wxshop0000000002"][0]
	must(t, lw.w.Unfollow("wxshop0000000002", shopID))
	lw.sync(t, "wxshop0000000002", leftAt)
	return union, shopID
}

func TestLookupByUnionIDShowsTheAppThePersonLeftWithTheDate(t *testing.T) {
	lw := newLinkWorld(t)
	leftAt := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	union, shopID := unfollowInShop(t, lw, leftAt)
	checkConsistency(t, lw.store)

	p, err := lw.store.Person(union, lw.refs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindUnionID || p.UnionID != union {
		t.Fatalf("kind %s unionid %s", p.Kind, p.UnionID)
	}
	news, shop := p.Apps[0], p.Apps[1]
	if len(news.Profiles) != 1 || StatusOf(&news.Profiles[0]) != StatusFollowing || news.Reason != ReasonNone {
		t.Errorf("news: %+v", news)
	}
	if len(shop.Profiles) != 1 || shop.Profiles[0].OpenID != shopID || StatusOf(&shop.Profiles[0]) != StatusUnfollowed {
		t.Fatalf("shop: %+v, want the unfollowed %s", shop.Profiles, shopID)
	}
	if shop.Profiles[0].UnfollowedAt != leftAt.Unix() || shop.Reason != ReasonUnfollowed {
		t.Errorf("shop: unfollowed_at %d reason %s", shop.Profiles[0].UnfollowedAt, shop.Reason)
	}
	if !slices.Contains(p.Missing, "wxshop0000000002") {
		t.Errorf("missing %v: the person no longer follows shop", p.Missing)
	}
	// By the news openid, the same person and the same history.
	q, err := lw.store.Person(news.Profiles[0].OpenID, lw.refs)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Apps[1].Profiles; len(got) != 1 || got[0].OpenID != shopID || q.Apps[1].Reason != ReasonUnfollowed {
		t.Errorf("by news openid, shop: %+v", q.Apps[1])
	}

	// Groups, overlaps and counts still see current followers only.
	assertMembers(t, lw.store, union, "wxnews0000000001/"+news.Profiles[0].OpenID)
	err = EachGroup(lw.store, lw.refs, func(g *Group) error {
		if g.UnionID == union && (len(g.Members) != 1 || !slices.Contains(g.Missing, "wxshop0000000002")) {
			t.Errorf("group %s: members %v missing %v", union, g.Members, g.Missing)
		}
		return nil
	})
	must(t, err)
	groups, _ := lw.truth()
	l, err := Analyze(lw.store, AnalyzeOptions{Apps: lw.refs})
	if err != nil {
		t.Fatal(err)
	}
	if l.Persons != int64(len(groups)) {
		t.Errorf("analysis counts %d persons, the world's followers are %d", l.Persons, len(groups))
	}
}

func TestRefollowClearsTheFormerMember(t *testing.T) {
	lw := newLinkWorld(t)
	union, shopID := unfollowInShop(t, lw, linkNow)
	// The world brings back former followers among new ones now and then.
	for i := 0; !slices.Contains(lw.w.Followers("wxshop0000000002"), shopID); i++ {
		if i == 500 {
			t.Fatal("the world never brought the person back to shop")
		}
		lw.w.Follow("wxshop0000000002", 1)
	}
	lw.sync(t, "wxshop0000000002", linkNow.Add(time.Hour))
	checkConsistency(t, lw.store)

	if got := formerKeys(t, lw.store); slices.ContainsFunc(got, func(k string) bool { return strings.HasPrefix(k, union+"/") }) {
		t.Errorf("former index still holds the person: %v", got)
	}
	p, err := lw.store.Person(union, lw.refs)
	if err != nil {
		t.Fatal(err)
	}
	shop := p.Apps[1]
	if len(shop.Profiles) != 1 || StatusOf(&shop.Profiles[0]) != StatusFollowing || shop.Profiles[0].UnfollowedAt != 0 || shop.Reason != ReasonNone {
		t.Errorf("shop after the re-follow: %+v", shop)
	}
	if slices.Contains(p.Missing, "wxshop0000000002") {
		t.Errorf("missing %v after the re-follow", p.Missing)
	}
}

func TestAUnionIDWhoseOnlyMemberLeftIsStillFound(t *testing.T) {
	s := openTestStore(t, Options{})
	p := testProfile("oA1", "uGone")
	p.Subscribed, p.UnfollowedAt = false, 1746057600
	must(t, s.PutProfiles("wxA", []Profile{p, testProfile("oA2", "uStay")}))
	got, err := s.Person("uGone", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindUnionID || len(got.Profiles()) != 1 || got.Apps[0].Reason != ReasonUnfollowed {
		t.Fatalf("kind %s apps %+v", got.Kind, got.Apps)
	}
}

// writeV1File writes a cache file in the layout of schema 1, bucket by
// bucket as that version did: no former-members index. Counts are derived
// from the profiles, and following profiles with a unionid are indexed.
func writeV1File(t *testing.T, path string, apps map[string][]Profile) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte("meta"))
		appsB, _ := tx.CreateBucket([]byte("apps"))
		profiles, _ := tx.CreateBucket([]byte("profiles"))
		unions, err := tx.CreateBucket([]byte("unionids"))
		if err != nil {
			return err
		}
		must(t, meta.Put([]byte("kind"), []byte("wxscope cache")))
		must(t, meta.Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, 1)))
		for appid, ps := range apps {
			b, err := profiles.CreateBucket([]byte(appid))
			if err != nil {
				return err
			}
			var rec appRecord
			for i := range ps {
				p := &ps[i]
				rec.Counts.add(p, 1)
				must(t, b.Put([]byte(p.OpenID), encodeProfile(nil, p, 1)))
				if p.UnionID != "" && p.Subscribed && p.UnfollowedAt == 0 {
					must(t, unions.Put(unionKey(nil, p.UnionID, appid, p.OpenID), nil))
				}
			}
			must(t, appsB.Put([]byte(appid), encodeApp(nil, &rec)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrationFromSchema1BuildsTheFormerIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	left := func(p Profile) Profile { p.Subscribed, p.UnfollowedAt = false, 1746057600; return p }
	writeV1File(t, path, map[string][]Profile{
		"wxnews": {testProfile("oN1", "u1"), testProfile("oN2", "u2"), left(testProfile("oN3", ""))},
		"wxshop": {left(testProfile("oS1", "u1")), testProfile("oS2", "u2"), left(testProfile("oS3", "u3"))},
	})

	// A read-only command cannot migrate; it says what to do.
	if _, err := Open(path, Options{Mode: ReadOnly}); err == nil || !strings.Contains(err.Error(), "wxscope sync") {
		t.Fatalf("read-only open of a schema 1 file: %v", err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkConsistency(t, s)
	if got, want := formerKeys(t, s), []string{"u1/wxshop/oS1", "u3/wxshop/oS3"}; !slices.Equal(got, want) {
		t.Errorf("former index after the migration %v, want %v", got, want)
	}
	err = s.view(func(tx *bolt.Tx) error {
		if v, _ := schemaOf(tx, path); v != SchemaVersion {
			t.Errorf("schema %d after the migration, want %d", v, SchemaVersion)
		}
		return nil
	})
	must(t, err)
	p, err := s.Person("u1", nil)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []Status
	for _, pr := range p.Profiles() {
		statuses = append(statuses, StatusOf(&pr))
	}
	if !slices.Equal(statuses, []Status{StatusFollowing, StatusUnfollowed}) {
		t.Errorf("u1 after the migration: %v, want news following and shop unfollowed", statuses)
	}
}

func TestCheckFindsADamagedFormerIndex(t *testing.T) {
	s := openTestStore(t, Options{})
	gone := testProfile("oA1", "u1")
	gone.Subscribed, gone.UnfollowedAt = false, 1746057600
	must(t, s.PutProfiles("wxA", []Profile{gone, testProfile("oA2", "u2")}))
	checkConsistency(t, s)
	s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFormerUnionIDs)
		b.Delete(unionKey(nil, "u1", "wxA", "oA1"))
		// oA2 still follows: it belongs in the unionid index only.
		return b.Put(unionKey(nil, "u2", "wxA", "oA2"), nil)
	})
	err := s.Check()
	if err == nil {
		t.Fatal("Check passed a damaged former-members index")
	}
	for _, want := range []string{
		"oA1 (unionid u1, no longer following) is missing from the former-members index",
		"former-members index entry unionid u2 app wxA openid oA2 disagrees",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %v\nlacks %q", err, want)
		}
	}
}
