package ui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/cache"
	"wxscope/sanitize"
)

// HomeApp is one configured app on the home view.
type HomeApp struct {
	Name  string // short label
	AppID string
}

// HomeSpec is what the home view shows and where its data comes from.
type HomeSpec struct {
	// CachePath is the cache file, shown in the title.
	CachePath string
	// Apps are the configured apps, in the configuration's order.
	Apps []HomeApp
	// Source reads the cache.
	Source HomeSource
	// Syncs runs syncs; nil (or a read-only Common) disables s and S.
	Syncs *Syncs
	// SyncOnStart starts a sync of every app as soon as the view opens
	// (the demo); otherwise nothing touches the network until s or S.
	SyncOnStart bool
	// Redraw is how often the view redraws when nothing happens, so that
	// "3 min ago" stays true; 0 never (tests).
	Redraw time.Duration
	// OtherSync, when set, says which other process is syncing an app
	// right now (nil: none), so that its unfinished sync reads as under
	// way there rather than stopped. It must be cheap: rows call it as
	// they are drawn.
	OtherSync func(appID string) *cache.Holder
}

// How the home view paces itself while syncs run: it redraws from the
// buffered progress every syncTick, and re-reads the cache's counters every
// countsEvery ticks (a cheap read, but a read of the file all the same).
const (
	syncTick    = 100 * time.Millisecond
	countsEvery = 5
)

// Apps is the home view: one row per configured app with what the cache
// holds and a live progress bar while it syncs, the findings of the link
// analysis under the table.
type Apps struct {
	c      *Common
	spec   HomeSpec
	keys   AppsKeys
	width  int
	height int
	cursor int

	cached   map[string]cache.App // by appid; nil until the first read
	links    *cache.Links
	readErr  error
	linksErr error

	rows []appState // parallel to spec.Apps

	ticking        bool
	ticks          int
	countsInFlight bool
	countsGen      int // the last read asked for
	countsSeen     int // the read whose answer is shown: older answers are stale
	linksInFlight  bool
	linksStale     bool // a sync ended while an analysis ran: run another
	bar            progress.Model
}

// appState is what the view knows about one app's sync in this session.
type appState struct {
	running bool
	prog    cache.Progress
	hasProg bool
	err     error // how the last run in this session ended; nil when it completed
	ended   bool  // a run ended in this session
}

// Messages of the home view; each carries its owner so that another Apps
// (a test's second root) never picks them up.
type (
	appsCountsMsg struct {
		owner *Apps
		gen   int
		apps  map[string]cache.App
		err   error
	}
	appsLinksMsg struct {
		owner *Apps
		links *cache.Links
		err   error
	}
	appsTickMsg   struct{ owner *Apps }
	appsRedrawMsg struct{ owner *Apps }
	syncEndedMsg  struct {
		owner *Apps
		appID string
	}
)

// NewApps returns the home view for spec.
func NewApps(c *Common, spec HomeSpec) *Apps {
	a := &Apps{c: c, spec: spec, keys: DefaultAppsKeys(), rows: make([]appState, len(spec.Apps))}
	a.keys.Sync = c.WriteKey(a.keys.Sync)
	a.keys.SyncAll = c.WriteKey(a.keys.SyncAll)
	a.keys.Stop = c.WriteKey(a.keys.Stop)
	if spec.Syncs == nil {
		a.keys.Sync.SetEnabled(false)
		a.keys.SyncAll.SetEnabled(false)
		a.keys.Stop.SetEnabled(false)
	}
	a.bar = progress.New(progress.WithWidth(16), progress.WithoutPercentage(),
		progress.WithFillCharacters('█', '░'))
	return a
}

// Init implements Page: read the counters and the links; in the demo,
// start every sync.
func (a *Apps) Init() tea.Cmd {
	cmds := []tea.Cmd{a.readCounts(), a.analyze()}
	if a.spec.SyncOnStart {
		cmds = append(cmds, a.syncAll())
	}
	cmds = append(cmds, a.redraw())
	return tea.Batch(cmds...)
}

func (a *Apps) redraw() tea.Cmd {
	if a.spec.Redraw <= 0 {
		return nil
	}
	owner := a
	return tea.Tick(a.spec.Redraw, func(time.Time) tea.Msg { return appsRedrawMsg{owner: owner} })
}

// SetSize implements Page.
func (a *Apps) SetSize(width, height int) { a.width, a.height = width, height }

// KeyMap implements Page. x (stop) shows only while the app under the
// cursor syncs: it does nothing otherwise.
func (a *Apps) KeyMap() help.KeyMap {
	k := a.keys
	if len(a.spec.Apps) == 0 || !a.rows[a.cursor].running {
		k.Stop.SetEnabled(false)
	}
	return k
}

// CapturesInput implements Page.
func (a *Apps) CapturesInput() bool { return false }

// Syncing reports whether any sync started from this view still runs.
func (a *Apps) Syncing() bool {
	for _, r := range a.rows {
		if r.running {
			return true
		}
	}
	return false
}

func (a *Apps) readCounts() tea.Cmd {
	if a.countsInFlight {
		return nil
	}
	a.countsInFlight = true
	a.countsGen++
	ctx, src, gen := a.c.Ctx, a.spec.Source, a.countsGen
	return func() tea.Msg {
		apps, err := src.Apps(ctx)
		return appsCountsMsg{owner: a, gen: gen, apps: apps, err: err}
	}
}

func (a *Apps) analyze() tea.Cmd {
	if a.linksInFlight {
		a.linksStale = true
		return nil
	}
	a.linksInFlight, a.linksStale = true, false
	ctx, src, now := a.c.Ctx, a.spec.Source, a.c.Now()
	return func() tea.Msg {
		l, err := src.Links(ctx, now)
		return appsLinksMsg{owner: a, links: l, err: err}
	}
}

// Update implements Page.
func (a *Apps) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case appsCountsMsg:
		if msg.owner != a {
			return nil
		}
		if msg.gen == a.countsGen {
			a.countsInFlight = false
		}
		if msg.gen < a.countsSeen {
			return nil // a read that started before one already shown
		}
		a.countsSeen = msg.gen
		if msg.err != nil {
			if !isCanceled(msg.err) {
				a.readErr = msg.err
			}
			return nil
		}
		a.cached, a.readErr = msg.apps, nil
		return nil
	case appsLinksMsg:
		if msg.owner != a {
			return nil
		}
		a.linksInFlight = false
		if msg.err != nil {
			if !isCanceled(msg.err) {
				a.linksErr = msg.err
			}
		} else {
			a.links, a.linksErr = msg.links, nil
		}
		if a.linksStale {
			return a.analyze()
		}
		return nil
	case appsRedrawMsg:
		if msg.owner != a {
			return nil
		}
		return a.redraw()
	case appsTickMsg:
		if msg.owner != a {
			return nil
		}
		return a.tick()
	case syncEndedMsg:
		if msg.owner != a {
			return nil
		}
		return a.ended(msg.appID)
	case tea.KeyPressMsg:
		return a.handleKey(msg)
	}
	return nil
}

// tick copies the buffered progress of the running syncs into the rows and
// re-arms itself while any runs.
func (a *Apps) tick() tea.Cmd {
	a.pullProgress()
	a.ticks++
	if !a.Syncing() {
		a.ticking = false
		return nil
	}
	var cmds []tea.Cmd
	if a.ticks%countsEvery == 0 {
		cmds = append(cmds, a.readCounts())
	}
	cmds = append(cmds, a.nextTick())
	return tea.Batch(cmds...)
}

func (a *Apps) nextTick() tea.Cmd {
	owner := a
	return tea.Tick(syncTick, func(time.Time) tea.Msg { return appsTickMsg{owner: owner} })
}

func (a *Apps) pullProgress() {
	if a.spec.Syncs == nil {
		return
	}
	for i, app := range a.spec.Apps {
		if !a.rows[i].running {
			continue
		}
		if p, ok := a.spec.Syncs.Latest(app.AppID); ok {
			a.rows[i].prog, a.rows[i].hasProg = p, true
		}
	}
}

// ended records how a sync ended and refreshes what it changed: the
// counters, the presence index and the link analysis.
func (a *Apps) ended(appID string) tea.Cmd {
	i := a.index(appID)
	if i < 0 {
		return nil
	}
	r := &a.rows[i]
	r.running, r.ended = false, true
	r.err = a.spec.Syncs.result(appID)
	if p, ok := a.spec.Syncs.Latest(appID); ok {
		r.prog, r.hasProg = p, true
	}
	a.spec.Source.Changed()
	a.countsInFlight = false // a read started before the sync's last write is stale
	return tea.Batch(a.readCounts(), a.analyze(), cacheChanged)
}

// CacheChangedMsg says a sync of this session wrote to the cache. The root
// offers it to every page on the stack; the Links and Doctor views run
// their analysis again so that they never contradict the home view.
type CacheChangedMsg struct{}

func cacheChanged() tea.Msg { return CacheChangedMsg{} }

func (a *Apps) index(appID string) int {
	for i, app := range a.spec.Apps {
		if app.AppID == appID {
			return i
		}
	}
	return -1
}

// startSync starts the sync of app i and returns the commands that wait for
// its end and keep the screen ticking.
func (a *Apps) startSync(i int) tea.Cmd {
	app := a.spec.Apps[i]
	done, ok := a.spec.Syncs.start(a.c.Ctx, app.AppID)
	if !ok {
		return nil
	}
	a.rows[i] = appState{running: true}
	owner := a
	wait := func() tea.Msg {
		<-done
		return syncEndedMsg{owner: owner, appID: app.AppID}
	}
	if a.ticking {
		return wait
	}
	a.ticking = true
	return tea.Batch(wait, a.nextTick())
}

func (a *Apps) syncAll() tea.Cmd {
	if a.spec.Syncs == nil || a.c.ReadOnly {
		return nil
	}
	var cmds []tea.Cmd
	for i := range a.spec.Apps {
		cmds = append(cmds, a.startSync(i))
	}
	return tea.Batch(cmds...)
}

func (a *Apps) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := a.keys
	switch {
	case key.Matches(msg, k.Up):
		a.cursor = max(a.cursor-1, 0)
	case key.Matches(msg, k.Down):
		a.cursor = min(a.cursor+1, max(len(a.spec.Apps)-1, 0))
	case key.Matches(msg, k.Top), key.Matches(msg, k.PageUp):
		a.cursor = 0
	case key.Matches(msg, k.Bottom), key.Matches(msg, k.PageDown):
		a.cursor = max(len(a.spec.Apps)-1, 0)
	case key.Matches(msg, k.Open):
		return a.openFollowers()
	case key.Matches(msg, k.Sync):
		if len(a.spec.Apps) == 0 {
			return nil
		}
		if a.rows[a.cursor].running {
			return Flash(sanitize.Text(a.spec.Apps[a.cursor].Name) + " is already syncing")
		}
		return a.startSync(a.cursor)
	case key.Matches(msg, k.SyncAll):
		return a.syncAll()
	case key.Matches(msg, k.Stop):
		if len(a.spec.Apps) > 0 && a.rows[a.cursor].running {
			a.spec.Syncs.Stop(a.spec.Apps[a.cursor].AppID)
			return Flash("stopping the sync of " + sanitize.Text(a.spec.Apps[a.cursor].Name) + "; what it fetched is kept")
		}
	case key.Matches(msg, k.Refresh):
		a.spec.Source.Changed()
		a.countsInFlight = false
		return tea.Batch(a.readCounts(), a.analyze())
	case key.Matches(msg, k.Links):
		return Push(NewLinks(a.c, a.linksSpec()))
	case key.Matches(msg, k.Doctor):
		return Push(NewDoctor(a.c, a.linksSpec()))
	}
	return nil
}

// openFollowers pushes the Followers view of the app under the cursor, with
// a presence column for every other app.
func (a *Apps) openFollowers() tea.Cmd {
	if len(a.spec.Apps) == 0 {
		return nil
	}
	return Push(a.followersPage(a.spec.Apps[a.cursor].AppID, SubsetAll))
}

// followersPage builds the Followers view of appID narrowed to subset, with
// a presence column for every other app. Enter on an app row and every row
// of the Links and Doctor views that stands for followers come through here
// (it is their FollowersOpener), so all of them show the same columns from
// the same presence index.
func (a *Apps) followersPage(appID string, subset FollowerSubset) Page {
	app := HomeApp{Name: appID, AppID: appID}
	if i := a.index(appID); i >= 0 {
		app = a.spec.Apps[i]
	}
	spec := FollowersSpec{
		App: app.Name, AppID: app.AppID, Bound: a.bound(app.AppID),
		Source: a.spec.Source, LoadPresence: a.spec.Source.Presence,
		Subset: subset,
	}
	if c, ok := a.cached[app.AppID]; ok {
		spec.SizeHint = int(c.Counts.Profiles)
	}
	for _, o := range a.spec.Apps {
		if o.AppID != app.AppID {
			spec.Others = append(spec.Others, OtherApp{Name: o.Name, AppID: o.AppID, Bound: a.bound(o.AppID)})
		}
	}
	return NewFollowers(a.c, spec)
}

// linksSpec is what the Links and Doctor views opened from home read: the
// home view's own source and clock, so that they agree with its findings,
// and its way of opening followers.
func (a *Apps) linksSpec() LinksSpec {
	return LinksSpec{
		Source:    homeLinks{src: a.spec.Source, now: a.c.Now},
		Followers: a.followersPage,
	}
}

// appLinks returns the link analysis of appID, or nil before it is in.
func (a *Apps) appLinks(appID string) *cache.AppLinks {
	if a.links == nil {
		return nil
	}
	if i := a.links.Index(appID); i >= 0 {
		return &a.links.Apps[i]
	}
	return nil
}

// bound says whether appID's followers carry unionids. Before the analysis
// is in, the counters tell the same.
func (a *Apps) bound(appID string) bool {
	if l := a.appLinks(appID); l != nil {
		return l.Bound
	}
	c, ok := a.cached[appID]
	return ok && c.Counts.WithUnionID > 0
}

// View implements Page.
func (a *Apps) View() string {
	if a.width <= 0 || a.height <= 0 {
		return ""
	}
	s := a.c.Styles
	var b strings.Builder
	b.WriteString(a.titleLine())
	switch {
	case a.cached == nil && a.readErr != nil:
		b.WriteString("\n" + s.Error.Render(ansi.Wrap(sanitize.Text(a.readErr.Error()), a.width, "")))
		return b.String()
	case a.cached == nil:
		b.WriteString("\n" + s.Dim.Render("reading the cache…"))
		return b.String()
	case len(a.spec.Apps) == 0:
		b.WriteString("\n" + s.Dim.Render("no apps configured"))
		return b.String()
	}
	lay := a.layout()
	b.WriteString("\n" + a.headerLine(lay))
	for i := range a.spec.Apps {
		b.WriteString("\n" + a.rowLine(lay, i))
	}
	used := 2 + len(a.spec.Apps)
	for _, l := range a.below(a.height - used) {
		b.WriteString("\n" + l)
	}
	return b.String()
}

func (a *Apps) titleLine() string {
	s := a.c.Styles
	parts := []string{cache.Plural(len(a.spec.Apps), "app")}
	parts = append(parts, "cache "+sanitize.Text(tildePath(a.spec.CachePath)))
	syncing := 0
	for _, r := range a.rows {
		if r.running {
			syncing++
		}
	}
	if syncing > 0 {
		parts = append(parts, fmt.Sprintf("syncing %d of %d", syncing, len(a.spec.Apps)))
	} else if name, at := a.lastSynced(); !at.IsZero() {
		parts = append(parts, sanitize.Text(name)+" synced "+a.ago(at))
	}
	if a.c.ReadOnly {
		parts = append(parts, "read-only")
	}
	left := s.Title.Render("wxscope") + s.Dim.Render(" · "+strings.Join(parts, " · "))
	return spread(left, "", a.width)
}

// lastSynced is the app whose listing completed last, and when.
func (a *Apps) lastSynced() (string, time.Time) {
	var name string
	var at time.Time
	for _, app := range a.spec.Apps {
		if c, ok := a.cached[app.AppID]; ok && c.Sync.LastCompleteAt.After(at) {
			name, at = app.Name, c.Sync.LastCompleteAt
		}
	}
	return name, at
}

func (a *Apps) ago(t time.Time) string {
	d := a.c.Now().Sub(t)
	if d < time.Minute {
		return "just now"
	}
	return cache.FormatAge(d) + " ago"
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

// appsLayout is the width of each column; appid 0 hides it.
type appsLayout struct {
	name, appid, followers, cached, bound, union, last, sync int
}

func (a *Apps) layout() appsLayout {
	l := appsLayout{name: 3, followers: 9, cached: 9, bound: 5, union: 7, last: 11}
	for _, app := range a.spec.Apps {
		l.name = max(l.name, ansi.StringWidth(sanitize.Text(app.Name)))
		l.appid = max(l.appid, ansi.StringWidth(sanitize.Text(app.AppID)))
	}
	l.name = min(l.name, 16)
	fixed := func() int {
		w := markerW + l.name + l.followers + l.cached + l.bound + l.union + l.last + 7*len(gap)
		if l.appid > 0 {
			w += l.appid + len(gap)
		}
		return w
	}
	// The sync column needs room for its bar and numbers; the appid goes
	// first on a narrow terminal (it is in the Followers title too).
	if a.width-fixed() < 40 {
		l.appid = 0
	}
	l.sync = max(a.width-fixed(), 0)
	return l
}

func (a *Apps) headerLine(l appsLayout) string {
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", markerW))
	b.WriteString(cell("app", l.name))
	if l.appid > 0 {
		b.WriteString(gap + cell("appid", l.appid))
	}
	b.WriteString(gap + right("followers", l.followers))
	b.WriteString(gap + right("cached", l.cached))
	b.WriteString(gap + cell("bound", l.bound))
	b.WriteString(gap + right("unionid", l.union))
	b.WriteString(gap + cell("last sync", l.last))
	b.WriteString(gap + cell("sync", l.sync))
	return a.c.Styles.Header.Render(ansi.Truncate(b.String(), a.width, ""))
}

// right fits s to w cells, aligned right.
func right(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw >= w {
		return cell(s, w)
	}
	return strings.Repeat(" ", w-sw) + s
}

func (a *Apps) rowLine(l appsLayout, i int) string {
	s := a.c.Styles
	app, r := a.spec.Apps[i], a.rows[i]
	c, inCache := a.cached[app.AppID]
	selected := i == a.cursor

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

	total := c.Sync.Total
	if r.hasProg && r.prog.Total > 0 {
		total = r.prog.Total
	}
	followers := "—"
	if total > 0 || c.Sync.LastCompleteAt.After(time.Time{}) {
		followers = cache.FormatCount(total)
	}
	b.WriteString(gap + right(followers, l.followers))
	cached := "0"
	if inCache {
		cached = cache.FormatCount(c.Counts.Subscribed)
	}
	b.WriteString(gap + right(cached, l.cached))
	b.WriteString(gap + cell(a.boundLabel(app.AppID, c, inCache), l.bound))
	union := "—"
	if c.Counts.Subscribed > 0 {
		pct := math.Floor(100 * float64(c.Counts.WithUnionID) / float64(c.Counts.Subscribed))
		union = fmt.Sprintf("%d %%", int(pct))
	}
	b.WriteString(gap + right(union, l.union))
	last := "never"
	switch {
	case r.running:
		last = "running"
	case !c.Sync.LastCompleteAt.IsZero():
		last = a.ago(c.Sync.LastCompleteAt)
	}
	b.WriteString(gap + cell(last, l.last))
	b.WriteString(gap)
	head := b.String()
	syncText, kind := a.syncCell(i, l.sync)
	line := head + syncText
	switch {
	case selected:
		return s.Selected.Render(ansi.Truncate(line, a.width, ""))
	case kind == cellWarn:
		return head + s.Warn.Render(syncText)
	case kind == cellError:
		return head + s.Error.Render(syncText)
	case kind == cellDim:
		return head + s.Dim.Render(syncText)
	}
	return line
}

func (a *Apps) boundLabel(appID string, c cache.App, inCache bool) string {
	if l := a.appLinks(appID); l != nil && l.Bound {
		if l.Platform != "" {
			return l.Platform
		}
		return "yes"
	}
	if inCache && !c.Sync.LastCompleteAt.IsZero() {
		return "no"
	}
	if c.Counts.WithUnionID > 0 {
		return "yes"
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
func (a *Apps) syncCell(i, w int) (string, cellKind) {
	app, r := a.spec.Apps[i], a.rows[i]
	c := a.cached[app.AppID]
	fit := func(s string) string { return ansi.Truncate(s, w, "…") }
	if r.running {
		return fit(a.runningCell(r.prog, r.hasProg, w)), cellPlain
	}
	if r.ended {
		switch {
		case r.err == nil && a.unbound(app.AppID, c):
			return fit(a.barText(1, w) + " done · ⚠ not bound to an open platform"), cellWarn
		case r.err == nil:
			return fit(a.barText(1, w) + " done " + a.summary(r.prog)), cellPlain
		default:
			text, kind := a.stopText(r.err, r.prog.Listed, r.prog.Total, r.prog.QuotaResetAt)
			return fit(text), kind
		}
	}
	if c.Sync.InProgress && a.spec.OtherSync != nil {
		if h := a.spec.OtherSync(app.AppID); h != nil {
			return fit(fmt.Sprintf("syncing in %s: %s listed", sanitize.Text(h.String()), cache.FormatCount(c.Sync.Listed))), cellDim
		}
	}
	switch {
	case c.Sync.InProgress && !c.Sync.QuotaResetAt.IsZero():
		return fit(quotaText("user/get", c.Sync.QuotaResetAt)), cellWarn
	case c.Sync.InProgress && c.Sync.LastError != "":
		return fit("⚠ stopped: " + sanitize.Text(c.Sync.LastError) + " — s resumes"), cellError
	case c.Sync.InProgress:
		return fit(fmt.Sprintf("paused at %s of %s — s resumes", cache.FormatCount(c.Sync.Listed), cache.FormatCount(c.Sync.Total))), cellDim
	case c.Sync.LastCompleteAt.IsZero():
		return fit("s to sync"), cellDim
	}
	if a.unbound(app.AppID, c) {
		return fit("⚠ not bound to an open platform"), cellWarn
	}
	return fit(a.barText(1, w) + " done"), cellPlain
}

// unbound says the analysis found none of appID's followers with a unionid.
func (a *Apps) unbound(appID string, c cache.App) bool {
	l := a.appLinks(appID)
	return l != nil && !l.Bound && c.Counts.Subscribed > 0
}

// runningCell is "████░░ 59 %  1 840/s  ETA 4 s".
func (a *Apps) runningCell(p cache.Progress, has bool, w int) string {
	if !has {
		return a.barText(0, w) + " starting…"
	}
	f := p.Fraction()
	parts := []string{a.barText(f, w), fmt.Sprintf("%2d %%", int(f*100))}
	switch p.Phase {
	case cache.PhaseStarting:
		parts = append(parts, "starting")
	case cache.PhaseMarking:
		parts = append(parts, "marking unfollows")
	}
	if p.Rate > 0 {
		parts = append(parts, cache.FormatCount(int64(p.Rate))+"/s")
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
func (a *Apps) summary(p cache.Progress) string {
	s := cache.FormatCount(p.Fetched) + " fetched"
	if p.Skipped > 0 {
		s += ", " + cache.FormatCount(p.Skipped) + " fresh"
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
func (a *Apps) stopText(err error, listed, total int64, resetAt time.Time) (string, cellKind) {
	var qe *cache.QuotaError
	switch {
	case errors.As(err, &qe):
		if !qe.ResetAt.IsZero() {
			resetAt = qe.ResetAt
		}
		return quotaText(strings.TrimPrefix(qe.API, "cgi-bin/"), resetAt), cellWarn
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("stopped at %s of %s — s resumes", cache.FormatCount(listed), cache.FormatCount(total)), cellDim
	}
	return "⚠ " + sanitize.Text(err.Error()), cellError
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
func (a *Apps) barText(f float64, w int) string {
	bw := 16
	if w < 50 {
		bw = 8
	}
	bar := a.bar
	bar.SetWidth(bw)
	bar.FullColor, bar.EmptyColor = a.c.Styles.BarFull, a.c.Styles.BarEmpty
	return bar.ViewAs(f)
}

// formatDuration is a short duration: "4 s", "2 min 5 s", "3 h 10 min".
// Not cache.FormatAge, which keeps the largest unit only ("2 min"): right
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
func (a *Apps) below(n int) []string {
	if n <= 1 {
		return nil
	}
	s := a.c.Styles
	out := []string{s.Dim.Render(strings.Repeat("─", a.width))}
	if len(a.spec.Apps) > 0 {
		r := a.rows[a.cursor]
		if r.ended && r.err != nil && !errors.Is(r.err, context.Canceled) {
			msg := sanitize.Text(a.spec.Apps[a.cursor].Name) + ": " + sanitize.Text(r.err.Error())
			for _, l := range strings.Split(ansi.Wrap(msg, a.width, ""), "\n") {
				out = append(out, s.Error.Render(l))
			}
		}
	}
	switch {
	case a.linksErr != nil:
		out = append(out, s.Error.Render(ansi.Truncate(sanitize.Text(a.linksErr.Error()), a.width, "…")))
	case a.links == nil:
		out = append(out, s.Dim.Render("analysing the links…"))
	default:
		out = append(out, a.findingLines()...)
	}
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// findingLines lists the findings of the last analysis, the incomplete
// ones of apps syncing right now left out (their bar says it better).
func (a *Apps) findingLines() []string {
	s := a.c.Styles
	var fs []cache.Finding
	for _, f := range a.links.Findings {
		if f.Kind == cache.Incomplete && len(f.AppIDs) == 1 {
			if i := a.index(f.AppIDs[0]); i >= 0 && a.rows[i].running {
				continue
			}
		}
		fs = append(fs, f)
	}
	if len(fs) == 0 {
		if a.Syncing() {
			return []string{s.Dim.Render("findings come when the syncs end")}
		}
		return []string{s.Dim.Render("no findings: every app is bound to one open platform and synced")}
	}
	label := cache.Plural(len(fs), "finding")
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
		textW := max(a.width-len(pad)-2, 10)
		for j, l := range strings.Split(ansi.Wrap(sanitize.Text(f.Detail()), textW, ""), "\n") {
			if j == 0 {
				out = append(out, ansi.Truncate(lead+st.Render(mark)+l, a.width, "…"))
			} else {
				out = append(out, ansi.Truncate(pad+"  "+l, a.width, "…"))
			}
		}
	}
	return out
}
