// Package wechat is a client of the WeChat Official Account (公众号) server
// API for what wxscope needs: access tokens, the follower list
// (cgi-bin/user/get) and follower profiles (cgi-bin/user/info and
// user/info/batchget).
//
// One Client serves one app. It caches the access token, refreshes it once
// for all concurrent callers, retries what is worth retrying (token errors
// once, -1/5xx/transport errors with bounded backoff, 45011 at the next
// minute), and turns the rest into typed errors: *APIError for any errcode,
// *QuotaError (wrapping ErrDailyQuota) for 45009, ErrInvalidOpenID for 40003.
// The AppSecret and access tokens never appear in its errors.
package wechat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// Token modes for Config.TokenMode.
const (
	// TokenStable uses POST cgi-bin/stable_token without force_refresh, so it
	// never invalidates the token that production services of the same app
	// hold. It is the default.
	TokenStable = "stable"
	// TokenClassic uses GET cgi-bin/token. Each fetch makes the previous
	// token invalid five minutes later, for every holder.
	TokenClassic = "classic"
	// TokenCommand runs Config.TokenCommand and uses its stdout.
	TokenCommand = "command"
)

// DefaultAPIBase is the real API's address.
const DefaultAPIBase = "https://api.weixin.qq.com"

// MaxBatch is the most openids user/info/batchget takes in one call.
const MaxBatch = 100

// Config describes one app and how to call the API for it.
type Config struct {
	AppID  string
	Secret string // the AppSecret; not needed with TokenMode "command"

	// TokenMode is "stable" (default), "classic" or "command". When
	// TokenCommand is set and TokenMode is empty, the mode is "command".
	TokenMode string
	// TokenCommand is run through the system's shell (package shell: sh -c,
	// or cmd.exe on Windows); its trimmed stdout is the token. The
	// environment gets WXSCOPE_APPID. Its stderr may appear in errors.
	TokenCommand string
	// TokenCommandTimeout bounds one run of TokenCommand (default 15 s).
	TokenCommandTimeout time.Duration
	// TokenCommandTTL is how long a token from TokenCommand is reused before
	// the command runs again (default 2 min). A token the API rejects is
	// dropped at once either way.
	TokenCommandTTL time.Duration

	// APIBase is the API's scheme and host, e.g. a whitelisted gateway or a
	// simulator (default DefaultAPIBase).
	APIBase string
	// HTTPClient makes the calls; nil means one with connect, header and
	// overall timeouts.
	HTTPClient *http.Client
	// MaxBodyBytes caps a response body (default 8 MiB; a user/get page of
	// 10 000 openids is about 330 KB).
	MaxBodyBytes int64

	// RatePerSecond and Burst limit API calls for this app (burst default
	// MaxInFlight). Token fetches are not counted. By default there is no
	// such limit: the real API publishes none and says when to slow down
	// (45011, waited out), and MaxInFlight calls at a real round trip
	// already pace a sync (any fixed rate would bind a large MaxInFlight on
	// a fast route); set a rate only to be gentler than that.
	RatePerSecond float64
	Burst         int
	// MaxInFlight caps concurrent API calls for this app (default 8).
	MaxInFlight int

	// MaxRetries bounds the retries of transient failures (-1, HTTP 5xx or
	// 429, transport errors, malformed bodies) per call (default 5).
	MaxRetries int
	// AttemptTimeout bounds one round trip, the answer's body included
	// (default 30 s): a server that accepts and never answers, or trickles
	// its answer, costs no more than this per try.
	AttemptTimeout time.Duration
	// CallTimeout bounds one call with its retries of transient failures
	// (default 75 s; the minute waits after 45011 do not count): a retry
	// whose backoff would end past it is not made. A call gives up within
	// CallTimeout + AttemptTimeout, under two minutes by default.
	CallTimeout time.Duration
	// BackoffBase and BackoffMax shape the exponential backoff with jitter
	// between those retries (default 500 ms doubling up to 30 s).
	BackoffBase, BackoffMax time.Duration
	// MaxMinuteWaits bounds how many times one call waits for the next
	// minute after 45011 (default 3).
	MaxMinuteWaits int

	// OnRetry, if set, is told about every retry before its wait: the API
	// path, the attempt number (1 for the first retry) and the error that
	// caused it. It must be safe for concurrent use.
	OnRetry func(path string, attempt int, err error)

	// Now and Sleep replace the clock in tests. Sleep must return ctx.Err()
	// when ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// String keeps the AppSecret out of any printed Config.
func (c Config) String() string {
	return fmt.Sprintf("wechat.Config{AppID:%q TokenMode:%q APIBase:%q}", c.AppID, c.TokenMode, c.APIBase)
}

// GoString keeps the AppSecret out of %#v.
func (c Config) GoString() string { return c.String() }

// Client calls the API for one app. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    *url.URL
	http    *http.Client
	limiter *rate.Limiter
	sem     chan struct{}
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error

	flight singleflight.Group
	mu     sync.Mutex
	token  string
	expiry time.Time
	seen   map[string]bool // every token this client has held, for scrubbing
}

// New checks cfg, fills in defaults and returns a Client. It makes no call.
func New(cfg Config) (*Client, error) {
	if cfg.AppID == "" {
		return nil, errors.New("wechat: config has no appid")
	}
	if cfg.TokenMode == "" {
		cfg.TokenMode = TokenStable
		if cfg.TokenCommand != "" {
			cfg.TokenMode = TokenCommand
		}
	}
	switch cfg.TokenMode {
	case TokenStable, TokenClassic:
		if cfg.Secret == "" {
			return nil, fmt.Errorf("wechat %s: token mode %q needs the AppSecret", cfg.AppID, cfg.TokenMode)
		}
	case TokenCommand:
		if strings.TrimSpace(cfg.TokenCommand) == "" {
			return nil, fmt.Errorf("wechat %s: token mode %q needs token_command", cfg.AppID, cfg.TokenMode)
		}
	default:
		return nil, fmt.Errorf("wechat %s: unknown token mode %q (want stable, classic or command)", cfg.AppID, cfg.TokenMode)
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	base, err := url.Parse(strings.TrimRight(cfg.APIBase, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("wechat %s: api_base %q is not an http(s) URL", cfg.AppID, cfg.APIBase)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 8 << 20
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 8
	}
	if cfg.RatePerSecond <= 0 {
		cfg.RatePerSecond = float64(rate.Inf)
	}
	if cfg.Burst <= 0 {
		cfg.Burst = cfg.MaxInFlight
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	} else if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.MaxMinuteWaits <= 0 {
		cfg.MaxMinuteWaits = 3
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 30 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 75 * time.Second
	}
	if cfg.TokenCommandTimeout <= 0 {
		cfg.TokenCommandTimeout = 15 * time.Second
	}
	if cfg.TokenCommandTTL <= 0 {
		cfg.TokenCommandTTL = 2 * time.Minute
	}
	c := &Client{
		cfg:     cfg,
		base:    base,
		http:    cfg.HTTPClient,
		limiter: rate.NewLimiter(rate.Limit(cfg.RatePerSecond), cfg.Burst),
		sem:     make(chan struct{}, cfg.MaxInFlight),
		now:     cfg.Now,
		sleep:   cfg.Sleep,
		seen:    map[string]bool{},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	return c, nil
}

// String keeps tokens and the AppSecret out of a printed Client.
func (c *Client) String() string { return "wechat.Client(" + c.cfg.AppID + ")" }

// GoString keeps tokens and the AppSecret out of %#v.
func (c *Client) GoString() string { return c.String() }

// AppID is the app this client calls for.
func (c *Client) AppID() string { return c.cfg.AppID }

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// scrubber knows every secret this client has seen.
func (c *Client) scrubber() scrubber {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := scrubber{secrets: make([]string, 0, len(c.seen)+1)}
	if c.cfg.Secret != "" {
		s.secrets = append(s.secrets, c.cfg.Secret)
	}
	for t := range c.seen {
		s.secrets = append(s.secrets, t)
	}
	return s
}

// request is one API call to make, possibly several times.
type request struct {
	method string
	path   string     // e.g. "cgi-bin/user/get", no leading slash
	query  url.Values // without access_token
	body   []byte     // JSON for POST
	// decode, when set, reads a whole answer, errcode and payload, in one
	// pass (see decodeAnswer), and returns its envelope.
	decode func(body []byte) (*envelope, error)
}

// errTransient marks a failure worth retrying after a backoff.
type errTransient struct{ err error }

func (e errTransient) Error() string { return e.err.Error() }
func (e errTransient) Unwrap() error { return e.err }

// call makes req with a token and returns the body of a successful answer
// (no errcode, or errcode 0). It owns the retry policy.
func (c *Client) call(ctx context.Context, req request) ([]byte, error) {
	tokenRetried := false
	transient, minuteWaits := 0, 0
	deadline := c.now().Add(c.cfg.CallTimeout)
	for {
		if err := ctx.Err(); err != nil {
			return nil, c.wrap(req.path, err)
		}
		body, tok, err := c.attempt(ctx, req)
		if err == nil {
			return body, nil
		}
		var apiErr *APIError
		var tr errTransient
		switch {
		case ctx.Err() != nil:
			return nil, c.wrap(req.path, ctx.Err())
		case errors.As(err, &apiErr) && apiErr.Path == req.path && isTokenError(apiErr.Code):
			if tokenRetried {
				return nil, err
			}
			tokenRetried = true
			c.dropToken(tok)
			c.notifyRetry(req.path, 1, err)
			continue
		case errors.As(err, &apiErr) && apiErr.Path == req.path && apiErr.Code == 45011:
			if minuteWaits >= c.cfg.MaxMinuteWaits {
				return nil, err
			}
			minuteWaits++
			c.notifyRetry(req.path, minuteWaits, err)
			now := c.now()
			wait := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
			deadline = deadline.Add(wait) // the API asked for this wait
			if err := c.sleep(ctx, wait); err != nil {
				return nil, c.wrap(req.path, err)
			}
			continue
		case errors.As(err, &tr):
			if transient >= c.cfg.MaxRetries {
				return nil, tr.err
			}
			wait := c.backoff(transient + 1)
			if now := c.now(); now.Add(wait).After(deadline) {
				return nil, &gaveUpError{err: tr.err, after: now.Sub(deadline.Add(-c.cfg.CallTimeout)), tries: transient + 1}
			}
			transient++
			c.notifyRetry(req.path, transient, tr.err)
			if err := c.sleep(ctx, wait); err != nil {
				return nil, c.wrap(req.path, err)
			}
			continue
		default:
			return nil, err
		}
	}
}

// gaveUpError is the last transient failure of a call that ran out of its
// CallTimeout; errors.As still finds what failed (a net.Error, a
// *StatusError).
type gaveUpError struct {
	err   error
	after time.Duration
	tries int
}

func (e *gaveUpError) Error() string {
	return fmt.Sprintf("%v (given up after %d tries in %.1f s)", e.err, e.tries, e.after.Seconds())
}

func (e *gaveUpError) Unwrap() error { return e.err }

// wrap says which app and API path err is about.
func (c *Client) wrap(path string, err error) error {
	return fmt.Errorf("wechat %s: %s: %w", c.cfg.AppID, path, err)
}

func isTokenError(code int) bool { return code == 40001 || code == 40014 || code == 42001 }

func (c *Client) notifyRetry(path string, attempt int, err error) {
	if c.cfg.OnRetry != nil {
		c.cfg.OnRetry(path, attempt, err)
	}
}

// backoff is the wait before transient retry n (1-based): exponential from
// BackoffBase, capped at BackoffMax, with "equal jitter" so it is never
// shorter than half the step and concurrent callers spread out.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.BackoffBase
	for i := 1; i < n && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.BackoffMax)
	half := d / 2
	return half + rand.N(d-half+1)
}

// attempt makes one try of req: a token, a rate-limit slot, a call slot, one
// round trip. It also returns the token it used, so a token error drops
// exactly that token.
func (c *Client) attempt(ctx context.Context, req request) ([]byte, string, error) {
	tok, err := c.accessToken(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := c.limiter.Wait(ctx); err != nil {
		if ctx.Err() == nil {
			// rate reports a wait that would pass the deadline without
			// wrapping anything; say what it means.
			err = fmt.Errorf("%w (the rate limit wait would pass it)", context.DeadlineExceeded)
		}
		return nil, tok, c.wrap(req.path, err)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, tok, ctx.Err()
	}
	defer func() { <-c.sem }()
	q := url.Values{}
	for k, v := range req.query {
		q[k] = v
	}
	q.Set("access_token", tok)
	body, err := c.roundTrip(ctx, req.method, req.path, q, req.body)
	if err != nil {
		return nil, tok, err
	}
	if req.decode != nil {
		// One pass over the body for its errcode and its payload: a
		// batchget answer is 40 KB, and decoding it twice was a third of
		// a sync's CPU. A body that does not decode this way takes the
		// two-pass path below, which says what is wrong with it.
		if e, err := req.decode(body); err == nil {
			return body, tok, c.errcodeError(req.path, e.code(), e.ErrMsg)
		}
	}
	return body, tok, c.checkErrcode(req.path, body)
}

// checkErrcode turns an errcode in body into the matching error.
func (c *Client) checkErrcode(path string, body []byte) error {
	code, msg, err := decodeEnvelope(body)
	if err != nil {
		// A proxy's HTML page or a cut-off body: worth another try.
		return errTransient{&BodyError{AppID: c.cfg.AppID, Path: path, Start: c.scrubber().scrub(bodyStart(body)), Err: err}}
	}
	return c.errcodeError(path, code, msg)
}

// errcodeError is the error errcode code (with errmsg msg) means; nil for 0.
func (c *Client) errcodeError(path string, code int, msg string) error {
	if code == 0 {
		return nil
	}
	apiErr := &APIError{AppID: c.cfg.AppID, Path: path, Code: code, Msg: c.scrubber().scrub(msg)}
	switch code {
	case -1:
		return errTransient{apiErr}
	case 45009:
		return &QuotaError{AppID: c.cfg.AppID, Path: path, ResetAt: nextQuotaReset(c.now()), Err: apiErr}
	case 40003:
		return fmt.Errorf("%w: %w", ErrInvalidOpenID, apiErr)
	}
	return apiErr
}

// roundTrip sends one HTTP request and returns the body of a 200 answer. It
// never looks at Content-Type: the real one is "application/json;
// encoding=utf-8", and gateways vary.
func (c *Client) roundTrip(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, error) {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + "/" + path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// ctx says whether the caller gave up; actx bounds this try, body
	// included, and its end is worth another try.
	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(actx, method, u.String(), rd)
	if err != nil {
		return nil, newTransportError(c.cfg.AppID, path, err, c.scrubber())
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	hr.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(hr)
	if err != nil {
		terr := newTransportError(c.cfg.AppID, path, err, c.scrubber())
		if ctx.Err() != nil {
			return nil, terr
		}
		return nil, errTransient{terr}
	}
	defer resp.Body.Close()
	data, err := readBody(resp.Body, resp.ContentLength, c.cfg.MaxBodyBytes)
	if err != nil {
		terr := newTransportError(c.cfg.AppID, path, err, c.scrubber())
		if ctx.Err() != nil {
			return nil, terr
		}
		return nil, errTransient{terr}
	}
	if int64(len(data)) > c.cfg.MaxBodyBytes {
		return nil, &BodyError{AppID: c.cfg.AppID, Path: path, Start: c.scrubber().scrub(bodyStart(data)), Limit: c.cfg.MaxBodyBytes,
			Err: fmt.Errorf("%w (over %d bytes)", ErrBodyTooLarge, c.cfg.MaxBodyBytes)}
	}
	if resp.StatusCode != http.StatusOK {
		serr := &StatusError{AppID: c.cfg.AppID, Path: path, StatusCode: resp.StatusCode}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, errTransient{serr}
		}
		return nil, serr
	}
	return data, nil
}

// readBody reads at most limit+1 bytes of body (a new buffer that nothing
// writes to again: the fast decoders' strings alias it), into one buffer of the
// declared size when the answer declares one (as the API's do): io.ReadAll
// grew its buffer by doubling, twice a sync's bodies in garbage (a million
// profiles are 400 MB of answers).
func readBody(body io.Reader, size, limit int64) ([]byte, error) {
	r := io.LimitReader(body, limit+1)
	if size < 0 || size > limit {
		return io.ReadAll(r)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	// net/http ends the body at its declared length; anything else a
	// reader yields past it is read as io.ReadAll would.
	var one [1]byte
	if n, err := r.Read(one[:]); n > 0 || (err != nil && err != io.EOF) {
		rest, err2 := io.ReadAll(r)
		if err == nil || err == io.EOF {
			err = err2
		}
		return append(append(buf, one[:n]...), rest...), err
	}
	return buf, nil
}
