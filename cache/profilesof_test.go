package cache

import (
	"fmt"
	"testing"
)

// ProfilesOf answers from the index in several transactions and from the
// tail a running sync left unindexed, the later row of an openid winning.
func TestProfilesOfAcrossChunksAndTheTail(t *testing.T) {
	s := openTestStore(t, Options{})
	var ps []Profile
	for i := range 2*profilesOfChunk + 100 {
		ps = append(ps, testProfile(fmt.Sprintf("oA%06d", i), fmt.Sprintf("u%d", i)))
	}
	must(t, s.PutProfiles("wxA", ps))
	// Rows appended as a sync appends them, not indexed: one new openid,
	// one fetched again with a new remark.
	fresh := testProfile("oTail1", "uTail1")
	again := ps[7]
	again.Remark = "fetched again"
	err := s.updateApp("wxA", func(a *appTx) error {
		for _, p := range []Profile{fresh, again} {
			if _, err := a.add(&p, false); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, err)
	ask := []string{"nobody", fresh.OpenID}
	for i := range ps {
		ask = append(ask, ps[i].OpenID)
	}
	got, err := s.ProfilesOf("wxA", ask)
	must(t, err)
	if len(got) != len(ps)+1 {
		t.Fatalf("%d profiles for %d cached openids", len(got), len(ps)+1)
	}
	if _, ok := got["nobody"]; ok {
		t.Error("an openid nobody cached has a profile")
	}
	if p := got[fresh.OpenID]; p.UnionID != "uTail1" {
		t.Errorf("the tail's openid: %+v", p)
	}
	if p := got[ps[2*profilesOfChunk+50].OpenID]; p.UnionID != fmt.Sprintf("u%d", 2*profilesOfChunk+50) {
		t.Errorf("an openid of the last chunk: %+v", p)
	}
}
