package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// listServer serves user/get over ids in pages of size, the way the real API
// does: next_openid is the last openid of every non-empty page, and the call
// after the last page answers count 0, next_openid "" and no data. total is
// whatever the test says, to prove it is never trusted.
func listServer(ids []string, size int, total int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		next := r.URL.Query().Get("next_openid")
		start := 0
		if next != "" {
			start = slices.Index(ids, next) + 1
		}
		end := min(start+size, len(ids))
		if start >= end {
			fmt.Fprintf(w, `{"total":%d,"count":0,"next_openid":""}`, total)
			return
		}
		page, _ := json.Marshal(ids[start:end])
		fmt.Fprintf(w, `{"total":%d,"count":%d,"data":{"openid":%s},"next_openid":%q}`, total, end-start, page, ids[end-1])
	}
}

func openids(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("oPfx_%05d", (i*7919)%100000) // not in any sorted order
	}
	return ids
}

func drain(t *testing.T, c *Client, start string) ([]string, int, error) {
	t.Helper()
	var got []string
	pages := 0
	for p, err := range c.Followers(context.Background(), start) {
		if err != nil {
			return got, pages, err
		}
		pages++
		got = append(got, p.OpenIDs...)
	}
	return got, pages, nil
}

func TestFollowersListsEveryoneWhateverTotalSays(t *testing.T) {
	ids := openids(11)
	for _, total := range []int{0, 5, 11, 1000} {
		t.Run(fmt.Sprint("total ", total), func(t *testing.T) {
			f := newFakeAPI(t, listServer(ids, 4, total))
			c, _ := newTestClient(t, f.srv.URL)
			got, pages, err := drain(t, c, "")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, ids) {
				t.Fatalf("got %d ids %v, want %v", len(got), got, ids)
			}
			// 3 full-or-partial pages plus the empty answer that ends the list.
			if pages != 4 || f.count(PathUserGet) != 4 {
				t.Fatalf("pages %d, calls %d; want 4 and 4", pages, f.count(PathUserGet))
			}
		})
	}
}

func TestFollowersOmitsAnEmptyCursorAndPassesEachNextOpenID(t *testing.T) {
	ids := openids(5)
	f := newFakeAPI(t, listServer(ids, 2, 5))
	c, _ := newTestClient(t, f.srv.URL)
	if _, _, err := drain(t, c, ""); err != nil {
		t.Fatal(err)
	}
	var cursors []string
	for i, raw := range f.queriesOf(PathUserGet) {
		q, _ := url.ParseQuery(raw)
		if i == 0 && q.Has("next_openid") {
			t.Fatalf("first call sends next_openid: %q", raw)
		}
		cursors = append(cursors, q.Get("next_openid"))
	}
	want := []string{"", ids[1], ids[3], ids[4]}
	if !slices.Equal(cursors, want) {
		t.Fatalf("cursors %q, want %q", cursors, want)
	}
}

func TestFollowersResumesFromACursor(t *testing.T) {
	ids := openids(7)
	f := newFakeAPI(t, listServer(ids, 3, 7))
	c, _ := newTestClient(t, f.srv.URL)
	got, _, err := drain(t, c, ids[2])
	if err != nil || !slices.Equal(got, ids[3:]) {
		t.Fatalf("from %s got %v, %v; want %v", ids[2], got, err, ids[3:])
	}
}

func TestFollowersEndsOnAnyEndSignal(t *testing.T) {
	first := `{"total":9,"count":2,"data":{"openid":["oA","oB"]},"next_openid":"oB"}`
	cases := map[string]struct {
		body string
		want []string
	}{
		"empty next_openid with ids": {`{"total":9,"count":1,"data":{"openid":["oC"]},"next_openid":""}`, []string{"oA", "oB", "oC"}},
		"count 0 with a cursor":      {`{"total":9,"count":0,"next_openid":"oB"}`, []string{"oA", "oB"}},
		"no data key":                {`{"total":9,"count":3,"next_openid":"oX"}`, []string{"oA", "oB"}},
		"data without openid":        {`{"total":9,"count":3,"data":{},"next_openid":"oX"}`, []string{"oA", "oB"}},
		"null openid":                {`{"total":9,"count":3,"data":{"openid":null},"next_openid":"oX"}`, []string{"oA", "oB"}},
		"empty openid array":         {`{"total":9,"count":3,"data":{"openid":[]},"next_openid":"oX"}`, []string{"oA", "oB"}},
		"null data":                  {`{"total":9,"count":3,"data":null,"next_openid":"oX"}`, []string{"oA", "oB"}},
		"the real final answer":      {`{"total":2,"count":0,"next_openid":""}`, []string{"oA", "oB"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Query().Get("next_openid") {
				case "":
					write(w, first)
				case "oB":
					write(w, tc.body)
				default:
					t.Errorf("listing went on past the end with next_openid %q", r.URL.Query().Get("next_openid"))
					write(w, `{"total":0,"count":0,"next_openid":""}`)
				}
			})
			c, _ := newTestClient(t, f.srv.URL)
			got, _, err := drain(t, c, "")
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			if n := f.count(PathUserGet); n != 2 {
				t.Fatalf("%d calls, want 2", n)
			}
		})
	}
}

func TestFollowerPageOnTheFinalPageIsNotLastUntilTheEmptyAnswer(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, `{"total":23000,"count":3000,"data":{"openid":["OPENID22998","OPENID22999","OPENID23000"]},"next_openid":"OPENID23000"}`)
	})
	c, _ := newTestClient(t, f.srv.URL)
	p, err := c.FollowerPage(context.Background(), "OPENID20000")
	if err != nil {
		t.Fatal(err)
	}
	if p.Last || p.NextOpenID != "OPENID23000" || p.Total != 23000 || p.Count != 3000 || len(p.OpenIDs) != 3 {
		t.Fatalf("page = %+v", p)
	}
}

func TestFollowersStopsOnAStuckCursor(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, `{"total":9,"count":1,"data":{"openid":["oA"]},"next_openid":"oA"}`)
	})
	c, _ := newTestClient(t, f.srv.URL)
	got, _, err := drain(t, c, "")
	if !errors.Is(err, ErrCursorStuck) {
		t.Fatalf("err = %v, want ErrCursorStuck", err)
	}
	if f.count(PathUserGet) != 2 || len(got) != 2 {
		t.Fatalf("calls %d, ids %v", f.count(PathUserGet), got)
	}
}

func TestFollowersYieldsAnErrorOnceAndStops(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("next_openid") == "" {
			write(w, `{"total":9,"count":1,"data":{"openid":["oA"]},"next_openid":"oA"}`)
			return
		}
		write(w, `{"errcode":48001,"errmsg":"api unauthorized"}`)
	})
	c, _ := newTestClient(t, f.srv.URL)
	var errs int
	var pages int
	for p, err := range c.Followers(context.Background(), "") {
		if err != nil {
			errs++
			if p.OpenIDs != nil {
				t.Errorf("error came with a page %+v", p)
			}
			continue // a caller that keeps ranging must still stop
		}
		pages++
	}
	if errs != 1 || pages != 1 {
		t.Fatalf("errors %d, pages %d; want 1 and 1", errs, pages)
	}
}

func TestFollowersStopsWhenTheCallerBreaks(t *testing.T) {
	f := newFakeAPI(t, listServer(openids(10), 2, 10))
	c, _ := newTestClient(t, f.srv.URL)
	for range c.Followers(context.Background(), "") {
		break
	}
	if n := f.count(PathUserGet); n != 1 {
		t.Fatalf("%d calls after breaking on the first page", n)
	}
}

// batchServer answers batchget in reverse request order (the API promises no
// order), adds a profile nobody asked for, and records what it was sent.
func batchServer(sent *[][]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			UserList []struct {
				OpenID string `json:"openid"`
			} `json:"user_list"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			write(w, `{"errcode":47001,"errmsg":"data format error"}`)
			return
		}
		var ids []string
		var list []string
		for _, u := range req.UserList {
			ids = append(ids, u.OpenID)
		}
		*sent = append(*sent, ids)
		for i := len(ids) - 1; i >= 0; i-- {
			if strings.HasPrefix(ids[i], "gone") {
				list = append(list, fmt.Sprintf(`{"subscribe":0,"openid":%q}`, ids[i]))
				continue
			}
			list = append(list, fmt.Sprintf(`{"subscribe":1,"openid":%q,"remark":"r-%s","subscribe_time":%d}`, ids[i], ids[i], 1600000000+i))
		}
		list = append(list, `{"subscribe":1,"openid":"intruder","remark":"not asked for"}`)
		write(w, `{"user_info_list":[`+strings.Join(list, ",")+`]}`)
	}
}

func TestBatchGetDeduplicatesAndKeysResultsByOpenID(t *testing.T) {
	var sent [][]string
	f := newFakeAPI(t, nil)
	f.apiFn = func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		batchServer(&sent)(w, r)
	}
	c, _ := newTestClient(t, f.srv.URL)
	got, err := c.BatchGet(context.Background(), []string{"oA", "oB", "oA", "gone1", "oB", "o<&>"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"oA", "oB", "gone1", "o<&>"}; len(sent) != 1 || !slices.Equal(sent[0], want) {
		t.Fatalf("sent %v, want one call with %v", sent, want)
	}
	if len(got) != 4 {
		t.Fatalf("got %d profiles, want 4: %v", len(got), got)
	}
	for _, id := range []string{"oA", "oB", "o<&>"} {
		if u := got[id]; u.OpenID != id || u.Remark != "r-"+id || u.Subscribe != 1 {
			t.Errorf("profile of %s = %+v (mixed up by position?)", id, u)
		}
	}
	if u := got["gone1"]; u.Subscribe != 0 || u.OpenID != "gone1" || u.UnionID != "" {
		t.Errorf("unfollowed profile = %+v", u)
	}
	if _, ok := got["intruder"]; ok {
		t.Error("a profile that was not asked for came through")
	}
	if body := f.bodiesOf(PathBatchGet)[0]; !strings.Contains(body, `"o<&>"`) {
		t.Errorf("request body HTML-escapes openids: %s", body)
	}
}

func TestBatchGetListKeepsTheAnswersOrderAndDropsWhatWasNotAskedFor(t *testing.T) {
	var sent [][]string
	twice := false
	f := newFakeAPI(t, nil)
	f.apiFn = func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if twice {
			// The second call: an openid answered twice, the later answer last.
			write(w, `{"user_info_list":[{"subscribe":1,"openid":"oA","remark":"first"},{"subscribe":1,"openid":"intruder"},{"subscribe":1,"openid":""},{"subscribe":1,"openid":"oA","remark":"second"}]}`)
			return
		}
		batchServer(&sent)(w, r)
	}
	c, _ := newTestClient(t, f.srv.URL)
	got, err := c.BatchGetList(context.Background(), []string{"oA", "oB", "oA", "gone1"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range got {
		ids = append(ids, u.OpenID)
	}
	if want := []string{"gone1", "oB", "oA"}; !slices.Equal(ids, want) {
		t.Fatalf("got the profiles of %v, want %v (the answer's order, without the intruder)", ids, want)
	}
	f.mu.Lock()
	twice = true
	f.mu.Unlock()
	got, err = c.BatchGetList(context.Background(), []string{"oA"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Remark != "first" || got[1].Remark != "second" {
		t.Fatalf("got %+v, want both answers of oA in order", got)
	}
	m, err := c.BatchGet(context.Background(), []string{"oA"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || m["oA"].Remark != "second" {
		t.Fatalf("BatchGet gave %+v, want oA's later answer", m)
	}
}

func TestBatchGetRejectsBadSizesBeforeCalling(t *testing.T) {
	hundred := make([]string, 0, 200)
	for i := range 100 {
		id := fmt.Sprintf("o%03d", i)
		hundred = append(hundred, id, id) // 200 entries, 100 distinct: fine
	}
	f := newFakeAPI(t, nil)
	var sent [][]string
	f.apiFn = func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		batchServer(&sent)(w, r)
	}
	c, _ := newTestClient(t, f.srv.URL)
	ctx := context.Background()
	if got, err := c.BatchGet(ctx, hundred); err != nil || len(got) != 100 || len(sent[0]) != 100 {
		t.Fatalf("100 distinct in 200 entries: %d profiles, %v", len(got), err)
	}
	for name, ids := range map[string][]string{
		"nil":          nil,
		"empty":        {},
		"101 distinct": append(slices.Clone(hundred), "o100"),
	} {
		if _, err := c.BatchGet(ctx, ids); !errors.Is(err, ErrBatchSize) {
			t.Errorf("%s: err = %v, want ErrBatchSize", name, err)
		}
	}
	if _, err := c.BatchGet(ctx, []string{"oA", ""}); !errors.Is(err, ErrInvalidOpenID) {
		t.Errorf("empty openid: err = %v, want ErrInvalidOpenID", err)
	}
	if n := f.count(PathBatchGet); n != 1 {
		t.Fatalf("%d batch calls, want only the valid one", n)
	}
}

func TestBatchWithABadOpenIDIsErrInvalidOpenID(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, `{"errcode":40003,"errmsg":"invalid openid hint: [lggEzMNre-I] rid: 5f-1-2"}`)
	})
	c, rec := newTestClient(t, f.srv.URL)
	got, err := c.BatchGet(context.Background(), []string{"oA", "[oZH8"})
	if !errors.Is(err, ErrInvalidOpenID) || got != nil {
		t.Fatalf("got %v, err %v; want ErrInvalidOpenID and no partial result", got, err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 40003 || apiErr.Path != PathBatchGet {
		t.Fatalf("err %v does not carry the *APIError 40003", err)
	}
	if f.count(PathBatchGet) != 1 || len(rec.Retries()) != 0 {
		t.Errorf("40003 was retried")
	}
}

func TestUserInfoReadsTheProfileAndFlagsABadOpenID(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("openid") != "oGood" {
			write(w, `{"errcode":40003,"errmsg":"invalid openid"}`)
			return
		}
		write(w, `{"subscribe":1,"openid":"oGood","subscribe_time":1681903376,"unionid":"uX","remark":"VIP 🐼","groupid":0,"tagid_list":[128,2],"subscribe_scene":"ADD_SCENE_QR_CODE","qr_scene":98765,"qr_scene_str":"promo"}`)
	})
	c, _ := newTestClient(t, f.srv.URL)
	u, err := c.UserInfo(context.Background(), "oGood")
	want := User{Subscribe: 1, OpenID: "oGood", UnionID: "uX", SubscribeTime: 1681903376, Remark: "VIP 🐼",
		TagIDList: []int64{128, 2}, SubscribeScene: "ADD_SCENE_QR_CODE", QRScene: 98765, QRSceneStr: "promo"}
	if err != nil || !equalUser(u, want) {
		t.Fatalf("UserInfo = %+v, %v; want %+v", u, err, want)
	}
	if _, err := c.UserInfo(context.Background(), "oOther"); !errors.Is(err, ErrInvalidOpenID) {
		t.Fatalf("err = %v, want ErrInvalidOpenID", err)
	}
	if _, err := c.UserInfo(context.Background(), ""); !errors.Is(err, ErrInvalidOpenID) {
		t.Fatalf("empty openid: err = %v, want ErrInvalidOpenID", err)
	}
}

func equalUser(a, b User) bool {
	return a.Subscribe == b.Subscribe && a.OpenID == b.OpenID && a.UnionID == b.UnionID &&
		a.SubscribeTime == b.SubscribeTime && a.Remark == b.Remark && a.GroupID == b.GroupID &&
		slices.Equal(a.TagIDList, b.TagIDList) && a.SubscribeScene == b.SubscribeScene &&
		a.QRScene == b.QRScene && a.QRSceneStr == b.QRSceneStr
}
