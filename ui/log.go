package ui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"wxscope/sanitize"
	"wxscope/wording"
)

// The message log (L), like lazygit's command log: every error and every
// sync result of the session with its whole text, which the footer can only
// show cut to the width and until the next key.

// LogMsg adds a line to the message log without showing it in the footer:
// a sync's result, which its row already shows.
type LogMsg struct {
	Text  string
	Error bool
}

// Log returns a command that adds text to the message log.
func Log(text string, isErr bool) tea.Cmd {
	return func() tea.Msg { return LogMsg{Text: text, Error: isErr} }
}

// logEntry is one message of the session.
type logEntry struct {
	at    time.Time
	text  string
	error bool
}

// messageLog is the session's messages, oldest first, shared by the root
// (which writes) and the Log view (which reads) on the UI goroutine.
type messageLog struct {
	entries []logEntry
}

// maxLog bounds the log: a session left open for weeks keeps its last
// messages, not all of them.
const maxLog = 2000

func (l *messageLog) add(at time.Time, text string, isErr bool) {
	if strings.TrimSpace(text) == "" {
		return
	}
	if len(l.entries) == maxLog {
		l.entries = append(l.entries[:0], l.entries[1:]...)
	}
	l.entries = append(l.entries, logEntry{at: at, text: text, error: isErr})
}

// LogKeys are the keys of the Log view.
type LogKeys struct {
	ListKeys
	Back key.Binding
}

// DefaultLogKeys returns the Log view's keys.
func DefaultLogKeys() LogKeys {
	return LogKeys{
		ListKeys: DefaultListKeys(),
		Back:     key.NewBinding(key.WithKeys("esc", "L"), key.WithHelp("esc/L", "back")),
	}
}

// ShortHelp implements help.KeyMap.
func (k LogKeys) ShortHelp() []key.Binding { return []key.Binding{k.Back, k.Up, k.Down} }

// FullHelp implements help.KeyMap.
func (k LogKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.column(), {k.Back}} }

// LogView shows the message log, newest at the bottom, wrapped to the
// width; it opens scrolled to the end and follows new messages there.
type LogView struct {
	c      *Common
	log    *messageLog
	keys   LogKeys
	width  int
	height int
	offset int  // the first line shown
	follow bool // at the end: new messages scroll into view
}

func newLogView(c *Common, log *messageLog) *LogView {
	return &LogView{c: c, log: log, keys: DefaultLogKeys(), follow: true}
}

// Init implements Page.
func (v *LogView) Init() tea.Cmd { return nil }

// SetSize implements Page.
func (v *LogView) SetSize(w, h int) { v.width, v.height = w, h }

// KeyMap implements Page.
func (v *LogView) KeyMap() help.KeyMap { return v.keys }

// CapturesInput implements Page.
func (v *LogView) CapturesInput() bool { return false }

// Update implements Page.
func (v *LogView) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		if w, ok := msg.(tea.MouseWheelMsg); ok {
			switch w.Button {
			case tea.MouseWheelUp:
				v.scroll(-3)
			case tea.MouseWheelDown:
				v.scroll(3)
			}
		}
		return nil
	}
	if key.Matches(k, v.keys.Back) {
		return Pop()
	}
	if d, ok := v.keys.step(k, v.page(), len(v.lines())); ok {
		v.scroll(d)
		return nil
	}
	return noKey(k)
}

func (v *LogView) page() int { return max(v.height-1, 1) }

func (v *LogView) scroll(d int) {
	n := len(v.lines())
	v.offset = min(max(v.offset+d, 0), max(n-v.page(), 0))
	v.follow = v.offset >= n-v.page()
}

// lines lays the log out for the width: "15:04:05  ⚠ text", the text
// wrapped under itself.
func (v *LogView) lines() []string {
	s := v.c.Styles
	const stamp = "15:04:05"
	lead := len(stamp) + 2 + 2
	var out []string
	for _, e := range v.log.entries {
		mark, st := "  ", s.Dim
		if e.error {
			mark, st = "⚠ ", s.Error
		}
		text := sanitize.Text(e.text)
		for j, l := range wrapWords(text, max(v.width-lead, 10)) {
			head := strings.Repeat(" ", lead)
			if j == 0 {
				head = s.Dim.Render(e.at.In(v.c.Loc).Format(stamp)) + "  " + mark
			}
			if e.error {
				l = st.Render(l)
			}
			out = append(out, head+l)
		}
	}
	return out
}

// View implements Page.
func (v *LogView) View() string {
	if v.width <= 0 || v.height <= 0 {
		return ""
	}
	s := v.c.Styles
	ls := v.lines()
	errs := 0
	for _, e := range v.log.entries {
		if e.error {
			errs++
		}
	}
	title := s.Title.Render("log") + s.Dim.Render(" · "+wording.Plural(len(v.log.entries), "message")+" this session")
	if errs > 0 {
		title += s.Dim.Render(" · ") + s.Error.Render(wording.Plural(errs, "error"))
	}
	if len(ls) == 0 {
		return title + "\n" + s.Dim.Render("  nothing yet: errors and the results of syncs land here, with their whole text")
	}
	if v.follow {
		v.offset = max(len(ls)-v.page(), 0)
	}
	v.offset = min(v.offset, max(len(ls)-v.page(), 0))
	return title + "\n" + strings.Join(ls[v.offset:min(v.offset+v.page(), len(ls))], "\n")
}
