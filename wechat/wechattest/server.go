package wechattest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves the WeChat API for a World over real HTTP, like
// httptest.Server. Start one with NewServer and point a client's API base
// at URL.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234"; API paths such as
	// "/cgi-bin/user/get" go after it.
	URL string

	w     *World
	ts    *httptest.Server
	clock *Clock
	cfg   config
	done  chan struct{}

	// overshoot is, for each endpoint's path, the moving average of how
	// much longer than aimed its calls took from arrival to answer, in ns
	// (see SetLatency).
	overshoot map[string]*atomic.Int64

	mu        sync.Mutex
	calls     map[string]int
	faults    []*faultState
	latency   time.Duration
	tokens    map[string]*token
	classic   map[string]*token // appid → the latest /cgi-bin/token token
	stable    map[string]*stableState
	whitelist map[string]map[string]bool
	q         quotas
}

type config struct {
	pageSize          int
	blacklistPageSize int
	legacy            bool
	slash             bool
	clock             *Clock
	resetLoc          *time.Location
	forceGrace        time.Duration
	remarkMax         int
}

// Option configures a Server.
type Option func(*config)

// WithPageSize sets the user/get page size (default 10000, as the real API).
func WithPageSize(n int) Option { return func(c *config) { c.pageSize = n } }

// WithBlacklistPageSize sets the tags/members/getblacklist page size. The
// default is 1000, what the current docs (and silenceper's SDK) say; the
// old docs say 10000 (fact sheet §7). The smaller is the likelier today, and
// it makes a blacklist of a few thousand run over several pages, so a
// client that assumed 10000 (and stopped after one short page) is caught.
func WithBlacklistPageSize(n int) Option { return func(c *config) { c.blacklistPageSize = n } }

// WithLegacyBlanks chooses whether user/info answers carry the fields WeChat
// stopped filling in 2021, blank (nickname:"", sex:0, language:"zh_CN",
// city, province, country, headimgurl). Default on, as real answers are;
// off gives the shape the current docs list.
func WithLegacyBlanks(on bool) Option { return func(c *config) { c.legacy = on } }

// WithSlashEscaping makes every "/" in a JSON string go out as "\/", as
// some real answers do. Default off.
func WithSlashEscaping(on bool) Option { return func(c *config) { c.slash = on } }

// WithClock sets the clock tokens and quotas run on (default: a real clock).
func WithClock(c *Clock) Option { return func(cfg *config) { cfg.clock = c } }

// WithDailyReset sets the zone whose midnight resets daily quotas
// (default UTC+8, Beijing time; the real reset time is undocumented).
func WithDailyReset(loc *time.Location) Option { return func(c *config) { c.resetLoc = loc } }

// WithStableForceGrace sets how long a stable token stays valid after a
// force_refresh replaced it (default 0: invalid at once; undocumented).
func WithStableForceGrace(d time.Duration) Option { return func(c *config) { c.forceGrace = d } }

// WithRemarkLimit sets the byte length a remark must stay under in
// updateremark (default 30, per the docs; real accounts reject less).
func WithRemarkLimit(n int) Option { return func(c *config) { c.remarkMax = n } }

// NewServer starts a server for w. Close it when done.
func NewServer(w *World, opts ...Option) *Server {
	cfg := config{pageSize: 10000, blacklistPageSize: 1000, legacy: true, remarkMax: 30, resetLoc: time.FixedZone("UTC+8", 8*3600)}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.pageSize <= 0 {
		cfg.pageSize = 10000
	}
	if cfg.blacklistPageSize <= 0 {
		cfg.blacklistPageSize = 1000
	}
	if cfg.clock == nil {
		cfg.clock = NewRealClock()
	}
	s := &Server{
		w:         w,
		clock:     cfg.clock,
		cfg:       cfg,
		done:      make(chan struct{}),
		calls:     map[string]int{},
		tokens:    map[string]*token{},
		classic:   map[string]*token{},
		stable:    map[string]*stableState{},
		whitelist: map[string]map[string]bool{},
		q:         newQuotas(),
		overshoot: map[string]*atomic.Int64{},
	}
	for path := range endpoints {
		s.overshoot[path] = new(atomic.Int64)
	}
	w.attachClock(cfg.clock.Now)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// Close shuts the server down, cutting short any injected latency.
func (s *Server) Close() {
	close(s.done)
	s.ts.Close()
}

// Clock returns the server's clock.
func (s *Server) Clock() *Clock { return s.clock }

// World returns the world the server serves.
func (s *Server) World() *World { return s.w }

// Client returns an HTTP client for the server (as httptest.Server.Client).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// SetLatency makes every API call take d of wall-clock time at the server,
// from its arrival to its answer, concurrent calls overlapping as on the
// real API. A request whose context is cancelled during the delay gets no
// answer.
//
// The delay comes first and the answer is built after it, so the answer
// says how things stand when it is sent. Two things would make a call
// slower than d: Go's timers wake up to a millisecond late when the
// process is idle (the poller sleeps in whole milliseconds), and building
// the answer takes time of its own (0.3 ms for a batchget of 100 profiles,
// 3 ms for a user/get page of 10 000 openids). Together that is 12% at
// 5 ms a call, which no client could win back: the benchmarks hold a sync
// to a bound that counts a call as d. So each endpoint's delay is aimed
// early by how much longer than aimed its recent calls took (at most by
// d/2), and its calls take d on average.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Calls returns how many requests reached path (e.g.
// "/cgi-bin/user/info/batchget") since the server started, whatever their
// answer. Unlike quotas it never resets.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// SetIPWhitelist restricts the token endpoints of appid to callers from ips
// (e.g. "127.0.0.1"); others get 40164. No ips lifts the restriction.
func (s *Server) SetIPWhitelist(appid string, ips ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ips) == 0 {
		delete(s.whitelist, appid)
		return
	}
	set := map[string]bool{}
	for _, ip := range ips {
		set[ip] = true
	}
	s.whitelist[appid] = set
}

// Fault makes calls fail on purpose. Exactly one of Errcode, HTTPStatus,
// Body, Rewrite, Reset and Hang says how; Trickle may slow any answer down.
type Fault struct {
	Path       string // "/cgi-bin/user/get" etc.; "" = any API path
	Errcode    int    // e.g. -1, 45009, 45011, 40001; 0 = none
	HTTPStatus int    // e.g. 500 (a transport fault, no JSON); 0 = none
	// Body answers HTTP 200 with these bytes in place of the endpoint's
	// answer: a cut-off body, an HTML page, a body of megabytes.
	Body []byte
	// ContentType goes with Body (default WeChat's JSON type), e.g.
	// "text/html" for a proxy's page.
	ContentType string
	// Rewrite answers HTTP 200 with what it makes of the endpoint's real
	// answer (success or errcode body) to req: a listing that does not
	// advance, a batch that leaves profiles out or adds others.
	Rewrite func(req Request, answer []byte) []byte
	// Reset closes the connection without answering.
	Reset bool
	// Hang accepts the call and never answers, until the caller gives up
	// or the server closes.
	Hang bool
	// Trickle writes the answer one byte at a time, this long apart.
	Trickle time.Duration
	After   int // skip this many matching calls first
	Times   int // fail this many calls (0 counts as 1; -1 for ever)
}

// Request is a call as a Fault's Rewrite sees it.
type Request struct {
	Path  string
	Query url.Values
	Body  []byte // a POST's JSON
}

func (f *Fault) changes() bool {
	return f.Errcode != 0 || f.HTTPStatus != 0 || f.Body != nil || f.Rewrite != nil || f.Reset || f.Hang || f.Trickle > 0
}

type faultState struct {
	Fault
	seen int
}

// Inject adds a fault. Faults are checked in the order they were injected,
// each counting the calls it matches; the first one in its failing window
// answers the call. A fault with HTTPStatus answers with that status and a
// non-JSON body; otherwise with an errcode body (a fault with neither is
// ignored). Faults strike before token checks and quotas, and do not use
// quota.
func (s *Server) Inject(f Fault) {
	if !f.changes() {
		return // a fault that changes nothing
	}
	switch {
	case f.Times < 0:
		f.Times = math.MaxInt - f.After
	case f.Times == 0:
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault that answers this call of path, if any.
func (s *Server) takeFault(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hit *Fault
	kept := s.faults[:0]
	for _, f := range s.faults {
		if f.Path == "" || f.Path == path {
			f.seen++
			if hit == nil && f.seen > f.After && f.seen <= f.After+f.Times {
				hit = &f.Fault
			}
		}
		if f.seen < f.After+f.Times {
			kept = append(kept, f)
		}
	}
	clear(s.faults[len(kept):])
	s.faults = kept
	return hit
}

// endpoint is one API path: whether it needs POST and an access_token,
// and what it does once those checks (and its quota) have passed.
type endpoint struct {
	post   bool
	auth   bool
	handle func(s *Server, r *http.Request, appid string) ([]byte, *apiError)
}

var endpoints map[string]endpoint

// init fills endpoints: a var initialiser would be a cycle, since
// handleQuotaGet looks paths up in it.
func init() {
	endpoints = map[string]endpoint{
		"/cgi-bin/token":                     {handle: (*Server).handleToken},
		"/cgi-bin/stable_token":              {post: true, handle: (*Server).handleStableToken},
		"/cgi-bin/user/get":                  {auth: true, handle: (*Server).handleUserGet},
		"/cgi-bin/user/info":                 {auth: true, handle: (*Server).handleUserInfo},
		"/cgi-bin/user/info/batchget":        {post: true, auth: true, handle: (*Server).handleBatchGet},
		"/cgi-bin/user/info/updateremark":    {post: true, auth: true, handle: (*Server).handleUpdateRemark},
		"/cgi-bin/tags/get":                  {auth: true, handle: (*Server).handleTagsGet},
		"/cgi-bin/tags/members/getblacklist": {post: true, auth: true, handle: (*Server).handleBlacklist},
		"/datacube/getusersummary":           {post: true, auth: true, handle: (*Server).handleUserSummary},
		"/datacube/getusercumulate":          {post: true, auth: true, handle: (*Server).handleUserCumulate},
		"/cgi-bin/clear_quota":               {post: true, auth: true, handle: (*Server).handleClearQuota},
		"/cgi-bin/clear_quota/v2":            {post: true, handle: (*Server).handleClearQuotaV2},
		"/cgi-bin/openapi/quota/get":         {post: true, auth: true, handle: (*Server).handleQuotaGet},
	}
}

// ServeHTTP answers one request. Paths that are not API endpoints get a
// plain 404 (not a WeChat answer), so a client that builds a wrong URL
// finds out at once.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	s.mu.Lock()
	s.calls[path]++
	latency := s.latency
	s.mu.Unlock()

	ep, ok := endpoints[path]
	if !ok {
		http.NotFound(rw, r)
		return
	}
	faulted := false
	if latency > 0 {
		over := s.overshoot[path]
		aim := latency - min(time.Duration(over.Load()), latency/2)
		arrived := time.Now()
		t := time.NewTimer(aim)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
		// A moving average over the last 16 or so answers, rising from
		// 0: seeded by a first answer that was slow (a cold start), the
		// calls after it came early. A fault's answer (a stall, a
		// reset) says nothing about the next call's time.
		defer func() {
			if !faulted {
				old := over.Load()
				over.Store(old + (int64(time.Since(arrived)-aim)-old)/16)
			}
		}()
	}
	if f := s.takeFault(path); f != nil {
		faulted = true
		s.serveFault(rw, r, ep, path, f)
		return
	}

	body, aerr := s.serve(ep, path, r)
	if aerr != nil {
		s.writeError(rw, aerr)
		return
	}
	s.write(rw, body)
}

// serveFault answers a call the way fault f says.
func (s *Server) serveFault(rw http.ResponseWriter, r *http.Request, ep endpoint, path string, f *Fault) {
	switch {
	case f.Reset:
		if hj, ok := rw.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					tc.SetLinger(0) // a reset, not an orderly close
				}
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case f.Hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return
	case f.HTTPStatus != 0:
		rw.Header().Set("Content-Type", "text/html")
		rw.WriteHeader(f.HTTPStatus)
		rw.Write([]byte("<html><body>" + strconv.Itoa(f.HTTPStatus) + " " + http.StatusText(f.HTTPStatus) + "</body></html>"))
		return
	case f.Errcode != 0:
		s.writeError(rw, &apiError{code: f.Errcode})
		return
	}
	var body []byte
	switch {
	case f.Body != nil:
		body = f.Body
	case f.Rewrite != nil:
		req := Request{Path: path, Query: r.URL.Query()}
		if r.Body != nil {
			req.Body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(req.Body))
		}
		answer, aerr := s.serve(ep, path, r)
		if aerr != nil {
			answer = s.errorBody(aerr)
		}
		body = f.Rewrite(req, answer)
	default: // Trickle alone: the real answer, slowly
		answer, aerr := s.serve(ep, path, r)
		if aerr != nil {
			answer = s.errorBody(aerr)
		}
		body = answer
	}
	ctype := f.ContentType
	if ctype == "" {
		ctype = "application/json; encoding=utf-8"
	}
	rw.Header().Set("Content-Type", ctype)
	rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rw.WriteHeader(http.StatusOK)
	if f.Trickle <= 0 {
		rw.Write(body)
		return
	}
	flusher, _ := rw.(http.Flusher)
	t := time.NewTicker(f.Trickle)
	defer t.Stop()
	for i := range body {
		if _, err := rw.Write(body[i : i+1]); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

func (s *Server) serve(ep endpoint, path string, r *http.Request) ([]byte, *apiError) {
	if ep.post && r.Method != http.MethodPost {
		return nil, &apiError{code: 43002}
	}
	appid := ""
	if ep.auth {
		tok := r.URL.Query().Get("access_token")
		if tok == "" {
			return nil, &apiError{code: 41001}
		}
		var aerr *apiError
		if appid, aerr = s.checkToken(tok); aerr != nil {
			return nil, aerr
		}
		if aerr := s.admit(appid, path); aerr != nil {
			return nil, aerr
		}
	}
	return ep.handle(s, r, appid)
}

// write sends a successful answer: always HTTP 200 and WeChat's own
// Content-Type, with its non-standard "encoding=" parameter.
func (s *Server) write(rw http.ResponseWriter, body []byte) {
	if s.cfg.slash {
		// "/" can only occur inside JSON strings, so this is safe.
		body = bytes.ReplaceAll(body, []byte("/"), []byte(`\/`))
	}
	rw.Header().Set("Content-Type", "application/json; encoding=utf-8")
	rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rw.WriteHeader(http.StatusOK)
	rw.Write(body)
}

// okBody is the answer of an action that succeeded.
func okBody() []byte { return []byte(`{"errcode":0,"errmsg":"ok"}`) }

// apiError is a WeChat error answer.
type apiError struct {
	code int
	text string // "" → the standard text of code
	hint bool   // add " hint: [...]" as older answers for some codes do
}

var errTexts = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest, could get access_token by getStableAccessToken, more details at https://mmbizurl.cn/s/JtxxFh33r",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40013: "invalid appid",
	40014: "invalid access_token",
	40032: "invalid openid list size",
	40092: "invalid remark name",
	40125: "invalid appsecret,",
	41001: "access_token missing",
	41002: "appid missing",
	41004: "appsecret missing",
	41009: "missing openid",
	42001: "access_token expired",
	43002: "require POST method",
	45009: "reach max api daily quota limit",
	45011: "api minute-quota reach limit  mustslower  retry next minute",
	47001: "data format error",
	48001: "api unauthorized",
	48006: "forbid to clear quota because of reaching the limit",
	49003: "not same appid", // ❓ the text is undocumented
	61500: "date format error",
	61501: "date range error",
	76003: "invalid cgi_path",
	76022: "cgi_path not supported",
}

func (s *Server) writeError(rw http.ResponseWriter, e *apiError) {
	s.write(rw, s.errorBody(e))
}

// errorBody is the body of error answer e.
func (s *Server) errorBody(e *apiError) []byte {
	text := e.text
	if text == "" {
		text = errTexts[e.code]
	}
	if text == "" {
		text = "simulated error"
	}
	var b []byte
	b = append(b, `{"errcode":`...)
	b = strconv.AppendInt(b, int64(e.code), 10)
	b = append(b, `,"errmsg":`...)
	msg := text
	if e.hint {
		msg += " hint: [" + randomHex(5) + "]"
	}
	msg += " rid: " + s.rid()
	b = appendString(b, msg)
	return append(b, '}')
}

// rid imitates WeChat's request ids: the unix time in hex, then two random
// groups.
func (s *Server) rid() string {
	return strconv.FormatInt(s.clock.Now().Unix()&0xffffffff|1<<32, 16)[1:] + "-" + randomHex(4) + "-" + randomHex(4)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// appendString appends s as a JSON string: raw UTF-8 (no \u escapes for
// non-ASCII, no HTML escaping, as WeChat sends), only quotes, backslashes
// and C0 controls escaped.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
