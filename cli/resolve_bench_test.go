package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxscope/wechat/wechattest"
)

// BenchmarkResolveAgainstTheBound resolves 100 000 openids of old records
// into a fresh cache through `wxscope resolve` against the simulator with a
// fixed latency per call, and reports the time over the API's bound
// (design.md, "Resolve"; the goal is ≤ 1.15):
//
//	latency × ceil(N/100)/concurrency batch rounds
//
//	go test -run '^$' -bench ResolveAgainstTheBound -count 6 ./cli/ | tee new.txt
func BenchmarkResolveAgainstTheBound(b *testing.B) {
	for _, latency := range []time.Duration{20 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", latency), func(b *testing.B) {
			const n, concurrency = 100_000, 4
			world := oneAppWorld(1, "news", n, 0, "P1")
			srv := wechattest.NewServer(world)
			defer srv.Close()
			srv.SetLatency(latency)
			app := world.Apps()[0]
			ids := []byte(strings.Join(world.Followers(app.AppID), "\n") + "\n")
			bound := time.Duration(float64(latency) * float64((n+99)/100) / concurrency)
			dir := b.TempDir()
			var took time.Duration
			for i := range b.N {
				b.StopTimer()
				cfg := filepath.Join(dir, "c.toml")
				src := fmt.Sprintf("cache = %q\napi_base = %q\nconcurrency = %d\n[[app]]\nname = \"news\"\nappid = %q\nsecret_env = \"S\"\n",
					filepath.Join(dir, fmt.Sprintf("c%d.db", i)), srv.URL, concurrency, app.AppID)
				if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
					b.Fatal(err)
				}
				var stderr bytes.Buffer
				env := &Env{Stdin: bytes.NewReader(ids), Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return app.Secret }}
				b.StartTimer()
				start := time.Now()
				if code := Run(context.Background(), env, []string{"resolve", "--app", "news", "--config", cfg}); code != 0 {
					b.Fatalf("resolve: exit %d: %s", code, stderr.String())
				}
				took += time.Since(start)
			}
			b.ReportMetric(float64(took)/float64(b.N)/float64(bound), "x-bound")
			b.ReportMetric(float64(bound.Milliseconds()), "bound-ms")
		})
	}
}
