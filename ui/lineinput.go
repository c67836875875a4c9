package ui

import (
	"strings"
	"unicode"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/sanitize"
)

// lineInput is the one-line text box of the filter and the jump prompt.
// Bubbles' textinput would do, but it pulls in a system clipboard library
// (github.com/atotto/clipboard) that is not in go.mod; pastes arrive as
// tea.PasteMsg through bracketed paste anyway. The keys are readline's:
// ← → (ctrl+b, ctrl+f) move by a character, alt+← alt+→ by a word, home
// end (ctrl+a, ctrl+e) to the ends; backspace and delete (ctrl+d) remove a
// character, ctrl+w and alt+backspace the word before the cursor, ctrl+u
// and ctrl+k everything before or after it. The cursor counts runes, and
// the view counts cells, so 北上 moves one character per key and draws two
// cells each.
type lineInput struct {
	prompt string
	value  []rune
	pos    int // the cursor: value[:pos] is before it
	limit  int
	width  int
}

// update applies a key or a paste and reports whether the value changed.
func (in *lineInput) update(msg tea.Msg) bool {
	before := string(in.value)
	in.pos = min(max(in.pos, 0), len(in.value))
	switch msg := msg.(type) {
	case tea.PasteMsg:
		in.insert(strings.TrimSpace(msg.Content))
	case tea.KeyPressMsg:
		switch msg.String() {
		case "left", "ctrl+b":
			in.pos = max(in.pos-1, 0)
		case "right", "ctrl+f":
			in.pos = min(in.pos+1, len(in.value))
		case "alt+left", "ctrl+left", "alt+b":
			in.pos = in.wordStart()
		case "alt+right", "ctrl+right", "alt+f":
			in.pos = in.wordEnd()
		case "home", "ctrl+a":
			in.pos = 0
		case "end", "ctrl+e":
			in.pos = len(in.value)
		case "backspace", "ctrl+h":
			if in.pos > 0 {
				in.value = append(in.value[:in.pos-1], in.value[in.pos:]...)
				in.pos--
			}
		case "delete", "ctrl+d":
			if in.pos < len(in.value) {
				in.value = append(in.value[:in.pos], in.value[in.pos+1:]...)
			}
		case "ctrl+w", "alt+backspace":
			start := in.wordStart()
			in.value = append(in.value[:start], in.value[in.pos:]...)
			in.pos = start
		case "ctrl+u":
			in.value = in.value[in.pos:]
			in.pos = 0
		case "ctrl+k":
			in.value = in.value[:in.pos]
		default:
			if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
				in.insert(msg.Text)
			}
		}
	}
	return string(in.value) != before
}

// wordStart is where the word before the cursor begins, spaces before it
// included.
func (in *lineInput) wordStart() int {
	i := in.pos
	for i > 0 && unicode.IsSpace(in.value[i-1]) {
		i--
	}
	for i > 0 && !unicode.IsSpace(in.value[i-1]) {
		i--
	}
	return i
}

// wordEnd is where the word at or after the cursor ends.
func (in *lineInput) wordEnd() int {
	i := in.pos
	for i < len(in.value) && unicode.IsSpace(in.value[i]) {
		i++
	}
	for i < len(in.value) && !unicode.IsSpace(in.value[i]) {
		i++
	}
	return i
}

// insert puts s at the cursor as typed text: controls and newlines never
// get in.
func (in *lineInput) insert(s string) {
	s = sanitize.Text(s)
	var add []rune
	for _, r := range s {
		if in.limit > 0 && len(in.value)+len(add) >= in.limit {
			break
		}
		if r != utf8.RuneError {
			add = append(add, r)
		}
	}
	tail := append(add, in.value[in.pos:]...)
	in.value = append(in.value[:in.pos], tail...)
	in.pos += len(add)
}

// set replaces the value and puts the cursor at its end.
func (in *lineInput) set(s string) { in.value, in.pos = []rune(s), len([]rune(s)) }

func (in *lineInput) get() string { return string(in.value) }

// view draws the prompt, as much of the value as fits around the cursor,
// and the cursor: a block at the end, the character under it in cursor
// (Styles.Cursor) elsewhere. What does not fit is cut with … on the side
// it goes on.
func (in *lineInput) view(promptStyle, cursor lipgloss.Style) string {
	pos := min(max(in.pos, 0), len(in.value))
	before, after := string(in.value[:pos]), ""
	under := "█"
	if pos < len(in.value) {
		under = cursor.Render(string(in.value[pos]))
		after = string(in.value[pos+1:])
	}
	if in.width > 0 {
		room := in.width - ansi.StringWidth(ansi.Strip(under))
		if w := ansi.StringWidth(before); w > room {
			before = ansi.TruncateLeft(before, w-room+1, "…")
		}
		room -= ansi.StringWidth(before)
		if w := ansi.StringWidth(after); w > room {
			after = ansi.Truncate(after, max(room, 0), "…")
		}
	}
	return promptStyle.Render(in.prompt) + before + under + after
}
