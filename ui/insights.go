package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/sanitize"
)

// Insights are the followers of one app (or of one filtered view of it)
// counted by the month they followed and by the scene they came from.
type Insights struct {
	Total int // the followers counted
	// Months are the last InsightMonths calendar months, oldest first.
	Months []MonthCount
	// Earlier followed before the first month; Unknown has no follow time.
	Earlier, Unknown int
	// Scenes are the subscribe scenes, most followers first; a scene the
	// API added after this code was written is kept as it came.
	Scenes []SceneCount
}

// MonthCount is the followers of one calendar month.
type MonthCount struct {
	Start time.Time
	N     int
}

// SceneCount is the followers of one subscribe scene.
type SceneCount struct {
	Scene string // raw, e.g. ADD_SCENE_QR_CODE; "" when the API gave none
	N     int
}

// InsightMonths is how many months the follow histogram covers.
const InsightMonths = 24

// ComputeInsights counts rows of x in one pass over its arrays: month by
// binary search among 25 boundaries, scene by its small index. rows nil
// means every follower who still follows; otherwise exactly those rows (a
// Followers view's visible rows). It reads no string, so a million rows take
// milliseconds.
func ComputeInsights(x *FollowerIndex, rows []uint32, now time.Time, loc *time.Location) Insights {
	now = now.In(loc)
	first := time.Date(now.Year(), now.Month()-InsightMonths+1, 1, 0, 0, 0, 0, loc)
	bounds := make([]uint32, InsightMonths+1) // bounds[m] starts month m
	in := Insights{Months: make([]MonthCount, InsightMonths)}
	for m := range bounds {
		t := first.AddDate(0, m, 0)
		bounds[m] = clampU32(t.Unix())
		if m < InsightMonths {
			in.Months[m].Start = t
		}
	}
	months := make([]int, InsightMonths+2) // [0] earlier, [1..24] months, [25] later (clock skew)
	scenes := make([]int, len(x.scenes))
	unknown := 0
	count := func(r uint32) {
		scenes[x.scene.at(int(r))]++
		t := x.follow[r]
		if t == 0 {
			unknown++
			return
		}
		m, _ := slices.BinarySearch(bounds, t+1) // the first boundary after t
		months[m]++
	}
	if rows == nil {
		for r := range x.follow {
			if x.follows(r) {
				count(uint32(r))
			}
		}
	} else {
		for _, r := range rows {
			count(r)
		}
	}
	for m := range InsightMonths {
		in.Months[m].N = months[m+1]
	}
	in.Months[InsightMonths-1].N += months[InsightMonths+1]
	in.Earlier, in.Unknown = months[0], unknown
	for i, n := range scenes {
		in.Total += n
		if n > 0 {
			in.Scenes = append(in.Scenes, SceneCount{Scene: x.scenes[i], N: n})
		}
	}
	slices.SortFunc(in.Scenes, func(a, b SceneCount) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Scene, b.Scene))
	})
	return in
}

// eighths are the block glyphs of a vertical bar, from empty to full.
var eighths = []rune(" ▁▂▃▄▅▆▇█")

// RenderInsights draws in within width × height: a bar chart of the follow
// months and horizontal bars of the scenes with counts and shares. It uses
// only block glyphs and text, so it reads the same without colour.
func RenderInsights(s Styles, in Insights, width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	out := insightsLines(s, in, width, height)
	if len(out) > height {
		out = out[:height]
	}
	return strings.Join(out, "\n")
}

// insightsLines lays the insights out for width × height (the chart's
// height depends on it), every line, even those below the height: the
// Insights view scrolls what is taller than the screen.
func insightsLines(s Styles, in Insights, width, height int) []string {
	var out []string
	peak := 0
	for _, m := range in.Months {
		peak = max(peak, m.N)
	}
	out = append(out, s.Header.Render(fmt.Sprintf("followed per month · last %d months", InsightMonths))+
		s.Dim.Render(fmt.Sprintf(" · %s earlier · %s unknown · peak %s", formatCount(in.Earlier), formatCount(in.Unknown), formatCount(peak))))

	// The chart takes what the scenes leave, between 3 and 8 lines.
	chartH := min(max(height-len(in.Scenes)-6, 3), 8)
	axisW := len(formatCount(peak))
	colW := 2
	if axisW+2+InsightMonths*3 <= width {
		colW = 3
	}
	for line := chartH - 1; line >= 0; line-- {
		var b strings.Builder
		label := ""
		switch line {
		case chartH - 1:
			label = formatCount(peak)
		case 0:
			label = "0"
		}
		b.WriteString(fmt.Sprintf("%*s ┤", axisW, label))
		for _, m := range in.Months {
			// Eighths of a line filled at this height.
			fill := 0
			if peak > 0 {
				fill = (m.N*chartH*8 + peak - 1) / peak // round up: a month with followers shows
				fill -= line * 8
			}
			g := eighths[min(max(fill, 0), 8)]
			b.WriteString(strings.Repeat(string(g), colW-1) + " ")
		}
		out = append(out, s.Accent.Render(b.String()))
	}
	var axis, labels strings.Builder
	axis.WriteString(strings.Repeat(" ", axisW) + " └" + strings.Repeat("─", InsightMonths*colW))
	labels.WriteString(strings.Repeat(" ", axisW+2))
	used := 0
	for i, m := range in.Months {
		// A label every quarter (and the last month) where it fits.
		if (i%3 == 0 || i == InsightMonths-1) && i*colW >= used {
			l := m.Start.Format("2006-01")
			pad := i*colW - used
			labels.WriteString(strings.Repeat(" ", pad) + l)
			used += pad + len(l) + 1
			labels.WriteString(" ")
		}
	}
	out = append(out, s.Dim.Render(axis.String()), s.Dim.Render(strings.TrimRight(labels.String(), " ")), "")

	out = append(out, s.Header.Render("by subscribe scene")+s.Dim.Render(" · "+formatCount(in.Total)+" followers"))
	nameW := 8
	for _, sc := range in.Scenes {
		nameW = max(nameW, ansi.StringWidth(sceneName(sc.Scene)))
	}
	nameW = min(nameW, 28)
	numW := len(formatCount(in.Total))
	barW := max(width-2-nameW-2-2-numW-len("  100.0 %"), 4)
	top := 0
	if len(in.Scenes) > 0 {
		top = in.Scenes[0].N
	}
	for _, sc := range in.Scenes {
		pct := 100 * float64(sc.N) / float64(max(in.Total, 1))
		line := "  " + cell(sceneName(sc.Scene), nameW) + "  " +
			s.Accent.Render(cell(hbar(sc.N, top, barW), barW)) + "  " +
			fmt.Sprintf("%*s  %5.1f %%", numW, formatCount(sc.N), pct)
		out = append(out, line)
	}
	if len(in.Scenes) == 0 {
		out = append(out, s.Dim.Render("  no followers here"))
	}
	for i, l := range out {
		out[i] = ansi.Truncate(l, width, "")
	}
	return out
}

// sceneName is the scene as shown: known prefixes trimmed, an unknown value
// kept as it came (sanitised), and the empty scene named.
func sceneName(scene string) string {
	if scene == "" {
		return "(no scene)"
	}
	return sceneLabel(scene)
}

// hbar is a horizontal bar of n out of top in w cells, in eighths of a cell.
func hbar(n, top, w int) string {
	if top <= 0 || n <= 0 {
		return ""
	}
	e := max(n*w*8/top, 1)
	partial := []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}
	return strings.Repeat("█", e/8) + partial[e%8]
}

// InsightsView is a page with the insights of one app's followers: the
// Followers view pushes it on i, over the rows it shows. Its first tab
// counts them by month and scene; with WithGrowth, tab shows the second,
// the official daily figures (insights_growth.go).
type InsightsView struct {
	c      *Common
	title  string
	in     Insights
	keys   InsightsKeys
	list   ListKeys // scroll what is taller than the screen
	width  int
	height int
	offset int // the first line shown of a tab taller than the screen

	x      *FollowerIndex
	growth *growthTab // nil without WithGrowth
	tab    int        // 0 by month and scene, 1 growth
}

// NewInsights returns the insights page of rows of x (nil: every follower
// who still follows); title says whose they are, e.g. `news › followers ·
// filter "vip"`.
func NewInsights(c *Common, title string, x *FollowerIndex, rows []uint32) *InsightsView {
	v := &InsightsView{c: c, title: title, in: ComputeInsights(x, rows, c.Now(), c.Loc), keys: DefaultInsightsKeys(),
		list: DefaultListKeys(), x: x}
	v.setKeys()
	return v
}

// Insights returns the counts the page shows.
func (v *InsightsView) Insights() Insights { return v.in }

// Init implements Page.
func (v *InsightsView) Init() tea.Cmd { return nil }

// SetSize implements Page.
func (v *InsightsView) SetSize(w, h int) { v.width, v.height = w, h }

// KeyMap implements Page.
func (v *InsightsView) KeyMap() help.KeyMap { return v.keys }

// setKeys enables the keys that do something in the current tab.
func (v *InsightsView) setKeys() {
	g := v.growth != nil
	v.keys.Tab.SetEnabled(g)
	v.keys.Shorter.SetEnabled(g && v.tab == 1)
	v.keys.Longer.SetEnabled(g && v.tab == 1)
	v.keys.Refresh.SetEnabled(g && v.tab == 1 && v.c.Growth != nil)
}

// CapturesInput implements Page.
func (v *InsightsView) CapturesInput() bool { return false }

// Update implements Page.
func (v *InsightsView) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case growthLoadedMsg:
		return v.growthLoaded(msg)
	case growthRefreshedMsg:
		return v.growthRefreshed(msg)
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, v.keys.Back):
			return Pop()
		case key.Matches(msg, v.keys.Tab):
			v.tab = 1 - v.tab
			v.setKeys()
			if v.tab == 1 {
				return v.growth.open(v)
			}
		case key.Matches(msg, v.keys.Shorter):
			return v.growth.span(v, -1)
		case key.Matches(msg, v.keys.Longer):
			return v.growth.span(v, 1)
		case key.Matches(msg, v.keys.Refresh):
			return v.growth.refresh(v)
		default:
			if d, ok := v.list.step(msg, v.height-1, 1<<20); ok && v.tab == 0 {
				v.offset += d // View clamps it
				return nil
			}
			return noKey(msg)
		}
	}
	return nil
}

// View implements Page.
func (v *InsightsView) View() string {
	if v.width <= 0 || v.height <= 0 {
		return ""
	}
	s := v.c.Styles
	head := sanitize.Text(v.title) + " › insights"
	title := s.Title.Render(ansi.Truncate(head, v.width, "…"))
	if v.growth != nil {
		tabs := []string{"by month and scene", "growth"}
		tabs[v.tab] = s.Accent.Render("[" + tabs[v.tab] + "]")
		title = spread(s.Title.Render(head), strings.Join(tabs, s.Dim.Render(" · ")), v.width)
	}
	if v.tab == 1 {
		return title + "\n" + v.growth.view(v, v.height-1)
	}
	body := max(v.height-1, 1)
	ls := insightsLines(s, v.in, v.width, body)
	if len(ls) > body {
		// Taller than the screen: a window over it, and where it is.
		page := max(body-1, 1)
		v.offset = min(max(v.offset, 0), len(ls)-page)
		more := s.Dim.Render(ansi.Truncate(fmt.Sprintf("↑/↓ scroll · line %d–%d of %d", v.offset+1, v.offset+page, len(ls)), v.width, "…"))
		ls = append(ls[v.offset:v.offset+page:v.offset+page], more)
	} else {
		v.offset = 0
	}
	return title + "\n" + strings.Join(ls, "\n")
}
