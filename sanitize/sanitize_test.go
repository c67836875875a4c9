package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextNeutralisesHostileInput(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain ascii is untouched", "vip customer 42", "vip customer 42"},
		{"CJK and emoji survive", "VIP 客户 🎁", "VIP 客户 🎁"},
		{"emoji ZWJ sequence survives", "👩‍👩‍👧 family", "👩‍👩‍👧 family"},
		{"OSC 52 clipboard set with BEL is removed", "a\x1b]52;c;cm0gLXJmIH4=\x07b", "ab"},
		{"OSC 52 clipboard set with ST is removed", "a\x1b]52;c;cm0gLXJmIH4=\x1b\\b", "ab"},
		{"OSC 0 title is removed", "\x1b]0;pwned\x07remark", "remark"},
		{"OSC 8 hyperlink keeps its text", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"CSI colour is removed", "\x1b[31mred\x1b[0m", "red"},
		{"CSI cursor moves are removed", "x\x1b[2J\x1b[H\x1b[10;20Hy\x1b[1A", "xy"},
		{"private CSI is removed", "\x1b[?1049hz", "z"},
		{"8-bit CSI as raw byte is removed", "a\x9b31mb", "ab"},
		{"8-bit CSI as a rune is removed", "a\u009b2Jb", "ab"},
		{"8-bit OSC with 8-bit ST is removed", "a\u009d0;t\u009cb", "ab"},
		{"DCS is removed", "a\x1bP1$r0m\x1b\\b", "ab"},
		{"APC is removed", "a\x1b_Gf=100;AAAA\x1b\\b", "ab"},
		{"two-byte escapes are removed", "a\x1bcb\x1b7c\x1bM", "abc"},
		{"charset designation is removed", "a\x1b(Bb", "ab"},
		{"ESC at the end becomes visible", "remark\x1b", "remark␛"},
		{"unterminated OSC shows its text inertly", "hi\x1b]0;title", "hi␛]0;title"},
		{"OSC cut by another escape stays visible", "\x1b]0;t\x1b[31mx", "␛]0;tx"},
		{"CSI cut short stays visible", "\x1b[12", "␛[12"},
		{"CSI with a control inside stays visible", "\x1b[1\n2m", "␛[1 2m"},
		{"unterminated 8-bit CSI becomes U+FFFD", "a\u009b12", "a\ufffd12"},
		{"newlines and tabs become spaces", "a\nb\tc\r\nd\re", "a b c d e"},
		{"NEL and line separators become spaces", "a\u0085b\u2028c\u2029d", "a b c d"},
		{"other C0 controls become control pictures", "ding\x07\x00\x08", "ding␇␀␈"},
		{"DEL becomes a control picture", "a\x7fb", "a␡b"},
		{"lone C1 control becomes U+FFFD", "a\u0084b", "a\ufffdb"},
		{"bidi override is removed", "abc\u202etxt.exe", "abctxt.exe"},
		{"bidi isolates and marks are removed", "\u2066a\u2069\u200e\u200f\u061cb\u202a\u202c", "ab"},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb\xc3", "a\ufffdb\ufffd"},
		{"empty stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTextDoesNotAllocateForCleanInput(t *testing.T) {
	s := "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i VIP 客户 🎁"
	if n := testing.AllocsPerRun(100, func() { _ = Text(s) }); n != 0 {
		t.Fatalf("Text allocated %v times for a clean string", n)
	}
}

// checkSafe fails when out contains anything a terminal would interpret.
func checkSafe(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("Text(%q) = %q is not valid UTF-8", in, out)
	}
	for _, r := range out {
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			t.Fatalf("Text(%q) = %q keeps control %U", in, out, r)
		case isBidi(r), r == 0x2028, r == 0x2029:
			t.Fatalf("Text(%q) = %q keeps bidi or separator %U", in, out, r)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{
		"", "plain", "VIP 客户 🎁", "\x1b]52;c;aGk=\x07", "\x1b]0;t\x1b\\", "\x1b[2J",
		"\x9b31m", "\u009b1m", "\x1b", "\x1b]", "\x1bP", "\u202eabc", "\xff\xfe", "a\r\nb",
		"\x1b]0;\u4e1c\u009c", "\x1b(", "\u009d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Text(in)
		checkSafe(t, in, out)
		if again := Text(out); again != out {
			t.Fatalf("Text is not idempotent: %q → %q → %q", in, out, again)
		}
	})
}

var sink string

func BenchmarkText(b *testing.B) {
	cases := map[string]string{
		"ascii_id":   "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i",
		"cjk_emoji":  "VIP 客户 🎁 老客户，请勿打扰",
		"hostile":    "\x1b]52;c;cm0gLXJmIH4=\x07VIP\x1b[31m 客户\u202e\x1b]0;pwned\x07\r\n",
		"long_clean": strings.Repeat("remark 备注 ", 20),
	}
	for name, s := range cases {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				sink = Text(s)
			}
		})
	}
}

func TestCSVCellDefusesFormulas(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+86 138": "'+86 138", "-x": "'-x", "@SUM": "'@SUM",
		"\tx": "'\tx", "\rx": "'\rx", "oNw3k": "oNw3k", "": "", "VIP 客户": "VIP 客户",
		"a=1": "a=1", "'quoted": "'quoted", " =1": " =1"} {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}
