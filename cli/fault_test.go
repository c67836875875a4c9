package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"wxscope/wechat"
	"wxscope/wechat/wechattest"
)

// The fault suite: one row per way the API can answer badly, each run
// against the simulator through the real client, engine and cache. A row
// says what the sync must do about it (exit status, the sentence on
// stderr, what doctor says), and every row ends the same way: once the API
// behaves again, a sync leaves exactly the world in the cache, so nothing a
// bad answer did was lost or lied about. TESTING.md counts the rows.
//
// WXSCOPE_LONG=1 runs the rows against a larger world with more pages.

// faultWorld is the world of one bound app the rows run on.
func faultWorld(long bool) (*wechattest.World, int) {
	followers, page := 250, 100
	if long {
		followers, page = 5000, 700
	}
	return wechattest.NewWorld(wechattest.WorldSpec{Seed: 31, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: followers, Unfollowed: followers / 10},
	}}), page
}

// fastClient keeps the client's waits short, so that a row whose fault
// outlasts every retry ends in a second, not minutes.
func fastClient(c *wechat.Config) {
	c.BackoffBase, c.BackoffMax = 5*time.Millisecond, 20*time.Millisecond
	c.AttemptTimeout, c.CallTimeout = 300*time.Millisecond, 2*time.Second
}

// syncWith runs `wxscope sync` in-process with hooks, as Run would, and
// returns its exit status and output.
func (s *simSetup) syncWith(t *testing.T, hooks syncHooks) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return s.vars[k] }}
	cfg, err := env.loadConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	code := report(ctx, env, syncApps(ctx, env, cfg, cfg.Apps, hooks))
	return result{code, stdout.String(), stderr.String()}
}

// doctorFindings are the kinds of doctor's findings for app.
func (s *simSetup) doctorFindings(t *testing.T, app string) []string {
	t.Helper()
	r := s.run(context.Background(), "doctor", "--json")
	var d doctorJSON
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("doctor --json: exit %d, %v: %s %s", r.code, err, r.stdout, r.stderr)
	}
	var kinds []string
	for _, f := range d.Findings {
		for _, a := range f.Apps {
			if a == app {
				kinds = append(kinds, f.Kind)
			}
		}
	}
	return kinds
}

// userList is a batchget answer's list, each entry as it came.
func userList(answer []byte) []json.RawMessage {
	var a struct {
		List []json.RawMessage `json:"user_info_list"`
	}
	json.Unmarshal(answer, &a)
	return a.List
}

func batchAnswer(list []json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]any{"user_info_list": list})
	return b
}

// faultRow is one bad answer and what the sync must make of it.
type faultRow struct {
	name string
	// synced: the cache holds a complete sync before the fault.
	synced bool
	// faults are injected into the server of the world w.
	faults func(w *wechattest.World, appid string) []wechattest.Fault
	// wantCode is the sync's exit status under the fault; wantSaid a piece
	// of its one sentence on stderr ("" when it exits 0).
	wantCode int
	wantSaid string
	// wantFinding is a finding doctor must show for the app afterwards.
	wantFinding string
}

var faultRows = []faultRow{
	{name: "batchget answers an empty user_info_list", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: -1, Body: []byte(`{"user_info_list":[]}`)}}
	}, wantCode: 1, wantSaid: "batchget answered 0 of the 100 profiles asked for", wantFinding: "incomplete"},
	{name: "batchget answers with other openids' profiles", faults: func(w *wechattest.World, appid string) []wechattest.Fault {
		others := w.FormerFollowers(appid)
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: -1, Rewrite: func(_ wechattest.Request, answer []byte) []byte {
			list := userList(answer)
			for i := range list {
				list[i] = json.RawMessage(`{"subscribe":0,"openid":"` + others[i%len(others)] + `"}`)
			}
			return batchAnswer(list)
		}}}
	}, wantCode: 1, wantSaid: "batchget answered 0 of the 100 profiles asked for", wantFinding: "incomplete"},
	{name: "batchget answers half of the profiles asked for", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: -1, Rewrite: func(_ wechattest.Request, answer []byte) []byte {
			list := userList(answer)
			return batchAnswer(list[:len(list)/2])
		}}}
	}, wantCode: 1, wantSaid: "left out the profiles of", wantFinding: "incomplete"},
	{name: "batchget answers the first time without some profiles", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: 2, Rewrite: func(_ wechattest.Request, answer []byte) []byte {
			list := userList(answer)
			return batchAnswer(list[:len(list)-3])
		}}}
	}, wantCode: 0},
	{name: "batchget answers 101 entries, one not asked for", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: -1, Rewrite: func(_ wechattest.Request, answer []byte) []byte {
			list := userList(answer)
			list = append(list, json.RawMessage(`{"subscribe":1,"openid":"oNotAskedForNotAskedForNotAs","unionid":"oNotAskedFor_unionid_xxxxxxx","remark":"extra"}`))
			return batchAnswer(list)
		}}}
	}, wantCode: 0},
}

func TestEveryBadAnswerIsHeldAndASyncAfterItLosesNothing(t *testing.T) {
	long := os.Getenv("WXSCOPE_LONG") != ""
	for _, row := range faultRows {
		t.Run(row.name, func(t *testing.T) {
			world, page := faultWorld(long)
			s := newSimSetup(t, world, "", wechattest.WithPageSize(page))
			news := s.app(t, "news")
			if row.synced {
				s.mustSync(t)
			}
			for _, f := range row.faults(world, news.AppID) {
				s.srv.Inject(f)
			}
			r := s.syncWith(t, syncHooks{client: fastClient})
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			switch {
			case r.code != row.wantCode:
				t.Fatalf("sync under the fault: exit %d, want %d\nstdout %s\nstderr %s", r.code, row.wantCode, r.stdout, r.stderr)
			case row.wantCode != 0 && (len(lines) != 1 || !strings.Contains(lines[0], row.wantSaid)):
				t.Fatalf("sync under the fault says\n%s\nwant one sentence saying %q", r.stderr, row.wantSaid)
			case row.wantCode == 0 && r.stderr != "":
				t.Fatalf("sync exited 0 but said %s", r.stderr)
			}
			if row.wantFinding != "" {
				if kinds := s.doctorFindings(t, "news"); !strings.Contains(strings.Join(kinds, " "), row.wantFinding) {
					t.Errorf("doctor after the fault: findings %v, want %s", kinds, row.wantFinding)
				}
			}
			if row.wantCode == 0 {
				checkExport(t, s.export(t), world, nil)
			}
			s.srv.ClearFaults()
			s.mustSync(t)
			checkExport(t, s.export(t), world, nil)
			if kinds := s.doctorFindings(t, "news"); len(kinds) > 0 {
				t.Errorf("doctor after the API behaved again: %v", kinds)
			}
		})
	}
}
