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
	"wxscope/wording"
)

// rootCause is the innermost error of err's chain: "connection refused"
// where the whole chain reads `Get "http://…/cgi-bin/user/get?…": dial tcp
// 127.0.0.1:1: connect: connection refused`.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// Failure is a sync that did not finish, as the user reads it: one sentence
// saying why and what to do (the headless sync prints it), the same for the
// TUI's row of the app (TUI: without the app's name, which the row shows,
// and with the key where the command line names the command), and the
// error behind it kept for errors.As.
type Failure struct {
	App      string // the app's name
	Sentence string
	// TUI is the sentence for the TUI; "" means Sentence does for both.
	TUI string
	Err error
}

func (f *Failure) Error() string { return f.Sentence }
func (f *Failure) Unwrap() error { return f.Err }

// Explain implements wording.Explainer.
func (f *Failure) Explain(a wording.Audience) string {
	if a == wording.TUI && f.TUI != "" {
		return f.TUI
	}
	return f.Sentence
}

// Explain says in one sentence why a call of app's API failed and what to
// do; a sync's failure says it too.
func Explain(cfg *config.Config, app config.App, err error) string {
	return explain(wording.CLI, cfg, app, err)
}

// explain is Explain for the audience a. For the TUI the sentence does not
// start with the app's name (it shows on the app's row) and says press s
// where the command line says which command to run.
func explain(a wording.Audience, cfg *config.Config, app config.App, err error) string {
	again := wording.SyncAgain(a, app.Name)
	subject := app.Name + ": "
	if a == wording.TUI {
		subject = ""
	}
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
		return fmt.Sprintf("%s%s daily quota spent; the sync resumes where it stopped after %s — %s then (or clear the quota in the WeChat console)",
			subject, strings.TrimPrefix(qe.API, "cgi-bin/"), when, again)
	case errors.As(err, &apiErr):
		return apiFailure(cfg, app, apiErr, subject, again)
	case errors.As(err, &bodyErr) && errors.Is(err, wechat.ErrBodyTooLarge):
		return fmt.Sprintf("%sthe API at %s answered %s with more than %d bytes, more than any WeChat answer, so something between here and WeChat is failing; check api_base in %s, then %s again",
			subject, cfg.APIBase, strings.TrimPrefix(bodyErr.Path, "cgi-bin/"), bodyErr.Limit, cfg.File, again)
	case errors.As(err, &bodyErr):
		return fmt.Sprintf("%sthe API at %s answered %s with something other than WeChat's JSON (it starts %q), even when asked again, so a proxy or gateway may be in the way; check api_base in %s, then %s again",
			subject, cfg.APIBase, strings.TrimPrefix(bodyErr.Path, "cgi-bin/"), bodyErr.Start, cfg.File, again)
	case errors.As(err, &stErr):
		return fmt.Sprintf("%sthe API at %s answered %s with HTTP status %d, so something between here and WeChat is failing; check api_base in %s, then %s again",
			subject, cfg.APIBase, strings.TrimPrefix(stErr.Path, "cgi-bin/"), stErr.StatusCode, cfg.File, again)
	case errors.As(err, &damaged):
		return damaged.Error()
	case errors.As(err, &full):
		return subject + full.Error()
	case cache.IsDiskFull(err):
		return subject + (&cache.DiskFullError{Path: cfg.Cache, Err: err}).Error()
	case errors.As(err, &inUse):
		return subject + inUse.Error()
	case errors.Is(err, ErrRunning):
		var le *lockError
		if a == wording.TUI && errors.As(err, &le) {
			return le.who() + " is syncing this cache; wait for it to finish, then " + again
		}
		return fmt.Sprintf("%s: %v", app.Name, err)
	// Only an HTTP exchange's failure is the network's: a syscall.Errno is
	// a net.Error too, and a full disk is no reason to check the network.
	// The TUI names the innermost cause ("connection refused"), not the
	// whole request.
	case errors.As(err, &urlErr) && errors.As(err, &netErr) && netErr.Timeout():
		cause := any(urlErr)
		if a == wording.TUI {
			cause = rootCause(err)
		}
		return fmt.Sprintf("%sthe API at %s did not answer in time, even when asked again (%v); check the network and api_base in %s, then %s again",
			subject, cfg.APIBase, cause, cfg.File, again)
	case errors.As(err, &urlErr):
		cause := any(urlErr)
		if a == wording.TUI {
			cause = rootCause(err)
		}
		return fmt.Sprintf("%scannot reach the API at %s (%v); check the network and api_base in %s, then %s again",
			subject, cfg.APIBase, cause, cfg.File, again)
	case strings.Contains(err.Error(), "token_command") && a == wording.TUI:
		msg := err.Error()
		return fmt.Sprintf("the %s; fix the token_command of app %q in %s, then %s again", msg[strings.Index(msg, "token_command"):], app.Name, cfg.File, again)
	case strings.Contains(err.Error(), "token_command"):
		return fmt.Sprintf("%s: %v; fix the token_command of app %q in %s, then %s", app.Name, err, app.Name, cfg.File, again)
	case a == wording.TUI:
		return fmt.Sprintf("%s; %s to resume", wording.Bare(err.Error()), again)
	default:
		return fmt.Sprintf("%s: %v; %s again to resume", app.Name, err, again)
	}
}

// apiFailure explains an errcode the API answered with.
func apiFailure(cfg *config.Config, app config.App, e *wechat.APIError, subject, again string) string {
	code := fmt.Sprintf("%d %s", e.Code, cleanErrmsg(e.Msg))
	tokenCall := e.Path == wechat.PathToken || e.Path == wechat.PathStableToken
	api := strings.TrimPrefix(e.Path, "cgi-bin/")
	switch {
	case tokenCall && (e.Code == 40125 || e.Code == 40001 || e.Code == 40002):
		return fmt.Sprintf("%sWeChat rejected the AppSecret (%s); check %s", subject, code, app.SecretEnv)
	case e.Code == 40013:
		return fmt.Sprintf("%sWeChat does not know the appid %s (%s); check the appid of app %q in %s", subject, app.AppID, code, app.Name, cfg.File)
	case e.Code == 40243:
		return fmt.Sprintf("%sthe AppSecret is frozen (%s); unfreeze or reset it in the WeChat console and update %s", subject, code, app.SecretEnv)
	case e.Code == 40164 || e.Code == 89501 || e.Code == 89503 || e.Code == 89506 || e.Code == 89507:
		return fmt.Sprintf("%sWeChat refused this machine's IP (%s); add it to the account's IP whitelist in the WeChat console, then %s", subject, code, again)
	case e.Code == 48001:
		return fmt.Sprintf("%sthe account may not call %s (%s); it needs to be a verified service account with that permission", subject, api, code)
	case (e.Code == 40001 || e.Code == 40014 || e.Code == 42001) && app.Token == config.TokenFromCommand:
		return fmt.Sprintf("%sWeChat rejected the token from token_command (%s); check that `%s` prints a current access token of %s", subject, code, app.TokenCommand, app.AppID)
	case e.Code == 40001 || e.Code == 40014 || e.Code == 42001:
		return fmt.Sprintf("%sWeChat rejected a fresh access token (%s), so another service may be resetting this app's token; use token = \"stable\" for it in %s, then %s", subject, code, cfg.File, again)
	case e.Code == 50002:
		return fmt.Sprintf("%sWeChat says the account is limited (%s); check its status in the WeChat console", subject, code)
	default:
		return fmt.Sprintf("%sWeChat answered %s with errcode %s; %s again to resume, and look the errcode up in WeChat's docs if it persists", subject, api, code, again)
	}
}

// errmsgNoise is what WeChat appends to an errmsg after its text (", view
// more at http://t.cn/…", " hint: […]", " rid: …"): it helps WeChat's
// support, not the person reading the sentence.
var errmsgNoise = regexp.MustCompile(`(,|\s+(rid|hints?):).*$`)

func cleanErrmsg(msg string) string {
	return strings.TrimSpace(errmsgNoise.ReplaceAllString(msg, ""))
}
