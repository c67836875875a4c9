package config

import (
	"strconv"
	"strings"
)

// The TOML parser reports positions only for syntax errors; its MetaData
// keeps each key's position unexported. So that every later error can name a
// line too, keyLines scans the (already valid) source once and records where
// each key and table header stands. It need not be a full TOML parser: it
// only has to find the start of each statement, and on a file it does not
// understand it degrades to line 0, never to a panic.

// keyLine is one key or table header of the source.
type keyLine struct {
	path []string
	// elem is the index of the [[array]] element the key belongs to, or -1
	// outside any array of tables.
	elem int
	line int
}

// keyLines are the lines of the keys and headers of one source, indexed by
// path, so that a lookup costs the same whatever the file's size: a file
// of 60 000 apps asks for every app's lines, and a scan of every key for
// each took 27 s.
type keyLines struct {
	byPath map[string]*pathLines
}

// pathLines are the lines of one path: the first in each element of its
// array of tables, and the first outside any (elem -1).
type pathLines struct {
	byElem map[int]int
	top    int // the first line with elem -1; 0 when none
}

// pathKey joins a path with a byte no TOML key holds unescaped.
func pathKey(path []string) string { return strings.Join(path, "\x00") }

func (kl *keyLines) add(k keyLine) {
	pk := pathKey(k.path)
	pl := kl.byPath[pk]
	if pl == nil {
		pl = &pathLines{byElem: map[int]int{}}
		kl.byPath[pk] = pl
	}
	if _, ok := pl.byElem[k.elem]; !ok {
		pl.byElem[k.elem] = k.line
	}
	if k.elem == -1 && pl.top == 0 {
		pl.top = k.line
	}
}

// scanKeyLines finds the line of every key and table header in src.
func scanKeyLines(src string) keyLines {
	s := &keyScanner{src: src, line: 1, arrays: map[string]int{}, out: keyLines{byPath: map[string]*pathLines{}}}
	s.run()
	return s.out
}

// find returns the line of key path in the elem-th element of its array of
// tables (elem -1 when not in one). When the key is not in the source, as
// for a key inside an inline table, it falls back to its nearest enclosing
// key; 0 means no line is known.
func (kl keyLines) find(path []string, elem int) int {
	for p := path; len(p) > 0; p = p[:len(p)-1] {
		pl := kl.byPath[pathKey(p)]
		if pl == nil {
			continue
		}
		if line, ok := pl.byElem[elem]; ok {
			return line
		}
		if pl.top != 0 {
			return pl.top
		}
	}
	return 0
}

type keyScanner struct {
	src    string
	i      int
	line   int
	table  []string
	arrays map[string]int // joined path of an array of tables → elements so far
	out    keyLines
}

func (s *keyScanner) eof() bool { return s.i >= len(s.src) }

func (s *keyScanner) peek(prefix string) bool { return strings.HasPrefix(s.src[s.i:], prefix) }

func (s *keyScanner) run() {
	for !s.eof() {
		switch c := s.src[s.i]; {
		case c == '\n':
			s.line++
			s.i++
		case c == ' ' || c == '\t' || c == '\r':
			s.i++
		case c == '#':
			s.skipComment()
		case s.peek("[["):
			s.i += 2
			path := s.readKey()
			s.table = path
			s.arrays[strings.Join(path, "\x00")]++
			s.emit(path)
			s.skipLine()
		case c == '[':
			s.i++
			path := s.readKey()
			s.table = path
			s.emit(path)
			s.skipLine()
		default:
			start := s.i
			path := s.readKey()
			if len(path) == 0 || s.eof() || s.src[s.i] != '=' {
				if s.i == start {
					s.i++ // a character no statement starts with: step over it
				}
				s.skipLine()
				continue
			}
			s.i++ // '='
			full := append(append([]string(nil), s.table...), path...)
			s.emit(full)
			s.skipValue()
		}
	}
}

func (s *keyScanner) emit(path []string) {
	if len(path) == 0 {
		return
	}
	elem := -1
	for n := len(path); n > 0; n-- {
		if c, ok := s.arrays[strings.Join(path[:n], "\x00")]; ok {
			elem = c - 1
			break
		}
	}
	s.out.add(keyLine{path: path, elem: elem, line: s.line})
}

// readKey reads a dotted key: bare, "basic" or 'literal' pieces.
func (s *keyScanner) readKey() []string {
	var path []string
	for {
		s.skipBlanks()
		if s.eof() {
			return path
		}
		switch s.src[s.i] {
		case '"':
			raw := s.readBasic()
			if v, err := strconv.Unquote(raw); err == nil {
				path = append(path, v)
			} else {
				path = append(path, strings.Trim(raw, `"`))
			}
		case '\'':
			path = append(path, strings.Trim(s.readLiteral(), "'"))
		default:
			start := s.i
			for !s.eof() && !strings.ContainsRune(" \t\r\n.=]#\"'", rune(s.src[s.i])) {
				s.i++
			}
			if s.i == start {
				return path
			}
			path = append(path, s.src[start:s.i])
		}
		s.skipBlanks()
		if s.eof() || s.src[s.i] != '.' {
			return path
		}
		s.i++
	}
}

func (s *keyScanner) skipBlanks() {
	for !s.eof() && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

func (s *keyScanner) skipComment() {
	for !s.eof() && s.src[s.i] != '\n' {
		s.i++
	}
}

// skipLine skips to the end of the line, leaving the newline for run.
func (s *keyScanner) skipLine() { s.skipComment() }

// readBasic reads a "basic string" starting at the quote and returns it with
// its quotes.
func (s *keyScanner) readBasic() string {
	start := s.i
	s.i++
	for !s.eof() {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return s.src[start:s.i]
		case '\n':
			return s.src[start:s.i]
		}
		s.i++
	}
	s.i = len(s.src)
	return s.src[start:]
}

func (s *keyScanner) readLiteral() string {
	start := s.i
	s.i++
	for !s.eof() {
		switch s.src[s.i] {
		case '\'':
			s.i++
			return s.src[start:s.i]
		case '\n':
			return s.src[start:s.i]
		}
		s.i++
	}
	return s.src[start:]
}

// skipMulti skips a multi-line string whose opening delimiter has been read,
// counting its newlines.
func (s *keyScanner) skipMulti(delim string, escapes bool) {
	for !s.eof() {
		switch {
		case escapes && s.src[s.i] == '\\':
			if s.i+1 < len(s.src) && s.src[s.i+1] == '\n' {
				s.line++
			}
			s.i += 2
		case s.peek(delim):
			s.i += len(delim)
			// A closing delimiter may be followed by up to two more quotes
			// that belong to the string.
			for n := 0; n < 2 && !s.eof() && s.src[s.i] == delim[0]; n++ {
				s.i++
			}
			return
		case s.src[s.i] == '\n':
			s.line++
			s.i++
		default:
			s.i++
		}
	}
	s.i = len(s.src)
}

// skipValue skips a value up to the end of its statement: strings may span
// lines, and so may arrays.
func (s *keyScanner) skipValue() {
	depth := 0
	for !s.eof() {
		switch c := s.src[s.i]; {
		case s.peek(`"""`):
			s.i += 3
			s.skipMulti(`"""`, true)
		case s.peek(`'''`):
			s.i += 3
			s.skipMulti(`'''`, false)
		case c == '"':
			s.readBasic()
		case c == '\'':
			s.readLiteral()
		case c == '[' || c == '{':
			depth++
			s.i++
		case c == ']' || c == '}':
			depth--
			s.i++
		case c == '#':
			s.skipComment()
		case c == '\n':
			if depth <= 0 {
				return
			}
			s.line++
			s.i++
		default:
			s.i++
		}
	}
}
