package cli

import (
	"context"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/wechat/wechattest"
)

// A real `wxscope sync` process killed with SIGKILL at random moments, over
// and over, leaves a cache that bbolt and wxscope both find consistent, never
// loses what it wrote, and the sync that finally runs to its end leaves
// exactly the simulator's world in the cache. 24 kills; WXSCOPE_LONG=1
// kills 96 times.
func TestSyncSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it 24 times: not with -short")
	}
	kills := 24
	if os.Getenv("WXSCOPE_LONG") != "" {
		kills = 96
	}
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 21, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 9000, Unfollowed: 300},
		{Name: "shop", Platform: "P1", Followers: 7000, Unfollowed: 300},
	}})
	// Small pages, few workers and a little latency: a sync takes a couple
	// of seconds, with many cursor saves to be caught in the middle of; and
	// max_age 0s makes every run refetch every profile, so that each kill
	// lands in the middle of writes rather than after a quick warm re-sync.
	s := newSimSetup(t, world, "concurrency = 2\nmax_age = \"0s\"", wechattest.WithPageSize(400))
	s.srv.SetLatency(25 * time.Millisecond)
	rng := rand.New(rand.NewPCG(21, 4))

	var profiles int64 // cached profiles never decrease
	interrupted := 0   // kills that left a run to resume
	killAndCheck := func(round int) {
		t.Helper()
		cmd, _, stderr := s.command(t, context.Background(), "sync")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+rng.IntN(900)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && !st.Signaled() && err != nil {
			t.Fatalf("round %d: sync ended on its own with %v: %s", round, err, stderr)
		}
		store, err := cache.Open(s.cache, cache.Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		defer store.Close()
		if err := store.Check(); err != nil {
			t.Fatalf("round %d: the cache is inconsistent after kill -9: %v", round, err)
		}
		apps, err := store.Apps()
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		midRun := false
		for _, a := range apps {
			n += a.Counts.Profiles
			midRun = midRun || a.Sync.InProgress
		}
		if midRun {
			interrupted++
		}
		if n < profiles {
			t.Fatalf("round %d: %d cached profiles after the kill, %d before: a kill lost written data", round, n, profiles)
		}
		t.Logf("round %d: %d profiles cached, a run in progress: %v", round, n, midRun)
		profiles = n
	}

	for round := range kills / 2 {
		killAndCheck(round)
	}
	if profiles == 0 {
		t.Fatal("no kill left a single profile written: the kills came too early to test anything")
	}
	start := time.Now()
	if r := s.runBinary(t, "sync"); r.code != 0 {
		t.Fatalf("sync after %d kills: exit %d: %s", kills/2, r.code, r.stderr)
	}
	t.Logf("the sync after the first kills finished in %s", time.Since(start))

	// The world moves: a complete sync saw these, so they must end marked
	// unfollowed; new followers must be fetched despite more kills.
	gone := map[string][]string{}
	for _, a := range world.Apps() {
		before := world.Followers(a.AppID)
		world.Follow(a.AppID, 1500)
		for i := 0; i < 100; i++ {
			id := before[rng.IntN(len(before))]
			if world.Unfollow(a.AppID, id) == nil {
				gone[a.AppID] = append(gone[a.AppID], id)
			}
		}
	}
	for round := kills / 2; round < kills; round++ {
		killAndCheck(round)
	}
	if interrupted < kills/2 {
		t.Errorf("only %d of %d kills interrupted a sync: the test hardly tests resuming", interrupted, kills)
	}
	if r := s.runBinary(t, "sync"); r.code != 0 {
		t.Fatalf("sync after %d kills: exit %d: %s", kills, r.code, r.stderr)
	}
	r := s.runBinary(t, "export", "--format", "jsonl")
	if r.code != 0 {
		t.Fatalf("export: exit %d: %s", r.code, r.stderr)
	}
	checkExport(t, decodeRows(t, r.stdout), world, gone)
}
