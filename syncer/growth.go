package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/wechat"
)

// revisableDays are the latest days datacube may still revise (yesterday
// and the day before): a day fetched while it was one of them is asked
// again, every other day cached is final.
const revisableDays = 2

// chinaTime is the zone of datacube's days.
var chinaTime = time.FixedZone("CST", 8*3600)

// day is 24 hours: China time keeps no daylight saving.
const day = 24 * time.Hour

// GrowthRange is the n China-time days ending yesterday as of now, as
// midnights in China time: what `wxscope growth --days n` lists.
func GrowthRange(now time.Time, n int) (first, last time.Time) {
	y, m, d := now.In(chinaTime).Date()
	last = time.Date(y, m, d, 0, 0, 0, 0, chinaTime).Add(-day)
	return last.Add(-time.Duration(max(n, 1)-1) * day), last
}

// settled reports whether a cached day is final: it was fetched when it was
// no longer one of the revisable days.
func settled(d cache.GrowthDay, date time.Time) bool {
	if d.FetchedAt.IsZero() {
		return false
	}
	f := d.FetchedAt.In(chinaTime)
	fetchDay := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, chinaTime)
	return !date.After(fetchDay.Add(-(revisableDays + 1) * day))
}

// Growth brings the official daily figures of app (datacube: follows and
// unfollows summed over every channel, and the followers at the end of
// each day) from first to last, China-time days, into the store, and
// returns the store's days of that range, oldest first. A day already
// cached is not asked again unless it was fetched while still revisable;
// the days to ask go 7 a call (the API's limit), each call's days stored as
// they come, so a failure keeps what was fetched. now is the time the
// figures are stamped with.
//
// Days the API has nothing for are returned with Known false: before the
// account's history, and yesterday until 08:00 China time. An error is a
// *Failure saying in one sentence why and what to do: an account without
// verification (48001) or a refused range (61500, 61501) among them.
func (s *Syncer) Growth(ctx context.Context, app config.App, first, last, now time.Time) ([]cache.GrowthDay, error) {
	if app.Imported() {
		return nil, &Failure{App: app.Name, Err: ErrNotOfficial, Sentence: fmt.Sprintf(
			"%s is a %s: the official daily follower figures (datacube) are an official account's only", app.Name, config.KindName(app.Kind))}
	}
	first, last = first.In(chinaTime), last.In(chinaTime)
	b, e := wechat.FormatDate(first), wechat.FormatDate(last)
	cached, err := s.store.Growth(app.AppID, b, e)
	if err != nil {
		return nil, err
	}
	have := map[string]cache.GrowthDay{}
	for _, d := range cached {
		have[d.Date] = d
	}
	var runs [][2]time.Time // ranges to ask, each at most MaxDatacubeDays
	for d := first; !d.After(last); d = d.Add(day) {
		if c, ok := have[wechat.FormatDate(d)]; ok && settled(c, d) {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1][1].Add(day).Equal(d) && runs[n-1][1].Sub(runs[n-1][0]) < (wechat.MaxDatacubeDays-1)*day {
			runs[n-1][1] = d
			continue
		}
		runs = append(runs, [2]time.Time{d, d})
	}
	if len(runs) > 0 {
		if err := app.SecretErr(); err != nil {
			return nil, &Failure{App: app.Name, Err: err, Sentence: fmt.Sprintf(
				"%s: the growth figures cannot be read: $%s is not set; set it to the app's AppSecret", app.Name, app.SecretEnv)}
		}
		c, err := NewClient(s.cfg, app, s.opts.HTTPClient, nil)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			days, err := fetchGrowth(ctx, c, r[0], r[1], now)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, &Failure{App: app.Name, Err: err, Sentence: growthFailure(app, r[0], r[1], err)}
			}
			if err := s.store.PutGrowth(app.AppID, days); err != nil {
				return nil, err
			}
		}
	}
	return s.store.Growth(app.AppID, b, e)
}

// fetchGrowth asks datacube for the days from begin to end (at most
// MaxDatacubeDays): one getusersummary and one getusercumulate call.
func fetchGrowth(ctx context.Context, c *wechat.Client, begin, end, now time.Time) ([]cache.GrowthDay, error) {
	rows, err := c.UserSummary(ctx, begin, end)
	if err != nil {
		return nil, err
	}
	cum, err := c.UserCumulate(ctx, begin, end)
	if err != nil {
		return nil, err
	}
	byDate := map[string]*cache.GrowthDay{}
	var days []cache.GrowthDay
	for d := begin; !d.After(end); d = d.Add(day) {
		days = append(days, cache.GrowthDay{Date: wechat.FormatDate(d), FetchedAt: now})
	}
	for i := range days {
		byDate[days[i].Date] = &days[i]
	}
	for _, sum := range wechat.SumDays(rows) {
		if d := byDate[sum.RefDate]; d != nil {
			d.New, d.Cancel, d.HasSummary = sum.NewUser, sum.CancelUser, true
		}
	}
	for _, r := range cum {
		// One row a day (user_source 0) in every answer seen.
		if d := byDate[r.RefDate]; d != nil {
			d.Cumulate, d.HasCumulate = r.CumulateUser, true
		}
	}
	return days, nil
}

// growthFailure says in one sentence why the figures of app from begin to
// end could not be read.
func growthFailure(app config.App, begin, end time.Time, err error) string {
	span := wechat.FormatDate(begin) + " to " + wechat.FormatDate(end)
	var apiErr *wechat.APIError
	errors.As(err, &apiErr)
	switch {
	case errors.Is(err, wechat.ErrNoPermission):
		return fmt.Sprintf("%s: WeChat gives the daily follower figures to verified accounts only (datacube answered 48001), so there are none to show for it", app.Name)
	case errors.Is(err, wechat.ErrDateRange) && apiErr != nil:
		return fmt.Sprintf("%s: datacube refused the days %s (61501 date range error); its figures begin on 2014-12-01 and end yesterday, so ask for fewer --days", app.Name, span)
	case errors.Is(err, wechat.ErrDateFormat):
		return fmt.Sprintf("%s: datacube could not read the dates %s (61500 date format error); please report this with `wxscope version`", app.Name, span)
	default:
		return fmt.Sprintf("%s: the growth figures of %s could not be read (%v); run wxscope growth --app %s again", app.Name, span, err, app.Name)
	}
}
