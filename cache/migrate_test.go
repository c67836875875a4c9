package cache

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The fixture of testdata/schema2 is a cache written by the schema 2 code
// (wxscope before issue 12's layout, commit 0a8e719) with the program in
// make_fixture_test.go.txt there: news with 1 200 followers, 100 of them
// unfollowed, and a third sync stopped by the daily quota (its listed
// profiles stamped with run 3); shop with 400 profiles sharing news's
// unionids; mall, an imported mini program with last_seen; news's tags and
// blacklist. schema2.db.json.gz is everything that cache held, dumped by
// the same program.

type schema2Dump struct {
	Apps      []App
	Profiles  map[string][]Profile
	Stamps    map[string]map[string]uint64
	Unions    []string
	Formers   []string
	Imports   map[string]ImportInfo
	LastSeen  map[string]map[string]int64
	Blacklist map[string][]string
	Tags      map[string]TagList
}

func gunzipTo(t *testing.T, from, to string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func schema2Fixture(t *testing.T) (string, schema2Dump) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "wxscope.db")
	gunzipTo(t, "testdata/schema2/schema2.db.gz", path)
	gunzipTo(t, "testdata/schema2/schema2.db.json.gz", path+".json")
	raw, err := os.ReadFile(path + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var d schema2Dump
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return path, d
}

// assertHoldsSchema2Dump checks that the store holds all that the schema 2
// cache held: app records, every profile field, both unionid indexes,
// imports and their last_seen, tags and blacklist; and that the run news
// had in progress knows which profiles it listed.
func assertHoldsSchema2Dump(t *testing.T, s *Store, d schema2Dump) {
	t.Helper()
	checkConsistency(t, s)
	apps, err := s.Apps()
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != len(d.Apps) {
		t.Fatalf("%d apps, the schema 2 cache had %d", len(apps), len(d.Apps))
	}
	for i, a := range apps {
		w := d.Apps[i]
		a.Sync.StartedAt, w.Sync.StartedAt = a.Sync.StartedAt.UTC(), w.Sync.StartedAt.UTC()
		if a.AppID != w.AppID || a.Name != w.Name || a.Counts != w.Counts || a.Sync.RunID != w.Sync.RunID ||
			a.Sync.InProgress != w.Sync.InProgress || a.Sync.Cursor != w.Sync.Cursor || a.Sync.Listed != w.Sync.Listed ||
			!a.Sync.LastCompleteAt.Equal(w.Sync.LastCompleteAt) || a.Sync.Unfollowed != w.Sync.Unfollowed {
			t.Errorf("app %s is %+v, was %+v", a.AppID, a, w)
		}
		got := map[string]Profile{}
		must(t, s.EachProfile(a.AppID, "", func(p Profile) error {
			got[p.OpenID] = p
			return nil
		}))
		if len(got) != len(d.Profiles[a.AppID]) {
			t.Errorf("app %s: %d profiles, was %d", a.AppID, len(got), len(d.Profiles[a.AppID]))
		}
		for _, want := range d.Profiles[a.AppID] {
			if p, ok := got[want.OpenID]; !ok || !reflect.DeepEqual(p, want) {
				t.Fatalf("app %s openid %s is %+v, was %+v", a.AppID, want.OpenID, p, want)
			}
		}
		seen := map[string]int64{}
		must(t, s.EachLastSeen(a.AppID, func(o string, ts int64) error { seen[o] = ts; return nil }))
		if len(seen) != len(d.LastSeen[a.AppID]) || (len(seen) > 0 && !reflect.DeepEqual(seen, d.LastSeen[a.AppID])) {
			t.Errorf("app %s: last_seen %d entries, was %d", a.AppID, len(seen), len(d.LastSeen[a.AppID]))
		}
		var bl []string
		must(t, s.EachBlacklisted(a.AppID, func(o string) error { bl = append(bl, o); return nil }))
		if !slices.Equal(bl, d.Blacklist[a.AppID]) {
			t.Errorf("app %s: blacklist %v, was %v", a.AppID, bl, d.Blacklist[a.AppID])
		}
		tl, err := s.Tags(a.AppID)
		if err != nil || !reflect.DeepEqual(tl.Tags, d.Tags[a.AppID].Tags) {
			t.Errorf("app %s: tags %+v (%v), were %+v", a.AppID, tl, err, d.Tags[a.AppID])
		}
	}
	var unions []string
	must(t, s.EachUnionKey(func(u, a, o string) error { unions = append(unions, u+"/"+a+"/"+o); return nil }))
	if !slices.Equal(unions, d.Unions) {
		t.Errorf("the unionid index holds %d keys, held %d", len(unions), len(d.Unions))
	}
	var formers []string
	must(t, s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFormerMembers).ForEachBucket(func(app []byte) error {
			_, f := memberIndexes(tx, app)
			it := f.seek(nil)
			for k, _, ok := it.next(); ok; k, _, ok = it.next() {
				u, o, _ := splitMemberKey(k)
				formers = append(formers, string(u)+"/"+string(app)+"/"+string(o))
			}
			return it.err()
		})
	}))
	slices.Sort(formers)
	if want := slices.Sorted(slices.Values(d.Formers)); !slices.Equal(formers, want) {
		t.Errorf("the former-members index holds %d keys, held %d", len(formers), len(want))
	}
	imps, err := s.Imports()
	if err != nil || !reflect.DeepEqual(normalImports(imps), normalImports(d.Imports)) {
		t.Errorf("imports %+v (%v), were %+v", imps, err, d.Imports)
	}
	// The run news had in progress: what it listed is seen, and nothing else.
	const news = "wx00000000000000a1"
	must(t, s.view(func(tx *bolt.Tx) error {
		seen := newSeenSet()
		if err := seen.load(tx.Bucket(bucketSeen).Bucket([]byte(news))); err != nil {
			return err
		}
		r, err := readRows(tx, news)
		if err != nil {
			return err
		}
		listed := 0
		return r.rows.ForEach(func(k, v []byte) error {
			n, _ := rowOf(k)
			var h recordHead
			if err := decodeHead(v, &h); err != nil {
				return err
			}
			want := d.Stamps[news][string(h.openID)] == 3
			if seen.has(n) != want {
				t.Fatalf("row %d (%s): seen %v, stamped by the run in progress %v", n, h.openID, seen.has(n), want)
			}
			if want {
				listed++
			}
			return nil
		})
	}))
}

func normalImports(m map[string]ImportInfo) map[string]ImportInfo {
	out := map[string]ImportInfo{}
	for k, v := range m {
		v.ReadAt = v.ReadAt.UTC()
		out[k] = v
	}
	return out
}

// A cache written by today's schema 2 opens migrated to schema 3 with
// nothing lost, and the sync it had stopped resumes where it stopped:
// fetching nothing it had, marking nobody.
func TestMigrationFromSchema2KeepsEverything(t *testing.T) {
	path, d := schema2Fixture(t)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertHoldsSchema2Dump(t, s, d)

	// The world of the fixture's news, as its program made it.
	src := newFakeSource(1200, 200)
	var gone []string
	for i := 5; i < 1200; i += 12 {
		gone = append(gone, src.followers[i])
	}
	src.remove(gone...)
	opts := testSyncOptions()
	opts.Now = func() time.Time { return fixedNow.Add(3 * time.Hour) }
	must(t, Sync(context.Background(), s, "wx00000000000000a1", src, opts))
	a, _, _ := s.App("wx00000000000000a1")
	if _, calls := src.calls(); calls != 0 || a.Sync.InProgress || a.Counts != d.Apps[0].Counts || a.Sync.RunID != 3 {
		t.Fatalf("the resumed run: %d profile calls, app %+v", calls, a)
	}
	checkConsistency(t, s)
}

// The migration moves a chunk a transaction; stopped after any of them
// (kill -9), the file still holds everything, in one layout or the other,
// and the next Open goes on from there.
func TestMigrationFromSchema2ResumesAfterAnyChunk(t *testing.T) {
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 150
	for _, stopAfter := range []int{1, 4, 9, 14} {
		path, d := schema2Fixture(t)
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range stopAfter {
			if _, err := migrateRowsChunk(db); err != nil {
				t.Fatal(err)
			}
		}
		// Midway: every profile is in exactly one of the layouts.
		total := 0
		must(t, db.View(func(tx *bolt.Tx) error {
			if old := tx.Bucket(bucketProfiles); old != nil {
				must(t, old.ForEachBucket(func(app []byte) error {
					total += old.Bucket(app).Stats().KeyN
					return nil
				}))
			}
			return tx.Bucket(bucketRows).ForEachBucket(func(app []byte) error {
				total += tx.Bucket(bucketRows).Bucket(app).Stats().KeyN
				return nil
			})
		}))
		if total != 1900 {
			t.Fatalf("after %d chunks the file holds %d profiles, want 1900", stopAfter, total)
		}
		must(t, db.Close())
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		assertHoldsSchema2Dump(t, s, d)
		s.Close()
	}
}

// A reader of a file the migration has not finished is told to sync.
func TestAReaderOfAHalfMigratedFileIsAskedToSync(t *testing.T) {
	path, _ := schema2Fixture(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrateRowsChunk(db); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(path, Options{Mode: SharedReadOnly})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("run wxscope sync once to upgrade")) {
		t.Fatalf("Open read-only: %v", err)
	}
}

// An older wxscope reads a file of schema 2 as its own. Once the migration
// has moved a chunk, the file must say it is no longer that: an older
// wxscope would otherwise read the apps still in the old layout as all
// there is (or call the moved apps' records damaged and salvage the
// file, keeping only the profiles not yet moved). It must refuse the file
// as a newer wxscope's, and this one must still finish the migration.
func TestAHalfMigratedFileIsNoSchema2FileToAnOlderWxscope(t *testing.T) {
	path, d := schema2Fixture(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrateRowsChunk(db); err != nil {
		t.Fatal(err)
	}
	must(t, db.View(func(tx *bolt.Tx) error {
		// What schema 2's checkSchema reads: above 2 is "a newer wxscope".
		if v := tx.Bucket(bucketMeta).Get(keySchema); len(v) != 4 || binary.BigEndian.Uint32(v) <= 2 {
			t.Errorf("after the first chunk the file says schema %x: an older wxscope takes it for its own", v)
		}
		return nil
	}))
	must(t, db.Close())
	if _, err := Open(path, Options{Mode: SharedReadOnly}); err == nil || !strings.Contains(err.Error(), "run wxscope sync once to upgrade") {
		t.Fatalf("Open read-only: %v", err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertHoldsSchema2Dump(t, s, d)
	must(t, s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyMigrating); v != nil {
			t.Errorf("the finished migration left its mark %q", v)
		}
		return nil
	}))
}

// The migration of a large cache holds the file for a while: a reader kept
// waiting meanwhile (wxscope lookup while the TUI upgrades the cache) says
// who holds it and why, not "probably a wxscope reading it".
func TestAReaderKeptWaitingByTheMigrationIsToldWhoHoldsTheCache(t *testing.T) {
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 5 // the fixture's 1 900 profiles take some 400 transactions
	path, _ := schema2Fixture(t)
	done := make(chan error, 1)
	go func() {
		s, err := Open(path, Options{Mode: Shared, Command: "wxscope sync"})
		if err == nil {
			err = s.Close()
		}
		done <- err
	}()
	for ReadHolder(path) == nil {
		select {
		case err := <-done:
			t.Fatalf("the migration ended (%v) without recording who held the cache", err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	_, err := Open(path, Options{Mode: SharedReadOnly, Timeout: 100 * time.Millisecond})
	var iu *InUseError
	if !errors.As(err, &iu) || iu.Holder == nil || !strings.Contains(err.Error(), "in use by wxscope sync, upgrading the cache to schema 3 (pid") {
		t.Errorf("a reader during the migration: %v", err)
	}
	must(t, <-done)
	if h := ReadHolder(path); h != nil {
		t.Errorf("the lock-info outlived the store: %+v", h)
	}
}
