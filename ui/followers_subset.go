package ui

// FollowerSubset narrows the Followers view before any typed filter: the
// Links and Doctor views open an app's followers this way.
type FollowerSubset int

// The subsets of followers.
const (
	SubsetAll       FollowerSubset = iota // every follower
	SubsetNoUnionID                       // followers without a unionid
)

// label is what the Followers title says about the subset.
func (s FollowerSubset) label() string {
	if s == SubsetNoUnionID {
		return "without unionid"
	}
	return ""
}

// subsetBits returns the bitset of the rows in sub, or nil for every row.
func (x *FollowerIndex) subsetBits(sub FollowerSubset) (set []uint64, n int) {
	if sub != SubsetNoUnionID {
		return nil, x.Len()
	}
	set = make([]uint64, (x.Len()+63)/64)
	for r := range x.Len() {
		if !x.hasUnionID(r) {
			set[r>>6] |= 1 << (r & 63)
			n++
		}
	}
	return set, n
}
