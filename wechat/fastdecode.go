package wechat

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// fastUserList reads a user/info/batchget answer of the usual shape without
// reflection: a sync decodes 100 such profiles per call, and encoding/json
// spent half the CPU of a call (client and simulator together) on them.
//
// It is an accelerator, not a second decoder: it reports ok=false for
// anything outside what it fully understands (an errcode, null, quoted or
// fractional numbers, raw control characters, invalid UTF-8, surrogate
// escapes, duplicate or case-folded keys, any malformed JSON), and the caller
// then takes decodeJSON, which decides. When it reports ok=true its result is
// exactly what decodeJSON gives (FuzzFastUserListAgreesWithEncodingJSON).
func fastUserList(body []byte) (b userListBody, ok bool) {
	// One string for the whole body: the values without escapes are
	// slices of it, so a profile costs no allocation per field. The body
	// lives as long as any of them; it is 40 KB per 100 profiles.
	s := newScanner(body)
	s.ws()
	seenList := false
	more, ok := s.open('{', '}')
	for ; more; more, ok = s.next('}') {
		key, ok := s.key()
		if !ok {
			return b, false
		}
		switch {
		case string(key) == "user_info_list" && !seenList:
			seenList = true
			if b.List, ok = s.users(); !ok {
				return b, false
			}
		case foldsTo(key, "user_info_list", "errcode", "errmsg"):
			return b, false // a second list, an envelope or a key only encoding/json matches
		default:
			if !s.skip(0) {
				return b, false
			}
		}
	}
	s.ws()
	return b, ok && s.i == len(s.b)
}

// fastPage reads a user/get or getblacklist page as decodeJSON would into
// a pageBody, for the usual answer: total, count, next_openid and
// data.openid, strings and integer literals, unknown fields of any shape.
// Anything else (an envelope, null, a quoted number, a repeated or
// case-folded key) is left to encoding/json: ok is false. A page of 10 000
// openids is 300 KB of JSON, and encoding/json read it at 0.4 µs an openid,
// a third of a re-sync's work; the openids are slices of one copy of the
// body.
func fastPage(body []byte) (b pageBody, ok bool) {
	s := newScanner(body)
	s.ws()
	var seen uint32
	more, ok := s.open('{', '}')
	for ; more; more, ok = s.next('}') {
		key, ok := s.key()
		if !ok {
			return b, false
		}
		field := -1
		for i, k := range pageKeys {
			if string(key) == k {
				field = i
				break
			}
		}
		switch {
		case field >= 0:
			if seen&(1<<field) != 0 {
				return b, false
			}
			seen |= 1 << field
			switch pageKeys[field] {
			case "total":
				b.Total, ok = s.int()
			case "count":
				b.Count, ok = s.int()
			case "next_openid":
				b.NextOpenID, ok = s.str()
			case "data":
				var ids []string
				ids, ok = s.pageData()
				b.Data = &struct {
					OpenID []string `json:"openid"`
				}{ids}
			}
			if !ok {
				return b, false
			}
		case foldsTo(key, append(pageKeys[:], "errcode", "errmsg")...):
			return b, false
		default:
			if !s.skip(0) {
				return b, false
			}
		}
	}
	s.ws()
	return b, ok && s.i == len(s.b)
}

// pageKeys are pageBody's JSON names.
var pageKeys = [...]string{"total", "count", "next_openid", "data"}

// pageData reads a page's data object: its openid array of strings (nil
// when the object has none, as encoding/json leaves it).
func (s *scanner) pageData() (ids []string, ok bool) {
	seenIDs := false
	more, ok := s.open('{', '}')
	for ; more; more, ok = s.next('}') {
		key, ok := s.key()
		if !ok {
			return nil, false
		}
		switch {
		case string(key) == "openid" && !seenIDs:
			seenIDs = true
			ids = make([]string, 0, 10000)
			more, ok := s.open('[', ']')
			for ; more; more, ok = s.next(']') {
				id, ok := s.str()
				if !ok {
					return nil, false
				}
				ids = append(ids, id)
			}
			if !ok {
				return nil, false
			}
		case foldsTo(key, "openid"):
			return nil, false
		default:
			if !s.skip(0) {
				return nil, false
			}
		}
	}
	return ids, ok
}

// userKeys are userBody's JSON names, in field order.
var userKeys = [...]string{"subscribe", "openid", "unionid", "subscribe_time", "remark", "groupid", "tagid_list", "subscribe_scene", "qr_scene", "qr_scene_str"}

// users reads the user_info_list array.
func (s *scanner) users() ([]userBody, bool) {
	list := make([]userBody, 0, 100)
	more, ok := s.open('[', ']')
	for ; more; more, ok = s.next(']') {
		var u userBody
		if !s.user(&u) {
			return nil, false
		}
		list = append(list, u)
	}
	if !ok {
		return nil, false
	}
	return list, true
}

// user reads one element of user_info_list.
func (s *scanner) user(u *userBody) bool {
	var seen uint32
	more, ok := s.open('{', '}')
	for ; more; more, ok = s.next('}') {
		key, ok := s.key()
		if !ok {
			return false
		}
		switch field := userField(key); {
		case field >= 0:
			if seen&(1<<field) != 0 {
				return false // a repeated key: leave it to encoding/json
			}
			seen |= 1 << field
			if !s.userField(u, field) {
				return false
			}
		case foldsToUserKey(key):
			return false
		default:
			if !s.skip(0) {
				return false
			}
		}
	}
	return ok
}

// userField is the place of key in userKeys, -1 when it is none of them:
// a switch, which the compiler turns into a search by length and bytes,
// where a loop compared every key of the 17 of an answer's profile (seven
// blank legacy ones among them) with all ten.
func userField(key []byte) int {
	switch string(key) {
	case "subscribe":
		return 0
	case "openid":
		return 1
	case "unionid":
		return 2
	case "subscribe_time":
		return 3
	case "remark":
		return 4
	case "groupid":
		return 5
	case "tagid_list":
		return 6
	case "subscribe_scene":
		return 7
	case "qr_scene":
		return 8
	case "qr_scene_str":
		return 9
	}
	return -1
}

func (s *scanner) userField(u *userBody, field int) bool {
	var ok bool
	switch userKeys[field] {
	case "subscribe":
		u.Subscribe, ok = s.int()
	case "openid":
		u.OpenID, ok = s.str()
	case "unionid":
		u.UnionID, ok = s.str()
	case "subscribe_time":
		u.SubscribeTime, ok = s.int()
	case "remark":
		u.Remark, ok = s.str()
	case "groupid":
		u.GroupID, ok = s.int()
	case "tagid_list":
		u.TagIDList, ok = s.ints()
	case "subscribe_scene":
		u.SubscribeScene, ok = s.str()
	case "qr_scene":
		u.QRScene, ok = s.int()
	case "qr_scene_str":
		u.QRSceneStr, ok = s.str()
	}
	return ok
}

// foldsTo reports whether encoding/json would match key to one of names
// without it being exactly that name: it matches names case-insensitively,
// folding some non-ASCII letters (K, ſ) too, so any non-ASCII key counts.
func foldsTo(key []byte, names ...string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	for _, n := range names {
		if len(key) == len(n) && strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}

// foldsToUserKey is foldsTo(key, userKeys[:]...) by one lookup of the key
// in lower case rather than a comparison with each name: a profile of an
// answer has seven keys of no use (nickname, sex, city and the like), and
// comparing them with all ten names was a tenth of the decoding. For an
// ASCII key, encoding/json's folding is ASCII's.
func foldsToUserKey(key []byte) bool {
	var low [16]byte // every user key is shorter
	if len(key) > len(low) {
		return foldsTo(key) // non-ASCII folds; an ASCII key this long matches none
	}
	for i, c := range key {
		switch {
		case c >= utf8.RuneSelf:
			return true
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		low[i] = c
	}
	return userField(low[:len(key)]) >= 0
}

// newScanner scans body, which is the string its values are slices of, not
// a copy (a million profiles are 400 MB of answers): an answer's body is
// never written again once read (Client.roundTrip), and nothing else is
// handed to the fast decoders.
func newScanner(body []byte) scanner {
	return scanner{b: body, src: unsafe.String(unsafe.SliceData(body), len(body))}
}

// scanner walks a JSON text. Every method leaves i past what it read and
// reports false for anything it does not accept.
type scanner struct {
	b   []byte
	src string // b as a string, for values without escapes
	i   int
}

// ws passes over white space. JSON answers are mostly compact, so the
// check for none is small enough to inline everywhere and the loop is not.
func (s *scanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	s.spaces()
}

func (s *scanner) spaces() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c if it is next.
func (s *scanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// open reads the opening byte of an object or array, open, and the space
// after it; more reports that an element follows, not close.
func (s *scanner) open(open, close byte) (more, ok bool) {
	if !s.byte(open) {
		return false, false
	}
	s.ws()
	if s.byte(close) {
		return false, true
	}
	return true, true
}

// next reads what follows an element of an object or array: a comma and
// the space after it (more), or the closing byte close.
func (s *scanner) next(close byte) (more, ok bool) {
	s.ws()
	if s.byte(close) {
		return false, true
	}
	if !s.byte(',') {
		return false, false
	}
	s.ws()
	return true, true
}

// key reads an object key, the colon after it and the space before the
// value. The key is only compared, never kept, so it may be a view of the
// body.
func (s *scanner) key() ([]byte, bool) {
	k, ok := s.rawStr()
	if !ok {
		return nil, false
	}
	s.ws()
	if !s.byte(':') {
		return nil, false
	}
	s.ws()
	return k, true
}

// int reads an integer literal that fits an int64 (no fraction, exponent or
// quotes: flexInt's other cases are encoding/json's).
func (s *scanner) int() (flexInt, bool) {
	start := s.i
	s.byte('-')
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	n := s.i - digits
	if n == 0 || (n > 1 && s.b[digits] == '0') || n > 18 {
		return 0, false // not a number, a leading zero, or maybe past int64
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	// At most 18 digits: no overflow, and strconv.ParseInt's result.
	var v int64
	for _, c := range s.b[digits:s.i] {
		v = v*10 + int64(c-'0')
	}
	if digits > start {
		v = -v
	}
	return flexInt(v), true
}

// ints reads an array of integer literals; [] gives an empty, non-nil slice,
// as encoding/json does.
func (s *scanner) ints() ([]flexInt, bool) {
	out := []flexInt{}
	more, ok := s.open('[', ']')
	for ; more; more, ok = s.next(']') {
		v, ok := s.int()
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	if !ok {
		return nil, false
	}
	return out, true
}

// str reads a string of valid UTF-8 without raw control characters; of the
// escapes it takes all but \u surrogates.
func (s *scanner) str() (string, bool) {
	start := s.i + 1
	v, ok := s.rawStr()
	switch {
	case !ok:
		return "", false
	case len(v) == s.i-1-start && (len(v) == 0 || &v[0] == &s.b[start]):
		return s.src[start : s.i-1], true // no escapes: a slice of the body
	}
	return string(v), true
}

// plainByte is true for the bytes a string holds as they are: ASCII
// other than controls, the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainWord reports whether all eight bytes of w are plainBytes, eight at
// a time (a string of an answer is mostly plain ASCII: ids, names of
// scenes): no byte below 0x20, none from 0x80 up, no quote, no backslash.
// The test for a zero byte, (x - 0x01…) &^ x & 0x80…, finds one only where
// there is one.
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	below := (w - 0x20*ones) &^ w & highs // a byte below 0x20, likewise
	return (w&highs)|below|zero(w^('"'*ones))|zero(w^('\\'*ones)) == 0
}

// rawStr is str's bytes: a view of the body when the string holds no
// escapes, else a new slice.
func (s *scanner) rawStr() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		b, i := s.b, s.i // in registers: this loop is most of the decoding
		for i+8 <= len(b) && plainWord(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		s.i = i
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\':
			return s.escapedStr(start)
		case c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false
			}
			s.i += size
		}
	}
	return nil, false
}

// escapedStr goes on with a string that holds escapes, from its start.
func (s *scanner) escapedStr(start int) ([]byte, bool) {
	out := append(make([]byte, 0, s.i-start+16), s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return out, true
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, false
			}
			e := s.b[s.i+1]
			s.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				if s.i+4 > len(s.b) {
					return nil, false
				}
				var v rune
				for _, h := range s.b[s.i : s.i+4] {
					switch {
					case h >= '0' && h <= '9':
						v = v<<4 | rune(h-'0')
					case h >= 'a' && h <= 'f':
						v = v<<4 | rune(h-'a'+10)
					case h >= 'A' && h <= 'F':
						v = v<<4 | rune(h-'A'+10)
					default:
						return nil, false
					}
				}
				if v >= 0xd800 && v < 0xe000 {
					return nil, false // surrogates are encoding/json's to pair or replace
				}
				out = utf8.AppendRune(out, v)
				s.i += 4
			default:
				return nil, false
			}
		case c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			out = append(out, c)
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false
			}
			out = append(out, s.b[s.i:s.i+size]...)
			s.i += size
		}
	}
	return nil, false
}

// maxSkipDepth bounds the nesting of skipped values (encoding/json allows
// 10 000; unknown fields of real answers are flat).
const maxSkipDepth = 32

// skip passes over one JSON value of any kind, checking its grammar.
func (s *scanner) skip(depth int) bool {
	if s.i >= len(s.b) || depth > maxSkipDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, ok := s.rawStr()
		return ok
	case c == '{':
		more, ok := s.open('{', '}')
		for ; more; more, ok = s.next('}') {
			if _, ok := s.key(); !ok || !s.skip(depth+1) {
				return false
			}
		}
		return ok
	case c == '[':
		more, ok := s.open('[', ']')
		for ; more; more, ok = s.next(']') {
			if !s.skip(depth + 1) {
				return false
			}
		}
		return ok
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		return s.number()
	}
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// number passes over a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	s.byte('-')
	switch {
	case s.byte('0'):
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.byte('.') && !s.digits() {
		return false
	}
	if s.byte('e') || s.byte('E') {
		if !s.byte('+') {
			s.byte('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits passes over one or more digits.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
