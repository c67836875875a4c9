package imports

import (
	"bytes"
	"fmt"
	"strings"
)

// columns are the indexes of the known columns in a header, -1 where
// absent.
type columns struct {
	openid, unionid, first, last int
	n                            int // fields in the header
}

// delimited reads CSV or TSV: a header row, then one row per record.
func (rd *reader) delimited(format Format) error {
	var rec recordReader
	if format == TSV {
		rec = &tsvReader{lines: rd.lines}
	} else {
		rec = &csvReader{lines: rd.lines}
	}
	cols, err := rd.header(rec)
	if err != nil {
		return err
	}
	for {
		line, bad, ok := rec.next()
		if !ok {
			return nil
		}
		if bad != "" {
			rd.reject(line, "%s", bad)
			continue
		}
		if n := rec.len(); n != cols.n {
			rd.reject(line, "the row has %d %s, the header %d", n, plural(n, "field", "fields"), cols.n)
			continue
		}
		f := fields{openid: rec.value(cols.openid), unionid: rec.value(cols.unionid),
			first: rec.value(cols.first), last: rec.value(cols.last)}
		if err := rd.row(line, f); err != nil {
			return err
		}
	}
}

// header reads the header row and finds the known columns in it.
func (rd *reader) header(rec recordReader) (columns, error) {
	line, bad, ok := rec.next()
	if !ok {
		return columns{}, nil // unreachable: detect found a non-blank line
	}
	if bad != "" {
		return columns{}, fmt.Errorf("%s:%d: the header row is malformed: %s", rd.stats.Source, line, bad)
	}
	cols := columns{openid: -1, unionid: -1, first: -1, last: -1, n: rec.len()}
	var names []string
	for i := range cols.n {
		name := strings.ToLower(string(bytes.TrimSpace(rec.value(i))))
		names = append(names, name)
		var at *int
		switch name {
		case "openid":
			at = &cols.openid
		case "unionid":
			at = &cols.unionid
		case "first_seen":
			at = &cols.first
		case "last_seen":
			at = &cols.last
		default:
			continue
		}
		if *at >= 0 {
			return cols, fmt.Errorf("%s:%d: the header has two %s columns; keep one", rd.stats.Source, line, name)
		}
		*at = i
	}
	if cols.openid < 0 {
		return cols, fmt.Errorf("%s:%d: the header row has no openid column (it has %s); name the column of openids openid",
			rd.stats.Source, line, quoteNames(names))
	}
	return cols, nil
}

func quoteNames(names []string) string {
	const most = 10
	var b strings.Builder
	for i, n := range names {
		if i == most {
			fmt.Fprintf(&b, " and %d more", len(names)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote([]byte(n)))
	}
	return b.String()
}

// recordReader reads the records of delimited text.
type recordReader interface {
	// next reads the next non-blank record and returns the line it starts
	// on. bad says why a malformed record was skipped. ok is false at the
	// end of the source.
	next() (line int, bad string, ok bool)
	// len is the number of fields of the record read last.
	len() int
	// value is field i of the record, unquoted or unescaped, with
	// surrounding spaces dropped and NULL (or \N) as nil; nil for i < 0.
	value(i int) []byte
}

// trimSpaces drops the spaces around a value (as in "a, b"); other
// blank characters are part of it, and make an id invalid.
func trimSpaces(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// nullValue reports the spellings of SQL NULL in exports: mysql -B prints
// NULL, SELECT ... INTO OUTFILE prints \N.
func nullValue(b []byte) bool {
	return string(b) == "NULL" || string(b) == `\N`
}

// csvReader reads RFC 4180 CSV: fields may be quoted, a quoted field may
// hold commas, doubled quotes and line breaks. A quote inside an unquoted
// field is taken as it is.
type csvReader struct {
	lines *lineReader
	buf   []byte // the record's fields, one after the other
	ends  []int  // where each field ends in buf
}

func (c *csvReader) len() int { return len(c.ends) }

func (c *csvReader) value(i int) []byte {
	if i < 0 {
		return nil
	}
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	v := trimSpaces(c.buf[start:c.ends[i]])
	if nullValue(v) {
		return nil
	}
	return v
}

func (c *csvReader) next() (int, string, bool) {
	for {
		b, tooLong, ok := c.lines.next()
		if !ok {
			return 0, "", false
		}
		start := c.lines.n
		if tooLong {
			return start, tooLongReason, true
		}
		if isBlankLine(b) {
			continue
		}
		return start, c.parse(trimCR(b), start), true
	}
}

const tooLongReason = "the line is longer than 1 MiB"

// parse reads the record that starts with line b, reading more lines while
// a quoted field goes on.
func (c *csvReader) parse(b []byte, start int) string {
	c.buf, c.ends = c.buf[:0], c.ends[:0]
	i := 0
	for {
		// One field starts at b[i].
		if i < len(b) && b[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(b[i:], '"')
				if j < 0 {
					// The field goes on past the line break, which is
					// part of it.
					c.buf = append(c.buf, b[i:]...)
					c.buf = append(c.buf, '\n')
					if len(c.buf) > MaxLine {
						c.skipQuoted()
						return "the row is longer than 1 MiB"
					}
					var tooLong, ok bool
					b, tooLong, ok = c.lines.next()
					if !ok {
						return fmt.Sprintf("the quoted field opened on line %d never closes", start)
					}
					if tooLong {
						return tooLongReason
					}
					b, i = trimCR(b), 0
					continue
				}
				c.buf = append(c.buf, b[i:i+j]...)
				i += j + 1
				if i < len(b) && b[i] == '"' { // a doubled quote
					c.buf = append(c.buf, '"')
					i++
					continue
				}
				break
			}
			c.ends = append(c.ends, len(c.buf))
			if i == len(b) {
				return ""
			}
			if b[i] != ',' {
				return fmt.Sprintf("malformed CSV: %s after the closing quote of field %d; a quote inside a quoted field is written twice", quote(b[i:i+1]), len(c.ends))
			}
			i++
		} else {
			j := bytes.IndexByte(b[i:], ',')
			if j < 0 {
				c.buf = append(c.buf, b[i:]...)
				c.ends = append(c.ends, len(c.buf))
				return ""
			}
			c.buf = append(c.buf, b[i:i+j]...)
			c.ends = append(c.ends, len(c.buf))
			i += j + 1
		}
		if i == len(b) { // a comma ends the line: one more, empty field
			c.ends = append(c.ends, len(c.buf))
			return ""
		}
	}
}

// skipQuoted reads on to the end of a quoted field that is too long to keep,
// and to the end of its line, keeping nothing.
func (c *csvReader) skipQuoted() {
	inQuote := true
	for {
		b, _, ok := c.lines.next()
		if !ok {
			return
		}
		for _, ch := range b {
			if ch == '"' {
				inQuote = !inQuote // a doubled quote flips twice
			}
		}
		if !inQuote {
			return
		}
	}
}

// tsvReader reads what `mysql -B` prints: fields split by tabs, no quoting,
// tab, newline, backslash and NUL escaped as \t \n \\ \0, NULL for null.
type tsvReader struct {
	lines  *lineReader
	fields [][]byte // slices of the current line
	esc    []byte   // scratch for unescaped values
}

func (t *tsvReader) len() int { return len(t.fields) }

func (t *tsvReader) next() (int, string, bool) {
	for {
		b, tooLong, ok := t.lines.next()
		if !ok {
			return 0, "", false
		}
		if tooLong {
			return t.lines.n, tooLongReason, true
		}
		if isBlankLine(b) {
			continue
		}
		b = trimCR(b)
		t.fields, t.esc = t.fields[:0], t.esc[:0]
		for {
			j := bytes.IndexByte(b, '\t')
			if j < 0 {
				t.fields = append(t.fields, b)
				break
			}
			t.fields = append(t.fields, b[:j])
			b = b[j+1:]
		}
		return t.lines.n, "", true
	}
}

func (t *tsvReader) value(i int) []byte {
	if i < 0 {
		return nil
	}
	v := trimSpaces(t.fields[i])
	if nullValue(v) {
		return nil
	}
	if bytes.IndexByte(v, '\\') >= 0 {
		v = unescapeTSV(v, &t.esc)
	}
	return v
}

// unescapeTSV undoes mysql's escapes. A backslash before anything else
// stays as it is. The result is appended to *scratch.
func unescapeTSV(v []byte, scratch *[]byte) []byte {
	if cap(*scratch)-len(*scratch) < len(v) {
		*scratch = make([]byte, 0, max(2*cap(*scratch), 4*len(v), 256))
	}
	start := len(*scratch)
	out := *scratch
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if ch == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case 't':
				ch = '\t'
			case 'n':
				ch = '\n'
			case 'r':
				ch = '\r'
			case '0':
				ch = 0
			case '\\':
				ch = '\\'
			default:
				out = append(out, ch)
				continue
			}
			i++
		}
		out = append(out, ch)
	}
	*scratch = out
	return out[start:]
}
