package resolve

import (
	"slices"
	"strings"
	"testing"
)

func readAll(t testing.TB, src string) ([]string, error) {
	in := NewInput(strings.NewReader(src), "ids")
	var out []string
	for {
		id, ok, err := in.Next()
		if err != nil || !ok {
			return out, err
		}
		out = append(out, id)
	}
}

// Each input format gives its openids in order, blank lines none, a row
// without an openid its text (so that it resolves as malformed).
func TestInputFormats(t *testing.T) {
	const a, b = "oAAAAAAAAAAAAAAAAAAAAAAAAAAA", "oBBBBBBBBBBBBBBBBBBBBBBBBBBB"
	tests := []struct {
		name, src string
		want      []string
	}{
		{"plain lines", a + "\n\n  " + b + "  \r\n", []string{a, b}},
		{"a one-column header", "OpenID\n" + a + "\n", []string{a}},
		{"CSV with a BOM and quotes", "\uFEFFname,openid\n\"Li, Lei\"," + a + "\n\"two\nlines\"," + b + "\nshort\n", []string{a, b, ""}},
		{"mysql -B TSV", "id\topenid\tunionid\n1\t" + a + "\tNULL\n2\t" + b + "\n", []string{a, b}},
		{"JSON lines", `{"openid":"` + a + `","x":1}` + "\n\n" + `{"openid":"` + b + `"}` + "\nnot json\n{}\n", []string{a, b, "not json", "{}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.src)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %q (%v), want %q", got, err, tt.want)
			}
		})
	}
	if _, err := readAll(t, "name,phone\nx,1\n"); err == nil || !strings.Contains(err.Error(), "ids:1: the header has no openid column") {
		t.Errorf("a header without openid: %v", err)
	}
}

// No input makes the reader panic, loop or give more rows than lines.
func FuzzInput(f *testing.F) {
	for _, s := range []string{"oA\noB\n", "openid,x\n\"a\nb\",1\n", "\uFEFF{\"openid\":1}\n", "a\tb\nopenid\n", "\"\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		got, _ := readAll(t, src)
		if len(got) > strings.Count(src, "\n")+1 {
			t.Fatalf("%d rows from %d lines", len(got), strings.Count(src, "\n")+1)
		}
	})
}
