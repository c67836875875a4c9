package ids

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPastedReadsTicketLines(t *testing.T) {
	const id = "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i"
	for _, in := range []string{id, " " + id + "\n", "openid: '" + id + "'", `{"openid":"` + id + `"}`, "openid=" + id + "&x=1", "<" + id + ">", "用户 " + id + " 投诉"} {
		got, err := Pasted(in)
		if err != nil || got != id {
			t.Errorf("Pasted(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "hello", id[:27], id + "x"} {
		if got, err := Pasted(in); !errors.Is(err, ErrNoID) {
			t.Errorf("Pasted(%q) = %q, %v; want ErrNoID", in, got, err)
		}
	}
	if got, err := Pasted(id + " oSp7vQ7hJ2kL9mN4bV6cX8zA1sD3"); !errors.Is(err, ErrSeveralIDs) {
		t.Errorf("two ids: %q, %v; want ErrSeveralIDs", got, err)
	}
}

// FuzzPasted: whatever support pastes, Pasted returns a 28-character id made
// of id characters that stands in the input, or an error; it never panics.
func FuzzPasted(f *testing.F) {
	for _, s := range []string{"openid: 'oNw3kT0c1kP4xQ9w2E5r7T1y3U6i'", "[oNw3kT0c1kP4xQ9w2E5r7T1y3U6i]", "", "用户 oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", "\x1b]52;c;oNw3kT0c1kP4xQ9w2E5r7T1y3U6i\x07"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		all := All(s)
		for i, a := range all {
			if len(a) != Len || !strings.Contains(s, a) || slices.Contains(all[:i], a) {
				t.Fatalf("All(%q) = %q", s, all)
			}
		}
		id, err := Pasted(s)
		if (len(all) == 1) != (err == nil) || err == nil && id != all[0] {
			t.Fatalf("Pasted(%q) = %q, %v but All = %q", s, id, err, all)
		}
		if err != nil {
			return
		}
		if len(id) != Len || !strings.Contains(s, id) {
			t.Fatalf("Pasted(%q) = %q", s, id)
		}
		for _, r := range id {
			if !IsChar(r) {
				t.Fatalf("Pasted(%q) = %q holds %q", s, id, r)
			}
		}
	})
}
