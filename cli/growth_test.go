package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"wxscope/wechat"
	"wxscope/wechat/wechattest"
)

// growthWorld has a large verified account (with a campaign spike and a
// mass unfollow in the last month) and an unverified one.
func growthWorld() *wechattest.World {
	return wechattest.NewWorld(wechattest.WorldSpec{Seed: 21, Today: time.Now(), Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 24000},
		{Name: "events", Followers: 600, Unverified: true},
	}})
}

func decodeGrowth(t *testing.T, out string) []growthRow {
	t.Helper()
	var rows []growthRow
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r growthRow
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("growth line %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// The unverified account fails with one sentence while the other's 30 days
// print, each the sum of its per-source rows, the spike and the mass
// unfollow standing out; a second run asks datacube only for the last two
// days.
func TestGrowthPrintsEachDayAndFailsOnlyTheUnverifiedApp(t *testing.T) {
	s := newSimSetup(t, growthWorld(), "")
	news := s.app(t, "news")
	r := s.run(context.Background(), "growth", "--format", "jsonl")
	if r.code != 1 {
		t.Fatalf("growth with an unverified app: exit %d, want 1\nstderr %s", r.code, r.stderr)
	}
	var failures []string
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !strings.Contains(l, "datacube has no figures") && !strings.Contains(l, "no figures for") {
			failures = append(failures, l)
		}
	}
	if len(failures) != 1 || !strings.Contains(failures[0], "events") || !strings.Contains(failures[0], "48001") {
		t.Fatalf("stderr %q, want one sentence about events and 48001", r.stderr)
	}
	rows := decodeGrowth(t, r.stdout)
	// Before 08:00 China time yesterday is not published yet.
	if len(rows) < 29 || len(rows) > 30 {
		t.Fatalf("%d rows, want 30 days of news (29 before 08:00 China time)", len(rows))
	}
	spike, drop := s.world.GrowthEvents(news.AppID)
	var top, bottom growthRow
	for i, row := range rows {
		w, ok := s.world.Growth(news.AppID, row.Date)
		if row.App != "news" || !ok {
			t.Fatalf("row %+v: not a day of news", row)
		}
		if i > 0 && row.Date <= rows[i-1].Date {
			t.Errorf("rows out of order: %s after %s", row.Date, rows[i-1].Date)
		}
		if row.New != w.New() || row.Cancel != w.Cancel() || row.Net != row.New-row.Cancel || row.Cumulate == nil || *row.Cumulate != w.Cumulate {
			t.Errorf("%s: %+v, the simulator's %d sources sum to new %d cancel %d, cumulate %d", row.Date, row, len(w.Sources), w.New(), w.Cancel(), w.Cumulate)
		}
		if row.Net > top.Net {
			top = row
		}
		if row.Net < bottom.Net {
			bottom = row
		}
	}
	if top.Date != spike || bottom.Date != drop {
		t.Errorf("largest net on %s, smallest on %s; the campaign was %s, the mass unfollow %s", top.Date, bottom.Date, spike, drop)
	}
	yesterday := wechat.FormatDate(time.Now().Add(-24 * time.Hour))
	if last := rows[len(rows)-1].Date; last != yesterday && len(rows) == 30 {
		t.Errorf("the last row is %s, want yesterday %s", last, yesterday)
	}

	sum, cum := s.srv.Calls("/"+wechat.PathUserSummary), s.srv.Calls("/"+wechat.PathUserCumulate)
	r2 := s.run(context.Background(), "growth", "--app", "news", "--format", "jsonl")
	if r2.code != 0 {
		t.Fatalf("second run: exit %d, stderr %s", r2.code, r2.stderr)
	}
	if d1, d2 := s.srv.Calls("/"+wechat.PathUserSummary)-sum, s.srv.Calls("/"+wechat.PathUserCumulate)-cum; d1 != 1 || d2 != 1 {
		t.Errorf("second run made %d getusersummary and %d getusercumulate calls, want one each (the last two days)", d1, d2)
	}
	if r2.stdout != r.stdout {
		t.Errorf("the second run, from the cache, printed other rows:\n%s\nthan the first:\n%s", r2.stdout, r.stdout)
	}
}

func TestGrowthTableAndCSV(t *testing.T) {
	s := newSimSetup(t, growthWorld(), "")
	r := s.run(context.Background(), "growth", "--app", "news", "--days", "8")
	if r.code != 0 {
		t.Fatalf("table: exit %d, stderr %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) < 9 || !strings.HasPrefix(lines[0], "app ") || !strings.Contains(lines[0], "cumulate") {
		t.Fatalf("table:\n%s", r.stdout)
	}
	total := lines[len(lines)-1]
	if !strings.HasPrefix(total, "news") || !strings.Contains(total, " days") {
		t.Errorf("the table's last line %q, want news's totals", total)
	}
	if !strings.Contains(r.stdout, "24 ") && !strings.Contains(r.stdout, "23 ") {
		t.Errorf("no follower count with grouped thousands in:\n%s", r.stdout)
	}
	for _, l := range lines {
		if len(l) > 0 && strings.HasSuffix(l, " ") {
			t.Errorf("trailing space in %q", l)
		}
	}

	r = s.run(context.Background(), "growth", "--app", "news", "--days", "3", "--format", "csv")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "app,date,new,cancel,net,cumulate\nnews,") {
		t.Fatalf("csv: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	for _, bad := range [][]string{{"--days", "0"}, {"--format", "xml"}, {"--app", "nobody"}, {"extra"}} {
		if r := s.run(context.Background(), append([]string{"growth"}, bad...)...); r.code != 2 {
			t.Errorf("growth %v: exit %d, want 2 (usage)", bad, r.code)
		}
	}
}
