package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/imports"
	"wxscope/shell"
)

// ErrNotOfficial marks a request only an official account can answer (the
// API's datacube, say) made of an app of another kind.
var ErrNotOfficial = errors.New("not an official account")

// RejectedRows is an import whose source had rows that were not imported;
// the valid rows were. The sync command prints Stats.WriteRejections on
// stderr before the sentence, and exits 1 so that scripts notice.
type RejectedRows struct {
	Stats imports.Stats
}

func (e *RejectedRows) Error() string {
	return fmt.Sprintf("%d %s of %s rejected", e.Stats.Rejected, plural(e.Stats.Rejected, "row", "rows"), e.Stats.Source)
}

// importApp reads the source of an imported app (its import file, or the
// output of its import_command) into the store.
func (s *Syncer) importApp(ctx context.Context, app config.App, progress func(cache.Progress), every time.Duration) error {
	source := app.ImportSource()
	again := fmt.Sprintf("run `wxscope sync --app %s`", app.Name)
	src, closeSrc, err := s.openImport(ctx, app)
	if err != nil {
		f := &Failure{App: app.Name, Err: err, Sentence: fmt.Sprintf(
			"%s: cannot read its import %s (%v); the previous import is kept — fix import in %s or create the file, then %s",
			app.Name, source, unwrapPath(err), s.cfg.File, again)}
		if progress != nil {
			progress(cache.Progress{Name: app.Name, Phase: cache.PhaseFailed, Final: true, Err: f, Source: source})
		}
		return f
	}
	st, err := cache.Import(ctx, s.store, app.AppID, src, cache.ImportOptions{
		Kind: string(app.Kind), Source: source, Progress: progress, ProgressEvery: every,
	})
	if cerr := closeSrc(); err == nil && cerr != nil && ctx.Err() == nil {
		err = cerr
	}
	var se *cache.SourceError
	switch {
	case err == nil && st.Rejected > 0:
		first := ""
		if len(st.Rejections) > 0 {
			first = fmt.Sprintf(", the first %s", st.Rejections[0])
		}
		return &Failure{App: app.Name, Err: &RejectedRows{Stats: st}, Sentence: fmt.Sprintf(
			"%s: %d %s of %s rejected%s; the %d valid %s imported — fix the source, then %s again",
			app.Name, st.Rejected, plural(st.Rejected, "row", "rows"), source, first, st.Rows, plural(st.Rows, "row is", "rows are"), again)}
	case err == nil, errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return err
	case errors.As(err, &se):
		key := "import"
		if app.ImportCommand != "" {
			key = "import_command"
		}
		return &Failure{App: app.Name, Err: err, Sentence: fmt.Sprintf(
			"%s: %v; the previous import is kept — fix the source or %s in %s, then %s",
			app.Name, se.Err, key, s.cfg.File, again)}
	case errors.Is(err, cache.ErrEmptySource):
		return &Failure{App: app.Name, Err: err, Sentence: fmt.Sprintf("%s: %v", app.Name, err)}
	}
	return err // Sync explains the rest (a busy cache, say)
}

// openImport opens the app's source: its file, or its import_command
// started through the system's shell with this process's environment and
// WXSCOPE_APP and WXSCOPE_APPID, in the config file's folder (so relative
// paths in the command mean what they mean for import). The command's
// stream ends in io.EOF only when it exits 0, so a command that fails
// midway is an error of the read, not a short import.
func (s *Syncer) openImport(ctx context.Context, app config.App) (io.Reader, func() error, error) {
	if app.Import != "" {
		f, err := os.Open(app.Import)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Close, nil
	}
	dir := ""
	if filepath.IsAbs(s.cfg.File) {
		dir = filepath.Dir(s.cfg.File)
	}
	p, err := shell.Command{
		Line: app.ImportCommand,
		Env:  append(os.Environ(), "WXSCOPE_APP="+app.Name, "WXSCOPE_APPID="+app.AppID),
		Dir:  dir,
	}.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	return p, p.Close, nil
}

// unwrapPath drops the path an *fs.PathError repeats: the sentence names
// the source already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
