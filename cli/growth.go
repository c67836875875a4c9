package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/sanitize"
	"wxscope/syncer"
	"wxscope/wording"
)

// maxGrowthDays bounds --days: datacube's figures begin on 2014-12-01, and
// ten years of days is 520 calls an app.
const maxGrowthDays = 3660

// runGrowth prints the official daily follower figures of each official
// account (datacube), one row per app and day (design.md, "Tags,
// blacklist, growth"). Days already cached are not asked again, except the
// last two. It exits 1 when any app's figures could not be read, after
// printing every other app's rows.
func runGrowth(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "growth")
	c.appFlag("only the official account named `NAME`; repeat for several")
	days := c.fs.Int("days", 30, "the `N` days ending yesterday, China time")
	format := c.fs.String("format", "table", "output `FORMAT`: table, csv or jsonl")
	if err := c.parseNoArgs(args); err != nil {
		return err
	}
	if err := oneOf("growth", "format", *format, "table", "csv", "jsonl"); err != nil {
		return err
	}
	if *days < 1 || *days > maxGrowthDays {
		return usagef("growth", "--days %d is out of range; use 1 to %d", *days, maxGrowthDays)
	}
	if err := c.load(); err != nil {
		return err
	}
	// datacube has official accounts' figures only: an imported app named
	// with --app is a usage error, and without --app they are left out.
	var official []config.App
	for _, a := range c.apps {
		switch {
		case !a.Imported():
			official = append(official, a)
		case len(c.appNames) > 0:
			return usagef("growth", "%s is a %s; growth reads the official daily follower figures of official accounts only", a.Name, config.KindName(a.Kind))
		}
	}
	c.apps = official
	if err := requireSecrets(c.apps); err != nil {
		return err
	}
	return growthApps(ctx, env, c.cfg, c.apps, *days, *format, nil, time.Now())
}

// growthApps reads the figures of apps, all at once, and prints them in
// the apps' order. hc may be nil (the client's default).
func growthApps(ctx context.Context, env *Env, cfg *config.Config, apps []config.App, days int, format string, hc *http.Client, now time.Time) error {
	command := "wxscope growth"
	store, err := cache.Open(cfg.Cache, cache.Options{Mode: cache.Shared, Command: command})
	if err != nil {
		return err
	}
	defer store.Close()
	s := syncer.New(cfg, store, syncer.Options{Command: command, HTTPClient: hc})
	first, last := syncer.GrowthRange(now, days)

	got := make([][]cache.GrowthDay, len(apps))
	errs := make([]error, len(apps))
	var wg sync.WaitGroup
	for i, app := range apps {
		wg.Go(func() { got[i], errs[i] = s.Growth(ctx, app, first, last, now) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}

	out := bufio.NewWriter(env.Stdout)
	w := newGrowthWriter(out, format, days)
	var failures []string
	for i, app := range apps {
		if errs[i] != nil {
			failures = append(failures, errs[i].Error())
			continue
		}
		known := 0
		for _, d := range got[i] {
			if d.Known() {
				w.row(app.Name, d)
				known++
			}
		}
		w.endApp(app.Name)
		if note := growthGaps(app.Name, got[i], days, known, last); note != "" {
			fmt.Fprintln(env.Stderr, "wxscope: "+plain(note))
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if len(failures) > 0 {
		return syncFailures(failures)
	}
	return nil
}

// growthGaps says what is missing from an app's days, if anything:
// yesterday before datacube publishes it, or days it has no figures for.
func growthGaps(app string, days []cache.GrowthDay, want, known int, last time.Time) string {
	if known == want {
		return ""
	}
	yesterday := last.Format(time.DateOnly)
	lastKnown := len(days) > 0 && days[len(days)-1].Date == yesterday && days[len(days)-1].Known()
	missing := want - known
	if !lastKnown && missing == 1 {
		return fmt.Sprintf("%s: no figures for %s yet; datacube publishes a day after 08:00 China time the next day", app, yesterday)
	}
	return fmt.Sprintf("%s: datacube has no figures for %d of the %d days (days before the account's history, or yesterday before 08:00 China time)", app, missing, want)
}

// growthWriter writes growth rows in one of the formats.
type growthWriter struct {
	w      io.Writer
	format string
	days   int
	err    error
	// The table is drawn once every row is known, so that the columns fit.
	table [][]string
	app   struct {
		n, newU, cancel int64
		cumulate        string
	}
}

var growthHeader = []string{"app", "date", "new", "cancel", "net", "cumulate"}

func newGrowthWriter(w io.Writer, format string, days int) *growthWriter {
	g := &growthWriter{w: w, format: format, days: days}
	switch format {
	case "csv":
		g.printf("%s\n", strings.Join(growthHeader, ","))
	case "table":
		g.table = append(g.table, growthHeader)
	}
	return g
}

func (g *growthWriter) printf(format string, args ...any) {
	if g.err == nil {
		_, g.err = fmt.Fprintf(g.w, format, args...)
	}
}

// growthRow is the contract's JSON line; cumulate is null when the API did
// not give the day's.
type growthRow struct {
	App      string `json:"app"`
	Date     string `json:"date"`
	New      int64  `json:"new"`
	Cancel   int64  `json:"cancel"`
	Net      int64  `json:"net"`
	Cumulate *int64 `json:"cumulate"`
}

func (g *growthWriter) row(app string, d cache.GrowthDay) {
	switch g.format {
	case "jsonl":
		r := growthRow{App: app, Date: d.Date, New: d.New, Cancel: d.Cancel, Net: d.Net()}
		if d.HasCumulate {
			r.Cumulate = &d.Cumulate
		}
		b, err := json.Marshal(r)
		if err != nil && g.err == nil {
			g.err = err
		}
		g.printf("%s\n", b)
	case "csv":
		cum := ""
		if d.HasCumulate {
			cum = strconv.FormatInt(d.Cumulate, 10)
		}
		g.printf("%s,%s,%d,%d,%d,%s\n", csvField(app), d.Date, d.New, d.Cancel, d.Net(), cum)
	default:
		cum := "—"
		if d.HasCumulate {
			cum = wording.FormatCount(d.Cumulate)
			g.app.cumulate = cum
		}
		g.table = append(g.table, []string{sanitize.Text(app), d.Date, wording.FormatCount(d.New),
			wording.FormatCount(d.Cancel), signed(d.Net()), cum})
		g.app.n++
		g.app.newU += d.New
		g.app.cancel += d.Cancel
	}
}

// endApp closes an app's rows: the table adds the app's totals over the
// days and its latest follower count.
func (g *growthWriter) endApp(app string) {
	if g.format != "table" {
		return
	}
	if g.app.n > 0 {
		cum := g.app.cumulate
		if cum == "" {
			cum = "—"
		}
		g.table = append(g.table, []string{sanitize.Text(app), fmt.Sprintf("%d days", g.app.n),
			wording.FormatCount(g.app.newU), wording.FormatCount(g.app.cancel), signed(g.app.newU - g.app.cancel), cum}, nil)
	}
	g.app = growthWriter{}.app
}

// flush draws the table: text columns left, numbers right, a blank line
// between apps.
func (g *growthWriter) flush() error {
	if g.format != "table" {
		return g.err
	}
	rows := g.table
	if len(rows) > 0 && rows[len(rows)-1] == nil {
		rows = rows[:len(rows)-1]
	}
	if len(rows) == 1 {
		return g.err // nothing but the header: the sentences on stderr say why
	}
	widths := make([]int, len(growthHeader))
	for _, r := range rows {
		for i, cell := range r {
			widths[i] = max(widths[i], ansi.StringWidth(cell))
		}
	}
	for _, r := range rows {
		if r == nil {
			g.printf("\n")
			continue
		}
		var b strings.Builder
		for i, cell := range r {
			pad := strings.Repeat(" ", widths[i]-ansi.StringWidth(cell))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < 2 {
				b.WriteString(cell + pad)
			} else {
				b.WriteString(pad + cell)
			}
		}
		g.printf("%s\n", strings.TrimRight(b.String(), " "))
	}
	return g.err
}

// signed writes a net figure with its sign: "+208", "-1 204", "0".
func signed(n int64) string {
	if n > 0 {
		return "+" + wording.FormatCount(n)
	}
	return wording.FormatCount(n)
}

// csvField quotes a CSV field when it needs it (an app's name may hold a
// comma).
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
