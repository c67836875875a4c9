package wechattest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"testing"

	"wxscope/wechat/wechattest"
)

// BenchmarkNewWorldMillionFollowers builds one app of 1 M followers (and
// 50 k former followers) and reports the heap the world keeps.
func BenchmarkNewWorldMillionFollowers(b *testing.B) {
	spec := wechattest.WorldSpec{Seed: 1, Apps: []wechattest.AppSpec{{Name: "big", Followers: 1_000_000, Unfollowed: 50_000}}}
	for b.Loop() {
		wechattest.NewWorld(spec)
	}
	b.StopTimer()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	w := wechattest.NewWorld(spec)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB-kept")
	runtime.KeepAlive(w)
}

// BenchmarkNewWorldTenMillion builds one app of 10 M followers: what a scale
// benchmark pays before its sync starts.
func BenchmarkNewWorldTenMillion(b *testing.B) {
	spec := wechattest.WorldSpec{Seed: 1, Apps: []wechattest.AppSpec{{Name: "big", Followers: 10_000_000, Unfollowed: 500_000}}}
	for b.Loop() {
		w := wechattest.NewWorld(spec)
		if n := w.FollowerCount(w.Apps()[0].AppID); n != 10_000_000 {
			b.Fatal(n)
		}
	}
}

// BenchmarkDemoWorldMillion builds the four-app demo world at 1 M per app.
func BenchmarkDemoWorldMillion(b *testing.B) {
	for b.Loop() {
		wechattest.DemoWorld(1, 1_000_000)
	}
}

// BenchmarkUserGetPage serves one full 10 000-openid page over HTTP.
func BenchmarkUserGetPage(b *testing.B) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 1, Apps: []wechattest.AppSpec{{Name: "big", Followers: 100_000}}})
	s := wechattest.NewServer(w)
	defer s.Close()
	benchCalls(b, s, w, func(c *benchClient) { c.userGet() })
}

// BenchmarkBatchget100 serves one batchget of 100 followers over HTTP.
func BenchmarkBatchget100(b *testing.B) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 1, Apps: []wechattest.AppSpec{{Name: "big", Followers: 100_000}}})
	s := wechattest.NewServer(w)
	defer s.Close()
	benchCalls(b, s, w, func(c *benchClient) { c.batch() })
}

type benchClient struct {
	b     *testing.B
	s     *wechattest.Server
	token string
	ids   []string
}

func benchCalls(b *testing.B, s *wechattest.Server, w *wechattest.World, call func(*benchClient)) {
	a := w.Apps()[0]
	s.SetDailyQuota("", "/cgi-bin/user/get", -1)
	s.SetDailyQuota("", "/cgi-bin/user/info/batchget", -1)
	c := &benchClient{b: b, s: s, ids: w.Followers(a.AppID)[:100]}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c.fetch("GET", "/cgi-bin/token?"+url.Values{"grant_type": {"client_credential"}, "appid": {a.AppID}, "secret": {a.Secret}}.Encode(), nil, &tok)
	c.token = tok.AccessToken
	for b.Loop() {
		call(c)
	}
}

func (c *benchClient) fetch(method, path string, body []byte, v any) {
	req, _ := http.NewRequest(method, c.s.URL+path, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, v); err != nil || bytes.Contains(raw, []byte(`"errcode"`)) {
		c.b.Fatalf("%s: %v %.200s", path, err, raw)
	}
}

func (c *benchClient) userGet() {
	var page struct{ Count int }
	c.fetch("GET", "/cgi-bin/user/get?access_token="+c.token, nil, &page)
	if page.Count != 10000 {
		c.b.Fatalf("page of %d", page.Count)
	}
}

func (c *benchClient) batch() {
	list := make([]map[string]string, len(c.ids))
	for i, o := range c.ids {
		list[i] = map[string]string{"openid": o}
	}
	body, _ := json.Marshal(map[string]any{"user_list": list})
	var out struct {
		UserInfoList []json.RawMessage `json:"user_info_list"`
	}
	c.fetch("POST", "/cgi-bin/user/info/batchget?access_token="+c.token, body, &out)
	if len(out.UserInfoList) != 100 {
		c.b.Fatalf("%d users", len(out.UserInfoList))
	}
}

// BenchmarkGrowthHistory builds one app's growth history (nineteen years of
// days, on the first datacube call) and reads one day of it.
func BenchmarkGrowthHistory(b *testing.B) {
	spec := wechattest.WorldSpec{Seed: 1, Apps: []wechattest.AppSpec{{Name: "a", Followers: 1000}}}
	for b.Loop() {
		b.StopTimer()
		w := wechattest.NewWorld(spec)
		id := w.Apps()[0].AppID
		b.StartTimer()
		if _, ok := w.Growth(id, "2025-05-31"); !ok {
			b.Fatal("no figures")
		}
	}
}
