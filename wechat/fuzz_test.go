package wechat

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// The response decoders read bytes from the network. The fuzzers check they
// never panic and that what they return keeps the promises the callers rely
// on. Seed corpora live in testdata/fuzz/<FuzzName>.

func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{
		`{"total":23000,"count":3000,"data":{"openid":["OPENID22998","OPENID23000"]},"next_openid":"OPENID23000"}`,
		`{"total":2,"count":0,"next_openid":""}`,
		`{"total":2,"count":2,"data":{"openid":["","OPENID1","OPENID2"]},"next_openid":"OPENID2"}`,
		`{"total":"5","count":"1","data":{"openid":["a"]},"next_openid":"a"}`,
		`{"count":3,"data":null,"next_openid":"x"}`,
		"{\"count\":1,\"data\":{\"openid\":[\"a\x01\"]},\"next_openid\":\"a\x01\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePage(body)
		if err != nil {
			return
		}
		for _, id := range p.OpenIDs {
			if id == "" {
				t.Fatalf("page carries an empty openid: %+v", p)
			}
		}
		// The end signals, and nothing else, make a page the last.
		wantLast := p.NextOpenID == "" || p.Count <= 0 || len(p.OpenIDs) == 0
		if p.Last != wantLast {
			t.Fatalf("Last = %v for %+v", p.Last, p)
		}
	})
}

func FuzzDecodeUserList(f *testing.F) {
	for _, s := range []string{
		`{"user_info_list":[{"subscribe":1,"openid":"o1","unionid":"u1","tagid_list":[2,128]},{"subscribe":0,"openid":"o2"}]}`,
		`{"user_info_list":[{"subscribe":1,"openid":"o1"},{"subscribe":1,"openid":"o1","remark":"dup"}]}`,
		`{"user_info_list":[{"openid":""},{"subscribe":"1","openid":" o3 ","subscribe_time":"1681903376"}]}`,
		`{"user_info_list":null}`,
		`{"user_info_list":[` + realUser2023 + `]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := decodeUserList(body)
		if err != nil {
			return
		}
		for k, u := range m {
			if k == "" || k != u.OpenID {
				t.Fatalf("profile keyed %q has openid %q", k, u.OpenID)
			}
		}
	})
}

func FuzzDecodeUser(f *testing.F) {
	for _, s := range []string{
		realUser2023,
		`{"subscribe":0,"openid":"o2"}`,
		`{"subscribe":1,"openid":"o4","remark":"a\/b \u8001\u677f \ud83d\udc3c"}`,
		"{\"subscribe\":1,\"openid\":\"o5\",\"remark\":\"\x1b]52;c;AAAA\x07\"}",
		`{"subscribe":1e0,"openid":"o6","qr_scene":"-5","tagid_list":["1",null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := decodeUser(body)
		if err == nil && u.OpenID == "" {
			t.Fatal("decodeUser returned a user without openid")
		}
	})
}

func FuzzDecodeEnvelopeAndToken(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"ACCESS_TOKEN","expires_in":7200}`,
		`{"errcode":40125,"errmsg":"invalid appsecret, rid: 66b5fb8f-1-2"}`,
		`{"errcode":"45009","errmsg":"reach max api daily quota limit"}`,
		`{"errcode":-1}`,
		`{"access_token":"a b","expires_in":"7200"}`,
		`<html><body>502 Bad Gateway</body></html>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		decodeEnvelope(body)
		tok, exp, err := decodeToken(body)
		if err != nil {
			// Whatever the body held as a token must not leak into the error.
			var raw struct {
				AccessToken string `json:"access_token"`
			}
			if json.Unmarshal(body, &raw) == nil && len(raw.AccessToken) >= 8 &&
				strings.Contains(err.Error(), raw.AccessToken) {
				t.Fatalf("error shows the token: %v", err)
			}
			return
		}
		if tok == "" || exp <= 0 || !validToken(tok) {
			t.Fatalf("decodeToken accepted %q, %d", tok, exp)
		}
	})
}

func FuzzEscapeControlChars(f *testing.F) {
	f.Add("x\ny")
	f.Add("\x1b[31mred\x1b[0m \"quoted\" back\\slash")
	f.Add("\x00\x01\x1f\t")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip()
		}
		// A server that escapes quotes and backslashes but sends control
		// characters raw, as wechatpy's strict=False tolerates.
		raw := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
		body := []byte(`{"remark":"` + raw + `","n":1}`)
		var got struct {
			Remark string `json:"remark"`
			N      int    `json:"n"`
		}
		if err := decodeJSON(body, &got); err != nil {
			t.Fatalf("decodeJSON(%q): %v", body, err)
		}
		if got.Remark != s || got.N != 1 {
			t.Fatalf("decoded %q, %d; want %q, 1", got.Remark, got.N, s)
		}
		// Valid JSON is never rewritten.
		if valid, _ := json.Marshal(map[string]string{"r": s}); true {
			if _, changed := escapeControlChars(valid); changed {
				t.Fatalf("escapeControlChars rewrote valid JSON %q", valid)
			}
		}
	})
}

func FuzzDecodeTags(f *testing.F) {
	for _, s := range []string{
		`{"tags":[{"id":1,"name":"每天一罐可乐星人","count":0},{"id":2,"name":"星标组","count":0},{"id":127,"name":"广东","count":5}]}`,
		`{"tags":[{"id":"2","name":"a\/b","count":"12"},{"id":2,"name":"dup","count":1}]}`,
		"{\"tags\":[{\"id\":104,\"name\":\"\x1b[1m加粗\x1b[0m\",\"count\":3}]}",
		`{"tags":null}`,
		`{"tags":[{"id":1e2,"name":null,"count":-1}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tags, err := decodeTags(body)
		if err != nil {
			return
		}
		seen := map[int64]bool{}
		for _, tag := range tags {
			if seen[tag.ID] {
				t.Fatalf("tag id %d listed twice: %+v", tag.ID, tags)
			}
			seen[tag.ID] = true
		}
	})
}

func FuzzDecodeDatacube(f *testing.F) {
	for _, s := range []string{
		`{"list":[{"ref_date":"2014-12-07","user_source":0,"new_user":0,"cancel_user":0},{"ref_date":"2014-12-07","user_source":30,"new_user":12,"cancel_user":3}]}`,
		`{"list":[{"ref_date":"2014-12-07","user_source":0,"cumulate_user":1217056}]}`,
		`{"list":[]}`,
		`{"list":[{"ref_date":"2014-12-7","user_source":"1","new_user":"5"}]}`,
		`{"list":[{"ref_date":"2014-02-30","user_source":0}]}`,
		`{"errcode":61501,"errmsg":"date range error rid: 1-2-3"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sum, errS := decodeUserSummary(body)
		cum, errC := decodeUserCumulate(body)
		// Both read the same list, so they accept and refuse alike.
		if (errS == nil) != (errC == nil) || len(sum) != len(cum) {
			t.Fatalf("summary %d rows, %v; cumulate %d rows, %v", len(sum), errS, len(cum), errC)
		}
		for i, r := range sum {
			if _, err := ParseDate(r.RefDate); err != nil || r.RefDate != cum[i].RefDate {
				t.Fatalf("row %d: ref_date %q / %q", i, r.RefDate, cum[i].RefDate)
			}
		}
		days := SumDays(sum)
		var newSum, cancelSum int64
		for i, d := range days {
			if i > 0 && d.RefDate <= days[i-1].RefDate {
				t.Fatalf("SumDays out of order: %+v", days)
			}
			newSum += d.NewUser
			cancelSum += d.CancelUser
		}
		var newRows, cancelRows int64
		for _, r := range sum {
			newRows += r.NewUser
			cancelRows += r.CancelUser
		}
		if newSum != newRows || cancelSum != cancelRows {
			t.Fatalf("SumDays lost figures: %d/%d of %d/%d", newSum, cancelSum, newRows, cancelRows)
		}
	})
}

// The body of a batchget call carries openids from the listing, outside
// input too: written by hand for plain ids, it must be the bytes
// encoding/json writes, whatever the ids hold.
func FuzzBatchGetRequestIsEncodingJSONs(f *testing.F) {
	for _, s := range []string{
		"oukHSJVqyK2t0zLMnKajABWFAcJA\x00o2", "o1\x00o1", "a\"b\x00c\\d", "\x7f\x00\x1f", "é\x00\u2028\x00\xff", "<&>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		ids := strings.Split(joined, "\x00")
		got, err := batchGetRequest(ids)
		if err != nil {
			t.Fatal(err)
		}
		want, err := batchGetRequestJSON(ids)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("batchGetRequest(%q) = %q, encoding/json writes %q", ids, got, want)
		}
	})
}
