package ui

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/sanitize"
)

// LocalClipboard is a clipboard command of the machine the UI runs on
// (wl-copy, xclip, xsel, pbcopy), which y runs beside OSC 52: many terminals
// ignore OSC 52 (or ask first), and a local command is certain when the UI
// runs on the desktop it is shown on.
type LocalClipboard struct {
	Name string   // what the toast says: "wl-copy"
	Path string   // the executable, as exec.LookPath found it
	Args []string // arguments that make it read the text from stdin
}

// clipboardCandidates are the commands tried, in order, with the
// environment variable that says their display is reachable ("" always).
var clipboardCandidates = []struct {
	env  string
	name string
	args []string
}{
	{"WAYLAND_DISPLAY", "wl-copy", nil},
	{"DISPLAY", "xclip", []string{"-selection", "clipboard", "-in"}},
	{"DISPLAY", "xsel", []string{"--clipboard", "--input"}},
	{"", "pbcopy", nil},
}

// DetectLocalClipboard finds a local clipboard command, or returns nil when
// there is none to use. getenv is os.Getenv and lookPath exec.LookPath in
// main. X11 and Wayland tools are used only when their display variable is
// set, so a UI reached over SSH without a forwarded display never copies
// into a clipboard on the wrong machine: OSC 52 is the way there.
func DetectLocalClipboard(getenv func(string) string, lookPath func(string) (string, error)) *LocalClipboard {
	for _, c := range clipboardCandidates {
		if c.env != "" && getenv(c.env) == "" {
			continue
		}
		if c.env == "" && getenv("SSH_CONNECTION") != "" {
			continue // pbcopy over SSH copies on the server
		}
		if path, err := lookPath(c.name); err == nil {
			return &LocalClipboard{Name: c.name, Path: path, Args: c.args}
		}
	}
	return nil
}

// clipboardTimeout bounds a local clipboard command; xclip without a
// reachable display can otherwise wait for ever.
const clipboardTimeout = 2 * time.Second

// copyID puts id on the clipboard: OSC 52 always, and the local command
// when there is one, with a toast that says which was used. An id that
// sanitising would change is refused: it would carry its escape sequence
// into ours.
func copyID(c *Common, what, id string) tea.Cmd {
	if id == "" {
		return Flash("no " + what + " to copy")
	}
	if sanitize.Text(id) != id {
		return FlashError(fmt.Errorf("this %s contains control characters; not copied", what))
	}
	lc := c.Clipboard
	if lc == nil {
		return tea.Batch(tea.SetClipboard(id),
			Flash("copied "+what+" "+id+" via OSC 52 (the terminal's clipboard, if it allows it)"))
	}
	ctx := c.Ctx
	local := func() tea.Msg {
		if err := lc.run(ctx, id); err != nil {
			return FlashMsg{Text: fmt.Sprintf("copied %s %s via OSC 52 only: %s failed: %v", what, id, lc.Name, err), Error: true}
		}
		return FlashMsg{Text: "copied " + what + " " + id + " via " + lc.Name + " and OSC 52"}
	}
	return tea.Batch(tea.SetClipboard(id), local)
}

// run feeds text to the command's stdin.
func (lc *LocalClipboard) run(ctx context.Context, text string) error {
	ctx, cancel := context.WithTimeout(ctx, clipboardTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, lc.Path, lc.Args...)
	cmd.Stdin = strings.NewReader(text)
	// wl-copy and xclip fork a child that keeps the selection; it must not
	// hold our pipes open, or Wait would wait for it.
	cmd.WaitDelay = 100 * time.Millisecond
	out, err := cmd.CombinedOutput()
	if err != nil {
		if msg := strings.TrimSpace(sanitize.Text(string(out))); msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}
