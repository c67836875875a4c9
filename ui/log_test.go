package ui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// TestLogKeepsEveryErrorAndSyncResultInFull: L opens the session's message
// log, like lazygit's command log: each sync's result and each error with
// its whole text, which the row and the footer cut to the width.
func TestLogKeepsEveryErrorAndSyncResultInFull(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w)
	long := "the token_command failed: exit status 3: vault sealed at the operator's request; ask the on-call engineer to unseal it, then press s again"
	fn := func(ctx context.Context, appID string, progress func(cache.Progress)) error {
		if appID == w.apps[1].AppID {
			return errors.New(long)
		}
		return w.syncFunc(store, testNow)(ctx, appID, progress)
	}
	root := newHomeRoot(w, store, NewSyncs(fn), Options{})
	p := uitest.Start(t, root, 80, 24)
	p.WaitFor(t, "the home view", func(s string) bool { return strings.Contains(s, "s to sync") })
	p.Send(uitest.Key("j"), uitest.Key("s"), uitest.Key("k"), uitest.Key("s"))
	p.WaitFor(t, "both syncs ended", func(s string) bool {
		return strings.Contains(rowOf(t, s, "news"), "done") && strings.Contains(rowOf(t, s, "shop"), "⚠")
	})
	if strings.Contains(rowOf(t, p.Screen(), "shop"), "the on-call engineer") {
		t.Fatalf("the row is wide enough for the whole error: the test proves nothing")
	}
	p.Send(uitest.Key("L"))
	p.WaitFor(t, "the log", func(s string) bool {
		return strings.Contains(s, "log · 2 messages this session · 1 error") &&
			strings.Contains(squash(s), "news synced: 30 fetched") &&
			strings.Contains(squash(s), "⚠ shop: "+long)
	})
	p.Send(uitest.Key("L"))
	p.WaitFor(t, "L again goes back", func(s string) bool { return strings.Contains(s, "wxscope · 4 apps") })

	// A footer note too wide for the screen says the log has it whole.
	p.Send(FlashMsg{Text: "copied openid " + strings.Repeat("oNw3kT0c1kP4xQ9w2E5r7T1y3U6i ", 4) + "via OSC 52 only: pbcopy failed: exit status 1", Error: true})
	p.WaitFor(t, "the cut note", func(s string) bool { return strings.HasSuffix(lastLine(s), "… · L: in full") })
	p.Send(uitest.Key("L"))
	p.WaitFor(t, "the note in the log", func(s string) bool {
		return strings.Contains(s, "log · 3 messages") && strings.Contains(squash(s), "pbcopy failed: exit status 1")
	})
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

// TestLogIsEmptyAtFirstAndSaysWhatWillLandThere: a newcomer pressing L
// before anything happened learns what the log is for.
func TestLogIsEmptyAtFirstAndSaysWhatWillLandThere(t *testing.T) {
	d := newTestRoot(80, 10, nil, func(c *Common) Page { return NewPerson(c, samplePerson()) })
	d.Send(uitest.Key("L"))
	if s := d.Screen(); !strings.Contains(s, "log · 0 messages") || !strings.Contains(s, "errors and the results of syncs land here") {
		t.Errorf("the empty log:\n%s", s)
	}
	d.Send(tea.KeyPressMsg{Code: tea.KeyEscape})
	if d.Model.(*Root).Depth() != 1 {
		t.Error("esc did not leave the log")
	}
}

// TestLogNeverBreaksAnIdAtItsHyphen: ids hold hyphens, where ansi.Wrap
// would break them; the log wraps at spaces only, so an id stays whole.
func TestLogNeverBreaksAnIdAtItsHyphen(t *testing.T) {
	const id = "oD3fzU-8fzAOO0r7zucH2YPgKcnQ"
	for width := 40; width <= 90; width++ {
		d := newTestRoot(width, 12, nil, func(c *Common) Page { return NewPerson(c, samplePerson()) })
		d.Send(FlashMsg{Text: "more than one id in the ticket line (oD3fzUmsfn5zenps1mymeWb1mwht, " + id + "); look up one at a time", Error: true})
		d.Send(uitest.Key("L"))
		if s := d.Screen(); !strings.Contains(s, id) {
			t.Fatalf("at %d columns the log splits %s:\n%s", width, id, s)
		}
	}
}
