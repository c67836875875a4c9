package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"wxscope/cache"
	"wxscope/sanitize"
	"wxscope/wording"
)

// runLinks prints the unionid groups across apps, optionally only those
// missing in one app. Groups stream from the unionid index in unionid
// order: only the current group is in memory, whatever the cache's size.
func runLinks(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "links")
	missing := c.fs.String("missing", "", "only the persons missing in the app named `APP`")
	format := c.fs.String("format", "table", "output `FORMAT`: table, csv or jsonl")
	if err := c.parseNoArgs(args); err != nil {
		return err
	}
	if err := oneOf("links", "format", *format, "table", "csv", "jsonl"); err != nil {
		return err
	}
	if err := c.load(); err != nil {
		return err
	}
	cfg := c.cfg
	missingID := ""
	if *missing != "" {
		apps, err := selectApps("links", cfg, []string{*missing})
		if err != nil {
			return err
		}
		missingID = apps[0].AppID
	}

	store, err := c.openCache("nothing synced yet, so there are no links; run wxscope sync")
	if err != nil {
		return err
	}
	defer store.Close()

	refs := appRefs(cfg)
	apps, err := store.Apps()
	if err != nil {
		return err
	}
	bound := map[string]bool{}
	for _, a := range apps {
		bound[a.AppID] = a.Counts.WithUnionID > 0
	}
	if missingID != "" && !bound[missingID] {
		fmt.Fprintf(env.Stderr, "wxscope: %s is not bound to an open platform (none of its cached followers carries a unionid), so no person can be missing there; see wxscope doctor\n", *missing)
	}

	// As export: damage is found before the first line, not half-way.
	if err := store.Verify(); err != nil {
		return err
	}
	out := bufio.NewWriterSize(env.Stdout, 64<<10)
	var w groupWriter
	switch *format {
	case "jsonl":
		w = &jsonlGroups{w: out, refs: refs}
	case "csv":
		w = &csvGroups{w: csv.NewWriter(out), refs: refs, cell: csvCell(env.StdoutTTY)}
	default:
		var cols []cache.AppRef
		var hidden []string
		for _, r := range refs {
			if bound[r.AppID] {
				cols = append(cols, r)
			} else {
				hidden = append(hidden, r.Label())
			}
		}
		w = &tableGroups{w: out, refs: refs, cols: cols, hidden: hidden}
	}
	if err := w.header(); err != nil {
		return err
	}
	var shown, total int64
	err = cache.EachGroup(store, refs, func(g *cache.Group) error {
		total++
		if missingID != "" && !slices.Contains(g.Missing, missingID) {
			return nil
		}
		if total%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		shown++
		return w.group(g)
	})
	if err != nil {
		return fmt.Errorf("links: %w", err)
	}
	if err := w.footer(shown, total, *missing); err != nil {
		return err
	}
	return out.Flush()
}

// groupWriter writes groups in one of the formats.
type groupWriter interface {
	header() error
	group(g *cache.Group) error
	footer(shown, total int64, missing string) error
}

// jsonlGroups writes the contract's JSON lines: {"unionid","members":
// {"APP":"openid",...},"missing":["APP",...]}, members in the order of the
// configuration. A unionid with two openids in one app (a conflict) keeps
// the first in members and lists all under "conflicts".
type jsonlGroups struct {
	w    *bufio.Writer
	refs []cache.AppRef
	buf  []byte
}

func (j *jsonlGroups) header() error { return nil }

func (j *jsonlGroups) group(g *cache.Group) error {
	b := append(j.buf[:0], `{"unionid":`...)
	b = appendJSONString(b, g.UnionID)
	b = append(b, `,"members":{`...)
	var conflicts map[string][]string
	for i, m := range g.Members {
		if i > 0 && g.Members[i-1].AppID == m.AppID {
			if conflicts == nil {
				conflicts = map[string][]string{}
			}
			name := nameOf(j.refs, m.AppID)
			if len(conflicts[name]) == 0 {
				conflicts[name] = []string{g.Members[i-1].OpenID}
			}
			conflicts[name] = append(conflicts[name], m.OpenID)
			continue
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, nameOf(j.refs, m.AppID))
		b = append(b, ':')
		b = appendJSONString(b, m.OpenID)
	}
	b = append(b, `},"missing":[`...)
	for i, id := range g.Missing {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, nameOf(j.refs, id))
	}
	b = append(b, ']')
	if conflicts != nil {
		c, err := json.Marshal(conflicts)
		if err != nil {
			return err
		}
		b = append(b, `,"conflicts":`...)
		b = append(b, c...)
	}
	b = append(b, "}\n"...)
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonlGroups) footer(int64, int64, string) error { return nil }

// appendJSONString appends s as a JSON string. Ids and app names are
// plain, so the fast path is a copy; anything else goes through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// csvGroups writes one row per unionid: the unionid, one column per
// configured app with its openid (several, space separated, in a
// conflict), and the apps the person is missing in. Every cell crosses
// cell (csvCell).
type csvGroups struct {
	w    *csv.Writer
	refs []cache.AppRef
	row  []string
	cell func(string) string
}

// csvCell is what a CSV text cell goes through: the formula defusing every
// export does, and on a terminal the sanitiser too; in a file or a pipe
// the bytes stay as the API sent them (export does the same).
func csvCell(tty bool) func(string) string {
	if tty {
		return func(s string) string { return sanitize.CSVCell(sanitize.Text(s)) }
	}
	return sanitize.CSVCell
}

func (c *csvGroups) header() error {
	h := []string{"unionid"}
	for _, r := range c.refs {
		h = append(h, c.cell(r.Label()))
	}
	return c.w.Write(append(h, "missing"))
}

func (c *csvGroups) group(g *cache.Group) error {
	c.row = append(c.row[:0], c.cell(g.UnionID))
	for _, r := range c.refs {
		c.row = append(c.row, c.cell(openIDsIn(g, r.AppID)))
	}
	var miss []string
	for _, id := range g.Missing {
		miss = append(miss, nameOf(c.refs, id))
	}
	return c.w.Write(append(c.row, c.cell(strings.Join(miss, " "))))
}

func (c *csvGroups) footer(int64, int64, string) error {
	c.w.Flush()
	return c.w.Error()
}

func openIDsIn(g *cache.Group, appid string) string {
	var ids []string
	for _, m := range g.Members {
		if m.AppID == appid {
			ids = append(ids, m.OpenID)
		}
	}
	return strings.Join(ids, " ")
}

// tableGroups writes an aligned table for people: one column per bound app
// holding the whole openid (support copies them) or · where the person is
// missing. Columns have fixed widths, so rows stream without buffering.
// Every id and name crosses sanitize.Text: they came from the API or the
// cache, and are printed on a terminal.
type tableGroups struct {
	w      *bufio.Writer
	refs   []cache.AppRef
	cols   []cache.AppRef
	hidden []string // unbound apps: nobody can be found there by unionid
}

func colWidth(r cache.AppRef) int { return max(idLen, len(r.Label())) }

func (t *tableGroups) header() error {
	fmt.Fprintf(t.w, "%-*s", idLen, "unionid")
	for _, c := range t.cols {
		fmt.Fprintf(t.w, "  %-*s", colWidth(c), sanitize.Text(c.Label()))
	}
	_, err := fmt.Fprintln(t.w, "  missing in")
	return err
}

func (t *tableGroups) group(g *cache.Group) error {
	fmt.Fprintf(t.w, "%-*s", idLen, sanitize.Text(g.UnionID))
	for _, c := range t.cols {
		cell := sanitize.Text(openIDsIn(g, c.AppID))
		if cell == "" {
			cell = "·"
		}
		fmt.Fprintf(t.w, "  %-*s", colWidth(c), cell)
	}
	var miss []string
	for _, id := range g.Missing {
		miss = append(miss, nameOf(t.refs, id))
	}
	_, err := fmt.Fprintln(t.w, "  "+sanitize.Text(strings.Join(miss, ", ")))
	return err
}

func (t *tableGroups) footer(shown, total int64, missing string) error {
	fmt.Fprintf(t.w, "\n%s persons with a unionid", wording.FormatCount(total))
	if missing != "" {
		fmt.Fprintf(t.w, " · %s missing in %s", wording.FormatCount(shown), sanitize.Text(missing))
	}
	fmt.Fprintln(t.w, " (· the app is bound, but this person is not there)")
	if len(t.hidden) > 0 {
		fmt.Fprintf(t.w, "not shown: %s (not bound or no followers: no unionid to link by; see wxscope doctor)\n", sanitize.Text(strings.Join(t.hidden, ", ")))
	}
	return nil
}
