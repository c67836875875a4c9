package export

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"wxscope/sanitize"
)

// Format is one of the export's file formats.
type Format string

// The formats, named as --format takes them.
const (
	CSV     Format = "csv"
	JSONL   Format = "jsonl"
	Parquet Format = "parquet"
)

// FormatOf returns the format a file name's extension asks for: .jsonl,
// .ndjson and .json are JSON lines, .parquet is Parquet, anything else CSV.
func FormatOf(name string) Format {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return CSV
	}
	switch strings.ToLower(name[i:]) {
	case ".jsonl", ".ndjson", ".json":
		return JSONL
	case ".parquet":
		return Parquet
	}
	return CSV
}

// Writer writes rows in one format. Close writes what is still buffered
// (the CSV header when no row came, the Parquet footer); it does not close
// the io.Writer underneath. A Writer is not safe for concurrent use.
type Writer interface {
	Write(r *Row) error
	Close() error
}

// NewWriter returns the writer of format f onto w.
func NewWriter(f Format, w io.Writer) (Writer, error) {
	switch f {
	case CSV:
		return NewCSV(w), nil
	case JSONL:
		return NewJSONL(w), nil
	case Parquet:
		return NewParquet(w, ParquetOptions{}), nil
	}
	return nil, fmt.Errorf("no export format %q; use csv, jsonl or parquet", f)
}

// JSONLWriter writes one JSON object per line, the strings exactly as the
// API gave them: < > & stay as they are (JSON needs no HTML escaping, and a
// remark stays readable).
type JSONLWriter struct{ enc *json.Encoder }

// NewJSONL returns a JSON lines writer onto w.
func NewJSONL(w io.Writer) *JSONLWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSONLWriter{enc}
}

// Write implements Writer.
func (w *JSONLWriter) Write(r *Row) error { return w.enc.Encode(r) }

// Close implements Writer; JSON lines need no trailer.
func (w *JSONLWriter) Close() error { return nil }

// CSVWriter writes a header and one record per row. Every text cell that a
// spreadsheet would run as a formula is defused with sanitize.CSVCell;
// tagid_list and tags are joined with ";", blacklisted is 1 or 0.
type CSVWriter struct {
	w      *csv.Writer
	rec    []string
	header bool
}

// NewCSV returns a CSV writer onto w.
func NewCSV(w io.Writer) *CSVWriter {
	return &CSVWriter{w: csv.NewWriter(w), rec: make([]string, len(Columns))}
}

func (w *CSVWriter) writeHeader() error {
	if w.header {
		return nil
	}
	w.header = true
	return w.w.Write(Columns)
}

// Write implements Writer.
func (w *CSVWriter) Write(r *Row) error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	ids := make([]string, len(r.TagIDList))
	for i, t := range r.TagIDList {
		ids[i] = strconv.FormatInt(t, 10)
	}
	rec := w.rec
	rec[0] = sanitize.CSVCell(r.App)
	rec[1] = sanitize.CSVCell(r.Kind)
	rec[2] = sanitize.CSVCell(r.AppID)
	rec[3] = sanitize.CSVCell(r.OpenID)
	rec[4] = sanitize.CSVCell(r.UnionID)
	rec[5] = strconv.Itoa(r.Subscribe)
	rec[6] = strconv.FormatInt(r.SubscribeTime, 10)
	rec[7] = sanitize.CSVCell(r.SubscribeScene)
	rec[8] = strconv.FormatInt(r.QRScene, 10)
	rec[9] = sanitize.CSVCell(r.QRSceneStr)
	rec[10] = sanitize.CSVCell(r.Remark)
	rec[11] = strings.Join(ids, ";")
	rec[12] = sanitize.CSVCell(strings.Join(r.Tags, ";"))
	rec[13] = "0"
	if r.Blacklisted {
		rec[13] = "1"
	}
	rec[14] = strconv.FormatInt(r.GroupID, 10)
	rec[15] = strconv.FormatInt(r.FetchedAt, 10)
	rec[16] = strconv.FormatInt(r.UnfollowedAt, 10)
	return w.w.Write(rec)
}

// Close implements Writer: it writes the header if no row came, and
// flushes.
func (w *CSVWriter) Close() error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	w.w.Flush()
	return w.w.Error()
}
