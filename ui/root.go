package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/ids"
	"wxscope/sanitize"
	"wxscope/wording"
)

// Theme chooses how the root styles the views.
type Theme int

const (
	// ThemeAuto asks the terminal for its background colour and picks the
	// dark or light palette (dark until the answer comes).
	ThemeAuto Theme = iota
	// ThemeNoColor uses emphasis but no colour, for NO_COLOR.
	ThemeNoColor
	// ThemePlain emits no escape sequence at all, for tests.
	ThemePlain
)

// ThemeFromEnv returns ThemeNoColor when NO_COLOR is set, else ThemeAuto.
func ThemeFromEnv(getenv func(string) string) Theme {
	if NoColor(getenv) {
		return ThemeNoColor
	}
	return ThemeAuto
}

// Options configure the root model.
type Options struct {
	Theme Theme
	// Persons resolves ids for the jump prompt and the Person view.
	Persons PersonFinder
	// Cleanup runs once when the user quits, off the UI goroutine, after
	// Common.Ctx is cancelled and before the program exits: stop syncs and
	// wait for them to save their progress, close the cache.
	Cleanup func()
	// Now and Loc default to time.Now and time.Local.
	Now func() time.Time
	Loc *time.Location
	// ReadOnly is the --readonly mode: no sync, no write to the cache.
	ReadOnly bool
	// Clipboard is a local clipboard command (DetectLocalClipboard) that y
	// uses beside OSC 52; nil copies through OSC 52 only.
	Clipboard *LocalClipboard
	// Lists and Growth become Common.Lists and Common.Growth.
	Lists  ListsReader
	Growth GrowthFunc
}

// Root is the Bubble Tea model at the top: a stack of pages, the footer
// with the short help, the full-help overlay, the jump prompt and quitting.
type Root struct {
	c       *Common
	cancel  context.CancelFunc
	theme   Theme
	cleanup func()

	stack  []Page
	width  int
	height int

	keys       GlobalKeys
	jumpKeys   JumpKeys
	listKeys   ListKeys // scroll the full help
	help       help.Model
	showHelp   bool
	helpOffset int // the first line of the help shown, when it scrolls

	jumping bool
	jump    lineInput

	flash    string
	flashErr bool
	quitting bool

	log messageLog // every error and sync result of the session (L)
}

// cleanupDoneMsg reports that Options.Cleanup has returned.
type cleanupDoneMsg struct{}

// NewRoot returns a root with no page yet; build pages with r.Common() and
// open the first one with r.Open.
func NewRoot(opts Options) *Root {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Common{Ctx: ctx, Now: opts.Now, Loc: opts.Loc, Persons: opts.Persons,
		ReadOnly: opts.ReadOnly, Clipboard: opts.Clipboard, Lists: opts.Lists, Growth: opts.Growth}
	if c.ReadOnly {
		c.Growth = nil // a refresh writes the cache
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Loc == nil {
		c.Loc = time.Local
	}
	r := &Root{
		c: c, cancel: cancel, theme: opts.Theme, cleanup: opts.Cleanup,
		keys: DefaultGlobalKeys(), jumpKeys: DefaultJumpKeys(), listKeys: DefaultListKeys(),
		help: help.New(), jump: lineInput{prompt: ": ", limit: 128},
	}
	r.applyStyles(true)
	return r
}

// Common returns the state shared with every page.
func (r *Root) Common() *Common { return r.c }

// Open puts the first page on the stack; call it before the program runs.
func (r *Root) Open(p Page) {
	r.stack = append(r.stack, p)
	if r.width > 0 {
		p.SetSize(r.width, r.bodyHeight())
	}
}

func (r *Root) applyStyles(isDark bool) {
	switch r.theme {
	case ThemePlain:
		r.c.Styles = PlainStyles()
	case ThemeNoColor:
		r.c.Styles = NoColorStyles()
	default:
		r.c.Styles = NewStyles(isDark)
	}
	r.help.Styles = r.c.Styles.Help
}

// Init implements tea.Model.
func (r *Root) Init() tea.Cmd {
	var cmds []tea.Cmd
	if r.theme == ThemeAuto {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	for _, p := range r.stack {
		cmds = append(cmds, p.Init())
	}
	return tea.Batch(cmds...)
}

func (r *Root) top() Page {
	if len(r.stack) == 0 {
		return nil
	}
	return r.stack[len(r.stack)-1]
}

// bodyHeight is the height given to pages: everything but the footer line.
func (r *Root) bodyHeight() int { return max(r.height-1, 0) }

// Update implements tea.Model.
func (r *Root) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		r.width, r.height = msg.Width, msg.Height
		r.help.SetWidth(msg.Width)
		r.jump.width = max(msg.Width-4, 1)
		for _, p := range r.stack {
			p.SetSize(r.width, r.bodyHeight())
		}
		return r, nil
	case tea.BackgroundColorMsg:
		r.applyStyles(msg.IsDark())
		return r, r.broadcast(msg)
	case tea.KeyPressMsg:
		return r, r.handleKey(msg)
	case tea.MouseMsg:
		// The mouse points at what is on screen: the page on top, and
		// nothing while an overlay or the quit covers it.
		if p := r.top(); p != nil && !r.showHelp && !r.quitting {
			return r, p.Update(msg)
		}
		return r, nil
	case tea.PasteMsg:
		if r.jumping {
			r.jump.update(msg)
			return r, nil
		}
		if p := r.top(); p != nil {
			return r, p.Update(msg)
		}
		return r, nil
	case PushMsg:
		if msg.Page == nil {
			return r, nil
		}
		r.stack = append(r.stack, msg.Page)
		msg.Page.SetSize(r.width, r.bodyHeight())
		return r, msg.Page.Init()
	case PopMsg:
		if len(r.stack) > 1 {
			r.stack = r.stack[:len(r.stack)-1]
		}
		return r, nil
	case FlashMsg:
		r.flash, r.flashErr = msg.Text, msg.Error
		if msg.Error || msg.Log || ansi.StringWidth(msg.Text) > r.width {
			r.log.add(r.c.Now(), msg.Text, msg.Error)
		}
		return r, nil
	case LogMsg:
		r.log.add(r.c.Now(), msg.Text, msg.Error)
		return r, nil
	case PersonLoadedMsg:
		if r.flash == lookingUp(msg.Query) {
			r.flash = "" // the answer is in: the note is stale
		}
		if msg.Err != nil {
			r.flash, r.flashErr = sanitize.Text(msg.Query+": "+wording.Error(wording.TUI, msg.Query, msg.Err)), true
			r.log.add(r.c.Now(), r.flash, true)
			return r, nil
		}
		return r, Push(NewPerson(r.c, msg.Person))
	case cleanupDoneMsg:
		return r, tea.Quit
	case addressed:
		return r, r.deliver(msg)
	}
	return r, r.broadcast(msg)
}

// deliver hands msg to the page it is addressed to, wherever it is in the
// stack; a message for a page that has left the stack is dropped.
func (r *Root) deliver(msg addressed) tea.Cmd {
	owner := msg.Owner()
	for _, p := range r.stack {
		if p == owner {
			return p.Update(msg)
		}
	}
	return nil
}

// broadcast offers a non-key message to every page, bottom to top.
func (r *Root) broadcast(msg tea.Msg) tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(r.stack))
	for _, p := range r.stack {
		cmds = append(cmds, p.Update(msg))
	}
	return tea.Batch(cmds...)
}

func (r *Root) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	if r.quitting {
		if key.Matches(msg, r.keys.ForceQuit) {
			return tea.Quit // a second ctrl+c does not wait for the cleanup
		}
		return nil
	}
	if key.Matches(msg, r.keys.ForceQuit) {
		return r.quit()
	}
	r.flash = ""
	if r.showHelp {
		// The movement keys scroll a help taller than the screen; any
		// other key closes it, and q still quits.
		if d, ok := r.listKeys.step(msg, max(r.bodyHeight()-4, 1), 1<<20); ok {
			r.helpOffset += d
			return nil
		}
		r.showHelp = false
		if key.Matches(msg, r.keys.Quit) {
			return r.quit()
		}
		return nil
	}
	if r.jumping {
		return r.handleJumpKey(msg)
	}
	p := r.top()
	if p == nil || !p.CapturesInput() {
		switch {
		case key.Matches(msg, r.keys.Quit):
			return r.quit()
		case key.Matches(msg, r.keys.Help):
			r.showHelp, r.helpOffset = true, 0
			return nil
		case key.Matches(msg, r.keys.Jump) && r.c.Persons != nil:
			r.jumping = true
			r.jump.set("")
			return nil
		case key.Matches(msg, r.keys.Log):
			if _, open := p.(*LogView); open {
				return Pop()
			}
			return Push(newLogView(r.c, &r.log))
		}
	}
	if p == nil {
		return nil
	}
	return p.Update(msg)
}

func (r *Root) handleJumpKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, r.jumpKeys.Cancel):
		r.jumping = false
		return nil
	case key.Matches(msg, r.jumpKeys.Go):
		id := strings.TrimSpace(r.jump.get())
		r.jumping = false
		if id == "" {
			return nil
		}
		// A line pasted from a ticket is read down to its one id, as
		// wxscope lookup reads it; text with no id is looked up as typed.
		switch pasted, err := ids.Pasted(id); {
		case err == nil:
			id = pasted
		case errors.Is(err, ids.ErrSeveralIDs):
			// The footer names the ids, not the whole pasted line; the log
			// keeps the line too.
			r.log.add(r.c.Now(), sanitize.Text(err.Error()), true)
			r.flash, r.flashErr = sanitize.Text("more than one id pasted ("+strings.Join(ids.All(id), ", ")+"): look up one at a time"), true
			return nil
		}
		r.flash = lookingUp(id)
		return LoadPerson(r.c, id)
	}
	r.jump.update(msg)
	return nil
}

// lookingUp is the footer's note while id is looked up.
func lookingUp(id string) string { return "looking up " + sanitize.Text(id) + "…" }

// quit cancels Common.Ctx, runs the cleanup off the UI goroutine and quits
// when it reports back, so syncs can save their progress first.
func (r *Root) quit() tea.Cmd {
	r.quitting = true
	r.cancel()
	cleanup := r.cleanup
	return func() tea.Msg {
		if cleanup != nil {
			cleanup()
		}
		return cleanupDoneMsg{}
	}
}

// Quitting reports whether the user asked to quit and the cleanup runs.
func (r *Root) Quitting() bool { return r.quitting }

// Depth is the number of pages on the stack.
func (r *Root) Depth() int { return len(r.stack) }

// View implements tea.Model.
func (r *Root) View() tea.View {
	v := tea.NewView(r.Render())
	v.AltScreen = true
	// Cell motion reports the wheel and clicks; shift+drag still selects
	// text in most terminals.
	v.MouseMode = tea.MouseModeCellMotion
	return v
}

// Render returns the whole screen as a string of exactly the terminal's
// height; tests assert on it.
func (r *Root) Render() string {
	if r.width <= 0 || r.height <= 0 {
		return ""
	}
	body := ""
	if p := r.top(); p != nil {
		body = p.View()
	}
	if r.showHelp {
		body = r.helpOverlay()
	}
	return fitLines(body, r.width, r.bodyHeight()) + "\n" + r.footer()
}

func (r *Root) footer() string {
	s := r.c.Styles
	var line string
	switch {
	case r.quitting:
		line = s.Dim.Render("quitting — saving sync progress… (ctrl+c again to quit now)")
	case r.jumping:
		line = r.jump.view(s.Prompt, s.Cursor) + s.Dim.Render("  openid or unionid · enter look up · esc cancel")
	case r.flash != "":
		text := r.flash
		if ansi.StringWidth(text) > r.width {
			// Cut to the width; the log has the whole of it.
			const more = " · L: in full"
			text = ansi.Truncate(text, max(r.width-len(more), 1), "…") + more
		}
		if r.flashErr {
			line = s.Error.Render(text)
		} else {
			line = s.Dim.Render(text)
		}
	case r.showHelp:
		line = s.Dim.Render("↑/↓ pgup/pgdn scroll · any other key closes · q quit")
	default:
		var page, global []key.Binding
		if p := r.top(); p != nil {
			page = p.KeyMap().ShortHelp()
		}
		if p := r.top(); p == nil || !p.CapturesInput() {
			global = r.keys.ShortHelp()
		}
		// ? and q show whatever the width: the page's keys give way first.
		must := func(b key.Binding) bool {
			return sameKeys(b, r.keys.Help) || sameKeys(b, r.keys.Quit)
		}
		line = shortHelp(s, page, global, must, r.width)
	}
	return ansi.Truncate(line, r.width, "…")
}

// sameKeys reports whether a and b are bound to the same keys.
func sameKeys(a, b key.Binding) bool { return slices.Equal(a.Keys(), b.Keys()) }

// helpOverlay is every key of the page on top and the global ones, laid
// out for the width, scrolling when taller than the screen.
func (r *Root) helpOverlay() string {
	s := r.c.Styles
	var groups [][]key.Binding
	if p := r.top(); p != nil {
		groups = append(groups, p.KeyMap().FullHelp()...)
	}
	groups = append(groups, r.keys.FullHelp()...)
	innerW := max(r.width-4, 1)
	lines := append([]string{s.Title.Render("keys"), ""}, helpLines(s, groups, innerW)...)
	lines = append(lines, "")
	note := "g jumps to an openid or unionid (it is not vim's top: use home). ↑/↓ scroll; any other key closes."
	for _, l := range strings.Split(ansi.Wrap(note, innerW, ""), "\n") {
		lines = append(lines, s.Dim.Render(l))
	}
	box, off := helpBox(s, lines, r.width, r.bodyHeight(), r.helpOffset)
	r.helpOffset = off
	return box
}

// fitLines cuts or pads s to exactly height lines, each at most width cells.
func fitLines(s string, width, height int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Truncate(l, width, "")
		}
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

var _ tea.Model = (*Root)(nil)
