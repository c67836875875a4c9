package ui

import (
	"fmt"
	"testing"

	"wxscope/cache"
)

// bigGroups is 1 M persons over 3 apps, as the Links view holds them.
func bigGroups() *groupIndex {
	x := newGroupIndex()
	apps := []string{"wxnews", "wxshop", "wxevents"}
	var g cache.Group
	for i := range 1_000_000 {
		g.UnionID = fmt.Sprintf("oP1a%024d", i)
		g.Members, g.Missing = g.Members[:0], g.Missing[:0]
		for a, id := range apps {
			if (i>>a)&1 == 1 || a == i%3 {
				g.Members = append(g.Members, cache.Member{AppID: id, OpenID: "o"})
			} else {
				g.Missing = append(g.Missing, id)
			}
		}
		x.add(&g)
	}
	x.finish()
	return x
}

// BenchmarkLinksGroupsLoad1M is the in-memory side of loading the groups:
// the index a million persons become, and its size per person.
func BenchmarkLinksGroupsLoad1M(b *testing.B) {
	var x *groupIndex
	for b.Loop() {
		x = bigGroups()
	}
	bytes := x.ids.memBytes() + 8*cap(x.in)
	b.ReportMetric(float64(bytes)/float64(x.len()), "B/person")
}

// BenchmarkLinksFilter1M is what switching the filter chip costs.
func BenchmarkLinksFilter1M(b *testing.B) {
	x := bigGroups()
	for _, f := range []GroupFilter{{Kind: GroupsMissingIn, App: "wxshop"}, {Kind: GroupsInApps, N: 1}} {
		b.Run(fmt.Sprint(f.Kind), func(b *testing.B) {
			for b.Loop() {
				_ = x.rows(f)
			}
		})
	}
}
