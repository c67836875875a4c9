package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/export"
)

// runExport writes the cached followers of all apps, or of those named with
// --app, in the one export format (package export): CSV (the default, for
// spreadsheets) or JSON lines on standard output or into a new file --out
// FILE, or Parquet into the folder --out DIR, one partition per app.
func runExport(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "export")
	c.appFlag("export only the app named `NAME`; repeat for several")
	format := c.fs.String("format", "csv", "output `FORMAT`: csv, jsonl or parquet")
	out := c.fs.String("out", "", "write to `PATH`: for csv and jsonl a new file (default: standard output); for parquet a folder (required), one app=NAME partition per app, each new or empty")
	if err := c.parseNoArgs(args); err != nil {
		return err
	}
	if err := oneOf("export", "format", *format, "csv", "jsonl", "parquet"); err != nil {
		return err
	}
	if *format == "parquet" && *out == "" {
		return usagef("export", "--format parquet needs --out DIR: it writes a folder of files, one partition per app")
	}
	if err := c.load(); err != nil {
		return err
	}
	cfg, apps, names := c.cfg, c.apps, c.appNames
	store, err := c.openCache("nothing synced yet; run wxscope sync")
	if err != nil {
		return err
	}
	defer store.Close()

	targets, err := exportTargets(store, cfg, apps, len(names) == 0)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		if len(names) > 0 {
			return fmt.Errorf("nothing synced yet for %s; run wxscope sync --app %s", strings.Join(names, ", "), strings.Join(names, " --app "))
		}
		return errors.New("nothing synced yet; run wxscope sync")
	}

	// Damage met half-way would leave a partial export behind for a
	// script to take as the whole: the file is read once first.
	if err := store.Verify(); err != nil {
		return err
	}
	var dest exportDest
	switch {
	case *format == "parquet":
		dest, err = newParquetDest(*out, targets)
	case *out != "":
		dest, err = newFileDest(*out, export.Format(*format))
	default:
		dest = newStdoutDest(env.Stdout, export.Format(*format))
	}
	if err != nil {
		return exportRefused(err)
	}
	// Exported data is byte for byte what the API said, but a remark must
	// not drive the terminal it is printed on.
	screen := *out == "" && env.StdoutTTY
	if err := writeExport(ctx, store, targets, dest.w, screen); err != nil {
		dest.abort()
		return err
	}
	if err := dest.commit(); err != nil {
		return exportRefused(err)
	}
	for _, f := range dest.files() {
		fmt.Fprintln(env.Stdout, f)
	}
	return nil
}

// exportRefused adds what to do to an export that found its target taken.
func exportRefused(err error) error {
	if errors.Is(err, export.ErrExists) {
		return fmt.Errorf("%w; nothing was written: remove it or choose another --out", err)
	}
	return err
}

// writeExport streams the profiles of every target through w, with the
// tag names and the blacklist the last sync read (exportlists.go).
func writeExport(ctx context.Context, store *cache.Store, targets []exportTarget, w export.Writer, screen bool) error {
	for _, t := range targets {
		lists, err := openExportLists(store, t.appid)
		if err != nil {
			return fmt.Errorf("export %s: %w", t.name, err)
		}
		err = store.EachProfile(t.appid, "", func(p cache.Profile) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			r := export.NewRow(export.Input{App: t.name, Kind: t.kind, Profile: (*export.Follower)(&p),
				TagNames: lists.names, Blacklisted: lists.blacklisted(p.OpenID)})
			if screen {
				r.ScreenSafe()
			}
			return w.Write(&r)
		})
		if cerr := lists.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("export %s: %w", t.name, err)
		}
	}
	return nil
}

// exportDest is where an export's rows go: w takes them; commit finishes
// the output and puts it in place, abort leaves nothing behind; files lists
// what a finished export wrote, for standard output.
type exportDest struct {
	w      export.Writer
	commit func() error
	abort  func()
	files  func() []string
}

func newStdoutDest(stdout io.Writer, f export.Format) exportDest {
	buf := bufio.NewWriterSize(stdout, 64<<10)
	w, _ := export.NewWriter(f, buf)
	return exportDest{
		w: w,
		commit: func() error {
			if err := w.Close(); err != nil {
				return err
			}
			return buf.Flush()
		},
		abort: func() { buf.Flush() }, // what was written is out already; end it cleanly
		files: func() []string { return nil },
	}
}

func newFileDest(path string, f export.Format) (exportDest, error) {
	file, err := export.Create(path)
	if err != nil {
		return exportDest{}, err
	}
	w, _ := export.NewWriter(f, file)
	return exportDest{
		w: w,
		commit: func() error {
			if err := w.Close(); err != nil {
				file.Abort()
				return err
			}
			return file.Commit()
		},
		abort: file.Abort,
		files: func() []string { return nil }, // the user named it
	}, nil
}

func newParquetDest(dir string, targets []exportTarget) (exportDest, error) {
	apps := make([]string, len(targets))
	for i, t := range targets {
		apps[i] = t.name
	}
	d, err := export.CreateParquetDir(dir, apps, export.ParquetOptions{})
	if err != nil {
		return exportDest{}, err
	}
	return exportDest{w: d, commit: d.Close, abort: d.Abort, files: d.Files}, nil
}

// exportTarget is one app to export.
type exportTarget struct{ name, appid, kind string }

// exportTargets are the selected apps the cache has seen, in the order of
// the config; with all, also the apps the cache holds that the config no
// longer names (their rows are history a support case may need).
func exportTargets(store *cache.Store, cfg *config.Config, apps []config.App, all bool) ([]exportTarget, error) {
	cached, err := store.Apps()
	if err != nil {
		return nil, err
	}
	byID := map[string]cache.App{}
	for _, a := range cached {
		byID[a.AppID] = a
	}
	// The kind is the config's; an app the config no longer names keeps
	// the kind its last import was read as.
	imported, err := store.Imports()
	if err != nil {
		return nil, err
	}
	// An app counts once a sync wrote a profile of it or completed (an
	// account with no followers); a sync that failed at once leaves only
	// its name behind.
	synced := func(a cache.App) bool { return a.Counts.Profiles > 0 || !a.Sync.LastCompleteAt.IsZero() }
	var out []exportTarget
	for _, a := range apps {
		if c, ok := byID[a.AppID]; ok && synced(c) {
			out = append(out, exportTarget{a.Name, a.AppID, string(a.Kind)})
		}
	}
	if all {
		configured := map[string]bool{}
		for _, a := range cfg.Apps {
			configured[a.AppID] = true
		}
		for _, a := range cached {
			if !configured[a.AppID] && synced(a) {
				name := a.Name
				if name == "" {
					name = a.AppID
				}
				kind := export.KindOfficial
				if in, ok := imported[a.AppID]; ok && in.Kind != "" {
					kind = in.Kind
				}
				out = append(out, exportTarget{name, a.AppID, kind})
			}
		}
	}
	return out, nil
}
