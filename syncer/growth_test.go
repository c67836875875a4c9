package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/wechat"
	"wxscope/wechat/wechattest"
)

var china = time.FixedZone("UTC+8", 8*3600)

// simNow is the world's default today, 2025-06-01, in the afternoon: the
// simulator has yesterday's figures.
var simNow = time.Date(2025, 6, 1, 17, 0, 0, 0, china)

// rangeLog records the begin and end of every datacube call.
type rangeLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	got  map[string][][2]string // path → ranges asked
}

func (l *rangeLog) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "datacube/") && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var q struct{ BeginDate, EndDate string }
		_ = json.Unmarshal(b, &struct {
			B *string `json:"begin_date"`
			E *string `json:"end_date"`
		}{&q.BeginDate, &q.EndDate})
		l.mu.Lock()
		l.got[r.URL.Path] = append(l.got[r.URL.Path], [2]string{q.BeginDate, q.EndDate})
		l.mu.Unlock()
	}
	return l.next.RoundTrip(r)
}

func (l *rangeLog) take(path string) [][2]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.got["/"+path]
	delete(l.got, "/"+path)
	return r
}

func newGrowthSim(t *testing.T, spec wechattest.WorldSpec, now time.Time) (*simSyncer, *rangeLog) {
	t.Helper()
	ss := newSimSyncer(t, wechattest.NewWorld(spec), wechattest.WithClock(wechattest.NewClock(now)))
	log := &rangeLog{next: ss.srv.Client().Transport, got: map[string][][2]string{}}
	ss.s = New(ss.cfg, ss.store, Options{Command: "test", HTTPClient: &http.Client{Transport: log}})
	return ss, log
}

func dates(days []cache.GrowthDay) []string {
	var out []string
	for _, d := range days {
		out = append(out, d.Date)
	}
	return out
}

// Thirty days go in five calls of at most seven days each, covering the
// range once; each day is the sum of its per-source rows, the cumulate is
// the day's, and the campaign spike and the mass unfollow stand out. A
// second run asks only for the last two days; a run the next day asks for
// those two again (they were revisable when fetched) and the new day.
func TestGrowthAsksSevenDaysACallAndOnlyTheRevisableDaysAgain(t *testing.T) {
	spec := wechattest.WorldSpec{Seed: 9, Apps: []wechattest.AppSpec{{Name: "news", Platform: "P1", Followers: 24000}}}
	ss, log := newGrowthSim(t, spec, simNow)
	app := ss.app(t, "news")
	first, last := GrowthRange(simNow, 30)
	if got := wechat.FormatDate(first) + ".." + wechat.FormatDate(last); got != "2025-05-02..2025-05-31" {
		t.Fatalf("30 days as of %v: %s", simNow, got)
	}
	days, err := ss.s.Growth(context.Background(), app, first, last, simNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 30 || days[0].Date != "2025-05-02" || days[29].Date != "2025-05-31" {
		t.Fatalf("30 days: got %d, %v", len(days), dates(days))
	}
	for _, path := range []string{wechat.PathUserSummary, wechat.PathUserCumulate} {
		got := log.take(path)
		want := [][2]string{{"2025-05-02", "2025-05-08"}, {"2025-05-09", "2025-05-15"}, {"2025-05-16", "2025-05-22"},
			{"2025-05-23", "2025-05-29"}, {"2025-05-30", "2025-05-31"}}
		if len(got) != len(want) {
			t.Fatalf("%s asked %v, want %v", path, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s call %d asked %v, want %v", path, i, got[i], want[i])
			}
		}
	}

	a := ss.world.Apps()[0]
	spike, drop := ss.world.GrowthEvents(a.AppID)
	var top, bottom cache.GrowthDay
	multi := 0
	for _, d := range days {
		w, ok := ss.world.Growth(a.AppID, d.Date)
		if !ok || !d.HasSummary || !d.HasCumulate {
			t.Fatalf("%s: stored %+v, simulator has it: %v", d.Date, d, ok)
		}
		if len(w.Sources) > 1 {
			multi++
		}
		if d.New != w.New() || d.Cancel != w.Cancel() || d.Cumulate != w.Cumulate {
			t.Errorf("%s: new %d cancel %d cumulate %d, the simulator's sources sum to %d, %d, %d",
				d.Date, d.New, d.Cancel, d.Cumulate, w.New(), w.Cancel(), w.Cumulate)
		}
		if d.Net() > top.Net() {
			top = d
		}
		if d.Net() < bottom.Net() {
			bottom = d
		}
	}
	if multi < 20 {
		t.Errorf("only %d days had several sources: the sum over sources is hardly tested", multi)
	}
	if top.Date != spike || bottom.Date != drop || bottom.Net() >= 0 {
		t.Errorf("the largest net is %s (%+d), the smallest %s (%+d); the campaign was %s, the mass unfollow %s",
			top.Date, top.Net(), bottom.Date, bottom.Net(), spike, drop)
	}

	// Again, at the same time: only the last two days.
	if _, err := ss.s.Growth(context.Background(), app, first, last, simNow); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{wechat.PathUserSummary, wechat.PathUserCumulate} {
		if got := log.take(path); len(got) != 1 || got[0] != [2]string{"2025-05-30", "2025-05-31"} {
			t.Errorf("second run: %s asked %v, want only 2025-05-30..2025-05-31", path, got)
		}
	}

	// The next day: the two revisable days and the new one.
	tomorrow := simNow.Add(24 * time.Hour)
	ss.srv.Clock().Set(tomorrow)
	first, last = GrowthRange(tomorrow, 30)
	days, err = ss.s.Growth(context.Background(), app, first, last, tomorrow)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{wechat.PathUserSummary, wechat.PathUserCumulate} {
		if got := log.take(path); len(got) != 1 || got[0] != [2]string{"2025-05-30", "2025-06-01"} {
			t.Errorf("the next day: %s asked %v, want 2025-05-30..2025-06-01", path, got)
		}
	}
	if len(days) != 30 || days[29].Date != "2025-06-01" || !days[29].Known() {
		t.Errorf("the next day's 30 days end %v", dates(days[len(days)-3:]))
	}
}

// Before 08:00 China time yesterday has no figures yet: the day comes back
// unknown, and the next run asks for it again.
func TestGrowthOfYesterdayBeforeEightIsUnknownAndAskedAgain(t *testing.T) {
	early := time.Date(2025, 6, 1, 7, 30, 0, 0, china)
	spec := wechattest.WorldSpec{Seed: 9, Apps: []wechattest.AppSpec{{Name: "news", Platform: "P1", Followers: 500}}}
	ss, log := newGrowthSim(t, spec, early)
	app := ss.app(t, "news")
	first, last := GrowthRange(early, 3)
	days, err := ss.s.Growth(context.Background(), app, first, last, early)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 3 || !days[1].Known() || days[2].Known() || days[2].Date != "2025-05-31" {
		t.Fatalf("three days at 07:30: %+v, want the last (2025-05-31) unknown", days)
	}
	log.take(wechat.PathUserSummary)
	later := early.Add(2 * time.Hour)
	ss.srv.Clock().Set(later)
	days, err = ss.s.Growth(context.Background(), app, first, last, later)
	if err != nil {
		t.Fatal(err)
	}
	if got := log.take(wechat.PathUserSummary); len(got) != 1 || got[0] != [2]string{"2025-05-30", "2025-05-31"} {
		t.Errorf("at 09:30 asked %v", got)
	}
	if !days[2].Known() {
		t.Errorf("yesterday after 08:00: %+v", days[2])
	}
}

// An account without verification gets one sentence naming it and 48001,
// and nothing is cached for it.
func TestGrowthOfAnUnverifiedAccountSaysSo(t *testing.T) {
	spec := wechattest.WorldSpec{Seed: 9, Apps: []wechattest.AppSpec{{Name: "events", Followers: 500, Unverified: true}}}
	ss, _ := newGrowthSim(t, spec, simNow)
	first, last := GrowthRange(simNow, 10)
	_, err := ss.s.Growth(context.Background(), ss.app(t, "events"), first, last, simNow)
	var f *Failure
	if !errors.As(err, &f) || !errors.Is(err, wechat.ErrNoPermission) || !strings.Contains(f.Sentence, "events") ||
		!strings.Contains(f.Sentence, "48001") || !strings.Contains(f.Sentence, "verified") {
		t.Fatalf("growth of an unverified account: %v", err)
	}
	if got, _ := ss.store.Growth(ss.app(t, "events").AppID, "2025-01-01", "2025-12-31"); len(got) != 0 {
		t.Errorf("days cached for an unverified account: %v", dates(got))
	}
}

// 61501 from the API (the range starts before datacube's history) is one
// sentence with the days asked.
func TestGrowthRefusedRangeSaysWhichDays(t *testing.T) {
	spec := wechattest.WorldSpec{Seed: 9, Apps: []wechattest.AppSpec{{Name: "news", Followers: 500}}}
	ss, _ := newGrowthSim(t, spec, simNow)
	ss.srv.Inject(wechattest.Fault{Path: "/" + wechat.PathUserSummary, Errcode: 61501})
	first, last := GrowthRange(simNow, 3)
	_, err := ss.s.Growth(context.Background(), ss.app(t, "news"), first, last, simNow)
	var f *Failure
	if !errors.As(err, &f) || !strings.Contains(f.Sentence, "2025-05-29 to 2025-05-31") || !strings.Contains(f.Sentence, "61501") {
		t.Fatalf("a refused range: %v", err)
	}
}
