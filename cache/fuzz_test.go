package cache

import (
	"reflect"
	"testing"
	"time"
)

func FuzzDecodeProfile(f *testing.F) {
	p := testProfile("o1", "u1")
	f.Add(encodeProfile(nil, &p, 3))
	f.Add(encodeProfile(nil, &Profile{SubscribeScene: "NEW"}, 0))
	f.Add([]byte{profileFormat})
	f.Fuzz(func(t *testing.T, v []byte) {
		var got Profile
		run, err := decodeProfile(v, &got)
		if err != nil {
			return
		}
		// Whatever decodes must encode back to a value that decodes the same.
		var again Profile
		run2, err := decodeProfile(encodeProfile(nil, &got, run), &again)
		if err != nil || run2 != run || !reflect.DeepEqual(got, again) {
			t.Fatalf("re-encoding %+v gave %+v (%v)", got, again, err)
		}
	})
}

func FuzzDecodeApp(f *testing.F) {
	f.Add(encodeApp(nil, &appRecord{Name: "news", Sync: SyncState{RunID: 2, BadOpenIDs: []string{"x"}, StartedAt: time.Unix(5, 0)}}))
	f.Add(encodeApp(nil, &appRecord{}))
	f.Fuzz(func(t *testing.T, v []byte) {
		var a appRecord
		if decodeApp(v, &a) != nil {
			return
		}
		var again appRecord
		if err := decodeApp(encodeApp(nil, &a), &again); err != nil || !reflect.DeepEqual(a, again) {
			t.Fatalf("re-encoding %+v gave %+v (%v)", a, again, err)
		}
	})
}
