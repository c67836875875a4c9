package ui

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"wxscope/sanitize"
)

// The Followers view's export (e) and title helper: the rows as
// shown — subset, filter, sort and the unfollowed toggle — go to a CSV or a
// JSON-lines file in a tea.Cmd, so a million rows never block the screen.

// exportKeys are live while the export prompt has the input.
var exportKeys = JumpKeys{
	Go:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "write the file")),
	Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
}

// exportDoneMsg reports a finished export to the view that started it.
type exportDoneMsg struct {
	owner *Followers
	path  string
	rows  int
	err   error
}

// viewTitle says what the view shows: app, subset and filter.
func (f *Followers) viewTitle() string {
	t := f.spec.App + " › followers"
	if l := f.spec.Subset.label(); l != "" {
		t += " · only " + l
	}
	if f.query != "" {
		t += fmt.Sprintf(" · filter %q", f.query)
	}
	return t
}

// defaultExportName is "news-followers-20240601.csv", or with -2, -3 … when
// that file exists already.
func (f *Followers) defaultExportName() string {
	app := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' || r == ' ' {
			return '_'
		}
		return r
	}, sanitize.Text(f.spec.App))
	base := app + "-followers-" + f.c.Now().In(f.c.Loc).Format("20060102")
	name := base + ".csv"
	for i := 2; i < 100; i++ {
		if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
			break
		}
		name = base + "-" + strconv.Itoa(i) + ".csv"
	}
	return name
}

func (f *Followers) startExport() {
	f.exporting = true
	f.exportIn = lineInput{prompt: "export to ", limit: 1024, width: max(f.width-50, 20)}
	f.exportIn.set(f.defaultExportName())
	f.clampCursor()
}

func (f *Followers) handleExportKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, exportKeys.Cancel):
		f.exporting = false
		return nil
	case key.Matches(msg, exportKeys.Go):
		name := strings.TrimSpace(f.exportIn.get())
		f.exporting = false
		if name == "" {
			return nil
		}
		return tea.Batch(Flash("exporting "+formatCount(len(f.rows))+" rows…"), f.export(name))
	}
	f.exportIn.update(msg)
	return nil
}

func (f *Followers) exportLine() string {
	s := f.c.Styles
	return f.exportIn.view(s.Prompt, s.Cursor) + "  " +
		s.Dim.Render(formatCount(len(f.rows))+" rows as shown · .csv or .jsonl · enter write · esc cancel")
}

func (f *Followers) exportDone(m exportDoneMsg) tea.Cmd {
	if m.err != nil {
		return FlashError(m.err)
	}
	return Flash("exported " + formatCount(m.rows) + " rows to " + sanitize.Text(m.path))
}

// export returns the command that writes the rows now shown to name.
func (f *Followers) export(name string) tea.Cmd {
	w := viewExport{
		app: f.spec.App, appID: f.spec.AppID, idx: f.idx, rows: f.rows,
		others: f.spec.Others, presence: f.spec.Presence, loc: f.c.Loc,
		unfollowed: f.showUnfollowed,
	}
	owner := f
	return func() tea.Msg {
		path, err := expandPath(name)
		if err != nil {
			return exportDoneMsg{owner: owner, err: err}
		}
		n, err := w.writeFile(path)
		return exportDoneMsg{owner: owner, path: path, rows: n, err: err}
	}
}

func expandPath(name string) (string, error) {
	if rest, ok := strings.CutPrefix(name, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("export: where is ~? %w", err)
		}
		name = filepath.Join(home, rest)
	}
	return filepath.Abs(name)
}

// viewExport is what an export needs from the view, copied so the write can
// run while the view changes: the index and the row slice are never
// modified in place.
type viewExport struct {
	app, appID string
	idx        *FollowerIndex
	rows       []uint32
	others     []OtherApp
	presence   Presence
	loc        *time.Location
	unfollowed bool
}

// writeFile writes a new file (never over an existing one) and removes it
// again when the write fails half way.
func (w viewExport) writeFile(path string) (int, error) {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return 0, fmt.Errorf("export: %s exists already; choose another name", path)
		}
		return 0, fmt.Errorf("export to %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(file, 1<<16)
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".jsonl" || ext == ".json" || ext == ".ndjson" {
		err = w.jsonl(bw)
	} else {
		err = w.csv(bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, fmt.Errorf("export to %s: %w", path, err)
	}
	return len(w.rows), nil
}

func (w viewExport) presenceWord(app OtherApp, unionid string) string {
	switch presenceOf(app, w.presence, unionid) {
	case PresencePresent:
		return "yes"
	case PresenceMissing:
		return "no"
	}
	return ""
}

func (w viewExport) time(unix int64) string {
	if unix == 0 {
		return ""
	}
	return time.Unix(unix, 0).In(w.loc).Format(time.RFC3339)
}

// csv writes a header and one line per row, every cell formula-safe
// (a remark like =HYPERLINK(…) is not run by a spreadsheet).
func (w viewExport) csv(out io.Writer) error {
	cw := csv.NewWriter(out)
	head := []string{"openid", "unionid", "subscribe_time", "subscribe_scene"}
	for _, o := range w.others {
		head = append(head, "in_"+o.Name)
	}
	head = append(head, "remark")
	if w.unfollowed {
		head = append(head, "unfollowed_at")
	}
	for i := range head {
		head[i] = sanitize.CSVCell(head[i])
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	rec := make([]string, 0, len(head))
	for _, r := range w.rows {
		row := w.idx.Row(int(r))
		rec = append(rec[:0], row.OpenID, row.UnionID, w.time(row.FollowedAt), row.Scene)
		for _, o := range w.others {
			rec = append(rec, w.presenceWord(o, row.UnionID))
		}
		rec = append(rec, row.Remark)
		if w.unfollowed {
			rec = append(rec, w.time(row.UnfollowedAt))
		}
		for i := range rec {
			rec[i] = sanitize.CSVCell(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// exportLine is one JSON line; the field names follow `wxscope export`.
type exportLine struct {
	App            string            `json:"app"`
	AppID          string            `json:"appid"`
	OpenID         string            `json:"openid"`
	UnionID        string            `json:"unionid"`
	SubscribeTime  int64             `json:"subscribe_time"`
	SubscribeScene string            `json:"subscribe_scene"`
	Remark         string            `json:"remark"`
	UnfollowedAt   int64             `json:"unfollowed_at"`
	In             map[string]string `json:"in,omitempty"` // app → yes, no, "" (cannot tell)
}

func (w viewExport) jsonl(out io.Writer) error {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false) // remarks stay readable, as in `wxscope export`
	for _, r := range w.rows {
		row := w.idx.Row(int(r))
		l := exportLine{App: w.app, AppID: w.appID, OpenID: row.OpenID, UnionID: row.UnionID,
			SubscribeTime: row.FollowedAt, SubscribeScene: row.Scene, Remark: row.Remark,
			UnfollowedAt: row.UnfollowedAt}
		if len(w.others) > 0 {
			l.In = make(map[string]string, len(w.others))
			for _, o := range w.others {
				l.In[o.Name] = w.presenceWord(o, row.UnionID)
			}
		}
		if err := enc.Encode(&l); err != nil {
			return err
		}
	}
	return nil
}
