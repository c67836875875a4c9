package wechat

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"wxscope/wechat/wechattest"
)

// agreesWithEncodingJSON fails t when fastUserList accepts body but its
// answer differs from encoding/json's (decodeJSON). It reports whether the
// fast path took body.
func agreesWithEncodingJSON(t *testing.T, body []byte) bool {
	t.Helper()
	fast, ok := fastUserList(body)
	if !ok {
		return false
	}
	var slow userListBody
	if err := decodeJSON(body, &slow); err != nil {
		t.Fatalf("the fast path took a body encoding/json refuses (%v): %q", err, body)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("the fast path read %q as\n%+v\nencoding/json as\n%+v", body, fast, slow)
	}
	return true
}

// simulatorAnswers are n real batchget answers of the simulator, of size
// followers each, with every kind of remark it generates (CJK, emoji, quotes, escape
// sequences, C1 controls, bidi overrides), unionids and QR scenes.
func simulatorAnswers(t testing.TB, n, size int) [][]byte {
	t.Helper()
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 3, Apps: []wechattest.AppSpec{{Name: "big", Followers: 100 * n, Unfollowed: 50, Platform: "P1"}}})
	srv := wechattest.NewServer(w)
	defer srv.Close()
	app := w.Apps()[0]
	c, err := New(Config{AppID: app.AppID, Secret: app.Secret, APIBase: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.accessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := append(w.Followers(app.AppID), w.FormerFollowers(app.AppID)...)
	var out [][]byte
	for k := 0; k+size <= len(ids) && len(out) < n; k += size {
		var req bytes.Buffer
		req.WriteString(`{"user_list":[`)
		for i, id := range ids[k : k+size] {
			if i > 0 {
				req.WriteByte(',')
			}
			req.WriteString(`{"openid":"` + id + `","lang":"zh_CN"}`)
		}
		req.WriteString(`]}`)
		resp, err := http.Post(srv.URL+"/"+PathBatchGet+"?access_token="+tok, "application/json", &req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, body)
	}
	return out
}

func TestFastUserListReadsSimulatorAnswersAsEncodingJSONDoes(t *testing.T) {
	answers := simulatorAnswers(t, 30, 100)
	for _, body := range answers {
		if !agreesWithEncodingJSON(t, body) {
			t.Fatalf("the fast path left a usual answer to encoding/json: %.300s", body)
		}
	}
	// The same answers indented, with \/ escapes and \u escapes of plain
	// letters, as gateways and older answers send them.
	for _, body := range answers[:3] {
		var ind bytes.Buffer
		if err := json.Indent(&ind, body, "", "\t"); err != nil {
			t.Fatal(err)
		}
		for _, v := range [][]byte{ind.Bytes(), bytes.ReplaceAll(body, []byte("/"), []byte(`\/`)), bytes.ReplaceAll(body, []byte(`"o`), []byte(`"\u006f`))} {
			if !agreesWithEncodingJSON(t, v) {
				t.Fatalf("the fast path left a usual answer to encoding/json: %.300s", v)
			}
		}
	}
}

func TestFastUserListLeavesUnusualAnswersToEncodingJSON(t *testing.T) {
	for _, body := range []string{
		`{"errcode":40003,"errmsg":"invalid openid"}`,
		`{"errcode":0,"user_info_list":[]}`,
		`{"user_info_list":[{"subscribe":"1","openid":"o1"}]}`,              // a quoted number
		`{"user_info_list":[{"subscribe":1.0,"openid":"o1"}]}`,              // a float
		`{"user_info_list":[{"subscribe":1,"openid":"o1","groupid":null}]}`, // null
		`{"user_info_list":[null]}`,
		`{"user_info_list":null}`,
		`{"user_info_list":[{"subscribe":1,"openid":"o1","remark":"\ud83d\udc3c"}]}`,       // a surrogate pair
		"{\"user_info_list\":[{\"subscribe\":1,\"openid\":\"o1\",\"remark\":\"a\x1bb\"}]}", // a raw control character
		"{\"user_info_list\":[{\"subscribe\":1,\"openid\":\"o\xff1\"}]}",                   // invalid UTF-8
		`{"user_info_list":[{"subscribe":1,"openid":"o1","openid":"o2"}]}`,                 // a repeated key
		`{"user_info_list":[{"Subscribe":1,"OpenID":"o1"}]}`,                               // keys matched case-insensitively
		`{"user_info_list":[{"subscribe":1,"openid":"o1"}],"USER_INFO_LIST":[]}`,
		`{"user_info_list":[{"subscribe":1,"openid":"o1"}]} x`, // trailing data
		`{"user_info_list":[{"subscribe":1,"openid":"o1"},]}`,  // a trailing comma
		`{"user_info_list":[{"subscribe":01,"openid":"o1"}]}`,  // a leading zero
		`{"user_info_list":[{"subscribe":1,"openid":"o1","subscribe_time":99999999999999999999}]}`,
		`{"user_info_list":[{"subscribe":1,"openid":"o1","x":[1,2,{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}]}]}`,
		`[]`,
		``,
	} {
		if agreesWithEncodingJSON(t, []byte(body)) {
			t.Errorf("the fast path took %q", body)
		}
	}
}

func TestFastUserListSkipsUnknownFieldsOfAnyShape(t *testing.T) {
	body := `{"user_info_list":[{"subscribe":1,"openid":"o1","nickname":"","sex":0,"x":{"a":[1,-2.5e3,true,false,null,"s\"\\\/\b\f\n\r\t\u00e9"]},"tagid_list":[ 2 , 100 ]}] , "more":{} }`
	if !agreesWithEncodingJSON(t, []byte(body)) {
		t.Fatalf("the fast path left %s to encoding/json", body)
	}
}

func FuzzFastUserListAgreesWithEncodingJSON(f *testing.F) {
	// Small answers: the fuzzer crawls on 40 KB inputs.
	for _, body := range simulatorAnswers(f, 5, 4) {
		f.Add(body)
	}
	for _, s := range []string{
		`{"user_info_list":[{"subscribe":1,"openid":"o1","unionid":"u1","tagid_list":[2,128]},{"subscribe":0,"openid":"o2"}]}`,
		`{"user_info_list":[{"subscribe":1,"openid":"o\u00e91","remark":"a\"b\\c\/d\n","x":[{"y":null}]}]}`,
		`{"user_info_list":[` + realUser2023 + `]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		agreesWithEncodingJSON(t, body)
	})
}

func TestBatchGetNeverReturnsAnEarlierAttemptsAnswer(t *testing.T) {
	for _, tc := range []struct {
		second   string
		want     string // the openid of the result; "" = an error
		wantText string
	}{
		{`{"user_info_list":[{"subscribe":1,"openid":"o2","remark":"fresh"}]}`, "o2", ""},
		// An answer whose envelope reads but whose list does not.
		{`{"user_info_list":"oops"}`, "", "decoding user list"},
	} {
		n := 0
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			n++
			if n == 1 {
				// A transient failure that carries a list: none of it may stay.
				write(w, `{"errcode":-1,"errmsg":"system error","user_info_list":[{"subscribe":1,"openid":"o1","remark":"stale"}]}`)
				return
			}
			write(w, tc.second)
		})
		c, _ := newTestClient(t, f.srv.URL)
		got, err := c.BatchGet(context.Background(), []string{"o1", "o2"})
		switch {
		case tc.want == "" && (err == nil || !strings.Contains(err.Error(), tc.wantText)):
			t.Errorf("after %s: got %+v, err %v; want an error saying %q", tc.second, got, err, tc.wantText)
		case tc.want != "" && (err != nil || len(got) != 1 || got[tc.want].OpenID != tc.want):
			t.Errorf("after %s: got %+v, err %v; want only %s", tc.second, got, err, tc.want)
		}
	}
}

// pageAgreesWithEncodingJSON fails t when fastPage accepts body but reads
// it otherwise than encoding/json (decodeJSON). It reports whether the fast
// path took body.
func pageAgreesWithEncodingJSON(t *testing.T, body []byte) bool {
	t.Helper()
	fast, ok := fastPage(body)
	if !ok {
		return false
	}
	var slow pageBody
	if err := decodeJSON(body, &slow); err != nil {
		t.Fatalf("the fast path took a page encoding/json refuses (%v): %q", err, body)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("the fast path read %q as\n%+v\nencoding/json as\n%+v", body, fast, slow)
	}
	return true
}

// simulatorPages are the simulator's user/get pages of an account of n
// followers.
func simulatorPages(t testing.TB, n int) [][]byte {
	t.Helper()
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 5, Apps: []wechattest.AppSpec{{Name: "big", Followers: n, Platform: "P1"}}})
	srv := wechattest.NewServer(w)
	defer srv.Close()
	app := w.Apps()[0]
	c, err := New(Config{AppID: app.AppID, Secret: app.Secret, APIBase: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.accessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	next := ""
	for {
		resp, err := http.Get(srv.URL + "/" + PathUserGet + "?access_token=" + tok + "&next_openid=" + next)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, body)
		p, err := decodePage(body)
		if err != nil {
			t.Fatal(err)
		}
		if p.Last {
			return out
		}
		next = p.NextOpenID
	}
}

func TestFastPageReadsSimulatorPagesAsEncodingJSONDoes(t *testing.T) {
	pages := simulatorPages(t, 25_000)
	if len(pages) < 3 {
		t.Fatalf("%d pages", len(pages))
	}
	for _, body := range pages {
		if !pageAgreesWithEncodingJSON(t, body) {
			t.Fatalf("the fast path left a usual page to encoding/json: %.300s", body)
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, body, "", "\t"); err != nil {
			t.Fatal(err)
		}
		if !pageAgreesWithEncodingJSON(t, ind.Bytes()) || !pageAgreesWithEncodingJSON(t, bytes.ReplaceAll(body, []byte(`"o`), []byte(`"\u006f`))) {
			t.Fatalf("the fast path left a usual page to encoding/json: %.300s", ind.Bytes())
		}
	}
}

func TestFastPageLeavesUnusualPagesToEncodingJSON(t *testing.T) {
	for _, body := range []string{
		`{"errcode":40001,"errmsg":"invalid credential"}`,
		`{"errcode":0,"total":1,"count":1,"data":{"openid":["o1"]},"next_openid":"o1"}`,
		`{"total":"1","count":1,"data":{"openid":["o1"]},"next_openid":"o1"}`, // a quoted number
		`{"total":1,"count":1.0,"data":{"openid":["o1"]},"next_openid":"o1"}`, // a float
		`{"total":1,"count":1,"data":null,"next_openid":""}`,
		`{"total":1,"count":1,"data":{"openid":null},"next_openid":""}`,
		`{"total":1,"count":1,"data":{"openid":["o1",null]},"next_openid":"o1"}`,
		`{"total":1,"count":1,"data":{"openid":["o1"]},"next_openid":null}`,
		`{"total":1,"count":1,"data":{"openid":["o1"],"openid":["o2"]},"next_openid":"o2"}`, // a repeated key
		`{"total":1,"count":1,"data":{"OpenID":["o1"]},"next_openid":"o1"}`,                 // a case-folded key
		`{"total":1,"Count":1,"data":{"openid":["o1"]},"next_openid":"o1"}`,
		`{"total":1,"count":1,"count":2,"data":{"openid":["o1"]},"next_openid":"o1"}`,
		`{"total":1,"count":1,"data":{"openid":["\ud83d\udc3c"]},"next_openid":""}`, // a surrogate pair
		"{\"total\":1,\"count\":1,\"data\":{\"openid\":[\"o\xff\"]},\"next_openid\":\"\"}",
		`{"total":1,"count":1,"data":{"openid":["o1"]},"next_openid":"o1"} x`,
		`{"total":1,"count":1,"data":{"openid":["o1",]},"next_openid":"o1"}`,
		`[]`,
		``,
	} {
		if pageAgreesWithEncodingJSON(t, []byte(body)) {
			t.Errorf("the fast path took %q", body)
		}
	}
	// Unknown fields of any shape are passed over, and a page without
	// data or with an empty one reads as encoding/json reads it.
	for _, body := range []string{
		`{"total":2,"count":2,"data":{"openid":["o1","o2"],"x":[1,{"y":null}]},"next_openid":"o2","extra":{"a":[true,false,-1.5e3]}}`,
		`{"total":0,"count":0,"next_openid":""}`,
		`{"total":0,"count":0,"data":{},"next_openid":""}`,
		`{"total":0,"count":0,"data":{"openid":[]},"next_openid":""}`,
		`{"total":1,"count":1,"data":{"openid":["","o1"]},"next_openid":"o1"}`,
	} {
		if !pageAgreesWithEncodingJSON(t, []byte(body)) {
			t.Errorf("the fast path left %q to encoding/json", body)
		}
	}
}

func FuzzFastPageAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"total":3,"count":3,"data":{"openid":["oA1","oA2","oA3"]},"next_openid":"oA3"}`,
		`{"total":2,"count":2,"data":{"openid":["o\u00e91","o2"],"x":[1,{"y":null}]},"next_openid":"o2","extra":"s\"\\\/\n"}`,
		`{"total":0,"count":0,"data":{},"next_openid":""}`,
		`{"errcode":40001,"errmsg":"invalid credential"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pageAgreesWithEncodingJSON(t, body)
	})
}

// BenchmarkFastUserList decodes simulator batchget answers of 100
// profiles; ns/op is per answer.
func BenchmarkFastUserList(b *testing.B) {
	answers := simulatorAnswers(b, 20, 100)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := fastUserList(answers[i%len(answers)]); !ok {
			b.Fatal("left to encoding/json")
		}
	}
}

// BenchmarkFastPage decodes a user/get page of 10 000 openids.
func BenchmarkFastPage(b *testing.B) {
	page := simulatorPages(b, 10_000)[0]
	b.ResetTimer()
	for b.Loop() {
		if _, ok := fastPage(page); !ok {
			b.Fatal("left to encoding/json")
		}
	}
}

func TestUserFieldIsThePlaceInUserKeys(t *testing.T) {
	for i, k := range userKeys {
		if got := userField([]byte(k)); got != i {
			t.Errorf("userField(%q) = %d, want %d", k, got, i)
		}
	}
	for _, k := range []string{"", "nickname", "Openid", "openid ", "subscribe_times", "qr_scene_st"} {
		if got := userField([]byte(k)); got != -1 {
			t.Errorf("userField(%q) = %d, want -1", k, got)
		}
	}
}

// plainWord is plainByte for eight bytes at once: random words, most of
// them plain, some with a byte of every other kind.
func TestPlainWordIsPlainByteEightAtATime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		var b [8]byte
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		want := true
		for _, c := range b {
			want = want && plainByte[c]
		}
		if got := plainWord(binary.LittleEndian.Uint64(b[:])); got != want {
			t.Fatalf("plainWord(%q) = %v, want %v", b, got, want)
		}
	}
}

// foldsToUserKey is foldsTo over userKeys: the keys of an answer, their
// case changed, non-ASCII ones and random ones.
func TestFoldsToUserKeyIsFoldsToOverTheUserKeys(t *testing.T) {
	keys := []string{"", "nickname", "sex", "headimgurl", "Openid", "OPENID", "openId", "openid ", "subscribe_times",
		"qr_scene_st", "Qr_Scene_Str", "tagid_List", "ſubscribe", "unionıd", "UNIONID", "a_very_long_key_of_no_use_at_all"}
	rng := rand.New(rand.NewPCG(5, 6))
	const alphabet = "abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for range 100_000 {
		k := []byte(userKeys[rng.IntN(len(userKeys))])
		for range rng.IntN(3) {
			k[rng.IntN(len(k))] = alphabet[rng.IntN(len(alphabet))]
		}
		keys = append(keys, string(k))
	}
	for _, k := range keys {
		if got, want := foldsToUserKey([]byte(k)), foldsTo([]byte(k), userKeys[:]...); got != want {
			t.Fatalf("foldsToUserKey(%q) = %v, want %v", k, got, want)
		}
	}
}
