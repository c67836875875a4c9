package cache

import (
	"errors"
	"strings"
	"testing"
)

func TestPastedIDReadsTicketLines(t *testing.T) {
	const id = "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i"
	for _, in := range []string{id, " " + id + "\n", "openid: '" + id + "'", `{"openid":"` + id + `"}`, "openid=" + id + "&x=1", "<" + id + ">", "用户 " + id + " 投诉"} {
		got, err := PastedID(in)
		if err != nil || got != id {
			t.Errorf("PastedID(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "hello", id[:27], id + "x"} {
		if got, err := PastedID(in); !errors.Is(err, ErrNoID) {
			t.Errorf("PastedID(%q) = %q, %v; want ErrNoID", in, got, err)
		}
	}
	if got, err := PastedID(id + " oSp7vQ7hJ2kL9mN4bV6cX8zA1sD3"); !errors.Is(err, ErrSeveralIDs) {
		t.Errorf("two ids: %q, %v; want ErrSeveralIDs", got, err)
	}
}

// FuzzPastedID: whatever support pastes, PastedID returns a 28-character id
// made of id characters that stands in the input, or an error; it never
// panics.
func FuzzPastedID(f *testing.F) {
	for _, s := range []string{"openid: 'oNw3kT0c1kP4xQ9w2E5r7T1y3U6i'", "[oNw3kT0c1kP4xQ9w2E5r7T1y3U6i]", "", "用户 oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", "\x1b]52;c;oNw3kT0c1kP4xQ9w2E5r7T1y3U6i\x07"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := PastedID(s)
		if err != nil {
			return
		}
		if len(id) != IDLen || !strings.Contains(s, id) {
			t.Fatalf("PastedID(%q) = %q", s, id)
		}
		for _, r := range id {
			if !IsIDChar(r) {
				t.Fatalf("PastedID(%q) = %q holds %q", s, id, r)
			}
		}
	})
}
