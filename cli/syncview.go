package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/progress"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"

	"wxscope/cache"
	"wxscope/config"
)

// How often the sync progress is shown: a terminal redraws its bars a few
// times a second; a log gets one line per app every few seconds.
const (
	ttyRedrawEvery = 200 * time.Millisecond
	plainLineEvery = 5 * time.Second
)

// syncView shows the progress of a sync, one row per app. update is called
// from the apps' goroutines; close shows the final state and returns once
// nothing more will be written.
type syncView interface {
	update(i int, p cache.Progress)
	every() time.Duration // how often the engine should report
	close()
}

func newSyncView(env *Env, apps []config.App) syncView {
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = a.Name
	}
	if env.StdoutTTY {
		return newTTYView(env, names)
	}
	return newPlainView(env.Stdout, names)
}

// summary is the account of a finished (or stopped) sync of one app:
// "20000/20000 followers, 20000 profiles fetched, 0 retries, 3.2 s".
func summary(p cache.Progress) string {
	if p.Source != "" {
		return importSummary(p)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d followers, %d profiles fetched", p.Listed, p.Total, p.Fetched)
	if p.Skipped > 0 {
		fmt.Fprintf(&b, " (%d still fresh in the cache)", p.Skipped)
	}
	if p.Errors > 0 {
		fmt.Fprintf(&b, ", %d openids rejected", p.Errors)
	}
	fmt.Fprintf(&b, ", %d retries, %.1f s", p.Retries, p.Elapsed.Seconds())
	if p.Final && p.Phase != cache.PhaseDone {
		fmt.Fprintf(&b, " (%s)", stopWord(p.Phase))
	}
	return b.String()
}

// importSummary is the account of a finished import: "10002 rows read
// from /srv/mall.csv (3 rejected): 9999 members, 12 new, 40 left, 1.2 s".
func importSummary(p cache.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows read from %s", p.Rows, p.Source)
	if p.Rejected > 0 {
		fmt.Fprintf(&b, " (%d rejected)", p.Rejected)
	}
	if p.Phase == cache.PhaseDone {
		fmt.Fprintf(&b, ": %d members, %d new, %d left", p.Members, p.Joined, p.Left)
	}
	fmt.Fprintf(&b, ", %.1f s", p.Elapsed.Seconds())
	if p.Final && p.Phase != cache.PhaseDone {
		fmt.Fprintf(&b, " (%s)", importStopWord(p.Phase))
	}
	return b.String()
}

func importStopWord(ph cache.Phase) string {
	if ph == cache.PhasePaused {
		return "interrupted, the previous import kept"
	}
	return "failed, the previous import kept"
}

// running is the account of a sync under way.
func running(p cache.Progress) string {
	if p.Source != "" {
		s := fmt.Sprintf("%s %s: %d rows", p.Phase, p.Source, p.Rows)
		if p.Rate > 0 {
			s += fmt.Sprintf(", %.0f/s", p.Rate)
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d/%d followers, %d profiles fetched", p.Phase, p.Listed, p.Total, p.Fetched)
	if p.Skipped > 0 {
		fmt.Fprintf(&b, " (%d fresh)", p.Skipped)
	}
	if p.Rate > 0 {
		fmt.Fprintf(&b, ", %.0f/s", p.Rate)
	}
	if p.ETA > 0 {
		fmt.Fprintf(&b, ", ETA %s", p.ETA.Round(time.Second))
	}
	fmt.Fprintf(&b, ", %d retries", p.Retries)
	return b.String()
}

func stopWord(ph cache.Phase) string {
	switch ph {
	case cache.PhasePaused:
		return "interrupted, progress saved"
	case cache.PhaseQuota:
		return "stopped by the daily quota, progress saved"
	default:
		return "failed, progress saved"
	}
}

// plainView writes progress lines, for logs and pipes.
type plainView struct {
	w     io.Writer
	names []string

	mu      sync.Mutex
	last    []time.Time // when each app last got a line
	started time.Time
}

func newPlainView(w io.Writer, names []string) *plainView {
	return &plainView{w: w, names: names, last: make([]time.Time, len(names)), started: time.Now()}
}

func (v *plainView) every() time.Duration { return time.Second }

func (v *plainView) update(i int, p cache.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	switch {
	case p.Final:
		fmt.Fprintf(v.w, "%s: %s\n", v.names[i], summary(p))
	case now.Sub(v.last[i]) >= plainLineEvery && now.Sub(v.started) >= plainLineEvery:
		// Nothing in the first seconds: a quick sync prints only its summary.
		fmt.Fprintf(v.w, "%s: %s\n", v.names[i], running(p))
	default:
		return
	}
	v.last[i] = now
}

func (v *plainView) close() {}

// ttyView redraws one progress bar per app in place.
type ttyView struct {
	w     io.Writer
	names []string
	width func() int // the terminal's width, 0 when unknown
	bar   progress.Model

	mu    sync.Mutex
	state []cache.Progress
	seen  []bool
	drawn int // lines drawn last time, to move back over them

	stop chan struct{}
	done chan struct{}
}

func newTTYView(env *Env, names []string) *ttyView {
	w := env.Stdout
	// Colours follow the terminal and NO_COLOR. TTY_FORCE says a stdout
	// that is no file is a terminal all the same (an SSH session's).
	var environ []string
	for _, k := range []string{"TERM", "COLORTERM", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TMUX", "TTY_FORCE"} {
		if val := env.Getenv(k); val != "" {
			environ = append(environ, k+"="+val)
		}
	}
	w = &colorprofile.Writer{Forward: w, Profile: colorprofile.Detect(env.Stdout, environ)}
	width := func() int { return 0 }
	if env.termWidth != nil {
		width = env.termWidth
	} else if f, ok := env.Stdout.(*os.File); ok {
		width = func() int {
			wd, _, err := term.GetSize(f.Fd())
			if err != nil {
				return 0
			}
			return wd
		}
	}
	v := &ttyView{
		w:     w,
		names: names,
		width: width,
		bar:   progress.New(progress.WithDefaultBlend(), progress.WithWidth(28)),
		state: make([]cache.Progress, len(names)),
		seen:  make([]bool, len(names)),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go v.loop()
	return v
}

func (v *ttyView) every() time.Duration { return ttyRedrawEvery / 2 }

func (v *ttyView) update(i int, p cache.Progress) {
	v.mu.Lock()
	v.state[i], v.seen[i] = p, true
	v.mu.Unlock()
}

func (v *ttyView) loop() {
	defer close(v.done)
	t := time.NewTicker(ttyRedrawEvery)
	defer t.Stop()
	v.draw()
	for {
		select {
		case <-v.stop:
			v.draw()
			return
		case <-t.C:
			v.draw()
		}
	}
}

func (v *ttyView) close() {
	close(v.stop)
	<-v.done
}

// draw moves back over the lines drawn last time and draws every app again.
func (v *ttyView) draw() {
	v.mu.Lock()
	defer v.mu.Unlock()
	pad := 0
	for _, n := range v.names {
		pad = max(pad, ansi.StringWidth(n))
	}
	width := v.width()
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA", v.drawn)
	}
	for i, name := range v.names {
		p := v.state[i]
		var text string
		switch {
		case !v.seen[i]:
			text = "starting"
		case p.Final:
			text = summary(p)
		default:
			text = running(p)
		}
		line := fmt.Sprintf("%-*s %s  %s", pad, name, v.bar.ViewAs(p.Fraction()), text)
		if width > 0 {
			// A wrapped line would break the redraw in place.
			line = ansi.Truncate(line, width-1, "…")
		}
		b.WriteString("\r\x1b[2K" + line + "\n")
	}
	v.drawn = len(v.names)
	_, _ = io.WriteString(v.w, b.String())
}
