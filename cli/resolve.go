package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/resolve"
	"wxscope/sanitize"
	"wxscope/syncer"
	"wxscope/wording"
)

// runResolve writes the unionid and status of each openid of the input,
// one row per row in, in input order (design.md, "Resolve"). It exits 0 only
// when every row was answered.
func runResolve(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "resolve")
	c.appFlag("the official account `NAME` the openids belong to")
	format := c.fs.String("format", "csv", "output `FORMAT`: csv or jsonl")
	offline := c.fs.Bool("offline", false, "answer from the cache only: openids it cannot answer are rows with status error")
	rest, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(c.appNames) != 1 {
		return usagef("resolve", "resolve needs exactly one --app NAME, the account the openids belong to")
	}
	if len(rest) > 1 {
		return usagef("resolve", "resolve reads one FILE (or standard input), but got %d arguments", len(rest))
	}
	if err := oneOf("resolve", "format", *format, "csv", "jsonl"); err != nil {
		return err
	}
	if err := c.load(); err != nil {
		return err
	}
	app := c.apps[0]
	if app.Imported() {
		return usagef("resolve", "%s is a %s, and resolve asks the API of an official account; a %s's unionids come from its own records, so put them in its import (%s) and run `wxscope sync --app %s`, or look an openid up with `wxscope lookup ID`",
			app.Name, config.KindName(app.Kind), config.KindName(app.Kind), app.ImportSource(), app.Name)
	}
	if !*offline {
		if err := requireSecrets(c.apps); err != nil {
			return err
		}
	}

	in, name := env.Stdin, "standard input"
	if len(rest) == 1 && rest[0] != "-" {
		f, err := os.Open(rest[0])
		if err != nil {
			return fmt.Errorf("cannot read the openids: %w", err)
		}
		defer f.Close()
		in, name = f, rest[0]
	}

	var store *cache.Store
	newSource := func() (cache.Source, error) { return syncer.NewSource(c.cfg, app, nil) }
	if env.served != nil {
		// Over SSH: the server's store and its one client per app.
		store, newSource = env.served.store, func() (cache.Source, error) { return env.served.syncer.Source(app) }
	} else {
		if store, err = cache.Open(c.cfg.Cache, cache.Options{Mode: cache.Shared, Command: "wxscope resolve --app " + app.Name}); err != nil {
			return err
		}
		defer store.Close()
	}
	var fetch resolve.Fetcher = offlineFetcher{}
	if !*offline {
		src, err := newSource()
		if err != nil {
			return err
		}
		fetch = src
	}

	out := bufio.NewWriterSize(env.Stdout, 64<<10)
	write := resolveWriter(out, *format)
	if *format == "csv" {
		if _, err := out.WriteString("openid,unionid,status,source\n"); err != nil {
			return err
		}
	}
	opts := resolve.Options{Concurrency: c.cfg.Concurrency, MaxAge: c.cfg.MaxAge}
	if c.cfg.MaxAge == 0 {
		opts.MaxAge = -1 // max_age = "0s": every openid is asked again
	}
	if env.StderrTTY {
		opts.Progress = func(done, read int) {
			fmt.Fprintf(env.Stderr, "\rresolved %s rows…", wording.FormatCount(int64(done)))
		}
	}
	input := resolve.NewInput(in, name)
	st, err := resolve.Run(ctx, store, app.AppID, fetch, input.Next, write, opts)
	if env.StderrTTY && opts.Progress != nil && st.Rows > 0 {
		fmt.Fprint(env.Stderr, "\r\033[K")
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if n := st.ByStatus[resolve.Error]; n > 0 {
		why := "the cache does not hold them and --offline asks no API; run it without --offline"
		var qe *cache.QuotaError
		switch {
		case errors.As(st.Err, &qe):
			when := "the quota resets (00:00 Beijing time)"
			if !qe.ResetAt.IsZero() {
				when = qe.ResetAt.Format("2006-01-02 15:04 -07:00")
			}
			why = fmt.Sprintf("%s's batchget daily quota is spent; run the same command again after %s (the rows answered now are cached and will not be asked again)", app.Name, when)
		case st.Err != nil && !errors.Is(st.Err, errOffline):
			why = syncer.Explain(c.cfg, app, st.Err)
		}
		return fmt.Errorf("%s of %s rows were not answered (status error): %s", wording.FormatCount(int64(n)), wording.FormatCount(int64(st.Rows)), why)
	}
	return nil
}

// resolveWriter writes rows as CSV (cells a spreadsheet would run defused,
// as export does) or as JSON lines (exact strings).
func resolveWriter(w *bufio.Writer, format string) func(resolve.Row) error {
	if format == "jsonl" {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return func(r resolve.Row) error { return enc.Encode(r) }
	}
	cw := csv.NewWriter(w)
	rec := make([]string, 4)
	return func(r resolve.Row) error {
		rec[0], rec[1], rec[2], rec[3] = sanitize.CSVCell(r.OpenID), r.UnionID, r.Status, r.Source
		if err := cw.Write(rec); err != nil {
			return err
		}
		cw.Flush() // into w, which buffers: the caller flushes w
		return cw.Error()
	}
}

// offlineFetcher answers nothing: resolve --offline stays on the cache.
type offlineFetcher struct{}

var errOffline = errors.New("--offline: the API is not asked")

func (offlineFetcher) Profiles(context.Context, []string) (map[string]cache.Profile, error) {
	return nil, errOffline
}
