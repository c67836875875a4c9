package imports

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// bufSize is the read buffer: lines shorter than this are read without a
// copy.
const bufSize = 64 << 10

// lineReader hands out physical lines and counts them.
type lineReader struct {
	br   *bufio.Reader
	n    int    // the number of the last line handed out
	long []byte // scratch for a line longer than the buffer
	err  error  // the read error that ended the lines, other than io.EOF
	done bool
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, bufSize)}
}

// next returns the next line without its "\n". The slice is valid until
// the following call. tooLong is set for a line of more than MaxLine bytes,
// whose content is dropped. ok is false after the last line, or on a read
// error (then l.err is set).
func (l *lineReader) next() (line []byte, tooLong, ok bool) {
	if l.done {
		return nil, false, false
	}
	b, err := l.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		b, tooLong, err = l.longLine(b)
	}
	if err != nil {
		l.done = true
		if err != io.EOF {
			l.err = err
			return nil, false, false
		}
		if len(b) == 0 && !tooLong {
			return nil, false, false
		}
	}
	l.n++
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return b, tooLong, true
}

// longLine reads the rest of a line that overflowed the buffer, keeping at
// most MaxLine bytes of it.
func (l *lineReader) longLine(first []byte) ([]byte, bool, error) {
	l.long = append(l.long[:0], first...)
	tooLong := false
	for {
		b, err := l.br.ReadSlice('\n')
		if !tooLong {
			if len(l.long)+len(b) > MaxLine+1 { // +1: the "\n"
				tooLong = true
				l.long = l.long[:0]
			} else {
				l.long = append(l.long, b...)
			}
		}
		if err != bufio.ErrBufferFull {
			if tooLong {
				return nil, true, err
			}
			return l.long, false, err
		}
	}
}

// detect skips a UTF-8 BOM and tells the format from the first non-blank
// byte and, for delimited text, the header line. It consumes nothing but
// the BOM. An empty format means the source holds nothing but blank lines.
func (l *lineReader) detect() (Format, error) {
	b, err := l.br.Peek(bufSize)
	if err == io.EOF || errors.Is(err, bufio.ErrBufferFull) {
		err = nil
	}
	if err != nil {
		return "", err
	}
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		l.br.Discard(3)
		b = b[3:]
	}
	i := bytes.IndexFunc(b, func(r rune) bool { return !isBlank(r) })
	if i < 0 {
		if l.br.Buffered() == bufSize {
			return "", errBlankStart
		}
		return "", nil
	}
	if b[i] == '{' {
		return JSONLines, nil
	}
	// The header line starts after the blank lines (it may begin with a tab).
	start := bytes.LastIndexByte(b[:i], '\n') + 1
	end := bytes.IndexByte(b[start:], '\n')
	if end < 0 {
		if l.br.Buffered() == bufSize {
			return "", errHeaderTooLong
		}
		end = len(b) - start
	}
	if bytes.IndexByte(b[start:start+end], '\t') >= 0 {
		return TSV, nil
	}
	return CSV, nil
}

func isBlank(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }

// trimCR drops the "\r" of a CRLF line ending.
func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// isBlankLine reports a line of nothing but spaces, tabs and a "\r".
func isBlankLine(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
