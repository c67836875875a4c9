package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"unicode/utf8"
)

// API paths of the user endpoints.
const (
	PathUserGet  = "cgi-bin/user/get"
	PathUserInfo = "cgi-bin/user/info"
	PathBatchGet = "cgi-bin/user/info/batchget"
)

// Page is one answer of cgi-bin/user/get, or of
// cgi-bin/tags/members/getblacklist, which pages the same way.
type Page struct {
	Total int // the API's count of the whole list; it moves during a listing, so never stop on it
	Count int // the API's count of openids in this page
	// OpenIDs are this page's openids, in the API's (unspecified) order.
	OpenIDs []string
	// NextOpenID is the cursor for the next page; on every non-empty page
	// the API sets it to the page's last openid, even on the final one.
	NextOpenID string
	// Last is true when the listing is over: next_openid empty, count 0, or
	// no openids. The final non-empty page is usually not Last; the empty
	// answer after it is.
	Last bool
}

// User is a follower's profile from user/info or user/info/batchget. The
// blank legacy fields (nickname, sex, region, avatar, language) are ignored.
type User struct {
	Subscribe      int    // 1 follows; 0 does not, and then only OpenID is set
	OpenID         string //
	UnionID        string // "" when the app is not bound to an open platform, or the user does not follow
	SubscribeTime  int64  // unix seconds of the last follow
	Remark         string // the operator's note, raw (may hold any text, escape sequences included)
	GroupID        int64
	TagIDList      []int64
	SubscribeScene string // e.g. ADD_SCENE_QR_CODE; unknown values are kept as they are
	QRScene        int64
	QRSceneStr     string
}

// FollowerPage fetches the page of followers strictly after next; an empty
// next starts from the beginning (and is left out of the query, as the API
// expects). A next that is no longer a follower may fail with an error
// wrapping ErrInvalidOpenID (the real API's answer is undocumented; the
// simulator gives 40003): start the listing again from "".
func (c *Client) FollowerPage(ctx context.Context, next string) (Page, error) {
	q := url.Values{}
	if next != "" {
		q.Set("next_openid", next)
	}
	return c.page(ctx, request{method: "GET", path: PathUserGet, query: q})
}

// page makes the call of one page of a listing (user/get, getblacklist:
// the same answer) and decodes it.
func (c *Client) page(ctx context.Context, req request) (Page, error) {
	var ans *pageBody // as in BatchGet
	req.decode = onePass(&ans)
	body, err := c.call(ctx, req)
	if err != nil {
		return Page{}, err
	}
	if ans != nil {
		return ans.page(), nil
	}
	p, err := decodePage(body)
	if err != nil {
		return Page{}, c.wrap(req.path, err)
	}
	return p, nil
}

// Followers lists the followers page by page from the cursor start ("" for
// the beginning). It yields every page including the last, then stops; on an
// error it yields (Page{}, err) once and stops. To resume later, pass the
// NextOpenID of the last page handled. A cursor the API hands back twice
// stops the listing with ErrCursorStuck after the page that carried it.
func (c *Client) Followers(ctx context.Context, start string) iter.Seq2[Page, error] {
	return c.pages(ctx, PathUserGet, start, c.FollowerPage)
}

// pages is the listing loop of user/get and getblacklist: fetch is called
// with start, then with each page's NextOpenID, until a page is Last. The
// end is never decided by total. Every cursor the listing has used is
// remembered, so a server that hands one back (the same cursor, or a cycle
// through earlier ones) costs one call more, not an endless loop.
func (c *Client) pages(ctx context.Context, path, start string, fetch func(context.Context, string) (Page, error)) iter.Seq2[Page, error] {
	return func(yield func(Page, error) bool) {
		next := start
		used := map[string]bool{start: true}
		for {
			p, err := fetch(ctx, next)
			if err != nil {
				yield(Page{}, err)
				return
			}
			if !p.Last && used[p.NextOpenID] {
				yield(p, nil)
				yield(Page{}, fmt.Errorf("wechat %s: %s: %w (next_openid %q came back after %d calls)", c.cfg.AppID, path, ErrCursorStuck, p.NextOpenID, len(used)))
				return
			}
			if !yield(p, nil) || p.Last {
				return
			}
			next = p.NextOpenID
			used[next] = true
		}
	}
}

// UserInfo fetches one user's profile. An openid that is malformed or not
// this app's gives an error wrapping ErrInvalidOpenID.
func (c *Client) UserInfo(ctx context.Context, openid string) (User, error) {
	if openid == "" {
		return User{}, fmt.Errorf("wechat %s: %s: %w: empty openid", c.cfg.AppID, PathUserInfo, ErrInvalidOpenID)
	}
	q := url.Values{"openid": {openid}}
	body, err := c.call(ctx, request{method: "GET", path: PathUserInfo, query: q})
	if err != nil {
		return User{}, err
	}
	u, err := decodeUser(body)
	if err != nil {
		return User{}, c.wrap(PathUserInfo, err)
	}
	return u, nil
}

// BatchGet fetches the profiles of 1..100 distinct openids in one call and
// returns them keyed by openid (never by position: the API does not promise
// an order). Duplicates are sent once. An openid the API left out of its
// answer is absent from the map. One bad openid fails the whole call with an
// error wrapping ErrInvalidOpenID, so the caller can split the batch; no
// openids, an empty one, or more than 100 distinct fail before any call.
func (c *Client) BatchGet(ctx context.Context, openids []string) (map[string]User, error) {
	list, err := c.BatchGetList(ctx, openids)
	if err != nil {
		return nil, err
	}
	got := make(map[string]User, len(list))
	for _, u := range list {
		got[u.OpenID] = u
	}
	return got, nil
}

// batchGetRequest is the body of a batchget call for ids: raw UTF-8, no
// HTML escaping, as the SDKs send, and as encoding/json writes it.
// Openids are plain ASCII, which goes as it is, where encoding/json
// reflected over a hundred of them a call, for every call of a sync. An id
// that needs escaping leaves the whole body to encoding/json.
func batchGetRequest(ids []string) ([]byte, error) {
	n := len(`{"user_list":[]}`) + 1
	for _, id := range ids {
		for i := 0; i < len(id); i++ {
			if c := id[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
				return batchGetRequestJSON(ids)
			}
		}
		n += len(`{"openid":""},`) + len(id)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"user_list":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"openid":"`...)
		b = append(b, id...)
		b = append(b, `"}`...)
	}
	return append(b, "]}\n"...), nil
}

// batchGetRequestJSON is batchGetRequest by encoding/json.
func batchGetRequestJSON(ids []string) ([]byte, error) {
	type item struct {
		OpenID string `json:"openid"`
	}
	req := struct {
		UserList []item `json:"user_list"`
	}{UserList: make([]item, len(ids))}
	for i, id := range ids {
		req.UserList[i] = item{OpenID: id}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BatchGetList is BatchGet giving the profiles as the answer lists them,
// for a caller that keys them itself: an openid answered twice is there
// twice (keyed in order, the later wins, as in BatchGet's map), and one
// not asked for, or none, is left out. A sync keys a hundred profiles a
// call, and a map of Users it only copied out of cost an allocation each.
func (c *Client) BatchGetList(ctx context.Context, openids []string) ([]User, error) {
	ids := make([]string, 0, len(openids))
	seen := make(map[string]bool, len(openids))
	for _, id := range openids {
		if id == "" {
			return nil, fmt.Errorf("wechat %s: %s: %w: empty openid in batch", c.cfg.AppID, PathBatchGet, ErrInvalidOpenID)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || len(ids) > MaxBatch {
		return nil, fmt.Errorf("wechat %s: %s: %w (got %d)", c.cfg.AppID, PathBatchGet, ErrBatchSize, len(ids))
	}
	req, err := batchGetRequest(ids)
	if err != nil {
		return nil, err
	}
	var ans *userListBody // the answer of the attempt that succeeded, when it decoded in one pass
	body, err := c.call(ctx, request{method: "POST", path: PathBatchGet, body: req,
		decode: onePass(&ans)})
	if err != nil {
		return nil, err
	}
	if ans == nil {
		if ans, err = decodeUserBodies(body); err != nil {
			return nil, c.wrap(PathBatchGet, err)
		}
	}
	got := ans.list()
	// Never attribute a profile to an openid that was not asked for.
	return slices.DeleteFunc(got, func(u User) bool { return !seen[u.OpenID] }), nil
}
