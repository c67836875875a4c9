package resolve

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxLine bounds one input line: an openid is 28 bytes, a CSV row of old
// records a few hundred.
const maxLine = 1 << 20

// Input reads the openids of resolve's input, one per row, in order: plain
// lines (one openid each), CSV or TSV with a header that names an openid
// column, or JSON lines with an "openid" key. Blank lines give no row; every
// other row gives its openid as written, "" or a broken line included (they
// resolve as malformed).
type Input struct {
	name string
	br   *bufio.Reader
	next func() (string, bool, error)
	line int
}

// NewInput reads r, named name in errors (a file name, or "standard input").
func NewInput(r io.Reader, name string) *Input {
	in := &Input{name: name, br: bufio.NewReaderSize(r, 64<<10)}
	in.next = in.start
	return in
}

// Next returns the next row's openid; ok is false at the end of the input.
func (in *Input) Next() (openid string, ok bool, err error) { return in.next() }

// readLine returns the next line without its line ending; ok is false at
// the end.
func (in *Input) readLine() (string, bool, error) {
	var buf []byte
	for {
		chunk, err := in.br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return "", false, fmt.Errorf("%s:%d: a line of over %d bytes; the input is not a list of openids", in.name, in.line+1, maxLine)
		}
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 {
				return "", false, nil
			}
		default:
			return "", false, fmt.Errorf("read %s: %w", in.name, err)
		}
		in.line++
		return strings.TrimRight(string(buf), "\r\n"), true, nil
	}
}

// start reads up to the first non-blank line and decides the format.
func (in *Input) start() (string, bool, error) {
	for {
		l, ok, err := in.readLine()
		if err != nil || !ok {
			return "", false, err
		}
		if in.line == 1 {
			l = strings.TrimPrefix(l, "\uFEFF")
		}
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		switch {
		case t[0] == '{':
			in.next = in.jsonLine
			return jsonOpenID(t), true, nil
		case strings.ContainsRune(l, '\t') || strings.ContainsRune(l, ','):
			return in.header(l)
		case strings.EqualFold(t, "openid"):
			in.next = in.plain // a header of one column
			return in.next()
		default:
			in.next = in.plain
			return t, true, nil
		}
	}
}

func (in *Input) plain() (string, bool, error) {
	for {
		l, ok, err := in.readLine()
		if err != nil || !ok {
			return "", false, err
		}
		if t := strings.TrimSpace(l); t != "" {
			return t, true, nil
		}
	}
}

func (in *Input) jsonLine() (string, bool, error) {
	for {
		l, ok, err := in.readLine()
		if err != nil || !ok {
			return "", false, err
		}
		if t := strings.TrimSpace(l); t != "" {
			return jsonOpenID(t), true, nil
		}
	}
}

// jsonOpenID is the openid of a JSON line, or the line itself when it has
// none (so the row shows what was there, as malformed).
func jsonOpenID(line string) string {
	var v struct {
		OpenID *string `json:"openid"`
	}
	if json.Unmarshal([]byte(line), &v) != nil || v.OpenID == nil {
		return line
	}
	return *v.OpenID
}

// header finds the openid column of a CSV or TSV header and switches to
// reading its rows.
func (in *Input) header(l string) (string, bool, error) {
	tsv := strings.ContainsRune(l, '\t')
	var cols []string
	if tsv {
		cols = strings.Split(l, "\t")
	} else {
		r := csv.NewReader(strings.NewReader(l))
		var err error
		if cols, err = r.Read(); err != nil {
			return "", false, fmt.Errorf("%s:%d: cannot read the header: %v", in.name, in.line, err)
		}
	}
	col := -1
	for i, c := range cols {
		if strings.EqualFold(strings.TrimSpace(c), "openid") {
			col = i
			break
		}
	}
	if col < 0 {
		return "", false, fmt.Errorf("%s:%d: the header has no openid column (it has %s); name the column of openids \"openid\"", in.name, in.line, strings.Join(cols, ", "))
	}
	if tsv {
		in.next = func() (string, bool, error) {
			for {
				l, ok, err := in.readLine()
				if err != nil || !ok {
					return "", false, err
				}
				if strings.TrimSpace(l) == "" {
					continue
				}
				f := strings.Split(l, "\t")
				if col >= len(f) {
					return "", true, nil
				}
				return f[col], true, nil
			}
		}
		return in.next()
	}
	// CSV rows may quote a line break: the csv reader reads the rest.
	r := csv.NewReader(in.br)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	in.next = func() (string, bool, error) {
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return "", false, nil
			}
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				return fmt.Sprintf("(unreadable CSV row at line %d)", in.line+perr.StartLine), true, nil
			}
			if err != nil {
				return "", false, fmt.Errorf("read %s: %w", in.name, err)
			}
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue
			}
			if col >= len(rec) {
				return "", true, nil
			}
			return rec[col], true, nil
		}
	}
	return in.next()
}
