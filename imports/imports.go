// Package imports reads the members of an app that is not an official
// account (a mini program, a mobile app, a website) from the company's own
// login records: a CSV or tab-separated export with a header row, or JSON
// lines, as a file or a command's output.
//
// Read streams: it holds one row at a time, so memory stays flat however
// large the source is. Rows that break the contract (design.md, "Apps that
// are not official accounts") are rejected one by one with their line; the
// rest are handed on.
package imports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Row is one member of an imported app.
type Row struct {
	OpenID  string
	UnionID string // empty when the source gives none
	// FirstSeen and LastSeen are unix seconds, 0 when unknown.
	FirstSeen, LastSeen int64
	// Line is the physical line the row starts on, counting from 1.
	Line int
}

// Merge combines two rows of the same openid, prev from earlier in the
// source than next, the way a login log (one row per login) means them:
// the later non-empty unionid, the earliest first_seen and the latest
// last_seen that are known, and the later line.
func Merge(prev, next Row) Row {
	if next.UnionID == "" {
		next.UnionID = prev.UnionID
	}
	if prev.FirstSeen != 0 && (next.FirstSeen == 0 || prev.FirstSeen < next.FirstSeen) {
		next.FirstSeen = prev.FirstSeen
	}
	next.LastSeen = max(prev.LastSeen, next.LastSeen)
	return next
}

// Format is the shape Read found a source in.
type Format string

// The formats of a source.
const (
	CSV       Format = "csv"   // comma-separated, RFC 4180 quoting, a header row
	TSV       Format = "tsv"   // tab-separated as `mysql -B` prints it, a header row
	JSONLines Format = "jsonl" // one JSON object a line
)

// MaxRejections is how many rejections Stats keeps in full; the rest are
// only counted.
const MaxRejections = 20

// MaxLine is the longest physical line Read takes (and the longest row of
// CSV, whose quoted fields may span lines). A longer one is rejected.
const MaxLine = 1 << 20

// Rejection is a row that was not imported, and why.
type Rejection struct {
	Source string
	Line   int // the physical line the row starts on
	Reason string
}

// String gives the rejection as SOURCE:LINE: reason.
func (r Rejection) String() string {
	return r.Source + ":" + strconv.Itoa(r.Line) + ": " + r.Reason
}

// Stats is what Read made of a source.
type Stats struct {
	Source string
	Format Format // empty for a source with nothing in it
	Rows   int    // valid rows handed on
	Lines  int    // physical lines read
	// Rejected counts every rejected row; Rejections holds the first
	// MaxRejections of them in source order.
	Rejected   int
	Rejections []Rejection
}

// WriteRejections writes the kept rejections one a line, then a line
// counting the others, if any: what a command prints on stderr.
func (s Stats) WriteRejections(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, r := range s.Rejections {
		bw.WriteString(r.String())
		bw.WriteByte('\n')
	}
	if more := s.Rejected - len(s.Rejections); more > 0 {
		fmt.Fprintf(bw, "%s: %d more rejected %s not shown\n", s.Source, more, plural(more, "row", "rows"))
	}
	return bw.Flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ValidID reports whether s has the shape of an openid or a unionid: 16 to
// 64 characters of A-Za-z0-9, '_' and '-'. Real ones are 28 characters;
// the range leaves room for other issuers without letting a shifted column
// or a name through.
func ValidID(s string) bool { return validID(s) }

func validID[T ~string | ~[]byte](s T) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idByte[s[i]] {
			return false
		}
	}
	return true
}

var idByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	t['_'], t['-'] = true, true
	return t
}()

// Read reads the source r, named source in errors and rejections (a path,
// or "import_command of APP"), and calls fn with each valid row in source
// order. It stops at the first error of fn and returns it.
//
// The format is JSON lines when the first non-blank byte is '{', else
// delimited text whose header row holds a tab (TSV) or not (CSV); a UTF-8
// BOM is skipped. A source with nothing but blank lines has no rows.
//
// Read does not remember openids, so that memory does not grow with the
// source: an openid repeated in it (a login log has a row per login) reaches
// fn once per row. A consumer that stores by openid keeps the last; Merge
// combines them as a login log means them.
//
// The error is about the whole source: it could not be read (the reader's
// error is wrapped: a command's failure shows through), or its header has
// no openid column. Rejected rows are not errors: Stats counts them.
func Read(r io.Reader, source string, fn func(Row) error) (Stats, error) {
	rd := &reader{
		lines: newLineReader(r),
		stats: Stats{Source: source},
		fn:    fn,
	}
	err := rd.run()
	rd.stats.Lines = rd.lines.n
	return rd.stats, err
}

// reader holds what is shared by the formats: the lines, the counts and the
// row assembly.
type reader struct {
	lines *lineReader
	stats Stats
	fn    func(Row) error
	ids   []byte // scratch: openid and unionid, made into one string
}

func (rd *reader) run() error {
	format, err := rd.lines.detect()
	if err != nil {
		return rd.readError(err)
	}
	rd.stats.Format = format
	switch format {
	case JSONLines:
		err = rd.jsonLines()
	case CSV, TSV:
		err = rd.delimited(format)
	}
	if err == nil && rd.lines.err != nil {
		err = rd.readError(rd.lines.err)
	}
	return err
}

func (rd *reader) readError(err error) error {
	return fmt.Errorf("reading %s at line %d: %w", rd.stats.Source, rd.lines.n, err)
}

// reject records a rejected row starting at line.
func (rd *reader) reject(line int, format string, args ...any) {
	rd.stats.Rejected++
	if len(rd.stats.Rejections) < MaxRejections {
		rd.stats.Rejections = append(rd.stats.Rejections,
			Rejection{Source: rd.stats.Source, Line: line, Reason: fmt.Sprintf(format, args...)})
	}
}

// fields are the raw values of one row's columns, nil where absent.
type fields struct {
	openid, unionid, first, last []byte
}

// row checks the values of one row and hands it on, or rejects it.
func (rd *reader) row(line int, f fields) error {
	r := Row{Line: line}
	if len(f.openid) == 0 {
		rd.reject(line, "openid is empty")
		return nil
	}
	if !validID(f.openid) {
		rd.reject(line, "openid %s is not an openid (16 to 64 letters, digits, _ or -)", quote(f.openid))
		return nil
	}
	if len(f.unionid) > 0 && !validID(f.unionid) {
		rd.reject(line, "unionid %s is not a unionid (16 to 64 letters, digits, _ or -)", quote(f.unionid))
		return nil
	}
	var ok bool
	if r.FirstSeen, ok = parseTime(f.first); !ok {
		rd.reject(line, "first_seen %s is not a time (unix seconds or RFC 3339)", quote(f.first))
		return nil
	}
	if r.LastSeen, ok = parseTime(f.last); !ok {
		rd.reject(line, "last_seen %s is not a time (unix seconds or RFC 3339)", quote(f.last))
		return nil
	}
	// One allocation for both ids.
	rd.ids = append(append(rd.ids[:0], f.openid...), f.unionid...)
	s := string(rd.ids)
	r.OpenID, r.UnionID = s[:len(f.openid)], s[len(f.openid):]
	rd.stats.Rows++
	return rd.fn(r)
}

// quote shows a value from the source in a reason: quoted, so that control
// characters cannot reach a terminal, and cut short.
func quote(b []byte) string {
	const most = 80
	if len(b) > most {
		return strconv.Quote(string(b[:most])) + "…"
	}
	return strconv.Quote(string(b))
}

// errHeaderTooLong is returned by detect for a first line that does not
// fit the read buffer: no real header is 64 KiB long.
var errHeaderTooLong = errors.New("the first line is longer than 64 KiB; a header row names a few columns")

// errBlankStart is returned by detect for a source that starts with a
// whole read buffer of blank space.
var errBlankStart = errors.New("the source starts with more than 64 KiB of blank lines")
