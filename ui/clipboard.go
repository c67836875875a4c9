package ui

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
	"unicode/utf16"

	tea "charm.land/bubbletea/v2"

	"wxscope/sanitize"
)

// LocalClipboard is a clipboard command of the machine the UI runs on
// (wl-copy, xclip, xsel on Linux, pbcopy on macOS, clip.exe on Windows and
// under WSL), which y runs beside OSC 52: many terminals ignore OSC 52 (or
// ask first), and a local command is certain when the UI runs on the
// desktop it is shown on.
type LocalClipboard struct {
	Name string   // what the toast says: "wl-copy"
	Path string   // the executable, as exec.LookPath found it
	Args []string // arguments that make it read the text from stdin
	// Env is added to the command's environment.
	Env []string
	// Encode turns the text into the bytes the command reads; nil means
	// UTF-8 as it is.
	Encode func(string) []byte
}

// clipboardCandidate is a command to try, with the environment variable
// that says its display is reachable ("" for one that needs none: it copies
// on this machine's desktop, whoever is looking).
type clipboardCandidate struct {
	env  string
	name string
	args []string
	// See LocalClipboard.
	extraEnv []string
	encode   func(string) []byte
}

var (
	wlCopy = clipboardCandidate{env: "WAYLAND_DISPLAY", name: "wl-copy"}
	xclip  = clipboardCandidate{env: "DISPLAY", name: "xclip", args: []string{"-selection", "clipboard", "-in"}}
	xsel   = clipboardCandidate{env: "DISPLAY", name: "xsel", args: []string{"--clipboard", "--input"}}
	// pbcopy decodes its input by the locale, and a UI started without one
	// (from launchd, or with LANG unset) would have CJK read as Mac Roman.
	pbcopy = clipboardCandidate{name: "pbcopy", extraEnv: []string{"LC_ALL=en_US.UTF-8"}}
	// clip.exe reads UTF-16LE when the input starts with its byte-order
	// mark, and anything else in the console's code page, which garbles
	// CJK. Under WSL it is the Windows one, on the PATH WSL appends.
	clipExe = clipboardCandidate{name: "clip.exe", encode: utf16LEWithBOM}
)

// clipboardCandidates are the commands tried on the system goos, in order.
func clipboardCandidates(goos string, getenv func(string) string) []clipboardCandidate {
	switch goos {
	case "windows":
		return []clipboardCandidate{clipExe}
	case "darwin":
		return []clipboardCandidate{pbcopy}
	}
	// Under WSL, clip.exe reaches the Windows desktop the terminal is on;
	// WSLg's Wayland and X11 clipboards are passed on to it less reliably.
	if getenv("WSL_DISTRO_NAME") != "" || getenv("WSL_INTEROP") != "" {
		return []clipboardCandidate{clipExe, wlCopy, xclip, xsel}
	}
	return []clipboardCandidate{wlCopy, xclip, xsel}
}

// DetectLocalClipboard finds a local clipboard command, or returns nil when
// there is none to use. getenv is os.Getenv and lookPath exec.LookPath in
// main. X11 and Wayland tools are used only when their display variable is
// set, and the others (pbcopy, clip.exe) only outside SSH, so a UI reached
// over SSH without a forwarded display never copies into a clipboard on the
// wrong machine: OSC 52 is the way there.
func DetectLocalClipboard(getenv func(string) string, lookPath func(string) (string, error)) *LocalClipboard {
	return detectLocalClipboard(runtime.GOOS, getenv, lookPath)
}

func detectLocalClipboard(goos string, getenv func(string) string, lookPath func(string) (string, error)) *LocalClipboard {
	for _, c := range clipboardCandidates(goos, getenv) {
		if c.env != "" && getenv(c.env) == "" {
			continue
		}
		if c.env == "" && getenv("SSH_CONNECTION") != "" {
			continue // it would copy on the server
		}
		if path, err := lookPath(c.name); err == nil {
			return &LocalClipboard{Name: c.name, Path: path, Args: c.args, Env: c.extraEnv, Encode: c.encode}
		}
	}
	return nil
}

// utf16LEWithBOM encodes s as UTF-16, little-endian, after the byte-order
// mark U+FEFF: the form of Unicode text that clip.exe recognises.
func utf16LEWithBOM(s string) []byte {
	units := utf16.Encode([]rune("\uFEFF" + s))
	b := make([]byte, 0, 2*len(units))
	for _, u := range units {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// clipboardTimeout bounds a local clipboard command (a variable for tests,
// whose stand-in starts slowly); xclip without a
// reachable display can otherwise wait for ever.
var clipboardTimeout = 2 * time.Second

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
	input := []byte(text)
	if lc.Encode != nil {
		input = lc.Encode(text)
	}
	cmd.Stdin = bytes.NewReader(input)
	if len(lc.Env) > 0 {
		cmd.Env = append(os.Environ(), lc.Env...)
	}
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
