package export

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"wxscope/cache"
)

// genProfile fills p with follower i of a generated app, shaped like real
// ones (and the ui benchmarks' world): 28-byte openids of an app prefix and
// random base64, 1 in 10 without a unionid, 1 in 20 with a CJK/emoji
// remark, 1 in 15 unfollowed, 1 in 4 with tags and a QR scene; follow
// times spread over years. Random ids matter: sequential ones compress to
// nothing and flatter the writer.
func genProfile(p *cache.Profile, i int) {
	h := mix(uint64(i))
	*p = cache.Profile{
		AppID:          "wxbench00000000001",
		OpenID:         "oBENCH" + b64(h, 22),
		UnionID:        "oUNION" + b64(mix(h), 22),
		Subscribed:     true,
		SubscribeTime:  1_400_000_000 + int64(h%300_000_000),
		SubscribeScene: []string{"ADD_SCENE_QR_CODE", "ADD_SCENE_SEARCH", "ADD_SCENE_PROFILE_CARD", "ADD_SCENE_OTHERS"}[h>>60&3],
		FetchedAt:      1_700_000_000 + int64(i/100),
	}
	if i%10 == 9 {
		p.UnionID = ""
	}
	if i%20 == 0 {
		p.Remark = "老客户 🎁 " + strconv.Itoa(i)
	}
	if i%15 == 14 {
		p.Subscribed, p.UnfollowedAt = false, 1_700_000_000+int64(h%10_000_000)
	}
	if i%4 == 0 {
		p.TagIDs = []int64{2, int64(100 + h%7)}
		p.QRScene, p.QRSceneStr = int64(h%50), "campaign-"+strconv.Itoa(int(h%50))
	}
}

// mix is splitmix64's finaliser: a well-spread number from a counter.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// b64 is n base64url characters drawn from h and what mix makes of it.
func b64(h uint64, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, n)
	for i := range b {
		if i%10 == 9 {
			h = mix(h)
		}
		b[i] = alphabet[h&63]
		h >>= 6
	}
	return string(b)
}

// peakHeap samples the heap every few milliseconds until stop is called,
// and returns the highest figures: all objects (live, and garbage not yet
// swept: what the process holds) and the live heap the last collection
// marked (what the writer keeps).
func peakHeap() (stop func() (objects, live uint64)) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	var peak [2]atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			for i := range sample {
				if v := sample[i].Value.Uint64(); v > peak[i].Load() {
					peak[i].Store(v)
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		<-finished
		return peak[0].Load(), peak[1].Load()
	}
}

// benchExport writes n generated rows per operation through the writer
// open returns, and reports rows/s, the peak heap and the output's bytes
// per row.
func benchExport(b *testing.B, n int, open func(dir string) (w Writer, finish func() error)) {
	b.ReportAllocs()
	runtime.GC()
	stop := peakHeap()
	var size int64
	for b.Loop() {
		dir := b.TempDir()
		w, finish := open(dir)
		var p cache.Profile
		for i := range n {
			genProfile(&p, i)
			r := NewRow(Input{App: "bench", Profile: (*Follower)(&p)})
			if err := w.Write(&r); err != nil {
				b.Fatal(err)
			}
		}
		if err := finish(); err != nil {
			b.Fatal(err)
		}
		size = dirSize(b, dir)
	}
	objects, live := stop()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(objects)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
	b.ReportMetric(float64(size)/float64(n), "bytes/row")
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// BenchmarkExportParquet is `wxscope export --format parquet --out DIR`
// without the cache: 1 M rows through ParquetDir with the default row
// groups and parts, onto disk.
func BenchmarkExportParquet(b *testing.B) { benchExport(b, 1_000_000, parquetDir(b)) }

// BenchmarkExportParquet3M is the same over 3 M rows: the peak heap must
// not grow with the rows.
func BenchmarkExportParquet3M(b *testing.B) { benchExport(b, 3_000_000, parquetDir(b)) }

func parquetDir(b *testing.B) func(dir string) (Writer, func() error) {
	return func(dir string) (Writer, func() error) {
		d, err := CreateParquetDir(filepath.Join(dir, "out"), []string{"bench"}, ParquetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return d, d.Close
	}
}

// fileWriter opens a new file for a row-by-row format.
func fileWriter(b *testing.B, f Format) func(dir string) (Writer, func() error) {
	return func(dir string) (Writer, func() error) {
		file, err := Create(filepath.Join(dir, "out."+string(f)))
		if err != nil {
			b.Fatal(err)
		}
		buf := bufio.NewWriterSize(file, 64<<10)
		w, _ := NewWriter(f, buf)
		return w, func() error {
			if err := w.Close(); err != nil {
				return err
			}
			if err := buf.Flush(); err != nil {
				return err
			}
			return file.Commit()
		}
	}
}

// BenchmarkExportCSV and BenchmarkExportJSONL are the same rows as CSV and
// JSON lines, for comparison.
func BenchmarkExportCSV(b *testing.B)   { benchExport(b, 1_000_000, fileWriter(b, CSV)) }
func BenchmarkExportJSONL(b *testing.B) { benchExport(b, 1_000_000, fileWriter(b, JSONL)) }
