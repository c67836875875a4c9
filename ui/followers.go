package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/cache"
	"wxscope/sanitize"
	"wxscope/wording"
)

// FollowersSpec says which app the Followers view shows and where its data
// comes from.
type FollowersSpec struct {
	App   string // short label
	AppID string
	// Bound is whether this app's followers carry unionids; rows without
	// one are then flagged.
	Bound bool
	// Reader streams the followers; only used when the view is built with
	// NewFollowers (not NewFollowersFromIndex).
	Reader FollowerReader
	// SizeHint is the expected number of followers, to size the index.
	SizeHint int
	// Others are the other apps, one presence column each, and Presence
	// answers for them; Presence may be nil (every cell is then –).
	Others   []OtherApp
	Presence Presence
	// LoadPresence, when set, supplies Presence in the background, with the
	// index: the view shows its columns once both are in.
	LoadPresence func(ctx context.Context) (Presence, error)
	// Subset narrows the rows before any typed filter (e.g. the followers
	// without unionid, opened from the Links or Doctor view).
	Subset FollowerSubset
}

// OtherApp is one other configured app, shown as a presence column.
type OtherApp struct {
	Name  string // short label, the column header
	AppID string
	Bound bool // any of its subscribed followers carries a unionid
}

// PresenceState is what a presence column says about one row.
type PresenceState uint8

// The three presence states, in ascending sort order.
const (
	PresenceUnknown PresenceState = iota // – app not bound, or no unionid: nobody can tell
	PresenceMissing                      // · app bound, person not there
	PresencePresent                      // ✓ person is there
)

// Followers is the virtualised list of one app's followers. It holds a
// FollowerIndex and the list of visible row numbers (a []uint32), and draws
// only the rows in the window, so its cost per frame does not depend on
// the number of followers. Filtering and sorting run in tea.Cmd goroutines;
// each change bumps a generation number and a result from an older
// generation is dropped (and its scan stops early), so typing never waits.
type Followers struct {
	c          *Common
	spec       FollowersSpec
	keys       FollowersKeys
	filterKeys FilterKeys
	width      int
	height     int

	idx     *FollowerIndex
	loadErr error

	query          string
	sortKey        SortKey
	desc           bool
	showUnfollowed bool

	match      []uint64 // rows matching matchQuery; nil when no filter
	matchQuery string
	orders     map[SortKey][]uint32

	rows    []uint32 // the visible rows, in display order
	gen     *atomic.Uint64
	pending string // "filtering…" or "sorting…" while a result is out

	cursor, offset int

	editing bool
	input   lineInput

	base []uint64 // the rows of spec.Subset; nil for every row

	exporting bool // the export prompt has the input (viewexport.go)
	exportIn  lineInput
}

// followersLoadedMsg carries a built index to the view that asked for it.
type followersLoadedMsg struct {
	owner    *Followers
	idx      *FollowerIndex
	presence Presence
	err      error
}

// followersResultMsg carries a filter or sort result.
type followersResultMsg struct {
	owner *Followers
	gen   uint64
	query string
	match []uint64
	key   SortKey
	order []uint32
	rows  []uint32
}

// The view's results are addressed to it. (The export's result is a
// FlashMsg, which the root shows whichever page is on top.)
func (m followersLoadedMsg) Owner() Page { return m.owner }
func (m followersResultMsg) Owner() Page { return m.owner }

// NewFollowers returns the view for spec; it loads its index from
// spec.Reader when the root pushes it.
func NewFollowers(c *Common, spec FollowersSpec) *Followers {
	f := &Followers{
		c: c, spec: spec, keys: DefaultFollowersKeys(), filterKeys: DefaultFilterKeys(),
		sortKey: SortFollowed, desc: true, orders: map[SortKey][]uint32{},
		gen: new(atomic.Uint64), input: lineInput{prompt: "/ ", limit: 128},
	}
	return f
}

// NewFollowersFromIndex returns the view over an index built beforehand.
func NewFollowersFromIndex(c *Common, spec FollowersSpec, idx *FollowerIndex) *Followers {
	f := NewFollowers(c, spec)
	f.setIndex(idx)
	return f
}

// LoadFollowerIndex reads every follower of appID from src into an index.
func LoadFollowerIndex(ctx context.Context, src FollowerReader, appID string, sizeHint int) (*FollowerIndex, error) {
	b := NewFollowerIndexBuilder(sizeHint)
	err := src.EachFollower(ctx, appID, func(p *cache.Profile) error {
		b.Add(p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load followers of %s: %w", appID, err)
	}
	return b.Build(), nil
}

// Init implements Page: it starts loading the index if there is none.
func (f *Followers) Init() tea.Cmd {
	if f.idx != nil || f.spec.Reader == nil {
		return nil
	}
	ctx, src, spec := f.c.Ctx, f.spec.Reader, f.spec
	return func() tea.Msg {
		idx, err := LoadFollowerIndex(ctx, src, spec.AppID, spec.SizeHint)
		var pres Presence
		if err == nil && spec.LoadPresence != nil {
			pres, err = spec.LoadPresence(ctx)
		}
		return followersLoadedMsg{owner: f, idx: idx, presence: pres, err: err}
	}
}

func (f *Followers) setIndex(idx *FollowerIndex) {
	f.idx = idx
	f.orders[SortFollowed] = idx.Order(SortFollowed, nil)
	f.base, _ = idx.subsetBits(f.spec.Subset)
	f.rows = idx.Visible(f.orders[SortFollowed], f.desc, f.base, f.showUnfollowed)
}

// SetSize implements Page.
func (f *Followers) SetSize(width, height int) {
	f.width, f.height = width, height
	f.input.width = max(width-40, 10)
	f.clampCursor()
}

// CapturesInput implements Page: true while the filter box or the export
// prompt is open.
func (f *Followers) CapturesInput() bool { return f.editing || f.exporting }

// KeyMap implements Page.
func (f *Followers) KeyMap() help.KeyMap {
	if f.editing {
		return f.filterKeys
	}
	if f.exporting {
		return exportKeys
	}
	return f.keys
}

// Update implements Page.
func (f *Followers) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case followersLoadedMsg:
		if msg.err != nil {
			f.loadErr = msg.err
			return nil
		}
		if msg.presence != nil {
			f.spec.Presence = msg.presence
		}
		f.setIndex(msg.idx)
		return f.refresh()
	case followersResultMsg:
		if msg.gen != f.gen.Load() {
			return nil // a newer keystroke already asked again
		}
		f.apply(msg)
		return nil
	case tea.PasteMsg:
		if f.exporting {
			f.exportIn.update(msg)
			return nil
		}
		if f.editing {
			return f.updateInput(msg)
		}
	case tea.MouseMsg:
		if f.idx != nil && !f.editing && !f.exporting {
			return f.mouse(msg)
		}
	case tea.KeyPressMsg:
		if f.idx == nil {
			if key.Matches(msg, f.keys.Back) {
				return Pop()
			}
			if f.loadErr != nil {
				return Flash("the followers could not be read: esc goes back")
			}
			return Flash("still reading the followers…")
		}
		if f.exporting {
			return f.handleExportKey(msg)
		}
		if f.editing {
			return f.handleFilterKey(msg)
		}
		return f.handleKey(msg)
	}
	return nil
}

func (f *Followers) handleFilterKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, f.filterKeys.Accept):
		f.editing = false
		return nil
	case key.Matches(msg, f.filterKeys.Cancel):
		f.editing = false
		f.query = ""
		return f.refresh()
	}
	return f.updateInput(msg)
}

func (f *Followers) updateInput(msg tea.Msg) tea.Cmd {
	if f.input.update(msg) && f.input.get() != f.query {
		f.query = f.input.get()
		return f.refresh()
	}
	return nil
}

func (f *Followers) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := f.keys
	if d, ok := k.step(msg, f.pageRows(), len(f.rows)); ok {
		f.move(d)
		return nil
	}
	switch {
	case key.Matches(msg, k.Filter):
		f.editing = true
		f.input.set(f.query)
		return nil
	case key.Matches(msg, k.Sort):
		f.sortKey = (f.sortKey + 1) % (SortApp + SortKey(len(f.spec.Others)))
		f.desc = f.sortKey == SortFollowed || f.sortKey >= SortApp
		return f.refresh()
	case key.Matches(msg, k.Reverse):
		f.desc = !f.desc
		return f.refresh()
	case key.Matches(msg, k.Unfollowed):
		if f.idx.Unfollowed() == 0 {
			return Flash("nobody has unfollowed " + sanitize.Text(f.spec.App) + " as far as the cache knows: a complete sync marks who left")
		}
		f.showUnfollowed = !f.showUnfollowed
		return f.refresh()
	case key.Matches(msg, k.Open):
		if r, ok := f.current(); ok {
			// By openid: the person across apps, opened on this app's row.
			return LoadPerson(f.c, f.idx.OpenID(r))
		}
		return Flash("no follower here to open")
	case key.Matches(msg, k.Insights):
		return Push(NewInsights(f.c, f.viewTitle(), f.idx, f.rows))
	case key.Matches(msg, k.Export):
		f.startExport()
		return nil
	case key.Matches(msg, k.Copy):
		if r, ok := f.current(); ok {
			return copyID(f.c, "openid", f.idx.OpenID(r))
		}
		return Flash("no follower here to copy")
	case key.Matches(msg, k.Back):
		if f.query != "" {
			f.query = ""
			return f.refresh()
		}
		return Pop()
	}
	return noKey(msg)
}

// current returns the row under the cursor.
func (f *Followers) current() (int, bool) {
	if f.cursor < 0 || f.cursor >= len(f.rows) {
		return 0, false
	}
	return int(f.rows[f.cursor]), true
}

// Selected returns the openid under the cursor, or "" when the list is empty.
func (f *Followers) Selected() string {
	if r, ok := f.current(); ok {
		return f.idx.OpenID(r)
	}
	return ""
}

// Rows is the number of rows the current filter and toggles let through.
func (f *Followers) Rows() int { return len(f.rows) }

// Pending reports whether a filter or sort result is still out.
func (f *Followers) Pending() bool { return f.pending != "" }

func (f *Followers) move(d int) {
	f.cursor += d
	f.clampCursor()
}

func (f *Followers) clampCursor() {
	f.cursor = min(max(f.cursor, 0), max(len(f.rows)-1, 0))
	f.offset = scrollInto(f.offset, f.cursor, f.cursor, f.pageRows(), len(f.rows))
}

// pageRows is how many rows fit under the title and the column header.
func (f *Followers) pageRows() int {
	h := f.height - 2
	if f.editing || f.exporting {
		h--
	}
	return max(h, 0)
}

// refresh recomputes the visible rows for the current query, sort and
// toggles. What is cheap (an O(rows) pass over a cached order) happens now;
// a filter scan or a new sort order goes to a goroutine.
func (f *Followers) refresh() tea.Cmd {
	gen := f.gen.Add(1)
	x, q, sk, desc, showU := f.idx, f.query, f.sortKey, f.desc, f.showUnfollowed
	order := f.orders[sk]
	sameQuery := q == f.matchQuery && (q == "" || f.match != nil)
	if order != nil && sameQuery {
		match := f.base
		if q != "" {
			match = f.match
		}
		f.apply(followersResultMsg{owner: f, gen: gen, query: q, match: match,
			key: sk, order: order, rows: x.Visible(order, desc, match, showU)})
		return nil
	}
	var within []uint64
	prev := f.match
	if !sameQuery && f.matchQuery != "" && f.match != nil && strings.Contains(q, f.matchQuery) {
		// The new query can only match a subset. (Containing the old one
		// only up to case is not enough: ids match case-sensitively.)
		within = f.match
	}
	f.pending = "sorting…"
	if !sameQuery {
		f.pending = "filtering…"
	}
	if within == nil {
		within = f.base // a filter searches only the subset
	}
	state := f.stateFunc(sk)
	genp, owner, matchQ, base := f.gen, f, f.matchQuery, f.base
	return func() tea.Msg {
		stop := func() bool { return genp.Load() != gen }
		match := prev
		if q == "" {
			match = base
		} else if q != matchQ || prev == nil {
			var ok bool
			if match, _, ok = x.Match(q, within, stop); !ok {
				return nil
			}
		}
		if order == nil {
			order = x.Order(sk, state)
		}
		if stop() {
			return nil
		}
		return followersResultMsg{owner: owner, gen: gen, query: q, match: match,
			key: sk, order: order, rows: x.Visible(order, desc, match, showU)}
	}
}

// apply installs a result, keeping the cursor on the same person if that
// person is still visible, else at the top for a new filter.
func (f *Followers) apply(m followersResultMsg) {
	prevRow, had := f.current()
	filterChanged := m.query != f.matchQuery
	f.match, f.matchQuery = m.match, m.query
	f.orders[m.key] = m.order
	f.rows = m.rows
	f.pending = ""
	switch {
	case filterChanged:
		f.cursor, f.offset = 0, 0
	case had:
		if i := slices.Index(f.rows, uint32(prevRow)); i >= 0 {
			f.cursor = i
			f.offset = i - f.pageRows()/2
		}
	}
	f.clampCursor()
}

// stateFunc returns the presence state of row r for an app sort key, or nil.
func (f *Followers) stateFunc(sk SortKey) func(int) PresenceState {
	if sk < SortApp {
		return nil
	}
	app, pres, x := f.spec.Others[sk-SortApp], f.spec.Presence, f.idx
	return func(r int) PresenceState { return presenceOf(app, pres, x.UnionID(r)) }
}

func presenceOf(app OtherApp, pres Presence, unionid string) PresenceState {
	switch {
	case !app.Bound || unionid == "" || pres == nil:
		return PresenceUnknown
	case pres.Has(app.AppID, unionid):
		return PresencePresent
	}
	return PresenceMissing
}

// View implements Page.
func (f *Followers) View() string {
	s := f.c.Styles
	if f.width <= 0 || f.height <= 0 {
		return ""
	}
	app := sanitize.Text(f.spec.App)
	switch {
	case f.loadErr != nil:
		return s.Title.Render(app+" › followers") + "\n" + s.Error.Render(sanitize.Text(wording.Error(wording.TUI, "", f.loadErr)))
	case f.idx == nil:
		return s.Title.Render(app+" › followers") + "\n" + s.Dim.Render("loading followers…")
	}
	lay := f.layout()
	var b strings.Builder
	b.WriteString(f.titleLine(app))
	b.WriteByte('\n')
	b.WriteString(f.headerLine(lay))
	end := min(f.offset+f.pageRows(), len(f.rows))
	for i := f.offset; i < end; i++ {
		b.WriteByte('\n')
		b.WriteString(f.rowLine(lay, i))
	}
	if len(f.rows) == 0 {
		b.WriteByte('\n')
		switch {
		case f.idx.Len() == 0:
			b.WriteString(s.Dim.Render("  no followers cached yet"))
		case f.query != "" || f.base != nil:
			b.WriteString(s.Dim.Render("  no followers match"))
		default:
			b.WriteString(s.Dim.Render("  everyone unfollowed: u shows them"))
		}
	}
	if f.editing || f.exporting {
		for n := end - f.offset + max(1-len(f.rows), 0); n < f.pageRows(); n++ {
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
		if f.exporting {
			b.WriteString(f.exportLine())
		} else {
			b.WriteString(f.filterLine())
		}
	}
	return b.String()
}

func (f *Followers) titleLine(app string) string {
	s, x := f.c.Styles, f.idx
	following := x.Len() - x.Unfollowed()
	left := s.Title.Render(app+" › followers") + s.Dim.Render(" · "+formatCount(following))
	if l := f.spec.Subset.label(); l != "" {
		left += s.Dim.Render(" · only ") + s.Accent.Render(l)
	}
	if x.Unfollowed() > 0 {
		if f.showUnfollowed {
			left += s.Dim.Render(" + " + formatCount(x.Unfollowed()) + " unfollowed")
		} else {
			left += s.Dim.Render(" · " + formatCount(x.Unfollowed()) + " unfollowed hidden")
		}
	}
	if f.query != "" {
		res := formatCount(len(f.rows))
		if f.pending == "filtering…" || f.matchQuery != f.query {
			res = "filtering…"
		}
		left += s.Dim.Render(" · filter ") + s.Accent.Render(fmt.Sprintf("%q", sanitize.Text(f.query))) +
			s.Dim.Render(" → ") + res
	}
	by := "by " + f.sortName(f.sortKey) + " " + arrow(f.desc)
	if f.pending == "sorting…" {
		by += " sorting…"
	}
	left += s.Dim.Render(" · ") + s.Accent.Render(by)
	pos := "row 0"
	if len(f.rows) > 0 {
		pos = "row " + formatCount(f.cursor+1)
	}
	right := s.Dim.Render(formatCount(len(f.rows)) + " rows · " + pos)
	return spread(left, right, f.width)
}

func (f *Followers) filterLine() string {
	s := f.c.Styles
	status := "→ " + formatCount(len(f.rows))
	if f.pending == "filtering…" || f.matchQuery != f.query {
		status = "filtering…"
	}
	if f.query == "" {
		status = "type to filter: ids exactly, remarks in any case · ← → move"
	}
	return f.input.view(s.Prompt, s.Cursor) + "  " + s.Dim.Render(status)
}

func arrow(desc bool) string {
	if desc {
		return "↓"
	}
	return "↑"
}

func (f *Followers) sortName(k SortKey) string {
	switch k {
	case SortFollowed:
		return "follow time"
	case SortOpenID:
		return "openid"
	case SortUnionID:
		return "unionid"
	case SortScene:
		return "scene"
	case SortRemark:
		return "remark"
	}
	return "in " + sanitize.Text(f.spec.Others[k-SortApp].Name)
}

// layout is the width of each column for the current width.
type layout struct {
	open, union, followed, scene, remark int
	apps                                 []int
	marks                                []presenceMarks // per app column
}

// presenceMarks are one presence column's three cells, by PresenceState,
// plain and styled: drawn once a frame rather than once a row.
type presenceMarks struct{ plain, styled [3]string }

const (
	colGap    = 2
	remarkMin = 12
)

func (f *Followers) layout() layout {
	x := f.idx
	l := layout{followed: 10, scene: 5}
	for _, name := range x.scenes {
		l.scene = max(l.scene, min(ansi.StringWidth(sceneLabel(name)), 16))
	}
	for _, o := range f.spec.Others {
		// One cell more than the name leaves room for the sort arrow.
		l.apps = append(l.apps, ansi.StringWidth(sanitize.Text(o.Name))+1)
	}
	fixed := func() int {
		n := markerW + l.followed + colGap*3 // open, union, followed, remark gaps
		if l.scene > 0 {
			n += l.scene + colGap
		}
		for _, w := range l.apps {
			n += w + colGap
		}
		return n
	}
	openW, unionW := max(x.maxOpen, 6), max(x.maxUnion, 7)
	avail := f.width - fixed()
	if avail-openW-unionW < remarkMin {
		l.scene = 0 // the scene goes first: ids matter more to support
		avail = f.width - fixed()
	}
	if avail-openW-unionW >= remarkMin {
		l.open, l.union = openW, unionW
	} else {
		w := max((avail-remarkMin)/2, idMin)
		l.open, l.union = min(w, openW), min(w, unionW)
	}
	l.remark = max(avail-l.open-l.union, 0)
	s := f.c.Styles
	marks := [3]struct {
		sym   string
		style lipgloss.Style
	}{PresenceUnknown: {"–", s.Unknown}, PresenceMissing: {"·", s.Missing}, PresencePresent: {"✓", s.Present}}
	l.marks = make([]presenceMarks, len(l.apps))
	for j, w := range l.apps {
		for st, m := range marks {
			c := center(m.sym, w)
			l.marks[j].plain[st], l.marks[j].styled[st] = c, m.style.Render(c)
		}
	}
	return l
}

// sceneLabel shortens ADD_SCENE_QR_CODE to QR_CODE.
func sceneLabel(s string) string {
	return sanitize.Text(strings.TrimPrefix(s, "ADD_SCENE_"))
}

func (f *Followers) headerLine(l layout) string {
	s := f.c.Styles
	name := func(k SortKey, label string) string {
		if f.sortKey == k {
			return label + " " + arrow(f.desc)
		}
		return label
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", markerW))
	b.WriteString(cell(name(SortOpenID, "openid"), l.open))
	b.WriteString(gap)
	b.WriteString(cell(name(SortUnionID, "unionid"), l.union))
	b.WriteString(gap)
	b.WriteString(cell(name(SortFollowed, "followed"), l.followed))
	if l.scene > 0 {
		b.WriteString(gap)
		b.WriteString(cell(name(SortScene, "scene"), l.scene))
	}
	for i, o := range f.spec.Others {
		b.WriteString(gap)
		label := sanitize.Text(o.Name)
		if f.sortKey == SortApp+SortKey(i) {
			label = arrow(f.desc) + label
		}
		b.WriteString(cell(label, l.apps[i]))
	}
	b.WriteString(gap)
	b.WriteString(cell(name(SortRemark, "remark"), l.remark))
	return s.Header.Render(ansi.Truncate(b.String(), f.width, ""))
}

// rowLine draws the i-th visible row.
func (f *Followers) rowLine(l layout, i int) string {
	s := f.c.Styles
	r := int(f.rows[i])
	row := f.idx.Row(r)
	selected := i == f.cursor
	gone := row.UnfollowedAt != 0
	plain := selected || gone // one style for the whole line
	paint := func(st lipgloss.Style, text string) string {
		if plain {
			return text
		}
		return st.Render(text)
	}
	var b strings.Builder
	if selected {
		b.WriteString("▸ ")
	} else {
		b.WriteString("  ")
	}
	b.WriteString(cell(sanitize.Text(row.OpenID), l.open))
	b.WriteString(gap)
	if row.UnionID == "" {
		b.WriteString(paint(s.Dim, cell("—", l.union)))
	} else {
		b.WriteString(cell(sanitize.Text(row.UnionID), l.union))
	}
	b.WriteString(gap)
	b.WriteString(cell(f.date(row.FollowedAt), l.followed))
	if l.scene > 0 {
		b.WriteString(gap)
		b.WriteString(cell(sceneLabel(row.Scene), l.scene))
	}
	for j, o := range f.spec.Others {
		b.WriteString(gap)
		st, m := presenceOf(o, f.spec.Presence, row.UnionID), &l.marks[j]
		if plain {
			b.WriteString(m.plain[st])
		} else {
			b.WriteString(m.styled[st])
		}
	}
	if l.remark > 0 {
		b.WriteString(gap)
		remark := sanitize.Text(row.Remark)
		switch {
		case gone:
			remark = strings.TrimSuffix("unfollowed "+f.date(row.UnfollowedAt)+" · "+remark, " · ")
			b.WriteString(cell(remark, l.remark))
		case remark == "" && row.UnionID == "" && f.spec.Bound:
			b.WriteString(paint(s.Warn, cell("⚠ no unionid", l.remark)))
		default:
			b.WriteString(cell(remark, l.remark))
		}
	}
	line := b.String()
	switch {
	case selected:
		return s.Selected.Render(line)
	case gone:
		return s.Unfollowed.Render(line)
	}
	return line
}

func (f *Followers) date(unix int64) string {
	if unix == 0 {
		return "—"
	}
	return time.Unix(unix, 0).In(f.c.Loc).Format("2006-01-02")
}

// center puts a one-cell symbol in the middle of w cells.
func center(sym string, w int) string {
	left := (w - 1) / 2
	return strings.Repeat(" ", left) + sym + strings.Repeat(" ", max(w-left-1, 0))
}

// formatCount is wording.FormatCount for an int: 20 000.
func formatCount(n int) string { return wording.FormatCount(int64(n)) }
