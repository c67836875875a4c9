package ui

import "charm.land/bubbles/v2/key"

// The keys of the Links, Doctor and Insights views and the tag picker. They live beside
// keys.go, with the same conventions: ShortHelp and FullHelp are built from
// the bindings Update matches on.

// LinksKeys are the keys of the Links view.
type LinksKeys struct {
	ListKeys
	NextFilter key.Binding
	PrevFilter key.Binding
	Open       key.Binding
	Copy       key.Binding
	Refresh    key.Binding
	Back       key.Binding
}

// DefaultLinksKeys returns the Links view's keys.
func DefaultLinksKeys() LinksKeys {
	return LinksKeys{
		ListKeys:   DefaultListKeys(),
		NextFilter: key.NewBinding(key.WithKeys("tab", "right", "l"), key.WithHelp("tab/→", "next filter")),
		PrevFilter: key.NewBinding(key.WithKeys("shift+tab", "left", "h"), key.WithHelp("shift+tab/←", "previous filter")),
		Open:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Copy:       key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy unionid")),
		Refresh:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "analyse again")),
		Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	}
}

// ShortHelp implements help.KeyMap.
func (k LinksKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.NextFilter, k.Open, k.Copy, k.Back}
}

// FullHelp implements help.KeyMap.
func (k LinksKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.column(), {k.NextFilter, k.PrevFilter, k.Open, k.Copy, k.Refresh, k.Back}}
}

// DoctorKeys are the keys of the Doctor view.
type DoctorKeys struct {
	Up      key.Binding
	Down    key.Binding
	Open    key.Binding
	Copy    key.Binding
	Refresh key.Binding
	Back    key.Binding
}

// DefaultDoctorKeys returns the Doctor view's keys.
func DefaultDoctorKeys() DoctorKeys {
	l := DefaultListKeys()
	return DoctorKeys{
		Up:      l.Up,
		Down:    l.Down,
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "show the followers behind it")),
		Copy:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy an example id")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "check again")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	}
}

// ShortHelp implements help.KeyMap: the footer says the keys in fewer
// words than the full help (the same keys, so the two cannot drift).
func (k DoctorKeys) ShortHelp() []key.Binding {
	short := func(b key.Binding, desc string) key.Binding {
		b.SetHelp(b.Help().Key, desc)
		return b
	}
	return []key.Binding{short(k.Open, "open"), short(k.Copy, "copy id"), k.Refresh, k.Back}
}

// FullHelp implements help.KeyMap.
func (k DoctorKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.Open, k.Copy, k.Refresh, k.Back}}
}

// InsightsKeys are the keys of the Insights view.
type InsightsKeys struct {
	Tab     key.Binding
	Shorter key.Binding
	Longer  key.Binding
	Refresh key.Binding
	Back    key.Binding
}

// DefaultInsightsKeys returns the Insights view's keys.
func DefaultInsightsKeys() InsightsKeys {
	return InsightsKeys{
		Tab:     key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "by month and scene / growth")),
		Shorter: key.NewBinding(key.WithKeys("["), key.WithHelp("[", "fewer days")),
		Longer:  key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "more days")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "read the figures from WeChat again")),
		Back:    key.NewBinding(key.WithKeys("esc", "i"), key.WithHelp("esc/i", "back to the list")),
	}
}

// ShortHelp implements help.KeyMap.
func (k InsightsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Tab, k.Shorter, k.Longer, k.Refresh, k.Back}
}

// FullHelp implements help.KeyMap: the movement keys scroll insights taller
// than the screen.
func (k InsightsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{DefaultListKeys().column(), {k.Tab, k.Shorter, k.Longer, k.Refresh, k.Back}}
}

// TagPickerKeys are the keys of the Followers view's tag picker.
type TagPickerKeys struct {
	Up     key.Binding
	Down   key.Binding
	Toggle key.Binding
	AnyAll key.Binding
	Clear  key.Binding
	Apply  key.Binding
	Cancel key.Binding
}

// DefaultTagPickerKeys returns the tag picker's keys.
func DefaultTagPickerKeys() TagPickerKeys {
	l := DefaultListKeys()
	return TagPickerKeys{
		Up:     l.Up,
		Down:   l.Down,
		Toggle: key.NewBinding(key.WithKeys("space", "x"), key.WithHelp("space", "check / uncheck")),
		AnyAll: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "any / all of them")),
		Clear:  key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "uncheck all")),
		Apply:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
		Cancel: key.NewBinding(key.WithKeys("esc", "t"), key.WithHelp("esc", "cancel")),
	}
}

// ShortHelp implements help.KeyMap.
func (k TagPickerKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Toggle, k.AnyAll, k.Apply, k.Cancel}
}

// FullHelp implements help.KeyMap.
func (k TagPickerKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.Toggle, k.AnyAll, k.Clear, k.Apply, k.Cancel}}
}
