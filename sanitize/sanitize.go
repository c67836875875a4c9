// Package sanitize makes strings from the outside world safe to draw in a
// terminal, and ([CSVCell]) to open in a spreadsheet. Every string that came from the WeChat API (remarks, ids, scene
// names, errmsg) crosses [Text] before it reaches the screen, so that no
// escape sequence in a follower's remark can move the cursor, set the
// clipboard (OSC 52), change the window title or reorder the text around it.
package sanitize

import (
	"strings"
	"unicode/utf8"
)

// Visible stand-ins for what cannot be drawn as it is. They are all one cell
// wide, so a hostile remark cannot shift the columns after it.
const (
	// EscMark replaces an ESC that does not begin a complete escape sequence:
	// the rest of the would-be sequence is then drawn as plain text, which
	// shows support staff that the remark carries one.
	EscMark = '␛'
	// Replacement stands for invalid UTF-8 and for C1 controls.
	Replacement = utf8.RuneError
)

// Text returns s with everything a terminal would interpret removed or made
// visible:
//
//   - complete escape sequences (CSI, OSC, DCS, SOS, PM, APC, nF and two-byte
//     escapes, in their 7-bit ESC form and their 8-bit C1 form) are removed;
//   - an ESC that does not start a complete sequence (an OSC without its
//     terminator, a CSI cut short) becomes ␛ and what followed it is kept as
//     inert text;
//   - newlines, carriage returns, tabs, NEL and the Unicode line and
//     paragraph separators become one space each (CRLF counts as one);
//   - other C0 controls and DEL become their Control Pictures (␇, ␈, ␡ …);
//   - other C1 controls and invalid UTF-8 become U+FFFD;
//   - bidi embeddings, overrides, isolates and marks (U+202A–U+202E,
//     U+2066–U+2069, U+200E, U+200F, U+061C) are removed, so a remark cannot
//     reverse the columns drawn after it.
//
// CJK, emoji and their joiners pass through untouched. A string that needs
// no change is returned as it is, without allocating; that is the common
// case, and Text runs for every visible cell.
func Text(s string) string {
	for i := 0; i < len(s); {
		b := s[i]
		if b >= 0x20 && b < 0x7f {
			i++
			continue
		}
		if b < utf8.RuneSelf {
			return slow(s, i)
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, n) {
			return slow(s, i)
		}
		i += n
	}
	return s
}

// unsafeRune reports whether the decoded rune r (of n bytes) needs rewriting.
func unsafeRune(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case isBidi(r), r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

func isBidi(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
}

// C1 control codes that open a sequence, as runes (and as raw bytes, which
// are invalid UTF-8 but which some terminals still honour).
const (
	c1DCS = 0x90
	c1SOS = 0x98
	c1ST  = 0x9c
	c1CSI = 0x9b
	c1OSC = 0x9d
	c1PM  = 0x9e
	c1APC = 0x9f
	c1NEL = 0x85
)

// slow rewrites s from byte i on; s[:i] is known clean.
func slow(s string, i int) string {
	var out strings.Builder
	out.Grow(len(s) + 8)
	out.WriteString(s[:i])
	for i < len(s) {
		b := s[i]
		switch {
		case b >= 0x20 && b < 0x7f:
			out.WriteByte(b)
			i++
		case b == 0x1b:
			if n := escSeqLen(s, i); n > 0 {
				i += n
				continue
			}
			out.WriteRune(EscMark)
			i++
		case b == '\r':
			out.WriteByte(' ')
			i++
			if i < len(s) && s[i] == '\n' {
				i++
			}
		case b == '\n' || b == '\t' || b == '\v' || b == '\f':
			out.WriteByte(' ')
			i++
		case b < 0x20:
			out.WriteRune(0x2400 + rune(b))
			i++
		case b == 0x7f:
			out.WriteRune(0x2421)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			c1 := rune(-1)
			switch {
			case r == utf8.RuneError && n == 1:
				if b >= 0x80 && b <= 0x9f {
					c1 = rune(b) // a raw 8-bit C1 control
				}
			case r >= 0x80 && r <= 0x9f:
				c1 = r
			}
			switch {
			case c1 >= 0:
				if m := c1SeqLen(s, i, c1, n); m > 0 {
					i += m
					continue
				}
				if c1 == c1NEL {
					out.WriteByte(' ')
				} else {
					out.WriteRune(Replacement)
				}
				i += n
			case r == utf8.RuneError && n == 1:
				out.WriteRune(Replacement)
				i++
			case isBidi(r):
				i += n
			case r == 0x2028 || r == 0x2029:
				out.WriteByte(' ')
				i += n
			default:
				out.WriteString(s[i : i+n])
				i += n
			}
		}
	}
	return out.String()
}

// escSeqLen returns the length of the complete escape sequence that starts
// with the ESC at s[i], or 0 when it is not complete (cut short by the end of
// the string, or by a byte no terminal would accept inside it).
func escSeqLen(s string, i int) int {
	if i+1 >= len(s) {
		return 0
	}
	switch c := s[i+1]; {
	case c == '[':
		return csiLen(s, i+2, i)
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		return strLen(s, i+2, i)
	case c >= 0x20 && c <= 0x2f: // nF: intermediates, then a final byte
		j := i + 1
		for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
			j++
		}
		if j < len(s) && s[j] >= 0x30 && s[j] <= 0x7e {
			return j + 1 - i
		}
		return 0
	case c >= 0x30 && c <= 0x7e: // Fp, Fe, Fs: ESC 7, ESC c, ESC M …
		return 2
	}
	return 0
}

// c1SeqLen is escSeqLen for an 8-bit introducer c1 of n bytes at s[i].
func c1SeqLen(s string, i int, c1 rune, n int) int {
	switch c1 {
	case c1CSI:
		return csiLen(s, i+n, i)
	case c1OSC, c1DCS, c1SOS, c1PM, c1APC:
		return strLen(s, i+n, i)
	}
	return 0
}

// csiLen scans CSI parameter and intermediate bytes from j up to the final
// byte and returns the length from start, or 0 when there is no final byte.
func csiLen(s string, j, start int) int {
	for j < len(s) && s[j] >= 0x30 && s[j] <= 0x3f {
		j++
	}
	for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
		j++
	}
	if j < len(s) && s[j] >= 0x40 && s[j] <= 0x7e {
		return j + 1 - start
	}
	return 0
}

// strLen scans a control string (OSC, DCS, SOS, PM, APC) from j to its
// terminator, BEL or ST (ESC \, or C1 ST as a rune or a raw byte), and returns
// the length from start, or 0 when it is not terminated. Any other ESC inside
// the string would cancel it in a terminal; we treat that as unterminated so
// the text stays visible.
func strLen(s string, j, start int) int {
	for j < len(s) {
		r, n := utf8.DecodeRuneInString(s[j:])
		switch {
		case r == 0x07 || r == c1ST:
			return j + n - start
		case r == utf8.RuneError && n == 1 && s[j] == c1ST:
			return j + 1 - start
		case r == 0x1b:
			if j+1 < len(s) && s[j+1] == '\\' {
				return j + 2 - start
			}
			return 0
		}
		j += n
	}
	return 0
}
