package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/sanitize"
)

// runExport writes the cached followers of all apps, or of those named with
// --app, as CSV (the default, for spreadsheets) or JSON lines.
func runExport(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "export")
	c.appFlag("export only the app named `NAME`; repeat for several")
	format := c.fs.String("format", "csv", "output `FORMAT`: csv or jsonl")
	if err := c.parseNoArgs(args); err != nil {
		return err
	}
	if err := oneOf("export", "format", *format, "csv", "jsonl"); err != nil {
		return err
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
	out := bufio.NewWriterSize(env.Stdout, 64<<10)
	var w rowWriter
	if *format == "jsonl" {
		w = newJSONLWriter(out)
	} else {
		w = newCSVWriter(out)
	}
	if err := w.header(); err != nil {
		return err
	}
	for _, t := range targets {
		err := store.EachProfile(t.appid, "", func(p cache.Profile) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			r := exportRowOf(t.name, t.appid, &p)
			if env.StdoutTTY {
				// Exported data is byte for byte what the API said, but a
				// remark must not drive the terminal it is printed on.
				r.screenSafe()
			}
			return w.row(r)
		})
		if err != nil {
			return fmt.Errorf("export %s: %w", t.name, err)
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	return out.Flush()
}

// exportTarget is one app to export.
type exportTarget struct{ name, appid string }

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
	// An app counts once a sync wrote a profile of it or completed (an
	// account with no followers); a sync that failed at once leaves only
	// its name behind.
	synced := func(a cache.App) bool { return a.Counts.Profiles > 0 || !a.Sync.LastCompleteAt.IsZero() }
	var out []exportTarget
	for _, a := range apps {
		if c, ok := byID[a.AppID]; ok && synced(c) {
			out = append(out, exportTarget{a.Name, a.AppID})
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
				out = append(out, exportTarget{name, a.AppID})
			}
		}
	}
	return out, nil
}

// exportRow is one line of `wxscope export`. The JSON field names and their
// order are a contract (design.md); CSV columns follow the same order.
type exportRow struct {
	App            string  `json:"app"`
	AppID          string  `json:"appid"`
	OpenID         string  `json:"openid"`
	UnionID        string  `json:"unionid"`
	Subscribe      int     `json:"subscribe"`
	SubscribeTime  int64   `json:"subscribe_time"`
	SubscribeScene string  `json:"subscribe_scene"`
	QRScene        int64   `json:"qr_scene"`
	QRSceneStr     string  `json:"qr_scene_str"`
	Remark         string  `json:"remark"`
	TagIDList      []int64 `json:"tagid_list"`
	GroupID        int64   `json:"groupid"`
	FetchedAt      int64   `json:"fetched_at"`
	UnfollowedAt   int64   `json:"unfollowed_at"`
}

var exportColumns = []string{"app", "appid", "openid", "unionid", "subscribe", "subscribe_time", "subscribe_scene",
	"qr_scene", "qr_scene_str", "remark", "tagid_list", "groupid", "fetched_at", "unfollowed_at"}

func exportRowOf(name, appid string, p *cache.Profile) *exportRow {
	r := &exportRow{
		App:            name,
		AppID:          appid,
		OpenID:         p.OpenID,
		UnionID:        p.UnionID,
		SubscribeTime:  p.SubscribeTime,
		SubscribeScene: p.SubscribeScene,
		QRScene:        p.QRScene,
		QRSceneStr:     p.QRSceneStr,
		Remark:         p.Remark,
		TagIDList:      p.TagIDs,
		GroupID:        p.GroupID,
		FetchedAt:      p.FetchedAt,
		UnfollowedAt:   p.UnfollowedAt,
	}
	if p.Subscribed {
		r.Subscribe = 1
	}
	if r.TagIDList == nil {
		r.TagIDList = []int64{} // [] rather than null: the field is always a list
	}
	return r
}

// screenSafe makes the strings from the API safe to print on a terminal.
func (r *exportRow) screenSafe() {
	for _, f := range []*string{&r.OpenID, &r.UnionID, &r.SubscribeScene, &r.QRSceneStr, &r.Remark} {
		*f = sanitize.Text(*f)
	}
}

type rowWriter interface {
	header() error
	row(*exportRow) error
	flush() error
}

type jsonlWriter struct{ enc *json.Encoder }

func newJSONLWriter(w io.Writer) *jsonlWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // remarks stay readable; JSON needs no HTML escaping
	return &jsonlWriter{enc}
}

func (w *jsonlWriter) header() error          { return nil }
func (w *jsonlWriter) row(r *exportRow) error { return w.enc.Encode(r) }
func (w *jsonlWriter) flush() error           { return nil }

type csvWriter struct {
	w   *csv.Writer
	rec []string
}

func newCSVWriter(w io.Writer) *csvWriter {
	return &csvWriter{w: csv.NewWriter(w), rec: make([]string, len(exportColumns))}
}

func (w *csvWriter) header() error { return w.w.Write(exportColumns) }

func (w *csvWriter) row(r *exportRow) error {
	tags := make([]string, len(r.TagIDList))
	for i, t := range r.TagIDList {
		tags[i] = strconv.FormatInt(t, 10)
	}
	rec := w.rec
	rec[0] = sanitize.CSVCell(r.App)
	rec[1] = sanitize.CSVCell(r.AppID)
	rec[2] = sanitize.CSVCell(r.OpenID)
	rec[3] = sanitize.CSVCell(r.UnionID)
	rec[4] = strconv.Itoa(r.Subscribe)
	rec[5] = strconv.FormatInt(r.SubscribeTime, 10)
	rec[6] = sanitize.CSVCell(r.SubscribeScene)
	rec[7] = strconv.FormatInt(r.QRScene, 10)
	rec[8] = sanitize.CSVCell(r.QRSceneStr)
	rec[9] = sanitize.CSVCell(r.Remark)
	rec[10] = strings.Join(tags, ";")
	rec[11] = strconv.FormatInt(r.GroupID, 10)
	rec[12] = strconv.FormatInt(r.FetchedAt, 10)
	rec[13] = strconv.FormatInt(r.UnfollowedAt, 10)
	return w.w.Write(rec)
}

func (w *csvWriter) flush() error {
	w.w.Flush()
	return w.w.Error()
}
