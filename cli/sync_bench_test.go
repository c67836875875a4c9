package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxscope/config"
	"wxscope/wechat"
	"wxscope/wechat/wechattest"
)

// BenchmarkSyncAgainstTheBound runs a whole `wxscope sync` (config, shared
// cache, client, engine, progress) of one app into a fresh cache against
// the simulator with a fixed latency per call, and reports the time against
// the bound the API sets (design.md, "What fast means here"):
//
//	latency × (ceil(N/10000) sequential pages + ceil(N/100)/concurrency batch rounds)
//
// x-bound is the measured time over that bound; the goal is ≤ 1.15. After
// each cold sync a warm re-sync of the unchanged account runs outside the
// timer: warm-batch-calls must be 0, and warm-x-bound is its time over the
// pages alone (latency × pages).
//
// The simulator runs in this process, so at small latencies the sync is
// CPU bound (client, simulator and cache share the machine) rather than
// latency bound: 5 ms shows that, 20 ms is near the real API's latency
// from mainland China, 50 ms is a slow day.
//
//	go test -run '^$' -bench SyncAgainstTheBound -count 5 . | tee new.txt
//	~/go/bin/benchstat new.txt
func BenchmarkSyncAgainstTheBound(b *testing.B) {
	for _, latency := range []time.Duration{5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", latency), func(b *testing.B) {
			benchSync(b, 100_000, latency, 4)
		})
	}
}

func benchSync(b *testing.B, n int, latency time.Duration, concurrency int) {
	world := oneAppWorld(1, "news", n, 0, "P1")
	srv := wechattest.NewServer(world)
	defer srv.Close()
	srv.SetLatency(latency)
	app := world.Apps()[0]
	pages := (n + 9999) / 10000
	batches := (n + 99) / 100
	bound := time.Duration(float64(latency) * (float64(pages) + float64(batches)/float64(concurrency)))
	// The listing ends with an empty page after the last full one.
	warmBound := latency * time.Duration(pages+1)

	dir := b.TempDir()
	env := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return app.Secret }}
	var cold, warm time.Duration
	warmBatches := 0
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		src := fmt.Sprintf("cache = %q\napi_base = %q\nconcurrency = %d\n[[app]]\nname = \"news\"\nappid = %q\nsecret_env = \"S\"\n",
			filepath.Join(dir, fmt.Sprintf("c%d.db", i)), srv.URL, concurrency, app.AppID)
		cfg, err := config.Parse("bench.toml", []byte(src), config.Options{Getenv: env.Getenv})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := syncApps(context.Background(), env, cfg, cfg.Apps, syncHooks{}); err != nil {
			b.Fatal(err)
		}
		cold += time.Since(start)
		b.StopTimer()

		before := srv.Calls("/cgi-bin/user/info/batchget")
		start = time.Now()
		if err := syncApps(context.Background(), env, cfg, cfg.Apps, syncHooks{}); err != nil {
			b.Fatal(err)
		}
		warm += time.Since(start)
		warmBatches += srv.Calls("/cgi-bin/user/info/batchget") - before
		os.Remove(cfg.Cache)
		b.StartTimer()
	}
	b.ReportMetric(float64(cold)/float64(b.N)/float64(bound), "x-bound")
	b.ReportMetric(float64(bound.Milliseconds()), "bound-ms")
	b.ReportMetric(float64(warm)/float64(b.N)/float64(warmBound), "warm-x-bound")
	b.ReportMetric(float64(warmBatches)/float64(b.N), "warm-batch-calls")
}

// boundApps are the accounts of BenchmarkSyncAppsAgainstTheBound: two
// bound to one open platform, one unbound.
var boundApps = []wechattest.AppSpec{
	{Name: "news", Platform: "P1", Followers: 100_000},
	{Name: "shop", Platform: "P1", Followers: 40_000},
	{Name: "events", Followers: 20_000},
}

// appBound is issue 12's bound of one app's sync: the listing and the
// batches overlap, so whichever is longer,
//
//	max(pages × L, ceil(N/100)/concurrency × L)
func appBound(n int, latency time.Duration, concurrency int) time.Duration {
	pages := (n + 9999) / 10000
	batches := (n + 99) / 100
	return max(time.Duration(pages)*latency, time.Duration(float64(batches)/float64(concurrency)*float64(latency)))
}

// boundConcurrency is the batchget calls in flight in the bound benchmarks.
const boundConcurrency = 4

// boundSetup is the simulator of boundApps at latency, and their bound
// synced one after another (the sum of each app's) and side by side (the
// slowest app's).
func boundSetup(b *testing.B, latency time.Duration) (s *simSetup, sum, slowest time.Duration) {
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 5, Apps: boundApps})
	s = newSimSetup(b, world, fmt.Sprintf("concurrency = %d", boundConcurrency))
	s.srv.SetLatency(latency)
	for _, a := range boundApps {
		sum += appBound(a.Followers, latency, boundConcurrency)
		slowest = max(slowest, appBound(a.Followers, latency, boundConcurrency))
	}
	return s, sum, slowest
}

// freshCache removes s's cache, off the clock, so that the next sync is a
// cold one.
func freshCache(b *testing.B, s *simSetup) {
	b.StopTimer()
	if err := os.RemoveAll(filepath.Dir(s.cache)); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
}

// BenchmarkSyncAppsAgainstTheBound is goal 5 of issue 12: the cold sync of
// several apps (boundApps) against the simulator at a fixed latency per
// call, in-process like BenchmarkSyncAgainstTheBound:
//
//	go test -run '^$' -bench SyncAppsAgainstTheBound -count 6 ./cli/ | tee new.txt
//
// Three ways:
//
//   - sequence: `wxscope sync --app X` for each app, one after another;
//     x-bound is the total over the sum of each app's appBound (goal
//     ≤ 1.15).
//   - side_by_side: one `wxscope sync` of all of them; x-bound is over the
//     slowest app's own bound (goal ≤ 1.2).
//   - sdk_loop: what the SDK examples teach, built from our client: list
//     every openid of an app, then one batchget after another, app after
//     app, writing nothing; x-bound is over the same sum as sequence.
func BenchmarkSyncAppsAgainstTheBound(b *testing.B) {
	for _, latency := range []time.Duration{5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", latency), func(b *testing.B) {
			s, sum, slowest := boundSetup(b, latency)
			raw, err := os.ReadFile(s.cfg)
			if err != nil {
				b.Fatal(err)
			}
			cfg, err := config.Parse(s.cfg, raw, config.Options{Getenv: func(k string) string { return s.vars[k] }})
			if err != nil {
				b.Fatal(err)
			}
			env := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return s.vars[k] }}
			// As `wxscope sync` runs (runSync): the collector's pace is a
			// fifth of a sync's CPU, and at 5 ms a call the CPU is what
			// the calls wait for.
			defer paceCollectorForSync(env)()
			b.Run("sequence", func(b *testing.B) {
				var took time.Duration
				for range b.N {
					freshCache(b, s)
					start := time.Now()
					for _, a := range cfg.Apps {
						if err := syncApps(context.Background(), env, cfg, []config.App{a}, syncHooks{}); err != nil {
							b.Fatal(err)
						}
					}
					took += time.Since(start)
				}
				b.ReportMetric(float64(took)/float64(b.N)/float64(sum), "x-bound")
				b.ReportMetric(float64(sum.Milliseconds()), "bound-ms")
			})
			b.Run("side_by_side", func(b *testing.B) {
				var took time.Duration
				for range b.N {
					freshCache(b, s)
					start := time.Now()
					if err := syncApps(context.Background(), env, cfg, cfg.Apps, syncHooks{}); err != nil {
						b.Fatal(err)
					}
					took += time.Since(start)
				}
				b.ReportMetric(float64(took)/float64(b.N)/float64(slowest), "x-bound")
				b.ReportMetric(float64(slowest.Milliseconds()), "bound-ms")
			})
			b.Run("sdk_loop", func(b *testing.B) {
				var took time.Duration
				for range b.N {
					start := time.Now()
					for _, a := range cfg.Apps {
						sdkLoop(b, s.srv.URL, a.AppID, s.vars[a.SecretEnv])
					}
					took += time.Since(start)
				}
				b.ReportMetric(float64(took)/float64(b.N)/float64(sum), "x-bound")
				b.ReportMetric(float64(sum.Milliseconds()), "bound-ms")
			})
		})
	}
}

// BenchmarkSyncAppsAgainstTheBoundAsCommands is BenchmarkSyncAppsAgainstTheBound's
// sequence and side_by_side with the real binary: each `wxscope sync` a
// process of its own (its start included), the simulator in this one. It
// tells what the simulator's sharing the sync's process costs, against
// the same two cores:
//
//	go test -run '^$' -bench SyncAppsAgainstTheBoundAsCommands -count 6 ./cli/
func BenchmarkSyncAppsAgainstTheBoundAsCommands(b *testing.B) {
	for _, latency := range []time.Duration{5 * time.Millisecond, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", latency), func(b *testing.B) {
			s, sum, slowest := boundSetup(b, latency)
			wxscopeBinary(b)
			run := func(b *testing.B, bound time.Duration, commands [][]string) {
				var took time.Duration
				for range b.N {
					freshCache(b, s)
					start := time.Now()
					for _, args := range commands {
						cmd, _, stderr := s.command(b, context.Background(), args...)
						if err := cmd.Run(); err != nil {
							b.Fatalf("wxscope %s: %v\n%s", strings.Join(args, " "), err, stderr)
						}
					}
					took += time.Since(start)
				}
				b.ReportMetric(float64(took)/float64(b.N)/float64(bound), "x-bound")
				b.ReportMetric(float64(bound.Milliseconds()), "bound-ms")
			}
			var sequence [][]string
			for _, a := range boundApps {
				sequence = append(sequence, []string{"sync", "--app", a.Name})
			}
			b.Run("sequence", func(b *testing.B) { run(b, sum, sequence) })
			b.Run("side_by_side", func(b *testing.B) { run(b, slowest, [][]string{{"sync"}}) })
		})
	}
}

// sdkLoop fetches every follower of one app the way the SDK examples do:
// every page of user/get first, then the openids 100 at a time, one
// batchget after another.
func sdkLoop(b *testing.B, base, appid, secret string) {
	ctx := context.Background()
	c, err := wechat.New(wechat.Config{AppID: appid, Secret: secret, APIBase: base})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for page, err := range c.Followers(ctx, "") {
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, page.OpenIDs...)
	}
	got := 0
	for i := 0; i < len(ids); i += wechat.MaxBatch {
		users, err := c.BatchGet(ctx, ids[i:min(i+wechat.MaxBatch, len(ids))])
		if err != nil {
			b.Fatal(err)
		}
		got += len(users)
	}
	if got != len(ids) {
		b.Fatalf("%d profiles for %d openids", got, len(ids))
	}
}
