package wechattest_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"wxscope/wechat/wechattest"
)

var fuzzWorld = wechattest.DemoWorld(9, 50)

// FuzzOpenidDecoding: whatever string arrives as an openid, the world
// either rejects it or it is exactly the openid of the person it names.
func FuzzOpenidDecoding(f *testing.F) {
	news := fuzzWorld.Apps()[0].AppID
	for _, o := range fuzzWorld.Followers(news)[:3] {
		f.Add(o)
		f.Add(o[:27] + "A")
	}
	f.Add(fuzzWorld.Followers(fuzzWorld.Apps()[1].AppID)[0])
	f.Add("")
	f.Add(strings.Repeat("o", 28))
	f.Fuzz(func(t *testing.T, openid string) {
		u, ok := fuzzWorld.User(news, openid)
		p, pok := fuzzWorld.Person(news, openid)
		if ok != pok {
			t.Fatalf("User and Person disagree on %q", openid)
		}
		if !ok {
			return
		}
		if u.OpenID != openid || fuzzWorld.OpenID(news, p) != openid {
			t.Fatalf("%q accepted as person %d whose openid is %q", openid, p, fuzzWorld.OpenID(news, p))
		}
	})
}

// FuzzBatchgetBody: any request body gets a WeChat answer: HTTP 200, the
// WeChat Content-Type and a JSON object that is either an error or a list.
func FuzzBatchgetBody(f *testing.F) {
	s := wechattest.NewServer(fuzzWorld)
	defer s.Close()
	app := fuzzWorld.Apps()[0]
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/cgi-bin/token?grant_type=client_credential&appid="+app.AppID+"&secret="+app.Secret, nil))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
		f.Fatal(err)
	}
	s.SetDailyQuota("", "/cgi-bin/user/info/batchget", -1)
	o := fuzzWorld.Followers(app.AppID)[0]
	f.Add(`{"user_list":[{"openid":"` + o + `","lang":"zh_CN"}]}`)
	f.Add(`{"user_list":[]}`)
	f.Add(`{"user_list":[{"openid":1}]}`)
	f.Add(`{"user_list":null}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("POST", "/cgi-bin/user/info/batchget?access_token="+tok.AccessToken, strings.NewReader(body)))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json; encoding=utf-8" {
			t.Fatalf("HTTP %d %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		var out struct {
			Errcode  *int              `json:"errcode"`
			UserList []json.RawMessage `json:"user_info_list"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %v %q", err, rec.Body.Bytes())
		}
		if (out.Errcode == nil) == (out.UserList == nil) {
			t.Fatalf("answer is neither an error nor a list: %s", rec.Body.Bytes())
		}
	})
}
