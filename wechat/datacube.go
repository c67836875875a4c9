package wechat

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// API paths of the follower analytics (datacube) endpoints.
const (
	PathUserSummary  = "datacube/getusersummary"
	PathUserCumulate = "datacube/getusercumulate"
)

// MaxDatacubeDays is the longest range one datacube call takes, counting
// both ends: begin 2025-05-01 and end 2025-05-07 is 7 days.
const MaxDatacubeDays = 7

// DateLayout is how datacube writes a day: yyyy-MM-dd, in China time.
const DateLayout = "2006-01-02"

// UserSummaryRow is one row of datacube/getusersummary: the follows and
// unfollows of one day through one channel. The API gives several rows a day,
// one per user_source; SumDays adds them up.
type UserSummaryRow struct {
	RefDate string // the day, yyyy-MM-dd in China time
	// UserSource is the channel: 0 other (paid follows too, since 2023-06), 1
	// account search, 17 profile-card share, 30 QR code, 57 account name in
	// an article, 100 WeChat ads, 149 mini program, 161 reprint, 200
	// Channels, 201 live stream. Other values may come; keep them.
	UserSource int
	NewUser    int64 // follows
	CancelUser int64 // unfollows
}

// UserCumulateRow is one row of datacube/getusercumulate: the followers at
// the end of a day.
type UserCumulateRow struct {
	RefDate      string // the day, yyyy-MM-dd in China time
	UserSource   int    // 0 in every answer seen
	CumulateUser int64
}

// DaySummary is one day's follows and unfollows over every channel.
type DaySummary struct {
	RefDate    string // yyyy-MM-dd in China time
	NewUser    int64
	CancelUser int64
}

// Net is the day's follows less its unfollows.
func (d DaySummary) Net() int64 { return d.NewUser - d.CancelUser }

// SumDays adds up the user_source rows of each day, oldest day first. A day
// without any row is absent (the simulator always sends a user_source 0
// row, even of zeros; the real API's habit on quiet days is undocumented).
func SumDays(rows []UserSummaryRow) []DaySummary {
	at := map[string]int{} // day → its index in out
	var out []DaySummary
	for _, r := range rows {
		i, ok := at[r.RefDate]
		if !ok {
			i = len(out)
			at[r.RefDate] = i
			out = append(out, DaySummary{RefDate: r.RefDate})
		}
		out[i].NewUser += r.NewUser
		out[i].CancelUser += r.CancelUser
	}
	slices.SortFunc(out, func(a, b DaySummary) int { return cmp.Compare(a.RefDate, b.RefDate) })
	return out
}

// FormatDate is t's day as datacube writes it: yyyy-MM-dd in China time.
func FormatDate(t time.Time) string { return t.In(chinaTime).Format(DateLayout) }

// ParseDate reads a yyyy-MM-dd day and returns its midnight in China time.
func ParseDate(s string) (time.Time, error) {
	t, ok := parseDay(s)
	if !ok {
		return time.Time{}, fmt.Errorf("%.40q is not a yyyy-MM-dd date", s)
	}
	return t, nil
}

// parseDay is ParseDate without an error to build: only the canonical
// spelling passes (two-digit month and day, a day that exists).
func parseDay(s string) (time.Time, bool) {
	t, err := time.ParseInLocation(DateLayout, s, chinaTime)
	if err != nil || t.Format(DateLayout) != s {
		return time.Time{}, false
	}
	return t, true
}

// UserSummary fetches the follows and unfollows of each day from begin to
// end (both included, as China-time days), one row per day and user_source,
// oldest first as the API sends them. Sum a day's rows with SumDays.
//
// The API keeps a day's figures from 08:00 China time the next day: a range
// ending today or later comes back empty, and yesterday is missing before
// 08:00. A range of more than MaxDatacubeDays days, or ending before it
// begins, is refused before any call with an error wrapping ErrDateRange;
// the API's own refusals match ErrDateRange (61501) and ErrDateFormat
// (61500), and an account without the permission (unverified) matches
// ErrNoPermission (48001).
func (c *Client) UserSummary(ctx context.Context, begin, end time.Time) ([]UserSummaryRow, error) {
	body, b, e, err := c.datacube(ctx, PathUserSummary, begin, end)
	if err != nil {
		return nil, err
	}
	rows, err := decodeUserSummary(body)
	if err != nil {
		return nil, c.wrap(PathUserSummary, err)
	}
	// Never attribute figures to a day that was not asked for.
	return slices.DeleteFunc(rows, func(r UserSummaryRow) bool { return r.RefDate < b || r.RefDate > e }), nil
}

// UserCumulate fetches the followers at the end of each day from begin to
// end (both included, as China-time days), with the same rules and errors as
// UserSummary.
func (c *Client) UserCumulate(ctx context.Context, begin, end time.Time) ([]UserCumulateRow, error) {
	body, b, e, err := c.datacube(ctx, PathUserCumulate, begin, end)
	if err != nil {
		return nil, err
	}
	rows, err := decodeUserCumulate(body)
	if err != nil {
		return nil, c.wrap(PathUserCumulate, err)
	}
	return slices.DeleteFunc(rows, func(r UserCumulateRow) bool { return r.RefDate < b || r.RefDate > e }), nil
}

// datacube checks the range, makes the call and returns the answer's body
// with the dates it asked for.
func (c *Client) datacube(ctx context.Context, path string, begin, end time.Time) (body []byte, b, e string, err error) {
	b, e = FormatDate(begin), FormatDate(end)
	bd, _ := parseDay(b)
	ed, _ := parseDay(e)
	if ed.Before(bd) {
		return nil, b, e, fmt.Errorf("wechat %s: %s: %w: it ends (%s) before it begins (%s)", c.cfg.AppID, path, ErrDateRange, e, b)
	}
	// Both are midnights of a zone without daylight saving: whole days.
	if days := int(ed.Sub(bd)/(24*time.Hour)) + 1; days > MaxDatacubeDays {
		return nil, b, e, fmt.Errorf("wechat %s: %s: %w: %s to %s is %d days, and the API takes at most %d a call; split the range",
			c.cfg.AppID, path, ErrDateRange, b, e, days, MaxDatacubeDays)
	}
	req, err := json.Marshal(struct {
		BeginDate string `json:"begin_date"`
		EndDate   string `json:"end_date"`
	}{b, e})
	if err != nil {
		return nil, b, e, err
	}
	body, err = c.call(ctx, request{method: "POST", path: path, body: req})
	return body, b, e, err
}
