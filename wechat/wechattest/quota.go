package wechattest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// defaultDaily are the daily quotas of a newly registered account, from the
// old official table (fact sheet §6). batchget is not in that table; its
// default is a generous guess (❓), settable with SetDailyQuota.
var defaultDaily = map[string]int{
	"/cgi-bin/token":                  2000,
	"/cgi-bin/stable_token":           500000,
	"/cgi-bin/user/get":               500,
	"/cgi-bin/user/info":              5000000,
	"/cgi-bin/user/info/batchget":     1000000,
	"/cgi-bin/user/info/updateremark": 10000,
}

var defaultMinute = map[string]int{
	"/cgi-bin/stable_token": 10000,
}

// clearsPerMonth is how often clear_quota may be used per account.
const clearsPerMonth = 10

type quotaKey struct{ appid, path string }

type minuteCount struct {
	minute int64
	n      int
}

type quotas struct {
	daily    map[quotaKey]int // limits set by tests; appid "" = every app
	minute   map[quotaKey]int
	used     map[quotaKey]int
	perMin   map[quotaKey]minuteCount
	forces   map[string]int // appid → stable_token force_refreshes today
	day      string
	clears   map[string]int // appid → clears this month
	clearMon string
}

func newQuotas() quotas {
	return quotas{
		daily:  map[quotaKey]int{},
		minute: map[quotaKey]int{},
		used:   map[quotaKey]int{},
		perMin: map[quotaKey]minuteCount{},
		forces: map[string]int{},
		clears: map[string]int{},
	}
}

// SetDailyQuota sets how many calls of path appid may make per day before
// 45009 (appid "" sets it for every app without its own; n < 0 lifts it).
func (s *Server) SetDailyQuota(appid, path string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.daily[quotaKey{appid, path}] = n
}

// SetMinuteLimit sets how many calls of path appid may make per clock
// minute before 45011 (appid "" for every app; n < 0 lifts it).
func (s *Server) SetMinuteLimit(appid, path string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.minute[quotaKey{appid, path}] = n
}

// limit looks a limit up: the app's own, then the all-apps one, then the
// default; -1 means none. The caller holds s.mu.
func limit(set map[quotaKey]int, defaults map[string]int, appid, path string) int {
	if n, ok := set[quotaKey{appid, path}]; ok {
		return n
	}
	if n, ok := set[quotaKey{"", path}]; ok {
		return n
	}
	if n, ok := defaults[path]; ok {
		return n
	}
	return -1
}

// rollover clears the daily counters (force_refreshes included) when the
// quota day has changed; the caller holds s.mu.
func (s *Server) rollover(now time.Time) {
	if day := now.In(s.cfg.resetLoc).Format("2006-01-02"); day != s.q.day {
		s.q.day = day
		clear(s.q.used)
		clear(s.q.forces)
	}
	if mon := now.In(s.cfg.resetLoc).Format("2006-01"); mon != s.q.clearMon {
		s.q.clearMon = mon
		clear(s.q.clears)
	}
}

// admit counts one call of path by appid against its daily quota and
// minute limit, or refuses it with 45009 or 45011 (a refused call uses
// nothing).
func (s *Server) admit(appid, path string) *apiError {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollover(now)
	k := quotaKey{appid, path}
	if d := limit(s.q.daily, defaultDaily, appid, path); d >= 0 && s.q.used[k] >= d {
		return &apiError{code: 45009}
	}
	minute := now.Unix() / 60
	mc := s.q.perMin[k]
	if mc.minute != minute {
		mc = minuteCount{minute: minute}
	}
	if m := limit(s.q.minute, defaultMinute, appid, path); m >= 0 && mc.n >= m {
		return &apiError{code: 45011}
	}
	mc.n++
	s.q.perMin[k] = mc
	s.q.used[k]++
	return nil
}

// clearQuota resets appid's daily counters, up to clearsPerMonth times.
func (s *Server) clearQuota(appid string) ([]byte, *apiError) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollover(now)
	if s.q.clears[appid] >= clearsPerMonth {
		return nil, &apiError{code: 48006}
	}
	s.q.clears[appid]++
	for k := range s.q.used {
		if k.appid == appid {
			delete(s.q.used, k)
		}
	}
	return okBody(), nil
}

// handleClearQuota serves POST /cgi-bin/clear_quota {"appid":…}; the appid
// must be the token's own.
func (s *Server) handleClearQuota(r *http.Request, tokenApp string) ([]byte, *apiError) {
	var req struct {
		AppID string `json:"appid"`
	}
	if aerr := decodeBody(r, &req); aerr != nil {
		return nil, aerr
	}
	if req.AppID == "" {
		return nil, &apiError{code: 41002}
	}
	if req.AppID != tokenApp {
		return nil, &apiError{code: 40013}
	}
	return s.clearQuota(req.AppID)
}

// handleClearQuotaV2 serves POST /cgi-bin/clear_quota/v2?appid=…&appsecret=…,
// the variant that needs no access token.
func (s *Server) handleClearQuotaV2(r *http.Request, _ string) ([]byte, *apiError) {
	q := r.URL.Query()
	appid := q.Get("appid")
	if appid == "" {
		return nil, &apiError{code: 41002}
	}
	a := s.w.byID[appid]
	if a == nil {
		return nil, &apiError{code: 40013}
	}
	if q.Get("appsecret") != a.info.Secret {
		return nil, &apiError{code: 40125}
	}
	return s.clearQuota(appid)
}

// handleQuotaGet serves POST /cgi-bin/openapi/quota/get {"cgi_path":…}.
// An API without a limit reports daily_limit 0; one without a minute limit
// reports rate_limit {0, 0}.
func (s *Server) handleQuotaGet(r *http.Request, appid string) ([]byte, *apiError) {
	var req struct {
		CGIPath string `json:"cgi_path"`
	}
	if aerr := decodeBody(r, &req); aerr != nil {
		return nil, aerr
	}
	if strings.HasPrefix(req.CGIPath, "/sns/") {
		return nil, &apiError{code: 76022}
	}
	if _, ok := endpoints[req.CGIPath]; !ok {
		return nil, &apiError{code: 76003}
	}
	now := s.clock.Now()
	s.mu.Lock()
	s.rollover(now)
	k := quotaKey{appid, req.CGIPath}
	daily := max(limit(s.q.daily, defaultDaily, appid, req.CGIPath), 0)
	used := s.q.used[k]
	perMin := max(limit(s.q.minute, defaultMinute, appid, req.CGIPath), 0)
	s.mu.Unlock()
	refresh := 0
	if perMin > 0 {
		refresh = 60
	}
	b := []byte(`{"errcode":0,"errmsg":"ok","quota":{"daily_limit":`)
	b = strconv.AppendInt(b, int64(daily), 10)
	b = append(b, `,"used":`...)
	b = strconv.AppendInt(b, int64(used), 10)
	b = append(b, `,"remain":`...)
	b = strconv.AppendInt(b, int64(max(daily-used, 0)), 10)
	b = append(b, `},"rate_limit":{"call_count":`...)
	b = strconv.AppendInt(b, int64(perMin), 10)
	b = append(b, `,"refresh_second":`...)
	b = strconv.AppendInt(b, int64(refresh), 10)
	b = append(b, `},"component_rate_limit":{"call_count":0,"refresh_second":0}}`...)
	return b, nil
}
