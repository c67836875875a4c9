package ui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/cache"
	"wxscope/sanitize"
	"wxscope/wording"
)

// App is one configured app, as the home view lists it.
type App struct {
	Name  string // short label
	AppID string
	// Kind is "official" (or "") for an official account, "miniprogram",
	// "mobile" or "web" for an app whose members are imported.
	Kind string
}

// Imported reports whether the app's members come from an import.
func (a App) Imported() bool { return a.Kind != "" && a.Kind != cache.KindOfficial }

// ImportReader is what the home view reads of imported apps when its Reader
// has it: each one's latest import (cache.Store.Imports). CacheReader
// implements it.
type ImportReader interface {
	Imports(ctx context.Context) (map[string]cache.ImportInfo, error)
}

// kindLabel is how the home view names a kind, in its kind column; short,
// in four cells, where an official account (the usual kind) is left blank.
func kindLabel(kind string, short bool) string {
	switch {
	case kind == "miniprogram" && short:
		return "mini"
	case kind == "miniprogram":
		return "mini program"
	case kind == "mobile":
		return "app"
	case kind == "web" && short:
		return "web"
	case kind == "web":
		return "website"
	case short:
		return ""
	}
	return "official"
}

// HomeSpec is what the home view shows and where its data comes from.
type HomeSpec struct {
	// CachePath is the cache file, shown in the title.
	CachePath string
	// Apps are the configured apps, in the configuration's order.
	Apps []App
	// Reader reads the cache.
	Reader Reader
	// Syncs runs syncs; nil (or a read-only Common) disables s and S. A
	// read-only view with Syncs still follows the syncs it finds running
	// (those of other sessions of the SSH server, see NewSharedSyncs).
	Syncs *Syncs
	// SyncOnStart starts a sync of every app as soon as the view opens
	// (the demo); otherwise nothing touches the network until s or S.
	SyncOnStart bool
	// Redraw is how often the view redraws when nothing happens, so that
	// "3 min ago" stays true, and looks for syncs started elsewhere; 0
	// never (tests).
	Redraw time.Duration
	// OtherSync, when set, says which other process is syncing an app
	// right now (nil: none), so that its sync reads as under way there
	// rather than stopped, the title says who, and the findings about the
	// app wait for it to end. The view asks with every read of the
	// counters, off the UI goroutine, and re-reads them every watchEvery
	// while another process syncs.
	OtherSync func(appID string) *cache.Holder
}

// watchEvery is how often the view re-reads the counters while another
// process syncs the cache: its own syncs' ticks do not run then.
const watchEvery = time.Second

// How the home view paces itself while syncs run: it redraws from the
// buffered progress every syncTick, and re-reads the cache's counters every
// countsEvery ticks (a cheap read, but a read of the file all the same).
const (
	syncTick    = 100 * time.Millisecond
	countsEvery = 5
)

// Home is the home view: one row per configured app with what the cache
// holds and a live progress bar while it syncs, the findings of the link
// analysis under the table.
type Home struct {
	c      *Common
	spec   HomeSpec
	keys   HomeKeys
	width  int
	height int
	cursor int

	cached   map[string]cache.App // by appid; nil until the first read
	imports  map[string]cache.ImportInfo
	links    *cache.Links
	readErr  error
	linksErr error
	holder   *cache.Holder            // another process syncing the cache, from the last read
	others   map[string]*cache.Holder // by appid: the apps it syncs
	watching bool                     // a watchEvery tick is out

	// Every analysis asked for gets the next seq; linksSeq is the one
	// shown. A finding about an app whose sync ended at endedSeq >= the
	// shown one was judged on what that sync had not finished writing.
	analysisSeq, linksSeq int

	rows []appState // parallel to spec.Apps

	ticking        bool
	ticks          int
	countsInFlight bool
	countsGen      int // the last read asked for
	countsSeen     int // the read whose answer is shown: older answers are stale
	linksInFlight  bool
	linksStale     bool // a sync ended while an analysis ran: run another
	refreshing     bool // r: the footer says when the analysis is in
	seenEnds       int  // Syncs.endCount when the view last refreshed
	bar            progress.Model
}

// appState is what the view knows about one app's sync in this session.
type appState struct {
	running bool
	prog    cache.Progress
	hasProg bool
	err     error // how the last run in this session ended; nil when it completed
	ended   bool  // a run ended in this session
	// endedSeq is Home.analysisSeq when the last run ended: only an
	// analysis asked for after it saw everything the run wrote.
	endedSeq int
	// stopping: x asked the run to stop; it is saving what it fetched.
	stopping bool
	// endCounts is the read of the counters asked for when the run ended:
	// a stopped run's row says where it stopped from that read on, in the
	// numbers the cache saved (the finding's), not the last report's.
	endCounts int
	// announce: the footer says where the stopped run stopped once the
	// counters of endCounts are in.
	announce bool
}

// Messages of the home view, addressed to the Home that asked for them:
// the root delivers each to its owner only.
type (
	homeCountsMsg struct {
		owner   *Home
		gen     int
		apps    map[string]cache.App
		imports map[string]cache.ImportInfo
		holder  *cache.Holder            // the first of others, for the title
		others  map[string]*cache.Holder // by appid
		err     error
	}
	homeLinksMsg struct {
		owner *Home
		seq   int
		links *cache.Links
		err   error
	}
	homeWatchMsg  struct{ owner *Home }
	homeTickMsg   struct{ owner *Home }
	homeRedrawMsg struct{ owner *Home }
	syncEndedMsg  struct {
		owner *Home
		appID string
	}
)

func (m homeCountsMsg) Owner() Page { return m.owner }
func (m homeLinksMsg) Owner() Page  { return m.owner }
func (m homeTickMsg) Owner() Page   { return m.owner }
func (m homeWatchMsg) Owner() Page  { return m.owner }
func (m homeRedrawMsg) Owner() Page { return m.owner }
func (m syncEndedMsg) Owner() Page  { return m.owner }

// NewHome returns the home view for spec.
func NewHome(c *Common, spec HomeSpec) *Home {
	h := &Home{c: c, spec: spec, keys: DefaultHomeKeys(), rows: make([]appState, len(spec.Apps))}
	h.keys.Sync = c.WriteKey(h.keys.Sync)
	h.keys.SyncAll = c.WriteKey(h.keys.SyncAll)
	h.keys.Stop = c.WriteKey(h.keys.Stop)
	if spec.Syncs != nil {
		h.seenEnds = spec.Syncs.endCount()
	}
	if spec.Syncs == nil {
		h.keys.Sync.SetEnabled(false)
		h.keys.SyncAll.SetEnabled(false)
		h.keys.Stop.SetEnabled(false)
	}
	h.bar = progress.New(progress.WithWidth(16), progress.WithoutPercentage(),
		progress.WithFillCharacters('█', '░'))
	return h
}

// Init implements Page: read the counters and the links; in the demo,
// start every sync.
func (h *Home) Init() tea.Cmd {
	cmds := []tea.Cmd{h.readCounts(), h.analyze(), h.adopt()}
	if h.spec.SyncOnStart {
		cmds = append(cmds, h.syncAll())
	}
	cmds = append(cmds, h.redraw())
	return tea.Batch(cmds...)
}

func (h *Home) redraw() tea.Cmd {
	if h.spec.Redraw <= 0 {
		return nil
	}
	owner := h
	return tea.Tick(h.spec.Redraw, func(time.Time) tea.Msg { return homeRedrawMsg{owner: owner} })
}

// SetSize implements Page.
func (h *Home) SetSize(width, height int) { h.width, h.height = width, height }

// KeyMap implements Page. x (stop) shows only while the app under the
// cursor syncs: it does nothing otherwise.
func (h *Home) KeyMap() help.KeyMap {
	k := h.keys
	if len(h.spec.Apps) == 0 || !h.rows[h.cursor].running {
		k.Stop.SetEnabled(false)
	}
	return k
}

// CapturesInput implements Page.
func (h *Home) CapturesInput() bool { return false }

// Syncing reports whether any sync started from this view still runs.
func (h *Home) Syncing() bool {
	for _, r := range h.rows {
		if r.running {
			return true
		}
	}
	return false
}

func (h *Home) readCounts() tea.Cmd {
	if h.countsInFlight {
		return nil
	}
	h.countsInFlight = true
	h.countsGen++
	ctx, src, gen, other, list := h.c.Ctx, h.spec.Reader, h.countsGen, h.spec.OtherSync, h.spec.Apps
	return func() tea.Msg {
		apps, err := src.Apps(ctx)
		var imports map[string]cache.ImportInfo
		if ir, ok := src.(ImportReader); ok && err == nil {
			imports, err = ir.Imports(ctx)
		}
		m := homeCountsMsg{owner: h, gen: gen, apps: apps, imports: imports, err: err}
		if other != nil {
			for _, a := range list {
				if who := other(a.AppID); who != nil {
					if m.others == nil {
						m.others = map[string]*cache.Holder{}
					}
					m.others[a.AppID] = who
					if m.holder == nil {
						m.holder = who
					}
				}
			}
		}
		return m
	}
}

// watch re-reads the counters every watchEvery while another process
// syncs, so that its progress shows and its end is noticed.
func (h *Home) watch() tea.Cmd {
	if h.holder == nil || h.watching {
		return nil
	}
	h.watching = true
	owner := h
	return tea.Tick(watchEvery, func(time.Time) tea.Msg { return homeWatchMsg{owner: owner} })
}

func (h *Home) analyze() tea.Cmd {
	if h.linksInFlight {
		h.linksStale = true
		return nil
	}
	h.linksInFlight, h.linksStale = true, false
	h.analysisSeq++
	ctx, src, now, seq := h.c.Ctx, h.spec.Reader, h.c.Now(), h.analysisSeq
	return func() tea.Msg {
		l, err := src.Links(ctx, now)
		return homeLinksMsg{owner: h, seq: seq, links: l, err: err}
	}
}

// Update implements Page.
func (h *Home) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case homeCountsMsg:
		if msg.gen == h.countsGen {
			h.countsInFlight = false
		}
		if msg.gen < h.countsSeen {
			return nil // a read that started before one already shown
		}
		h.countsSeen = msg.gen
		if msg.err != nil {
			if !isCanceled(msg.err) {
				h.readErr = msg.err
			}
			return nil
		}
		h.imports = msg.imports
		if h.holder != nil && msg.holder == nil {
			// The other process's sync ended: what it wrote is news, and
			// the findings about its apps wait for an analysis of it.
			for i := range h.spec.Apps {
				if h.syncingElsewhere(i) {
					h.rows[i].endedSeq = h.analysisSeq
				}
			}
			h.cached, h.readErr, h.holder, h.others = msg.apps, nil, nil, nil
			h.spec.Reader.Changed()
			return tea.Batch(h.analyze(), cacheChanged)
		}
		h.cached, h.readErr, h.holder, h.others = msg.apps, nil, msg.holder, msg.others
		return tea.Batch(h.watch(), h.announceStops())
	case homeWatchMsg:
		h.watching = false
		if h.holder == nil {
			return nil
		}
		return tea.Batch(h.readCounts(), h.watch())
	case homeLinksMsg:
		h.linksInFlight = false
		if msg.err != nil {
			if !isCanceled(msg.err) {
				h.linksErr = msg.err
			}
		} else {
			h.links, h.linksErr, h.linksSeq = msg.links, nil, msg.seq
		}
		if h.linksStale {
			return h.analyze()
		}
		if h.refreshing {
			h.refreshing = false
			return Flash("re-read the cache and analysed the links again")
		}
		return nil
	case homeRedrawMsg:
		return tea.Batch(h.adopt(), h.redraw())
	case homeTickMsg:
		return h.tick()
	case syncEndedMsg:
		return h.ended(msg.appID)
	case tea.KeyPressMsg:
		return h.handleKey(msg)
	}
	return nil
}

// tick copies the buffered progress of the running syncs into the rows and
// re-arms itself while any runs.
func (h *Home) tick() tea.Cmd {
	h.pullProgress()
	h.ticks++
	if !h.Syncing() {
		h.ticking = false
		return nil
	}
	var cmds []tea.Cmd
	if h.ticks%countsEvery == 0 {
		cmds = append(cmds, h.readCounts())
	}
	cmds = append(cmds, h.nextTick())
	return tea.Batch(cmds...)
}

func (h *Home) nextTick() tea.Cmd {
	owner := h
	return tea.Tick(syncTick, func(time.Time) tea.Msg { return homeTickMsg{owner: owner} })
}

func (h *Home) pullProgress() {
	if h.spec.Syncs == nil {
		return
	}
	for i, app := range h.spec.Apps {
		if !h.rows[i].running {
			continue
		}
		if p, ok := h.spec.Syncs.Latest(app.AppID); ok {
			h.rows[i].prog, h.rows[i].hasProg = p, true
		}
	}
}

// ended records how a sync ended and refreshes what it changed: the
// counters, the presence index and the link analysis.
func (h *Home) ended(appID string) tea.Cmd {
	i := h.index(appID)
	if i < 0 {
		return nil
	}
	r := &h.rows[i]
	r.running, r.ended = false, true
	r.endedSeq = h.analysisSeq
	r.err = h.spec.Syncs.result(appID)
	if p, ok := h.spec.Syncs.Latest(appID); ok {
		r.prog, r.hasProg = p, true
	}
	r.announce = r.stopping && errors.Is(r.err, context.Canceled)
	r.stopping = false
	h.seenEnds = h.spec.Syncs.endCount() // what follows refreshes everything
	h.spec.Reader.Changed()
	h.countsInFlight = false // a read started before the sync's last write is stale
	read := h.readCounts()
	r.endCounts = h.countsGen
	return tea.Batch(read, h.analyze(), cacheChanged, h.logResult(i))
}

// logResult puts how app i's run ended in the message log, in full: the
// row can show only what fits. A stopped run is logged with where it
// stopped, once the counters say (announceStops).
func (h *Home) logResult(i int) tea.Cmd {
	app, r := h.spec.Apps[i], h.rows[i]
	var qe *cache.QuotaError
	switch {
	case r.err == nil:
		return Log(app.Name+" synced: "+h.summary(r.prog), false)
	case errors.Is(r.err, context.Canceled):
		return nil
	case errors.As(r.err, &qe):
		text, _ := h.stopText(app.Name, r.err, r.prog.Listed, r.prog.Total, r.prog.QuotaResetAt)
		return Log(app.Name+": "+text, true)
	}
	return Log(app.Name+": "+wording.Error(wording.TUI, app.Name, r.err), true)
}

// announceStops replaces the footer's "stopping the sync of news" with
// where it stopped, once the counters read after its end are in.
func (h *Home) announceStops() tea.Cmd {
	var cmds []tea.Cmd
	for i := range h.rows {
		r := &h.rows[i]
		if !r.announce || h.countsSeen < r.endCounts {
			continue
		}
		r.announce = false
		c := h.cached[h.spec.Apps[i].AppID]
		text := sanitize.Text(h.spec.Apps[i].Name) + " " + stoppedAt(c.Sync.Listed, c.Sync.Total) + "; s resumes there"
		cmds = append(cmds, func() tea.Msg { return FlashMsg{Text: text, Log: true} })
	}
	return tea.Batch(cmds...)
}

// stoppedAt is where a stopped run stopped, in the numbers the cache saved
// with its data (those the doctor finding gives): "stopped at 150 000 listed
// of 400 000".
func stoppedAt(listed, total int64) string {
	s := "stopped at " + wording.FormatCount(listed) + " listed"
	if total > 0 {
		s += " of " + wording.FormatCount(total)
	}
	return s
}

// CacheChangedMsg says a sync of this session wrote to the cache. The root
// offers it to every page on the stack; the Links and Doctor views run
// their analysis again so that they never contradict the home view.
type CacheChangedMsg struct{}

func cacheChanged() tea.Msg { return CacheChangedMsg{} }

func (h *Home) index(appID string) int {
	for i, app := range h.spec.Apps {
		if app.AppID == appID {
			return i
		}
	}
	return -1
}

// startSync starts the sync of app i and returns the commands that wait for
// its end and keep the screen ticking. When the app is already syncing from
// elsewhere (another session of the SSH server), it joins that sync.
func (h *Home) startSync(i int) tea.Cmd {
	app := h.spec.Apps[i]
	done, ok := h.spec.Syncs.start(h.c.Ctx, app.AppID)
	if !ok && h.rows[i].running {
		return nil
	}
	return h.follow(i, done)
}

// adopt follows the syncs that started elsewhere (another session of the
// SSH server, sharing one Syncs) since the view last looked, and refreshes
// what syncs that ended meanwhile changed, even those it never saw run.
func (h *Home) adopt() tea.Cmd {
	if h.spec.Syncs == nil {
		return nil
	}
	var cmds []tea.Cmd
	if n := h.spec.Syncs.endCount(); n != h.seenEnds {
		h.seenEnds = n
		for i := range h.rows {
			// Which app's sync ended is not known: every finding waits
			// for the analysis of what it wrote.
			h.rows[i].endedSeq = h.analysisSeq
		}
		h.spec.Reader.Changed()
		h.countsInFlight = false
		cmds = append(cmds, h.readCounts(), h.analyze(), cacheChanged)
	}
	for i, app := range h.spec.Apps {
		if h.rows[i].running {
			continue
		}
		if done, ok := h.spec.Syncs.join(app.AppID); ok {
			cmds = append(cmds, h.follow(i, done))
		}
	}
	return tea.Batch(cmds...)
}

// follow shows app i as syncing until done is closed.
func (h *Home) follow(i int, done <-chan struct{}) tea.Cmd {
	app := h.spec.Apps[i]
	h.rows[i] = appState{running: true}
	owner := h
	wait := func() tea.Msg {
		<-done
		return syncEndedMsg{owner: owner, appID: app.AppID}
	}
	if h.ticking {
		return wait
	}
	h.ticking = true
	return tea.Batch(wait, h.nextTick())
}

func (h *Home) syncAll() tea.Cmd {
	if h.spec.Syncs == nil || h.c.ReadOnly {
		return nil
	}
	var cmds []tea.Cmd
	for i := range h.spec.Apps {
		cmds = append(cmds, h.startSync(i))
	}
	return tea.Batch(cmds...)
}

func (h *Home) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := h.keys
	if h.c.ReadOnly && key.Matches(msg, readOnlyKeys) {
		return readOnlyNote()
	}
	switch {
	case key.Matches(msg, k.Up):
		h.cursor = max(h.cursor-1, 0)
	case key.Matches(msg, k.Down):
		h.cursor = min(h.cursor+1, max(len(h.spec.Apps)-1, 0))
	case key.Matches(msg, k.Top), key.Matches(msg, k.PageUp):
		h.cursor = 0
	case key.Matches(msg, k.Bottom), key.Matches(msg, k.PageDown):
		h.cursor = max(len(h.spec.Apps)-1, 0)
	case key.Matches(msg, k.Open):
		return h.openFollowers()
	case key.Matches(msg, k.Sync):
		if len(h.spec.Apps) == 0 {
			return nil
		}
		if h.rows[h.cursor].running {
			return Flash(sanitize.Text(h.spec.Apps[h.cursor].Name) + " is already syncing")
		}
		if h.syncingElsewhere(h.cursor) {
			return Flash(sanitize.Text(h.spec.Apps[h.cursor].Name+" is syncing in "+h.others[h.spec.Apps[h.cursor].AppID].String()) + "; wait for it to end")
		}
		return h.startSync(h.cursor)
	case key.Matches(msg, k.SyncAll):
		return h.syncAll()
	case key.Matches(msg, k.Stop):
		if len(h.spec.Apps) == 0 {
			return Flash("no app to stop")
		}
		name := sanitize.Text(h.spec.Apps[h.cursor].Name)
		switch r := &h.rows[h.cursor]; {
		case r.stopping:
			return Flash(name + " is stopping already; it saves what it fetched…")
		case r.running:
			r.stopping = true
			h.spec.Syncs.Stop(h.spec.Apps[h.cursor].AppID)
			return Flash("stopping the sync of " + name + "; it saves what it fetched…")
		case h.syncingElsewhere(h.cursor):
			return Flash(name + " syncs in " + sanitize.Text(h.others[h.spec.Apps[h.cursor].AppID].String()) + ": stop it there")
		}
		return Flash(name + " is not syncing: nothing to stop")
	case key.Matches(msg, k.Refresh):
		h.spec.Reader.Changed()
		h.countsInFlight = false
		h.refreshing = true
		return tea.Batch(Flash("re-reading the cache…"), h.readCounts(), h.analyze())
	case key.Matches(msg, k.Links):
		return Push(NewLinks(h.c, h.linksSpec()))
	case key.Matches(msg, k.Doctor):
		return Push(NewDoctor(h.c, h.linksSpec()))
	case key.Matches(msg, readOnlyKeys):
		return Flash("syncing is off here: no sync was wired to this view")
	default:
		return noKey(msg)
	}
	return nil
}

// openFollowers pushes the Followers view of the app under the cursor, with
// a presence column for every other app.
func (h *Home) openFollowers() tea.Cmd {
	if len(h.spec.Apps) == 0 {
		return nil
	}
	return Push(h.followersPage(h.spec.Apps[h.cursor].AppID, SubsetAll))
}

// followersPage builds the Followers view of appID narrowed to subset, with
// a presence column for every other app. Enter on an app row and every row
// of the Links and Doctor views that stands for followers come through here
// (it is their FollowersOpener), so all of them show the same columns from
// the same presence index.
func (h *Home) followersPage(appID string, subset FollowerSubset) Page {
	app := App{Name: appID, AppID: appID}
	if i := h.index(appID); i >= 0 {
		app = h.spec.Apps[i]
	}
	spec := FollowersSpec{
		App: app.Name, AppID: app.AppID, Kind: app.Kind, Bound: h.bound(app.AppID),
		Platform: h.platform(app.AppID),
		Reader:   h.spec.Reader, Subset: subset,
	}
	if c, ok := h.cached[app.AppID]; ok {
		spec.SizeHint = int(c.Counts.Profiles)
	}
	others := []string{}
	for _, o := range h.spec.Apps {
		if o.AppID != app.AppID {
			spec.Others = append(spec.Others, OtherApp{Name: o.Name, AppID: o.AppID, Bound: h.bound(o.AppID), Platform: h.platform(o.AppID)})
			others = append(others, o.AppID)
		}
	}
	// The presence of the other apps only: not the ids of this one.
	spec.LoadPresence = func(ctx context.Context) (Presence, error) { return h.spec.Reader.Presence(ctx, others) }
	return NewFollowers(h.c, spec)
}

// linksSpec is what the Links and Doctor views opened from home read: the
// home view's own reader and clock, so that they agree with its findings,
// and its way of opening followers.
func (h *Home) linksSpec() LinksSpec {
	return LinksSpec{
		Reader:    homeLinks{src: h.spec.Reader, now: h.c.Now},
		Followers: h.followersPage,
	}
}

// appLinks returns the link analysis of appID, or nil before it is in.
func (h *Home) appLinks(appID string) *cache.AppLinks {
	if h.links == nil {
		return nil
	}
	if i := h.links.Index(appID); i >= 0 {
		return &h.links.Apps[i]
	}
	return nil
}

// platform is appID's platform label, "" before the analysis is in or when
// it is not bound.
func (h *Home) platform(appID string) string {
	if l := h.appLinks(appID); l != nil {
		return l.Platform
	}
	return ""
}

// mixed reports whether the apps are of more than one kind: then the view
// shows a kind column and says members rather than followers.
func (h *Home) mixed() bool {
	for _, a := range h.spec.Apps {
		if a.Imported() {
			return true
		}
	}
	return false
}

// bound says whether appID's followers carry unionids. Before the analysis
// is in, the counters tell the same.
func (h *Home) bound(appID string) bool {
	if l := h.appLinks(appID); l != nil {
		return l.Bound
	}
	c, ok := h.cached[appID]
	return ok && c.Counts.WithUnionID > 0
}

// View implements Page.
func (h *Home) View() string {
	if h.width <= 0 || h.height <= 0 {
		return ""
	}
	s := h.c.Styles
	var b strings.Builder
	b.WriteString(h.titleLine())
	switch {
	case h.cached == nil && h.readErr != nil:
		b.WriteString("\n" + s.Error.Render(ansi.Wrap(sanitize.Text(wording.Error(wording.TUI, "", h.readErr)), h.width, "")))
		return b.String()
	case h.cached == nil:
		b.WriteString("\n" + s.Dim.Render("reading the cache…"))
		return b.String()
	case len(h.spec.Apps) == 0:
		b.WriteString("\n" + s.Dim.Render("no apps configured"))
		return b.String()
	}
	lay := h.layout()
	b.WriteString("\n" + h.headerLine(lay))
	for i := range h.spec.Apps {
		b.WriteString("\n" + h.rowLine(lay, i))
	}
	used := 2 + len(h.spec.Apps)
	for _, l := range h.below(h.height - used) {
		b.WriteString("\n" + l)
	}
	return b.String()
}

func (h *Home) titleLine() string {
	s := h.c.Styles
	parts := []string{wording.Plural(len(h.spec.Apps), "app")}
	parts = append(parts, "cache "+sanitize.Text(tildePath(h.spec.CachePath)))
	syncing := 0
	for _, r := range h.rows {
		if r.running {
			syncing++
		}
	}
	if h.holder != nil {
		parts = append(parts, sanitize.Text(h.holder.String())+" is syncing")
	}
	if syncing > 0 {
		parts = append(parts, fmt.Sprintf("syncing %d of %d", syncing, len(h.spec.Apps)))
	} else if name, at := h.lastSynced(); !at.IsZero() && h.holder == nil {
		parts = append(parts, sanitize.Text(name)+" synced "+h.ago(at))
	}
	if h.c.ReadOnly {
		parts = append(parts, "read-only")
	}
	left := s.Title.Render("wxscope") + s.Dim.Render(" · "+strings.Join(parts, " · "))
	return spread(left, "", h.width)
}

// lastSynced is the app whose listing completed last, and when.
func (h *Home) lastSynced() (string, time.Time) {
	var name string
	var at time.Time
	for _, app := range h.spec.Apps {
		if c, ok := h.cached[app.AppID]; ok && c.Sync.LastCompleteAt.After(at) {
			name, at = app.Name, c.Sync.LastCompleteAt
		}
	}
	return name, at
}

func (h *Home) ago(t time.Time) string {
	d := h.c.Now().Sub(t)
	if d < time.Minute {
		return "just now"
	}
	return wording.FormatAge(d) + " ago"
}

// tildePath shortens a path under the home folder to ~/….
func tildePath(p string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" || home == "/" {
		return p
	}
	if rel, err := filepath.Rel(home, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.Join("~", rel)
	}
	return p
}

// homeLayout is the width of each column; 0 hides appid, kind, cached and
// last.
type homeLayout struct {
	name, appid, kind, followers, cached, bound, union, last, sync int
	shortKind                                                      bool // the kind column in four cells
}

func (h *Home) layout() homeLayout {
	l := homeLayout{name: 3, followers: 9, cached: 9, bound: 5, union: 7, last: 11}
	for _, app := range h.spec.Apps {
		l.name = max(l.name, ansi.StringWidth(sanitize.Text(app.Name)))
		l.appid = max(l.appid, ansi.StringWidth(sanitize.Text(app.AppID)))
		if h.mixed() {
			l.kind = max(l.kind, len("kind"), len(kindLabel(app.Kind, false)))
		}
	}
	l.name = min(l.name, 16)
	fixed := func() int {
		w := markerW + l.name + l.followers + l.bound + l.union + 4*len(gap)
		for _, c := range []int{l.appid, l.kind, l.cached, l.last} {
			if c > 0 {
				w += c + len(gap)
			}
		}
		return w
	}
	// The sync column needs room for its bar and numbers: on a narrow
	// terminal the appid goes first (it is in the Followers title too),
	// then what other columns and the sync cell say again: the cached
	// count (the followers' once a sync is done), the last sync's time
	// (the sync cell and the title tell it). At 60 columns a row still
	// says that its app syncs, or why it stopped.
	if h.width-fixed() < 40 {
		l.appid = 0
	}
	if h.width-fixed() < 24 {
		l.cached = 0
	}
	if h.width-fixed() < 24 {
		l.last = 0
	}
	if l.kind > 0 && h.width-fixed() < 24 {
		l.kind, l.shortKind = len("kind"), true
	}
	l.sync = max(h.width-fixed(), 0)
	return l
}

func (h *Home) headerLine(l homeLayout) string {
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", markerW))
	b.WriteString(cell("app", l.name))
	if l.appid > 0 {
		b.WriteString(gap + cell("appid", l.appid))
	}
	if l.kind > 0 {
		b.WriteString(gap + cell("kind", l.kind))
	}
	people := "followers"
	if h.mixed() {
		people = "members" // an imported app has no followers
	}
	b.WriteString(gap + right(people, l.followers))
	if l.cached > 0 {
		b.WriteString(gap + right("cached", l.cached))
	}
	b.WriteString(gap + cell("bound", l.bound))
	b.WriteString(gap + right("unionid", l.union))
	if l.last > 0 {
		b.WriteString(gap + cell("last sync", l.last))
	}
	b.WriteString(gap + cell("sync", l.sync))
	return h.c.Styles.Header.Render(ansi.Truncate(b.String(), h.width, ""))
}

// right fits s to w cells, aligned right.
func right(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw >= w {
		return cell(s, w)
	}
	return strings.Repeat(" ", w-sw) + s
}

func (h *Home) rowLine(l homeLayout, i int) string {
	s := h.c.Styles
	app, r := h.spec.Apps[i], h.rows[i]
	c, inCache := h.cached[app.AppID]
	selected := i == h.cursor

	var b strings.Builder
	if selected {
		b.WriteString("▸ ")
	} else {
		b.WriteString("  ")
	}
	b.WriteString(cell(sanitize.Text(app.Name), l.name))
	if l.appid > 0 {
		b.WriteString(gap + cell(sanitize.Text(app.AppID), l.appid))
	}
	if l.kind > 0 {
		b.WriteString(gap + cell(kindLabel(app.Kind, l.shortKind), l.kind))
	}

	total := c.Sync.Total
	if r.hasProg && r.prog.Total > 0 {
		total = r.prog.Total
	}
	followers := "—"
	if total > 0 || c.Sync.LastCompleteAt.After(time.Time{}) {
		followers = wording.FormatCount(total)
	}
	b.WriteString(gap + right(followers, l.followers))
	cached := "0"
	if inCache {
		cached = wording.FormatCount(c.Counts.Subscribed)
	}
	if l.cached > 0 {
		b.WriteString(gap + right(cached, l.cached))
	}
	b.WriteString(gap + cell(h.boundLabel(i, c, inCache), l.bound))
	union := "—"
	if c.Counts.Subscribed > 0 {
		pct := math.Floor(100 * float64(c.Counts.WithUnionID) / float64(c.Counts.Subscribed))
		union = fmt.Sprintf("%d %%", int(pct))
	}
	b.WriteString(gap + right(union, l.union))
	last := "never"
	switch {
	case r.running && r.stopping:
		last = "stopping"
	case r.running, h.syncingElsewhere(i):
		last = "running"
	case !c.Sync.LastCompleteAt.IsZero():
		last = h.ago(c.Sync.LastCompleteAt)
	}
	if l.last > 0 {
		b.WriteString(gap + cell(last, l.last))
	}
	b.WriteString(gap)
	head := b.String()
	syncText, kind := h.syncCell(i, l.sync)
	line := head + syncText
	switch {
	case selected:
		return s.Selected.Render(ansi.Truncate(line, h.width, ""))
	case kind == cellWarn:
		return head + s.Warn.Render(syncText)
	case kind == cellError:
		return head + s.Error.Render(syncText)
	case kind == cellDim:
		return head + s.Dim.Render(syncText)
	}
	return line
}

func (h *Home) boundLabel(i int, c cache.App, inCache bool) string {
	appID := h.spec.Apps[i].AppID
	l := h.appLinks(appID)
	// The counters are read more often than the links are analysed: a
	// unionid among them settles it, whatever an older analysis said
	// ("bound no" beside "unionid 100 %" early in a sync).
	if c.Counts.WithUnionID > 0 {
		if l != nil && l.Bound && l.Platform != "" {
			return l.Platform
		}
		return "yes"
	}
	switch {
	case !inCache || c.Counts.Subscribed == 0, h.rows[i].running, h.syncingElsewhere(i):
		return "?" // none so far proves nothing yet
	case l != nil && !l.Bound, !c.Sync.LastCompleteAt.IsZero():
		return "no"
	}
	return "?"
}

// cellKind is how the sync column is painted.
type cellKind int

const (
	cellPlain cellKind = iota
	cellDim
	cellWarn
	cellError
)

// syncCell is the sync column of row i, w cells wide: a live bar while the
// app syncs, else how its last sync ended.
func (h *Home) syncCell(i, w int) (string, cellKind) {
	app, r := h.spec.Apps[i], h.rows[i]
	c := h.cached[app.AppID]
	fit := func(s string) string { return ansi.Truncate(s, w, "…") }
	if r.running && r.stopping {
		return fit(h.barText(r.prog.Fraction(), w) + " stopping — saving what it fetched…"), cellDim
	}
	if r.running {
		return fit(h.runningCell(r.prog, r.hasProg, w)), cellPlain
	}
	if app.Imported() {
		return h.importCell(i, w)
	}
	if r.ended && errors.Is(r.err, context.Canceled) {
		if h.countsSeen < r.endCounts {
			return fit(h.barText(r.prog.Fraction(), w) + " stopping — saving what it fetched…"), cellDim
		}
		if c.Sync.InProgress {
			return fit(stoppedAt(c.Sync.Listed, c.Sync.Total) + " — s resumes"), cellDim
		}
	}
	if r.ended {
		switch {
		case r.err == nil && h.unbound(app.AppID, c):
			return fit(h.barText(1, w) + " done · ⚠ not bound to an open platform"), cellWarn
		case r.err == nil:
			return fit(h.barText(1, w) + " done " + h.summary(r.prog)), cellPlain
		default:
			text, kind := h.stopText(app.Name, r.err, r.prog.Listed, r.prog.Total, r.prog.QuotaResetAt)
			return fit(text), kind
		}
	}
	switch {
	case h.syncingElsewhere(i):
		text := "syncing in " + sanitize.Text(h.others[app.AppID].String())
		switch {
		case c.Sync.InProgress && c.Sync.Total > 0:
			text += ": " + wording.FormatCount(c.Sync.Listed) + " listed of " + wording.FormatCount(c.Sync.Total)
		case c.Sync.InProgress:
			text += ": " + wording.FormatCount(c.Sync.Listed) + " listed"
		}
		return fit(text), cellPlain
	case c.Sync.InProgress && !c.Sync.QuotaResetAt.IsZero():
		return fit(quotaText("user/get", c.Sync.QuotaResetAt)), cellWarn
	case c.Sync.InProgress && c.Sync.LastError != "" && !strings.HasPrefix(wording.Bare(c.Sync.LastError), "interrupted"):
		return fit("⚠ stopped: " + sanitize.Text(wording.Bare(c.Sync.LastError)) + " — s resumes"), cellError
	case c.Sync.InProgress:
		return fit(stoppedAt(c.Sync.Listed, c.Sync.Total) + " — s resumes"), cellDim
	case c.Sync.LastCompleteAt.IsZero():
		return fit("s to sync"), cellDim
	}
	if h.unbound(app.AppID, c) {
		return fit("⚠ not bound to an open platform"), cellWarn
	}
	return fit(h.barText(1, w) + " done"), cellPlain
}

// importCell is the sync column of an imported app that is not being read:
// what its import holds and when it was read, or how this session's read
// ended, as much of it as w cells hold.
func (h *Home) importCell(i, w int) (string, cellKind) {
	app, r := h.spec.Apps[i], h.rows[i]
	c := h.cached[app.AppID]
	in, read := h.imports[app.AppID]
	fit := func(s string) string { return ansi.Truncate(s, w, "…") }
	// The longest variant that fits: what the import holds, then where it
	// came from, then what to press.
	first := func(variants ...string) string {
		for _, v := range variants {
			if ansi.StringWidth(v) <= w {
				return v
			}
		}
		return fit(variants[len(variants)-1])
	}
	from := sanitize.Text(filepath.Base(in.Source))
	if strings.HasPrefix(in.Source, "import_command of ") {
		from = "its import_command"
	}
	rows := wording.FormatCount(in.Members) + " rows"
	when := "read " + h.ago(in.ReadAt)
	rejected := ""
	if in.Rejected > 0 {
		rejected = " · " + wording.FormatCount(in.Rejected) + " rejected"
	}
	holds := func(lead string) string {
		return first(
			lead+rows+" of "+from+", "+when+rejected+" · s re-reads",
			lead+rows+" of "+from+", "+when+rejected,
			lead+rows+", "+when+rejected,
			lead+rows+", "+when,
			lead+when,
			lead+rows,
			strings.TrimSuffix(lead, " · "),
		)
	}
	if r.ended && r.err != nil {
		if r.prog.Phase == cache.PhaseDone && r.prog.Rejected > 0 {
			// The valid rows are in; the sentence below lists the others.
			n := wording.FormatCount(r.prog.Rejected)
			return first("⚠ "+n+" rows rejected (see below) · "+rows+" of "+from+" read", "⚠ "+n+" rows rejected (see below)", "⚠ "+n+" rejected"), cellWarn
		}
		if errors.Is(r.err, context.Canceled) {
			return first("stopped: the previous import is kept · s reads it again", "stopped: the previous import is kept"), cellDim
		}
		text, kind := h.stopText(app.Name, r.err, r.prog.Rows, 0, time.Time{})
		return fit(text), kind
	}
	switch {
	case !read:
		return fit("s to read its import"), cellDim
	case h.unbound(app.AppID, c):
		return holds("⚠ not bound · "), cellWarn
	case r.ended && (r.prog.Joined > 0 || r.prog.Left > 0):
		changes := wording.FormatCount(r.prog.Joined) + " new, " + wording.FormatCount(r.prog.Left) + " left"
		return first("done · "+rows+" of "+from+", "+changes+" · s re-reads", "done · "+rows+", "+changes, "done · "+rows, rows), cellPlain
	}
	return holds(""), cellPlain
}

// unbound says the analysis found none of appID's followers with a unionid.
func (h *Home) unbound(appID string, c cache.App) bool {
	l := h.appLinks(appID)
	return l != nil && !l.Bound && c.Counts.Subscribed > 0
}

// runningCell is "████░░ 59 %  1 840/s  ETA 4 s".
func (h *Home) runningCell(p cache.Progress, has bool, w int) string {
	if !has {
		return h.barText(0, w) + " starting…"
	}
	f := p.Fraction()
	parts := []string{h.barText(f, w), fmt.Sprintf("%2d %%", int(f*100))}
	switch p.Phase {
	case cache.PhaseStarting:
		parts = append(parts, "starting")
	case cache.PhaseMarking:
		parts = append(parts, "marking unfollows")
	case cache.PhaseReading:
		parts = append(parts, "reading "+wording.FormatCount(p.Rows)+" rows")
	case cache.PhaseWriting:
		parts = append(parts, "writing "+wording.FormatCount(p.Rows)+" rows")
	}
	if p.Rate > 0 {
		parts = append(parts, wording.FormatCount(int64(p.Rate))+"/s")
	}
	if p.ETA >= time.Second {
		parts = append(parts, "ETA "+formatDuration(p.ETA))
	}
	if p.Retries > 0 {
		parts = append(parts, fmt.Sprintf("%d retries", p.Retries))
	}
	if p.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%d rejected", p.Errors))
	}
	return strings.Join(parts, "  ")
}

// summary is what a finished run did: "20 000 in 4 s".
func (h *Home) summary(p cache.Progress) string {
	s := wording.FormatCount(p.Fetched) + " fetched"
	if p.Skipped > 0 {
		s += ", " + wording.FormatCount(p.Skipped) + " fresh"
	}
	switch {
	case p.Elapsed >= 10*time.Second:
		s += " in " + formatDuration(p.Elapsed)
	case p.Elapsed > 0:
		s += fmt.Sprintf(" in %.1f s", p.Elapsed.Seconds())
	}
	if p.Retries > 0 {
		s += fmt.Sprintf(", %d retries", p.Retries)
	}
	return s
}

// stopText says why a run ended early and what happens next.
func (h *Home) stopText(app string, err error, listed, total int64, resetAt time.Time) (string, cellKind) {
	var qe *cache.QuotaError
	switch {
	case errors.As(err, &qe):
		if !qe.ResetAt.IsZero() {
			resetAt = qe.ResetAt
		}
		return quotaText(strings.TrimPrefix(qe.API, "cgi-bin/"), resetAt), cellWarn
	case errors.Is(err, context.Canceled):
		return stoppedAt(listed, total) + " — s resumes", cellDim
	}
	return "⚠ " + sanitize.Text(wording.Error(wording.TUI, app, err)), cellError
}

// quotaText is "user/get quota spent for today — resumes after 00:00 +08:00".
func quotaText(api string, resetAt time.Time) string {
	when := "00:00 +08:00"
	if !resetAt.IsZero() {
		when = resetAt.Format("15:04 -07:00")
	}
	if api == "" {
		api = "API"
	}
	return api + " quota spent for today — resumes after " + when
}

// barText draws the progress bar, narrower on narrow terminals.
func (h *Home) barText(f float64, w int) string {
	bw := 16
	switch {
	case w < 24:
		bw = 4 // room for "done" or a percentage beside it
	case w < 50:
		bw = 8
	}
	bar := h.bar
	bar.SetWidth(bw)
	bar.FullColor, bar.EmptyColor = h.c.Styles.BarFull, h.c.Styles.BarEmpty
	return bar.ViewAs(f)
}

// formatDuration is a short duration: "4 s", "2 min 5 s", "3 h 10 min".
// Not wording.FormatAge, which keeps the largest unit only ("2 min"): right
// for how long ago a sync ended, too coarse for an ETA that counts down.
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
}

// below is what goes under the table in n lines: the error of the app
// under the cursor, then the findings.
func (h *Home) below(n int) []string {
	if n <= 1 {
		return nil
	}
	s := h.c.Styles
	out := []string{s.Dim.Render(strings.Repeat("─", h.width))}
	if len(h.spec.Apps) > 0 {
		r := h.rows[h.cursor]
		if r.ended && r.err != nil && !errors.Is(r.err, context.Canceled) {
			name := h.spec.Apps[h.cursor].Name
			msg := sanitize.Text(name + ": " + wording.Error(wording.TUI, name, r.err))
			for _, l := range strings.Split(ansi.Wrap(msg, h.width, ""), "\n") {
				out = append(out, s.Error.Render(l))
			}
		}
	}
	switch {
	case h.linksErr != nil:
		out = append(out, s.Error.Render(ansi.Truncate(sanitize.Text(wording.Error(wording.TUI, "", h.linksErr)), h.width, "…")))
	case h.links == nil:
		out = append(out, s.Dim.Render("analysing the links…"))
	default:
		out = append(out, h.findingLines()...)
	}
	if len(out) > n {
		// What does not fit is one key away, in the Doctor view, which
		// scrolls: say so rather than cut the list without a word.
		out = append(out[:n-1], s.Dim.Render(ansi.Truncate(
			"… "+wording.Plural(len(out)-n+1, "more line")+" of findings: d shows them all", h.width, "…")))
	}
	return out
}

// syncingElsewhere says whether another process syncs app i now: it holds
// the sync lock and its command names the app (HomeSpec.OtherSync).
func (h *Home) syncingElsewhere(i int) bool {
	return !h.rows[i].running && h.others[h.spec.Apps[i].AppID] != nil
}

// findingWait is why a finding is held back: the data it rests on is not
// complete yet.
type findingWait int

const (
	waitNone      findingWait = iota
	waitSyncing               // one of its apps syncs in this process
	waitElsewhere             // one of its apps syncs in another process
	waitAnalysis              // a sync of one of its apps ended after the analysis shown began
)

// wait says whether finding f rests only on complete data. It rests on its
// own apps and, for an unbound app, on every app (which platform it should
// join depends on which apps are bound): while
// one of them syncs, or the analysis shown began before one's sync ended,
// its evidence and advice may be wrong ("bind events to the platform legacy
// uses" in the first second of a demo, "never synced" beside a row that
// says done). apps gets the names of the apps it waits for.
func (h *Home) wait(f *cache.Finding, apps map[findingWait][]string) findingWait {
	idx := make([]int, 0, len(f.AppIDs)+len(f.BindTo))
	for _, id := range f.AppIDs {
		if i := h.index(id); i >= 0 {
			idx = append(idx, i)
		}
	}
	if f.Kind == cache.UnboundApp {
		// Which platform to bind it to depends on every app: until all
		// are complete the advice may name none, or the wrong one.
		idx = idx[:0]
		for i := range h.spec.Apps {
			idx = append(idx, i)
		}
	}
	worst := waitNone
	for _, i := range idx {
		w := waitNone
		switch r := h.rows[i]; {
		case r.running:
			w = waitSyncing
		case h.syncingElsewhere(i):
			w = waitElsewhere
		case r.endedSeq >= h.linksSeq && (r.ended || r.endedSeq > 0):
			w = waitAnalysis
		}
		if w != waitNone {
			name := h.spec.Apps[i].Name
			if !slices.Contains(apps[w], name) {
				apps[w] = append(apps[w], name)
			}
			worst = max(worst, w)
		}
	}
	return worst
}

// findingLines lists the findings of the last analysis that rest on
// complete data, and says which wait for a sync or an analysis. An app's
// incomplete finding is left out while its row shows how its run of this
// session failed: the row and the sentence under the table say it better.
func (h *Home) findingLines() []string {
	s := h.c.Styles
	var fs []cache.Finding
	held := map[findingWait][]string{}
	for _, f := range h.links.Findings {
		if f.Kind == cache.Incomplete && len(f.AppIDs) == 1 {
			if i := h.index(f.AppIDs[0]); i >= 0 && !h.rows[i].running && h.rows[i].ended && h.rows[i].err != nil &&
				!errors.Is(h.rows[i].err, context.Canceled) {
				continue
			}
		}
		if h.wait(&f, held) != waitNone {
			continue
		}
		fs = append(fs, f)
	}
	var waits []string
	if names := held[waitSyncing]; len(names) > 0 {
		waits = append(waits, s.Dim.Render(ansi.Truncate("syncing "+sanitize.Text(wording.JoinAnd(names))+": findings about "+them(names)+" come when the syncs end", h.width, "…")))
	}
	if names := held[waitElsewhere]; len(names) > 0 {
		waits = append(waits, s.Dim.Render(ansi.Truncate(sanitize.Text(h.holder.String())+" is syncing "+sanitize.Text(wording.JoinAnd(names))+
			": findings about "+them(names)+" come when it ends", h.width, "…")))
	}
	if names := held[waitAnalysis]; len(names) > 0 {
		waits = append(waits, s.Dim.Render(ansi.Truncate("analysing what the sync of "+sanitize.Text(wording.JoinAnd(names))+" wrote…", h.width, "…")))
	}
	if len(fs) == 0 {
		if len(waits) > 0 {
			return waits
		}
		if h.Syncing() {
			return []string{s.Dim.Render("findings come when the syncs end")}
		}
		return []string{s.Dim.Render("no findings: every app is bound to one open platform and synced")}
	}
	label := wording.Plural(len(fs), "finding")
	pad := strings.Repeat(" ", ansi.StringWidth(label)+2)
	var out []string
	for i, f := range fs {
		lead := pad
		if i == 0 {
			lead = label + "  "
		}
		mark, st := "⚠ ", s.Warn
		if f.Note {
			mark, st = "· ", s.Dim
		}
		// Detail names the apps itself; a long one wraps under its mark.
		// It says the key that fixes it, not the command.
		textW := max(h.width-len(pad)-2, 10)
		detail := wording.Finding(wording.TUI, &f).Detail()
		for j, l := range strings.Split(ansi.Wrap(sanitize.Text(detail), textW, ""), "\n") {
			if j == 0 {
				out = append(out, ansi.Truncate(lead+st.Render(mark)+l, h.width, "…"))
			} else {
				out = append(out, ansi.Truncate(pad+"  "+l, h.width, "…"))
			}
		}
	}
	return append(out, waits...)
}

// them is "it" for one app, "them" for several.
func them(names []string) string {
	if len(names) == 1 {
		return "it"
	}
	return "them"
}
