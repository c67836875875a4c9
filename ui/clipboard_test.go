package ui

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// fakeClipEnv makes the test binary a clipboard command: it writes its
// stdin to the file named there, and its $LC_ALL to that file + ".env".
const fakeClipEnv = "UI_TEST_FAKE_CLIPBOARD"

func init() {
	out := os.Getenv(fakeClipEnv)
	if out == "" {
		return
	}
	var in bytes.Buffer
	_, _ = in.ReadFrom(os.Stdin)
	if os.WriteFile(out, in.Bytes(), 0o600) != nil || os.WriteFile(out+".env", []byte(os.Getenv("LC_ALL")), 0o600) != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

func TestEachSystemsLocalClipboard(t *testing.T) {
	found := func(name string) (string, error) { return "/bin/" + name, nil }
	tests := []struct {
		name, goos string
		vars       map[string]string
		want       string // "" for none
	}{
		{"Windows", "windows", nil, "clip.exe"},
		{"Windows over SSH", "windows", map[string]string{"SSH_CONNECTION": "1 2 3 4"}, ""},
		{"macOS", "darwin", nil, "pbcopy"},
		{"macOS with a DISPLAY (XQuartz) still pbcopy", "darwin", map[string]string{"DISPLAY": ":0"}, "pbcopy"},
		{"macOS over SSH", "darwin", map[string]string{"SSH_CONNECTION": "1 2 3 4"}, ""},
		{"Linux without a display", "linux", nil, ""},
		{"Linux Wayland", "linux", map[string]string{"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "wl-copy"},
		{"Linux X11", "linux", map[string]string{"DISPLAY": ":0"}, "xclip"},
		{"Linux over SSH with X forwarding", "linux", map[string]string{"SSH_CONNECTION": "1 2 3 4", "DISPLAY": "localhost:10"}, "xclip"},
		{"WSL", "linux", map[string]string{"WSL_DISTRO_NAME": "Ubuntu", "WAYLAND_DISPLAY": "wayland-0"}, "clip.exe"},
		{"WSL over SSH", "linux", map[string]string{"WSL_DISTRO_NAME": "Ubuntu", "SSH_CONNECTION": "1 2 3 4", "DISPLAY": ":0"}, "xclip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc := detectLocalClipboard(tt.goos, func(k string) string { return tt.vars[k] }, found)
			if tt.want == "" {
				if lc != nil {
					t.Fatalf("got %+v, want none", lc)
				}
				return
			}
			if lc == nil || lc.Name != tt.want || lc.Path != "/bin/"+tt.want {
				t.Fatalf("got %+v, want %s", lc, tt.want)
			}
		})
	}
}

// The next tool is tried when one is missing: xsel when xclip is not
// installed, wl-copy under WSL when clip.exe is not on the PATH.
func TestAMissingClipboardToolFallsToTheNext(t *testing.T) {
	only := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			if slices.Contains(names, name) {
				return "/bin/" + name, nil
			}
			return "", errors.New("not found")
		}
	}
	x11 := func(k string) string { return map[string]string{"DISPLAY": ":0"}[k] }
	if lc := detectLocalClipboard("linux", x11, only("xsel")); lc == nil || lc.Name != "xsel" {
		t.Errorf("X11 with only xsel: %+v", lc)
	}
	wsl := func(k string) string {
		return map[string]string{"WSL_INTEROP": "/run/WSL/1_interop", "WAYLAND_DISPLAY": "wayland-0"}[k]
	}
	if lc := detectLocalClipboard("linux", wsl, only("wl-copy")); lc == nil || lc.Name != "wl-copy" {
		t.Errorf("WSL without clip.exe: %+v", lc)
	}
	if lc := detectLocalClipboard("windows", func(string) string { return "" }, only()); lc != nil {
		t.Errorf("Windows without clip.exe: %+v", lc)
	}
}

func TestClipExeGetsUTF16LEWithAByteOrderMark(t *testing.T) {
	tests := []struct {
		text string
		want []byte
	}{
		{"", []byte{0xFF, 0xFE}},
		{"oA1", []byte{0xFF, 0xFE, 'o', 0, 'A', 0, '1', 0}},
		// 老 U+8001, 客 U+5BA2, 户 U+6237
		{"老客户", []byte{0xFF, 0xFE, 0x01, 0x80, 0xA2, 0x5B, 0x37, 0x62}},
		// Outside the BMP: the surrogate pair D83D DE00.
		{"😀", []byte{0xFF, 0xFE, 0x3D, 0xD8, 0x00, 0xDE}},
	}
	for _, tt := range tests {
		if got := utf16LEWithBOM(tt.text); !bytes.Equal(got, tt.want) {
			t.Errorf("utf16LEWithBOM(%q) = % X, want % X", tt.text, got, tt.want)
		}
	}
	// And it decodes back, whatever the text.
	for _, s := range []string{"ovg9owgl 老客户 VIP 😀", "微信公众号 — テスト, 한국어"} {
		b := utf16LEWithBOM(s)
		units := make([]uint16, len(b)/2)
		for i := range units {
			units[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		if units[0] != 0xFEFF || string(utf16.Decode(units[1:])) != s {
			t.Errorf("%q does not round-trip: % X", s, b)
		}
	}
}

// The detected command really receives the encoded bytes and its extra
// environment: run here as this test binary posing as clip.exe and pbcopy.
func TestTheLocalClipboardCommandGetsEncodedTextAndItsLocale(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	as := func(string) (string, error) { return self, nil }
	// The stand-in is this test binary, which starts far slower than a
	// clipboard command on a loaded machine.
	defer func(d time.Duration) { clipboardTimeout = d }(clipboardTimeout)
	clipboardTimeout = time.Minute
	for _, goos := range []string{"windows", "darwin", "linux"} {
		t.Run(goos, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "clip")
			t.Setenv(fakeClipEnv, out)
			t.Setenv("LC_ALL", "C") // what a bare environment may have
			vars := map[string]string{"DISPLAY": ":0"}
			lc := detectLocalClipboard(goos, func(k string) string { return vars[k] }, as)
			if lc == nil {
				t.Fatal("no clipboard detected")
			}
			lc.Args = nil // this binary takes no xclip flags
			const id = "ovg9o 老客户"
			if err := lc.run(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(out)
			gotEnv, _ := os.ReadFile(out + ".env")
			want, wantEnv := []byte(id), "C"
			switch goos {
			case "windows":
				want = utf16LEWithBOM(id)
			case "darwin":
				wantEnv = "en_US.UTF-8"
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s read % X, want % X", lc.Name, got, want)
			}
			if string(gotEnv) != wantEnv {
				t.Errorf("%s ran with LC_ALL=%q, want %q", lc.Name, gotEnv, wantEnv)
			}
		})
	}
}

// Any valid text comes back from clip.exe's encoding as it went in.
func FuzzUTF16LEWithBOM(f *testing.F) {
	for _, s := range []string{"", "oA1", "老客户 VIP", "😀", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip()
		}
		b := utf16LEWithBOM(s)
		if len(b)%2 != 0 || len(b) < 2 {
			t.Fatalf("odd or empty encoding % X", b)
		}
		units := make([]uint16, len(b)/2)
		for i := range units {
			units[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		if units[0] != 0xFEFF || string(utf16.Decode(units[1:])) != s {
			t.Fatalf("%q does not round-trip: % X", s, b)
		}
	})
}
