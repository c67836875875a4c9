package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
)

// API paths of the tag endpoints.
const (
	PathTags      = "cgi-bin/tags/get"
	PathBlacklist = "cgi-bin/tags/members/getblacklist"
)

// Tag is one entry of cgi-bin/tags/get. Ids 0, 1 and 2 are the system's (2
// is "星标组"). A follower's TagIDList may hold an id that is no longer in
// the list: the tag was deleted, and only its number is left to show.
type Tag struct {
	ID    int64
	Name  string // raw, as the operator wrote it (may hold any text, escape sequences included)
	Count int64  // followers with the tag
}

// Tags fetches the account's tags with their follower counts, in the API's
// order. The API serves verified accounts only: an unverified one gets an
// error matching ErrNoPermission (48001).
func (c *Client) Tags(ctx context.Context) ([]Tag, error) {
	body, err := c.call(ctx, request{method: "GET", path: PathTags})
	if err != nil {
		return nil, err
	}
	tags, err := decodeTags(body)
	if err != nil {
		return nil, c.wrap(PathTags, err)
	}
	return tags, nil
}

// BlacklistPage fetches the page of blacklisted openids strictly after begin
// ("" for the beginning). It pages exactly like FollowerPage: NextOpenID is
// the page's last openid even on the final page, and the call after that
// answers an empty, Last page. The page size is the API's (1 000 in the
// current docs, 10 000 in the old ones): never assume it. A begin that is
// not on the blacklist may fail with an error wrapping ErrInvalidOpenID
// (40003): start again from "".
func (c *Client) BlacklistPage(ctx context.Context, begin string) (Page, error) {
	// The documented body for "from the start" is {"begin_openid":""}, so
	// the key is always sent (user/get, a GET, leaves its cursor out).
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		BeginOpenID string `json:"begin_openid"`
	}{begin}); err != nil {
		return Page{}, err
	}
	return c.page(ctx, request{method: "POST", path: PathBlacklist, body: buf.Bytes()})
}

// Blacklist lists the blacklisted openids page by page from the cursor start
// ("" for the beginning), as Followers lists followers: every page including
// the last, then stop; an error is yielded once as (Page{}, err); a cursor
// handed back twice stops the listing with ErrCursorStuck.
func (c *Client) Blacklist(ctx context.Context, start string) iter.Seq2[Page, error] {
	return c.pages(ctx, PathBlacklist, start, c.BlacklistPage)
}
