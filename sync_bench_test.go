package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"wxscope/config"
	"wxscope/wechat/wechattest"
)

// BenchmarkSyncAgainstTheBound runs a whole `wxscope sync` (config, shared
// cache, client, engine, progress) of one app into a fresh cache against
// the simulator with a fixed latency per call, and reports the time against
// the bound the API sets (design.md, "What fast means here"):
//
//	latency × (ceil(N/10000) sequential pages + ceil(N/100)/concurrency batch rounds)
//
// x-bound is the measured time over that bound; the goal is ≤ 1.15.
//
//	go test -run '^$' -bench SyncAgainstTheBound -benchtime 5x .
func BenchmarkSyncAgainstTheBound(b *testing.B) {
	for _, bc := range []struct {
		n           int
		latency     time.Duration
		concurrency int
	}{
		{100_000, 2 * time.Millisecond, 4},
		{100_000, 10 * time.Millisecond, 4},
		{100_000, 50 * time.Millisecond, 4},
	} {
		b.Run(fmt.Sprintf("N=%d/latency=%s/concurrency=%d", bc.n, bc.latency, bc.concurrency), func(b *testing.B) {
			benchSync(b, bc.n, bc.latency, bc.concurrency)
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

	dir := b.TempDir()
	env := &cmdEnv{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return app.Secret }}
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		src := fmt.Sprintf("cache = %q\napi_base = %q\nconcurrency = %d\n[[app]]\nname = \"news\"\nappid = %q\nsecret_env = \"S\"\n",
			filepath.Join(dir, fmt.Sprintf("c%d.db", i)), srv.URL, concurrency, app.AppID)
		cfg, err := config.Parse("bench.toml", []byte(src), config.Options{Getenv: env.getenv})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := syncApps(context.Background(), env, cfg, cfg.Apps, syncHooks{}); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		os.Remove(cfg.Cache)
		b.StartTimer()
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(bound), "x-bound")
	b.ReportMetric(float64(bound.Milliseconds()), "bound-ms")
}
