package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/export"
	"wxscope/sanitize"
	"wxscope/wording"
)

// The Followers view's export (e) and title helper. The export
// writes the rows as shown — subset, filter, sort and the unfollowed
// toggle — in the one export format of `wxscope export` (package export:
// the same columns, unix seconds), read fresh from the cache, into a new
// file in the user's Downloads folder by default. It runs in one tea.Cmd
// that writes the file and returns one FlashMsg with the result.

// exportKeys are live while the export prompt has the input.
var exportKeys = JumpKeys{
	Go:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "write the file")),
	Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
}

// viewTitle says what the view shows: app, subset and filter.
func (f *Followers) viewTitle() string {
	t := f.spec.App + " › " + f.people()
	if l := f.spec.Subset.label(); l != "" {
		t += " · only " + l
	}
	if f.query != "" {
		t += fmt.Sprintf(" · filter %q", f.query)
	}
	return t
}

// exportDir is where an export goes unless the user types a path: the
// Downloads folder ($XDG_DOWNLOAD_DIR, else ~/Downloads) when it exists,
// else the home folder; the current folder only when there is no home. A
// program started from a source tree (go run . demo) must not write there.
func exportDir() string {
	home, err := os.UserHomeDir()
	if d := os.ExpandEnv(os.Getenv("XDG_DOWNLOAD_DIR")); d != "" && filepath.IsAbs(d) && isDir(d) {
		return d
	}
	if err == nil {
		if d := filepath.Join(home, "Downloads"); isDir(d) {
			return d
		}
		return home
	}
	wd, _ := os.Getwd()
	return wd
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// exportPath resolves what the user typed: ~/ is the home folder, and a
// relative name is taken in exportDir, not in the current folder.
func exportPath(name string) (string, error) {
	if name == "~" || strings.HasPrefix(name, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("the home folder is unknown (%w); type a full path", err)
		}
		name = filepath.Join(home, name[1:])
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(exportDir(), name)
	}
	return filepath.Clean(name), nil
}

// defaultExportPath is exportDir/news-followers-20240601.csv, or with -2,
// -3 … when that file exists already.
func (f *Followers) defaultExportPath() string {
	app := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' || r == ' ' {
			return '_'
		}
		return r
	}, sanitize.Text(f.spec.App))
	dir := exportDir()
	base := filepath.Join(dir, app+"-followers-"+f.c.Now().In(f.c.Loc).Format("20060102"))
	path := base + ".csv"
	for i := 2; i < 100; i++ {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		path = base + "-" + strconv.Itoa(i) + ".csv"
	}
	return path
}

func (f *Followers) startExport() {
	f.exporting = true
	f.exportIn = lineInput{prompt: "export to ", limit: 4096, width: max(f.width-50, 20)}
	f.exportIn.set(f.defaultExportPath())
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
		path, err := exportPath(name)
		if err != nil {
			return FlashError(fmt.Errorf("%w; nothing was written", err))
		}
		// In sequence: the notice is shown before the write starts, so the
		// result, which comes after it, is what stays in the footer.
		return tea.Sequence(
			Flash("exporting "+formatCount(f.rows.Len())+" rows to "+sanitize.Text(path)+"…"),
			f.export(path))
	}
	f.exportIn.update(msg)
	return nil
}

func (f *Followers) exportLine() string {
	s := f.c.Styles
	return f.exportIn.view(s.Prompt, s.Cursor) + "  " +
		s.Dim.Render(formatCount(f.rows.Len())+" rows as shown · .csv, .jsonl or .parquet · enter write · esc cancel")
}

// export returns the command that writes the rows now shown to path and
// reports the result, success or failure, as one FlashMsg.
func (f *Followers) export(path string) tea.Cmd {
	w := viewExport{
		ctx: f.c.Ctx, app: f.spec.App, appID: f.spec.AppID, kind: f.spec.Kind,
		src: f.spec.Reader, idx: f.idx, rows: f.rows.Slice(), tagNames: f.tags.NameMap(),
	}
	return func() tea.Msg {
		n, err := w.writeFile(path)
		shown := sanitize.Text(path)
		switch {
		case errors.Is(err, export.ErrExists):
			return FlashMsg{Text: shown + " exists already; nothing was written: choose another name", Error: true}
		case err != nil:
			return FlashMsg{Text: "export to " + shown + " failed: " + sanitize.Text(wording.Error(wording.TUI, "", err)) + "; nothing was written", Error: true}
		}
		return FlashMsg{Text: "exported " + formatCount(n) + " rows to " + shown, Log: true}
	}
}

// viewExport is what an export needs from the view, copied so the write can
// run while the view changes: the index and the row slice are never
// modified in place.
type viewExport struct {
	ctx              context.Context
	app, appID, kind string
	src              FollowerReader
	idx              *FollowerIndex
	rows             []uint32
	tagNames         map[int64]string // the view's tag names; the blacklist marks are the index's
}

// writeFile writes the rows to the new file path in the format its
// extension names. The full rows are read from the source in its order
// and put in a spool, then written in the view's order: memory holds a
// few words per row, never the rows. A failure leaves no file.
func (w viewExport) writeFile(path string) (int, error) {
	if w.src == nil {
		return 0, errors.New("this view has no cache to read the rows from")
	}
	file, err := export.Create(path)
	if err != nil {
		return 0, err
	}
	defer file.Abort() // nothing once committed
	spool, err := export.NewSpool(filepath.Dir(path))
	if err != nil {
		return 0, err
	}
	defer spool.Close()

	refs := make([]export.SpoolRef, len(w.rows))
	lookup := newShownLookup(w.idx, w.rows)
	found := 0
	err = w.src.EachFollower(w.ctx, w.appID, func(p *cache.Profile) error {
		pos, ok := lookup.find(p.OpenID)
		if !ok || refs[pos].Valid() {
			return nil
		}
		r := export.NewRow(export.Input{App: w.app, Kind: w.kind, Profile: (*export.Follower)(p),
			TagNames: w.tagNames, Blacklisted: w.idx.IsBlacklisted(int(w.rows[pos]))})
		ref, err := spool.Add(&r)
		refs[pos] = ref
		found++
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read the followers of %s: %w", w.app, err)
	}
	if found < len(refs) {
		return 0, fmt.Errorf("%d of the rows shown are no longer in the cache; open the list again", len(refs)-found)
	}
	out, err := export.NewWriter(export.FormatOf(path), file)
	if err != nil {
		return 0, err
	}
	var r export.Row
	for i, ref := range refs {
		if i&0xfff == 0 {
			if err := w.ctx.Err(); err != nil {
				return 0, err
			}
		}
		if err := spool.Read(ref, &r); err != nil {
			return 0, err
		}
		if err := out.Write(&r); err != nil {
			return 0, err
		}
	}
	if err := out.Close(); err != nil {
		return 0, err
	}
	if err := file.Commit(); err != nil {
		return 0, err
	}
	return len(refs), nil
}

// shownLookup finds the display position of an openid among the rows
// shown: a sorted array of (hash, position), 16 bytes a row, where a map
// of the openids would hold the strings too. Equal hashes are told apart
// by the openid itself.
type shownLookup struct {
	idx  *FollowerIndex
	rows []uint32
	seed maphash.Seed
	keys []shownKey
}

type shownKey struct {
	h   uint64
	pos uint32
}

func newShownLookup(idx *FollowerIndex, rows []uint32) *shownLookup {
	l := &shownLookup{idx: idx, rows: rows, seed: maphash.MakeSeed(), keys: make([]shownKey, len(rows))}
	for pos, r := range rows {
		l.keys[pos] = shownKey{maphash.String(l.seed, idx.OpenID(int(r))), uint32(pos)}
	}
	slices.SortFunc(l.keys, func(a, b shownKey) int { return cmp.Compare(a.h, b.h) })
	return l
}

// find returns the display position of openid, if it is shown.
func (l *shownLookup) find(openid string) (int, bool) {
	h := maphash.String(l.seed, openid)
	i, _ := slices.BinarySearchFunc(l.keys, h, func(k shownKey, h uint64) int { return cmp.Compare(k.h, h) })
	for ; i < len(l.keys) && l.keys[i].h == h; i++ {
		if pos := l.keys[i].pos; l.idx.OpenID(int(l.rows[pos])) == openid {
			return int(pos), true
		}
	}
	return 0, false
}
