package export

import (
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// The Parquet layout. Every column of the contract, in its order, with its
// type: strings as UTF-8 STRING (dictionary-encoded where values repeat:
// app, kind, appid, subscribe_scene, qr_scene_str), subscribe, qr_scene,
// groupid and the times as INT64 — the times in unix seconds as the
// contract says, since Parquet's TIMESTAMP has no unit of seconds
// (to_timestamp(subscribe_time) in DuckDB, toDateTime in ClickHouse,
// timestamp_seconds in Spark) — blacklisted as BOOLEAN, tagid_list and tags
// as LISTs. Pages are zstd-compressed and written as data page v1, which
// every reader knows.
const (
	// DefaultRowGroupRows is how many rows a row group holds. A row group
	// is buffered in memory, compressed, until it is complete: this bounds
	// the writer's memory (a live heap of some 35 MB at 128 Ki rows)
	// whatever the export's size, and is large enough for readers to scan
	// fast.
	DefaultRowGroupRows = 128 << 10
	// DefaultPartRows is how many rows one file of a partition holds before
	// the next part starts (ParquetDir): a few hundred MB, small enough to
	// copy and to read in parallel.
	DefaultPartRows = 4 << 20
)

// ParquetOptions tune the Parquet writers; the zero value is the default.
type ParquetOptions struct {
	RowGroupRows int // rows per row group; DefaultRowGroupRows when 0
	PartRows     int // rows per file of a ParquetDir; DefaultPartRows when 0
}

func (o ParquetOptions) rowGroupRows() int {
	if o.RowGroupRows > 0 {
		return o.RowGroupRows
	}
	return DefaultRowGroupRows
}

func (o ParquetOptions) partRows() int {
	if o.PartRows > 0 {
		return o.PartRows
	}
	return DefaultPartRows
}

// zstdFastest is zstd at its fastest level. At the default level zstd took
// nearly half of the writer's CPU; the fastest costs 15 % less CPU and a
// third less heap, for files 3 % larger (BENCHMARKS.md).
var zstdFastest = zstd.Codec{Level: zstd.SpeedFastest}

// parquetBatch is how many rows are handed to parquet-go at once; a copy of
// each row waits in the batch, so this bounds that copy's memory too.
const parquetBatch = 1024

// ParquetWriter writes one Parquet file of rows.
type ParquetWriter struct {
	w     *parquet.GenericWriter[Row]
	batch []Row
	rows  int
}

// NewParquet returns a Parquet writer onto w.
func NewParquet(w io.Writer, opts ParquetOptions) *ParquetWriter {
	pw := parquet.NewGenericWriter[Row](w,
		parquet.Compression(&zstdFastest),
		parquet.MaxRowsPerRowGroup(int64(opts.rowGroupRows())),
		parquet.DataPageVersion(1),
		parquet.CreatedBy("wxscope", "", ""),
	)
	return &ParquetWriter{w: pw, batch: make([]Row, 0, parquetBatch)}
}

// Write implements Writer.
func (w *ParquetWriter) Write(r *Row) error {
	w.batch = append(w.batch, *r)
	w.rows++
	if len(w.batch) == cap(w.batch) {
		return w.flushBatch()
	}
	return nil
}

// Rows is how many rows were written so far.
func (w *ParquetWriter) Rows() int { return w.rows }

func (w *ParquetWriter) flushBatch() error {
	if len(w.batch) == 0 {
		return nil
	}
	_, err := w.w.Write(w.batch)
	clear(w.batch) // let the strings go
	w.batch = w.batch[:0]
	return err
}

// Close implements Writer: it writes the last row group and the footer.
func (w *ParquetWriter) Close() error {
	if err := w.flushBatch(); err != nil {
		return err
	}
	return w.w.Close()
}
