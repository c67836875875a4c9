package ui

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/cache"
	"wxscope/sanitize"
	"wxscope/wording"
)

// LinksSpec says where the Links and Doctor views read and what they open.
type LinksSpec struct {
	Reader LinksReader
	// Followers opens an app's followers (no-unionid rows, doctor
	// findings); nil leaves those rows inert.
	Followers FollowersOpener
	// Filter is the groups filter the Links view starts with (the zero
	// value: every person). The Doctor view ignores it.
	Filter GroupFilter
}

// Links shows how the apps overlap: a heat map of the persons each pair of
// apps shares, and the list of persons (unionid groups) under a filter such
// as "missing in shop". The list is virtualised over a compact groupIndex:
// only the rows on screen become strings.
type Links struct {
	c      *Common
	spec   LinksSpec
	keys   LinksKeys
	width  int
	height int

	links   *cache.Links
	err     error
	groups  *groupIndex
	gErr    error
	filters []GroupFilter // the chips, built when both loads are in
	fi      int           // the chip in use
	want    GroupFilter   // the chip to select once they are built

	rows    []uint32     // the groups the filter keeps
	noUnion []noUnionApp // the rows of the no-unionid filter
	cursor  int
	offset  int

	gen     int  // the load whose answers are taken; older ones are dropped
	keep    bool // a reload after a sync: keep the cursor where it was
	pending int  // answers still out of a keep reload
	next    struct {
		links *cache.Links
		x     *groupIndex
		err   error
	}
}

// noUnionApp is one row of the no-unionid list: a bound app and how many of
// its followers carry no unionid.
type noUnionApp struct {
	appID, name string
	n           int64
}

type linksAnalyzedMsg struct {
	owner *Links
	gen   int
	links *cache.Links
	err   error
}

type linksGroupsMsg struct {
	owner *Links
	gen   int
	x     *groupIndex
	err   error
}

// The view's results are addressed to it.
func (m linksAnalyzedMsg) Owner() Page { return m.owner }
func (m linksGroupsMsg) Owner() Page   { return m.owner }

// NewLinks returns the Links view; it loads the analysis and the groups
// when the root pushes it.
func NewLinks(c *Common, spec LinksSpec) *Links {
	return &Links{c: c, spec: spec, keys: DefaultLinksKeys(), want: spec.Filter}
}

// Init implements Page: the analysis and the groups load side by side.
func (l *Links) Init() tea.Cmd {
	if l.spec.Reader == nil {
		l.err = fmt.Errorf("no cache to analyse")
		return nil
	}
	return tea.Batch(l.analyze(), l.loadGroups())
}

func (l *Links) analyze() tea.Cmd {
	ctx, src, gen := l.c.Ctx, l.spec.Reader, l.gen
	return func() tea.Msg {
		links, err := src.Analyze(ctx)
		return linksAnalyzedMsg{owner: l, gen: gen, links: links, err: err}
	}
}

func (l *Links) loadGroups() tea.Cmd {
	ctx, src, gen := l.c.Ctx, l.spec.Reader, l.gen
	return func() tea.Msg {
		x, err := loadGroups(ctx, src)
		return linksGroupsMsg{owner: l, gen: gen, x: x, err: err}
	}
}

// reload reads the analysis and the groups again. After a sync (keep) the
// old ones stay on screen until both new ones are in, and the filter and
// the cursor stay where they were; on r the view starts afresh.
func (l *Links) reload(keep bool) tea.Cmd {
	if l.spec.Reader == nil {
		return nil
	}
	l.gen++
	l.want, l.keep = l.current(), keep
	if !keep || l.links == nil || l.groups == nil {
		l.keep = false
		l.links, l.groups, l.err, l.gErr, l.filters = nil, nil, nil, nil, nil
		return l.Init()
	}
	l.pending = 2
	return tea.Batch(l.analyze(), l.loadGroups())
}

// SetSize implements Page.
func (l *Links) SetSize(width, height int) {
	l.width, l.height = width, height
	l.clamp()
}

// KeyMap implements Page.
func (l *Links) KeyMap() help.KeyMap { return l.keys }

// CapturesInput implements Page.
func (l *Links) CapturesInput() bool { return false }

// Update implements Page.
func (l *Links) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case linksAnalyzedMsg:
		if msg.gen != l.gen {
			return nil
		}
		if l.pending > 0 {
			l.next.links = msg.links
			l.next.err = errors.Join(l.next.err, msg.err)
			l.swapIn()
			return nil
		}
		l.links, l.err = msg.links, msg.err
		l.build()
	case linksGroupsMsg:
		if msg.gen != l.gen {
			return nil
		}
		if l.pending > 0 {
			l.next.x = msg.x
			l.next.err = errors.Join(l.next.err, msg.err)
			l.swapIn()
			return nil
		}
		l.groups, l.gErr = msg.x, msg.err
		l.build()
		if msg.x != nil && msg.x.ids.spillErr != nil {
			// The view works the same; whoever watches the memory
			// should know why it is higher.
			return Log(fmt.Sprintf("links: %v", msg.x.ids.spillErr), true)
		}
	case CacheChangedMsg:
		return l.reload(true)
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			l.move(-3)
		case tea.MouseWheelDown:
			l.move(3)
		}
	case tea.MouseClickMsg:
		return l.click(msg)
	case tea.KeyPressMsg:
		return l.handleKey(msg)
	}
	return nil
}

func (l *Links) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := l.keys
	if d, ok := k.step(msg, l.pageRows(), l.listLen()); ok {
		l.move(d)
		return nil
	}
	switch {
	case key.Matches(msg, k.Back):
		return Pop()
	case key.Matches(msg, k.Refresh):
		return l.reload(false)
	case key.Matches(msg, k.NextFilter):
		l.selectFilter(l.fi + 1)
	case key.Matches(msg, k.PrevFilter):
		l.selectFilter(l.fi - 1)
	case key.Matches(msg, k.Open):
		return l.open()
	case key.Matches(msg, k.Copy):
		if g, ok := l.currentGroup(); ok {
			return copyID(l.c, "unionid", l.groups.unionID(g))
		}
		return Flash("no unionid here")
	default:
		return noKey(msg)
	}
	return nil
}

// open goes to what the row under the cursor stands for: the person, or an
// app's followers without unionid.
func (l *Links) open() tea.Cmd {
	if l.current().Kind == GroupsNoUnionID {
		if l.cursor >= len(l.noUnion) {
			return nil
		}
		a := l.noUnion[l.cursor]
		if l.spec.Followers == nil {
			return Flash("the followers of " + sanitize.Text(a.name) + " cannot be opened here")
		}
		return Push(l.spec.Followers(a.appID, SubsetNoUnionID))
	}
	if g, ok := l.currentGroup(); ok {
		return LoadPerson(l.c, l.groups.unionID(g))
	}
	return Flash("nobody here to open")
}

// swapIn takes the answers of a reload after a sync once both are in. A
// failed reload (the program quitting, a busy file) keeps what is shown.
func (l *Links) swapIn() {
	if l.pending--; l.pending > 0 {
		return
	}
	next := l.next
	l.next.links, l.next.x, l.next.err = nil, nil, nil
	if next.err != nil {
		l.keep = false
		return
	}
	l.links, l.groups, l.err, l.gErr = next.links, next.x, nil, nil
	l.build()
}

// Filter is the filter in use.
func (l *Links) Filter() GroupFilter { return l.current() }

func (l *Links) current() GroupFilter {
	if l.fi < len(l.filters) {
		return l.filters[l.fi]
	}
	return l.want
}

func (l *Links) currentGroup() (int, bool) {
	if l.groups == nil || l.current().Kind == GroupsNoUnionID || l.cursor >= len(l.rows) {
		return 0, false
	}
	return int(l.rows[l.cursor]), true
}

// build makes the chips once both loads are in, and selects the wanted one.
func (l *Links) build() {
	if l.links == nil || l.groups == nil {
		return
	}
	x, fs := l.groups, []GroupFilter{{Kind: GroupsAll}}
	for _, a := range l.links.Apps {
		if a.Bound {
			fs = append(fs, GroupFilter{Kind: GroupsMissingIn, App: a.AppID})
		}
	}
	for n := 1; n <= len(l.links.Apps); n++ {
		if x.inN[n] > 0 {
			fs = append(fs, GroupFilter{Kind: GroupsInApps, N: n})
		}
	}
	l.noUnion = l.noUnion[:0]
	for _, a := range l.links.Apps {
		if n := a.Counts.Subscribed - a.Counts.WithUnionID; a.Bound && n > 0 {
			l.noUnion = append(l.noUnion, noUnionApp{appID: a.AppID, name: a.Label(), n: n})
		}
	}
	if len(l.noUnion) > 0 || l.want.Kind == GroupsNoUnionID {
		fs = append(fs, GroupFilter{Kind: GroupsNoUnionID})
	}
	for _, a := range l.links.Apps {
		if f := (GroupFilter{Kind: GroupsConflict, App: a.AppID}); x.count(f) > 0 || l.want == f {
			fs = append(fs, f)
		}
	}
	l.filters, l.fi = fs, 0
	found := false
	for i, f := range fs {
		if f == l.want {
			l.fi, found = i, true
		}
	}
	if !found && l.want != (GroupFilter{}) {
		l.filters = append(l.filters, l.want)
		l.fi = len(l.filters) - 1
	}
	l.applyFilter()
}

func (l *Links) selectFilter(i int) {
	if len(l.filters) == 0 {
		return
	}
	l.fi = (i + len(l.filters)) % len(l.filters)
	l.want = l.filters[l.fi]
	l.applyFilter()
}

func (l *Links) applyFilter() {
	if l.keep {
		l.keep = false // the cursor stays; clamp fits it to the new list
	} else {
		l.cursor, l.offset = 0, 0
	}
	if f := l.current(); f.Kind != GroupsNoUnionID {
		l.rows = l.groups.rows(f)
	} else {
		l.rows = nil
	}
	l.clamp()
}

func (l *Links) listLen() int {
	if l.current().Kind == GroupsNoUnionID {
		return len(l.noUnion)
	}
	return len(l.rows)
}

func (l *Links) move(d int) {
	l.cursor += d
	l.clamp()
}

func (l *Links) clamp() {
	n, page := l.listLen(), l.pageRows()
	l.cursor = min(max(l.cursor, 0), max(n-1, 0))
	l.offset = scrollInto(l.offset, l.cursor, l.cursor, page, n)
}

// listTop is the screen line of the first list row: the title, the heat
// map (a header and a row per app), the chips and the list header.
func (l *Links) listTop() int {
	if l.links == nil {
		return 2
	}
	return 1 + 1 + len(l.links.Apps) + len(l.chipLines()) + len(l.platformNote()) + 1
}

// platformNote says, under the chips of "missing in X", who that count
// leaves out and why: the persons of other platforms, who have other
// unionids in X. Empty for other filters, or when nobody is left out.
func (l *Links) platformNote() []string {
	f := l.current()
	if l.groups == nil || f.Kind != GroupsMissingIn {
		return nil
	}
	n := l.groups.otherPlatforms(f.App)
	i := l.links.Index(f.App)
	if n == 0 || i < 0 {
		return nil
	}
	a := &l.links.Apps[i]
	var others []string
	for j := range l.links.Apps {
		if o := &l.links.Apps[j]; o.Bound && o.Platform != a.Platform && !slices.Contains(others, o.Platform) {
			others = append(others, o.Platform)
		}
	}
	text := fmt.Sprintf("not counted: %s %s of %s, on another open platform than %s (%s): there they have other unionids, so nobody can tell whether they use %s",
		formatCount(n), plural(n, "person", "persons"), strings.Join(others, ", "), sanitize.Text(a.Label()), sanitize.Text(a.Platform), sanitize.Text(a.Label()))
	s := l.c.Styles
	var out []string
	for _, w := range strings.Split(ansi.Wrap(text, max(l.width-2, 10), ""), "\n") {
		out = append(out, s.Dim.Render("  "+w))
	}
	return out
}

// plural is word for n, as a count says it: "1 person", "2 persons".
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (l *Links) pageRows() int { return max(l.height-l.listTop(), 0) }

func (l *Links) click(msg tea.MouseClickMsg) tea.Cmd {
	if msg.Button != tea.MouseLeft || l.links == nil || l.groups == nil {
		return nil
	}
	chipTop := 2 + len(l.links.Apps)
	if y := msg.Y - chipTop; y >= 0 && y < len(l.chipLines()) {
		for _, c := range l.chipLines()[y].spans {
			if msg.X >= c.x0 && msg.X < c.x1 {
				l.selectFilter(c.filter)
			}
		}
		return nil
	}
	if i := msg.Y - l.listTop(); i >= 0 && l.offset+i < l.listLen() {
		l.cursor = l.offset + i
		l.clamp()
	}
	return nil
}

// View implements Page.
func (l *Links) View() string {
	if l.width <= 0 || l.height <= 0 {
		return ""
	}
	s := l.c.Styles
	switch {
	case l.err != nil:
		return s.Title.Render("links") + "\n" + s.Error.Render(sanitize.Text(wording.Error(wording.TUI, "", l.err)))
	case l.links == nil:
		return s.Title.Render("links") + "\n" + s.Dim.Render("analysing the links…")
	}
	out := []string{l.titleLine()}
	out = append(out, l.heatMap()...)
	switch {
	case l.gErr != nil:
		out = append(out, s.Error.Render(sanitize.Text(wording.Error(wording.TUI, "", l.gErr))))
	case l.groups == nil:
		out = append(out, s.Dim.Render("reading the groups…"))
	default:
		for _, c := range l.chipLines() {
			out = append(out, c.text)
		}
		out = append(out, l.platformNote()...)
		out = append(out, l.list()...)
	}
	return strings.Join(out, "\n")
}

func (l *Links) titleLine() string {
	s := l.c.Styles
	left := s.Title.Render("links") + s.Dim.Render(" · "+formatCount(int(l.links.Persons))+" persons with a unionid · shared persons between apps")
	right := ""
	if l.groups != nil {
		pos := 0
		if l.listLen() > 0 {
			pos = l.cursor + 1
		}
		right = s.Dim.Render(formatCount(l.listLen()) + " rows · row " + formatCount(pos))
	}
	return spread(left, right, l.width)
}

// shade is the heat-map glyph for a share of the smaller app's persons.
func shade(shared, smaller int64) (glyph string, level int) {
	switch {
	case shared <= 0:
		return "░", 0
	case shared >= smaller:
		return "█", 3
	case 2*shared >= smaller:
		return "▓", 2
	}
	return "▒", 1
}

const heatLegend = "shade: share of the smaller app  ░ none  ▒ some  ▓ most  █ all"

// mainPlatform is the largest platform, P1 (platforms are labelled by
// size); an app bound to another one is flagged. "" when no app is bound.
func mainPlatform(apps []cache.AppLinks) string {
	for _, a := range apps {
		if a.Bound && a.Platform == "P1" {
			return "P1"
		}
	}
	return ""
}

// heatMap draws the app-by-app matrix: a header and one row per app.
func (l *Links) heatMap() []string {
	s, apps := l.c.Styles, l.links.Apps
	names := make([]string, len(apps))
	nameW, numW := 4, 1
	for i := range apps {
		names[i] = sanitize.Text(apps[i].Label())
		nameW = max(nameW, ansi.StringWidth(names[i]))
		numW = max(numW, len(formatCount(int(max(apps[i].Persons, apps[i].Counts.Subscribed)))))
	}
	nameW = min(nameW, 16)
	cw := max(numW+2, min(nameW, 12))
	main := mainPlatform(apps)

	var hb strings.Builder
	hb.WriteString(strings.Repeat(" ", nameW+1))
	for i := range apps {
		hb.WriteString(gap)
		hb.WriteString(lipgloss.NewStyle().Width(cw).Align(lipgloss.Right).Render(ansi.Truncate(names[i], cw, "…")))
	}
	header := s.Header.Render(hb.String())
	// The legend takes what the header leaves, and says when it is cut.
	legend := ansi.Truncate(heatLegend, max(l.width-ansi.StringWidth(header)-len(gap), 0), "…")
	out := []string{header + gap + s.Dim.Render(legend)}

	// No overlap between two bound apps is the alarm (another platform);
	// some is ordinary; most and all are the healthy case.
	levels := []lipgloss.Style{s.Warn, lipgloss.NewStyle(), s.Present, s.Present}
	for i := range apps {
		a := &apps[i]
		var b strings.Builder
		b.WriteString(" ")
		b.WriteString(cell(names[i], nameW))
		for j := range apps {
			b.WriteString(gap)
			o := &apps[j]
			var text string
			st := lipgloss.NewStyle()
			switch {
			case i == j && a.Bound:
				text = formatCount(int(a.Persons))
			case !a.Bound || !o.Bound:
				// Persons are unionids: an unbound app has none, on its
				// diagonal too, as wxscope doctor shows it.
				text = "—"
				st = s.Dim
			default:
				shared := l.links.Shared(i, j)
				g, lv := shade(shared, min(a.Persons, o.Persons))
				text = g + " " + fmt.Sprintf("%*s", numW, formatCount(int(shared)))
				st = levels[lv]
			}
			b.WriteString(st.Render(fmt.Sprintf("%*s", cw, text)))
		}
		// The note takes what the row leaves and says it is cut.
		room := l.width - ansi.StringWidth(b.String()) - len(gap)
		if note, warn := l.appNote(a, main); note != "" && room > 1 {
			note = ansi.Truncate(note, room, "…")
			if warn {
				b.WriteString(gap + s.Warn.Render(note))
			} else {
				b.WriteString(gap + s.Dim.Render(note))
			}
		}
		out = append(out, ansi.Truncate(b.String(), l.width, "…"))
	}
	return out
}

// appNote says what is odd about an app, beside its heat-map row, in
// words a newcomer reads at a glance; warn says it is a finding.
func (l *Links) appNote(a *cache.AppLinks, main string) (note string, warn bool) {
	switch {
	case !a.InCache || (!a.Synced() && a.Counts.Profiles == 0):
		return "(not synced yet)", false
	case !a.Bound && !a.Synced():
		// Part of a first listing proves little: wait for the verdict.
		return "(no unionid so far; sync not finished)", false
	case !a.Bound:
		people := "followers"
		if !a.IsOfficial() {
			people = "members"
		}
		return "⚠ not bound to an open platform: " + formatCount(int(a.Counts.Subscribed)) + " " + people + ", no unionids", true
	case main != "" && a.Platform != main:
		return "⚠ another open platform? (" + sanitize.Text(a.Platform) + ": shares nobody with " + sanitize.Text(main) + ")", true
	}
	return "", false
}

// chipLine is one line of filter chips and where each chip sits, for clicks.
type chipLine struct {
	text  string
	spans []chipSpan
}

type chipSpan struct{ x0, x1, filter int }

func (l *Links) filterLabel(f GroupFilter) string {
	name := func(appid string) string {
		if i := l.links.Index(appid); i >= 0 {
			return sanitize.Text(l.links.Apps[i].Label())
		}
		return sanitize.Text(appid)
	}
	switch f.Kind {
	case GroupsMissingIn:
		return "missing in " + name(f.App)
	case GroupsInApps:
		if f.N == 1 {
			return "in 1 app only"
		}
		return fmt.Sprintf("in %d apps", f.N)
	case GroupsConflict:
		return "conflict in " + name(f.App)
	case GroupsNoUnionID:
		return "no unionid"
	case GroupsOtherPlatform:
		return "other platforms than " + name(f.App)
	}
	return "all"
}

func (l *Links) filterCount(f GroupFilter) int {
	if f.Kind == GroupsNoUnionID {
		var n int64
		for _, a := range l.noUnion {
			n += a.n
		}
		return int(n)
	}
	return l.groups.count(f)
}

// chipLines lays the chips out over as many lines as they need.
func (l *Links) chipLines() []chipLine {
	if l.groups == nil || len(l.filters) == 0 {
		return nil
	}
	s := l.c.Styles
	lead := "groups: "
	var out []chipLine
	cur := chipLine{text: s.Dim.Render(lead)}
	x := len(lead)
	for i, f := range l.filters {
		label := "[" + l.filterLabel(f) + " " + formatCount(l.filterCount(f)) + "]"
		w := ansi.StringWidth(label)
		if x+w+1 > l.width && len(cur.spans) > 0 {
			out = append(out, cur)
			cur, x = chipLine{text: strings.Repeat(" ", len(lead))}, len(lead)
		}
		if i == l.fi {
			cur.text += s.Selected.Render(label)
		} else {
			cur.text += s.Accent.Render(label)
		}
		cur.text += " "
		cur.spans = append(cur.spans, chipSpan{x0: x, x1: x + w, filter: i})
		x += w + 1
	}
	return append(out, cur)
}

// list draws the list header and the visible rows.
func (l *Links) list() []string {
	s := l.c.Styles
	f := l.current()
	if f.Kind == GroupsNoUnionID {
		return l.noUnionList()
	}
	x := l.groups
	idW := min(max(x.maxLen, 7), max(l.width/2, idMin))
	header := "  " + cell("unionid", idW) + gap + "apps  (✓ there · missing – cannot tell)"
	out := []string{s.Header.Render(ansi.Truncate(header, l.width, "…"))}
	if len(l.rows) == 0 {
		return append(out, s.Dim.Render("  nobody here"))
	}
	apps := l.links.Apps
	end := min(l.offset+l.pageRows(), len(l.rows))
	for i := l.offset; i < end; i++ {
		g := int(l.rows[i])
		in, dup := x.in[g], x.conflict[uint32(g)]
		var b strings.Builder
		if i == l.cursor {
			b.WriteString("▸ ")
		} else {
			b.WriteString("  ")
		}
		b.WriteString(cell(sanitize.Text(x.unionID(g)), idW))
		for j := range apps {
			b.WriteString(gap)
			bit, ok := x.appBit[apps[j].AppID]
			mark := "–"
			switch {
			case ok && in&(1<<bit) != 0 && dup&(1<<bit) != 0:
				mark = "✓✓ conflict"
			case ok && in&(1<<bit) != 0:
				mark = "✓"
			case ok && x.missingMask(g)&(1<<bit) != 0:
				mark = "·" // bound and on the person's platform
			}
			b.WriteString(sanitize.Text(apps[j].Label()) + " " + mark)
		}
		line := ansi.Truncate(b.String(), l.width, "…")
		if i == l.cursor {
			line = s.Selected.Render(line)
		}
		out = append(out, line)
	}
	return out
}

func (l *Links) noUnionList() []string {
	s := l.c.Styles
	out := []string{s.Header.Render("  followers of bound apps without a unionid: profiles, not persons · enter opens them")}
	if len(l.noUnion) == 0 {
		return append(out, s.Dim.Render("  every follower of a bound app carries a unionid"))
	}
	nameW := 4
	for _, a := range l.noUnion {
		nameW = max(nameW, ansi.StringWidth(sanitize.Text(a.name)))
	}
	end := min(l.offset+l.pageRows(), len(l.noUnion))
	for i := l.offset; i < end; i++ {
		a := l.noUnion[i]
		marker := "  "
		if i == l.cursor {
			marker = "▸ "
		}
		line := marker + cell(sanitize.Text(a.name), nameW) + gap +
			fmt.Sprintf("%9s", formatCount(int(a.n))) + " followers without a unionid"
		line = ansi.Truncate(line, l.width, "…")
		if i == l.cursor {
			line = s.Selected.Render(line)
		}
		out = append(out, line)
	}
	return out
}
