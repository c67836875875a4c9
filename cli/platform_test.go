package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wxscope/wechat/wechattest"
)

// newDemoSetup is the demo's world on the simulator — news and shop on P1,
// events not bound, legacy on P2, the mini program mall on P1 and the
// mobile app app not bound — configured as a user would: the two imported
// apps read from the exports the world writes.
func newDemoSetup(t *testing.T, followers int) *simSetup {
	t.Helper()
	s := newSimSetup(t, wechattest.DemoWorld(1, followers), "")
	f, err := os.OpenFile(s.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, im := range s.world.Imports() {
		name := im.Name + "-users." + im.Format
		out, err := os.Create(filepath.Join(filepath.Dir(s.cfg), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.world.WriteImport(im.Name, out); err != nil {
			t.Fatal(err)
		}
		out.Close()
		fmt.Fprintf(f, "[[app]]\nname = %q\nkind = %q\nappid = %q\nimport = %q\n\n", im.Name, im.Kind, im.AppID, name)
	}
	return s
}

// personsOf reads `wxscope links --format jsonl [--missing APP]`.
func personsOf(t *testing.T, s *simSetup, args ...string) []linkLine {
	t.Helper()
	r := s.run(context.Background(), append([]string{"links", "--format", "jsonl"}, args...)...)
	if r.code != 0 {
		t.Fatalf("links %v: exit %d, %s", args, r.code, r.stderr)
	}
	var out []linkLine
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var l linkLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// In the demo, the persons of legacy (bound to P2) are not missing in news
// (P1): there they have other unionids. A mini program bound to P1 is a
// member source like an official account: its members count, and persons
// of P1 it lacks are missing in it.
func TestMissingInCountsOnlyThePersonsPlatform(t *testing.T) {
	s := newDemoSetup(t, 2000)
	s.mustSync(t)
	all := personsOf(t, s)
	platformOf := map[string]string{"news": "P1", "shop": "P1", "mall": "P1", "legacy": "P2"}
	var wantNews, wantMall []string
	inMall := 0
	for _, l := range all {
		home := ""
		for app := range l.Members {
			home = platformOf[app]
		}
		if _, ok := l.Members["mall"]; ok {
			inMall++
		}
		if _, ok := l.Members["news"]; !ok && home == "P1" {
			wantNews = append(wantNews, l.UnionID)
		}
		if _, ok := l.Members["mall"]; !ok && home == "P1" {
			wantMall = append(wantMall, l.UnionID)
		}
		for _, m := range l.Missing {
			if platformOf[m] != home {
				t.Fatalf("%s (members %v) is missing in %s, of another platform", l.UnionID, l.Members, m)
			}
		}
	}
	if inMall != 1080 {
		t.Errorf("%d persons in mall, want its 1 080 rows with a unionid", inMall)
	}
	for _, c := range []struct {
		app  string
		want []string
	}{{"news", wantNews}, {"mall", wantMall}} {
		var got []string
		for _, l := range personsOf(t, s, "--missing", c.app) {
			got = append(got, l.UnionID)
			if _, ok := l.Members["legacy"]; ok {
				t.Fatalf("a person of legacy is missing in %s: %+v", c.app, l)
			}
		}
		if !slices.Equal(got, c.want) || len(got) == 0 {
			t.Errorf("missing in %s: %d persons, want the %d of P1 without a member there", c.app, len(got), len(c.want))
		}
	}
}

// doctor knows the kinds: the unbound mobile app is told where apps are
// bound, the mini program's rows from before its binding are no_unionid
// with the next login as the fix, and each app says its kind.
func TestDoctorKnowsTheKinds(t *testing.T) {
	s := newDemoSetup(t, 2000)
	s.mustSync(t)
	r := s.run(context.Background(), "doctor", "--json")
	var out struct {
		Apps []struct {
			App, Kind, Platform string
			Bound               bool
			Subscribed          int64 `json:"subscribed"`
			WithUnionID         int64 `json:"with_unionid"`
		} `json:"apps"`
		Findings []struct {
			Kind   string   `json:"kind"`
			Apps   []string `json:"apps"`
			Count  int64    `json:"count"`
			Detail string   `json:"detail"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
		t.Fatalf("doctor --json: exit %d, %v: %s", r.code, err, r.stderr)
	}
	kinds := map[string]string{}
	for _, a := range out.Apps {
		kinds[a.App] = a.Kind + "/" + a.Platform
	}
	want := map[string]string{"news": "official/P1", "shop": "official/P1", "events": "official/", "legacy": "official/P2", "mall": "miniprogram/P1", "app": "mobile/"}
	for app, w := range want {
		if kinds[app] != w {
			t.Errorf("%s: kind/platform %q, want %q", app, kinds[app], w)
		}
	}
	found := map[string]string{}
	for _, f := range out.Findings {
		found[f.Kind+":"+strings.Join(f.Apps, ",")] = f.Detail
		if f.Kind == "no_unionid" && (f.Apps[0] != "mall" || f.Count != 120) {
			t.Errorf("no_unionid %+v, want mall's 120 rows from before the binding", f)
		}
	}
	if d := found["unbound_app:app"]; !strings.Contains(d, "none of 600 members of its import carries a unionid") ||
		!strings.Contains(d, "开放平台 open.weixin.qq.com → 管理中心 → 移动应用") || !strings.Contains(d, "next login") {
		t.Errorf("unbound_app of the mobile app: %q", d)
	}
	if d := found["no_unionid:mall"]; !strings.Contains(d, "records kept from before mall was bound") || !strings.Contains(d, "code2Session") {
		t.Errorf("no_unionid of the mini program: %q", d)
	}
	if d := found["unbound_app:events"]; !strings.Contains(d, "管理中心 → 公众号") {
		t.Errorf("unbound_app of the official account: %q", d)
	}

	// lookup of a mini program openid finds the person across kinds.
	rows := s.world.ImportRows("mall")
	var member wechattest.ImportRow
	for _, row := range rows {
		if row.UnionID != "" {
			member = row
			break
		}
	}
	look := s.run(context.Background(), "lookup", member.OpenID)
	if look.code != 0 || !strings.Contains(look.stdout, "mall    "+member.OpenID+"  mini program member since ") ||
		!strings.Contains(look.stdout, "unionid "+member.UnionID) {
		t.Errorf("lookup of a mall openid: exit %d\n%s%s", look.code, look.stdout, look.stderr)
	}
}
