package wechattest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"wxscope/wechat/wechattest"
)

// start is a fixed, unremarkable moment: 10:00 Beijing time.
var start = time.Date(2025, 6, 2, 10, 0, 0, 0, time.FixedZone("UTC+8", 8*3600))

const wechatCT = "application/json; encoding=utf-8"

// env is a server on a manual clock plus the plumbing to call it.
type env struct {
	t     *testing.T
	w     *wechattest.World
	s     *wechattest.Server
	clock *wechattest.Clock
	apps  map[string]wechattest.AppInfo
}

func newEnv(t *testing.T, w *wechattest.World, opts ...wechattest.Option) *env {
	t.Helper()
	clock := wechattest.NewClock(start)
	s := wechattest.NewServer(w, append([]wechattest.Option{wechattest.WithClock(clock)}, opts...)...)
	t.Cleanup(s.Close)
	e := &env{t: t, w: w, s: s, clock: clock, apps: map[string]wechattest.AppInfo{}}
	for _, a := range w.Apps() {
		e.apps[a.Name] = a
	}
	return e
}

// demo is the usual world: news/shop on P1, events unbound, legacy on P2.
func demo(t *testing.T, followers int, opts ...wechattest.Option) *env {
	return newEnv(t, wechattest.DemoWorld(7, followers), opts...)
}

// answer is one HTTP response, decoded when it is JSON.
type answer struct {
	status int
	ctype  string
	raw    []byte
	m      map[string]any
}

func (a answer) errcode() int {
	v, ok := a.m["errcode"]
	if !ok {
		return 0
	}
	n, _ := v.(json.Number).Int64()
	return int(n)
}

func (a answer) int(key string) int64 {
	n, _ := a.m[key].(json.Number).Int64()
	return n
}

func (a answer) str(key string) string { s, _ := a.m[key].(string); return s }

func (e *env) do(method, path string, q url.Values, body string) answer {
	e.t.Helper()
	u := e.s.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&a.m) // non-JSON answers keep m nil
	return a
}

func (e *env) get(path string, q url.Values) answer { return e.do("GET", path, q, "") }

func (e *env) post(path string, q url.Values, body string) answer {
	return e.do("POST", path, q, body)
}

// mustOK fails the test unless a is a success of the wire format.
func mustOK(t *testing.T, what string, a answer) answer {
	t.Helper()
	if a.status != 200 || a.errcode() != 0 || a.m == nil {
		t.Fatalf("%s: HTTP %d %s", what, a.status, a.raw)
	}
	return a
}

// wantErr fails the test unless a is the WeChat error code.
func wantErr(t *testing.T, what string, a answer, code int) {
	t.Helper()
	if a.status != 200 || a.errcode() != code {
		t.Fatalf("%s: want errcode %d, got HTTP %d %s", what, code, a.status, a.raw)
	}
}

func (e *env) fetchToken(app string) answer {
	a := e.apps[app]
	return e.get("/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {a.AppID}, "secret": {a.Secret}})
}

func (e *env) token(app string) string {
	e.t.Helper()
	return mustOK(e.t, "token "+app, e.fetchToken(app)).str("access_token")
}

func (e *env) stable(app string, force bool) answer {
	a := e.apps[app]
	body, _ := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": a.AppID, "secret": a.Secret, "force_refresh": force})
	return e.post("/cgi-bin/stable_token", nil, string(body))
}

func tok(token string, kv ...string) url.Values {
	q := url.Values{"access_token": {token}}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}

func (e *env) userGet(token, next string) answer {
	q := tok(token)
	if next != "" {
		q.Set("next_openid", next)
	}
	return e.get("/cgi-bin/user/get", q)
}

func (e *env) batch(token string, openids ...string) answer {
	list := make([]map[string]string, len(openids))
	for i, o := range openids {
		list[i] = map[string]string{"openid": o, "lang": "zh_CN"}
	}
	body, _ := json.Marshal(map[string]any{"user_list": list})
	return e.post("/cgi-bin/user/info/batchget", tok(token), string(body))
}

func (e *env) updateRemark(token, openid, remark string) answer {
	body, _ := json.Marshal(map[string]string{"openid": openid, "remark": remark})
	return e.post("/cgi-bin/user/info/updateremark", tok(token), string(body))
}

// pageOpenids returns the openids of a user/get page.
func pageOpenids(a answer) []string {
	data, _ := a.m["data"].(map[string]any)
	list, _ := data["openid"].([]any)
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = v.(string)
	}
	return out
}

// listAll pages through user/get the way the fact sheet says a client must.
func (e *env) listAll(token string) []string {
	e.t.Helper()
	var all []string
	next := ""
	for range 10000 {
		a := mustOK(e.t, "user/get", e.userGet(token, next))
		ids := pageOpenids(a)
		all = append(all, ids...)
		next = a.str("next_openid")
		if next == "" || len(ids) == 0 {
			return all
		}
	}
	e.t.Fatal("user/get never ended")
	return nil
}
