package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/sanitize"
	"wxscope/syncer"
	"wxscope/wording"
)

// runDoctor reports findings about the apps' bindings and the cache, each
// with its evidence and what to do.
//
// Exit status: 0 whenever the analysis ran, findings or not (as with other
// doctor commands, findings are the output, not a failure; scripts read
// --json); 1 only when the cache cannot be read; 2 for usage and
// configuration errors. A missing cache file is not an error: every app is
// then reported as never synced. A damaged one is a finding (damaged) and
// exits 1 as well, with the sentence that says what to do: doctor checks
// every page and record of the file (cache.Store.Check) before it reads the
// analysis from it.
func runDoctor(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "doctor")
	asJSON := c.fs.Bool("json", false, "print one JSON object instead of text")
	if err := c.parseNoArgs(args); err != nil {
		return err
	}
	if err := c.load(); err != nil {
		return err
	}
	cfg := c.cfg
	store, err := c.openCache("")
	var damage error
	switch {
	case errors.Is(err, cache.ErrDamaged):
		damage, store = err, nil
	case err != nil:
		return err
	case store != nil:
		defer store.Close()
		if err := store.Check(); errors.Is(err, cache.ErrDamaged) {
			damage = err
		} else if err != nil {
			return err
		}
	}
	opts := cache.AnalyzeOptions{Apps: appRefs(cfg), Syncing: syncingApps(cfg)}
	l, err := cache.Analyze(store, opts)
	if err != nil && damage == nil {
		return err
	}
	if damage != nil {
		if store == nil || err != nil {
			// Nothing can be read: the finding is all there is to say,
			// not that every app was never synced.
			l, _ = cache.Analyze(nil, opts)
			l.Findings = nil
		}
		l.Findings = append([]cache.Finding{damagedFinding(cfg.Cache, damage)}, l.Findings...)
	}
	err = nil
	if *asJSON {
		err = writeDoctorJSON(env.Stdout, l)
	} else {
		writeDoctorText(env.Stdout, l, cfg.Cache, store == nil && damage == nil)
	}
	if err != nil {
		return err
	}
	return damage
}

// syncingApps are the apps of cfg another process is syncing now, by
// appid, with who it is: their unfinished syncs are under way, not stopped.
func syncingApps(cfg *config.Config) map[string]*cache.Holder {
	h := syncer.Running(cfg.Cache)
	if h == nil || h.PID == os.Getpid() {
		return nil
	}
	out := map[string]*cache.Holder{}
	for _, a := range cfg.Apps {
		if syncer.SyncsApp(h, a.Name) {
			out[a.AppID] = h
		}
	}
	return out
}

// damagedFinding is the finding of a cache file that cannot be read as
// written.
func damagedFinding(path string, err error) cache.Finding {
	why := err.Error()
	var de *cache.DamagedError
	if errors.As(err, &de) {
		why = de.Reason
	}
	return cache.Finding{
		Kind:      cache.FindingDamaged,
		Apps:      []string{},
		Count:     1,
		CachePath: path,
		Damage:    why,
	}
}

// doctorApp, doctorPair and doctorFinding are doctor's JSON contract
// (docs/design.md); fields beyond the contract's are additions.
type doctorApp struct {
	App         string `json:"app"`
	AppID       string `json:"appid"`
	Kind        string `json:"kind"`
	Followers   int64  `json:"followers"` // the API's last reported total, else the cached followers
	Cached      int64  `json:"cached"`
	Subscribed  int64  `json:"subscribed"`
	WithUnionID int64  `json:"with_unionid"`
	Bound       bool   `json:"bound"`
	Platform    string `json:"platform"`
	Persons     int64  `json:"persons"`
	Missing     int64  `json:"missing"`
	LastSync    int64  `json:"last_sync"` // unix seconds of the last complete listing, 0 when never
	SyncRunning bool   `json:"sync_incomplete"`
}

type doctorPair struct {
	A      string `json:"a"`
	B      string `json:"b"`
	Shared int64  `json:"shared"`
}

type doctorFinding struct {
	Kind     string   `json:"kind"`
	Apps     []string `json:"apps"`
	Count    int64    `json:"count"`
	Detail   string   `json:"detail"`
	Evidence string   `json:"evidence"`
	Action   string   `json:"action"`
	Examples []string `json:"examples"`
	Note     bool     `json:"note"`
}

type doctorJSON struct {
	Apps     []doctorApp     `json:"apps"`
	Pairs    []doctorPair    `json:"pairs"`
	Findings []doctorFinding `json:"findings"`
	Persons  int64           `json:"persons"`
}

func followersOf(a *cache.AppLinks) int64 {
	if a.Sync.Total > 0 {
		return a.Sync.Total
	}
	return a.Counts.Subscribed
}

func writeDoctorJSON(w io.Writer, l *cache.Links) error {
	out := doctorJSON{Apps: []doctorApp{}, Pairs: []doctorPair{}, Findings: []doctorFinding{}, Persons: l.Persons}
	for i := range l.Apps {
		a := &l.Apps[i]
		d := doctorApp{App: a.Label(), AppID: a.AppID, Kind: a.Kind, Followers: followersOf(a), Cached: a.Counts.Profiles,
			Subscribed: a.Counts.Subscribed, WithUnionID: a.Counts.WithUnionID, Bound: a.Bound, Platform: a.Platform,
			Persons: a.Persons, Missing: a.Missing, SyncRunning: a.Sync.InProgress}
		if a.Synced() {
			d.LastSync = a.Sync.LastCompleteAt.Unix()
		}
		out.Apps = append(out.Apps, d)
	}
	for _, p := range l.Pairs {
		out.Pairs = append(out.Pairs, doctorPair{A: l.Apps[p.A].Label(), B: l.Apps[p.B].Label(), Shared: p.Shared})
	}
	for _, f := range l.Findings {
		ex := f.Examples
		if ex == nil {
			ex = []string{}
		}
		t := wording.Finding(wording.CLI, &f)
		out.Findings = append(out.Findings, doctorFinding{Kind: string(f.Kind), Apps: f.Apps, Count: f.Count,
			Detail: t.Detail(), Evidence: t.Evidence(), Action: t.Action, Examples: ex, Note: f.Note})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// writeDoctorText draws the Doctor screen: the apps, the overlap matrix and
// the findings with evidence and action.
func writeDoctorText(w io.Writer, l *cache.Links, path string, noCache bool) {
	warn, notes := 0, 0
	for _, f := range l.Findings {
		if f.Note {
			notes++
		} else {
			warn++
		}
	}
	head := wording.Plural(warn, "finding")
	if notes > 0 {
		head += " · " + wording.Plural(notes, "note")
	}
	fmt.Fprintf(w, "doctor · %s · cache %s\n", head, sanitize.Text(path))
	if noCache {
		fmt.Fprintln(w, "no cache file yet: nothing has been synced")
	}

	width, kindW := len("app"), len("kind")
	for i := range l.Apps {
		width = max(width, len(l.Apps[i].Label()))
		kindW = max(kindW, len(wording.Kind(l.Apps[i].Kind)))
	}
	fmt.Fprintf(w, "\n %-*s  %-*s  %10s  %10s  %8s  %8s  %-5s  %s\n", width, "app", kindW, "kind", "followers", "cached", "unionid", "persons", "bound", "last sync")
	for i := range l.Apps {
		a := &l.Apps[i]
		cov := "—"
		if a.Counts.Subscribed > 0 {
			cov = fmt.Sprintf("%d %%", a.Counts.WithUnionID*100/a.Counts.Subscribed)
		}
		bound := "no"
		switch {
		case a.Bound:
			bound = a.Platform
		case !a.InCache || a.Counts.Subscribed == 0:
			bound = "?"
		}
		last := "never"
		switch {
		case a.Sync.InProgress:
			last = "unfinished"
		case a.Synced():
			last = wording.FormatAge(l.At.Sub(a.Sync.LastCompleteAt)) + " ago"
		}
		fmt.Fprintf(w, " %-*s  %-*s  %10s  %10s  %8s  %8s  %-5s  %s\n", width, sanitize.Text(a.Label()), kindW, wording.Kind(a.Kind),
			wording.FormatCount(followersOf(a)), wording.FormatCount(a.Counts.Profiles), cov, wording.FormatCount(a.Persons), bound, last)
	}

	if len(l.Apps) > 1 {
		fmt.Fprintf(w, "\n shared persons between apps (%s persons with a unionid)\n", wording.FormatCount(l.Persons))
		cw := 8
		for i := range l.Apps {
			cw = max(cw, len(l.Apps[i].Label()))
		}
		fmt.Fprintf(w, " %-*s", width, "")
		for i := range l.Apps {
			fmt.Fprintf(w, "  %*s", cw, sanitize.Text(l.Apps[i].Label()))
		}
		fmt.Fprintln(w)
		for i := range l.Apps {
			fmt.Fprintf(w, " %-*s", width, sanitize.Text(l.Apps[i].Label()))
			for j := range l.Apps {
				cell := "—"
				if l.Apps[i].Bound && l.Apps[j].Bound {
					cell = wording.FormatCount(l.Shared(i, j))
				}
				fmt.Fprintf(w, "  %*s", cw, cell)
			}
			switch a := &l.Apps[i]; {
			case !a.Bound && a.InCache && a.Counts.Subscribed > 0:
				fmt.Fprint(w, "   (not bound)")
			case a.Bound && a.Platform != "P1": // P1 is the largest platform

				fmt.Fprintf(w, "   (%s: another platform?)", a.Platform)
			}
			fmt.Fprintln(w)
		}
	}

	fmt.Fprintln(w)
	if len(l.Findings) == 0 {
		fmt.Fprintln(w, " no findings: every app is bound to one open platform and freshly synced")
		return
	}
	kw := 0
	aw := 0
	for _, f := range l.Findings {
		kw = max(kw, len(f.Kind))
		aw = max(aw, len(strings.Join(f.Apps, " ↔ ")))
	}
	indent := strings.Repeat(" ", 3+kw+2+aw+2)
	for _, f := range l.Findings {
		t := wording.Finding(wording.CLI, &f)
		mark := "⚠"
		if f.Note {
			mark = "·"
		}
		apps := sanitize.Text(strings.Join(f.Apps, " ↔ "))
		// The apps column says the subject: the evidence goes on without it.
		fmt.Fprintf(w, " %s %-*s  %-*s  %s\n", mark, kw, sanitize.Text(string(f.Kind)), aw, apps, sanitize.Text(t.Seen))
		if t.Action != "" {
			fmt.Fprintf(w, "%s→ %s\n", indent, sanitize.Text(t.Action))
		}
		if len(f.Examples) > 0 {
			fmt.Fprintf(w, "%se.g. %s\n", indent, sanitize.Text(strings.Join(f.Examples, ", ")))
		}
	}
}
