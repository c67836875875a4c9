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
)

// Person shows one person across every app: each openid with every field
// the cache holds, and for each app without one, why.
type Person struct {
	c      *Common
	data   PersonData
	keys   PersonKeys
	width  int
	height int
	cursor int
	offset int
}

// NewPerson returns the Person view over data.
func NewPerson(c *Common, data PersonData) *Person {
	return &Person{c: c, data: data, keys: DefaultPersonKeys()}
}

// Init implements Page.
func (p *Person) Init() tea.Cmd { return nil }

// SetSize implements Page.
func (p *Person) SetSize(width, height int) { p.width, p.height = width, height }

// KeyMap implements Page.
func (p *Person) KeyMap() help.KeyMap { return p.keys }

// CapturesInput implements Page.
func (p *Person) CapturesInput() bool { return false }

// Update implements Page.
func (p *Person) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, p.keys.Up):
		p.cursor = max(p.cursor-1, 0)
	case key.Matches(k, p.keys.Down):
		p.cursor = min(p.cursor+1, max(len(p.data.Members)-1, 0))
	case key.Matches(k, p.keys.Copy):
		if p.cursor < len(p.data.Members) {
			if pr := p.data.Members[p.cursor].Profile; pr != nil {
				return copyID(p.c, "openid", pr.OpenID)
			}
		}
		return Flash("no openid in this app")
	case key.Matches(k, p.keys.CopyUnionID):
		return copyID(p.c, "unionid", p.data.UnionID)
	case key.Matches(k, p.keys.Back):
		return Pop()
	}
	return nil
}

// View implements Page.
func (p *Person) View() string {
	if p.width <= 0 || p.height <= 0 {
		return ""
	}
	s := p.c.Styles
	title := "person · unionid " + sanitize.Text(p.data.UnionID)
	if p.data.UnionID == "" {
		title = "person · openid " + sanitize.Text(p.data.Query) + " · no unionid"
	}
	lines := []string{s.Title.Render(ansi.Truncate(title, p.width, "…"))}
	if len(p.data.Members) == 0 {
		return lines[0] + "\n" + s.Dim.Render("  no app knows this id")
	}

	appW, idW := 3, 1
	for _, m := range p.data.Members {
		appW = max(appW, ansi.StringWidth(sanitize.Text(m.App)))
		if m.Profile != nil {
			idW = max(idW, ansi.StringWidth(sanitize.Text(m.Profile.OpenID)))
		}
	}
	idW = min(idW, max(p.width/3, idMin))

	type block struct{ first, last int }
	blocks := make([]block, len(p.data.Members))
	for i, m := range p.data.Members {
		marker := "  "
		if i == p.cursor {
			marker = "▸ "
		}
		id := "—"
		if m.Profile != nil {
			id = sanitize.Text(m.Profile.OpenID)
		}
		head := marker + cell(sanitize.Text(m.App), appW) + gap + cell(id, idW) + gap
		detail := p.detail(m)
		indent := strings.Repeat(" ", markerW+appW+len(gap))
		var rows []string
		if hw := ansi.StringWidth(head); hw+ansi.StringWidth(detail) <= p.width {
			rows = []string{head + detail}
		} else if p.width-hw >= 30 {
			// The detail wraps in its own column, beside the openid.
			pad := strings.Repeat(" ", hw)
			for j, w := range strings.Split(ansi.Wrap(detail, p.width-hw, ""), "\n") {
				if j == 0 {
					rows = append(rows, head+w)
				} else {
					rows = append(rows, pad+w)
				}
			}
		} else {
			rows = []string{head}
			wrapped := ansi.Wrap(detail, max(p.width-len(indent), 10), "")
			for _, w := range strings.Split(wrapped, "\n") {
				rows = append(rows, indent+w)
			}
		}
		blocks[i] = block{len(lines), len(lines) + len(rows) - 1}
		for _, r := range rows {
			switch {
			case i == p.cursor:
				r = s.Selected.Render(r)
			case m.Profile == nil:
				r = s.Dim.Render(r)
			case m.Profile.UnfollowedAt != 0:
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

// detail is everything after the openid for one member.
func (p *Person) detail(m PersonMember) string {
	app := sanitize.Text(m.App)
	if m.Profile == nil {
		d := sanitize.Text(m.Detail)
		switch m.Missing {
		case NotFollowing:
			return "does not follow " + app
		case AppNotBound:
			return app + " is not bound: its followers carry no unionid, so this person cannot be found there by unionid"
		case OtherPlatform:
			platform := "another open platform"
			if d != "" {
				platform += " (" + d + ")"
			}
			return "not there under this unionid; " + app + " is bound to " + platform +
				", where this person would have another unionid"
		case NoUnionID:
			if d != "" {
				return "cannot tell: " + d
			}
			return "cannot tell: this follower carries no unionid, so its openid in " + app + " cannot be found"
		case NotYetSynced:
			if d != "" {
				return "not known yet: " + app + " is not fully synced (" + d + ")"
			}
			return "not known yet: " + app + " is not fully synced"
		}
		if d != "" {
			return "no openid in " + app + " (" + d + ")"
		}
		return "no openid in " + app
	}
	pr := m.Profile
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
	if len(pr.TagIDs) > 0 {
		tags := make([]string, len(pr.TagIDs))
		for i, t := range pr.TagIDs {
			tags[i] = strconv.FormatInt(t, 10)
		}
		parts = append(parts, "tags "+strings.Join(tags, ", "))
	}
	if pr.GroupID != 0 {
		parts = append(parts, fmt.Sprintf("group %d", pr.GroupID))
	}
	if pr.Remark != "" {
		parts = append(parts, `remark "`+sanitize.Text(pr.Remark)+`"`)
	}
	if pr.UnionID == "" && p.data.UnionID == "" {
		parts = append(parts, "no unionid")
	}
	if pr.UnionID != "" && pr.UnionID != p.data.UnionID {
		parts = append(parts, "unionid "+sanitize.Text(pr.UnionID))
	}
	if pr.FetchedAt != 0 {
		parts = append(parts, "as of "+p.when(pr.FetchedAt))
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

func (p *Person) when(unix int64) string {
	if unix == 0 {
		return "an unknown time"
	}
	return time.Unix(unix, 0).In(p.c.Loc).Format("2006-01-02 15:04")
}
