package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Source is where a sync pulls one app's followers from. The cache knows
// nothing of the WeChat API: main adapts a wechat.Client to this interface,
// and tests use any in-memory implementation.
type Source interface {
	// ListFollowers returns the page of openids strictly after next; an empty
	// next starts from the beginning of the list.
	ListFollowers(ctx context.Context, next string) (FollowerPage, error)
	// Profiles fetches the profiles of 1..100 distinct openids, keyed by
	// openid. An openid that is no longer a follower comes back with
	// Subscribed false. Errors wrap ErrInvalidOpenID when one openid of the
	// batch failed the whole call, and ErrDailyQuota when the API's quota is
	// spent. The map is the caller's: a sync drops from it what it did not
	// ask for.
	Profiles(ctx context.Context, openids []string) (map[string]Profile, error)
}

// FollowerPage is one page of a follower listing.
type FollowerPage struct {
	OpenIDs []string
	// Next is the cursor to pass to the following call.
	Next string
	// Total is what the API says the follower count is; it may move during a
	// listing and never decides when the listing ends.
	Total int
	// Count is how many openids the API says the page holds; 0 when the
	// source does not say. A page that holds fewer is not trusted.
	Count int
	// Last is true when this page ended the listing.
	Last bool
	// FromStart is true when the source rejected the cursor it was given
	// and listed from the beginning instead: this page is the listing's
	// first, and the ones before it may come again.
	FromStart bool
}

// ErrInvalidOpenID marks a batch that failed as a whole because one of its
// openids is malformed or not a follower of this app (WeChat errcode 40003).
var ErrInvalidOpenID = errors.New("invalid openid")

// ErrDailyQuota marks an API whose daily call quota is spent (errcode 45009).
var ErrDailyQuota = errors.New("daily API quota spent")

// QuotaError says which API ran out of its daily quota and when it resets.
// It wraps ErrDailyQuota and the source's own error.
type QuotaError struct {
	API     string    // e.g. "cgi-bin/user/get"
	ResetAt time.Time // zero when unknown
	Err     error
}

func (e *QuotaError) Error() string {
	if e.ResetAt.IsZero() {
		return fmt.Sprintf("%s: daily quota spent", e.API)
	}
	return fmt.Sprintf("%s: daily quota spent until %s", e.API, e.ResetAt.Format("2006-01-02 15:04 -07:00"))
}

// Unwrap lets errors.Is find both ErrDailyQuota and the source's error.
func (e *QuotaError) Unwrap() []error { return []error{ErrDailyQuota, e.Err} }
