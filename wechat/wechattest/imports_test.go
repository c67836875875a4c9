package wechattest

import (
	"bytes"
	"strings"
	"testing"

	"wxscope/imports"
)

// The demo world's imported apps write exports that wxscope's reader takes
// whole, in the shapes the spec names, and their members link to the
// official accounts' followers through the platform's unionids.
func TestDemoImportsAreRealExportsThatLink(t *testing.T) {
	w := DemoWorld(1, 2000)
	infos := w.Imports()
	if len(infos) != 2 || infos[0].Name != "mall" || infos[0].Kind != "miniprogram" || infos[0].Platform != "P1" ||
		infos[1].Name != "app" || infos[1].Kind != "mobile" || infos[1].Platform != "" {
		t.Fatalf("imports = %+v", infos)
	}
	for _, a := range w.Apps() {
		if a.Name == "mall" || a.Name == "app" {
			t.Errorf("the imported app %s is an API app too", a.Name)
		}
	}

	// news's followers' unionids, to find mall's members among them.
	var news AppInfo
	for _, a := range w.Apps() {
		if a.Name == "news" {
			news = a
		}
	}
	newsUnions := map[string]bool{}
	for _, o := range w.Followers(news.AppID) {
		u, _ := w.User(news.AppID, o)
		newsUnions[u.UnionID] = true
	}

	for _, c := range []struct {
		name    string
		format  imports.Format
		rows    int
		without int // rows without unionid
		prefix  string
	}{
		{"mall", imports.CSV, 1200, 120, "\ufeffopenid,unionid,nickname,first_seen,last_seen\r\n"},
		{"app", imports.TSV, 600, 600, "openid\tunionid\tfirst_seen\tlast_seen\n"},
	} {
		var buf bytes.Buffer
		if err := w.WriteImport(c.name, &buf); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(buf.String(), c.prefix) {
			t.Errorf("%s export starts %q", c.name, buf.String()[:min(60, buf.Len())])
		}
		want := w.ImportRows(c.name)
		var got []imports.Row
		st, err := imports.Read(&buf, c.name, func(r imports.Row) error { got = append(got, r); return nil })
		if err != nil || st.Format != c.format || st.Rows != c.rows || st.Rejected != 0 || len(want) != c.rows {
			t.Fatalf("%s: %+v, %v (%d rows in the world)", c.name, st, err, len(want))
		}
		without, linked := 0, 0
		for i, r := range got {
			if r.OpenID != want[i].OpenID || r.UnionID != want[i].UnionID || r.FirstSeen != want[i].FirstSeen || r.LastSeen != want[i].LastSeen {
				t.Fatalf("%s row %d read as %+v, the world has %+v", c.name, i, r, want[i])
			}
			if r.FirstSeen <= 0 || r.LastSeen < r.FirstSeen {
				t.Errorf("%s row %d: first %d last %d", c.name, i, r.FirstSeen, r.LastSeen)
			}
			if r.UnionID == "" {
				without++
			} else if newsUnions[r.UnionID] {
				linked++
			}
		}
		if without != c.without {
			t.Errorf("%s: %d rows without unionid, want %d", c.name, without, c.without)
		}
		if c.name == "mall" && (linked < c.rows/5 || linked > c.rows*4/5) {
			t.Errorf("mall: %d of %d members follow news; want some but not all", linked, c.rows)
		}
	}
	// The rows before the binding are older than the others.
	rows := w.ImportRows("mall")
	if rows[0].UnionID != "" || rows[0].LastSeen >= rows[200].FirstSeen && rows[200].FirstSeen > w.today-bindingAge {
		t.Errorf("a row before the binding: %+v, after: %+v", rows[0], rows[200])
	}
}

func TestImportsAreDeterministicAndJSONLinesRead(t *testing.T) {
	spec := WorldSpec{Seed: 3, Apps: []AppSpec{{Name: "news", Platform: "P1", Followers: 100}},
		Imports: []ImportSpec{{Name: "site", Kind: "web", Platform: "P1", Members: 50, BeforeBinding: 5, Format: FormatJSONLines}}}
	var a, b bytes.Buffer
	if err := NewWorld(spec).WriteImport("site", &a); err != nil {
		t.Fatal(err)
	}
	NewWorld(spec).WriteImport("site", &b)
	if a.String() != b.String() {
		t.Fatal("the same seed wrote two exports")
	}
	st, err := imports.Read(&a, "site", func(imports.Row) error { return nil })
	if err != nil || st.Format != imports.JSONLines || st.Rows != 50 || st.Rejected != 0 {
		t.Fatalf("%+v, %v", st, err)
	}
	if err := NewWorld(spec).WriteImport("nope", &b); err == nil {
		t.Error("no error for an unknown import")
	}
}
