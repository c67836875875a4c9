package ui

import (
	"context"
	"errors"
	"fmt"
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
	// Kind is the app's kind: "official" (or "") lists followers; the
	// other kinds list the members of their import, first and last seen.
	Kind string
	// Platform is the app's platform label ("" when unknown or not bound):
	// a presence column of an app on another platform cannot tell.
	Platform string
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
	// Platform is its platform label, "" when unknown or not bound.
	Platform string
}

// PresenceState is what a presence column says about one row.
type PresenceState uint8

// The three presence states, in ascending sort order.
const (
	PresenceUnknown PresenceState = iota // – app not bound or on another platform, or no unionid: nobody can tell
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
	// spillSaid is the spill error of the index already told (SpillErr):
	// each is said once, in the log.
	spillSaid error
	// partial: idx holds only the first followers read, in the cache's
	// order, while loadNext waits for the rest; progress counts them.
	partial  bool
	loadNext tea.Cmd
	progress *loadProgress

	query          string
	sortKey        SortKey
	desc           bool
	showUnfollowed bool

	match      []uint64 // rows matching matchQuery; nil when no filter
	matchQuery string
	// memo keeps the last few filters' matches over idx and base.
	memo   filterMemo
	orders map[SortKey][]uint32

	rows    rowList // the visible rows, in display order
	gen     *atomic.Uint64
	pending string // "filtering…" or "sorting…" while a result is out

	cursor, offset int

	editing bool
	input   lineInput

	base   []uint64 // the rows of spec.Subset and the tag filter; nil for every row
	subset []uint64 // the rows of spec.Subset alone; nil for every row

	tags      cache.TagList // the app's tags, for their names
	tagLabels []string      // the tags column's text, per tag list of the index
	tagFilter TagFilter
	picking   bool
	picker    tagPicker // the tag picker has the input (followers_tagpicker.go)

	colOffset int // columns after the openid scrolled off to the left (← →)

	exporting bool // the export prompt has the input (viewexport.go)
	exportIn  lineInput
}

// followersLoadedMsg carries a built index to the view that asked for it.
type followersLoadedMsg struct {
	owner    *Followers
	idx      *FollowerIndex
	presence Presence
	tags     cache.TagList
	listsErr error // the tags or the blacklist could not be read: shown, not fatal
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
	rows  rowList
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

// LastSeenReader streams the last_seen times of an imported app's members
// in ascending openid order. CacheReader implements it.
type LastSeenReader interface {
	EachLastSeen(ctx context.Context, appID string, fn func(openid string, lastSeen int64) error) error
}

// LoadFollowerIndex reads every follower of appID from src into an index,
// marking those on blacklist (nil: nobody), and the last_seen times of an
// imported app's members when src has them.
func LoadFollowerIndex(ctx context.Context, src FollowerReader, appID string, sizeHint int, blacklist *cache.Blacklist) (*FollowerIndex, error) {
	return loadFollowerIndex(ctx, src, appID, sizeHint, blacklist, nil)
}

// loadProgress is what a loading index tells the view as it goes: first
// is called once with an index of the first firstRows followers read (in
// the cache's order) when there are more, and read counts them all.
type loadProgress struct {
	firstRows int
	first     func(*FollowerIndex)
	read      atomic.Int64
}

func loadFollowerIndex(ctx context.Context, src FollowerReader, appID string, sizeHint int, blacklist *cache.Blacklist, progress *loadProgress) (*FollowerIndex, error) {
	b := NewFollowerIndexBuilder(sizeHint)
	b.MarkBlacklisted(blacklist)
	b.SortByFollow()
	n := 0
	err := src.EachFollower(ctx, appID, func(p *cache.Profile) error {
		if progress != nil {
			if n == progress.firstRows && progress.first != nil {
				progress.first(b.Snapshot())
			}
			if n%4096 == 0 {
				progress.read.Store(int64(n))
			}
		}
		n++
		b.Add(p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load followers of %s: %w", appID, err)
	}
	idx := b.Build()
	if ls, ok := src.(LastSeenReader); ok {
		err := idx.addLastSeen(func(fn func(string, int64) error) error { return ls.EachLastSeen(ctx, appID, fn) })
		if err != nil {
			return nil, fmt.Errorf("load the last_seen times of %s: %w", appID, err)
		}
	}
	return idx, nil
}

// firstRows is how many followers the view shows, in the cache's order,
// while it reads the rest: at 10 M the whole index takes seconds, these
// a few milliseconds.
const firstRows = 10_000

// partialFrom is the size from which an app's first followers show before
// the rest are read: below it the whole index is in within a tenth of a
// second, and a list in the cache's order that re-sorts under the reader
// would only flicker. A variable so that tests can lower it.
var partialFrom = 200_000

// followersFirstMsg carries the index of the first followers read while the
// rest are read; followersTickMsg redraws the progress line meanwhile.
type followersFirstMsg struct {
	owner *Followers
	idx   *FollowerIndex
	tags  cache.TagList
}

type followersTickMsg struct{ owner *Followers }

func (m followersFirstMsg) Owner() Page { return m.owner }
func (m followersTickMsg) Owner() Page  { return m.owner }

// Init implements Page: it starts loading the index if there is none. A
// large app's first followers show in the cache's order while the rest are
// read (followersFirstMsg), with a progress line; the filter and the sort
// wait for the whole index.
func (f *Followers) Init() tea.Cmd {
	if f.idx != nil || f.spec.Reader == nil {
		return nil
	}
	ctx, src, spec, lists := f.c.Ctx, f.spec.Reader, f.spec, f.c.Lists
	// The loader never blocks on the view: a view closed meanwhile
	// leaves its messages in the buffer.
	out := make(chan tea.Msg, 2)
	progress := &loadProgress{firstRows: firstRows}
	f.progress = progress
	go func() {
		var msg followersLoadedMsg
		var bl *cache.Blacklist
		if lists != nil {
			var terr, berr error
			msg.tags, terr = lists.Tags(ctx, spec.AppID)
			bl, berr = lists.Blacklist(ctx, spec.AppID)
			msg.listsErr = errors.Join(terr, berr)
		}
		if spec.Subset == SubsetAll && spec.SizeHint >= partialFrom {
			progress.first = func(x *FollowerIndex) { out <- followersFirstMsg{owner: f, idx: x, tags: msg.tags} }
		}
		idx, err := loadFollowerIndex(ctx, src, spec.AppID, spec.SizeHint, bl, progress)
		var pres Presence
		if err == nil && spec.LoadPresence != nil {
			pres, err = spec.LoadPresence(ctx)
		}
		msg.owner, msg.idx, msg.presence, msg.err = f, idx, pres, err
		out <- msg
	}()
	f.loadNext = func() tea.Msg { return <-out }
	return f.loadNext
}

// loadTick redraws the progress line while the rest of the index is read.
func (f *Followers) loadTick() tea.Cmd {
	return tea.Tick(250*time.Millisecond, func(time.Time) tea.Msg { return followersTickMsg{owner: f} })
}

// Loading reports whether the view shows only the first followers while it
// reads the rest.
func (f *Followers) Loading() bool { return f.partial }

// saySpillErr logs why the index keeps its unionids in memory, or could
// not read some back, once: the view works the same, but the person
// watching the memory should know why.
func (f *Followers) saySpillErr() tea.Cmd {
	if f.idx == nil {
		return nil
	}
	err := f.idx.SpillErr()
	if err == nil || err == f.spillSaid {
		return nil
	}
	f.spillSaid = err
	return Log(fmt.Sprintf("followers of %s: %v", f.spec.App, err), true)
}

func (f *Followers) setIndex(idx *FollowerIndex) {
	f.idx, f.partial = idx, false
	f.orders = map[SortKey][]uint32{}
	f.orders[SortFollowed] = idx.Order(SortFollowed, nil)
	f.subset, _ = idx.subsetBits(f.spec.Subset)
	f.base = f.subset
	f.memo.reset()
	f.tagLabels = idx.tagLabels(&f.tags)
	f.rows = idx.visibleRows(f.orders[SortFollowed], f.desc, f.base, f.showUnfollowed)
}

// SetSize implements Page.
func (f *Followers) SetSize(width, height int) {
	f.width, f.height = width, height
	f.input.width = max(width-40, 10)
	f.clampCursor()
}

// CapturesInput implements Page: true while the filter box, the tag picker
// or the export prompt is open.
func (f *Followers) CapturesInput() bool { return f.editing || f.exporting || f.picking }

// KeyMap implements Page.
func (f *Followers) KeyMap() help.KeyMap {
	if f.editing {
		return f.filterKeys
	}
	if f.exporting {
		return exportKeys
	}
	if f.picking {
		return f.picker.keys
	}
	return f.keys
}

// Update implements Page.
func (f *Followers) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case followersFirstMsg:
		if f.idx != nil {
			return nil
		}
		f.tags = msg.tags
		f.idx, f.partial = msg.idx, true
		f.tagLabels = msg.idx.tagLabels(&f.tags)
		f.rows = listOf(msg.idx.Visible(identity(msg.idx.Len()), false, nil, false))
		f.clampCursor()
		return tea.Batch(f.loadNext, f.loadTick())
	case followersTickMsg:
		if f.partial {
			return f.loadTick()
		}
		return nil
	case followersLoadedMsg:
		prevID, had := "", false
		if f.partial && f.cursor > 0 {
			// The reader moved: the cursor stays on its person, found
			// by openid (the whole index numbers its rows in follow
			// order); otherwise it stays at the top of the sorted list.
			var prev int
			if prev, had = f.current(); had {
				prevID = f.idx.OpenID(prev)
			}
		}
		f.partial = false
		if msg.err != nil {
			f.idx, f.loadErr = nil, msg.err
			return nil
		}
		if msg.presence != nil {
			f.spec.Presence = msg.presence
		}
		f.tags = msg.tags
		f.setIndex(msg.idx)
		if r, ok := msg.idx.findOpenID(prevID); had && ok {
			if i := f.rows.Index(uint32(r)); i >= 0 {
				f.cursor, f.offset = i, i-f.pageRows()/2
				f.clampCursor()
			}
		}
		if msg.listsErr != nil && !isCanceled(msg.listsErr) {
			return tea.Batch(f.refresh(), FlashError(fmt.Errorf("tag names and the blacklist are not shown: %w", msg.listsErr)), f.saySpillErr())
		}
		return tea.Batch(f.refresh(), f.saySpillErr())
	case followersResultMsg:
		if msg.gen != f.gen.Load() {
			return nil // a newer keystroke already asked again
		}
		f.apply(msg)
		return f.saySpillErr()
	case tea.PasteMsg:
		if f.exporting {
			f.exportIn.update(msg)
			return nil
		}
		if f.editing {
			return f.updateInput(msg)
		}
	case tea.MouseMsg:
		if f.idx != nil && !f.editing && !f.exporting && !f.picking {
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
		if f.partial && !f.loadingKey(msg) {
			if key.Matches(msg, f.keys.Back) {
				return Pop()
			}
			return Flash(fmt.Sprintf("still reading the %s (%s so far): the filter, the sort, the tags and the export wait for them all", f.people(), formatCount(int(f.progress.read.Load()))))
		}
		if f.exporting {
			return f.handleExportKey(msg)
		}
		if f.picking {
			return f.handlePickerKey(msg)
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
	if d, ok := k.step(msg, f.pageRows(), f.rows.Len()); ok {
		f.move(d)
		return nil
	}
	switch {
	case key.Matches(msg, k.Filter):
		f.editing = true
		f.input.set(f.query)
		return nil
	case key.Matches(msg, k.Tags):
		f.openPicker()
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
		return Push(NewInsights(f.c, f.viewTitle(), f.idx, f.rows.Slice()).WithGrowth(f.spec.AppID))
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
		if f.tagFilter.Active() {
			return f.setTagFilter(TagFilter{})
		}
		return Pop()
	case key.Matches(msg, k.Left):
		if f.colOffset == 0 {
			return Flash("the first columns show: → scrolls them")
		}
		f.colOffset--
		return nil
	case key.Matches(msg, k.Right):
		if f.colOffset >= f.scrollable()-1 {
			return Flash("only the openid and the remark are left: ← scrolls back")
		}
		if !f.layout().more && f.colOffset == 0 {
			return Flash("every column shows already")
		}
		f.colOffset++
		return nil
	}
	return noKey(msg)
}

// loadingKey reports whether msg is a key that works on the first rows
// while the rest are read: moving, opening a person, copying an id.
func (f *Followers) loadingKey(msg tea.KeyPressMsg) bool {
	k := f.keys
	if _, ok := k.step(msg, f.pageRows(), f.rows.Len()); ok {
		return true
	}
	return key.Matches(msg, k.Open) || key.Matches(msg, k.Copy) || key.Matches(msg, k.Left) || key.Matches(msg, k.Right)
}

// current returns the row under the cursor.
func (f *Followers) current() (int, bool) {
	if f.cursor < 0 || f.cursor >= f.rows.Len() {
		return 0, false
	}
	return int(f.rows.At(f.cursor)), true
}

// Selected returns the openid under the cursor, or "" when the list is empty.
func (f *Followers) Selected() string {
	if r, ok := f.current(); ok {
		return f.idx.OpenID(r)
	}
	return ""
}

// Rows is the number of rows the current filter and toggles let through.
func (f *Followers) Rows() int { return f.rows.Len() }

// Pending reports whether a filter or sort result is still out.
func (f *Followers) Pending() bool { return f.pending != "" }

func (f *Followers) move(d int) {
	f.cursor += d
	f.clampCursor()
}

func (f *Followers) clampCursor() {
	f.cursor = min(max(f.cursor, 0), max(f.rows.Len()-1, 0))
	f.offset = scrollInto(f.offset, f.cursor, f.cursor, f.pageRows(), f.rows.Len())
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
	order, sorted := f.orders[sk] // nil and sorted: the rows' own order
	sameQuery := q == f.matchQuery && (q == "" || f.match != nil)
	if sorted && sameQuery {
		match := f.base
		if q != "" {
			match = f.match
		}
		f.apply(followersResultMsg{owner: f, gen: gen, query: q, match: match,
			key: sk, order: order, rows: x.visibleRows(order, desc, match, showU)})
		return nil
	}
	var within []uint64
	prev, matchQ := f.match, f.matchQuery
	if !sameQuery && q != "" {
		if m := f.memo.get(q); m != nil {
			// Typed a moment ago (a backspace): no scan.
			prev, matchQ = m, q
		} else {
			// The new query can only match a subset of a query it contains.
			within = f.memo.within(q)
		}
	}
	f.pending = "sorting…"
	if !sameQuery {
		f.pending = "filtering…"
	}
	if within == nil {
		within = f.base // a filter searches only the subset
	}
	state := f.stateFunc(sk)
	genp, owner, base := f.gen, f, f.base
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
		if !sorted {
			order = x.Order(sk, state)
		}
		if stop() {
			return nil
		}
		return followersResultMsg{owner: owner, gen: gen, query: q, match: match,
			key: sk, order: order, rows: x.visibleRows(order, desc, match, showU)}
	}
}

// apply installs a result, keeping the cursor on the same person if that
// person is still visible, else at the top for a new filter.
func (f *Followers) apply(m followersResultMsg) {
	prevRow, had := f.current()
	filterChanged := m.query != f.matchQuery
	f.match, f.matchQuery = m.match, m.query
	f.memo.add(m.query, m.match)
	f.orders[m.key] = m.order
	f.rows = m.rows
	f.pending = ""
	switch {
	case filterChanged:
		f.cursor, f.offset = 0, 0
	case had:
		if i := f.rows.Index(uint32(prevRow)); i >= 0 {
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
	return func(r int) PresenceState { return presenceOf(f.spec.Platform, app, pres, x.UnionID(r)) }
}

// presenceOf is a presence cell of a follower of an app on platform: an
// app on another platform cannot tell (the person has another unionid
// there), nor can one that is not bound.
func presenceOf(platform string, app OtherApp, pres Presence, unionid string) PresenceState {
	switch {
	case !app.Bound || unionid == "" || pres == nil:
		return PresenceUnknown
	case platform != "" && app.Platform != "" && app.Platform != platform:
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
		return s.Title.Render(app+" › "+f.people()) + "\n" + s.Error.Render(sanitize.Text(wording.Error(wording.TUI, "", f.loadErr)))
	case f.idx == nil:
		return s.Title.Render(app+" › "+f.people()) + "\n" + s.Dim.Render("loading "+f.people()+"…")
	}
	if f.picking {
		return f.titleLine(app) + "\n" + f.pickerView(f.height-1)
	}
	lay := f.layout()
	var b strings.Builder
	b.WriteString(f.titleLine(app))
	b.WriteByte('\n')
	b.WriteString(f.headerLine(lay))
	end := min(f.offset+f.pageRows(), f.rows.Len())
	for i := f.offset; i < end; i++ {
		b.WriteByte('\n')
		b.WriteString(f.rowLine(lay, i))
	}
	if f.rows.Len() == 0 {
		b.WriteByte('\n')
		switch {
		case f.idx.Len() == 0 && f.imported():
			b.WriteString(s.Dim.Render("  no members: its import has not been read, or holds nobody"))
		case f.idx.Len() == 0:
			b.WriteString(s.Dim.Render("  no followers cached yet"))
		case f.query != "" || f.base != nil:
			b.WriteString(s.Dim.Render("  no " + f.people() + " match"))
		default:
			b.WriteString(s.Dim.Render("  everyone " + f.gone() + ": u shows them"))
		}
	}
	if f.editing || f.exporting {
		for n := end - f.offset + max(1-f.rows.Len(), 0); n < f.pageRows(); n++ {
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
	if f.partial {
		read := "reading " + formatCount(int(f.progress.read.Load()))
		if f.spec.SizeHint > 0 {
			read += " of " + formatCount(f.spec.SizeHint)
		}
		left := s.Title.Render(app+" › "+f.people()) + s.Dim.Render(" · "+read+"… · the first "+formatCount(x.Len())+" in the cache's order meanwhile")
		right := s.Dim.Render("row " + formatCount(f.cursor+1))
		return spread(left, right, f.width)
	}
	following := x.Len() - x.Unfollowed()
	left := s.Title.Render(app+" › "+f.people()) + s.Dim.Render(" · "+formatCount(following))
	if l := f.spec.Subset.label(); l != "" {
		left += s.Dim.Render(" · only ") + s.Accent.Render(l)
	}
	if n := x.Blacklisted(); n > 0 {
		left += s.Dim.Render(" · ") + s.Warn.Render("⊘") + s.Dim.Render(" "+formatCount(n)+" blacklisted")
	}
	if f.tagFilter.Active() {
		left += s.Dim.Render(" · tags ") + s.Accent.Render(f.tagFilter.Label(&f.tags)) +
			s.Dim.Render(" → "+formatCount(countFollowing(f.base, x, f.showUnfollowed)))
	}
	if x.Unfollowed() > 0 {
		if f.showUnfollowed {
			left += s.Dim.Render(" + " + formatCount(x.Unfollowed()) + " " + f.gone())
		} else {
			left += s.Dim.Render(" · " + formatCount(x.Unfollowed()) + " " + f.gone() + " hidden")
		}
	}
	if f.query != "" {
		res := formatCount(f.rows.Len())
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
	if f.rows.Len() > 0 {
		pos = "row " + formatCount(f.cursor+1)
	}
	right := s.Dim.Render(formatCount(f.rows.Len()) + " rows · " + pos)
	return spread(left, right, f.width)
}

func (f *Followers) filterLine() string {
	s := f.c.Styles
	status := "→ " + formatCount(f.rows.Len())
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

// imported reports whether the view lists an imported app's members.
func (f *Followers) imported() bool { return f.spec.Kind != "" && f.spec.Kind != cache.KindOfficial }

// people is what the view lists: followers, or an imported app's members.
func (f *Followers) people() string {
	if f.imported() {
		return "members"
	}
	return "followers"
}

// gone is what the rows the view hides did: unfollowed, or left the
// import.
func (f *Followers) gone() string {
	if f.imported() {
		return "left"
	}
	return "unfollowed"
}

// lastSeenColumn reports whether the scene column shows last_seen: an
// imported app's members have no scene.
func (f *Followers) lastSeenColumn() bool { return f.idx != nil && f.idx.HasLastSeen() }

func (f *Followers) sortName(k SortKey) string {
	switch {
	case k == SortFollowed && f.imported():
		return "first seen"
	case k == SortScene && f.lastSeenColumn():
		return "last seen"
	}
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

// layout is the width of each column for the current width; 0 leaves a
// column out.
type layout struct {
	open, union, followed, scene, tags, remark int
	// tagsInRemark: too narrow for a tags column, the tags lead the
	// remark's cell instead.
	tagsInRemark bool
	apps         []int
	marks        []presenceMarks // per app column
	// skip is how many columns after the openid are scrolled off to the
	// left (← →); more says a column is left out at the right for width.
	skip int
	more bool
}

// presenceMarks are one presence column's three cells, by PresenceState,
// plain and styled: drawn once a frame rather than once a row.
type presenceMarks struct{ plain, styled [3]string }

const (
	colGap    = 2
	remarkMin = 12
	// sceneCap is the scene column's width while the remark is short of
	// room; with room to spare the scene shows whole.
	sceneCap = 16
	// appNarrow is a presence column's width when room is short: its mark
	// needs one cell, its header a few letters.
	appNarrow = 3
	// tagsMax and tagsNarrow bound the tags column: wide enough for two or
	// three names, and for one on a narrow terminal.
	tagsMax    = 24
	tagsNarrow = 10
)

// scrollable is the number of columns after the openid that ← and → move
// through: unionid, followed, scene, one per other app, tags, remark.
func (f *Followers) scrollable() int { return 3 + len(f.spec.Others) + 2 }

// layout fits the columns to the width. What goes first on a narrow
// terminal: the scene (not while the list is sorted by it), then the
// presence columns' width (their marks need one cell), then the tags (to
// one name, then into the remark's cell), then the ids' width, down to idMin (without the prefix every id of the app shares,
// which tells no follower from another). The column the list is sorted by always
// shows; ← → scroll the others into view.
func (f *Followers) layout() layout {
	x := f.idx
	l := layout{skip: min(f.colOffset, f.scrollable()-1)}
	on := func(c int) bool { return c >= l.skip }
	arrowW := func(k SortKey) int {
		if f.sortKey == k {
			return 2 // " ↓" after the header
		}
		return 0
	}
	openW, unionW := max(x.maxOpen, 6+arrowW(SortOpenID)), 0
	if on(0) {
		unionW = max(x.maxUnion, 7+arrowW(SortUnionID))
	}
	if on(1) {
		l.followed = 10
		if f.imported() {
			l.followed = 10 + arrowW(SortFollowed) // "first seen ↓"
		}
	}
	sceneW := 0
	switch {
	case on(2) && f.lastSeenColumn():
		sceneW = max(10, 9+arrowW(SortScene)) // a date; "last seen ↓"
	case on(2):
		sceneW = 5 + arrowW(SortScene)
		for _, name := range x.scenes {
			sceneW = max(sceneW, ansi.StringWidth(sceneLabel(name)))
		}
	}
	names := make([]int, len(f.spec.Others))
	l.apps = make([]int, len(f.spec.Others))
	for i, o := range f.spec.Others {
		if on(3 + i) {
			names[i] = max(ansi.StringWidth(sanitize.Text(o.Name)), 1) + arrowW(SortApp+SortKey(i))
			l.apps[i] = names[i]
		}
	}
	tagsCol, remarkCol := 3+len(f.spec.Others), 4+len(f.spec.Others)
	if on(tagsCol) {
		for _, t := range f.tagLabels {
			if t != "" {
				l.tags = max(l.tags, min(ansi.StringWidth(t), tagsMax), len("tags"))
			}
		}
	}
	l.scene = min(sceneW, sceneCap)
	// used is the width of every column but the remark, with the gaps.
	used := func() int {
		n := markerW + l.open
		for _, w := range append([]int{l.union, l.followed, l.scene, l.tags}, l.apps...) {
			if w > 0 {
				n += colGap + w
			}
		}
		return n + colGap // before the remark
	}
	l.open, l.union = openW, unionW
	// The scene goes first (ids matter more to support), unless the list
	// is sorted by it or the user scrolled the columns to see more.
	if f.width-used() < remarkMin && f.sortKey != SortScene && l.skip == 0 && l.scene > 0 {
		l.scene, l.more = 0, true
	}
	if f.width-used() < remarkMin {
		for i, w := range l.apps {
			if w > 0 {
				l.apps[i] = min(w, appNarrow+arrowW(SortApp+SortKey(i)))
			}
		}
	}
	if f.width-used() < remarkMin && l.tags > 0 {
		// The tags narrow to one name, and go into the remark's cell
		// when even that leaves the ids less than two thirds of theirs.
		l.tags = min(l.tags, tagsNarrow)
		if f.width-used()+l.open+l.union-2*openW/3-2*unionW/3 < remarkMin {
			l.tags, l.tagsInRemark = 0, on(remarkCol)
		}
	}
	if f.width-used() < remarkMin && l.scene > 0 {
		l.scene = min(l.scene, 10+arrowW(SortScene)) // kept, but narrow
	}
	if f.width-used() < remarkMin {
		// The ids share what is left, down to idMin each.
		l.open, l.union = 0, 0
		need := remarkMin
		if l.tagsInRemark {
			need += tagsNarrow - 2 // the cell holds a tag before the remark
		}
		rest := f.width - used() - need
		if unionW == 0 {
			l.open = min(max(rest, idMin), openW)
		} else {
			// The openid first: it is what support pastes and copies; →
			// scrolls the unionid off for the rest of it.
			l.open = min(max(rest-idMin, rest/2, idMin), openW)
			l.union = min(max(rest-l.open, idMin), unionW)
		}
	}
	l.remark = max(f.width-used(), 0)
	if l.scene > 0 && sceneW > l.scene && l.remark-(sceneW-l.scene) >= remarkMin {
		// Room to spare: the scene whole (WECHAT_ADVERTISEMENT), the remark
		// still wide enough for most.
		l.remark -= sceneW - l.scene
		l.scene = sceneW
	}
	if on(remarkCol) && l.remark == 0 || used() > f.width {
		l.more = true
	}
	if !on(remarkCol) {
		l.remark = 0
	}
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

// headerLine names the columns, the sorted one with its arrow after the
// name ("openid ↑", "shop ↓"), and says when columns are off to the left
// (‹) or the right (›).
func (f *Followers) headerLine(l layout) string {
	s := f.c.Styles
	name := func(k SortKey, label string, w int) string {
		if f.sortKey == k {
			// The arrow stays when the name is cut: it says the order.
			return ansi.Truncate(label, max(w-2, 1), "…") + " " + arrow(f.desc)
		}
		return label
	}
	var b strings.Builder
	if l.skip > 0 {
		b.WriteString("‹ ")
	} else {
		b.WriteString(strings.Repeat(" ", markerW))
	}
	first := true
	col := func(w int, text string) {
		if w > 0 {
			if !first {
				b.WriteString(gap)
			}
			first = false
			b.WriteString(cell(text, w))
		}
	}
	followed, scene := "followed", "scene"
	if f.imported() {
		followed = "first seen"
	}
	if f.lastSeenColumn() {
		scene = "last seen"
	}
	col(l.open, name(SortOpenID, "openid", l.open))
	col(l.union, name(SortUnionID, "unionid", l.union))
	col(l.followed, name(SortFollowed, followed, l.followed))
	col(l.scene, name(SortScene, scene, l.scene))
	for i, o := range f.spec.Others {
		col(l.apps[i], name(SortApp+SortKey(i), sanitize.Text(o.Name), l.apps[i]))
	}
	col(l.tags, "tags")
	remark := "remark"
	if l.tagsInRemark {
		remark = "tags, remark"
	}
	col(l.remark, name(SortRemark, remark, l.remark))
	line := b.String()
	if l.more {
		line = ansi.Truncate(line, max(f.width-2, 0), "…") + " ›"
	}
	return s.Header.Render(ansi.Truncate(line, f.width, ""))
}

// rowLine draws the i-th visible row, the filter's matches highlighted.
func (f *Followers) rowLine(l layout, i int) string {
	s := f.c.Styles
	r := int(f.rows.At(i))
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
	var spans []span // the filter's matches, in cells of the line
	x := markerW
	if selected {
		b.WriteString("▸")
	} else {
		b.WriteString(" ")
	}
	if row.Blacklisted {
		b.WriteString(paint(s.Warn, "⊘"))
	} else {
		b.WriteString(" ")
	}
	// text writes one column (w > 0) and notes where the query matches.
	text := func(w int, shown string, exact bool, from int) {
		if w <= 0 {
			return
		}
		if x > markerW {
			b.WriteString(gap)
			x += len(gap)
		}
		c := cell(shown, w)
		for _, sp := range matchSpans(ansi.Strip(c), f.matchQuery, exact, from) {
			spans = append(spans, span{x + sp.from, x + sp.to})
		}
		b.WriteString(c)
		x += w
	}
	other := func(w int, c string) { // a column the filter does not search
		if w <= 0 {
			return
		}
		if x > markerW {
			b.WriteString(gap)
			x += len(gap)
		}
		b.WriteString(c)
		x += w
	}
	text(l.open, idCut(sanitize.Text(row.OpenID), f.idx.sharedOpen, l.open), true, 0)
	if row.UnionID == "" {
		other(l.union, paint(s.Dim, cell("—", l.union)))
	} else {
		text(l.union, idCut(sanitize.Text(row.UnionID), f.idx.sharedUnion, l.union), true, 0)
	}
	other(l.followed, cell(f.date(row.FollowedAt), l.followed))
	if f.lastSeenColumn() {
		other(l.scene, cell(f.date(row.LastSeen), l.scene))
	} else {
		other(l.scene, cell(sceneLabel(row.Scene), l.scene))
	}
	for j, o := range f.spec.Others {
		if l.apps[j] <= 0 {
			continue
		}
		st, m := presenceOf(f.spec.Platform, o, f.spec.Presence, row.UnionID), &l.marks[j]
		if plain {
			other(l.apps[j], m.plain[st])
		} else {
			other(l.apps[j], m.styled[st])
		}
	}
	tags := f.tagLabels[f.idx.tagSet.at(r)]
	other(l.tags, cell(tags, l.tags))
	if l.remark > 0 {
		remark := sanitize.Text(row.Remark)
		switch {
		case gone:
			lead := f.gone() + " " + f.date(row.UnfollowedAt) + " · "
			text(l.remark, strings.TrimSuffix(lead+remark, " · "), false, ansi.StringWidth(lead))
		case remark == "" && row.UnionID == "" && f.spec.Bound:
			other(l.remark, paint(s.Warn, cell("⚠ no unionid", l.remark)))
		case l.tagsInRemark && tags != "":
			lead := tags + " · "
			text(l.remark, strings.TrimSuffix(lead+remark, " · "), false, ansi.StringWidth(lead))
		default:
			text(l.remark, remark, false, 0)
		}
	}
	line := b.String()
	switch {
	case selected:
		return highlight(line, spans, &s.Selected, s.Match.Inherit(s.Selected))
	case gone:
		return highlight(line, spans, &s.Unfollowed, s.Match.Inherit(s.Unfollowed))
	}
	return highlight(line, spans, nil, s.Match)
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
