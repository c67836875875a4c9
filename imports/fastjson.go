package imports

// fastJSONRow reads a JSON line of the usual shape without reflection: a
// flat object whose keys are plain ASCII and whose values are strings
// without escapes, numbers, true, false or null. Through encoding/json
// alone a JSON lines import ran four to eight times slower (BenchmarkRead1M).
//
// It is an accelerator, not a second decoder: it reports false for
// anything outside what it fully understands (an escape, a nested value, a
// key that is not plain ASCII, any malformed JSON), and the caller then
// takes encoding/json, which decides. When it reports true, jr holds
// exactly what encoding/json gives (FuzzFastJSONRowAgreesWithEncodingJSON).
func fastJSONRow(b []byte, jr *jsonRow) bool {
	s := jsonScan{b: b}
	if !s.take('{') {
		return false
	}
	s.ws()
	if s.take('}') {
		return s.end()
	}
	for {
		s.ws()
		key, ok := s.str(true)
		if !ok {
			return false
		}
		s.ws()
		if !s.take(':') {
			return false
		}
		s.ws()
		start := s.i
		if !s.value() {
			return false
		}
		if dst := jr.field(key); dst != nil {
			*dst = b[start:s.i]
		}
		s.ws()
		if s.take(',') {
			continue
		}
		if s.take('}') {
			return s.end()
		}
		return false
	}
}

// field is where the value of key goes, nil for a key of no interest. As
// encoding/json does, keys match case-insensitively and a later one wins.
func (jr *jsonRow) field(key []byte) *rawValue {
	switch {
	case asciiFold(key, "openid"):
		return &jr.OpenID
	case asciiFold(key, "unionid"):
		return &jr.UnionID
	case asciiFold(key, "first_seen"):
		return &jr.FirstSeen
	case asciiFold(key, "last_seen"):
		return &jr.LastSeen
	}
	return nil
}

// asciiFold compares an ASCII key with a lower-case name, ignoring case.
func asciiFold(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := range key {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\r' || s.b[s.i] == '\n') {
		s.i++
	}
}

func (s *jsonScan) take(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonScan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// str reads a string without escapes and returns its content. A key must
// also be ASCII: only encoding/json knows how other letters fold.
func (s *jsonScan) str(key bool) ([]byte, bool) {
	if !s.take('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\' || c < 0x20 || key && c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

func (s *jsonScan) value() bool {
	if s.i == len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, ok := s.str(false)
		return ok
	case c == 'n':
		return s.word("null")
	case c == 't':
		return s.word("true")
	case c == 'f':
		return s.word("false")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return false
}

func (s *jsonScan) word(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScan) number() bool {
	s.take('-')
	switch {
	case s.take('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.take('.') && !s.digits() {
		return false
	}
	if s.take('e') || s.take('E') {
		if !s.take('+') {
			s.take('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more digits.
func (s *jsonScan) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
