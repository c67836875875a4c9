package wechat_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"wxscope/wechat"
	"wxscope/wechat/wechattest"
)

// BenchmarkBatchGetOnTheSimulator makes batchget calls of 100 followers from
// 4 goroutines, client and simulator in this process. With latency 0, ns/op
// is the machine's throughput for both sides together (per call, all cores
// busy); with a latency, per-call-ms against that latency shows what the
// HTTP exchange, the simulator's work and decoding add to each call.
//
//	go test -run '^$' -bench BatchGetOnTheSimulator ./wechat
func BenchmarkBatchGetOnTheSimulator(b *testing.B) {
	for _, latency := range []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", latency), func(b *testing.B) {
			w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 1, Apps: []wechattest.AppSpec{{Name: "big", Followers: 100_000, Platform: "P1"}}})
			srv := wechattest.NewServer(w)
			defer srv.Close()
			srv.SetDailyQuota("", "/"+wechat.PathBatchGet, -1)
			srv.SetLatency(latency)
			app := w.Apps()[0]
			c, err := wechat.New(wechat.Config{AppID: app.AppID, Secret: app.Secret, APIBase: srv.URL, RatePerSecond: 1e9, Burst: 1000})
			if err != nil {
				b.Fatal(err)
			}
			ids := w.Followers(app.AppID)
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var g errgroup.Group
			for range 4 {
				g.Go(func() error {
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return nil
						}
						k := i * 100 % (len(ids) - 100)
						got, err := c.BatchGet(context.Background(), ids[k:k+100])
						if err != nil {
							return err
						}
						if len(got) != 100 {
							return fmt.Errorf("%d profiles for 100 openids", len(got))
						}
					}
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(start))/float64(time.Millisecond)*4/float64(b.N), "per-call-ms")
		})
	}
}
