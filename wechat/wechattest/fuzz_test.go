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

// fuzzToken starts a server on fuzzWorld and returns it with a token of app 0.
func fuzzToken(f *testing.F) (*wechattest.Server, string) {
	s := wechattest.NewServer(fuzzWorld)
	app := fuzzWorld.Apps()[0]
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/cgi-bin/token?grant_type=client_credential&appid="+app.AppID+"&secret="+app.Secret, nil))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
		f.Fatal(err)
	}
	return s, tok.AccessToken
}

// FuzzDatacubeBody: any getusersummary body gets a WeChat answer, and a
// list only holds days of the range asked for, at most 7.
func FuzzDatacubeBody(f *testing.F) {
	s, tok := fuzzToken(f)
	defer s.Close()
	f.Add(`{"begin_date":"2025-05-01","end_date":"2025-05-07"}`)
	f.Add(`{"begin_date":"2025-05-01","end_date":"2025-05-08"}`)
	f.Add(`{"begin_date":"2025-5-1","end_date":"2025-05-02"}`)
	f.Add(`{"begin_date":20250501}`)
	f.Add(`{}`)
	f.Add(`{"begin_date":"2099-01-01","end_date":"2099-01-01"}`)
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("POST", "/datacube/getusersummary?access_token="+tok, strings.NewReader(body)))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json; encoding=utf-8" {
			t.Fatalf("HTTP %d %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		var out struct {
			Errcode *int `json:"errcode"`
			List    *[]struct {
				RefDate string `json:"ref_date"`
			} `json:"list"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %v %q", err, rec.Body.Bytes())
		}
		if (out.Errcode == nil) == (out.List == nil) {
			t.Fatalf("answer is neither an error nor a list: %s", rec.Body.Bytes())
		}
		if out.List == nil {
			return
		}
		var req struct {
			BeginDate string `json:"begin_date"`
			EndDate   string `json:"end_date"`
		}
		json.Unmarshal([]byte(body), &req)
		days := map[string]bool{}
		for _, r := range *out.List {
			if r.RefDate < req.BeginDate || r.RefDate > req.EndDate {
				t.Fatalf("day %s outside %s..%s", r.RefDate, req.BeginDate, req.EndDate)
			}
			days[r.RefDate] = true
		}
		if len(days) > 7 {
			t.Fatalf("%d days in one answer", len(days))
		}
	})
}

// FuzzBlacklistBody: any getblacklist body gets a WeChat answer, an error
// or a page whose next_openid is its last openid.
func FuzzBlacklistBody(f *testing.F) {
	s, tok := fuzzToken(f)
	defer s.Close()
	listed := fuzzWorld.Blacklist(fuzzWorld.Apps()[0].AppID)
	f.Add(`{"begin_openid":""}`)
	f.Add(`{"begin_openid":"` + listed[0] + `"}`)
	f.Add(`{"begin_openid":"` + fuzzWorld.Followers(fuzzWorld.Apps()[1].AppID)[0] + `"}`)
	f.Add(`{"begin_openid":null}`)
	f.Add(`{}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("POST", "/cgi-bin/tags/members/getblacklist?access_token="+tok, strings.NewReader(body)))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json; encoding=utf-8" {
			t.Fatalf("HTTP %d %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		var out struct {
			Errcode    *int    `json:"errcode"`
			Count      *int    `json:"count"`
			NextOpenID *string `json:"next_openid"`
			Data       *struct {
				OpenID []string `json:"openid"`
			} `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %v %q", err, rec.Body.Bytes())
		}
		if (out.Errcode == nil) == (out.Count == nil) || (out.Count != nil && out.NextOpenID == nil) {
			t.Fatalf("answer is neither an error nor a page: %s", rec.Body.Bytes())
		}
		if out.Count == nil {
			return
		}
		if *out.Count == 0 {
			if out.Data != nil || *out.NextOpenID != "" {
				t.Fatalf("an empty page with data or a cursor: %s", rec.Body.Bytes())
			}
			return
		}
		ids := out.Data.OpenID
		if len(ids) != *out.Count || ids[len(ids)-1] != *out.NextOpenID {
			t.Fatalf("page of %d ids, count %d, next_openid %q", len(ids), *out.Count, *out.NextOpenID)
		}
	})
}
