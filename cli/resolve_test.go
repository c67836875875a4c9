package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wxscope/wechat/wechattest"
)

// resolveRows parses resolve's CSV output, header checked.
func resolveRows(t *testing.T, out string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("resolve's CSV: %v\n%s", err, out)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != "openid,unionid,status,source" {
		t.Fatalf("resolve's header: %v", recs)
	}
	return recs[1:]
}

// writeInput writes resolve's input file.
func writeInput(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Resolve keeps the input's order, one row per non-blank row, with the
// status the API gives each openid; a duplicate is asked once, and every
// answer is cached, so a second run is answered by the cache alone.
func TestResolveKeepsInputOrderAndCachesEveryAnswer(t *testing.T) {
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 21, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 450, Unfollowed: 30},
		{Name: "shop", Platform: "P1", Followers: 100},
	}})
	s := newSimSetup(t, world, "")
	news, shop := s.app(t, "news"), s.app(t, "shop")
	followers := world.Followers(news.AppID)
	former := world.FormerFollowers(news.AppID)[0]
	other := world.Followers(shop.AppID)[0]

	var in strings.Builder
	want := []struct{ openid, status string }{}
	add := func(id, status string) {
		in.WriteString(id + "\n")
		want = append(want, struct{ openid, status string }{id, status})
	}
	add(former, "unfollowed")
	add(other, "invalid")
	add("not=an id", "malformed")
	in.WriteString("\n   \n") // blank lines give no row
	for _, id := range followers {
		add(id, "following")
	}
	add(followers[0], "following") // a duplicate
	file := writeInput(t, "ids.txt", in.String())

	before := s.srv.Calls(batchgetPath)
	r := s.run(context.Background(), "resolve", "--app", "news", file)
	if r.code != 0 {
		t.Fatalf("resolve: exit %d, stderr %q", r.code, r.stderr)
	}
	rows := resolveRows(t, r.stdout)
	if len(rows) != len(want) {
		t.Fatalf("%d rows for %d input rows", len(rows), len(want))
	}
	for i, w := range want {
		got := rows[i]
		if got[0] != w.openid || got[2] != w.status {
			t.Fatalf("row %d: %v, want openid %s status %s", i, got, w.openid, w.status)
		}
		u, _ := world.User(news.AppID, w.openid)
		switch w.status {
		case "following":
			if got[1] != u.UnionID || got[1] == "" || got[3] != "api" {
				t.Errorf("row %d: %v, want unionid %s from the api", i, got, u.UnionID)
			}
		case "malformed":
			if got[1] != "" || got[3] != "-" {
				t.Errorf("row %d: %v, want no unionid and source -", i, got)
			}
		default:
			if got[1] != "" || got[3] != "api" {
				t.Errorf("row %d: %v, want no unionid, source api", i, got)
			}
		}
	}
	// 452 distinct well-formed openids: 5 batches, plus the bisection that
	// isolates shop's openid (a batch of 100 halves 7 times: 14 calls).
	if calls := s.srv.Calls(batchgetPath) - before; calls < 5 || calls > 5+14 {
		t.Errorf("%d batchget calls, want 5 batches and a bisection", calls)
	}

	before = s.srv.Calls(batchgetPath)
	r = s.run(context.Background(), "resolve", "--app", "news", "--format", "jsonl", file)
	if r.code != 0 {
		t.Fatalf("second resolve: exit %d, stderr %q", r.code, r.stderr)
	}
	var n int
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var row struct{ OpenID, UnionID, Status, Source string }
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		if row.Status == "following" && row.Source != "cache" {
			t.Errorf("second run: %+v, want it answered by the cache", row)
		}
		n++
	}
	if n != len(want) {
		t.Errorf("second run: %d rows, want %d", n, len(want))
	}
	// Only the invalid openid is asked again (the cache keeps no answer
	// for it); the unfollower's answer is cached too.
	if calls := s.srv.Calls(batchgetPath) - before; calls != 1 {
		t.Errorf("second run made %d batchget calls, want 1 (the invalid openid)", calls)
	}
}

// A spent quota midway still writes a row for every input row: those not
// answered say error, stderr says why, and the exit status is 1.
func TestResolveQuotaStopWritesEveryRowAndExitsOne(t *testing.T) {
	s := newSimSetup(t, oneAppWorld(22, "news", 1000, 0, "P1"), "concurrency = 1")
	news := s.app(t, "news")
	followers := s.world.Followers(news.AppID)
	s.srv.Inject(wechattest.Fault{Path: batchgetPath, Errcode: 45009, After: 3, Times: 1000})
	file := writeInput(t, "old.csv", "id,OpenID,name\n"+func() string {
		var b strings.Builder
		for i, id := range followers {
			b.WriteString("x," + id + ",\"name, " + string(rune('a'+i%26)) + "\"\n")
		}
		return b.String()
	}())
	r := s.run(context.Background(), "resolve", "--app", "news", file)
	if r.code != 1 || !strings.Contains(r.stderr, "quota is spent") || !strings.Contains(r.stderr, "700 of 1 000 rows were not answered") {
		t.Fatalf("resolve into a spent quota: exit %d, stderr %q", r.code, r.stderr)
	}
	rows := resolveRows(t, r.stdout)
	if len(rows) != len(followers) {
		t.Fatalf("%d rows, want %d", len(rows), len(followers))
	}
	for i, row := range rows {
		wantStatus := "following"
		if i >= 300 {
			wantStatus = "error"
		}
		if row[0] != followers[i] || row[2] != wantStatus {
			t.Fatalf("row %d: %v, want %s %s", i, row, followers[i], wantStatus)
		}
	}
}

// Resolve is for official accounts: one --app, read from a file or stdin.
func TestResolveUsage(t *testing.T) {
	s := newSimSetup(t, oneAppWorld(23, "news", 10, 0, "P1"), "")
	for _, args := range [][]string{
		{"resolve"},
		{"resolve", "--app", "news", "a", "b"},
		{"resolve", "--app", "nope"},
		{"resolve", "--app", "news", "--format", "xml"},
	} {
		if r := s.run(context.Background(), args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr %q", args, r.code, r.stderr)
		}
	}
	file := writeInput(t, "bad.csv", "name,phone\nx,1\n")
	if r := s.run(context.Background(), "resolve", "--app", "news", file); r.code != 1 || !strings.Contains(r.stderr, "no openid column") {
		t.Errorf("a CSV without an openid column: exit %d, stderr %q", r.code, r.stderr)
	}
}
