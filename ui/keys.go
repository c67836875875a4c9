package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"wxscope/sanitize"
)

// Key conventions, decided once for every view:
//
//   - j/k and ↓/↑ move a row; ctrl+d/ctrl+u half a page; pgdown/pgup (and
//     ctrl+f/ctrl+b) a page.
//   - home goes to the top, end or G to the bottom. Plain g is not "top" as
//     in vim: design.md gives g (and :) to "jump to an id", the more useful
//     key for support staff, and a two-key gg would make g wait for a second
//     key. The help says so.
//   - / filters, enter opens, esc goes back (or clears the filter first),
//     ? shows every key, L the message log, q quits (ctrl+c quits even
//     while typing).
//
// Each view has its own KeyMap whose ShortHelp and FullHelp are built from
// the very bindings Update matches on, so the help cannot drift from the keys.

// GlobalKeys are handled by the root model whenever the focused page is not
// taking text input (ctrl+c always).
type GlobalKeys struct {
	Quit      key.Binding
	ForceQuit key.Binding
	Help      key.Binding
	Jump      key.Binding
	Log       key.Binding
}

// DefaultGlobalKeys returns the keys every view shares.
func DefaultGlobalKeys() GlobalKeys {
	return GlobalKeys{
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit now")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Jump:      key.NewBinding(key.WithKeys(":", "g"), key.WithHelp(":/g", "jump to an openid or unionid")),
		Log:       key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "log: every error and sync result, in full")),
	}
}

// ShortHelp implements help.KeyMap. The footer says the jump in fewer
// words than the full help: the same keys, so the two cannot drift.
func (k GlobalKeys) ShortHelp() []key.Binding {
	jump := k.Jump
	jump.SetHelp(k.Jump.Help().Key, "jump to id")
	log := k.Log
	log.SetHelp(k.Log.Help().Key, "log")
	return []key.Binding{jump, log, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap.
func (k GlobalKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Jump, k.Log, k.Help, k.Quit, k.ForceQuit}}
}

// ListKeys move a cursor through a list; every list view embeds them.
type ListKeys struct {
	Up       key.Binding
	Down     key.Binding
	HalfUp   key.Binding
	HalfDown key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
}

// DefaultListKeys returns the vim and arrow movement keys.
func DefaultListKeys() ListKeys {
	return ListKeys{
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down")),
		HalfUp:   key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "half page up")),
		HalfDown: key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "half page down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home"), key.WithHelp("home", "top (g is jump, not top)")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "bottom")),
	}
}

func (k ListKeys) column() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.HalfUp, k.HalfDown, k.PageUp, k.PageDown, k.Top, k.Bottom}
}

// step is how many rows a movement key moves the cursor (negative: up)
// through a list of n rows that shows page of them at once; ok is false for
// any other key.
func (k ListKeys) step(msg tea.KeyPressMsg, page, n int) (d int, ok bool) {
	switch {
	case key.Matches(msg, k.Up):
		return -1, true
	case key.Matches(msg, k.Down):
		return 1, true
	case key.Matches(msg, k.HalfUp):
		return -max(page/2, 1), true
	case key.Matches(msg, k.HalfDown):
		return max(page/2, 1), true
	case key.Matches(msg, k.PageUp):
		return -page, true
	case key.Matches(msg, k.PageDown):
		return page, true
	case key.Matches(msg, k.Top):
		return -n, true
	case key.Matches(msg, k.Bottom):
		return n, true
	}
	return 0, false
}

// FollowersKeys are the keys of the Followers view.
type FollowersKeys struct {
	ListKeys
	Filter     key.Binding
	Tags       key.Binding
	Sort       key.Binding
	Reverse    key.Binding
	Unfollowed key.Binding
	Open       key.Binding
	Copy       key.Binding
	Insights   key.Binding
	Export     key.Binding
	Back       key.Binding
	// Left and Right scroll the columns after the openid, for what a
	// narrow terminal leaves out.
	Left  key.Binding
	Right key.Binding
}

// DefaultFollowersKeys returns the Followers view's keys.
func DefaultFollowersKeys() FollowersKeys {
	return FollowersKeys{
		ListKeys:   DefaultListKeys(),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Tags:       key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "filter by tags")),
		Sort:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort by next column")),
		Reverse:    key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
		Unfollowed: key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "show/hide unfollowed")),
		Open:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "person")),
		Copy:       key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy openid")),
		Insights:   key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "insights: months, scenes, growth")),
		Export:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export the view (csv, jsonl, parquet)")),
		Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter / back")),
		Left:       key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "scroll the columns left")),
		Right:      key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "scroll the columns right (what is cut off)")),
	}
}

// ShortHelp implements help.KeyMap.
func (k FollowersKeys) ShortHelp() []key.Binding {
	cols := key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "columns"))
	// In the order they give way in a narrow footer: the last go first.
	return []key.Binding{k.Filter, k.Open, k.Copy, k.Sort, k.Tags, k.Unfollowed, cols, k.Insights, k.Export, k.Back}
}

// FullHelp implements help.KeyMap.
func (k FollowersKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		k.column(),
		{k.Filter, k.Tags, k.Sort, k.Reverse, k.Unfollowed, k.Open, k.Copy, k.Insights, k.Export, k.Back},
		{k.Left, k.Right},
	}
}

// FilterKeys are live while a filter box has the input.
type FilterKeys struct {
	Accept key.Binding
	Cancel key.Binding
}

// DefaultFilterKeys returns the keys of a filter box.
func DefaultFilterKeys() FilterKeys {
	return FilterKeys{
		Accept: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
	}
}

// ShortHelp implements help.KeyMap.
func (k FilterKeys) ShortHelp() []key.Binding { return []key.Binding{k.Accept, k.Cancel} }

// FullHelp implements help.KeyMap.
func (k FilterKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// PersonKeys are the keys of the Person view.
type PersonKeys struct {
	Up          key.Binding
	Down        key.Binding
	Copy        key.Binding
	CopyUnionID key.Binding
	Back        key.Binding
}

// DefaultPersonKeys returns the Person view's keys.
func DefaultPersonKeys() PersonKeys {
	l := DefaultListKeys()
	return PersonKeys{
		Up:          l.Up,
		Down:        l.Down,
		Copy:        key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy openid")),
		CopyUnionID: key.NewBinding(key.WithKeys("Y"), key.WithHelp("Y", "copy unionid")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	}
}

// ShortHelp implements help.KeyMap.
func (k PersonKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Copy, k.CopyUnionID, k.Back}
}

// FullHelp implements help.KeyMap.
func (k PersonKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.Copy, k.CopyUnionID, k.Back}}
}

// JumpKeys are live while the jump prompt has the input.
type JumpKeys struct {
	Go     key.Binding
	Cancel key.Binding
}

// DefaultJumpKeys returns the keys of the jump prompt.
func DefaultJumpKeys() JumpKeys {
	return JumpKeys{
		Go:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "look up")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// ShortHelp implements help.KeyMap.
func (k JumpKeys) ShortHelp() []key.Binding { return []key.Binding{k.Go, k.Cancel} }

// FullHelp implements help.KeyMap.
func (k JumpKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// HomeKeys are the keys of the home view, the list of apps.
type HomeKeys struct {
	ListKeys
	Open    key.Binding
	Sync    key.Binding
	SyncAll key.Binding
	Stop    key.Binding
	Refresh key.Binding
	Links   key.Binding
	Doctor  key.Binding
}

// DefaultHomeKeys returns the home view's keys.
func DefaultHomeKeys() HomeKeys {
	return HomeKeys{
		ListKeys: DefaultListKeys(),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "followers")),
		Sync:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sync")),
		SyncAll:  key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "sync all")),
		Stop:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop sync")),
		Refresh:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-read the cache")),
		Links:    key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "links")),
		Doctor:   key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "doctor")),
	}
}

// ShortHelp implements help.KeyMap.
func (k HomeKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Sync, k.Links, k.Doctor, k.Stop, k.SyncAll}
}

// FullHelp implements help.KeyMap.
func (k HomeKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom},
		{k.Open, k.Sync, k.SyncAll, k.Stop, k.Refresh},
		{k.Links, k.Doctor},
	}
}

// noKey is the answer to a key the page has no use for: every key gets
// one, so that a newcomer pressing r or enter in the wrong place learns it
// did nothing rather than wondering whether it is working.
func noKey(msg tea.KeyPressMsg) tea.Cmd {
	return Flash(sanitize.Text(msg.String()) + " does nothing here · ? shows the keys")
}

// readOnlyKeys are the keys that would write the cache: under --readonly
// they are disabled (Common.WriteKey) and say why when pressed.
var readOnlyKeys = key.NewBinding(key.WithKeys("s", "S", "x"))

// readOnlyNote is what a key that would sync says under --readonly.
func readOnlyNote() tea.Cmd {
	return Flash("read-only (--readonly): nothing syncs from here; start wxscope without --readonly to sync")
}
