package cache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
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

var (
	smallCacheOnce  sync.Once
	smallCacheBytes []byte
)

// smallCache is a healthy cache of 2 apps × 150 profiles (a few dozen
// pages: branches, leaves, the indexes, the freelist), built once.
func smallCache(t testing.TB) []byte {
	smallCacheOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wxscope-fuzz-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "wxscope.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for a, appid := range []string{"wx0000000000000001", "wx0000000000000002"} {
			ps := make([]Profile, 150)
			for i := range ps {
				ps[i] = Profile{OpenID: fmt.Sprintf("oApp%d_%022d", a, i*7919%1000), UnionID: fmt.Sprintf("uU_%024d", i),
					Subscribed: i%7 != 0, Remark: strings.Repeat("备注", i%5), TagIDs: []int64{2}, FetchedAt: 1700000000}
				if i%7 == 0 {
					ps[i].UnfollowedAt = 1700000100
				}
			}
			if err := s.PutProfiles(appid, ps); err != nil {
				t.Fatal(err)
			}
			if err := s.SetAppName(appid, fmt.Sprintf("app%d", a)); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		if smallCacheBytes, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	})
	return bytes.Clone(smallCacheBytes)
}

// fastTempDir is a temporary folder in memory where there is one
// (/dev/shm): bbolt syncs every commit, which a disk makes the fuzzer
// wait for.
func fastTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "wxscope-fuzz-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// FuzzDamagedCache damages a healthy cache file (patch: pairs of a 2-byte
// offset and a byte to XOR there, the offsets scaled over the file; cut:
// how much to cut off its end) and reads it through every read path in
// two modes, then salvages it: an answer or an error saying the file is
// damaged, never a panic or a fault, and a salvaged cache that checks
// clean.
func FuzzDamagedCache(f *testing.F) {
	f.Add([]byte{}, uint16(0))
	f.Add([]byte{0x10, 0x00, 0xff}, uint16(0))                   // a meta page
	f.Add([]byte{0x20, 0x10, 0x80, 0x40, 0x17, 0x01}, uint16(0)) // pages further in
	f.Add([]byte{}, uint16(30000))                               // cut short
	f.Add([]byte{0x80, 0x08, 0xff, 0x80, 0x09, 0xff, 0x90, 0x0c, 0x7f}, uint16(100))
	f.Fuzz(func(t *testing.T, patch []byte, cut uint16) {
		b := smallCache(t)
		for i := 0; i+2 < len(patch); i += 3 {
			off := (int(patch[i])<<8 | int(patch[i+1])) * len(b) >> 16
			b[off] ^= patch[i+2]
		}
		b = b[:len(b)-min(int(cut)*len(b)>>16, len(b))]
		damageTrial(t, b)
	})
}

// damageTrial writes the damaged file b and reads it through every read
// path in two read-only modes, then salvages it: an answer or an error
// saying the file is damaged (or empty, or not a cache), never a panic or
// a fault, the file unchanged by the reads, and a salvaged cache that
// checks clean.
func damageTrial(t *testing.T, b []byte) {
	t.Helper()
	path := filepath.Join(fastTempDir(t), "wxscope.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{SharedReadOnly, ReadOnly} {
		s, err := Open(path, Options{Mode: mode, Timeout: time.Second})
		if err != nil {
			if !knownFailure(err) {
				t.Fatalf("Open: %v", err)
			}
			continue
		}
		for _, rp := range readPaths {
			if err := rp.read(s); err != nil && !knownFailure(err) {
				t.Fatalf("%s: %v", rp.name, err)
			}
		}
		s.Close()
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
		t.Fatal("a read-only store changed the file")
	}
	r, err := Salvage(path, time.Unix(1700000000, 0))
	if err != nil {
		if !errors.Is(err, ErrNoCache) && !strings.Contains(err.Error(), "nothing to salvage") {
			t.Fatalf("Salvage: %v", err)
		}
		return
	}
	s, err := Open(path, Options{Mode: SharedReadOnly})
	if err != nil {
		t.Fatalf("the salvaged cache: %v", err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("the salvaged cache (%+v): %v", r, err)
	}
}

// FuzzUnionKey: any index key splits without a panic, a key that splits
// joins back to itself, and a key joined from parts without NUL splits
// into them.
func FuzzUnionKey(f *testing.F) {
	f.Add([]byte("uU_0001\x00wx0000000000000001\x00oApp0_01"), "u", "wx", "o")
	f.Add([]byte("\x00\x00"), "", "", "")
	f.Add([]byte("no separators"), "u\x00", "a", "o\x00o")
	f.Fuzz(func(t *testing.T, key []byte, u, a, o string) {
		if su, sa, so, ok := splitUnionKey(key); ok {
			if got := unionKey(nil, string(su), string(sa), string(so)); !bytes.Equal(got, key) {
				t.Fatalf("%q split into %q %q %q, which join as %q", key, su, sa, so, got)
			}
		}
		if strings.IndexByte(u, 0) >= 0 || strings.IndexByte(a, 0) >= 0 {
			return // validID and put refuse such ids: they never reach a key
		}
		su, sa, so, ok := splitUnionKey(unionKey(nil, u, a, o))
		if !ok || string(su) != u || string(sa) != a || string(so) != o {
			t.Fatalf("unionKey(%q, %q, %q) splits into %q %q %q (%v)", u, a, o, su, sa, so, ok)
		}
	})
}

// FuzzLockInfo: whatever the lock-info file holds, ReadHolder returns nil
// or a live holder with a pid, and names it without a panic.
func FuzzLockInfo(f *testing.F) {
	f.Add([]byte(`{"pid":1,"command":"wxscope sync","since":"2026-12-01T08:46:00+08:00"}`))
	f.Add([]byte(`{"pid":-5}`))
	f.Add([]byte(`{"pid":99999999999,"since":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, record []byte) {
		path := filepath.Join(t.TempDir(), "wxscope.db")
		if err := os.WriteFile(LockInfoPath(path), record, 0o600); err != nil {
			t.Fatal(err)
		}
		if h := ReadHolder(path); h != nil {
			if h.PID <= 0 {
				t.Fatalf("holder %+v from %q", h, record)
			}
			_ = h.String()
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	p := testProfile("oNw3kAbCdEfGhIjKlMnOpQrStUv", "oP1aQ0123456789012345678901")
	f.Add(encodeRecord(nil, &p))
	f.Add(encodeRecord(nil, &Profile{OpenID: "o", SubscribeScene: "NEW", UnfollowedAt: 9}))
	f.Add([]byte{recordFormat, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		var h recordHead
		headErr := decodeHead(v, &h)
		var got Profile
		if err := decodeRecord(v, &got); err != nil {
			return
		}
		// A row that decodes has a head that agrees with it.
		if headErr != nil || string(h.openID) != got.OpenID || h.subscribed != got.Subscribed ||
			h.fetchedAt != got.FetchedAt || h.unfollowedAt != got.UnfollowedAt {
			t.Fatalf("head %+v (%v) of %+v", h, headErr, got)
		}
		// Whatever decodes must encode back to a row that decodes the same.
		var again Profile
		if err := decodeRecord(encodeRecord(nil, &got), &again); err != nil || !reflect.DeepEqual(got, again) {
			t.Fatalf("re-encoding %+v gave %+v (%v)", got, again, err)
		}
	})
}

func FuzzPackedBlock(f *testing.F) {
	p := &packed{owner: []byte("wx00000000000000a1")}
	var buf []byte
	block := func(entries ...packedEntry) []byte {
		buf = appendString(nil, string(p.owner))
		var prev []byte
		for _, e := range entries {
			buf = appendEntry(buf, prev, e.key, e.val)
			prev = e.key
		}
		return buf
	}
	f.Add([]byte("oNw3kB"), block(packedEntry{[]byte("oNw3kA"), []byte{0, 0, 0, 1}}, packedEntry{[]byte("oNw3kB"), []byte{0, 0, 0, 2}}))
	f.Add([]byte("u2\x00o2"), block(packedEntry{[]byte("u1\x00o1"), nil}, packedEntry{[]byte("u2\x00o2"), nil}))
	f.Add([]byte("x"), []byte{0})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		for _, name := range [][]byte{bucketIDs, bucketMembers} {
			if validBlock(name, k, v) != nil {
				continue
			}
			// A valid block re-encodes to the same entries.
			var entries []packedEntry
			it := blockIter{v: v}
			for it.next() {
				entries = append(entries, packedEntry{bytes.Clone(it.key), bytes.Clone(it.val)})
			}
			q := &packed{owner: it.owner}
			buf = appendString(nil, string(q.owner))
			var prev []byte
			for _, e := range entries {
				buf = appendEntry(buf, prev, e.key, e.val)
				prev = e.key
			}
			if validBlock(name, k, buf) != nil {
				t.Fatalf("re-encoding a valid block of %d entries gave an invalid one", len(entries))
			}
		}
	})
}
