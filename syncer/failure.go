package syncer

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/wechat"
)

// Failure is a sync that did not finish, as the user reads it: one sentence
// saying why and what to do (the headless sync prints it, the TUI shows it
// in the app's row), with the error behind it kept for errors.As.
type Failure struct {
	App      string // the app's name
	Sentence string
	Err      error
}

func (f *Failure) Error() string { return f.Sentence }
func (f *Failure) Unwrap() error { return f.Err }

// Explain says in one sentence why a call of app's API failed and what to
// do; a sync's failure says it too.
func Explain(cfg *config.Config, app config.App, err error) string {
	again := fmt.Sprintf("run `wxscope sync --app %s`", app.Name)
	var (
		qe      *cache.QuotaError
		apiErr  *wechat.APIError
		stErr   *wechat.StatusError
		inUse   *cache.InUseError
		damaged *cache.DamagedError
		bodyErr *wechat.BodyError
		full    *cache.DiskFullError
		urlErr  *url.Error
		netErr  net.Error
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
	case errors.As(err, &bodyErr) && errors.Is(err, wechat.ErrBodyTooLarge):
		return fmt.Sprintf("%s: the API at %s answered %s with more than %d bytes, more than any WeChat answer, so something between here and WeChat is failing; check api_base in %s, then %s again",
			app.Name, cfg.APIBase, strings.TrimPrefix(bodyErr.Path, "cgi-bin/"), bodyErr.Limit, cfg.File, again)
	case errors.As(err, &bodyErr):
		return fmt.Sprintf("%s: the API at %s answered %s with something other than WeChat's JSON (it starts %q), even when asked again, so a proxy or gateway may be in the way; check api_base in %s, then %s again",
			app.Name, cfg.APIBase, strings.TrimPrefix(bodyErr.Path, "cgi-bin/"), bodyErr.Start, cfg.File, again)
	case errors.As(err, &stErr):
		return fmt.Sprintf("%s: the API at %s answered %s with HTTP status %d, so something between here and WeChat is failing; check api_base in %s, then %s again",
			app.Name, cfg.APIBase, strings.TrimPrefix(stErr.Path, "cgi-bin/"), stErr.StatusCode, cfg.File, again)
	case errors.As(err, &damaged):
		return damaged.Error()
	case errors.As(err, &full):
		return fmt.Sprintf("%s: %s", app.Name, full.Error())
	case cache.IsDiskFull(err):
		return fmt.Sprintf("%s: %s", app.Name, (&cache.DiskFullError{Path: cfg.Cache, Err: err}).Error())
	case errors.As(err, &inUse):
		return fmt.Sprintf("%s: %s", app.Name, inUse.Error())
	case errors.Is(err, ErrRunning):
		return fmt.Sprintf("%s: %v", app.Name, err)
	// Only an HTTP exchange's failure is the network's: a syscall.Errno is
	// a net.Error too, and a full disk is no reason to check the network.
	case errors.As(err, &urlErr) && errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("%s: the API at %s did not answer in time, even when asked again (%v); check the network and api_base in %s, then %s again",
			app.Name, cfg.APIBase, urlErr, cfg.File, again)
	case errors.As(err, &urlErr):
		return fmt.Sprintf("%s: cannot reach the API at %s (%v); check the network and api_base in %s, then %s again",
			app.Name, cfg.APIBase, urlErr, cfg.File, again)
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
