package cli

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"sync"

	tea "charm.land/bubbletea/v2"
)

// The TUI must leave the terminal as it found it however it ends: Bubble
// Tea restores it when its program ends, but a panic it catches in a model
// or a command ends the program with a goroutine dump on stderr, and a
// panic it does not see (a goroutine of ours) leaves the terminal without
// echo. guardModel catches every panic in the model's Init, Update and View
// and in every command they return (batches and sequences included), and
// ends the program cleanly with one sentence instead; a stop, such as a
// damaged cache met by a read, ends it the same way.

// stopMsg ends the program with err, the sentence run returns.
type stopMsg struct{ err error }

// stopper holds why the program was stopped: the first reason wins.
type stopper struct {
	mu   sync.Mutex
	err  error
	quit func() // asks the running program to quit; nil before it runs
}

func (s *stopper) set(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *stopper) reason() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// stop records err and asks the program to quit, from any goroutine.
func (s *stopper) stop(err error) {
	s.set(err)
	s.mu.Lock()
	quit := s.quit
	s.mu.Unlock()
	if quit != nil {
		go quit()
	}
}

// attach gives the stopper its program; a stop that came first quits it
// at once.
func (s *stopper) attach(p *tea.Program) {
	s.mu.Lock()
	s.quit = p.Quit
	pending := s.err != nil
	s.mu.Unlock()
	if pending {
		go p.Quit()
	}
}

// panicError is a panic turned into the sentence the TUI ends with. The
// stack goes to a file for a bug report, not to the terminal.
func panicError(r any) error {
	stack := debug.Stack()
	where := ""
	if f, err := os.CreateTemp("", "wxscope-crash-*.txt"); err == nil {
		fmt.Fprintf(f, "panic: %v\n\n%s", r, stack)
		f.Close()
		where = "; the details are in " + f.Name()
	}
	return fmt.Errorf("the terminal UI stopped on an internal error (%v); the terminal is restored and the cache is as the last write left it%s: please report it", r, where)
}

// guardModel wraps the root model; see the comment above.
type guardModel struct {
	inner tea.Model
	s     *stopper
}

func (g guardModel) Init() (cmd tea.Cmd) {
	defer func() {
		if r := recover(); r != nil {
			g.s.set(panicError(r))
			cmd = tea.Quit
		}
	}()
	return g.cmd(g.inner.Init())
}

func (g guardModel) Update(msg tea.Msg) (m tea.Model, cmd tea.Cmd) {
	if stop, ok := msg.(stopMsg); ok {
		g.s.set(stop.err)
		return g, tea.Quit
	}
	if g.s.reason() != nil {
		return g, tea.Quit
	}
	defer func() {
		if r := recover(); r != nil {
			g.s.set(panicError(r))
			m, cmd = g, tea.Quit
		}
	}()
	inner, c := g.inner.Update(msg)
	g.inner = inner
	return g, g.cmd(c)
}

func (g guardModel) View() (v tea.View) {
	defer func() {
		if r := recover(); r != nil {
			g.s.stop(panicError(r))
			v = tea.NewView("")
		}
	}()
	return g.inner.View()
}

var cmdType = reflect.TypeFor[tea.Cmd]()

// cmd wraps c so that a panic while it runs becomes a stopMsg, and so do
// the commands of the batch or sequence it returns.
func (g guardModel) cmd(c tea.Cmd) tea.Cmd {
	if c == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				msg = stopMsg{panicError(r)}
			}
		}()
		msg = c()
		if batch, ok := msg.(tea.BatchMsg); ok {
			out := make(tea.BatchMsg, len(batch))
			for i, c := range batch {
				out[i] = g.cmd(c)
			}
			return out
		}
		// tea.Sequence's message type is unexported: a slice of commands
		// of another type, rebuilt with reflect.
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == cmdType {
			out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			for i := range v.Len() {
				c, _ := v.Index(i).Interface().(tea.Cmd)
				out.Index(i).Set(reflect.ValueOf(g.cmd(c)))
			}
			return out.Interface()
		}
		return msg
	}
}

// runGuarded runs model in p's place until it quits, then says why it was
// stopped, if it was: a panic caught anywhere in the model, or a stop. A
// panic in Run itself (Bubble Tea's own code) is caught too.
func runGuarded(model tea.Model, s *stopper, opts ...tea.ProgramOption) (err error) {
	p := tea.NewProgram(guardModel{inner: model, s: s}, opts...)
	s.attach(p)
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	_, err = p.Run()
	if reason := s.reason(); reason != nil {
		return reason
	}
	if errors.Is(err, tea.ErrProgramPanic) {
		// Bubble Tea caught a panic we did not (its own goroutines).
		return fmt.Errorf("the terminal UI stopped on an internal error (%w); the terminal is restored: please report it", err)
	}
	return err
}
