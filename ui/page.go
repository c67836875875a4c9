package ui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/wording"
)

// Page is one screen behind the root model: Home, Followers, Person, Links,
// Doctor. Pages are pointers and change in place; the root owns the stack.
//
// Keys reach only the page on top of the stack. A page's own results and
// ticks are addressed to it (they implement addressed): the root delivers
// each to the page that asked, wherever it is in the stack, so a result that
// lands after its page was covered still reaches it, and another page of the
// same type never sees it. Every other message (CacheChangedMsg, the
// terminal's background colour) is offered to every page.
type Page interface {
	// Init returns the page's first command, e.g. loading its data; the
	// root runs it when the page is pushed.
	Init() tea.Cmd
	// Update handles a message and returns the next command.
	Update(msg tea.Msg) tea.Cmd
	// View draws the page in at most the size last given to SetSize.
	View() string
	// SetSize gives the page its area: the terminal minus the footer.
	SetSize(width, height int)
	// KeyMap is the page's keys for the footer and the full help; it may
	// change with the page's state (a filter box has other keys).
	KeyMap() help.KeyMap
	// CapturesInput reports whether a text box has the keyboard, so the
	// root must not treat q, ?, g or : as global keys.
	CapturesInput() bool
}

// Common is what every page shares, handed over as one pointer instead of
// many parameters. The root owns it; pages read it on every Update and View
// and never cache a style, because Styles changes when the terminal reports
// its background colour.
type Common struct {
	Styles Styles
	// Ctx is cancelled when the program quits; pass it to every reader call.
	Ctx context.Context
	// Now and Loc make dates and "3 min ago" deterministic in tests.
	Now func() time.Time
	Loc *time.Location
	// Persons resolves ids for the Person view; nil disables it.
	Persons PersonFinder
	// ReadOnly forbids every write to the cache: no sync, and the keys that
	// would start one are disabled (see WriteKey). Export to a file is still
	// allowed: it does not write the cache.
	ReadOnly bool
	// Clipboard is the local clipboard command y uses beside OSC 52; nil
	// means OSC 52 only.
	Clipboard *LocalClipboard
	// Lists reads tags, blacklists and the cached growth figures; nil shows
	// tag ids as numbers, marks nobody and draws no growth.
	Lists ListsReader
	// Growth refreshes the cached growth figures; nil (and a read-only UI)
	// shows only what the cache holds.
	Growth GrowthFunc
}

// WriteKey returns b disabled when the UI is read-only, so that a key which
// would write the cache (s, S: sync) neither shows in the help nor matches.
func (c *Common) WriteKey(b key.Binding) key.Binding {
	if c.ReadOnly {
		b.SetEnabled(false)
	}
	return b
}

// addressed is a message for one page only: a background result or a tick
// that page asked for, carrying the page. The root hands it to that page and
// to no other, and drops it when the page has left the stack, so a page needs
// no check of its own. A page's own message types implement it.
type addressed interface {
	Owner() Page
}

// PushMsg asks the root to put Page on top of the stack.
type PushMsg struct{ Page Page }

// PopMsg asks the root to go back to the previous page. On the last page it
// does nothing.
type PopMsg struct{}

// FlashMsg shows a one-line note in the footer until the next key. An
// error, or a note with Log set (an export's result), also goes to the
// message log (L) with its whole text.
type FlashMsg struct {
	Text  string
	Error bool
	Log   bool
}

// Push returns a command that pushes p.
func Push(p Page) tea.Cmd { return func() tea.Msg { return PushMsg{Page: p} } }

// Pop returns a command that goes back one page.
func Pop() tea.Cmd { return func() tea.Msg { return PopMsg{} } }

// Flash returns a command that shows text in the footer.
func Flash(text string) tea.Cmd { return func() tea.Msg { return FlashMsg{Text: text} } }

// FlashError returns a command that shows err in the footer, in the TUI's
// words (wording.Error).
func FlashError(err error) tea.Cmd {
	text := wording.Error(wording.TUI, "", err)
	return func() tea.Msg { return FlashMsg{Text: text, Error: true} }
}

// PersonLoadedMsg carries the result of a person lookup; the root opens the
// Person view on success and flashes the error otherwise.
type PersonLoadedMsg struct {
	Query  string
	Person *cache.Person
	Err    error
}

// LoadPerson returns a command that asks c.Persons for id.
func LoadPerson(c *Common, id string) tea.Cmd {
	if c.Persons == nil {
		return nil
	}
	ctx, persons := c.Ctx, c.Persons
	return func() tea.Msg {
		p, err := persons.Person(ctx, id)
		return PersonLoadedMsg{Query: id, Person: p, Err: err}
	}
}
