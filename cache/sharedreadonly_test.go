package cache

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sharedReadOnlyFixture writes a small cache (two apps, a shared unionid,
// names) and closes it, as a finished sync leaves it.
func sharedReadOnlyFixture(t *testing.T) string {
	t.Helper()
	s := openTestStore(t, Options{})
	must(t, s.SetAppNames(map[string]string{"wxA": "news", "wxB": "shop"}))
	must(t, s.PutProfiles("wxA", []Profile{testProfile("oA1", "u1"), testProfile("oA2", "")}))
	must(t, s.PutProfiles("wxB", []Profile{testProfile("oB1", "u1")}))
	must(t, s.Close())
	return s.Path()
}

func openSharedReadOnly(t *testing.T, path string) *Store {
	t.Helper()
	r, err := Open(path, Options{Mode: SharedReadOnly, Command: "wxscope --readonly"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// A sync started while a read-only TUI sits open gets in at once: the
// reader holds no lock between reads. It sees the sync's data on its next
// read, without reopening.
func TestWriterGetsInWhileASharedReadOnlyStoreIsOpenAndIdle(t *testing.T) {
	path := sharedReadOnlyFixture(t)
	r := openSharedReadOnly(t, path)
	if apps, err := r.Apps(); err != nil || len(apps) != 2 {
		t.Fatalf("apps = %v, %v", apps, err)
	}

	quick := Options{Mode: Shared, Command: "wxscope sync", Timeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}
	w, err := Open(path, quick)
	if err != nil {
		t.Fatalf("a sync could not open the cache beside an idle SharedReadOnly store: %v", err)
	}
	must(t, w.PutProfiles("wxA", []Profile{testProfile("oA3", "u3")}))
	must(t, w.Close())

	p, ok, err := r.Profile("wxA", "oA3")
	if err != nil || !ok || p.UnionID != "u3" {
		t.Fatalf("the read-only store's next read: %+v ok=%v err=%v, want the profile the writer added", p, ok, err)
	}
	if a, _, _ := r.App("wxA"); a.Counts.Profiles != 3 {
		t.Fatalf("wxA counts %+v after the write, want 3 profiles", a.Counts)
	}

	// The old mode, for contrast: it holds the shared lock until Close.
	held, err := Open(path, Options{Mode: ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := Open(path, quick); !errors.Is(err, ErrInUse) {
		t.Fatalf("a writer beside a ReadOnly store: err = %v, want ErrInUse", err)
	}
}

// An export paused on a slow pipe holds no lock: a writer gets in between
// chunks, and the rest of the stream sees what it wrote.
func TestWriterGetsInBetweenTheChunksOfASharedReadOnlyStream(t *testing.T) {
	s := openTestStore(t, Options{})
	ps := make([]Profile, profileChunk+10)
	for i := range ps {
		ps[i] = testProfile(fmt.Sprintf("o%05d", i), "")
	}
	must(t, s.PutProfiles("wxA", ps))
	must(t, s.Close())
	r := openSharedReadOnly(t, s.Path())

	quick := Options{Mode: Shared, Timeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}
	var rows int
	var last string
	err := r.EachProfile("wxA", "", func(p Profile) error {
		rows++
		last = p.OpenID
		if rows != 1 {
			return nil
		}
		// The consumer is slow here; a sync starts meanwhile.
		w, err := Open(s.Path(), quick)
		if err != nil {
			return fmt.Errorf("writer during the stream: %w", err)
		}
		defer w.Close()
		return w.PutProfiles("wxA", []Profile{testProfile("z-late", "")})
	})
	must(t, err)
	if rows != len(ps)+1 || last != "z-late" {
		t.Fatalf("streamed %d rows ending at %q, want %d ending at the row written mid-stream", rows, last, len(ps)+1)
	}
}

func TestSharedReadOnlyStoreRefusesEveryWrite(t *testing.T) {
	r := openSharedReadOnly(t, sharedReadOnlyFixture(t))
	writes := map[string]error{
		"PutProfiles": r.PutProfiles("wxA", []Profile{testProfile("oA9", "")}),
		"SetAppName":  r.SetAppName("wxA", "renamed"),
		"SetAppNames": r.SetAppNames(map[string]string{"wxC": "new"}),
		"Sync":        Sync(context.Background(), r, "wxA", newFakeSource(3, 10), SyncOptions{}),
	}
	for name, err := range writes {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s through a SharedReadOnly store: err = %v, want ErrReadOnly", name, err)
		}
	}
	if a, _, _ := r.App("wxA"); a.Name != "news" || a.Counts.Profiles != 2 {
		t.Fatalf("wxA after refused writes: %+v", a)
	}
	if _, ok, _ := r.App("wxC"); ok {
		t.Fatal("a refused SetAppNames created an app")
	}
}

// A read-only session, reads and refused writes alike, leaves the file as it
// found it, and records no holder beside it.
func TestSharedReadOnlySessionLeavesTheFileByteIdentical(t *testing.T) {
	path := sharedReadOnlyFixture(t)
	before, err := os.ReadFile(path)
	must(t, err)
	infoBefore, err := os.Stat(path)
	must(t, err)

	r := openSharedReadOnly(t, path)
	_, err = r.Apps()
	must(t, err)
	_, _, err = r.Profile("wxA", "oA1")
	must(t, err)
	_, err = r.FindOpenID("oB1")
	must(t, err)
	_, err = r.MemberProfiles("u1")
	must(t, err)
	_, err = r.Person("u1", []AppRef{{AppID: "wxA", Name: "news"}, {AppID: "wxB", Name: "shop"}})
	must(t, err)
	must(t, r.EachAppProfile(func(Profile) error { return nil }))
	must(t, r.EachUnionGroup(func(string, []Member) error { return nil }))
	_, err = Analyze(r, AnalyzeOptions{})
	must(t, err)
	must(t, r.Check())
	_ = r.SetAppNames(map[string]string{"wxA": "renamed"})
	must(t, r.Close())

	after, err := os.ReadFile(path)
	must(t, err)
	infoAfter, err := os.Stat(path)
	must(t, err)
	if !bytes.Equal(before, after) || !infoAfter.ModTime().Equal(infoBefore.ModTime()) {
		t.Fatalf("the file changed during a read-only session (%d → %d bytes)", len(before), len(after))
	}
	if _, err := os.Stat(LockInfoPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a read-only session left a lock-info file: %v", err)
	}
}

func TestSharedReadOnlyOpenOfAMissingCacheCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "wxscope.db"), filepath.Join(dir, "none", "wxscope.db")} {
		_, err := Open(path, Options{Mode: SharedReadOnly})
		if !errors.Is(err, ErrNoCache) || !strings.Contains(err.Error(), "wxscope sync") {
			t.Fatalf("open %s: err = %v, want ErrNoCache saying to sync", path, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a read-only open created %v", ents)
	}
	// An empty file (touched by hand) is no cache either, and stays empty.
	empty := filepath.Join(dir, "empty.db")
	must(t, os.WriteFile(empty, nil, 0o600))
	if _, err := Open(empty, Options{Mode: SharedReadOnly}); !errors.Is(err, ErrNoCache) {
		t.Fatalf("open of an empty file: err = %v, want ErrNoCache", err)
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Fatalf("the empty file after a read-only open: %v, %v", fi, err)
	}
}

// The file going away under an open store (moved aside by hand) is reported
// on the next read and never recreated.
func TestSharedReadOnlyStoreDoesNotRecreateAFileRemovedUnderIt(t *testing.T) {
	path := sharedReadOnlyFixture(t)
	r := openSharedReadOnly(t, path)
	must(t, os.Rename(path, path+".old"))
	if _, err := r.Apps(); !errors.Is(err, ErrNoCache) {
		t.Fatalf("read after the file went away: err = %v, want ErrNoCache", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a read-only read recreated the file")
	}
}

// An older schema is not migrated by a reader: it asks for a sync, and the
// file stays at its schema.
func TestSharedReadOnlyOpenOfAnOlderSchemaAsksForASync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	writeV1File(t, path, map[string][]Profile{"wxA": {testProfile("oA1", "u1")}})
	before, err := os.ReadFile(path)
	must(t, err)
	_, err = Open(path, Options{Mode: SharedReadOnly})
	if err == nil || !strings.Contains(err.Error(), "run wxscope sync once to upgrade") {
		t.Fatalf("open of a schema 1 file: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a read-only open changed a schema 1 file")
	}
}

func TestSharedReadOnlyOpenRefusesANewerSchema(t *testing.T) {
	s := openTestStore(t, Options{})
	must(t, s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion+1))
	}))
	must(t, s.Close())
	if _, err := Open(s.Path(), Options{Mode: SharedReadOnly}); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v, want ErrNewerSchema", err)
	}
}
