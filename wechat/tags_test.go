package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// blacklistServer serves getblacklist over ids in pages of size, as user/get
// pages (see listServer), reading the cursor from the JSON body.
func blacklistServer(t *testing.T, ids []string, size int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			BeginOpenID *string `json:"begin_openid"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.BeginOpenID == nil {
			t.Errorf("getblacklist body without begin_openid: %v", err)
			write(w, `{"errcode":47001,"errmsg":"data format error"}`)
			return
		}
		q := r.URL.Query()
		if *req.BeginOpenID != "" {
			q.Set("next_openid", *req.BeginOpenID)
		}
		r.URL.RawQuery = q.Encode()
		listServer(ids, size, 999)(w, r)
	}
}

func drainBlacklist(c *Client, start string) ([]string, int, error) {
	var got []string
	pages := 0
	for p, err := range c.Blacklist(context.Background(), start) {
		if err != nil {
			return got, pages, err
		}
		pages++
		got = append(got, p.OpenIDs...)
	}
	return got, pages, nil
}

func TestBlacklistSendsEachCursorInTheBodyAndEndsOnTheEmptyAnswer(t *testing.T) {
	ids := openids(7)
	f := newFakeAPI(t, blacklistServer(t, ids, 3))
	c, _ := newTestClient(t, f.srv.URL)
	got, pages, err := drainBlacklist(c, "")
	if err != nil || !slices.Equal(got, ids) {
		t.Fatalf("got %v, %v; want %v", got, err, ids)
	}
	// 3 + 3 + 1 and the empty answer that ends the list; total (999) never counts.
	if pages != 4 {
		t.Fatalf("%d pages, want 4", pages)
	}
	want := []string{`{"begin_openid":""}`, fmt.Sprintf(`{"begin_openid":%q}`, ids[2]),
		fmt.Sprintf(`{"begin_openid":%q}`, ids[5]), fmt.Sprintf(`{"begin_openid":%q}`, ids[6])}
	var bodies []string
	for _, b := range f.bodiesOf(PathBlacklist) {
		bodies = append(bodies, string(trimNewline([]byte(b))))
	}
	if !slices.Equal(bodies, want) {
		t.Fatalf("bodies %q, want %q", bodies, want)
	}
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	return b
}

func TestBlacklistEndsOnAnyEndSignal(t *testing.T) {
	first := `{"total":9,"count":2,"data":{"openid":["oA","oB"]},"next_openid":"oB"}`
	for name, last := range map[string]string{
		"empty next_openid with ids": `{"total":9,"count":1,"data":{"openid":["oC"]},"next_openid":""}`,
		"count 0 with a cursor":      `{"total":9,"count":0,"next_openid":"oB"}`,
		"no data key":                `{"total":9,"count":3,"next_openid":"oX"}`,
		"null openid":                `{"total":9,"count":3,"data":{"openid":null},"next_openid":"oX"}`,
	} {
		t.Run(name, func(t *testing.T) {
			var n atomic.Int32
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					write(w, first)
					return
				}
				write(w, last)
			})
			c, _ := newTestClient(t, f.srv.URL)
			if _, pages, err := drainBlacklist(c, ""); err != nil || pages != 2 || f.count(PathBlacklist) != 2 {
				t.Fatalf("pages %d, calls %d, err %v; want 2, 2, nil", pages, f.count(PathBlacklist), err)
			}
		})
	}
}

// A server that hands back a cursor the listing already used would loop
// forever; both listings stop one call later, whatever the cycle's length.
func TestListingsStopOnACursorThatComesBack(t *testing.T) {
	cycle := []string{"oA", "oB", "oC"}
	for _, length := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("cycle of ", length), func(t *testing.T) {
			var n atomic.Int32
			answer := func(w http.ResponseWriter, r *http.Request) {
				id := cycle[int(n.Add(1)-1)%length]
				fmt.Fprintf(w, `{"total":9,"count":1,"data":{"openid":[%q]},"next_openid":%q}`, id, id)
			}
			f := newFakeAPI(t, answer)
			c, _ := newTestClient(t, f.srv.URL)
			_, pages, err := drainBlacklist(c, "")
			if !errors.Is(err, ErrCursorStuck) || pages != length+1 || f.count(PathBlacklist) != length+1 {
				t.Fatalf("blacklist: err %v after %d pages and %d calls; want ErrCursorStuck after %d", err, pages, f.count(PathBlacklist), length+1)
			}
			n.Store(0)
			_, pages, err = drain(t, c, "")
			if !errors.Is(err, ErrCursorStuck) || pages != length+1 || f.count(PathUserGet) != length+1 {
				t.Fatalf("followers: err %v after %d pages and %d calls; want ErrCursorStuck after %d", err, pages, f.count(PathUserGet), length+1)
			}
		})
	}
}

func TestBlacklistResumesFromACursorAndReportsA40003(t *testing.T) {
	ids := openids(5)
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			BeginOpenID string `json:"begin_openid"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		if req.BeginOpenID == "gone" {
			write(w, `{"errcode":40003,"errmsg":"invalid openid hint: [x] rid: 1-2-3"}`)
			return
		}
		q := r.URL.Query()
		q.Set("next_openid", req.BeginOpenID)
		r.URL.RawQuery = q.Encode()
		listServer(ids, 2, 5)(w, r)
	})
	c, _ := newTestClient(t, f.srv.URL)
	got, _, err := drainBlacklist(c, ids[1])
	if err != nil || !slices.Equal(got, ids[2:]) {
		t.Fatalf("from %s: %v, %v", ids[1], got, err)
	}
	_, err = c.BlacklistPage(context.Background(), "gone")
	var apiErr *APIError
	if !errors.Is(err, ErrInvalidOpenID) || !errors.As(err, &apiErr) || apiErr.Path != PathBlacklist {
		t.Fatalf("err = %v, want ErrInvalidOpenID from getblacklist", err)
	}
}

func TestDecodeTagsKeepsTheFirstOfADuplicateID(t *testing.T) {
	got, err := decodeTags([]byte(`{"tags":[{"id":1,"name":"每天一罐可乐星人","count":0},{"id":"2","name":"星标组","count":"12"},{"id":1,"name":"dup","count":5}]}`))
	want := []Tag{{1, "每天一罐可乐星人", 0}, {2, "星标组", 12}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
	if got, err := decodeTags([]byte(`{}`)); err != nil || len(got) != 0 {
		t.Fatalf("no tags key: %v, %v", got, err)
	}
}

func TestAPIErrorsMatchTheirSentinels(t *testing.T) {
	for code, sentinel := range map[int]error{48001: ErrNoPermission, 61500: ErrDateFormat, 61501: ErrDateRange} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"errcode":%d,"errmsg":"refused rid: 1-2-3"}`, code)
			})
			c, _ := newTestClient(t, f.srv.URL)
			day := time.Date(2025, 5, 1, 12, 0, 0, 0, chinaTime)
			_, err := c.UserSummary(context.Background(), day, day)
			var apiErr *APIError
			if !errors.Is(err, sentinel) || !errors.As(err, &apiErr) || apiErr.Code != code || apiErr.Path != PathUserSummary {
				t.Fatalf("err = %v, want %v with errcode %d", err, sentinel, code)
			}
			for _, other := range []error{ErrNoPermission, ErrDateFormat, ErrDateRange, ErrInvalidOpenID} {
				if other != sentinel && errors.Is(err, other) {
					t.Fatalf("errcode %d also matches %v", code, other)
				}
			}
			if f.count(PathUserSummary) != 1 {
				t.Fatalf("%d calls; a refusal is not retried", f.count(PathUserSummary))
			}
		})
	}
}

func TestDatacubeRangesAreCheckedAndSentAsChinaDates(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { write(w, `{"list":[]}`) })
	c, _ := newTestClient(t, f.srv.URL)
	ctx := context.Background()
	// 16:30 UTC is 00:30 the next day in China.
	begin := time.Date(2025, 5, 24, 16, 30, 0, 0, time.UTC)
	end := time.Date(2025, 5, 31, 15, 59, 0, 0, time.UTC) // 23:59 on the 31st in China: 7 days
	if _, err := c.UserSummary(ctx, begin, end); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UserCumulate(ctx, begin, end); err != nil {
		t.Fatal(err)
	}
	want := `{"begin_date":"2025-05-25","end_date":"2025-05-31"}`
	if b := f.bodiesOf(PathUserSummary); len(b) != 1 || b[0] != want {
		t.Fatalf("summary bodies %q, want %q", b, want)
	}
	if b := f.bodiesOf(PathUserCumulate); len(b) != 1 || b[0] != want {
		t.Fatalf("cumulate bodies %q, want %q", b, want)
	}
	for name, r := range map[string][2]time.Time{
		"8 days":           {begin.Add(-24 * time.Hour), end},
		"end before begin": {end, begin},
	} {
		_, err := c.UserSummary(ctx, r[0], r[1])
		var apiErr *APIError
		if !errors.Is(err, ErrDateRange) || errors.As(err, &apiErr) {
			t.Fatalf("%s: err = %v, want the client's own ErrDateRange", name, err)
		}
		if _, err := c.UserCumulate(ctx, r[0], r[1]); !errors.Is(err, ErrDateRange) {
			t.Fatalf("%s: cumulate err = %v", name, err)
		}
	}
	if f.count(PathUserSummary) != 1 || f.count(PathUserCumulate) != 1 {
		t.Fatal("a refused range was sent")
	}
}

func TestUserSummaryKeepsOnlyTheDaysAskedForAndRefusesAnUnreadableDate(t *testing.T) {
	body := `{"list":[{"ref_date":"2025-05-24","user_source":0,"new_user":9,"cancel_user":9},` +
		`{"ref_date":"2025-05-25","user_source":0,"new_user":3,"cancel_user":1},` +
		`{"ref_date":"2025-05-25","user_source":30,"new_user":"5","cancel_user":0},` +
		`{"ref_date":"2025-05-26","user_source":1,"new_user":2,"cancel_user":4}]}`
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { write(w, body) })
	c, _ := newTestClient(t, f.srv.URL)
	d := func(day int) time.Time { return time.Date(2025, 5, day, 0, 0, 0, 0, chinaTime) }
	rows, err := c.UserSummary(context.Background(), d(25), d(26))
	if err != nil || len(rows) != 3 || rows[0] != (UserSummaryRow{"2025-05-25", 0, 3, 1}) || rows[1].NewUser != 5 {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	sums := SumDays(rows)
	want := []DaySummary{{"2025-05-25", 8, 1}, {"2025-05-26", 2, 4}}
	if !slices.Equal(sums, want) || sums[1].Net() != -2 {
		t.Fatalf("SumDays = %+v, want %+v", sums, want)
	}

	body = `{"list":[{"ref_date":"2025-5-25","user_source":0,"new_user":3,"cancel_user":1}]}`
	if _, err := c.UserSummary(context.Background(), d(25), d(26)); err == nil {
		t.Fatal("a row with an unreadable ref_date was accepted")
	}
}

func TestSumDaysSortsDaysAndAddsEverySource(t *testing.T) {
	rows := []UserSummaryRow{
		{"2025-05-02", 30, 10, 0}, {"2025-05-01", 0, 1, 2}, {"2025-05-02", 0, 1, 1}, {"2025-05-01", 17, 4, 0}, {"2025-05-02", 999, 2, 3},
	}
	want := []DaySummary{{"2025-05-01", 5, 2}, {"2025-05-02", 13, 4}}
	if got := SumDays(rows); !slices.Equal(got, want) {
		t.Fatalf("SumDays = %+v, want %+v", got, want)
	}
	if SumDays(nil) != nil {
		t.Fatal("no rows, no days")
	}
}

func TestParseDateTakesOnlyTheCanonicalSpelling(t *testing.T) {
	got, err := ParseDate("2025-06-01")
	if err != nil || !got.Equal(time.Date(2025, 5, 31, 16, 0, 0, 0, time.UTC)) || FormatDate(got) != "2025-06-01" {
		t.Fatalf("ParseDate = %v, %v", got, err)
	}
	for _, bad := range []string{"2025-6-1", "2025-02-30", "2025/06/01", " 2025-06-01", ""} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}
