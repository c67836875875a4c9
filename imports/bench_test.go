package imports

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// generated is a source of n rows in format f, made on the fly from one
// block of rows repeated, so that it costs no memory of its own.
func generated(f Format, n int) io.Reader {
	const block = 1000
	var head, body bytes.Buffer
	for i := range block {
		o := fmt.Sprintf("o6_bmjrPTlm6_2sgVt7hM%07d", i)
		u := fmt.Sprintf("oXyZ_unionid_AbCdEfGh%07d", i)
		switch f {
		case CSV:
			fmt.Fprintf(&body, "%s,%s,%d,\"Li, Lei\",2024-03-02 14:05:00\n", o, u, 1709359500+i)
		case TSV:
			fmt.Fprintf(&body, "%s\t%s\t%d\tLi Lei\t2024-03-02 14:05:00\n", o, u, 1709359500+i)
		case JSONLines:
			fmt.Fprintf(&body, `{"openid":%q,"unionid":%q,"first_seen":%d,"nick":"Li Lei","last_seen":"2024-03-02 14:05:00"}`+"\n", o, u, 1709359500+i)
		}
	}
	switch f {
	case CSV:
		head.WriteString("openid,unionid,first_seen,nick,last_seen\n")
	case TSV:
		head.WriteString("openid\tunionid\tfirst_seen\tnick\tlast_seen\n")
	}
	return io.MultiReader(&head, &repeatReader{block: body.Bytes(), left: n / block})
}

// repeatReader gives block left times.
type repeatReader struct {
	block []byte
	off   int
	left  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.block[r.off:])
	if r.off += n; r.off == len(r.block) {
		r.off, r.left = 0, r.left-1
	}
	return n, nil
}

// heapWatch samples the live heap while rows go by.
type heapWatch struct {
	every, n int
	peak     uint64
}

func (h *heapWatch) row(Row) error {
	if h.n++; h.n%h.every == 0 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.peak = max(h.peak, m.HeapAlloc)
	}
	return nil
}

func BenchmarkRead1M(b *testing.B) {
	const rows = 1_000_000
	for _, f := range []Format{CSV, TSV, JSONLines} {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				h := &heapWatch{every: rows / 4}
				st, err := Read(generated(f, rows), "bench", h.row)
				if err != nil || st.Rows != rows {
					b.Fatalf("%d rows, %v", st.Rows, err)
				}
				peak = max(peak, h.peak)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(0, "ns/op") // one op is a million rows: rows/s says it
		})
	}
}

// TestReadMemoryIsFlat reads a small and a large source (150 000 rows) and
// checks that the live heap does not grow with them.
func TestReadMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 480 000 rows")
	}
	for _, f := range []Format{CSV, TSV, JSONLines} {
		t.Run(string(f), func(t *testing.T) {
			peak := func(n int) uint64 {
				h := &heapWatch{every: n / 4}
				if st, err := Read(generated(f, n), "flat", h.row); err != nil || st.Rows != n {
					t.Fatalf("%d rows, %v", st.Rows, err)
				}
				return h.peak
			}
			small, large := 10_000, 150_000
			if raceEnabled {
				small, large = 5_000, 50_000
			}
			small, large = int(peak(small)), int(peak(large))
			if large > small+2<<20 { // keeping a row's two ids (56 bytes) fails this
				t.Fatalf("live heap %d KiB at the larger source, %d KiB at the smaller: it grows with the source", large>>10, small>>10)
			}
		})
	}
}
