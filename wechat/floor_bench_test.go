package wechat

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHTTPFloor is what a call costs over its latency with nothing
// but net/http on this machine: Concurrency workers, each posting a
// batchget-sized request (3 KB) after the other to a server that sleeps
// L and answers 40 KB, as the calls of cli's
// BenchmarkSyncAppsAgainstTheBound are, over the client's own transport.
// x-bound is a worker's time a call over L (the sync's x-bound cannot beat
// it); over-server-µs is that time less the server's own, the round trip
// itself.
//
//	go test -run '^$' -bench HTTPFloor -count 3 ./wechat/
func BenchmarkHTTPFloor(b *testing.B) {
	const concurrency, calls = 4, 250
	answer := bytes.Repeat([]byte("x"), 40_000)
	request := bytes.Repeat([]byte("y"), 3_000)
	for _, latency := range []time.Duration{5 * time.Millisecond, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", latency), func(b *testing.B) {
			var server atomic.Int64 // ns spent in the handler
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				began := time.Now()
				io.Copy(io.Discard, r.Body)
				time.Sleep(latency)
				w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
				w.Write(answer)
				server.Add(int64(time.Since(began)))
			}))
			defer srv.Close()
			c := defaultHTTPClient() // the one a sync calls with
			var took time.Duration
			for range b.N {
				start := time.Now()
				var wg sync.WaitGroup
				for range concurrency {
					wg.Go(func() {
						buf := make([]byte, len(answer))
						for range calls {
							resp, err := c.Post(srv.URL+"/cgi-bin/user/info/batchget?access_token=x", "application/json", bytes.NewReader(request))
							if err != nil {
								b.Error(err)
								return
							}
							_, err = io.ReadFull(resp.Body, buf)
							resp.Body.Close()
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				took += time.Since(start)
			}
			slot := float64(took) / float64(b.N*calls)
			b.ReportMetric(slot/float64(latency), "x-bound")
			b.ReportMetric((slot-float64(server.Load())/float64(b.N*calls*concurrency))/1e3, "over-server-µs")
		})
	}
}
