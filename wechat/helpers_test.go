package wechat

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testAppID  = "wxtest0000000001"
	testSecret = "APPSECRET-5f3c9a7e1d"
)

// fakeAPI is a small hand-written stand-in for the WeChat API: it issues
// numbered tokens and hands every other path to api.
type fakeAPI struct {
	srv *httptest.Server

	mu       sync.Mutex
	calls    map[string]int
	tokens   int
	bodies   map[string][]string // request bodies per path
	queries  map[string][]string // raw queries per path
	tokenFn  http.HandlerFunc    // replaces the default token answer when set
	apiFn    http.HandlerFunc
	tokenGap time.Duration // delay of each token answer
}

func newFakeAPI(t *testing.T, api http.HandlerFunc) *fakeAPI {
	t.Helper()
	f := &fakeAPI{calls: map[string]int{}, bodies: map[string][]string{}, queries: map[string][]string{}, apiFn: api}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	f.calls[path]++
	f.bodies[path] = append(f.bodies[path], string(body))
	f.queries[path] = append(f.queries[path], r.URL.RawQuery)
	tokenFn, gap := f.tokenFn, f.tokenGap
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	if path == PathStableToken || path == PathToken {
		time.Sleep(gap)
		if tokenFn != nil {
			tokenFn(w, r)
			return
		}
		f.mu.Lock()
		f.tokens++
		n := f.tokens
		f.mu.Unlock()
		fmt.Fprintf(w, `{"access_token":"tok-%d-abcdef","expires_in":7200}`, n)
		return
	}
	if f.apiFn == nil {
		http.NotFound(w, r)
		return
	}
	f.apiFn(w, r)
}

func (f *fakeAPI) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

func (f *fakeAPI) tokenCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[PathStableToken] + f.calls[PathToken]
}

func (f *fakeAPI) bodiesOf(path string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies[path]...)
}

func (f *fakeAPI) queriesOf(path string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries[path]...)
}

// hangUp closes the connection without an answer: a transport error whose
// text, from net/http, quotes the URL with its access_token.
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder collects the waits and retries a client asks for, without waiting.
type recorder struct {
	mu      sync.Mutex
	sleeps  []time.Duration
	retries []string
}

func (r *recorder) Sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.sleeps = append(r.sleeps, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *recorder) OnRetry(path string, attempt int, err error) {
	r.mu.Lock()
	r.retries = append(r.retries, fmt.Sprintf("%s#%d", path, attempt))
	r.mu.Unlock()
}

func (r *recorder) Sleeps() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.sleeps...)
}

func (r *recorder) Retries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.retries...)
}

// newTestClient builds a client on base with fast, recorded waits.
func newTestClient(t *testing.T, base string, opts ...func(*Config)) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg := Config{
		AppID:         testAppID,
		Secret:        testSecret,
		APIBase:       base,
		RatePerSecond: 1e6,
		Burst:         1000,
		BackoffBase:   time.Millisecond,
		BackoffMax:    8 * time.Millisecond,
		Sleep:         rec.Sleep,
		OnRetry:       rec.OnRetry,
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, rec
}

func write(w http.ResponseWriter, body string) { io.WriteString(w, body) }

// okUser answers user/info with a minimal profile of the requested openid.
func okUser(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, `{"subscribe":1,"openid":%q,"subscribe_time":1700000000}`, r.URL.Query().Get("openid"))
}
