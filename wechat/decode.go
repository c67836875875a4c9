package wechat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The decoders in this file read bodies from the outside world. They are
// lenient where the real API is known to vary (numbers sometimes quoted,
// missing errcode on success, unknown fields, raw control characters inside
// user-written strings) and never trust the body's Content-Type.

// flexInt decodes a JSON number, a quoted number or null. wechatpy casts
// errcode with int(...) for a reason: gateways and old endpoints have sent
// numbers as strings.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*n = 0
		return nil
	}
	s := string(b)
	if s[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		s = strings.TrimSpace(str)
		if s == "" {
			*n = 0
			return nil
		}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = flexInt(v)
		return nil
	}
	// Integral floats such as 7200.0 or 1e3.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return fmt.Errorf("not an integer: %.40q", s)
	}
	*n = flexInt(f)
	return nil
}

// envelope is the part every WeChat body may carry.
type envelope struct {
	ErrCode *flexInt `json:"errcode"`
	ErrMsg  string   `json:"errmsg"`
}

// decodeJSON unmarshals body into v. A body that fails only because of raw
// control characters inside strings (user-written remarks) is repaired and
// decoded again, as wechatpy's strict=False would.
func decodeJSON(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	var se *json.SyntaxError
	if err != nil && errors.As(err, &se) {
		if fixed, ok := escapeControlChars(body); ok {
			return json.Unmarshal(fixed, v)
		}
	}
	return err
}

// decodeAnswer is decodeJSON with fastUserList in front for batchget
// answers and fastPage for pages of openids.
func decodeAnswer(body []byte, v any) error {
	switch v := v.(type) {
	case *userListBody:
		if fast, ok := fastUserList(body); ok {
			*v = fast
			return nil
		}
	case *pageBody:
		if fast, ok := fastPage(body); ok {
			*v = fast
			return nil
		}
	}
	return decodeJSON(body, v)
}

// escapeControlChars rewrites raw bytes below 0x20 inside JSON strings as
// \u00XX escapes. It reports false when there was nothing to rewrite.
func escapeControlChars(body []byte) ([]byte, bool) {
	var out []byte
	inString, escaped := false, false
	for i, c := range body {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString && c < 0x20:
			if out == nil {
				out = append(make([]byte, 0, len(body)+16), body[:i]...)
			}
			out = fmt.Appendf(out, `\u%04x`, c)
			continue
		}
		if out != nil {
			out = append(out, c)
		}
	}
	return out, out != nil
}

// code is the envelope's errcode; a body without one is a success.
func (e *envelope) code() int {
	if e.ErrCode == nil {
		return 0
	}
	return int(*e.ErrCode)
}

// head gives the envelope of any answer type that embeds it.
func (e *envelope) head() *envelope { return e }

// onePass is a request.decode that reads a whole answer into a new T and
// leaves it in *ans; *ans is nil after an attempt whose body did not decode
// that way, so a retry never keeps an earlier attempt's answer.
func onePass[T any, PT interface {
	*T
	head() *envelope
}](ans *PT) func(body []byte) (*envelope, error) {
	return func(body []byte) (*envelope, error) {
		*ans = nil
		b := PT(new(T))
		if err := decodeAnswer(body, b); err != nil {
			return nil, err
		}
		*ans = b
		return b.head(), nil
	}
}

// decodeEnvelope returns the errcode and errmsg of body; a body without an
// errcode is a success (code 0), as data APIs send none.
func decodeEnvelope(body []byte) (code int, msg string, err error) {
	var e envelope
	if err := decodeJSON(body, &e); err != nil {
		return 0, "", fmt.Errorf("decoding response: %w", err)
	}
	if e.ErrCode == nil {
		return 0, e.ErrMsg, nil
	}
	return int(*e.ErrCode), e.ErrMsg, nil
}

// tokenBody is the answer of cgi-bin/token and cgi-bin/stable_token.
type tokenBody struct {
	AccessToken string  `json:"access_token"`
	ExpiresIn   flexInt `json:"expires_in"`
}

// decodeToken reads a token answer. It never puts the token in an error.
func decodeToken(body []byte) (token string, expiresIn int64, err error) {
	var t tokenBody
	if err := decodeJSON(body, &t); err != nil {
		return "", 0, errors.New("decoding token response: malformed JSON")
	}
	token = strings.TrimSpace(t.AccessToken)
	if token == "" {
		return "", 0, errors.New("token response carries no access_token")
	}
	if !validToken(token) {
		return "", 0, errors.New("token response carries an access_token with forbidden characters")
	}
	if t.ExpiresIn <= 0 {
		return "", 0, fmt.Errorf("token response carries expires_in %d", t.ExpiresIn)
	}
	return token, int64(t.ExpiresIn), nil
}

// validToken reports whether a token can be sent safely in a query string
// and a log-free error path: printable ASCII without spaces.
func validToken(tok string) bool {
	if len(tok) > 4096 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] >= 0x7f {
			return false
		}
	}
	return true
}

// pageBody is the answer of cgi-bin/user/get.
type pageBody struct {
	envelope
	Total      flexInt `json:"total"`
	Count      flexInt `json:"count"`
	NextOpenID string  `json:"next_openid"`
	Data       *struct {
		OpenID []string `json:"openid"`
	} `json:"data"`
}

// decodePage reads a user/get answer. The page is the last when next_openid
// is empty, count is 0, or data/openid is missing or empty; total never
// decides it, because it moves while followers come and go.
func decodePage(body []byte) (Page, error) {
	var b pageBody
	if err := decodeJSON(body, &b); err != nil {
		return Page{}, fmt.Errorf("decoding follower page: %w", err)
	}
	return b.page(), nil
}

func (b *pageBody) page() Page {
	p := Page{Total: int(b.Total), Count: int(b.Count), NextOpenID: b.NextOpenID}
	if b.Data != nil {
		p.OpenIDs = make([]string, 0, len(b.Data.OpenID))
		for _, id := range b.Data.OpenID {
			// The old doc shows a leading "" in its example; never pass one on.
			if id != "" {
				p.OpenIDs = append(p.OpenIDs, id)
			}
		}
	}
	p.Last = p.NextOpenID == "" || p.Count <= 0 || len(p.OpenIDs) == 0
	return p
}

// userBody is one user/info answer or one element of user_info_list. Legacy
// fields (nickname, sex, city, province, country, headimgurl, language) are
// blank since 2021 and deliberately not read.
type userBody struct {
	Subscribe      flexInt   `json:"subscribe"`
	OpenID         string    `json:"openid"`
	UnionID        string    `json:"unionid"`
	SubscribeTime  flexInt   `json:"subscribe_time"`
	Remark         string    `json:"remark"`
	GroupID        flexInt   `json:"groupid"`
	TagIDList      []flexInt `json:"tagid_list"`
	SubscribeScene string    `json:"subscribe_scene"`
	QRScene        flexInt   `json:"qr_scene"`
	QRSceneStr     string    `json:"qr_scene_str"`
}

func (u userBody) user() User {
	out := User{
		Subscribe:      int(u.Subscribe),
		OpenID:         strings.TrimSpace(u.OpenID),
		UnionID:        strings.TrimSpace(u.UnionID),
		SubscribeTime:  int64(u.SubscribeTime),
		Remark:         u.Remark,
		GroupID:        int64(u.GroupID),
		SubscribeScene: u.SubscribeScene,
		QRScene:        int64(u.QRScene),
		QRSceneStr:     u.QRSceneStr,
	}
	if len(u.TagIDList) > 0 {
		out.TagIDList = make([]int64, len(u.TagIDList))
		for i, t := range u.TagIDList {
			out.TagIDList[i] = int64(t)
		}
	}
	return out
}

// decodeUser reads a user/info answer.
func decodeUser(body []byte) (User, error) {
	var b userBody
	if err := decodeJSON(body, &b); err != nil {
		return User{}, fmt.Errorf("decoding user: %w", err)
	}
	u := b.user()
	if u.OpenID == "" {
		return User{}, errors.New("user response carries no openid")
	}
	return u, nil
}

// userListBody is a user/info/batchget answer, envelope included, so that
// one pass reads both (request.decode).
type userListBody struct {
	envelope
	List []userBody `json:"user_info_list"`
}

// decodeUserList reads a user/info/batchget answer, keyed by openid. Elements
// without an openid are dropped: position in the list means nothing.
func decodeUserList(body []byte) (map[string]User, error) {
	b, err := decodeUserBodies(body)
	if err != nil {
		return nil, err
	}
	out := make(map[string]User, len(b.List))
	for _, u := range b.list() {
		out[u.OpenID] = u
	}
	return out, nil
}

// decodeUserBodies reads a user/info/batchget answer with encoding/json.
func decodeUserBodies(body []byte) (*userListBody, error) {
	var b userListBody
	if err := decodeAnswer(body, &b); err != nil {
		return nil, fmt.Errorf("decoding user list: %w", err)
	}
	return &b, nil
}

// list is the answer's profiles in its order, those without an openid
// left out.
func (b *userListBody) list() []User {
	out := make([]User, 0, len(b.List))
	for _, ub := range b.List {
		if u := ub.user(); u.OpenID != "" {
			out = append(out, u)
		}
	}
	return out
}

// tagsBody is the answer of cgi-bin/tags/get.
type tagsBody struct {
	Tags []struct {
		ID    flexInt `json:"id"`
		Name  string  `json:"name"`
		Count flexInt `json:"count"`
	} `json:"tags"`
}

// decodeTags reads a tags/get answer in the API's order. A tag id listed
// twice keeps its first entry, so a caller can key names by id.
func decodeTags(body []byte) ([]Tag, error) {
	var b tagsBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, fmt.Errorf("decoding tags: %w", err)
	}
	out := make([]Tag, 0, len(b.Tags))
	seen := make(map[int64]bool, len(b.Tags))
	for _, t := range b.Tags {
		id := int64(t.ID)
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, Tag{ID: id, Name: t.Name, Count: int64(t.Count)})
	}
	return out, nil
}

// summaryBody is the answer of datacube/getusersummary and, with
// cumulate_user instead of new_user and cancel_user, of getusercumulate.
type summaryBody struct {
	List []struct {
		RefDate      string  `json:"ref_date"`
		UserSource   flexInt `json:"user_source"`
		NewUser      flexInt `json:"new_user"`
		CancelUser   flexInt `json:"cancel_user"`
		CumulateUser flexInt `json:"cumulate_user"`
	} `json:"list"`
}

// decodeDatacube reads either datacube answer. Every row's ref_date must be
// a yyyy-MM-dd date: a row that cannot be put on a day cannot be counted,
// and dropping it would undercount the day without a word.
func decodeDatacube(body []byte, what string) (*summaryBody, error) {
	var b summaryBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", what, err)
	}
	for i, r := range b.List {
		if _, ok := parseDay(r.RefDate); !ok {
			return nil, fmt.Errorf("decoding %s: row %d: ref_date %.40q is not a yyyy-MM-dd date", what, i+1, r.RefDate)
		}
	}
	return &b, nil
}

// decodeUserSummary reads a getusersummary answer, one row per day and
// user_source, in the API's order.
func decodeUserSummary(body []byte) ([]UserSummaryRow, error) {
	b, err := decodeDatacube(body, "user summary")
	if err != nil {
		return nil, err
	}
	out := make([]UserSummaryRow, len(b.List))
	for i, r := range b.List {
		out[i] = UserSummaryRow{RefDate: r.RefDate, UserSource: int(r.UserSource),
			NewUser: int64(r.NewUser), CancelUser: int64(r.CancelUser)}
	}
	return out, nil
}

// decodeUserCumulate reads a getusercumulate answer in the API's order.
func decodeUserCumulate(body []byte) ([]UserCumulateRow, error) {
	b, err := decodeDatacube(body, "user cumulate")
	if err != nil {
		return nil, err
	}
	out := make([]UserCumulateRow, len(b.List))
	for i, r := range b.List {
		out[i] = UserCumulateRow{RefDate: r.RefDate, UserSource: int(r.UserSource), CumulateUser: int64(r.CumulateUser)}
	}
	return out, nil
}
