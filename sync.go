package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/wechat"
)

// runSync fetches the followers of all apps, or of those named with --app,
// into the cache. It exits 0 only when every named app synced completely.
func runSync(ctx context.Context, env *cmdEnv, args []string) error {
	fs, configPath := newFlagSet("sync")
	var names stringList
	fs.Var(&names, "app", "sync only the app named `NAME`; repeat for several")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cfg, err := env.loadConfig(*configPath)
	if err != nil {
		return err
	}
	apps, err := selectApps("sync", cfg, names)
	if err != nil {
		return err
	}
	if err := requireSecrets(apps); err != nil {
		return err
	}
	return syncApps(ctx, env, cfg, apps, syncHooks{})
}

// syncHooks lets tests and benchmarks reach into a sync run.
type syncHooks struct {
	httpClient *http.Client // nil: the client's default
	// opts adjusts the engine's options of every app.
	opts func(*cache.SyncOptions)
}

// syncApps syncs apps into the cache, all at once: each app has its own
// quotas and its own round trips, so one app's wait is no reason to keep
// another waiting, and the writes of all share the one cache file. An app
// that fails does not stop the others.
func syncApps(ctx context.Context, env *cmdEnv, cfg *config.Config, apps []config.App, hooks syncHooks) error {
	command := "wxscope sync"
	if len(apps) < len(cfg.Apps) {
		for _, a := range apps {
			command += " --app " + a.Name
		}
	}
	store, err := cache.Open(cfg.Cache, cache.Options{Mode: cache.Shared, Command: command})
	if err != nil {
		return err
	}
	defer store.Close()
	unlock, err := lockSync(cfg.Cache, command)
	if err != nil {
		return err
	}
	defer unlock()

	labels := map[string]string{}
	for _, a := range cfg.Apps {
		labels[a.AppID] = a.Name
	}
	if err := store.SetAppNames(labels); err != nil {
		return err
	}

	view := newSyncView(env, apps)
	errs := make([]error, len(apps))
	var wg sync.WaitGroup
	for i, app := range apps {
		wg.Go(func() {
			src, err := newWechatSource(cfg, app, hooks.httpClient)
			if err != nil {
				errs[i] = err
				view.update(i, cache.Progress{Name: app.Name, Phase: cache.PhaseFailed, Final: true, Err: err})
				return
			}
			opts := engineOptions(cfg, func(p cache.Progress) { view.update(i, p) }, view.every())
			if hooks.opts != nil {
				hooks.opts(&opts)
			}
			errs[i] = cache.Sync(ctx, store, app.AppID, src, opts)
		})
	}
	wg.Wait()
	view.close()

	var sentences []string
	interrupted := false
	for i, err := range errs {
		switch {
		case err == nil:
		case ctx.Err() != nil && errors.Is(err, context.Canceled):
			interrupted = true
		default:
			sentences = append(sentences, syncFailure(cfg, apps[i], err))
		}
	}
	if interrupted {
		// The frame prints "interrupted; run the same command again to go
		// on" for a bare context.Canceled; other apps' failures go first.
		for _, s := range sentences {
			fmt.Fprintln(env.stderr, "wxscope: "+plain(s))
		}
		return context.Canceled
	}
	if len(sentences) > 0 {
		return syncFailures(sentences)
	}
	return nil
}

// engineOptions are the sync engine's options for one app of cfg, for the
// sync command and the TUI alike.
func engineOptions(cfg *config.Config, progress func(cache.Progress), every time.Duration) cache.SyncOptions {
	opts := cache.SyncOptions{
		Concurrency:   cfg.Concurrency,
		MaxAge:        cfg.MaxAge,
		Progress:      progress,
		ProgressEvery: every,
	}
	if cfg.MaxAge == 0 {
		// The config's "0s" means refetch every profile; the engine's zero
		// value means its default.
		opts.MaxAge = -1
	}
	return opts
}

// syncFailures are the sentences of the apps that did not finish, one per
// line on stderr.
type syncFailures []string

func (f syncFailures) Error() string { return strings.Join(f, "\nwxscope: ") }

// syncFailure says in one sentence why app did not finish and what to do.
func syncFailure(cfg *config.Config, app config.App, err error) string {
	again := fmt.Sprintf("run `wxscope sync --app %s`", app.Name)
	var (
		qe     *cache.QuotaError
		apiErr *wechat.APIError
		stErr  *wechat.StatusError
		inUse  *cache.InUseError
		netErr net.Error
	)
	switch {
	case errors.As(err, &qe):
		when := "the quota resets (00:00 Beijing time)"
		if !qe.ResetAt.IsZero() {
			when = qe.ResetAt.Format("2006-01-02 15:04 -07:00")
		}
		return fmt.Sprintf("%s: %s daily quota spent; the sync resumes where it stopped after %s — %s then (or clear the quota in the WeChat console)",
			app.Name, strings.TrimPrefix(qe.API, "cgi-bin/"), when, again)
	case errors.As(err, &apiErr):
		return apiFailure(cfg, app, apiErr, again)
	case errors.As(err, &stErr):
		return fmt.Sprintf("%s: the API at %s answered %s with HTTP status %d, so something between here and WeChat is failing; check api_base in %s, then %s again",
			app.Name, cfg.APIBase, strings.TrimPrefix(stErr.Path, "cgi-bin/"), stErr.StatusCode, cfg.File, again)
	case errors.As(err, &inUse):
		return fmt.Sprintf("%s: %s", app.Name, inUse.Error())
	case errors.As(err, &netErr):
		return fmt.Sprintf("%s: cannot reach the API at %s (%v); check the network and api_base in %s, then %s again",
			app.Name, cfg.APIBase, netErr, cfg.File, again)
	case strings.Contains(err.Error(), "token_command"):
		return fmt.Sprintf("%s: %v; fix the token_command of app %q in %s, then %s", app.Name, err, app.Name, cfg.File, again)
	default:
		return fmt.Sprintf("%s: %v; %s again to resume", app.Name, err, again)
	}
}

// apiFailure explains an errcode the API answered with.
func apiFailure(cfg *config.Config, app config.App, e *wechat.APIError, again string) string {
	code := fmt.Sprintf("%d %s", e.Code, cleanErrmsg(e.Msg))
	tokenCall := e.Path == wechat.PathToken || e.Path == wechat.PathStableToken
	api := strings.TrimPrefix(e.Path, "cgi-bin/")
	switch {
	case tokenCall && (e.Code == 40125 || e.Code == 40001 || e.Code == 40002):
		return fmt.Sprintf("%s: WeChat rejected the AppSecret (%s); check %s", app.Name, code, app.SecretEnv)
	case e.Code == 40013:
		return fmt.Sprintf("%s: WeChat does not know the appid %s (%s); check the appid of app %q in %s", app.Name, app.AppID, code, app.Name, cfg.File)
	case e.Code == 40243:
		return fmt.Sprintf("%s: the AppSecret is frozen (%s); unfreeze or reset it in the WeChat console and update %s", app.Name, code, app.SecretEnv)
	case e.Code == 40164 || e.Code == 89501 || e.Code == 89503 || e.Code == 89506 || e.Code == 89507:
		return fmt.Sprintf("%s: WeChat refused this machine's IP (%s); add it to the account's IP whitelist in the WeChat console, then %s", app.Name, code, again)
	case e.Code == 48001:
		return fmt.Sprintf("%s: the account may not call %s (%s); it needs to be a verified service account with that permission", app.Name, api, code)
	case (e.Code == 40001 || e.Code == 40014 || e.Code == 42001) && app.Token == config.TokenFromCommand:
		return fmt.Sprintf("%s: WeChat rejected the token from token_command (%s); check that `%s` prints a current access token of %s", app.Name, code, app.TokenCommand, app.AppID)
	case e.Code == 40001 || e.Code == 40014 || e.Code == 42001:
		return fmt.Sprintf("%s: WeChat rejected a fresh access token (%s), so another service may be resetting this app's token; use token = \"stable\" for it in %s, then %s", app.Name, code, cfg.File, again)
	case e.Code == 50002:
		return fmt.Sprintf("%s: WeChat says the account is limited (%s); check its status in the WeChat console", app.Name, code)
	default:
		return fmt.Sprintf("%s: WeChat answered %s with errcode %s; %s again to resume, and look the errcode up in WeChat's docs if it persists", app.Name, api, code, again)
	}
}

// errmsgNoise is what WeChat appends to an errmsg after its text (", view
// more at http://t.cn/…", " hint: […]", " rid: …"): it helps WeChat's
// support, not the person reading the sentence.
var errmsgNoise = regexp.MustCompile(`(,|\s+(rid|hints?):).*$`)

func cleanErrmsg(msg string) string {
	return strings.TrimSpace(errmsgNoise.ReplaceAllString(msg, ""))
}
