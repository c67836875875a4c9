package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTestStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "sub", "wxscope.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkConsistency fails the test unless bbolt's tx.Check passes and the
// unionid index and the counters agree with the profiles.
func checkConsistency(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func testProfile(openid, unionid string) Profile {
	return Profile{
		OpenID: openid, UnionID: unionid, Subscribed: true, SubscribeTime: 1681903376,
		SubscribeScene: "ADD_SCENE_QR_CODE", QRScene: 98765, QRSceneStr: "promo",
		Remark: "VIP \x1b]0;title\x07 客户 🎉", TagIDs: []int64{128, 2}, GroupID: 0, FetchedAt: 1700000000,
	}
}

func TestProfileRoundTripsByteExact(t *testing.T) {
	cases := []Profile{
		testProfile("o1", "u1"),
		{OpenID: "o2"},
		{OpenID: "o3", SubscribeScene: "ADD_SCENE_SOMETHING_NEW", QRScene: -5, GroupID: -1, TagIDs: []int64{-1 << 62}, UnfollowedAt: 12},
		{OpenID: "o4", Remark: string([]byte{0xff, 0xfe, 0, 'x'}), SubscribeScene: ""},
	}
	for _, want := range cases {
		v := encodeProfile(nil, &want, 42)
		var got Profile
		run, err := decodeProfile(v, &got)
		if err != nil {
			t.Fatalf("%s: %v", want.OpenID, err)
		}
		got.OpenID = want.OpenID
		if run != 42 || !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip: got %+v run %d, want %+v", got, run, want)
		}
	}
}

func TestDecodeRejectsTruncatedProfiles(t *testing.T) {
	p := testProfile("o1", "u1")
	v := encodeProfile(nil, &p, 7)
	for n := range len(v) {
		var got Profile
		if _, err := decodeProfile(v[:n], &got); err == nil {
			t.Fatalf("decoding %d of %d bytes succeeded", n, len(v))
		}
	}
	if _, err := decodeProfile(append(v, 0), new(Profile)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestAppRecordRoundTrips(t *testing.T) {
	want := appRecord{Name: "news", Counts: Counts{10, 7, 5, 3}, Sync: SyncState{
		InProgress: true, ListingComplete: true, RunID: 9, Cursor: "oX", StartedAt: time.Unix(100, 5),
		LastCompleteAt: time.Unix(50, 0), Pages: 3, Listed: 30000, Total: 31000, Fetched: 29000, Skipped: 1000,
		Unfollowed: 2, BadOpenIDs: []string{"bad1", "bad2"}, LastError: "quota", QuotaResetAt: time.Unix(86400, 0),
	}}
	var got appRecord
	if err := decodeApp(encodeApp(nil, &want), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestOpenCreatesPrivateFolderAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "wxscope.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	checkConsistency(t, s)
}

func TestOpenRejectsAFileThatIsNotBbolt(t *testing.T) {
	for name, content := range map[string][]byte{
		"text":    []byte("hello, this is not a database\n"),
		"garbage": []byte(strings.Repeat("\xde\xad\xbe\xef", 5000)),
		"onebyte": {1},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wxscope.db")
			os.WriteFile(path, content, 0o600)
			for _, mode := range []Mode{ReadWrite, ReadOnly, Shared} {
				_, err := Open(path, Options{Mode: mode, Timeout: 200 * time.Millisecond})
				if !errors.Is(err, ErrNotCache) || !strings.Contains(err.Error(), path) {
					t.Fatalf("mode %d: err = %v, want ErrNotCache naming the file", mode, err)
				}
			}
		})
	}
}

func TestOpenRejectsAnotherBboltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("theirs")); return err })
	db.Close()
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrNotCache) {
		t.Fatalf("err = %v, want ErrNotCache", err)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	s := openTestStore(t, Options{})
	path := s.Path()
	s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion+1))
	})
	s.Close()
	for _, mode := range []Mode{ReadWrite, ReadOnly, Shared} {
		if _, err := Open(path, Options{Mode: mode}); !errors.Is(err, ErrNewerSchema) {
			t.Fatalf("mode %d: err = %v, want ErrNewerSchema", mode, err)
		}
	}
}

func TestReadOnlyOpenOfAMissingCacheSaysToSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none", "wxscope.db")
	_, err := Open(path, Options{Mode: ReadOnly})
	if !errors.Is(err, ErrNoCache) || !strings.Contains(err.Error(), "sync") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a read-only open created the folder")
	}
}

func TestSecondWriterNamesTheHolder(t *testing.T) {
	s := openTestStore(t, Options{Command: "wxscope sync"})
	start := time.Now()
	_, err := Open(s.Path(), Options{Timeout: 300 * time.Millisecond})
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("waited %v", waited)
	}
	var iu *InUseError
	if !errors.As(err, &iu) || !errors.Is(err, ErrInUse) {
		t.Fatalf("err = %v, want an *InUseError", err)
	}
	want := fmt.Sprintf("the cache %s is in use by wxscope sync (pid %d, since %s); wait for it to finish or stop it",
		s.Path(), os.Getpid(), iu.Holder.Since.Local().Format("15:04"))
	if err.Error() != want {
		t.Fatalf("got  %q\nwant %q", err, want)
	}
	// A reader is told the same.
	if _, err := Open(s.Path(), Options{Mode: ReadOnly, Timeout: 200 * time.Millisecond}); !errors.As(err, &iu) || iu.Holder == nil {
		t.Fatalf("reader err = %v", err)
	}
	s.Close()
	if _, err := os.Stat(LockInfoPath(s.Path())); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the lock-info file outlived Close")
	}
}

func TestStaleLockInfoOfADeadProcessIsIgnored(t *testing.T) {
	s := openTestStore(t, Options{})
	os.WriteFile(LockInfoPath(s.Path()), []byte(`{"pid":999999999,"command":"ghost","since":"2020-01-01T00:00:00Z"}`), 0o600)
	_, err := Open(s.Path(), Options{Timeout: 100 * time.Millisecond})
	var iu *InUseError
	if !errors.As(err, &iu) || iu.Holder != nil || strings.Contains(err.Error(), "ghost") {
		t.Fatalf("err = %v", err)
	}
}

func TestSharedWriterLetsAnotherReaderIn(t *testing.T) {
	w := openTestStore(t, Options{Mode: Shared, Command: "wxscope sync"})
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := w.PutProfiles("wxA", []Profile{testProfile(fmt.Sprintf("o%d", i), "u")}); err != nil {
				done <- err
				return
			}
		}
	}()
	for range 10 {
		r, err := Open(w.Path(), Options{Mode: ReadOnly, Timeout: time.Second})
		if err != nil {
			t.Fatalf("a reader could not get in beside a shared writer: %v", err)
		}
		if _, err := r.Apps(); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkConsistency(t, w)
}

func TestIndexFollowsUnionIDChanges(t *testing.T) {
	s := openTestStore(t, Options{})
	must(t, s.PutProfiles("wxA", []Profile{testProfile("oA1", "u1"), testProfile("oA2", "u1"), testProfile("oA3", "")}))
	must(t, s.PutProfiles("wxB", []Profile{testProfile("oB1", "u1")}))
	checkConsistency(t, s)
	assertMembers(t, s, "u1", "wxA/oA1", "wxA/oA2", "wxB/oB1")

	// A changed unionid moves, a removed one leaves, an unfollow leaves.
	unfollowed := testProfile("oB1", "u1")
	unfollowed.Subscribed = false
	must(t, s.PutProfiles("wxA", []Profile{testProfile("oA1", "u2"), testProfile("oA2", "")}))
	must(t, s.PutProfiles("wxB", []Profile{unfollowed}))
	checkConsistency(t, s)
	assertMembers(t, s, "u1")
	assertMembers(t, s, "u2", "wxA/oA1")

	a, _, _ := s.App("wxA")
	if want := (Counts{Profiles: 3, Subscribed: 3, WithUnionID: 1}); a.Counts != want {
		t.Fatalf("wxA counts %+v, want %+v", a.Counts, want)
	}
	b, _, _ := s.App("wxB")
	if want := (Counts{Profiles: 1, Unfollowed: 1}); b.Counts != want {
		t.Fatalf("wxB counts %+v, want %+v", b.Counts, want)
	}
	// The unfollowed profile is still found by its openid, unionid and all.
	found, err := s.FindOpenID("oB1")
	if err != nil || len(found) != 1 || found[0].AppID != "wxB" || found[0].UnionID != "u1" {
		t.Fatalf("FindOpenID = %+v, %v", found, err)
	}
}

func TestLookupsFindProfilesAcrossApps(t *testing.T) {
	s := openTestStore(t, Options{})
	must(t, s.SetAppNames(map[string]string{"wxA": "news", "wxB": "shop"}))
	must(t, s.PutProfiles("wxA", []Profile{testProfile("oA1", "u1")}))
	must(t, s.PutProfiles("wxB", []Profile{testProfile("oB1", "u1")}))
	p, ok, err := s.Profile("wxA", "oA1")
	if err != nil || !ok || p.Remark != testProfile("", "").Remark || p.AppID != "wxA" {
		t.Fatalf("Profile = %+v %v %v", p, ok, err)
	}
	if _, ok, _ := s.Profile("wxB", "oA1"); ok {
		t.Fatal("found oA1 in wxB")
	}
	if found, _ := s.FindOpenID("oB1"); len(found) != 1 || found[0].AppID != "wxB" {
		t.Fatalf("FindOpenID = %+v", found)
	}
	if found, _ := s.FindOpenID("nobody"); len(found) != 0 {
		t.Fatalf("FindOpenID(nobody) = %+v", found)
	}
	ps, err := s.MemberProfiles("u1")
	if err != nil || len(ps) != 2 || ps[0].OpenID != "oA1" || ps[1].OpenID != "oB1" {
		t.Fatalf("MemberProfiles = %+v, %v", ps, err)
	}
	apps, _ := s.Apps()
	if len(apps) != 2 || apps[0].Name != "news" || apps[1].Name != "shop" || apps[1].Counts.WithUnionID != 1 {
		t.Fatalf("Apps = %+v", apps)
	}
}

func TestEachProfileWalksEveryChunkInOrder(t *testing.T) {
	s := openTestStore(t, Options{})
	n := profileChunk*2 + 17
	var ps []Profile
	for i := range n {
		ps = append(ps, testProfile(fmt.Sprintf("o%06d", i), ""))
	}
	must(t, s.PutProfiles("wxA", ps))
	i := 0
	err := s.EachProfile("wxA", "", func(p Profile) error {
		if want := fmt.Sprintf("o%06d", i); p.OpenID != want || p.AppID != "wxA" {
			return fmt.Errorf("row %d is %s, want %s", i, p.OpenID, want)
		}
		i++
		return nil
	})
	if err != nil || i != n {
		t.Fatalf("walked %d of %d: %v", i, n, err)
	}
	// Resuming after a key starts right after it.
	var first string
	stop := errors.New("stop")
	s.EachProfile("wxA", "o000099", func(p Profile) error { first = p.OpenID; return stop })
	if first != "o000100" {
		t.Fatalf("after o000099 came %s", first)
	}
}

func TestEachUnionKeyWalksTheIndexInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("writes more than a chunk of the index")
	}
	s := openTestStore(t, Options{})
	n := unionChunk + 100
	var ps []Profile
	for i := range n {
		ps = append(ps, testProfile(fmt.Sprintf("o%06d", i), fmt.Sprintf("u%06d", i/2)))
	}
	must(t, s.PutProfiles("wxA", ps))
	i := 0
	err := s.EachUnionKey(func(u, a, o string) error {
		if u != fmt.Sprintf("u%06d", i/2) || a != "wxA" || o != fmt.Sprintf("o%06d", i) {
			return fmt.Errorf("entry %d is %s/%s/%s", i, u, a, o)
		}
		i++
		return nil
	})
	if err != nil || i != n {
		t.Fatalf("walked %d of %d: %v", i, n, err)
	}
	groups := 0
	err = s.EachUnionGroup(func(u string, m []Member) error {
		if len(m) != 2 {
			return fmt.Errorf("group %s has %d members", u, len(m))
		}
		groups++
		return nil
	})
	if err != nil || groups != n/2 {
		t.Fatalf("%d groups: %v", groups, err)
	}
}

func TestCheckFindsADamagedIndex(t *testing.T) {
	s := openTestStore(t, Options{})
	must(t, s.PutProfiles("wxA", []Profile{testProfile("oA1", "u1"), testProfile("oA2", "u2")}))
	s.update(func(tx *bolt.Tx) error {
		b, _ := memberIndexes(tx, []byte("wxA"))
		b.tx = cloneKeeper{}
		b.delete(memberKey(nil, "u1", "oA1"))
		return b.put(memberKey(nil, "u9", "oA2"), nil)
	})
	err := s.Check()
	if err == nil || !strings.Contains(err.Error(), "oA1 (unionid u1) is missing") || !strings.Contains(err.Error(), "u9") {
		t.Fatalf("Check = %v", err)
	}
}

func TestCheckFindsWrongCounters(t *testing.T) {
	s := openTestStore(t, Options{})
	must(t, s.PutProfiles("wxA", []Profile{testProfile("oA1", "u1")}))
	s.updateApp("wxA", func(a *appTx) error { a.rec.Counts.Subscribed = 5; return nil })
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "counters") {
		t.Fatalf("Check = %v", err)
	}
}

func TestReadOnlyStoreRefusesWrites(t *testing.T) {
	s := openTestStore(t, Options{})
	must(t, s.PutProfiles("wxA", []Profile{testProfile("oA1", "u1")}))
	s.Close()
	r, err := Open(s.Path(), Options{Mode: ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.PutProfiles("wxA", nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("err = %v", err)
	}
	if _, ok, _ := r.Profile("wxA", "oA1"); !ok {
		t.Fatal("read-only store lost a profile")
	}
}

func assertMembers(t *testing.T, s *Store, unionid string, want ...string) {
	t.Helper()
	ms, err := s.Members(unionid)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.AppID+"/"+m.OpenID)
	}
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("members of %s = %v, want %v", unionid, got, want)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A few short writes in a row (a sync's start) do not each wait
// SharedWriteGap; a writer that held the file a while does, but only while
// someone waits for the file (wait.go): here another Store's announcement,
// which counts as another process's. The writes' own durations are taken
// out (heldSinceGap is reset before each), so the test pins the rule, not
// this machine's speed.
func TestSharedWritesInQuickSuccessionSkipTheGapUntilTheyHeldTheFile(t *testing.T) {
	s := openTestStore(t, Options{Mode: Shared})
	for i := range 3 {
		s.mu.Lock()
		s.heldSinceGap = 0 // a short write: well under sharedWriteBurst
		s.mu.Unlock()
		must(t, s.PutProfiles("wxA", []Profile{testProfile(fmt.Sprintf("o%d", i), "u")}))
	}
	if s.gapPauses != 0 {
		t.Fatalf("three short writes in a row paused for the gap %d times", s.gapPauses)
	}
	owe := func() {
		s.mu.Lock()
		s.heldSinceGap = sharedWriteBurst // as after a long write that just ended
		s.lastRelease = time.Now()
		s.mu.Unlock()
	}
	owe()
	start := time.Now()
	must(t, s.PutProfiles("wxA", []Profile{testProfile("o8", "u")}))
	// Its duration is not the test: on a loaded machine a write alone can
	// take as long as the gap.
	if d := time.Since(start); s.gapPauses != 0 || s.gapsSkipped < 1 {
		t.Fatalf("a write after the burst with nobody waiting paused %d times (skipped %d) and took %v", s.gapPauses, s.gapsSkipped, d)
	}

	var w waitNotice
	w.announce(s.Path())
	if w.f == nil {
		t.Fatal("no announcement")
	}
	defer w.withdraw()
	owe()
	start = time.Now()
	must(t, s.PutProfiles("wxA", []Profile{testProfile("o9", "u")}))
	// At least once: on a loaded machine the write may itself hold the
	// file past the burst and pause again before its next transaction.
	if d := time.Since(start); s.gapPauses < 1 || d < SharedWriteGap/2 {
		t.Fatalf("a write after the burst while someone waits paused %d times and took %v: it did not leave the gap", s.gapPauses, d)
	}
}

// A Shared store maps the file far ahead of its end (writeMmapSize) so
// that a growing file is not mapped again in the middle of a transaction;
// the file itself must still grow with what it holds, as a ReadWrite
// store's does: a cache of a few profiles is not a file of 16 MB.
func TestSharedStoreGrowsTheFileWithItsData(t *testing.T) {
	sizes := map[Mode][]int64{}
	for _, mode := range []Mode{ReadWrite, Shared} {
		s := openTestStore(t, Options{Mode: mode})
		for n := 1; n <= 4096; n *= 4 {
			ps := make([]Profile, n)
			for i := range ps {
				ps[i] = benchProfile(0, n+i)
			}
			must(t, s.PutProfiles("wx0", ps))
			fi, err := os.Stat(s.Path())
			must(t, err)
			sizes[mode] = append(sizes[mode], fi.Size())
		}
	}
	for i, shared := range sizes[Shared] {
		if rw := sizes[ReadWrite][i]; shared > 2*rw {
			t.Fatalf("after %d writes the Shared store's file is %d bytes, the ReadWrite store's %d (all: %v against %v)",
				i+1, shared, rw, sizes[Shared], sizes[ReadWrite])
		}
	}
	if first := sizes[Shared][0]; first > 256<<10 {
		t.Fatalf("a cache of one profile is a file of %d bytes", first)
	}
}

func TestHolderStartedOnAnotherDayShowsTheDate(t *testing.T) {
	since := time.Now().Add(-48 * time.Hour)
	h := &Holder{PID: 4242, Command: "wxscope sync", Since: since}
	want := "wxscope sync (pid 4242, since " + since.Local().Format("2006-01-02 15:04") + ")"
	if got := h.String(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// fastCheck is what Check's walk proves of s without bbolt.
func fastCheck(t *testing.T, s *Store) (problems []error, agree bool) {
	t.Helper()
	sums := newCheckSums()
	err := s.view(func(tx *bolt.Tx) error { return s.verifyPages(sums) })
	if err != nil {
		t.Fatal(err)
	}
	return sums.compare()
}

func TestCheckProvesASoundFileInOneWalk(t *testing.T) {
	s := openTestStore(t, Options{})
	var ps []Profile
	for i := range 3000 {
		p := testProfile(fmt.Sprintf("oA%05d", i), fmt.Sprintf("u%d", i%700))
		if i%3 == 0 {
			p.UnionID = ""
		}
		if i%5 == 0 {
			p.Subscribed = false
		}
		ps = append(ps, p)
	}
	must(t, s.PutProfiles("wxA", ps[:2000]))
	must(t, s.PutProfiles("wxB", ps[1000:]))
	ps[7].Remark = "changed"
	ps[7].Subscribed = true
	must(t, s.PutProfiles("wxA", ps[:10]))
	// The blacklists are buckets within a bucket: the walk must reach
	// their pages too, or they count as neither reached nor free.
	var black []string
	for i := range 5000 {
		black = append(black, fmt.Sprintf("oB%05d", i))
	}
	_, err := s.ReplaceBlacklist("wxA", pagesOf(black, 1000, nil), time.Now())
	must(t, err)
	must(t, s.SetTags("wxA", []Tag{{ID: 2, Name: "VIP", Count: 1}}, time.Now()))
	if problems, agree := fastCheck(t, s); !agree || len(problems) > 0 {
		t.Fatalf("the walk of a sound file: agree %t, %v", agree, problems)
	}
	checkConsistency(t, s)

	// Pages the walk does not account for, once each, leave the proof
	// to bbolt's check.
	f, err := os.Open(s.Path())
	must(t, err)
	defer f.Close()
	fi, err := f.Stat()
	must(t, err)
	pf, err := openPages(f, fi.Size())
	must(t, err)
	w := newWalker(pf, false)
	must(t, walkAll(w, w.root()))
	if !pagesAccounted(pf, w) {
		t.Fatal("the pages of a sound file are not accounted for")
	}
	w.seen[pf.meta.root/64] &^= 1 << (pf.meta.root % 64) // unreachable, unfreed
	if pagesAccounted(pf, w) {
		t.Fatal("a page neither reached nor free is accounted for")
	}
	w.seen[pf.meta.root/64] |= 1 << (pf.meta.root % 64)
	free, err := func() ([]uint64, error) {
		p, err := pf.page(pf.meta.freelist, pageFlagFree, nil)
		must(t, err)
		return freelistIDs(p, pf.meta.hwm)
	}()
	must(t, err)
	if len(free) == 0 {
		t.Fatal("no free page to test with")
	}
	w.seen[free[0]/64] |= 1 << (free[0] % 64) // reachable and free
	if pagesAccounted(pf, w) {
		t.Fatal("a page both reached and free is accounted for")
	}

	// An index missing an entry: the walk cannot prove the file, and the
	// detailed check names the entry.
	s.update(func(tx *bolt.Tx) error {
		b, _ := memberIndexes(tx, []byte("wxA"))
		b.tx = cloneKeeper{}
		return b.delete(memberKey(nil, "u1", "oA00001"))
	})
	if _, agree := fastCheck(t, s); agree {
		t.Fatal("the walk agrees with a unionid index missing an entry")
	}
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "oA00001 (unionid u1) is missing") {
		t.Fatalf("Check = %v", err)
	}
}

// A catch-up is several transactions: a check between two of them (a
// doctor while a sync ends), or after a kill, finds its tail's entries in
// any state, and that is no damage.
func TestCheckPassesAHalfCaughtUpIndex(t *testing.T) {
	for _, stop := range []string{"ids", "members", "formermembers"} {
		t.Run(stop, func(t *testing.T) {
			s := openTestStore(t, Options{})
			var ps []Profile
			for i := range 400 {
				p := testProfile(fmt.Sprintf("oA%05d", i), fmt.Sprintf("u%d", i))
				p.Subscribed = i%4 != 0
				ps = append(ps, p)
			}
			must(t, s.PutProfiles("wxA", ps[:300]))
			ps[5].Remark, ps[8].UnionID = "fetched again", "u-new" // old rows of these two go
			killed := errors.New("killed")
			catchUpStep = func(_, phase string) error {
				if phase == stop {
					return killed
				}
				return nil
			}
			err := s.PutProfiles("wxA", append(ps[300:], ps[5], ps[8]))
			catchUpStep = func(string, string) error { return nil }
			if !errors.Is(err, killed) {
				t.Fatalf("PutProfiles = %v", err)
			}
			checkConsistency(t, s)
			must(t, s.catchUp("wxA"))
			checkConsistency(t, s)
			if _, agree := fastCheck(t, s); !agree {
				t.Fatal("once caught up the walk alone does not prove the file")
			}
			if p, ok, err := s.Profile("wxA", ps[8].OpenID); err != nil || !ok || p.UnionID != "u-new" {
				t.Fatalf("Profile = %+v, %t, %v", p, ok, err)
			}
		})
	}
}
