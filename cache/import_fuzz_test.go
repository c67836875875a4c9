package cache

import (
	"slices"
	"testing"
	"time"
)

// FuzzDecodeImport: an import record from a damaged file is an error, never
// a panic, and whatever decodes survives encoding and decoding again
// (varints have overlong forms, so the bytes may differ).
func FuzzDecodeImport(f *testing.F) {
	f.Add(encodeImport(nil, &ImportInfo{Kind: "miniprogram", Source: "/srv/mall.csv", Format: "csv",
		ReadAt: time.Unix(1750000000, 5), Rows: 10, Members: 9, Rejected: 1, Joined: 3, Left: 2, Pending: true}))
	f.Add(encodeImport(nil, &ImportInfo{}))
	f.Fuzz(func(t *testing.T, v []byte) {
		var in ImportInfo
		if err := decodeImport(v, &in); err != nil {
			return
		}
		var again ImportInfo
		if err := decodeImport(encodeImport(nil, &in), &again); err != nil || again != in {
			t.Fatalf("%x decoded to %+v, which comes back as %+v (%v)", v, in, again, err)
		}
	})
}

// FuzzDecodeSeenBlock: a block of last_seen values from a damaged file is
// an error, never a panic; what decodes survives encoding and decoding.
func FuzzDecodeSeenBlock(f *testing.F) {
	var block []byte
	block = appendSeenEntry(block, "oMall_0000000000000000000001", 1700000000)
	block = appendSeenEntry(block, "oMall_0000000000000000000002", 1)
	f.Add(block)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		es, err := decodeSeenBlock(nil, v)
		if err != nil {
			return
		}
		var again []byte
		for _, e := range es {
			again = appendSeenEntry(again, e.openid, e.t)
		}
		back, err := decodeSeenBlock(nil, again)
		if err != nil || !slices.Equal(back, es) {
			t.Fatalf("%x decoded to %v, which comes back as %v (%v)", v, es, back, err)
		}
	})
}
