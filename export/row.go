// Package export is wxscope's one export format: the row of the `wxscope
// export` contract (design.md, "Command line") and its writers — CSV, JSON
// lines and Parquet. The export command and the TUI's Followers export both
// write through it, so a file from either has the same columns, in the same
// order, with the same values.
package export

import (
	"strconv"

	"wxscope/sanitize"
)

// KindOfficial is the kind of an official account; the other kinds are an
// imported app's, as configured: "miniprogram", "mobile", "web".
const KindOfficial = "official"

// Follower is what the cache holds of one follower of one app. It has the
// fields of cache.Profile, in the same order and of the same types, so a
// *cache.Profile converts to a *Follower — (*export.Follower)(p) — without
// a copy, and this package needs nothing of the store: it builds wherever
// Go does, and a field added to the profile breaks that conversion at
// compile time instead of going missing from the export.
type Follower struct {
	AppID          string
	OpenID         string
	UnionID        string
	Subscribed     bool
	SubscribeTime  int64
	SubscribeScene string
	QRScene        int64
	QRSceneStr     string
	Remark         string
	TagIDs         []int64
	GroupID        int64
	FetchedAt      int64
	UnfollowedAt   int64
}

// Input is what one row is made of. Kind is the app's as configured.
// TagNames and Blacklisted come from what the last sync read of the
// account's tags and blacklist (cache.TagList, cache.Store.EachBlacklisted);
// a caller without them leaves them zero, and the row then shows tags as
// their ids and nobody blacklisted.
type Input struct {
	App     string    // the app's short label
	Kind    string    // "" means KindOfficial
	Profile *Follower // the cached follower; AppID and OpenID set
	// TagNames names tag ids; an id it lacks shows as its number.
	TagNames map[int64]string
	// Blacklisted is whether the follower is on the account's blacklist.
	Blacklisted bool
}

// Row is one line of an export. The JSON field names and their order are
// the contract; CSV columns and Parquet columns follow the same order
// (Columns). Times are unix seconds, 0 when unknown.
type Row struct {
	App            string   `json:"app" parquet:"app,dict"`
	Kind           string   `json:"kind" parquet:"kind,dict"`
	AppID          string   `json:"appid" parquet:"appid,dict"`
	OpenID         string   `json:"openid" parquet:"openid"`
	UnionID        string   `json:"unionid" parquet:"unionid"`
	Subscribe      int      `json:"subscribe" parquet:"subscribe"`
	SubscribeTime  int64    `json:"subscribe_time" parquet:"subscribe_time"`
	SubscribeScene string   `json:"subscribe_scene" parquet:"subscribe_scene,dict"`
	QRScene        int64    `json:"qr_scene" parquet:"qr_scene"`
	QRSceneStr     string   `json:"qr_scene_str" parquet:"qr_scene_str,dict"`
	Remark         string   `json:"remark" parquet:"remark"`
	TagIDList      []int64  `json:"tagid_list" parquet:"tagid_list,list"`
	Tags           []string `json:"tags" parquet:"tags,list"`
	Blacklisted    bool     `json:"blacklisted" parquet:"blacklisted"`
	GroupID        int64    `json:"groupid" parquet:"groupid"`
	FetchedAt      int64    `json:"fetched_at" parquet:"fetched_at"`
	UnfollowedAt   int64    `json:"unfollowed_at" parquet:"unfollowed_at"`
}

// Columns are the contract's field names in order: the CSV header, the JSON
// keys and the Parquet columns.
var Columns = []string{"app", "kind", "appid", "openid", "unionid", "subscribe", "subscribe_time",
	"subscribe_scene", "qr_scene", "qr_scene_str", "remark", "tagid_list", "tags", "blacklisted",
	"groupid", "fetched_at", "unfollowed_at"}

// NewRow returns the row of in. The row shares the profile's strings and
// tag list: the caller must not change them while the row is in use.
func NewRow(in Input) Row {
	p := in.Profile
	r := Row{
		App:            in.App,
		Kind:           in.Kind,
		AppID:          p.AppID,
		OpenID:         p.OpenID,
		UnionID:        p.UnionID,
		SubscribeTime:  p.SubscribeTime,
		SubscribeScene: p.SubscribeScene,
		QRScene:        p.QRScene,
		QRSceneStr:     p.QRSceneStr,
		Remark:         p.Remark,
		TagIDList:      p.TagIDs,
		Blacklisted:    in.Blacklisted,
		GroupID:        p.GroupID,
		FetchedAt:      p.FetchedAt,
		UnfollowedAt:   p.UnfollowedAt,
	}
	if r.Kind == "" {
		r.Kind = KindOfficial
	}
	if p.Subscribed {
		r.Subscribe = 1
	}
	if r.TagIDList == nil {
		r.TagIDList = []int64{} // [] rather than null: the field is always a list
	}
	r.Tags = make([]string, len(r.TagIDList))
	for i, id := range r.TagIDList {
		name, ok := in.TagNames[id]
		if !ok {
			name = strconv.FormatInt(id, 10) // a deleted tag, or names not read yet
		}
		r.Tags[i] = name
	}
	return r
}

// ScreenSafe makes the strings that came from the API safe to print on a
// terminal. A file keeps them byte for byte; only an export to a terminal
// needs this.
func (r *Row) ScreenSafe() {
	for _, f := range []*string{&r.OpenID, &r.UnionID, &r.SubscribeScene, &r.QRSceneStr, &r.Remark} {
		*f = sanitize.Text(*f)
	}
	for i := range r.Tags {
		r.Tags[i] = sanitize.Text(r.Tags[i])
	}
}
