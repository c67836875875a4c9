package wechattest

import (
	"net/http"
	"slices"
	"strconv"
)

// handleUserGet serves GET /cgi-bin/user/get. Followers come in listing-key
// order (members.go), which is fixed but unrelated to follow time. next_openid is the
// last openid of every non-empty page, the final one included; the call
// after the final page answers count 0, next_openid "" and no data key, as
// does an account without followers. A next_openid that is not a current
// follower is refused with 40003 (❓ the real answer is unknown).
func (s *Server) handleUserGet(r *http.Request, appid string) ([]byte, *apiError) {
	next := r.URL.Query().Get("next_openid")
	w := s.w
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	if next == "" {
		return appendListPage(nil, a, a.roster.followerList(), 0, true, s.cfg.pageSize), nil
	}
	p, ok := w.lookup(a, next)
	if !ok {
		return nil, &apiError{code: 40003, hint: true}
	}
	key, ok := a.roster.key(p)
	if !ok {
		return nil, &apiError{code: 40003, hint: true}
	}
	return appendListPage(nil, a, a.roster.followerList(), key, false, s.cfg.pageSize), nil
}

// appendListPage writes the answer of user/get and getblacklist: up to size
// members of l after the key after (from its start when first), total its
// size, next_openid the page's last openid; past the end count 0,
// next_openid "" and no data key.
func appendListPage(b []byte, a *app, l list, after uint64, first bool, size int) []byte {
	var ids []byte
	count := 0
	if size > 0 {
		ids = make([]byte, 0, min(size, l.size)*(idLen+3))
		l.each(after, first, func(p uint32, _ uint64) bool {
			if count > 0 {
				ids = append(ids, ',')
			}
			ids = append(ids, '"')
			ids = append(ids, a.ids.encode(p)...)
			ids = append(ids, '"')
			count++
			return count < size
		})
	}
	b = append(b, `{"total":`...)
	b = strconv.AppendInt(b, int64(l.size), 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(count), 10)
	if count == 0 {
		return append(b, `,"next_openid":""}`...)
	}
	b = slices.Grow(b, len(ids)+64)
	b = append(b, `,"data":{"openid":[`...)
	b = append(b, ids...)
	b = append(b, `]},"next_openid":`...)
	b = append(b, ids[len(ids)-idLen-2:]...) // the last openid, quoted
	return append(b, '}')
}

// handleUserInfo serves GET /cgi-bin/user/info?openid=….
func (s *Server) handleUserInfo(r *http.Request, appid string) ([]byte, *apiError) {
	openid := r.URL.Query().Get("openid")
	if openid == "" {
		return nil, &apiError{code: 41009}
	}
	w := s.w
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	p, ok := w.lookup(a, openid)
	if !ok {
		return nil, &apiError{code: 40003, hint: true}
	}
	return s.appendUser(nil, w.user(a, p, openid)), nil
}

// handleBatchGet serves POST /cgi-bin/user/info/batchget: 1..100 entries,
// answered in request order with duplicates repeated (❓ both undocumented);
// one openid this app never issued fails the whole call with 40003.
func (s *Server) handleBatchGet(r *http.Request, appid string) ([]byte, *apiError) {
	var req struct {
		UserList *[]struct {
			OpenID string `json:"openid"`
			Lang   string `json:"lang"`
		} `json:"user_list"`
	}
	if aerr := decodeBody(r, &req); aerr != nil {
		return nil, aerr
	}
	if req.UserList == nil {
		return nil, &apiError{code: 47001}
	}
	list := *req.UserList
	if len(list) == 0 || len(list) > 100 {
		return nil, &apiError{code: 40032, hint: true}
	}
	w := s.w
	w.mu.RLock()
	defer w.mu.RUnlock()
	a := w.byID[appid]
	persons := make([]uint32, len(list))
	for i, item := range list {
		p, ok := w.lookup(a, item.OpenID)
		if !ok {
			return nil, &apiError{code: 40003, hint: true}
		}
		persons[i] = p
	}
	b := make([]byte, 0, 400*len(list))
	b = append(b, `{"user_info_list":[`...)
	for i, item := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendUser(b, w.user(a, persons[i], item.OpenID))
	}
	return append(b, "]}"...), nil
}

// appendUser writes one user/info object in the field order real answers
// use. A non-follower is {"subscribe":0,"openid":…} and nothing else.
func (s *Server) appendUser(b []byte, u User) []byte {
	b = append(b, `{"subscribe":`...)
	b = strconv.AppendInt(b, int64(u.Subscribe), 10)
	b = append(b, `,"openid":`...)
	b = appendString(b, u.OpenID)
	if u.Subscribe == 0 {
		return append(b, '}')
	}
	if s.cfg.legacy {
		b = append(b, `,"nickname":"","sex":0,"language":"zh_CN","city":"","province":"","country":"","headimgurl":""`...)
	}
	b = append(b, `,"subscribe_time":`...)
	b = strconv.AppendInt(b, u.SubscribeTime, 10)
	if u.UnionID != "" {
		b = append(b, `,"unionid":`...)
		b = appendString(b, u.UnionID)
	}
	b = append(b, `,"remark":`...)
	b = appendString(b, u.Remark)
	b = append(b, `,"groupid":`...)
	b = strconv.AppendInt(b, u.GroupID, 10)
	b = append(b, `,"tagid_list":[`...)
	for i, t := range u.TagIDList {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, t, 10)
	}
	b = append(b, `],"subscribe_scene":`...)
	b = appendString(b, u.SubscribeScene)
	b = append(b, `,"qr_scene":`...)
	b = strconv.AppendInt(b, u.QRScene, 10)
	b = append(b, `,"qr_scene_str":`...)
	b = appendString(b, u.QRSceneStr)
	return append(b, '}')
}

// handleUpdateRemark serves POST /cgi-bin/user/info/updateremark. The
// remark must stay under the byte limit (40092 otherwise): bytes, so an
// emoji costs 4. Verified accounts only (48001).
func (s *Server) handleUpdateRemark(r *http.Request, appid string) ([]byte, *apiError) {
	if aerr := s.w.checkVerified(appid); aerr != nil {
		return nil, aerr
	}
	var req struct {
		OpenID string `json:"openid"`
		Remark string `json:"remark"`
	}
	if aerr := decodeBody(r, &req); aerr != nil {
		return nil, aerr
	}
	if len(req.Remark) >= s.cfg.remarkMax {
		return nil, &apiError{code: 40092}
	}
	if err := s.w.SetRemark(appid, req.OpenID, req.Remark); err != nil {
		return nil, &apiError{code: 40003, hint: true}
	}
	return okBody(), nil
}
