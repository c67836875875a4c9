package cache

import (
	"reflect"
	"testing"
	"time"
)

func FuzzDecodeTagList(f *testing.F) {
	f.Add(encodeTagList(nil, &TagList{Tags: []Tag{{2, "星标组", 5}, {104, "\x1b[1m", -1}}, ReadAt: time.Unix(5, 0), Unavailable: "x"}))
	f.Add(encodeTagList(nil, &TagList{}))
	f.Add([]byte{tagListFormat})
	f.Fuzz(func(t *testing.T, v []byte) {
		var l TagList
		if decodeTagList(v, &l) != nil {
			return
		}
		var again TagList
		if err := decodeTagList(encodeTagList(nil, &l), &again); err != nil || !reflect.DeepEqual(l, again) {
			t.Fatalf("re-encoding %+v gave %+v (%v)", l, again, err)
		}
	})
}

func FuzzDecodeBlacklistState(f *testing.F) {
	f.Add(encodeBlacklistState(nil, &BlacklistState{Count: 3, ReadAt: time.Unix(5, 0), Unavailable: "y", current: 7}))
	f.Add(encodeBlacklistState(nil, &BlacklistState{}))
	f.Fuzz(func(t *testing.T, v []byte) {
		var st BlacklistState
		if decodeBlacklistState(v, &st) != nil {
			return
		}
		var again BlacklistState
		if err := decodeBlacklistState(encodeBlacklistState(nil, &st), &again); err != nil || !reflect.DeepEqual(st, again) {
			t.Fatalf("re-encoding %+v gave %+v (%v)", st, again, err)
		}
	})
}

func FuzzDecodeGrowthDay(f *testing.F) {
	f.Add(encodeGrowthDay(nil, &GrowthDay{New: 600, Cancel: -3, Cumulate: 20412, HasSummary: true, HasCumulate: true, FetchedAt: time.Unix(5, 0)}))
	f.Add(encodeGrowthDay(nil, &GrowthDay{}))
	f.Fuzz(func(t *testing.T, v []byte) {
		var d GrowthDay
		if decodeGrowthDay(v, &d) != nil {
			return
		}
		var again GrowthDay
		if err := decodeGrowthDay(encodeGrowthDay(nil, &d), &again); err != nil || !reflect.DeepEqual(d, again) {
			t.Fatalf("re-encoding %+v gave %+v (%v)", d, again, err)
		}
	})
}
