package wechat

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ErrDailyQuota marks an API whose daily call quota is spent (errcode 45009).
// The error that carries it is a *QuotaError saying which API and when the
// quota resets.
var ErrDailyQuota = errors.New("daily API quota spent")

// ErrInvalidOpenID marks a call that failed as a whole because an openid is
// malformed, not a follower, or belongs to another account (errcode 40003).
// In a batch the caller can split the batch in halves to isolate the bad ids.
var ErrInvalidOpenID = errors.New("invalid openid")

// ErrBatchSize is returned, before any call is made, for a batch with no
// openids or more than MaxBatch distinct ones.
var ErrBatchSize = errors.New("batch must hold 1 to 100 distinct openids")

// ErrBodyTooLarge is returned when a response body exceeds Config.MaxBodyBytes.
var ErrBodyTooLarge = errors.New("response body too large")

// ErrCursorStuck is returned by Followers and Blacklist when the API hands
// back a cursor it has already given in this listing (the very cursor it was
// asked with, or an earlier one), which would otherwise loop forever.
var ErrCursorStuck = errors.New("list cursor did not advance")

// ErrNoPermission marks an API the account may not call (errcode 48001, "api
// unauthorized"): datacube and tags need a verified account. An *APIError
// with that code matches it with errors.Is.
var ErrNoPermission = errors.New("account lacks permission for this API")

// ErrDateFormat marks a datacube date the API could not read (errcode
// 61500). An *APIError with that code matches it with errors.Is.
var ErrDateFormat = errors.New("datacube date format refused")

// ErrDateRange marks a datacube range that is refused: by the API (errcode
// 61501, "date range error"; an *APIError with that code matches it with
// errors.Is), or before any call by the client, for an end before the
// begin or a span over MaxDatacubeDays.
var ErrDateRange = errors.New("datacube date range refused")

// APIError is an error the WeChat API reported in a response body. Msg is the
// API's errmsg as sent (with any secret scrubbed); it is shown, never parsed.
type APIError struct {
	AppID string // the app whose call failed
	Path  string // e.g. "cgi-bin/user/get"
	Code  int    // errcode
	Msg   string // errmsg
}

// Is lets errors.Is match an errcode with its sentinel: 48001 with
// ErrNoPermission, 61500 with ErrDateFormat, 61501 with ErrDateRange.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNoPermission:
		return e.Code == 48001
	case ErrDateFormat:
		return e.Code == 61500
	case ErrDateRange:
		return e.Code == 61501
	}
	return false
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("wechat %s: %s: errcode %d: %s", e.AppID, e.Path, e.Code, e.Msg)
	if h := hint(e.Path, e.Code); h != "" {
		s += " (" + h + ")"
	}
	return s
}

// hint says what a user can do about the errcodes an operator can fix.
func hint(path string, code int) string {
	tokenPath := path == PathToken || path == PathStableToken
	switch code {
	case 40013:
		return "check the appid in the config"
	case 40125:
		return "check the AppSecret in the config"
	case 40001:
		if tokenPath {
			return "check the AppSecret in the config"
		}
		return "the access token was replaced; if this keeps happening, another service is refreshing this app's token (use token = \"stable\" or token_command)"
	case 40243:
		return "the AppSecret is frozen: unfreeze or reset it in the console"
	case 40164:
		return "add this machine's IP to the account's IP whitelist in the console"
	case 89501, 89503, 89506, 89507:
		return "an admin must approve this IP in the console"
	case 48001:
		return "the account lacks permission for this API (unverified account?)"
	case 61500:
		return "the API could not read a date; dates go as yyyy-MM-dd"
	case 61501:
		return "the API refused the date range: at most 7 days, the begin not after the end"
	case 61024:
		return "this appid is a third-party platform (component) account"
	}
	return ""
}

// QuotaError says that one API's daily quota is spent and when it resets
// (00:00 China time, UTC+8). It wraps ErrDailyQuota and the *APIError.
type QuotaError struct {
	AppID   string
	Path    string
	ResetAt time.Time
	Err     error
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("wechat %s: %s: daily quota spent; it resets at %s, or clear it in the console",
		e.AppID, e.Path, e.ResetAt.Format("2006-01-02 15:04 -07:00"))
}

// Unwrap lets errors.Is find ErrDailyQuota and errors.As find the *APIError.
func (e *QuotaError) Unwrap() []error { return []error{ErrDailyQuota, e.Err} }

// StatusError is an HTTP response whose status was not 200. The real API
// answers every API error with 200, so this comes from a gateway or proxy.
type StatusError struct {
	AppID      string
	Path       string
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("wechat %s: %s: HTTP status %d", e.AppID, e.Path, e.StatusCode)
}

// BodyError is an HTTP 200 answer that is not a WeChat answer: cut off, a
// proxy's HTML page, or larger than MaxBodyBytes (then it wraps
// ErrBodyTooLarge). Start is the answer's first bytes, for the message.
type BodyError struct {
	AppID string
	Path  string
	Start string
	Limit int64 // the cap the answer exceeded; 0 when it is not too large
	Err   error
}

func (e *BodyError) Error() string {
	if errors.Is(e.Err, ErrBodyTooLarge) {
		return fmt.Sprintf("wechat %s: %s: %v", e.AppID, e.Path, e.Err)
	}
	return fmt.Sprintf("wechat %s: %s: the answer is not WeChat's JSON (%v), it starts %q", e.AppID, e.Path, e.Err, e.Start)
}

func (e *BodyError) Unwrap() error { return e.Err }

// bodyStart is the first bytes of a body for a BodyError, cut at a rune.
func bodyStart(body []byte) string {
	const n = 40
	if len(body) <= n {
		return strings.ToValidUTF8(string(body), "")
	}
	return strings.ToValidUTF8(string(body[:n]), "") + "…"
}

// chinaTime is the zone the daily quotas are believed to reset in.
var chinaTime = time.FixedZone("UTC+8", 8*3600)

// nextQuotaReset is the next 00:00 UTC+8 strictly after now.
func nextQuotaReset(now time.Time) time.Time {
	t := now.In(chinaTime)
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, chinaTime)
}

// secretQueryKeys are the query parameters whose values must never be shown.
var secretQueryKeys = []string{"access_token", "secret", "appsecret"}

// redactURL replaces the values of secret query parameters with REDACTED.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	q := u.Query()
	changed := false
	for _, k := range secretQueryKeys {
		if q.Has(k) {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// scrubber removes known secrets from text bound for an error message.
type scrubber struct{ secrets []string }

func (s scrubber) scrub(text string) string {
	for _, v := range s.secrets {
		if len(v) >= 4 { // shorter values would mangle ordinary text
			text = strings.ReplaceAll(text, v, "REDACTED")
		}
	}
	return secretParam.ReplaceAllString(text, "${1}=REDACTED")
}

// secretParam finds secret query parameters inside arbitrary text, such as a
// URL quoted in an error from net/http.
var secretParam = regexp.MustCompile(`(?i)\b(access_token|secret|appsecret)=[^&\s"']*`)

// transportError wraps an error from the HTTP round trip with the URL's
// secret query values redacted. Its text is scrubbed of every known secret,
// and its chain holds only the redacted *url.Error, so printing any error in
// the chain is safe.
type transportError struct {
	appID, path string
	msg         string
	err         error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("wechat %s: %s: %s", e.appID, e.path, e.msg)
}

func (e *transportError) Unwrap() error { return e.err }

func newTransportError(appID, path string, err error, s scrubber) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: scrubInner(ue.Err, s)}
	}
	return &transportError{appID: appID, path: path, msg: s.scrub(err.Error()), err: err}
}

// scrubInner keeps the inner error of a *url.Error when its text holds no
// secret (so errors.Is(err, context.Canceled) and net.Error still work), and
// replaces it by a scrubbed copy of its text otherwise.
func scrubInner(err error, s scrubber) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := s.scrub(msg); clean != msg {
		return errors.New(clean)
	}
	return err
}
