package cli

import (
	"context"
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/wechat/wechattest"
)

// Syncs stopped in the middle (kill -9 of the real binary, Ctrl-C) and
// resumed, with listings that start over from the first page: every
// follower is in the cache exactly once, in the export and in the counters,
// after the stop, after the resume and after its catch-up, and nobody is
// lost.

// killSyncWhen starts `wxscope sync` and kills it with SIGKILL once when
// says so; it fails the test if the sync ended on its own first.
func (s *simSetup) killSyncWhen(t *testing.T, when func() bool) {
	t.Helper()
	cmd, _, stderr := s.command(t, context.Background(), "sync")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(time.Minute); !when(); time.Sleep(time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("the sync ended on its own (%v) before the moment to kill it: %s", err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the moment to kill the sync did not come within a minute")
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && !st.Signaled() {
		t.Fatalf("the sync ended on its own before the kill: %s", stderr)
	}
}

// syncState is the sync state of app in the cache file.
func (s *simSetup) syncState(t *testing.T, appid string) cache.App {
	t.Helper()
	store, err := cache.Open(s.cache, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Check(); err != nil {
		t.Fatalf("the cache is inconsistent: %v", err)
	}
	a, _, err := store.App(appid)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// checkOnce checks that the export gives each cached openid of app once
// and that doctor's counters count what the export gives, and returns how
// many followers the export holds.
func (s *simSetup) checkOnce(t *testing.T, app wechattest.AppInfo, when string) int64 {
	t.Helper()
	var rows, subscribed, withUnion int64
	seen := map[string]bool{}
	for _, r := range s.export(t, "--app", app.Name) {
		if seen[r.OpenID] {
			t.Errorf("%s: %s exported twice", when, r.OpenID)
		}
		seen[r.OpenID] = true
		rows++
		if r.Subscribe == 1 {
			subscribed++
			if r.UnionID != "" {
				withUnion++
			}
		}
	}
	r := s.run(context.Background(), "doctor", "--json")
	var d doctorJSON
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("%s: doctor --json: exit %d, %v: %s", when, r.code, err, r.stderr)
	}
	for _, a := range d.Apps {
		if a.AppID == app.AppID && (a.Cached != rows || a.Subscribed != subscribed || a.WithUnionID != withUnion) {
			t.Errorf("%s: doctor counts %d cached, %d subscribed, %d with a unionid; the export has %d, %d and %d",
				when, a.Cached, a.Subscribed, a.WithUnionID, rows, subscribed, withUnion)
		}
	}
	return subscribed
}

// A listing the API makes start over (a cursor it rejects with 40003, as
// when the follower it names left) lists the openids of the pages before
// again while their batches are still being fetched and written: killed
// then, the cache held two rows of many of them, and the counters of home,
// doctor and the links counted both until the next sync. After the resume,
// the world is in the cache once.
func TestAListingThatStartsOverMidSyncCountsEachFollowerOnceAfterAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it: not with -short")
	}
	s := newSimSetup(t, oneAppWorld(31, "news", 3000, 100, "P1"), "concurrency = 2", wechattest.WithPageSize(300))
	news := s.app(t, "news")
	s.srv.SetLatency(40 * time.Millisecond) // batches commit in several groups
	// The fifth page's cursor is refused: the listing starts over.
	s.srv.Inject(wechattest.Fault{Path: usergetPath, Errcode: 40003, After: 4, Times: 1})
	s.killSyncWhen(t, func() bool { return s.srv.Calls(batchgetPath) >= 30 })
	if a := s.syncState(t, news.AppID); !a.Sync.InProgress || a.Counts.Profiles == 0 {
		t.Fatalf("the kill left %+v: not in the middle of a run", a)
	}
	if got := s.srv.Calls(usergetPath); got < 6 {
		t.Fatalf("%d user/get calls before the kill: the listing did not start over", got)
	}
	s.checkOnce(t, news, "after the kill")

	s.srv.SetLatency(0)
	s.mustSync(t)
	if n := s.checkOnce(t, news, "after the resume"); n != 3000 {
		t.Errorf("%d followers after the resume, want 3000", n)
	}
	checkExport(t, s.export(t), s.world, nil)
}

// A sync killed in the middle of its listing resumes from the saved cursor;
// when that follower left meanwhile, the API refuses the cursor and the
// listing starts over from the first page, giving again every openid the
// killed run wrote. Nobody is twice and nobody is lost. (The one who left
// was listed by the run before the kill, so the run counts it as
// following, as it does a follower who leaves behind a listing that runs
// on: the next sync marks it.)
func TestASyncKilledMidListingResumesFromAStaleCursor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it: not with -short")
	}
	s := newSimSetup(t, oneAppWorld(32, "news", 3000, 100, "P1"), "concurrency = 4", wechattest.WithPageSize(200))
	news := s.app(t, "news")
	// 15 pages at 50 ms each: the first commit (200 ms on) saves a cursor
	// long before the tenth page is listed, the last one far after.
	s.srv.SetLatency(50 * time.Millisecond)
	s.killSyncWhen(t, func() bool { return s.srv.Calls(usergetPath) >= 10 })
	a := s.syncState(t, news.AppID)
	if !a.Sync.InProgress || a.Sync.ListingComplete || a.Sync.Cursor == "" {
		t.Fatalf("the kill left %+v: not in the middle of a listing with a saved cursor", a.Sync)
	}
	s.checkOnce(t, news, "after the kill")

	if err := s.world.Unfollow(news.AppID, a.Sync.Cursor); err != nil {
		t.Fatal(err)
	}
	pages := s.srv.Calls(usergetPath)
	s.srv.SetLatency(0)
	s.mustSync(t)
	if got := s.srv.Calls(usergetPath) - pages; got < 16 {
		t.Errorf("the resumed sync made %d user/get calls: it did not start over (15 pages)", got)
	}
	if n := s.checkOnce(t, news, "after the resume"); n != 3000 {
		t.Errorf("%d followers after the resume, want 3000", n)
	}
	s.mustSync(t)
	if n := s.checkOnce(t, news, "after the next sync"); n != 2999 {
		t.Errorf("%d followers after the next sync, want 2999", n)
	}
	checkExport(t, s.export(t), s.world, map[string][]string{news.AppID: {a.Sync.Cursor}})
}

// A sync killed while its one page's batches are fetched, and another
// stopped there by Ctrl-C, resume with the page listed again: the openids
// the stopped run wrote are found, not appended again.
func TestASyncStoppedMidBatchgetResumesWithEachFollowerOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it: not with -short")
	}
	for _, stop := range []string{"kill -9", "Ctrl-C"} {
		t.Run(stop, func(t *testing.T) {
			s := newSimSetup(t, oneAppWorld(33, "news", 6000, 100, "P1"), "concurrency = 2", wechattest.WithPageSize(10000))
			news := s.app(t, "news")
			s.srv.SetLatency(20 * time.Millisecond)
			// 60 batches of one page, 2 at a time: past the first commit.
			moment := func() bool { return s.srv.Calls(batchgetPath) >= 40 }
			if stop == "kill -9" {
				s.killSyncWhen(t, moment)
			} else {
				ctx, cancel := context.WithCancel(context.Background())
				go func() {
					for !moment() {
						time.Sleep(time.Millisecond)
					}
					cancel()
				}()
				if r := s.run(ctx, "sync"); r.code == 0 {
					t.Fatalf("the interrupted sync exited 0: %s", r.stdout)
				}
				cancel()
			}
			a := s.syncState(t, news.AppID)
			if !a.Sync.InProgress || a.Sync.ListingComplete || a.Counts.Profiles == 0 || a.Counts.Profiles >= 6000 {
				t.Fatalf("the stop left %+v, %+v: not in the middle of the page's batches", a.Counts, a.Sync)
			}
			s.checkOnce(t, news, "after the stop")
			fetched := s.srv.Calls(batchgetPath)
			s.srv.SetLatency(0)
			s.mustSync(t)
			if got, want := s.srv.Calls(batchgetPath)-fetched, (6000-a.Counts.Profiles)/100+2; int64(got) > want {
				t.Errorf("the resumed sync made %d batchget calls for %d profiles not written: it fetched again what the stopped one wrote", got, 6000-a.Counts.Profiles)
			}
			if n := s.checkOnce(t, news, "after the resume"); n != 6000 {
				t.Errorf("%d followers after the resume, want 6000", n)
			}
			checkExport(t, s.export(t), s.world, nil)
		})
	}
}
