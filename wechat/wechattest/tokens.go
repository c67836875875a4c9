package wechattest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

const (
	tokenTTL   = 7200 * time.Second
	tokenGrace = 300 * time.Second // old tokens live this long after a refetch
	forceGap   = 30 * time.Second  // stable force_refresh spacing
	forceDaily = 20                // stable force_refresh per day
)

// token is one issued access token. /cgi-bin/token and stable_token keep
// separate "latest" pointers, so neither invalidates the other's tokens.
type token struct {
	appid      string
	expires    time.Time
	graceUntil time.Time // zero while the token is the latest of its kind
}

type stableState struct {
	cur       *token
	curValue  string
	lastForce time.Time
}

// checkToken returns the appid a token belongs to, or the error the API
// gives for it: 40014 for a token never issued, 42001 once expired, 40001
// once superseded for more than the grace period.
func (s *Server) checkToken(value string) (string, *apiError) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[value]
	switch {
	case t == nil:
		return "", &apiError{code: 40014}
	case !now.Before(t.expires):
		return "", &apiError{code: 42001}
	case !t.graceUntil.IsZero() && !now.Before(t.graceUntil):
		return "", &apiError{code: 40001}
	}
	return t.appid, nil
}

// ExpireTokens makes every token of appid, of both kinds, answer 42001.
func (s *Server) ExpireTokens(appid string) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.appid == appid && t.expires.After(now) {
			t.expires = now
		}
	}
}

// mint issues a new token; the caller holds s.mu. Real tokens are opaque,
// over a hundred characters of url-safe text.
func (s *Server) mint(appid string, now time.Time) (string, *token) {
	raw := make([]byte, 102)
	rand.Read(raw)
	value := "93_" + base64.RawURLEncoding.EncodeToString(raw)
	t := &token{appid: appid, expires: now.Add(tokenTTL)}
	s.tokens[value] = t
	return value, t
}

// admitCredentials validates the parameters both token endpoints share,
// then counts the call against appid's quota for the endpoint (r's path).
func (s *Server) admitCredentials(r *http.Request, grant, appid, secret string) *apiError {
	if grant != "client_credential" {
		return &apiError{code: 40002}
	}
	if appid == "" {
		return &apiError{code: 41002}
	}
	a := s.w.byID[appid] // the app list never changes after NewWorld
	if a == nil {
		return &apiError{code: 40013}
	}
	if secret == "" {
		return &apiError{code: 41004}
	}
	if secret != a.info.Secret {
		return &apiError{code: 40125}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	s.mu.Lock()
	allowed := s.whitelist[appid]
	s.mu.Unlock()
	if allowed != nil && !allowed[host] {
		return &apiError{code: 40164, text: "invalid ip " + host + " ipv6 ::ffff:" + host + ", not in whitelist"}
	}
	return s.admit(appid, r.URL.Path)
}

func tokenBody(value string, expiresIn int64) []byte {
	b := append([]byte(`{"access_token":`), appendString(nil, value)...)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, expiresIn, 10)
	return append(b, '}')
}

// handleToken serves GET /cgi-bin/token: every success mints a new token
// and leaves the previous one 300 s to live.
func (s *Server) handleToken(r *http.Request, _ string) ([]byte, *apiError) {
	q := r.URL.Query()
	appid := q.Get("appid")
	if aerr := s.admitCredentials(r, q.Get("grant_type"), appid, q.Get("secret")); aerr != nil {
		return nil, aerr
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.classic[appid]; prev != nil {
		prev.graceUntil = now.Add(tokenGrace)
	}
	value, t := s.mint(appid, now)
	s.classic[appid] = t
	return tokenBody(value, int64(tokenTTL/time.Second)), nil
}

// handleStableToken serves POST /cgi-bin/stable_token: the same token
// while it has more than 300 s left, a new one in its last 300 s (so
// expires_in is never below 300), and force_refresh at most 20 times a day
// and 30 s apart, otherwise the current token unchanged.
func (s *Server) handleStableToken(r *http.Request, _ string) ([]byte, *apiError) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if aerr := decodeBody(r, &req); aerr != nil {
		return nil, aerr
	}
	if aerr := s.admitCredentials(r, req.GrantType, req.AppID, req.Secret); aerr != nil {
		return nil, aerr
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stable[req.AppID]
	if st == nil {
		st = &stableState{}
		s.stable[req.AppID] = st
	}
	// admitCredentials rolled the quota day over, so s.q.forces counts
	// today's force_refreshes.
	switch {
	case st.cur == nil || st.cur.expires.Sub(now) < tokenGrace:
		if st.cur != nil {
			st.cur.graceUntil = now.Add(tokenGrace)
		}
		st.curValue, st.cur = s.mint(req.AppID, now)
	case req.ForceRefresh && s.q.forces[req.AppID] < forceDaily && (st.lastForce.IsZero() || now.Sub(st.lastForce) >= forceGap):
		s.q.forces[req.AppID]++
		st.lastForce = now
		st.cur.graceUntil = now.Add(s.cfg.forceGrace)
		st.curValue, st.cur = s.mint(req.AppID, now)
	}
	return tokenBody(st.curValue, int64(st.cur.expires.Sub(now)/time.Second)), nil
}

// decodeBody reads a JSON request body into v; any failure is WeChat's
// 47001 "data format error".
func decodeBody(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		return &apiError{code: 47001}
	}
	return nil
}
