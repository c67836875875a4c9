package ui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"wxscope/cache"
	"wxscope/sanitize"
)

// IsBlacklisted reports whether row r was on the app's blacklist when the
// index was built.
func (x *FollowerIndex) IsBlacklisted(r int) bool {
	return r>>6 < len(x.black) && x.black[r>>6]&(1<<(r&63)) != 0
}

// Blacklisted is the number of rows on the app's blacklist.
func (x *FollowerIndex) Blacklisted() int { return x.blackN }

// TagFilter keeps the followers carrying some (Any) or every (All) one of
// the chosen tags; Blacklisted counts as one more tag, carried by the
// followers on the blacklist. The zero value keeps everyone.
type TagFilter struct {
	IDs         []int64
	Blacklisted bool
	All         bool
}

// Active reports whether the filter keeps only some followers.
func (t TagFilter) Active() bool { return len(t.IDs) > 0 || t.Blacklisted }

// Label says the filter in a few words, names from tags: `any of 星标组,
// VIP` (sanitised), "" when inactive.
func (t TagFilter) Label(tags *cache.TagList) string {
	if !t.Active() {
		return ""
	}
	names := make([]string, 0, len(t.IDs)+1)
	for _, id := range t.IDs {
		names = append(names, sanitize.Text(tags.Name(id)))
	}
	if t.Blacklisted {
		names = append(names, "blacklisted")
	}
	if len(names) == 1 {
		return names[0]
	}
	how := "any of "
	if t.All {
		how = "all of "
	}
	return how + strings.Join(names, ", ")
}

// keeps reports whether a follower with the tags ids (and on the blacklist
// or not) passes t.
func (t TagFilter) keeps(ids []int64, black bool) bool {
	if t.All {
		if t.Blacklisted && !black {
			return false
		}
		for _, id := range t.IDs {
			if !slices.Contains(ids, id) {
				return false
			}
		}
		return true
	}
	if t.Blacklisted && black {
		return true
	}
	for _, id := range t.IDs {
		if slices.Contains(ids, id) {
			return true
		}
	}
	return false
}

// TagBits returns the bitset of the rows t keeps and how many there are.
// The tag test runs once per distinct tag list, then each row costs a
// lookup: a million rows take a few milliseconds.
func (x *FollowerIndex) TagBits(t TagFilter) (set []uint64, n int) {
	set = make([]uint64, (x.Len()+63)/64)
	// Per tag list: kept with the blacklist bit clear, and set.
	keep := make([][2]bool, len(x.tagSets))
	for i, ids := range x.tagSets {
		keep[i] = [2]bool{t.keeps(ids, false), t.keeps(ids, true)}
	}
	for r := range x.Len() {
		ti := x.tagSet.at(r)
		b := 0
		if x.black[r>>6]&(1<<(r&63)) != 0 {
			b = 1
		}
		if keep[ti][b] {
			set[r>>6] |= 1 << (r & 63)
			n++
		}
	}
	return set, n
}

// TagCount is how many followers who still follow carry one tag.
type TagCount struct {
	ID int64
	N  int
}

// TagCounts counts the followers who still follow per tag id, every id
// any row carries (a deleted tag's too), most followers first.
func (x *FollowerIndex) TagCounts() []TagCount {
	perSet := make([]int, len(x.tagSets))
	for r := range x.Len() {
		if x.follows(r) {
			perSet[x.tagSet.at(r)]++
		}
	}
	per := map[int64]int{}
	for i, ids := range x.tagSets {
		for _, id := range ids {
			per[id] += perSet[i] // 0 too: a tag only former followers carry is listed
		}
	}
	out := make([]TagCount, 0, len(per))
	for id, n := range per {
		out = append(out, TagCount{ID: id, N: n})
	}
	slices.SortFunc(out, func(a, b TagCount) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.ID, b.ID)) })
	return out
}

// tagLabels are the tag lists of x as the tags column shows them: names
// from tags (a deleted tag's number), sanitised, in tagid_list order.
func (x *FollowerIndex) tagLabels(tags *cache.TagList) []string {
	out := make([]string, len(x.tagSets))
	for i, ids := range x.tagSets {
		names := make([]string, len(ids))
		for j, id := range ids {
			names[j] = sanitize.Text(tags.Name(id))
		}
		out[i] = strings.Join(names, ", ")
	}
	return out
}

// tagName is id's name as the picker lists it: a tag the last read did not
// list is said to be deleted, when the tags were read at all.
func tagName(tags *cache.TagList, id int64) string {
	for _, t := range tags.Tags {
		if t.ID == id {
			return sanitize.Text(t.Name)
		}
	}
	if tags.ReadAt.IsZero() {
		return strconv.FormatInt(id, 10)
	}
	return strconv.FormatInt(id, 10) + " (deleted)"
}
