package wechattest

import (
	"fmt"
	"net/http"
	"strconv"
)

// Tag is one entry of tags/get: a tag and how many current followers carry it.
type Tag struct {
	ID    int64
	Name  string
	Count int64
}

// Tags returns what tags/get answers for appid: every tag of the world in
// list order, counted over the app's current followers. DeletedTagID is not
// among them. Nil for an unknown app.
func (w *World) Tags(appid string) []Tag {
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if a == nil {
		return nil
	}
	return w.tags(a)
}

// tags counts on demand; the caller holds w.mu.
func (w *World) tags(a *app) []Tag {
	counts := a.roster.tagCounts(func(p uint32) []int64 { return deriveProfile(a.salt, p, w.today).tags })
	out := make([]Tag, len(tagNames))
	for i, t := range tagNames {
		out[i] = Tag{ID: t.id, Name: t.name, Count: counts[t.id]}
	}
	return out
}

// Blacklist returns the blacklisted followers of appid in getblacklist order.
func (w *World) Blacklist(appid string) []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if a == nil {
		return nil
	}
	return a.openIDs(a.roster.blackList())
}

// SetBlacklisted puts a follower of appid on the blacklist or takes it off,
// as tags/members/batchblacklist and batchunblacklist do.
func (w *World) SetBlacklisted(appid, openid string, on bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.byID[appid]
	if a == nil {
		return fmt.Errorf("wechattest: blacklist: no app with appid %q", appid)
	}
	p, ok := w.lookup(a, openid)
	if !ok {
		return fmt.Errorf("wechattest: blacklist: %q is not an openid of app %s", openid, a.info.Name)
	}
	key, ok := a.roster.key(p)
	if !ok {
		return fmt.Errorf("wechattest: blacklist: %s does not follow app %s", openid, a.info.Name)
	}
	a.roster.setBlacklisted(p, key, on)
	return nil
}

// SetUnverified makes appid an account without verification (48001 on the
// verified-only APIs) or a verified one again.
func (w *World) SetUnverified(appid string, on bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.byID[appid]
	if a == nil {
		return fmt.Errorf("wechattest: set unverified: no app with appid %q", appid)
	}
	a.info.Unverified = on
	return nil
}

// checkVerified answers 48001 for an unverified account.
func (w *World) checkVerified(appid string) *apiError {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if a := w.byID[appid]; a != nil && a.info.Unverified {
		return &apiError{code: 48001}
	}
	return nil
}

// handleTagsGet serves GET /cgi-bin/tags/get: the system tags and the
// operator's, each with its follower count (counted on demand). Verified
// accounts only, as the fact sheet says.
func (s *Server) handleTagsGet(_ *http.Request, appid string) ([]byte, *apiError) {
	if aerr := s.w.checkVerified(appid); aerr != nil {
		return nil, aerr
	}
	b := []byte(`{"tags":[`)
	for i, t := range s.w.Tags(appid) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, t.ID, 10)
		b = append(b, `,"name":`...)
		b = appendString(b, t.Name)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, t.Count, 10)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// handleBlacklist serves POST /cgi-bin/tags/members/getblacklist
// {"begin_openid":…}: the blacklisted followers, paged exactly like
// user/get (next_openid the last openid of every non-empty page, then an
// empty answer without data), WithBlacklistPageSize at a time. An absent or
// empty begin_openid starts from the beginning; one of another app of the
// world is 49003 (the fact sheet's "openid not of this appid"); any other
// that is not on this app's blacklist is 40003 (❓ as user/get's cursor).
func (s *Server) handleBlacklist(r *http.Request, appid string) ([]byte, *apiError) {
	var req struct {
		BeginOpenID string `json:"begin_openid"`
	}
	if aerr := decodeBody(r, &req); aerr != nil {
		return nil, aerr
	}
	w := s.w
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if req.BeginOpenID != "" {
		p, ok := w.lookup(a, req.BeginOpenID)
		if !ok {
			for _, other := range w.apps {
				if _, theirs := w.lookup(other, req.BeginOpenID); theirs && other != a {
					return nil, &apiError{code: 49003}
				}
			}
			return nil, &apiError{code: 40003, hint: true}
		}
		key, ok := a.roster.key(p)
		if !ok || !a.roster.blacklisted(p, key) {
			return nil, &apiError{code: 40003, hint: true}
		}
		return appendListPage(nil, a, a.roster.blackList(), key, false, s.cfg.blacklistPageSize), nil
	}
	return appendListPage(nil, a, a.roster.blackList(), 0, true, s.cfg.blacklistPageSize), nil
}
