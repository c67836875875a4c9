// Package uitest drives Bubble Tea models in tests without a terminal: key
// messages from names, a synchronous command runner, and the one place that
// touches teatest, whose API moves between pseudo-versions.
package uitest

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// Key returns the key press a terminal would send for name: a single
// character ("j", "/", "G"), a named key ("enter", "esc", "up", "down",
// "home", "end", "pgup", "pgdown", "backspace", "space"), or "ctrl+x".
func Key(name string) tea.KeyPressMsg {
	named := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "up": tea.KeyUp, "down": tea.KeyDown,
		"home": tea.KeyHome, "end": tea.KeyEnd, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
		"backspace": tea.KeyBackspace, "tab": tea.KeyTab,
	}
	if c, ok := named[name]; ok {
		return tea.KeyPressMsg{Code: c}
	}
	if name == "space" {
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	}
	if rest, ok := strings.CutPrefix(name, "ctrl+"); ok && len(rest) == 1 {
		return tea.KeyPressMsg{Code: rune(rest[0]), Mod: tea.ModCtrl}
	}
	r := []rune(name)
	if len(r) != 1 {
		panic("uitest.Key: unknown key " + name)
	}
	return tea.KeyPressMsg{Code: r[0], Text: name}
}

// Keys returns Key for each name.
func Keys(names ...string) []tea.Msg {
	out := make([]tea.Msg, len(names))
	for i, n := range names {
		out[i] = Key(n)
	}
	return out
}

// Type returns one key press per character of s.
func Type(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return out
}

// Driver feeds messages to a model and runs the commands it returns
// synchronously, feeding their messages back, until nothing is left. It
// notes whether the model asked to quit. Batches are expanded; a message of
// a type it does not know is passed to the model like any other.
type Driver struct {
	Model tea.Model
	Quit  bool
}

// Send delivers msgs in order, each followed by all the work it causes.
func (d *Driver) Send(msgs ...tea.Msg) {
	for _, m := range msgs {
		d.deliver(m, 0)
	}
}

// SendOnly delivers msg and returns its command without running it, to
// look at the screen while a background result is still out.
func (d *Driver) SendOnly(msg tea.Msg) tea.Cmd {
	m, cmd := d.Model.Update(msg)
	d.Model = m
	return cmd
}

// Run runs cmd and delivers what it produces.
func (d *Driver) Run(cmd tea.Cmd) { d.run(cmd, 0) }

const maxDepth = 64

func (d *Driver) deliver(msg tea.Msg, depth int) {
	if depth > maxDepth {
		panic("uitest: messages keep causing messages")
	}
	switch msg := msg.(type) {
	case nil:
		return
	case tea.QuitMsg:
		d.Quit = true
		return
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c, depth+1)
		}
		return
	}
	m, cmd := d.Model.Update(msg)
	d.Model = m
	d.run(cmd, depth+1)
}

func (d *Driver) run(cmd tea.Cmd, depth int) {
	if cmd == nil {
		return
	}
	msg := cmd()
	// tea.Sequence's message type is unexported; run its commands in order.
	if v := reflect.ValueOf(msg); v.IsValid() && v.Kind() == reflect.Slice &&
		v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
		for i := 0; i < v.Len(); i++ {
			d.run(v.Index(i).Interface().(tea.Cmd), depth+1)
		}
		return
	}
	d.deliver(msg, depth)
}

// Screen returns the model's view with any escape sequences removed.
func (d *Driver) Screen() string { return ansi.Strip(d.Model.View().Content) }

// Program is a model running in a real tea.Program on a fake terminal of a
// fixed size, through teatest.
type Program struct {
	tm  *teatest.TestModel
	rec *recorder
}

// recorder wraps a model and keeps the content of its latest view, so a
// test can wait for what the model drew rather than parse the renderer's
// cell diffs.
type recorder struct {
	inner tea.Model
	mu    *sync.Mutex
	last  *string
}

func (r recorder) Init() tea.Cmd { return r.inner.Init() }

func (r recorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := r.inner.Update(msg)
	r.inner = m
	return r, cmd
}

func (r recorder) View() tea.View {
	v := r.inner.View()
	r.mu.Lock()
	*r.last = ansi.Strip(v.Content)
	r.mu.Unlock()
	return v
}

// Start runs m in a program of width × height.
func Start(t testing.TB, m tea.Model, width, height int) *Program {
	t.Helper()
	rec := &recorder{inner: m, mu: new(sync.Mutex), last: new(string)}
	tm := teatest.NewTestModel(t, *rec, teatest.WithInitialTermSize(width, height))
	return &Program{tm: tm, rec: rec}
}

// Send delivers msgs to the running program.
func (p *Program) Send(msgs ...tea.Msg) {
	for _, m := range msgs {
		p.tm.Send(m)
	}
}

// Screen is the latest view the program drew, without escape sequences.
func (p *Program) Screen() string {
	p.rec.mu.Lock()
	defer p.rec.mu.Unlock()
	return *p.rec.last
}

// WaitFor waits up to 20 s until the drawn screen satisfies cond: long
// enough for a sync of the demo under -race on two loaded cores.
func (p *Program) WaitFor(t testing.TB, what string, cond func(screen string) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond(p.Screen()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; screen:\n%s", what, p.Screen())
}

// WaitFinished waits up to 5 s for the program to exit and returns the
// final model (unwrapped).
func (p *Program) WaitFinished(t testing.TB) tea.Model {
	t.Helper()
	m := p.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	if r, ok := m.(recorder); ok {
		return r.inner
	}
	return m
}
