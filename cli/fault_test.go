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

// answerEvery is a lenient batchget: it answers every openid asked for,
// the world's users as they are and any other as a follower of its own,
// where the simulator fails the whole batch with 40003.
func answerEvery(w *wechattest.World, appid string) func(wechattest.Request, []byte) []byte {
	return func(r wechattest.Request, _ []byte) []byte {
		var req struct {
			UserList []struct {
				OpenID string `json:"openid"`
			} `json:"user_list"`
		}
		json.Unmarshal(r.Body, &req)
		var list []json.RawMessage
		for _, item := range req.UserList {
			u, ok := w.User(appid, item.OpenID)
			if !ok {
				u = wechattest.User{Subscribe: 1, OpenID: item.OpenID, UnionID: "oUnionOfABadOpenID_xxxxxxxxx"}
			}
			list = append(list, encode(map[string]any{"subscribe": u.Subscribe, "openid": u.OpenID, "unionid": u.UnionID,
				"subscribe_time": u.SubscribeTime, "remark": u.Remark, "groupid": u.GroupID, "tagid_list": u.TagIDList,
				"subscribe_scene": u.SubscribeScene, "qr_scene": u.QRScene, "qr_scene_str": u.QRSceneStr}))
		}
		return batchAnswer(list)
	}
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
	// exact: right after the faulted sync the cache holds the whole world
	// (the fault was retried or ignored away).
	exact bool
	// maxCalls bounds the user/get calls the faulted sync may make (0: no bound).
	maxCalls int
	// wantOut is a piece of the faulted sync's summary on stdout.
	wantOut string
}

// pageAnswer is a user/get answer, as a map to change and re-encode.
func pageAnswer(answer []byte) map[string]any {
	m := map[string]any{}
	json.Unmarshal(answer, &m)
	return m
}

func encode(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// insertListed adds ids to the data of a user/get answer.
func insertListed(ids ...string) func(wechattest.Request, []byte) []byte {
	return func(_ wechattest.Request, answer []byte) []byte {
		m := pageAnswer(answer)
		if data, ok := m["data"].(map[string]any); ok {
			list, _ := data["openid"].([]any)
			for _, id := range ids {
				list = append([]any{id}, list...)
			}
			data["openid"] = list
			m["count"] = len(list)
		}
		return encode(m)
	}
}

var faultRows = []faultRow{
	{name: "batchget answers an empty user_info_list", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: -1, Body: []byte(`{"user_info_list":[]}`)}}
	}, wantCode: 1, wantSaid: "batchget answered 0 of the", wantFinding: "incomplete"},
	{name: "batchget answers with other openids' profiles", faults: func(w *wechattest.World, appid string) []wechattest.Fault {
		others := w.FormerFollowers(appid)
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: -1, Rewrite: func(_ wechattest.Request, answer []byte) []byte {
			list := userList(answer)
			for i := range list {
				list[i] = json.RawMessage(`{"subscribe":0,"openid":"` + others[i%len(others)] + `"}`)
			}
			return batchAnswer(list)
		}}}
	}, wantCode: 1, wantSaid: "batchget answered 0 of the", wantFinding: "incomplete"},
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
	}, wantCode: 0, exact: true},

	// One odd answer never marks everyone unfollowed.
	{name: "user/get answers data null with a count, on a synced cache", synced: true, faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", Body: []byte(`{"total":10,"count":10,"data":null,"next_openid":"oX"}`)}}
	}, wantCode: 1, wantSaid: "announced 10 openids and delivered 0", wantFinding: "incomplete"},
	{name: "user/get ends the listing after its first page, on a synced cache", synced: true, faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", After: 1, Times: -1, Rewrite: func(_ wechattest.Request, answer []byte) []byte {
			m := pageAnswer(answer)
			return encode(map[string]any{"total": m["total"], "count": 0, "next_openid": ""})
		}}}
	}, wantCode: 1, wantSaid: "followers the API reports; unfollows were not marked"},
	{name: "user/get answers a whole listing of 10 from stale data, on a synced cache", synced: true, faults: func(w *wechattest.World, appid string) []wechattest.Fault {
		ids := w.Followers(appid)[:10]
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", Times: -1, Rewrite: func(r wechattest.Request, _ []byte) []byte {
			if r.Query.Get("next_openid") != "" {
				return []byte(`{"total":10,"count":0,"next_openid":""}`)
			}
			return encode(map[string]any{"total": 10, "count": 10, "data": map[string]any{"openid": ids}, "next_openid": ids[9]})
		}}}
	}, wantCode: 1, wantSaid: "the listing has 10 followers where the cache holds "},

	// A listing that does not advance stops.
	{name: "user/get keeps answering the same next_openid", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", Times: -1, Rewrite: func(r wechattest.Request, answer []byte) []byte {
			m := pageAnswer(answer)
			if next := r.Query.Get("next_openid"); next != "" {
				m["next_openid"] = next
			}
			return encode(m)
		}}}
	}, wantCode: 1, wantSaid: "answered that same next_openid again", wantFinding: "incomplete", maxCalls: 3},
	{name: "user/get cycles between two cursors", faults: func(w *wechattest.World, appid string) []wechattest.Fault {
		ids := w.Followers(appid)
		n := 0
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", Times: -1, Rewrite: func(wechattest.Request, []byte) []byte {
			n++
			return encode(map[string]any{"total": 250, "count": 100, "data": map[string]any{"openid": ids[:100]}, "next_openid": ids[n%2]})
		}}}
	}, wantCode: 1, wantSaid: "pages listed where the 250 followers the API reports take 3", wantFinding: "incomplete", maxCalls: 25},

	// One bad id never blocks an app for good.
	{name: "user/get lists an openid with a NUL byte, batchget answers it", faults: func(w *wechattest.World, appid string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", Rewrite: insertListed("oBad\x00openid-with-a-NUL-byte")},
			{Path: "/cgi-bin/user/info/batchget", Times: -1, Rewrite: answerEvery(w, appid)}}
	}, wantCode: 0, exact: true, wantOut: "1 openids rejected"},
	{name: "user/get lists a 40 KB openid, batchget answers it", faults: func(w *wechattest.World, appid string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", Rewrite: insertListed("o" + strings.Repeat("x", 40<<10))},
			{Path: "/cgi-bin/user/info/batchget", Times: -1, Rewrite: answerEvery(w, appid)}}
	}, wantCode: 0, exact: true, wantOut: "1 openids rejected"},
	{name: "batchget answers a unionid with a NUL byte", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: 1, Rewrite: func(_ wechattest.Request, answer []byte) []byte {
			return []byte(strings.Replace(string(answer), `"unionid":"`, `"unionid":"u\u0000`, 1))
		}}}
	}, wantCode: 0, wantOut: "1 openids rejected"},
	{name: "batchget answers a 40 KB unionid", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: 1, Rewrite: func(_ wechattest.Request, answer []byte) []byte {
			return []byte(strings.Replace(string(answer), `"unionid":"`, `"unionid":"`+strings.Repeat("u", 40<<10), 1))
		}}}
	}, wantCode: 0, wantOut: "1 openids rejected"},

	// Transport faults: retried while they last a try or two, one
	// sentence once they outlast the retries.
	{name: "user/get answers a cut-off body, twice", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", Times: 2, Body: []byte(`{"total":250,"cou`)}}
	}, wantCode: 0, exact: true},
	{name: "batchget answers a cut-off body, for ever", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: -1, Body: []byte(`{"user_info_list":[{"subscribe":1,"open`)}}
	}, wantCode: 1, wantSaid: "answered user/info/batchget with something other than WeChat's JSON (it starts \"{\\\"user_info_list", wantFinding: "incomplete"},
	{name: "batchget answers an HTML page with status 200, twice", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: 2, Body: []byte("<html><body>Please log in to the proxy</body></html>"), ContentType: "text/html"}}
	}, wantCode: 0, exact: true},
	{name: "user/get answers an HTML page with status 200, for ever", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", Times: -1, Body: []byte("<html><body>Please log in to the proxy</body></html>"), ContentType: "text/html"}}
	}, wantCode: 1, wantSaid: "answered user/get with something other than WeChat's JSON (it starts \"<html><body>Please log in", wantFinding: "incomplete"},
	{name: "batchget resets the connection, twice", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: 2, Reset: true}}
	}, wantCode: 0, exact: true},
	{name: "user/get resets the connection, for ever", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", Times: -1, Reset: true}}
	}, wantCode: 1, wantSaid: "cannot reach the API at http://127.0.0.1:", wantFinding: "incomplete"},
	{name: "batchget answers a 9 MB body", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Body: bytes.Repeat([]byte(" "), 9<<20)}}
	}, wantCode: 1, wantSaid: "answered user/info/batchget with more than 8388608 bytes, more than any WeChat answer", wantFinding: "incomplete"},
	{name: "user/get trickles its answer, twice", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/get", Times: 2, Trickle: 5 * time.Millisecond}}
	}, wantCode: 0, exact: true},
	{name: "batchget accepts and never answers", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Path: "/cgi-bin/user/info/batchget", Times: -1, Hang: true}}
	}, wantCode: 1, wantSaid: "did not answer in time, even when asked again", wantFinding: "incomplete"},
	{name: "the API answers HTTP 502, for ever", faults: func(*wechattest.World, string) []wechattest.Fault {
		return []wechattest.Fault{{Times: -1, HTTPStatus: 502}}
	}, wantCode: 1, wantSaid: "answered stable_token with HTTP status 502", wantFinding: "incomplete"},
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
			t.Logf("exit %d after %d user/get and %d batchget calls: %s%s", r.code, s.srv.Calls("/cgi-bin/user/get"),
				s.srv.Calls("/cgi-bin/user/info/batchget"), strings.TrimSpace(r.stdout), strings.TrimSpace(" "+r.stderr))
			if !strings.Contains(r.stdout, row.wantOut) {
				t.Errorf("the faulted sync's summary %q lacks %q", r.stdout, row.wantOut)
			}
			if row.maxCalls > 0 {
				if n := s.srv.Calls("/cgi-bin/user/get"); n > row.maxCalls {
					t.Errorf("the faulted sync made %d user/get calls, want at most %d", n, row.maxCalls)
				}
			}
			if row.synced {
				// Nothing the fault did may mark a follower unfollowed.
				following := 0
				for _, e := range s.export(t) {
					if e.Subscribe == 1 {
						following++
					}
				}
				if n := len(world.Followers(news.AppID)); following != n {
					t.Errorf("after the fault %d followers are exported as following, want all %d", following, n)
				}
			}
			if row.wantFinding != "" {
				if kinds := s.doctorFindings(t, "news"); !strings.Contains(strings.Join(kinds, " "), row.wantFinding) {
					t.Errorf("doctor after the fault: findings %v, want %s", kinds, row.wantFinding)
				}
			}
			if row.exact {
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
