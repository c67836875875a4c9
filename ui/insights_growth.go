package ui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/cache"
	"wxscope/sanitize"
)

// The Insights view's growth tab: WeChat's own daily figures (datacube:
// follows, unfollows and the followers at the end of each day), as the
// cache holds them, drawn as the daily net above and below a zero line, the
// followers as a sparkline, and beside them the follows per day that the
// cached listing itself knows (subscribe times), so that a campaign day or
// a mass unfollow shows at a glance and can be checked against the list.

// growthSpans are the ranges [ and ] step through, in days.
var growthSpans = []int{7, 14, 30, 60, 90}

// defaultGrowthSpan is the range the tab opens on (as wxscope growth).
const defaultGrowthSpan = 30

// growthRange is the n China-time days ending yesterday as of now, as
// midnights in China time (syncer.GrowthRange, which ui does not import).
func growthRange(now time.Time, n int) (first, last time.Time) {
	y, m, d := now.In(chinaTime).Date()
	last = time.Date(y, m, d, 0, 0, 0, 0, chinaTime).AddDate(0, 0, -1)
	return last.AddDate(0, 0, -(n - 1)), last
}

// GrowthChart is what the growth tab draws.
type GrowthChart struct {
	First, Last time.Time         // the days shown, China time
	Days        []cache.GrowthDay // one per day from First to Last; unknown days have Known false
	// Listed is, per day, how many cached followers have their subscribe
	// time on it (the listing's own follow dates; people who left since
	// count too).
	Listed []int
}

// NewGrowthChart lays the cached days over the range first..last, one
// entry per day, and counts the listing's follows per day from x (nil: none).
func NewGrowthChart(first, last time.Time, cached []cache.GrowthDay, x *FollowerIndex) GrowthChart {
	first, last = first.In(chinaTime), last.In(chinaTime)
	g := GrowthChart{First: first, Last: last}
	byDate := map[string]cache.GrowthDay{}
	for _, d := range cached {
		byDate[d.Date] = d
	}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		date := d.Format(time.DateOnly)
		day, ok := byDate[date]
		if !ok {
			day = cache.GrowthDay{Date: date}
		}
		g.Days = append(g.Days, day)
	}
	g.Listed = make([]int, len(g.Days))
	if x != nil {
		lo, hi := first.Unix(), last.AddDate(0, 0, 1).Unix()
		for _, t := range x.follow {
			if u := int64(t); u >= lo && u < hi {
				g.Listed[(u-lo)/86400]++
			}
		}
	}
	return g
}

// known is how many days have figures.
func (g GrowthChart) known() int {
	n := 0
	for _, d := range g.Days {
		if d.Known() {
			n++
		}
	}
	return n
}

// RenderGrowth draws g within width × height (status, when not empty, is a
// last line saying where the figures come from or what went wrong). It uses
// block glyphs and text only, so it reads the same without colour.
func RenderGrowth(s Styles, g GrowthChart, status string, width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	var out []string
	days := g.Days
	listed := g.Listed
	// One column a day, up to three cells wide; a range wider than the
	// screen shows its latest days.
	gutter := 9
	avail := max(width-gutter-2, 1)
	colW := min(max(avail/max(len(days), 1), 1), 3)
	cut := 0
	if len(days) > avail {
		cut = len(days) - avail
		days, listed = days[cut:], listed[cut:]
	}

	var newU, cancel int64
	var top, bottom *cache.GrowthDay
	lastCum := int64(-1)
	for i := range days {
		d := &days[i]
		if !d.HasSummary {
			continue
		}
		newU += d.New
		cancel += d.Cancel
		if top == nil || d.Net() > top.Net() {
			top = d
		}
		if bottom == nil || d.Net() < bottom.Net() {
			bottom = d
		}
	}
	for i := len(days) - 1; i >= 0; i-- {
		if days[i].HasCumulate {
			lastCum = days[i].Cumulate
			break
		}
	}
	head := fmt.Sprintf("net followers a day (datacube) · %d days", len(g.Days))
	if cut > 0 {
		head += fmt.Sprintf(", the latest %d shown", len(days))
	}
	right := ""
	firstCum := int64(-1)
	for _, d := range days {
		if d.HasCumulate {
			firstCum = d.Cumulate
			break
		}
	}
	if lastCum >= 0 {
		right = "followers " + formatCount(int(firstCum)) + " → " + formatCount(int(lastCum))
	}
	out = append(out, spread(s.Header.Render(head), s.Dim.Render(right), width))

	if g.known() == 0 {
		out = append(out, s.Dim.Render("  no datacube figures cached for these days"))
		if status != "" {
			out = append(out, status)
		}
		return finish(out, width, height)
	}

	// The net chart: rows above the zero line for gains, below for losses,
	// shared in proportion; what the other lines leave, 3 to 21 rows.
	maxPos, maxNeg := int64(0), int64(0)
	for _, d := range days {
		if d.HasSummary {
			maxPos, maxNeg = max(maxPos, d.Net()), max(maxNeg, -d.Net())
		}
	}
	fixed := 6 // header, axis labels, followers, listing, events, totals
	if status != "" {
		fixed++
	}
	chartH := min(max(height-fixed-1, 2), 20) // rows besides the zero line
	posH, negH := chartH, 0
	if maxNeg > 0 {
		negH = max(int(float64(chartH)*float64(maxNeg)/float64(maxPos+maxNeg)+0.5), 1)
		posH = max(chartH-negH, 1)
		if maxPos == 0 {
			posH, negH = 0, chartH
		}
	}
	label := func(n int64) string {
		if n > 0 {
			return "+" + formatCount(int(n))
		}
		return formatCount(int(n))
	}
	gutterCell := func(l string) string { return fmt.Sprintf("%*s ", gutter, l) }
	column := func(g rune) string {
		return strings.Repeat(string(g), max(colW-1, 1)) + strings.Repeat(" ", min(colW-1, 1))
	}
	for row := posH - 1; row >= 0; row-- {
		var b strings.Builder
		l := ""
		if row == posH-1 {
			l = label(maxPos)
		}
		b.WriteString(gutterCell(l) + "┤")
		for _, d := range days {
			fill := 0
			if d.HasSummary && d.Net() > 0 && maxPos > 0 {
				// Eighths of this row filled; a gain shows at least one.
				fill = int((d.Net()*int64(posH)*8+maxPos-1)/maxPos) - row*8
			}
			b.WriteString(column(eighths[min(max(fill, 0), 8)]))
		}
		out = append(out, s.Present.Render(b.String()))
	}
	var axis strings.Builder
	axis.WriteString(gutterCell("0") + "┼")
	for _, d := range days {
		if d.Known() {
			axis.WriteString(strings.Repeat("─", colW))
		} else {
			axis.WriteString(column('·')) // a day without figures
		}
	}
	out = append(out, s.Dim.Render(axis.String()))
	for row := range negH {
		var b strings.Builder
		l := ""
		if row == negH-1 {
			l = label(-maxNeg)
		}
		b.WriteString(gutterCell(l) + "┤")
		for _, d := range days {
			fill := 0
			if d.HasSummary && d.Net() < 0 && maxNeg > 0 {
				// Halves of this row, from the top: ▀ then █.
				fill = int((-d.Net()*int64(negH)*2+maxNeg-1)/maxNeg) - row*2
			}
			g := ' '
			switch {
			case fill >= 2:
				g = '█'
			case fill == 1:
				g = '▀'
			}
			b.WriteString(column(g))
		}
		out = append(out, s.Warn.Render(b.String()))
	}
	out = append(out, s.Dim.Render(dateLabels(days, gutter+2, colW, width)))

	// The followers at each day's end, and the listing's own follows.
	var cum []float64
	var known []bool
	for _, d := range days {
		cum = append(cum, float64(d.Cumulate))
		known = append(known, d.HasCumulate)
	}
	out = append(out, gutterCell("followers")+" "+s.Accent.Render(spark(cum, known, colW)))
	lf := make([]float64, len(listed))
	lk := make([]bool, len(listed))
	peak, peakAt := 0, 0
	for i, n := range listed {
		lf[i], lk[i] = float64(n), true
		if n > peak {
			peak, peakAt = n, i
		}
	}
	ll := "follows a day, cached list"
	if peak > 0 {
		ll += fmt.Sprintf(" · peak %s on %s", formatCount(peak), shortDate(days[peakAt].Date))
	}
	out = append(out, gutterCell("listing")+" "+s.Accent.Render(sparkFromZero(lf, lk, colW))+"  "+s.Dim.Render(ll))

	var ev []string
	if top != nil && top.Net() > 0 {
		ev = append(ev, fmt.Sprintf("▲ %s %s (largest gain)", shortDate(top.Date), label(top.Net())))
	}
	if bottom != nil && bottom.Net() < 0 {
		ev = append(ev, fmt.Sprintf("▼ %s %s (largest loss)", shortDate(bottom.Date), label(bottom.Net())))
	}
	out = append(out, "  "+strings.Join(ev, " · "))
	out = append(out, "  "+fmt.Sprintf("new %s · cancelled %s · net %s", formatCount(int(newU)), formatCount(int(cancel)), label(newU-cancel)))
	if status != "" {
		out = append(out, status)
	}
	return finish(out, width, height)
}

// finish cuts lines to width and the block to height.
func finish(out []string, width, height int) string {
	for i, l := range out {
		out[i] = ansi.Truncate(l, width, "")
	}
	if len(out) > height {
		out = out[:height]
	}
	return strings.Join(out, "\n")
}

// shortDate writes yyyy-MM-dd as MM-dd.
func shortDate(date string) string {
	if len(date) == len(time.DateOnly) {
		return date[5:]
	}
	return sanitize.Text(date)
}

// dateLabels puts MM-dd under the first and the last day, and under others
// where they fit without touching.
func dateLabels(days []cache.GrowthDay, indent, colW, width int) string {
	if len(days) == 0 {
		return ""
	}
	line := []rune(strings.Repeat(" ", width))
	put := func(i int) bool {
		l := []rune(shortDate(days[i].Date))
		at := indent + i*colW
		if i == len(days)-1 {
			at = max(indent+i*colW+colW-len(l), indent)
		}
		if at+len(l) > len(line) {
			return false
		}
		for k := max(at-1, 0); k < min(at+len(l)+1, len(line)); k++ {
			if line[k] != ' ' {
				return false
			}
		}
		copy(line[at:], l)
		return true
	}
	put(0)
	put(len(days) - 1)
	step := max(7, 8/max(colW, 1)+1)
	for i := step; i < len(days)-1; i += step {
		put(i)
	}
	return strings.TrimRight(string(line), " ")
}

// spark draws values as one row of eighths, scaled between their least and
// greatest; a value not known is a space.
func spark(v []float64, known []bool, colW int) string {
	lo, hi := 0.0, 0.0
	seen := false
	for i, x := range v {
		if !known[i] {
			continue
		}
		if !seen || x < lo {
			lo = x
		}
		if !seen || x > hi {
			hi = x
		}
		seen = true
	}
	var b strings.Builder
	for i, x := range v {
		g := ' '
		if known[i] {
			level := 4
			if hi > lo {
				level = 1 + int((x-lo)/(hi-lo)*7+0.5)
			}
			g = eighths[level]
		}
		b.WriteString(strings.Repeat(string(g), colW))
	}
	return b.String()
}

// sparkFromZero is spark with 0 as the floor: a day without follows is empty.
func sparkFromZero(v []float64, known []bool, colW int) string {
	hi := 0.0
	for _, x := range v {
		hi = max(hi, x)
	}
	var b strings.Builder
	for i, x := range v {
		g := ' '
		if known[i] && x > 0 && hi > 0 {
			g = eighths[max(int(x/hi*8+0.5), 1)]
		}
		b.WriteString(strings.Repeat(string(g), colW))
	}
	return b.String()
}

// growthTab is the state of the growth tab of one InsightsView.
type growthTab struct {
	appID   string
	days    int // the range, in days ending yesterday
	chart   GrowthChart
	loaded  bool   // chart holds the cache's days of the range
	loading bool   // a read of the cache is out
	asked   bool   // a refresh was asked since the view opened
	fetch   bool   // a refresh is out
	err     string // the last refresh's or read's failure, sanitised
	readAt  time.Time
}

// growthLoadedMsg carries the cache's days of one range to the view.
type growthLoadedMsg struct {
	owner *InsightsView
	days  int
	chart GrowthChart
	err   error
}

// growthRefreshedMsg says a refresh through Common.Growth ended.
type growthRefreshedMsg struct {
	owner *InsightsView
	days  int
	err   error
}

func (m growthLoadedMsg) Owner() Page    { return m.owner }
func (m growthRefreshedMsg) Owner() Page { return m.owner }

// WithGrowth gives the view its growth tab, over appID's cached datacube
// figures (Common.Lists), refreshed through Common.Growth when there is one.
func (v *InsightsView) WithGrowth(appID string) *InsightsView {
	if v.c.Lists != nil {
		v.growth = &growthTab{appID: appID, days: defaultGrowthSpan}
	}
	v.setKeys()
	return v
}

// open shows the tab: the cache's figures at once, and, the first time, a
// refresh of the days the cache lacks (the last two are always asked again).
func (g *growthTab) open(v *InsightsView) tea.Cmd {
	cmds := []tea.Cmd{g.load(v)}
	if !g.asked {
		cmds = append(cmds, g.refresh(v))
	}
	return tea.Batch(cmds...)
}

// load reads the range's days from the cache.
func (g *growthTab) load(v *InsightsView) tea.Cmd {
	if g == nil {
		return nil
	}
	g.loading = true
	ctx, lists, x, days, now, appID := v.c.Ctx, v.c.Lists, v.x, g.days, v.c.Now(), g.appID
	return func() tea.Msg {
		first, last := growthRange(now, days)
		cached, err := lists.Growth(ctx, appID, first, last)
		return growthLoadedMsg{owner: v, days: days, chart: NewGrowthChart(first, last, cached, x), err: err}
	}
}

// refresh asks Common.Growth for the range, then reads the cache again.
func (g *growthTab) refresh(v *InsightsView) tea.Cmd {
	if g == nil || v.c.Growth == nil || g.fetch {
		return nil
	}
	g.asked, g.fetch, g.err = true, true, ""
	ctx, fn, days, now, appID := v.c.Ctx, v.c.Growth, g.days, v.c.Now(), g.appID
	return func() tea.Msg {
		first, last := growthRange(now, days)
		return growthRefreshedMsg{owner: v, days: days, err: fn(ctx, appID, first, last)}
	}
}

// span moves to the next shorter (-1) or longer (+1) range.
func (g *growthTab) span(v *InsightsView, dir int) tea.Cmd {
	if g == nil {
		return nil
	}
	i := 0
	for i < len(growthSpans)-1 && growthSpans[i] < g.days {
		i++
	}
	i = min(max(i+dir, 0), len(growthSpans)-1)
	if growthSpans[i] == g.days {
		return nil
	}
	g.days, g.loaded = growthSpans[i], false
	cmds := []tea.Cmd{g.load(v)}
	if g.asked {
		cmds = append(cmds, g.refresh(v)) // the new days, if the cache lacks them
	}
	return tea.Batch(cmds...)
}

func (v *InsightsView) growthLoaded(m growthLoadedMsg) tea.Cmd {
	g := v.growth
	if g == nil || m.days != g.days {
		return nil // a range left since
	}
	g.loading = false
	if m.err != nil {
		if !isCanceled(m.err) {
			g.err = sanitize.Text(m.err.Error())
		}
		return nil
	}
	g.chart, g.loaded, g.readAt = m.chart, true, v.c.Now()
	return nil
}

func (v *InsightsView) growthRefreshed(m growthRefreshedMsg) tea.Cmd {
	g := v.growth
	if g == nil {
		return nil
	}
	g.fetch = false
	if m.err != nil && !isCanceled(m.err) {
		g.err = sanitize.Text(m.err.Error())
	}
	if m.days != g.days {
		return g.refresh(v) // the range moved while this one was asked
	}
	return g.load(v)
}

// view draws the tab in height lines.
func (g *growthTab) view(v *InsightsView, height int) string {
	s := v.c.Styles
	if !g.loaded {
		return s.Dim.Render("  reading the cached figures…")
	}
	var status string
	switch {
	case g.err != "":
		status = s.Warn.Render("  " + g.err)
	case g.fetch:
		status = s.Dim.Render("  asking WeChat for the days the cache lacks…")
	case v.c.Growth == nil:
		status = s.Dim.Render("  what wxscope growth cached (this view does not call WeChat)")
	default:
		status = s.Dim.Render("  WeChat's datacube figures, cached · r reads them again")
	}
	return RenderGrowth(s, g.chart, status, v.width, height)
}
