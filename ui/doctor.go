package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/cache"
	"wxscope/sanitize"
	"wxscope/wording"
)

// Doctor shows what `wxscope doctor` finds: each finding with its evidence
// and what to do, and enter opens the followers or persons behind it.
type Doctor struct {
	c      *Common
	spec   LinksSpec
	keys   DoctorKeys
	width  int
	height int

	links  *cache.Links
	err    error
	cursor int
	offset int
	tops   []int // the body line of each finding, from the last View
	gen    int   // the analysis whose answer is taken; older ones are dropped
}

// doctorAnalyzedMsg is an analysis, addressed to the view that asked.
type doctorAnalyzedMsg struct {
	owner *Doctor
	gen   int
	keep  bool // a re-run after a sync: a failure keeps what is shown
	links *cache.Links
	err   error
}

func (m doctorAnalyzedMsg) Owner() Page { return m.owner }

// NewDoctor returns the Doctor view; it runs the analysis when pushed.
func NewDoctor(c *Common, spec LinksSpec) *Doctor {
	return &Doctor{c: c, spec: spec, keys: DefaultDoctorKeys()}
}

// Init implements Page.
func (d *Doctor) Init() tea.Cmd {
	if d.spec.Reader == nil {
		d.err = fmt.Errorf("no cache to examine")
		return nil
	}
	return d.analyze(false)
}

// analyze runs the analysis; keep leaves the findings shown until the new
// ones are in (a re-run after a sync), else the view says it is examining.
func (d *Doctor) analyze(keep bool) tea.Cmd {
	d.gen++
	ctx, src, gen := d.c.Ctx, d.spec.Reader, d.gen
	return func() tea.Msg {
		links, err := src.Analyze(ctx)
		return doctorAnalyzedMsg{owner: d, gen: gen, keep: keep, links: links, err: err}
	}
}

// SetSize implements Page.
func (d *Doctor) SetSize(width, height int) { d.width, d.height = width, height }

// KeyMap implements Page.
func (d *Doctor) KeyMap() help.KeyMap { return d.keys }

// CapturesInput implements Page.
func (d *Doctor) CapturesInput() bool { return false }

func (d *Doctor) findings() []cache.Finding {
	if d.links == nil {
		return nil
	}
	return d.links.Findings
}

// Update implements Page.
func (d *Doctor) Update(msg tea.Msg) tea.Cmd {
	n := len(d.findings())
	switch msg := msg.(type) {
	case doctorAnalyzedMsg:
		if msg.gen != d.gen || msg.keep && msg.err != nil && d.links != nil {
			return nil
		}
		d.links, d.err = msg.links, msg.err
		d.cursor = min(d.cursor, max(len(d.findings())-1, 0))
	case CacheChangedMsg:
		if d.spec.Reader != nil {
			return d.analyze(true)
		}
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			d.cursor = max(d.cursor-1, 0)
		case tea.MouseWheelDown:
			d.cursor = min(d.cursor+1, max(n-1, 0))
		}
	case tea.MouseClickMsg:
		if msg.Button != tea.MouseLeft {
			return nil
		}
		line := msg.Y - 1 + d.offset // the title takes line 0
		for i := len(d.tops) - 1; i >= 0; i-- {
			if line >= d.tops[i] {
				d.cursor = i
				break
			}
		}
	case tea.KeyPressMsg:
		k := d.keys
		switch {
		case key.Matches(msg, k.Back):
			return Pop()
		case key.Matches(msg, k.Up):
			d.cursor = max(d.cursor-1, 0)
		case key.Matches(msg, k.Down):
			d.cursor = min(d.cursor+1, max(n-1, 0))
		case key.Matches(msg, k.Refresh):
			d.links, d.err = nil, nil
			return d.Init()
		case key.Matches(msg, k.Copy):
			if d.cursor < n {
				if ex := d.findings()[d.cursor].Examples; len(ex) > 0 {
					return copyID(d.c, "id", ex[0])
				}
			}
			return Flash("this finding has no example id")
		case key.Matches(msg, k.Open):
			if d.cursor < n {
				return d.open(d.findings()[d.cursor])
			}
			return Flash("no finding here to open")
		default:
			return noKey(msg)
		}
	}
	return nil
}

// open shows what is behind a finding: an app's followers, or the persons
// of the Links view under the filter that makes the finding visible.
func (d *Doctor) open(f cache.Finding) tea.Cmd {
	if len(f.AppIDs) == 0 {
		return nil
	}
	app := f.AppIDs[0]
	links := func(filter GroupFilter) tea.Cmd {
		spec := d.spec
		spec.Filter = filter
		return Push(NewLinks(d.c, spec))
	}
	followers := func(sub FollowerSubset) tea.Cmd {
		if d.spec.Followers == nil {
			return Flash("the followers of " + sanitize.Text(strings.Join(f.Apps, ", ")) + " cannot be opened here")
		}
		return Push(d.spec.Followers(app, sub))
	}
	switch f.Kind {
	case cache.SeparatePlatform:
		// The persons of the other platforms than the smaller app's (listed
		// first): those who would link once it moves.
		return links(GroupFilter{Kind: GroupsOtherPlatform, App: app})
	case cache.Conflict:
		return links(GroupFilter{Kind: GroupsConflict, App: app})
	case cache.NoUnionID:
		return followers(SubsetNoUnionID)
	}
	return followers(SubsetAll) // unbound_app, stale, incomplete
}

// View implements Page.
func (d *Doctor) View() string {
	if d.width <= 0 || d.height <= 0 {
		return ""
	}
	s := d.c.Styles
	switch {
	case d.err != nil:
		return s.Title.Render("doctor") + "\n" + s.Error.Render(sanitize.Text(wording.Error(wording.TUI, "", d.err)))
	case d.links == nil:
		return s.Title.Render("doctor") + "\n" + s.Dim.Render("examining the cache…")
	}
	fs := d.findings()
	notes := 0
	for _, f := range fs {
		if f.Note {
			notes++
		}
	}
	counts := " · " + wording.Plural(len(fs)-notes, "finding")
	if notes > 0 {
		counts += " · " + wording.Plural(notes, "note")
	}
	title := s.Title.Render("doctor") + s.Dim.Render(counts)
	if len(fs) == 0 {
		return title + "\n" + s.Dim.Render("  nothing to report: every app is bound to one open platform, synced and fresh")
	}

	// The findings in the TUI's words: the key to press, not the command.
	texts := make([]wording.FindingText, len(fs))
	kindW, appsW := 4, 4
	for i := range fs {
		texts[i] = wording.Finding(wording.TUI, &fs[i])
		kindW = max(kindW, len(fs[i].Kind))
		appsW = max(appsW, ansi.StringWidth(sanitize.Text(texts[i].Subject)))
	}
	appsW = min(appsW, 24)
	indent := strings.Repeat(" ", 2+2+kindW+2+appsW+2)
	compact := d.width-len(indent) < 40 // narrow: the text goes under the head
	if compact {
		indent = strings.Repeat(" ", 4)
	}
	textW := max(d.width-len(indent), 20)

	var body []string
	d.tops = d.tops[:0]
	for i, f := range fs {
		d.tops = append(d.tops, len(body))
		mark := "⚠ "
		if f.Note {
			mark = "· "
		}
		cursor := "  "
		if i == d.cursor {
			cursor = "▸ "
		}
		t := texts[i]
		head := cursor + mark + cell(string(f.Kind), kindW) + gap + cell(sanitize.Text(t.Subject), appsW) + gap
		var block []string
		if compact {
			block = append(block, strings.TrimRight(head, " "))
		}
		// The apps column says the subject: the evidence goes on without it.
		for j, w := range strings.Split(ansi.Wrap(sanitize.Text(t.Seen), textW, ""), "\n") {
			if j == 0 && !compact {
				block = append(block, head+w)
			} else {
				block = append(block, indent+w)
			}
		}
		for _, w := range strings.Split(ansi.Wrap("→ "+sanitize.Text(t.Action), textW, ""), "\n") {
			block = append(block, indent+w)
		}
		if len(f.Examples) > 0 {
			ex := make([]string, len(f.Examples))
			for k, e := range f.Examples {
				ex[k] = sanitize.Text(e)
			}
			block = append(block, indent+s.Dim.Render(ansi.Truncate("e.g. "+strings.Join(ex, ", "), textW, "…")))
		}
		for j, l := range block {
			switch {
			case i == d.cursor:
				block[j] = s.Selected.Render(l)
			case f.Note:
				block[j] = s.Dim.Render(l)
			case j == 0:
				block[j] = s.Warn.Render(l)
			}
		}
		body = append(body, block...)
	}
	hint := s.Dim.Render("  enter shows the followers or persons behind a finding")
	body = append(body, "", hint)

	// Scroll so the finding under the cursor is whole on screen.
	h := max(d.height-1, 1)
	first := d.tops[d.cursor]
	last := len(body) - 1
	if d.cursor+1 < len(d.tops) {
		last = d.tops[d.cursor+1] - 1
	}
	// A finding taller than the screen shows its head.
	d.offset = scrollInto(d.offset, first, last, h, len(body))
	body = body[d.offset:min(d.offset+h, len(body))]
	return title + "\n" + strings.Join(body, "\n")
}
