package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"wxscope/ui/uitest"
)

// TestEveryKeyAnswers: a key that has nothing to do says so in the footer,
// rather than leaving a newcomer to wonder whether it works.
func TestEveryKeyAnswers(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "shop", "events", "legacy")
	for _, tt := range []struct {
		name     string
		readOnly bool
		keys     []string
		footer   string
	}{
		{"r re-reads the cache", false, []string{"r"}, "re-read the cache and analysed the links again"},
		{"x with no sync running", false, []string{"x"}, "news is not syncing: nothing to stop"},
		{"s under --readonly", true, []string{"s"}, "read-only (--readonly): nothing syncs from here"},
		{"S under --readonly", true, []string{"S"}, "read-only (--readonly)"},
		{"u when nobody unfollowed", false, []string{"enter", "u"}, "nobody has unfollowed news as far as the cache knows"},
		{"enter in Person", false, []string{"enter", "enter", "enter"}, "enter: nothing opens from here"},
		{"a key no view has", false, []string{"z"}, "z does nothing here · ? shows the keys"},
		{"a key the Followers view lacks", false, []string{"enter", "z"}, "z does nothing here"},
		{"a key the Links view lacks", false, []string{"l", "z"}, "z does nothing here"},
		{"a key the Doctor view lacks", false, []string{"d", "z"}, "z does nothing here"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &uitest.Driver{Model: newHomeRoot(w, store, NewSyncs(nil), Options{ReadOnly: tt.readOnly})}
			d.Send(tea.WindowSizeMsg{Width: 160, Height: 20})
			d.Run(d.Model.Init())
			d.Send(uitest.Keys(tt.keys...)...)
			if footer := lastLine(d.Screen()); !strings.Contains(footer, tt.footer) {
				t.Errorf("after %v the footer says %q, want %q", tt.keys, footer, tt.footer)
			}
		})
	}
}
