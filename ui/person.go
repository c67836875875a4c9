package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/cache"
	"wxscope/sanitize"
	"wxscope/wording"
)

// Person shows one person across every app: each openid with every field
// the cache holds, and for each app without one, why.
type Person struct {
	c      *Common
	person *cache.Person
	rows   []personRow
	keys   PersonKeys
	width  int
	height int
	cursor int
	offset int

	tags  map[string]*cache.TagList // appid → its tags, once read
	black map[*cache.Profile]bool   // on its app's blacklist
}

// personListsMsg carries the tags and blacklist marks of a Person's
// profiles.
type personListsMsg struct {
	owner *Person
	tags  map[string]*cache.TagList
	black map[*cache.Profile]bool
	err   error
}

func (m personListsMsg) Owner() Page { return m.owner }

// personRow is one line of the view: a profile of the person in an app (two
// in a conflict), or an app without one.
type personRow struct {
	app      int            // in Person.Apps
	profile  *cache.Profile // nil: the app has none, and its Reason says why
	lastSeen int64          // an imported member's last_seen, 0 when unknown
}

// NewPerson returns the Person view over what the cache knows of p: one row
// per profile, and one per app without a profile.
func NewPerson(c *Common, p *cache.Person) *Person {
	v := &Person{c: c, person: p, keys: DefaultPersonKeys()}
	for i := range p.Apps {
		a := &p.Apps[i]
		for j := range a.Profiles {
			row := personRow{app: i, profile: &a.Profiles[j]}
			if j < len(a.LastSeen) {
				row.lastSeen = a.LastSeen[j]
			}
			v.rows = append(v.rows, row)
		}
		if len(a.Profiles) == 0 {
			v.rows = append(v.rows, personRow{app: i})
		}
	}
	// Opened on an openid (a jump, a follower's row), the cursor starts on
	// that openid's app: the one support asked about.
	for i, r := range v.rows {
		if r.profile != nil && r.profile.OpenID == p.Query {
			v.cursor = i
			break
		}
	}
	return v
}

// Init implements Page: it reads the tag names and the blacklist marks of
// the person's profiles.
func (p *Person) Init() tea.Cmd {
	lists := p.c.Lists
	if lists == nil {
		return nil
	}
	ctx, rows := p.c.Ctx, p.rows
	return func() tea.Msg {
		m := personListsMsg{owner: p, tags: map[string]*cache.TagList{}, black: map[*cache.Profile]bool{}}
		for _, r := range rows {
			pr := r.profile
			if pr == nil {
				continue
			}
			if _, ok := m.tags[pr.AppID]; !ok && len(pr.TagIDs) > 0 {
				l, err := lists.Tags(ctx, pr.AppID)
				if err != nil {
					m.err = err
					return m
				}
				m.tags[pr.AppID] = &l
			}
			on, err := lists.Blacklisted(ctx, pr.AppID, pr.OpenID)
			if err != nil {
				m.err = err
				return m
			}
			m.black[pr] = on
		}
		return m
	}
}

// SetSize implements Page.
func (p *Person) SetSize(width, height int) { p.width, p.height = width, height }

// KeyMap implements Page.
func (p *Person) KeyMap() help.KeyMap { return p.keys }

// CapturesInput implements Page.
func (p *Person) CapturesInput() bool { return false }

// Update implements Page.
func (p *Person) Update(msg tea.Msg) tea.Cmd {
	if m, ok := msg.(personListsMsg); ok {
		if m.err != nil {
			if isCanceled(m.err) {
				return nil
			}
			return FlashError(fmt.Errorf("tag names and the blacklist are not shown: %w", m.err))
		}
		p.tags, p.black = m.tags, m.black
		return nil
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, p.keys.Up):
		p.cursor = max(p.cursor-1, 0)
	case key.Matches(k, p.keys.Down):
		p.cursor = min(p.cursor+1, max(len(p.rows)-1, 0))
	case key.Matches(k, p.keys.Copy):
		if p.cursor < len(p.rows) {
			if pr := p.rows[p.cursor].profile; pr != nil {
				return copyID(p.c, "openid", pr.OpenID)
			}
		}
		return Flash("no openid in this app")
	case key.Matches(k, p.keys.CopyUnionID):
		return copyID(p.c, "unionid", p.person.UnionID)
	case key.Matches(k, p.keys.Back):
		return Pop()
	case k.String() == "enter":
		return Flash("enter: nothing opens from here · y copies the openid, Y the unionid, esc goes back")
	default:
		return noKey(k)
	}
	return nil
}

// View implements Page.
func (p *Person) View() string {
	if p.width <= 0 || p.height <= 0 {
		return ""
	}
	s := p.c.Styles
	title := "person · unionid " + sanitize.Text(p.person.UnionID)
	if p.person.UnionID == "" {
		title = "person · openid " + sanitize.Text(p.person.Query) + " · no unionid"
	}
	lines := []string{s.Title.Render(ansi.Truncate(title, p.width, "…"))}
	if len(p.rows) == 0 {
		return lines[0] + "\n" + s.Dim.Render("  no app knows this id")
	}

	appW, idW := 3, 1
	for _, m := range p.rows {
		appW = max(appW, ansi.StringWidth(sanitize.Text(p.person.Apps[m.app].Label())))
		if m.profile != nil {
			idW = max(idW, ansi.StringWidth(sanitize.Text(m.profile.OpenID)))
		}
	}
	if markerW+appW+len(gap)+idW+len(gap)+30 > p.width {
		// The details go under the head: the openid, what support came
		// for, may take the line.
		idW = min(idW, max(p.width-markerW-appW-len(gap), idMin))
	}

	type block struct{ first, last int }
	blocks := make([]block, len(p.rows))
	for i, m := range p.rows {
		marker := "  "
		if i == p.cursor {
			marker = "▸ "
		}
		id := "—"
		if m.profile != nil {
			id = sanitize.Text(m.profile.OpenID)
		}
		head := marker + cell(sanitize.Text(p.person.Apps[m.app].Label()), appW) + gap + cell(id, idW) + gap
		detail := p.detail(m)
		indent := strings.Repeat(" ", markerW+appW+len(gap))
		var rows []string
		if hw := ansi.StringWidth(head); hw+ansi.StringWidth(unbreak(detail)) <= p.width {
			rows = []string{head + unbreak(detail)}
		} else if p.width-hw >= 30 {
			// The detail wraps in its own column, beside the openid.
			pad := strings.Repeat(" ", hw)
			for j, w := range wrapDetail(detail, p.width-hw) {
				if j == 0 {
					rows = append(rows, head+w)
				} else {
					rows = append(rows, pad+w)
				}
			}
		} else {
			rows = []string{head}
			for _, w := range wrapDetail(detail, max(p.width-len(indent), 10)) {
				rows = append(rows, indent+w)
			}
		}
		blocks[i] = block{len(lines), len(lines) + len(rows) - 1}
		for _, r := range rows {
			switch {
			case i == p.cursor:
				r = s.Selected.Render(r)
			case m.profile == nil:
				r = s.Dim.Render(r)
			case m.profile.UnfollowedAt != 0:
				r = s.Unfollowed.Render(r)
			}
			lines = append(lines, r)
		}
	}

	// Scroll so the member under the cursor is whole on screen; one taller
	// than the screen shows its head, where the cursor is.
	body, rest := p.height-1, lines[1:]
	b := blocks[min(p.cursor, len(blocks)-1)]
	p.offset = scrollInto(p.offset, b.first-1, b.last-1, body, len(rest))
	rest = rest[p.offset:min(p.offset+body, len(rest))]
	return strings.Join(append(lines[:1], rest...), "\n")
}

// detail is everything after the openid for one row: the profile's fields,
// or why the app has none, in the TUI's words.
func (p *Person) detail(m personRow) string {
	if m.profile == nil {
		return sanitize.Text(wording.Absence(wording.TUI, p.person, m.app))
	}
	if app := &p.person.Apps[m.app]; !app.IsOfficial() {
		return p.memberDetail(app, m)
	}
	pr := m.profile
	var parts []string
	since := p.when(pr.SubscribeTime) + sceneDetail(pr)
	switch {
	case pr.UnfollowedAt != 0:
		s := "unfollowed " + p.when(pr.UnfollowedAt)
		if pr.SubscribeTime != 0 {
			s += " · had followed since " + since
		}
		parts = append(parts, s)
	case !pr.Subscribed:
		parts = append(parts, "not following")
	case pr.SubscribeTime != 0:
		parts = append(parts, "following since "+since)
	default:
		parts = append(parts, "following")
	}
	if p.black[pr] {
		parts = append(parts, "⊘ blacklisted")
	}
	if len(pr.TagIDs) > 0 {
		var l cache.TagList // before the names are read: the numbers
		if t := p.tags[pr.AppID]; t != nil {
			l = *t
		}
		tags := l.Names(pr.TagIDs)
		for i, t := range tags {
			tags[i] = sanitize.Text(t)
		}
		parts = append(parts, "tags "+strings.Join(tags, ", "))
	}
	if pr.GroupID != 0 {
		parts = append(parts, fmt.Sprintf("group %d", pr.GroupID))
	}
	// A remark that was only control characters or escape sequences has
	// nothing left to show once sanitised: no `remark ""`.
	if r := sanitize.Text(pr.Remark); strings.TrimSpace(r) != "" {
		parts = append(parts, `remark "`+r+`"`)
	}
	if pr.UnionID == "" && p.person.UnionID == "" {
		parts = append(parts, "no unionid")
	}
	if pr.UnionID != "" && pr.UnionID != p.person.UnionID {
		parts = append(parts, "unionid "+sanitize.Text(pr.UnionID))
	}
	if pr.FetchedAt != 0 {
		parts = append(parts, "as of "+p.when(pr.FetchedAt))
	}
	return strings.Join(parts, " · ")
}

// memberDetail is the detail of an imported app's member: its kind, since
// when it is a member (first_seen) or when it left the import, and when it
// was last seen.
func (p *Person) memberDetail(app *cache.PersonApp, m personRow) string {
	pr := m.profile
	parts := []string{wording.Kind(app.Kind)}
	since := ""
	if pr.SubscribeTime != 0 {
		since = " since " + p.when(pr.SubscribeTime)
	}
	if pr.UnfollowedAt != 0 {
		s := "left its import " + p.when(pr.UnfollowedAt)
		if since != "" {
			s += " · had been a member" + since
		}
		parts = append(parts, s)
	} else {
		parts = append(parts, "member"+since)
	}
	if m.lastSeen != 0 {
		parts = append(parts, "last seen "+p.when(m.lastSeen))
	}
	if pr.UnionID == "" && p.person.UnionID == "" {
		parts = append(parts, "no unionid")
	}
	if pr.UnionID != "" && pr.UnionID != p.person.UnionID {
		parts = append(parts, "unionid "+sanitize.Text(pr.UnionID))
	}
	return strings.Join(parts, " · ")
}

// sceneDetail is " (QR_CODE, scene 1001)" or "" when no scene is known.
func sceneDetail(pr *cache.Profile) string {
	var in []string
	if pr.SubscribeScene != "" {
		in = append(in, sceneLabel(pr.SubscribeScene))
	}
	switch {
	case pr.QRSceneStr != "":
		in = append(in, `scene "`+sanitize.Text(pr.QRSceneStr)+`"`)
	case pr.QRScene != 0:
		in = append(in, "scene "+strconv.FormatInt(pr.QRScene, 10))
	}
	if len(in) == 0 {
		return ""
	}
	return " (" + strings.Join(in, ", ") + ")"
}

// when is a time as the view shows it; its hyphens and the space between
// the date and the time do not break until the line is laid out
// (wrapDetail, unbreak), so a narrow screen never splits them.
func (p *Person) when(unix int64) string {
	if unix == 0 {
		return "an unknown time"
	}
	return strings.ReplaceAll(time.Unix(unix, 0).In(p.c.Loc).Format("2006-01-02"), "-", nbhyphen) + nbsp +
		time.Unix(unix, 0).In(p.c.Loc).Format("15:04")
}

// nbsp and nbhyphen keep a date and its time in one piece through
// ansi.Wrap, which breaks lines at spaces and hyphens.
const (
	nbsp     = "\u00a0"
	nbhyphen = "\u2011"
)

// unbreak turns the no-break spaces and hyphens of a laid-out line back
// into plain ones.
func unbreak(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, nbsp, " "), nbhyphen, "-")
}

// wrapDetail lays a detail out in lines of width cells, breaking between
// its " · " parts where it can and inside a part only when the part alone
// is wider than the line; a date and its time stay together.
func wrapDetail(detail string, width int) []string {
	var out []string
	line := ""
	for i, part := range strings.Split(detail, " · ") {
		switch {
		case i == 0:
			line = part
		case ansi.StringWidth(line)+3+ansi.StringWidth(part) <= width:
			line += " · " + part
		default:
			out = append(out, line+" ·")
			line = part
		}
	}
	out = append(out, line)
	var lines []string
	for _, l := range out {
		for _, w := range wrapWords(l, width) {
			lines = append(lines, unbreak(w))
		}
	}
	return lines
}
