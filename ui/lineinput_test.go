package ui

import (
	"strings"
	"testing"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// lineInputOps turns fuzz bytes into what a person does to a text box:
// each byte a key (the movement and deletion keys, or a typed rune), and a
// run after 0xff a paste.
func lineInputOps(in *lineInput, data []byte) {
	keys := []string{"left", "right", "home", "end", "backspace", "delete", "ctrl+w", "ctrl+u", "ctrl+k", "alt+left", "alt+right"}
	codes := map[string]tea.KeyPressMsg{
		"left": {Code: tea.KeyLeft}, "right": {Code: tea.KeyRight}, "home": {Code: tea.KeyHome}, "end": {Code: tea.KeyEnd},
		"backspace": {Code: tea.KeyBackspace}, "delete": {Code: tea.KeyDelete}, "ctrl+w": {Code: 'w', Mod: tea.ModCtrl},
		"ctrl+u": {Code: 'u', Mod: tea.ModCtrl}, "ctrl+k": {Code: 'k', Mod: tea.ModCtrl},
		"alt+left": {Code: tea.KeyLeft, Mod: tea.ModAlt}, "alt+right": {Code: tea.KeyRight, Mod: tea.ModAlt},
	}
	for i := 0; i < len(data); i++ {
		b := data[i]
		switch {
		case b == 0xff:
			in.update(tea.PasteMsg{Content: string(data[i+1:])})
			return
		case int(b) < len(keys):
			in.update(codes[keys[b]])
		default:
			r := []rune{'北', '上', 'a', 'B', ' ', '🎁', '\x1b', '-'}[int(b)%8]
			in.update(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
}

// FuzzLineInput: whatever is typed, moved over, deleted or pasted, the
// cursor stays in the text, no control character gets in, and the view
// fits its width.
func FuzzLineInput(f *testing.F) {
	f.Add([]byte{20, 0, 21, 4, 5}, 20)
	f.Add(append([]byte{0xff, '\x1b', ']', '0', ';', 'x', '\x07'}, "北"...), 8)
	f.Add([]byte{30, 31, 32, 2, 6, 7, 8, 9, 10}, 3)
	f.Fuzz(func(t *testing.T, data []byte, width int) {
		in := lineInput{prompt: "/ ", limit: 64, width: width % 80}
		lineInputOps(&in, data)
		if in.pos < 0 || in.pos > len(in.value) {
			t.Fatalf("cursor %d outside %d runes", in.pos, len(in.value))
		}
		if len(in.value) > in.limit {
			t.Fatalf("%d runes over the limit %d", len(in.value), in.limit)
		}
		if strings.ContainsFunc(in.get(), unicode.IsControl) {
			t.Fatalf("a control character got in: %q", in.get())
		}
		if in.width > 2 {
			if w := ansi.StringWidth(in.view(lipgloss.NewStyle(), lipgloss.NewStyle())) - len(in.prompt); w > in.width+1 {
				t.Fatalf("the view is %d cells for a width of %d", w, in.width)
			}
		}
	})
}
