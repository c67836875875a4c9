// Package ids reads openids and unionids out of what people paste: a bare
// id, or a line from a support ticket with quotes, brackets, "openid=" or
// "openid:" around it. The command line (wxscope lookup) and the TUI's jump
// prompt both read ids through it, so a ticket line works in either.
package ids

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Len is the length of an openid and of a unionid.
const Len = 28

// ErrNoID and ErrSeveralIDs are what Pasted says of text that holds no id,
// or more than one.
var (
	ErrNoID       = errors.New("no openid or unionid")
	ErrSeveralIDs = errors.New("more than one id")
)

// Pasted reads the one openid or unionid out of what support pasted. Ids
// are Len characters of letters, digits, '-' and '_'; anything else
// separates words.
func Pasted(s string) (string, error) {
	ids := All(s)
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		shown := strings.TrimSpace(s)
		if len(shown) > 80 {
			shown = shown[:80] + "…"
		}
		return "", fmt.Errorf("%w in %q: an id is %d letters, digits, - or _ (like oNw3kT0c1kP4xQ9w2E5r7T1y3U6i)", ErrNoID, shown, Len)
	default:
		return "", fmt.Errorf("%w in %q (%s); look up one at a time", ErrSeveralIDs, s, strings.Join(ids, ", "))
	}
}

// All returns the distinct ids in what support pasted, in the order they
// come, as Pasted reads them: when some of the 28-character words start
// with "o", as real ids do, only those.
func All(s string) []string {
	words := strings.FieldsFunc(s, func(r rune) bool { return !IsChar(r) })
	var ids []string
	for _, w := range words {
		if len(w) == Len && !slices.Contains(ids, w) {
			ids = append(ids, w)
		}
	}
	// Real ids start with "o"; prefer those when a line holds other
	// 28-character words.
	if len(ids) > 1 {
		var os []string
		for _, id := range ids {
			if id[0] == 'o' {
				os = append(os, id)
			}
		}
		if len(os) > 0 {
			ids = os
		}
	}
	return ids
}

// IsChar reports whether r may stand in an openid or unionid.
func IsChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}
