package wechattest

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// The growth history is what datacube/getusersummary and getusercumulate
// report: per app, the follows and unfollows of every day by channel
// (user_source), and the followers at the end of each day. It is generated
// from the seed, not from Follow and Unfollow (real figures are computed
// overnight; these stay put whatever a test does to the live list):
//
//   - It starts historyDays before the world's today, the span that
//     generated subscribe times cover, and follows the same shape: follows
//     grow linearly with time, as subscribe times grow denser towards today.
//   - The day before the world's today ends exactly at the spec's Followers;
//     days after it go on at the pace of the last ones (so a clock that runs
//     past today still finds figures, drifting a little from the live count).
//   - Unfollows are about a third of follows; a day's net can be negative,
//     the followers never are.
//   - Accounts of 400 followers or more have one campaign spike (Followers/40
//     extra follows through QR codes, user_source 30) and, from 600, one
//     mass-unfollow day (Followers/60 extra unfollows under user_source 0),
//     both 4 to 23 days before today so that a month's chart shows them.
//   - Every day has a user_source 0 row, zeros included; other channels
//     have a row on days they brought a follow or an unfollow (❓ the real
//     API's rows on quiet days are undocumented). Unfollows are spread over
//     channels like follows (❓ how WeChat attributes them is undocumented).

// chinaZone is the zone of datacube's days.
var chinaZone = time.FixedZone("UTC+8", 8*3600)

const (
	historyDays = followSpan / 86400 // days of history before the world's today
	forwardDays = 3660               // days generated after it
	churn       = 0.35               // unfollows per net follow
	// dataHour is when yesterday's figures appear, China time.
	dataHour = 8
)

// userSources are the channels of getusersummary (fact sheet §9) with
// rough weights.
var userSources = []struct {
	id     int
	weight float64
}{
	{0, 16}, {1, 30}, {17, 10}, {30, 22}, {57, 8}, {100, 5}, {149, 3}, {161, 2}, {200, 3}, {201, 1},
}

// campaignSource is the channel of the spike: a QR-code poster campaign.
const campaignSource = 30

// SourceCount is one getusersummary row: a channel's follows and unfollows
// of one day.
type SourceCount struct {
	UserSource int
	New        int64
	Cancel     int64
}

// GrowthDay is one day of an app's figures, as datacube reports them once
// the day is available.
type GrowthDay struct {
	Date     string        // yyyy-MM-dd, China time
	Sources  []SourceCount // by user_source; 0 always, others with a follow or unfollow that day
	Cumulate int64         // followers at the end of the day (getusercumulate)
}

// New is the day's follows over every channel.
func (d GrowthDay) New() int64 {
	n := int64(0)
	for _, s := range d.Sources {
		n += s.New
	}
	return n
}

// Cancel is the day's unfollows over every channel.
func (d GrowthDay) Cancel() int64 {
	n := int64(0)
	for _, s := range d.Sources {
		n += s.Cancel
	}
	return n
}

// Growth returns the figures of appid for date (yyyy-MM-dd, China time),
// whatever the server's clock says; false for an unknown app, a malformed
// date or a day outside the history.
func (w *World) Growth(appid, date string) (GrowthDay, bool) {
	a := w.byID[appid]
	d, ok := parseChinaDay(date)
	if a == nil || !ok {
		return GrowthDay{}, false
	}
	g := w.growthOf(a)
	if d < g.first || d >= g.first+int64(len(g.cum)) {
		return GrowthDay{}, false
	}
	return g.day(d), true
}

// GrowthEvents returns the days (yyyy-MM-dd) of the campaign spike and of the
// mass unfollow of appid; "" for one the app is too small to have.
func (w *World) GrowthEvents(appid string) (spike, massUnfollow string) {
	a := w.byID[appid]
	if a == nil {
		return "", ""
	}
	g := w.growthOf(a)
	if g.spikeN > 0 {
		spike = dayDate(g.spike)
	}
	if g.dropN > 0 {
		massUnfollow = dayDate(g.drop)
	}
	return spike, massUnfollow
}

// growthOf builds a's history on first use; everything it reads is fixed at
// NewWorld.
func (w *World) growthOf(a *app) *growth {
	a.growthOnce.Do(func() { a.growth = newGrowth(salt(w.seed, "growth/"+a.info.AppID), a.initial, w.today) })
	return a.growth
}

// growth is one app's history: day totals stored, their split by channel
// derived on demand.
type growth struct {
	salt   uint64
	first  int64   // China day number of the first day
	newU   []int32 // follows of each day from first
	cancel []int32 // unfollows
	cum    []int64 // followers at the end of each day

	spike, drop   int64 // day numbers of the campaign spike and the mass unfollow
	spikeN, dropN int64 // their extra follows and unfollows (0 = none)
}

func newGrowth(salt uint64, followers int, today int64) *growth {
	anchor := chinaDay(today)
	n := int(historyDays + forwardDays)
	g := &growth{salt: salt, first: anchor - historyDays,
		newU: make([]int32, n), cancel: make([]int32, n), cum: make([]int64, n)}
	f := int64(followers)
	if f >= 400 {
		g.spikeN = f / 40
		g.spike = anchor - 4 - int64(mix(salt^1)%20)
	}
	if f >= 600 {
		g.dropN = f / 60
		g.drop = anchor - 4 - int64(mix(salt^2)%20)
		if g.drop == g.spike {
			g.drop--
		}
	}

	// The past: base net follows (what the spike and the drop leave to
	// ordinary days) spread over a linear ramp, with jitter and quieter
	// weekends; follows and unfollows each spread exactly, so that the sums
	// come out right to the follower.
	base := f - g.spikeN + g.dropN
	cancels := int64(float64(base) * churn)
	wN, wC := make([]float64, historyDays), make([]float64, historyDays)
	for i := range wN {
		d := g.first + int64(i)
		ramp := float64(i+1) / float64(historyDays) * weekday(d)
		wN[i] = ramp * (0.5 + g.unit(d, 1))
		wC[i] = ramp * (0.5 + g.unit(d, 2))
	}
	spread(g.newU[:historyDays], base+cancels, wN)
	spread(g.cancel[:historyDays], cancels, wC)
	// An unfollow needs a follower: unfollows that would take the count
	// below zero move to later days. None is left over at the end, since
	// follows outnumber unfollows by base >= 0.
	carry, cum := int64(0), int64(0)
	for i := range historyDays {
		c := int64(g.cancel[i]) + carry
		avail := cum + int64(g.newU[i])
		carry = max(c-avail, 0)
		c -= carry
		g.cancel[i] = int32(c)
		cum += int64(g.newU[i]) - c
	}
	if g.spikeN > 0 {
		g.newU[g.spike-g.first] += int32(g.spikeN)
	}
	if g.dropN > 0 {
		g.cancel[g.drop-g.first] += int32(g.dropN)
	}

	// The future: the pace of the ramp's end, rounded at random so that a
	// small account still gets its occasional follower.
	rate := 2 * float64(base) / float64(historyDays)
	for i := int(historyDays); i < n; i++ {
		d := g.first + int64(i)
		wk := weekday(d)
		g.newU[i] = int32(rate*(1+churn)*wk*(0.5+g.unit(d, 1)) + g.unit(d, 3))
		g.cancel[i] = int32(rate*churn*wk*(0.5+g.unit(d, 2)) + g.unit(d, 4))
	}
	cum = 0
	for i := range n {
		if i >= int(historyDays) {
			g.cancel[i] = int32(min(int64(g.cancel[i]), cum+int64(g.newU[i])))
		}
		cum += int64(g.newU[i]) - int64(g.cancel[i])
		g.cum[i] = cum
	}
	return g
}

// day builds the answer for day number d, which is in the history.
func (g *growth) day(d int64) GrowthDay {
	i := int(d - g.first)
	extraNew, extraCancel := int64(0), int64(0)
	if d == g.spike {
		extraNew = g.spikeN
	}
	if d == g.drop {
		extraCancel = g.dropN
	}
	wN, wC := make([]float64, len(userSources)), make([]float64, len(userSources))
	for j, s := range userSources {
		wN[j] = s.weight * (0.5 + g.unit(d, uint64(10+j)))
		wC[j] = s.weight * (0.5 + g.unit(d, uint64(40+j)))
	}
	ns, cs := make([]int32, len(userSources)), make([]int32, len(userSources))
	spread(ns, int64(g.newU[i])-extraNew, wN)
	spread(cs, int64(g.cancel[i])-extraCancel, wC)
	out := GrowthDay{Date: dayDate(d), Cumulate: g.cum[i]}
	for j, s := range userSources {
		sc := SourceCount{UserSource: s.id, New: int64(ns[j]), Cancel: int64(cs[j])}
		if s.id == campaignSource {
			sc.New += extraNew
		}
		if s.id == 0 {
			sc.Cancel += extraCancel
		}
		if s.id == 0 || sc.New > 0 || sc.Cancel > 0 {
			out.Sources = append(out.Sources, sc)
		}
	}
	return out
}

// unit is a number in [0, 1) drawn from the app, the day and k.
func (g *growth) unit(d int64, k uint64) float64 {
	return float64(mix(g.salt^mix(uint64(d)^k<<40))>>11) / (1 << 53)
}

// weekday damps weekends a little.
func weekday(d int64) float64 {
	switch (d + 4) % 7 { // day 0, 1970-01-01, was a Thursday
	case 0, 6:
		return 0.8
	}
	return 1
}

// spread splits total into len(out) parts in proportion to weights,
// exactly: each part is the rounded running share less the previous one.
func spread(out []int32, total int64, weights []float64) {
	sum := 0.0
	for _, x := range weights {
		sum += x
	}
	if sum <= 0 || total <= 0 {
		clear(out)
		return
	}
	acc, prev := 0.0, int64(0)
	for i, x := range weights {
		acc += x
		cur := min(int64(math.Round(float64(total)*acc/sum)), total)
		if i == len(weights)-1 {
			cur = total
		}
		out[i] = int32(cur - prev)
		prev = cur
	}
}

// chinaDay is the China-time day number (days since 1970-01-01) of unix.
func chinaDay(unix int64) int64 {
	s := unix + 8*3600
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// dayDate spells day number d as yyyy-MM-dd.
func dayDate(d int64) string {
	return time.Unix(d*86400-8*3600, 0).In(chinaZone).Format("2006-01-02")
}

// parseChinaDay reads a yyyy-MM-dd date, only in its canonical spelling.
func parseChinaDay(s string) (int64, bool) {
	t, err := time.ParseInLocation("2006-01-02", s, chinaZone)
	if err != nil || t.Format("2006-01-02") != s {
		return 0, false
	}
	return chinaDay(t.Unix()), true
}

// handleUserSummary serves POST /datacube/getusersummary.
func (s *Server) handleUserSummary(r *http.Request, appid string) ([]byte, *apiError) {
	return s.handleDatacube(r, appid, false)
}

// handleUserCumulate serves POST /datacube/getusercumulate.
func (s *Server) handleUserCumulate(r *http.Request, appid string) ([]byte, *apiError) {
	return s.handleDatacube(r, appid, true)
}

// handleDatacube answers {"begin_date","end_date"} (yyyy-MM-dd, China
// time) with {"list":[…]}, one row per day and channel (getusersummary) or
// per day (getusercumulate, user_source 0). Verified accounts only (48001);
// a date that is not yyyy-MM-dd is 61500; an end before the begin or a span
// over 7 days is 61501. A range ending today or later comes back with an
// empty list; yesterday is there from 08:00 China time on the server's
// clock. Days before the history began are absent (❓).
func (s *Server) handleDatacube(r *http.Request, appid string, cumulate bool) ([]byte, *apiError) {
	if aerr := s.w.checkVerified(appid); aerr != nil {
		return nil, aerr
	}
	var req struct {
		BeginDate string `json:"begin_date"`
		EndDate   string `json:"end_date"`
	}
	if aerr := decodeBody(r, &req); aerr != nil {
		return nil, aerr
	}
	begin, ok1 := parseChinaDay(req.BeginDate)
	end, ok2 := parseChinaDay(req.EndDate)
	if !ok1 || !ok2 {
		return nil, &apiError{code: 61500}
	}
	if end < begin || end-begin+1 > 7 {
		return nil, &apiError{code: 61501}
	}
	now := s.clock.Now()
	today := chinaDay(now.Unix())
	b := []byte(`{"list":[`)
	if end < today {
		last := today - 1
		if now.In(chinaZone).Hour() < dataHour {
			last--
		}
		g := s.w.growthOf(s.w.byID[appid])
		n := 0
		for d := max(begin, g.first); d <= min(end, last, g.first+int64(len(g.cum))-1); d++ {
			day := g.day(d)
			if cumulate {
				b = appendDatacubeRow(b, n, day.Date, 0)
				b = append(b, `,"cumulate_user":`...)
				b = strconv.AppendInt(b, day.Cumulate, 10)
				b = append(b, '}')
				n++
				continue
			}
			for _, sc := range day.Sources {
				b = appendDatacubeRow(b, n, day.Date, sc.UserSource)
				b = append(b, `,"new_user":`...)
				b = strconv.AppendInt(b, sc.New, 10)
				b = append(b, `,"cancel_user":`...)
				b = strconv.AppendInt(b, sc.Cancel, 10)
				b = append(b, '}')
				n++
			}
		}
	}
	return append(b, "]}"...), nil
}

// appendDatacubeRow opens the n-th row of a list with its date and channel.
func appendDatacubeRow(b []byte, n int, date string, source int) []byte {
	if n > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"ref_date":"`...)
	b = append(b, date...)
	b = append(b, `","user_source":`...)
	b = strconv.AppendInt(b, int64(source), 10)
	return b
}
