package cache

// Profile is one follower of one app as the API last described it, plus what
// the cache knows of its history. Strings are the API's raw values: a remark
// is kept byte for byte and sanitised only where it is drawn.
type Profile struct {
	AppID          string
	OpenID         string
	UnionID        string // "" when the app is not bound or the user does not follow
	Subscribed     bool   // the API's subscribe == 1
	SubscribeTime  int64  // unix seconds of the last follow
	SubscribeScene string // e.g. ADD_SCENE_QR_CODE; unknown values are kept as they are
	QRScene        int64
	QRSceneStr     string
	Remark         string
	TagIDs         []int64
	GroupID        int64
	FetchedAt      int64 // unix seconds when the API last described this follower
	UnfollowedAt   int64 // unix seconds when a complete listing first missed it; 0 while following
}
