package cache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// importSource is a CSV of n rows, as a login table exports it: in no
// particular order, 9 in 10 with a unionid, first and last seen, a column
// the import ignores. It is made on the fly from a block of rows, so it
// costs no memory of its own; shift changes which openids it holds.
func importSource(n, shift int) io.Reader {
	const block = 1000
	head := "openid,unionid,first_seen,last_seen,nick\n"
	var body bytes.Buffer
	blocks := n / block
	i := 0
	return io.MultiReader(bytes.NewReader([]byte(head)), readerFunc(func(p []byte) (int, error) {
		if body.Len() == 0 {
			if i == blocks {
				return 0, io.EOF
			}
			for j := range block {
				// Spread each block's rows over the keyspace.
				k := (j*blocks+i)*7919%n + shift
				u := fmt.Sprintf("oUnion%022d", k)
				if k%10 == 0 {
					u = ""
				}
				fmt.Fprintf(&body, "oMall_%022d,%s,%d,%d,\"Li, Lei\"\n", k, u, 1600000000+k%1000000, 1700000000+k%1000000)
			}
			i++
		}
		return body.Read(p)
	}))
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// BenchmarkImport1M imports a million-row CSV into the cache through a
// Shared store, as `wxscope sync` does: "first" into an app with no
// members yet, "again" the same source once more (the daily re-read: every
// row compared, nothing changed), "shifted" a source where a tenth of the
// members left and as many joined. peak-heap-MB samples the live heap
// during the import.
func BenchmarkImport1M(b *testing.B) {
	const rows = 1_000_000
	for _, c := range []struct {
		name   string
		before int // a shift to import first, untimed; -1 for none
		shift  int
	}{{"first", -1, 0}, {"again", 0, 0}, {"shifted", 0, rows / 10}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var peak atomic.Uint64
			for b.Loop() {
				b.StopTimer()
				s, err := Open(filepath.Join(b.TempDir(), "wxscope.db"), Options{Mode: Shared})
				if err != nil {
					b.Fatal(err)
				}
				if c.before >= 0 {
					if _, err := Import(context.Background(), s, mallID, importSource(rows, c.before), ImportOptions{Source: "bench"}); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				stop := sampleHeap(&peak)
				b.StartTimer()
				st, err := Import(context.Background(), s, mallID, importSource(rows, c.shift), ImportOptions{Source: "bench"})
				b.StopTimer()
				stop()
				if err != nil || st.Rows != rows {
					b.Fatalf("%d rows, %v", st.Rows, err)
				}
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// sampleHeap records the largest heap in use into peak every 20 ms until
// stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
