package wechat

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// A real user/info answer from April 2023 (WxJava#2983): legacy fields still
// present but blank.
const realUser2023 = `{"subscribe":1,"openid":"oBkPMjscyABC","nickname":"","sex":0,"language":"zh_CN",
 "city":"","province":"","country":"","headimgurl":"","subscribe_time":1681903376,
 "unionid":"ovg9owglXYZ","remark":"","groupid":0,"tagid_list":[],
 "subscribe_scene":"ADD_SCENE_SEARCH","qr_scene":0,"qr_scene_str":""}`

func TestDecodeUserToleratesWhatTheRealAPISends(t *testing.T) {
	cases := map[string]struct {
		body string
		want User
	}{
		"2023 answer with legacy blanks": {realUser2023, User{Subscribe: 1, OpenID: "oBkPMjscyABC", UnionID: "ovg9owglXYZ",
			SubscribeTime: 1681903376, SubscribeScene: "ADD_SCENE_SEARCH"}},
		"no unionid (unbound app)": {`{"subscribe":1,"openid":"o1","subscribe_time":5,"subscribe_scene":"ADD_SCENE_QR_CODE"}`,
			User{Subscribe: 1, OpenID: "o1", SubscribeTime: 5, SubscribeScene: "ADD_SCENE_QR_CODE"}},
		"unfollowed: subscribe 0 and openid only": {`{"subscribe":0,"openid":"o2"}`, User{OpenID: "o2"}},
		"unknown scene and fields": {`{"subscribe":1,"openid":"o3","subscribe_scene":"ADD_SCENE_FUTURE_THING","new_field":{"x":[1,2]},"headimgurl":"http:\/\/thirdwx.qlogo.cn\/x"}`,
			User{Subscribe: 1, OpenID: "o3", SubscribeScene: "ADD_SCENE_FUTURE_THING"}},
		"escaped slashes and unicode in remark": {`{"subscribe":1,"openid":"o4","remark":"a\/b \u8001\u677f \ud83d\udc3c"}`,
			User{Subscribe: 1, OpenID: "o4", Remark: "a/b 老板 🐼"}},
		"raw control characters in remark": {"{\"subscribe\":1,\"openid\":\"o5\",\"remark\":\"line1\nline2\t\x1b[31mred\"}",
			User{Subscribe: 1, OpenID: "o5", Remark: "line1\nline2\t\x1b[31mred"}},
		"numbers as strings": {`{"subscribe":"1","openid":"o6","subscribe_time":"1681903376","tagid_list":["2",128],"qr_scene":"7"}`,
			User{Subscribe: 1, OpenID: "o6", SubscribeTime: 1681903376, TagIDList: []int64{2, 128}, QRScene: 7}},
		"explicit errcode 0": {`{"errcode":0,"errmsg":"ok","subscribe":1,"openid":"o7"}`, User{Subscribe: 1, OpenID: "o7"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, _, err := decodeEnvelope([]byte(tc.body))
			if err != nil || code != 0 {
				t.Fatalf("envelope: code %d, err %v; want success", code, err)
			}
			u, err := decodeUser([]byte(tc.body))
			if err != nil || !equalUser(u, tc.want) {
				t.Fatalf("decodeUser = %+v, %v; want %+v", u, err, tc.want)
			}
		})
	}
}

func TestDecodeEnvelopeReadsErrcodeHoweverItIsWritten(t *testing.T) {
	cases := map[string]int{
		`{"access_token":"t","expires_in":7200}`:     0,
		`{"errcode":40001,"errmsg":"x"}`:             40001,
		`{"errcode":"45009","errmsg":"x"}`:           45009,
		`{"errcode":-1,"errmsg":"system error"}`:     -1,
		`{"errcode":null}`:                           0,
		`{"errmsg":"ok","errcode":0}`:                0,
		"{\"errcode\":40003,\"errmsg\":\"a\x01b\"}":  40003,
		`{"errcode":4.0003e4,"errmsg":"float form"}`: 40003,
	}
	for body, want := range cases {
		if code, _, err := decodeEnvelope([]byte(body)); err != nil || code != want {
			t.Errorf("decodeEnvelope(%s) = %d, %v; want %d", body, code, err, want)
		}
	}
	for _, bad := range []string{"", "<html>", `{"errcode":"abc"}`, `{"errcode":1.5}`, `[1,2]`} {
		if _, _, err := decodeEnvelope([]byte(bad)); err == nil {
			t.Errorf("decodeEnvelope(%q) accepted garbage", bad)
		}
	}
}

func TestDecodeTokenNeverEchoesTheToken(t *testing.T) {
	for _, body := range []string{
		`{"access_token":"sekrit token","expires_in":7200}`,
		`{"access_token":"sekrittoken","expires_in":0}`,
		`{"access_token":"sekrittoken","expires_in":"soon"}`,
		`{"access_token":"sekrittoken"`,
	} {
		_, _, err := decodeToken([]byte(body))
		if err == nil {
			t.Errorf("decodeToken(%s) accepted it", body)
		} else if strings.Contains(err.Error(), "sekrit") {
			t.Errorf("decodeToken error shows the token: %v", err)
		}
	}
	tok, exp, err := decodeToken([]byte(`{"access_token":"75_ABC-def","expires_in":"7200","extra":1}`))
	if err != nil || tok != "75_ABC-def" || exp != 7200 {
		t.Fatalf("decodeToken = %q, %d, %v", tok, exp, err)
	}
}

func TestDecodePageDropsBlankOpenIDs(t *testing.T) {
	// The old doc's example starts its openid array with "".
	p, err := decodePage([]byte(`{"total":2,"count":2,"data":{"openid":["","OPENID1","OPENID2"]},"next_openid":"OPENID2"}`))
	if err != nil || len(p.OpenIDs) != 2 || p.OpenIDs[0] != "OPENID1" || p.Last {
		t.Fatalf("decodePage = %+v, %v", p, err)
	}
}

func TestBodiesAreDecodedWhateverTheContentType(t *testing.T) {
	for _, ct := range []string{"application/json; encoding=utf-8", "text/plain", "text/html; charset=gbk", ""} {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{ct}
			write(w, realUser2023)
		})
		c, _ := newTestClient(t, f.srv.URL)
		if u, err := c.UserInfo(context.Background(), "oBkPMjscyABC"); err != nil || u.UnionID != "ovg9owglXYZ" {
			t.Errorf("Content-Type %q: %+v, %v", ct, u, err)
		}
	}
}
