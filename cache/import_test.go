package cache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	bolt "go.etcd.io/bbolt"

	"wxscope/imports"
)

const mallID = "wx3333333333333333"

// importAt imports src into mall at the given time.
func importAt(t *testing.T, s *Store, src string, at time.Time) (imports.Stats, error) {
	t.Helper()
	return Import(context.Background(), s, mallID, strings.NewReader(src),
		ImportOptions{Kind: "miniprogram", Source: "mall-users.csv", Now: func() time.Time { return at }})
}

// oid and uid make ids of the shape imports accepts.
func oid(i int) string { return fmt.Sprintf("oMall_%022d", i) }
func uid(i int) string { return fmt.Sprintf("oUnion%022d", i) }

// members reads the app's profiles by openid.
func members(t *testing.T, s *Store, appid string) map[string]Profile {
	t.Helper()
	out := map[string]Profile{}
	if err := s.EachProfile(appid, "", func(p Profile) error { out[p.OpenID] = p; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportStoresMembersAsProfiles(t *testing.T) {
	s := openTestStore(t, Options{})
	at := time.Unix(1750000000, 0)
	src := "\ufeffopenid,unionid,first_seen,last_seen,nick\n" +
		oid(1) + "," + uid(1) + ",1700000000,2024-03-02T14:05:00+08:00,\"Li, Lei\"\n" +
		oid(2) + ",,1700000100,,Wang\n" + // recorded before the binding
		oid(3) + "," + uid(3) + ",,,\n" +
		oid(1) + ",,1690000000,1700000500,again\n" // a login log: the earliest first_seen, the latest last_seen, the unionid kept
	st, err := importAt(t, s, src, at)
	if err != nil || st.Rows != 4 || st.Rejected != 0 || st.Format != imports.CSV {
		t.Fatalf("stats %+v, %v", st, err)
	}
	checkConsistency(t, s)
	got := members(t, s, mallID)
	if len(got) != 3 {
		t.Fatalf("%d members: %v", len(got), got)
	}
	p1 := got[oid(1)]
	if !p1.Subscribed || p1.UnionID != uid(1) || p1.SubscribeTime != 1690000000 || p1.FetchedAt != at.Unix() || p1.UnfollowedAt != 0 || p1.Remark != "" {
		t.Errorf("member 1 = %+v", p1)
	}
	if seen, _ := s.LastSeen(mallID, oid(1)); seen != 1709359500 {
		t.Errorf("last_seen of member 1 = %d, want 1709359500 (2024-03-02 14:05 +08:00, the later of its rows)", seen)
	}
	if seen, _ := s.LastSeen(mallID, oid(3)); seen != 0 {
		t.Errorf("last_seen of member 3 = %d, want 0 (not given)", seen)
	}
	if got[oid(2)].UnionID != "" || got[oid(3)].SubscribeTime != 0 {
		t.Errorf("members 2 and 3: %+v %+v", got[oid(2)], got[oid(3)])
	}
	app, ok, err := s.App(mallID)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if app.Counts != (Counts{Profiles: 3, Subscribed: 3, WithUnionID: 2}) || !app.Sync.LastCompleteAt.Equal(at) || app.Sync.InProgress {
		t.Errorf("app = %+v", app)
	}
	in, ok, err := s.ImportInfo(mallID)
	want := ImportInfo{Kind: "miniprogram", Source: "mall-users.csv", Format: "csv", ReadAt: at, Rows: 4, Members: 3, Joined: 3}
	if err != nil || !ok || !in.ReadAt.Equal(at) || (in != ImportInfo{Kind: want.Kind, Source: want.Source, Format: want.Format, ReadAt: in.ReadAt, Rows: 4, Members: 3, Joined: 3}) {
		t.Errorf("import info = %+v, %t, %v; want %+v", in, ok, err, want)
	}
	// The unionid index links them like followers.
	if ms, _ := s.Members(uid(3)); len(ms) != 1 || ms[0] != (Member{AppID: mallID, OpenID: oid(3)}) {
		t.Errorf("members of unionid 3 = %v", ms)
	}
}

func TestRowsGoneFromTheImportAreMarkedLeft(t *testing.T) {
	s := openTestStore(t, Options{})
	first, second := time.Unix(1750000000, 0), time.Unix(1750086400, 0)
	if _, err := importAt(t, s, "openid,unionid\n"+oid(1)+","+uid(1)+"\n"+oid(2)+","+uid(2)+"\n"+oid(3)+",\n", first); err != nil {
		t.Fatal(err)
	}
	st, err := importAt(t, s, "openid,unionid\n"+oid(1)+","+uid(1)+"\n"+oid(4)+","+uid(4)+"\n", second)
	if err != nil || st.Rows != 2 {
		t.Fatal(st, err)
	}
	checkConsistency(t, s)
	got := members(t, s, mallID)
	if len(got) != 4 {
		t.Fatalf("%d profiles, want the 3 of the first import and the new one", len(got))
	}
	for _, gone := range []int{2, 3} {
		p := got[oid(gone)]
		if p.Subscribed || p.UnfollowedAt != second.Unix() || StatusOf(&p) == StatusFollowing {
			t.Errorf("member %d, gone from the second import: %+v", gone, p)
		}
	}
	if p := got[oid(2)]; p.UnionID != uid(2) {
		t.Errorf("member 2 lost its unionid: %+v", p)
	}
	if !got[oid(1)].Subscribed || !got[oid(4)].Subscribed {
		t.Errorf("members of the second import: %+v %+v", got[oid(1)], got[oid(4)])
	}
	in, _, _ := s.ImportInfo(mallID)
	if in.Members != 2 || in.Joined != 1 || in.Left != 2 {
		t.Errorf("import info = %+v", in)
	}
	// A person who left is no longer linked through the app, but a lookup by
	// unionid still finds where they were (the former-members index).
	if ms, _ := s.Members(uid(2)); len(ms) != 0 {
		t.Errorf("member 2 is still linked: %v", ms)
	}
}

func TestAMemberComingBackJoinsAgain(t *testing.T) {
	s := openTestStore(t, Options{})
	t1, t2, t3 := time.Unix(1750000000, 0), time.Unix(1750086400, 0), time.Unix(1750172800, 0)
	for _, step := range []struct {
		src string
		at  time.Time
	}{
		{"openid,unionid\n" + oid(1) + "," + uid(1) + "\n" + oid(2) + "," + uid(2) + "\n" + oid(3) + ",\n", t1},
		{"openid,unionid\n" + oid(1) + "," + uid(1) + "\n", t2},
		{"openid,unionid\n" + oid(1) + "," + uid(1) + "\n" + oid(2) + ",\n", t3},
	} {
		if _, err := importAt(t, s, step.src, step.at); err != nil {
			t.Fatal(err)
		}
		checkConsistency(t, s)
	}
	got := members(t, s, mallID)
	if p := got[oid(2)]; !p.Subscribed || p.UnfollowedAt != 0 || p.UnionID != uid(2) {
		t.Errorf("member 2, back in the third import (without its unionid in the row): %+v", p)
	}
	if p := got[oid(3)]; p.Subscribed || p.UnfollowedAt != t2.Unix() {
		t.Errorf("member 3, gone since the second import: %+v", p)
	}
	in, _, _ := s.ImportInfo(mallID)
	if in.Joined != 1 || in.Left != 0 || in.Members != 2 {
		t.Errorf("import info = %+v", in)
	}
}

func TestRejectedRowsAreCountedAndTheValidOnesImported(t *testing.T) {
	s := openTestStore(t, Options{})
	src := "openid,unionid\n" + oid(1) + "," + uid(1) + "\nnot-an-openid,\n" + oid(2) + ",bad unionid\n" + oid(3) + ",\n"
	st, err := importAt(t, s, src, time.Unix(1750000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 2 || st.Rejected != 2 || len(st.Rejections) != 2 || st.Rejections[0].Line != 3 || st.Rejections[1].Line != 4 {
		t.Errorf("stats = %+v", st)
	}
	if got := members(t, s, mallID); len(got) != 2 {
		t.Errorf("members = %v", got)
	}
	if in, _, _ := s.ImportInfo(mallID); in.Rejected != 2 || in.Rows != 2 {
		t.Errorf("import info = %+v", in)
	}
}

// snapshot is everything the cache file says about the app, for comparing
// before and after a failed import.
func snapshot(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	app, _, err := s.App(mallID)
	if err != nil {
		t.Fatal(err)
	}
	in, _, _ := s.ImportInfo(mallID)
	app.Sync.StartedAt = time.Time{} // the wall clock, not the import's time
	fmt.Fprintf(&b, "%+v\n%+v\n", app, in)
	err = s.EachProfile(mallID, "", func(p Profile) error {
		seen, err := s.LastSeen(mallID, p.OpenID)
		fmt.Fprintf(&b, "%+v %d\n", p, seen)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.EachUnionKey(func(u, a, o string) error { fmt.Fprintf(&b, "%s %s %s\n", u, a, o); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestASourceFailingMidwayLeavesThePreviousImport(t *testing.T) {
	s := openTestStore(t, Options{})
	var prev strings.Builder
	prev.WriteString("openid,unionid,last_seen\n")
	for i := range 1000 {
		fmt.Fprintf(&prev, "%s,%s,%d\n", oid(i), uid(i), 1700000000+i)
	}
	if _, err := importAt(t, s, prev.String(), time.Unix(1750000000, 0)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s)

	// A source that breaks off after many rows, new ones and old ones.
	var next strings.Builder
	next.WriteString("openid,unionid\n")
	for i := 500; i < 300000; i++ {
		fmt.Fprintf(&next, "%s,%s\n", oid(i), uid(i))
	}
	broken := io.MultiReader(strings.NewReader(next.String()), iotest.ErrReader(errors.New("exit status 1: ERROR 2013 (HY000): Lost connection to MySQL server during query")))
	_, err := Import(context.Background(), s, mallID, broken, ImportOptions{Kind: "miniprogram", Source: "import_command of mall"})
	if err == nil || !strings.Contains(err.Error(), "Lost connection") || !strings.Contains(err.Error(), "import_command of mall") || !strings.Contains(err.Error(), "previous import is kept") {
		t.Fatalf("err = %v", err)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("the failed import changed the cache")
	}
	checkConsistency(t, s)
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(s.Path()), ".wxscope-import-*")); len(matches) != 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

func TestACancelledImportLeavesThePreviousImport(t *testing.T) {
	s := openTestStore(t, Options{})
	if _, err := importAt(t, s, "openid,unionid\n"+oid(1)+","+uid(1)+"\n", time.Unix(1750000000, 0)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprintf(pw, "openid\n")
		for i := 2; i < 20000; i++ {
			fmt.Fprintf(pw, "%s\n", oid(i))
		}
		cancel()
		for i := 20000; i < 40000; i++ {
			fmt.Fprintf(pw, "%s\n", oid(i))
		}
		pw.Close()
	}()
	_, err := Import(ctx, s, mallID, pr, ImportOptions{Source: "slow"})
	pr.CloseWithError(io.ErrClosedPipe)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the cancellation", err)
	}
	if snapshot(t, s) != before {
		t.Error("the cancelled import changed the cache")
	}
}

// Cancelled before the source gave a row to look at (an empty source, a
// header alone), a first import writes nothing either: it used to record
// an import of no members.
func TestAnImportCancelledBeforeItsRowsWritesNothing(t *testing.T) {
	for _, src := range []string{"", "openid\n", "openid\n" + oid(2) + "\n"} {
		s := openTestStore(t, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Import(ctx, s, mallID, strings.NewReader(src), ImportOptions{Source: "cancelled"})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%q: err = %v, want the cancellation", src, err)
		}
		if _, ok, err := s.App(mallID); ok || err != nil {
			t.Errorf("%q: the cancelled import wrote the app's record (%v)", src, err)
		}
	}
}

func TestAnEmptySourceDoesNotEmptyTheApp(t *testing.T) {
	s := openTestStore(t, Options{})
	if _, err := importAt(t, s, "openid\n"+oid(1)+"\n", time.Unix(1750000000, 0)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s)
	_, err := importAt(t, s, "", time.Unix(1750086400, 0))
	if !errors.Is(err, ErrEmptySource) || !strings.Contains(err.Error(), "1 members of the previous import are kept") {
		t.Fatalf("err = %v", err)
	}
	if snapshot(t, s) != before {
		t.Error("the empty source changed the cache")
	}
	// A header alone says the app has no members any more.
	if _, err := importAt(t, s, "openid,unionid\n", time.Unix(1750086400, 0)); err != nil {
		t.Fatal(err)
	}
	if p := members(t, s, mallID)[oid(1)]; p.Subscribed {
		t.Errorf("member 1 still in after an import of no rows: %+v", p)
	}
}

// A large import spills sorted runs to disk and applies more index changes
// than one transaction takes; it must come out the same as a small one.
func TestALargeImportSpillsAndStaysConsistent(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 600 000 rows")
	}
	s := openTestStore(t, Options{})
	n := 600_000
	if raceEnabled {
		n = 300_000
	}
	gen := func(from, to int, shift int) io.Reader {
		pr, pw := io.Pipe()
		go func() {
			w := bufio.NewWriter(pw)
			w.WriteString("openid\tunionid\tfirst_seen\n")
			// Out of order, as a database prints them, with every 10th row
			// without a unionid.
			for i := to - 1; i >= from; i-- {
				u := uid(i + shift)
				if i%10 == 0 {
					u = "NULL"
				}
				fmt.Fprintf(w, "%s\t%s\t%d\n", oid(i), u, 1600000000+i)
			}
			w.Flush()
			pw.Close()
		}()
		return pr
	}
	if _, err := Import(context.Background(), s, mallID, gen(0, n, 0), ImportOptions{Source: "big"}); err != nil {
		t.Fatal(err)
	}
	checkConsistency(t, s)
	app, _, _ := s.App(mallID)
	if app.Counts.Subscribed != int64(n) || app.Counts.WithUnionID != int64(n-n/10) {
		t.Fatalf("counts = %+v", app.Counts)
	}
	// The next import drops the first third and changes every unionid.
	st, err := Import(context.Background(), s, mallID, gen(n/3, n+n/3, 7), ImportOptions{Source: "big"})
	if err != nil || st.Rows != n {
		t.Fatal(st, err)
	}
	checkConsistency(t, s)
	in, _, _ := s.ImportInfo(mallID)
	if in.Left != int64(n/3) || in.Joined != int64(n/3) || in.Pending {
		t.Errorf("import info = %+v", in)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(s.Path()), ".wxscope-import-*")); len(matches) != 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

// An import stopped after its swap, before the index caught up, is repaired
// by the next one.
func TestTheNextImportRepairsAnIndexLeftPending(t *testing.T) {
	s := openTestStore(t, Options{})
	if _, err := importAt(t, s, "openid,unionid\n"+oid(1)+","+uid(1)+"\n"+oid(2)+","+uid(2)+"\n", time.Unix(1750000000, 0)); err != nil {
		t.Fatal(err)
	}
	// What a process killed between the swap and the last index chunk
	// leaves: one entry missing, one stale, Pending set.
	err := s.update(func(tx *bolt.Tx) error {
		a, err := openAppTx(tx, mallID)
		if err != nil {
			return err
		}
		if err := a.unions.delete(memberKey(nil, uid(1), oid(1))); err != nil {
			return err
		}
		if err := a.unions.put(memberKey(nil, uid(9), oid(9)), nil); err != nil {
			return err
		}
		return setPending(tx, a, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Check() == nil {
		t.Fatal("the damage did not show")
	}
	if _, err := importAt(t, s, "openid,unionid\n"+oid(1)+","+uid(1)+"\n"+oid(3)+","+uid(3)+"\n", time.Unix(1750086400, 0)); err != nil {
		t.Fatal(err)
	}
	checkConsistency(t, s)
	if in, _, _ := s.ImportInfo(mallID); in.Pending {
		t.Error("still pending")
	}
}

func TestImportRecordRoundTrips(t *testing.T) {
	in := ImportInfo{Kind: "web", Source: "/srv/site.jsonl", Format: "jsonl", ReadAt: time.Unix(1750000000, 123),
		Rows: 10, Members: 9, Rejected: 1, Joined: 2, Left: 3, Pending: true}
	var out ImportInfo
	if err := decodeImport(encodeImport(nil, &in), &out); err != nil || !out.ReadAt.Equal(in.ReadAt) {
		t.Fatal(out, err)
	}
	out.ReadAt = in.ReadAt
	if out != in {
		t.Errorf("got %+v, want %+v", out, in)
	}
	for n := range len(encodeImport(nil, &in)) {
		if err := decodeImport(encodeImport(nil, &in)[:n], &out); err == nil {
			t.Errorf("a record cut at %d bytes decoded", n)
		}
	}
}

func TestImportIntoAReadOnlyStoreFailsBeforeReading(t *testing.T) {
	s := openTestStore(t, Options{})
	s.Close()
	ro, err := Open(s.Path(), Options{Mode: ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	r := iotest.ErrReader(errors.New("read"))
	if _, err := Import(context.Background(), ro, mallID, r, ImportOptions{}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("err = %v", err)
	}
}

// The two ways an import is written, in place and through a new member
// set, must come out the same.
func TestInPlaceAndRebuiltImportsAgree(t *testing.T) {
	steps := []string{
		"openid,unionid,first_seen,last_seen\n" + oid(1) + "," + uid(1) + ",1700000000,1700000001\n" + oid(2) + ",,1700000002,\n" + oid(3) + "," + uid(3) + ",,1700000003\n",
		"openid,unionid,first_seen,last_seen\n" + oid(1) + "," + uid(1) + ",1700000000,1700000009\n" + oid(4) + "," + uid(4) + ",,\n" + oid(2) + "," + uid(2) + ",,\n",
		"openid,unionid\n" + oid(3) + "," + uid(3) + "\n",
		"openid,unionid\n" + oid(3) + "," + uid(5) + "\n" + oid(1) + ",\n",
	}
	run := func(max int) []string {
		old := diffMax
		diffMax = max
		defer func() { diffMax = old }()
		s := openTestStore(t, Options{})
		var snaps []string
		for i, src := range steps {
			if _, err := importAt(t, s, src, time.Unix(int64(1750000000+86400*i), 0)); err != nil {
				t.Fatal(err)
			}
			checkConsistency(t, s)
			snaps = append(snaps, snapshot(t, s))
		}
		return snaps
	}
	inPlace, rebuilt := run(4096), run(0)
	for i := range steps {
		if inPlace[i] != rebuilt[i] {
			t.Errorf("after import %d:\nin place:\n%s\nrebuilt:\n%s", i+1, inPlace[i], rebuilt[i])
		}
	}
}

func TestSorterSortsInMemoryAndSpilled(t *testing.T) {
	for _, limit := range []int{1 << 20, 300} {
		s := newSorter(t.TempDir())
		s.limit = limit
		var want []string
		for i := range 2000 {
			k := fmt.Sprintf("k%08d", (i*7919)%2000)
			want = append(want, k)
			if err := s.add([]byte(k), []byte("v"+k)); err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(want)
		if limit < 1<<20 && len(s.runs) == 0 {
			t.Fatal("nothing spilled")
		}
		for pass := range 2 {
			it, err := s.iter()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for it.next() {
				if string(it.val) != "v"+string(it.key) {
					t.Fatalf("value %q of key %q", it.val, it.key)
				}
				got = append(got, string(it.key))
			}
			if it.err != nil || !slices.Equal(got, want) {
				t.Fatalf("limit %d pass %d: %d keys, err %v", limit, pass, len(got), it.err)
			}
		}
		s.close()
	}
}
