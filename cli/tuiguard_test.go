package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/cache/cachetest"
)

// panicky is a model that panics where it is told to.
type panicky struct{ where string }

func boom() tea.Msg { panic("boom in a command") }

func (m panicky) Init() tea.Cmd {
	switch m.where {
	case "init":
		panic("boom in Init")
	case "cmd":
		return boom
	case "batch":
		return tea.Batch(func() tea.Msg { return nil }, boom)
	case "sequence":
		return tea.Sequence(func() tea.Msg { return nil }, boom)
	case "nested":
		return tea.Batch(tea.Sequence(tea.Batch(boom)))
	}
	return func() tea.Msg { return "go" }
}

func (m panicky) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg == "go" && m.where == "update" {
		panic("boom in Update")
	}
	if msg == "go" && m.where == "view" {
		return panicky{"view now"}, nil
	}
	return m, nil
}

func (m panicky) View() tea.View {
	if m.where == "view now" {
		panic("boom in View")
	}
	return tea.NewView("fine")
}

// A panic anywhere in the model, or in any command it returns, ends the
// program cleanly (Bubble Tea restores the terminal as on a quit) with one
// sentence naming a file that holds the stack, instead of a goroutine dump
// on the terminal.
func TestAPanicAnywhereInTheTUIEndsItWithOneSentence(t *testing.T) {
	for _, where := range []string{"init", "cmd", "batch", "sequence", "nested", "update", "view"} {
		t.Run(where, func(t *testing.T) {
			var s stopper
			done := make(chan error, 1)
			go func() {
				done <- runGuarded(panicky{where}, &s, tea.WithInput(strings.NewReader("")), tea.WithOutput(io.Discard), tea.WithoutSignals())
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the program did not end after the panic")
			}
			if err == nil || !strings.Contains(err.Error(), "internal error (boom in ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("runGuarded = %v, want one sentence about the panic", err)
			}
			file := regexp.MustCompile(`details are in (\S+):`).FindStringSubmatch(err.Error())
			if file == nil {
				t.Fatalf("%q names no file with the details", err)
			}
			b, _ := os.ReadFile(file[1])
			os.Remove(file[1])
			if !bytes.Contains(b, []byte("boom in ")) || !bytes.Contains(b, []byte("goroutine")) {
				t.Errorf("the crash file holds %q", b)
			}
		})
	}
}

// The read-only TUI over a cache whose data pages are damaged ends with the
// sentence that names the file and salvage, whatever screen met the damage.
func TestTheTUIEndsOnADamagedCacheWithTheSalvageSentence(t *testing.T) {
	s, healthy := damagedSetup(t)
	damaged, err := cachetest.Kinds[1].Damage(bytes.Clone(healthy))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.cache, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := (&Env{Getenv: func(k string) string { return s.vars[k] }}).loadConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tu := plainTUI(t, cfg, tuiOptions{readOnly: true}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	err = tu.run(ctx, &Env{Stdin: strings.NewReader(""), Stdout: &out, Getenv: func(string) string { return "" }})
	var de *cache.DamagedError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "wxscope salvage") || !strings.Contains(err.Error(), filepath.Base(s.cache)) {
		t.Fatalf("the TUI on a damaged cache ended with %v", err)
	}
	if after, _ := os.ReadFile(s.cache); !bytes.Equal(after, damaged) {
		t.Error("the read-only TUI changed the damaged file")
	}
}
