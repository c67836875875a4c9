package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"wxscope/cache"
	"wxscope/export"
	"wxscope/sanitize"
	"wxscope/wechat/wechattest"
)

// exportFixture is a config of two apps and a cache holding hand-made
// profiles for them, one with a hostile remark.
func exportFixture(t *testing.T) (cfgPath string) {
	t.Helper()
	dir := t.TempDir()
	cachePath := filepath.Join(dir, "wxscope.db")
	cfgPath = filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf("cache = %q\n%s", cachePath, goodConfig)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := cache.Open(cachePath, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	news := []cache.Profile{
		{OpenID: "oNews0000000000000000000001", UnionID: "oUnion000000000000000000001", Subscribed: true, SubscribeTime: 1700000000,
			SubscribeScene: "ADD_SCENE_QR_CODE", QRScene: 42, QRSceneStr: "=HYPERLINK(\"http://evil\")", Remark: "老客户, \"VIP\"",
			TagIDs: []int64{2, 101}, GroupID: 2, FetchedAt: 1700000100},
		{OpenID: "oNews0000000000000000000002", Subscribed: false, SubscribeTime: 1600000000, SubscribeScene: "ADD_SCENE_SEARCH",
			Remark: "@SUM(A1)\x1b]52;c;ZXZpbA==\x07", FetchedAt: 1700000100, UnfollowedAt: 1700000200},
	}
	shop := []cache.Profile{
		{OpenID: "oShop0000000000000000000001", Subscribed: true, SubscribeTime: 1650000000, SubscribeScene: "ADD_SCENE_OTHERS",
			Remark: "-1+1", FetchedAt: 1700000300},
	}
	if err := s.PutProfiles("wx1111111111111111", news); err != nil {
		t.Fatal(err)
	}
	if err := s.PutProfiles("wx2222222222222222", shop); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppNames(map[string]string{"wx1111111111111111": "news", "wx2222222222222222": "shop"}); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

func TestExportJSONLinesHaveTheContractsFieldsInOrder(t *testing.T) {
	cfg := exportFixture(t)
	r := runCLI(t, nil, "export", "--format", "jsonl", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), r.stdout)
	}
	want := `{"app":"news","kind":"official","appid":"wx1111111111111111","openid":"oNews0000000000000000000001","unionid":"oUnion000000000000000000001",` +
		`"subscribe":1,"subscribe_time":1700000000,"subscribe_scene":"ADD_SCENE_QR_CODE","qr_scene":42,"qr_scene_str":"=HYPERLINK(\"http://evil\")",` +
		`"remark":"老客户, \"VIP\"","tagid_list":[2,101],"tags":["2","101"],"blacklisted":false,"groupid":2,"fetched_at":1700000100,"unfollowed_at":0}`
	if lines[0] != want {
		t.Errorf("line 1\n got %s\nwant %s", lines[0], want)
	}
	want = `{"app":"news","kind":"official","appid":"wx1111111111111111","openid":"oNews0000000000000000000002","unionid":"","subscribe":0,` +
		`"subscribe_time":1600000000,"subscribe_scene":"ADD_SCENE_SEARCH","qr_scene":0,"qr_scene_str":"",` +
		`"remark":"@SUM(A1)\u001b]52;c;ZXZpbA==\u0007","tagid_list":[],"tags":[],"blacklisted":false,"groupid":0,"fetched_at":1700000100,"unfollowed_at":1700000200}`
	if lines[1] != want {
		t.Errorf("line 2\n got %s\nwant %s", lines[1], want)
	}
	if !strings.HasPrefix(lines[2], `{"app":"shop",`) {
		t.Errorf("line 3 %s", lines[2])
	}
}

func TestExportCSVIsTheDefaultAndDefusesFormulas(t *testing.T) {
	cfg := exportFixture(t)
	r := runCLI(t, nil, "export", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, r.stdout)
	}
	if got := strings.Join(recs[0], ","); got != "app,kind,appid,openid,unionid,subscribe,subscribe_time,subscribe_scene,qr_scene,qr_scene_str,"+
		"remark,tagid_list,tags,blacklisted,groupid,fetched_at,unfollowed_at" {
		t.Errorf("header %s", got)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records, want header + 3", len(recs))
	}
	if recs[1][1] != "official" || recs[1][9] != `'=HYPERLINK("http://evil")` || recs[1][10] != `老客户, "VIP"` || recs[1][11] != "2;101" ||
		recs[1][12] != "2;101" || recs[1][13] != "0" {
		t.Errorf("row 1 %q", recs[1])
	}
	if !strings.HasPrefix(recs[2][10], "'@SUM(A1)") || recs[2][4] != "" || recs[2][5] != "0" || recs[2][16] != "1700000200" {
		t.Errorf("row 2 %q", recs[2])
	}
	if recs[3][0] != "shop" || recs[3][10] != "'-1+1" {
		t.Errorf("row 3 %q", recs[3])
	}
}

func TestExportCSVCellsDefuseEveryFormulaStart(t *testing.T) {
	for _, s := range []string{"=1", "+1", "-1", "@A", "\tx", "\rx"} {
		if got := sanitize.CSVCell(s); got != "'"+s {
			t.Errorf("sanitize.CSVCell(%q) = %q", s, got)
		}
	}
	for _, s := range []string{"", "a=1", "老客户", "'quoted", " =1"} {
		if got := sanitize.CSVCell(s); got != s {
			t.Errorf("sanitize.CSVCell(%q) = %q, want it unchanged", s, got)
		}
	}
}

func TestExportToATerminalCannotDriveIt(t *testing.T) {
	cfg := exportFixture(t)
	for _, format := range []string{"csv", "jsonl"} {
		var stdout, stderr bytes.Buffer
		env := &Env{Stdout: &stdout, Stderr: &stderr, StdoutTTY: true, Getenv: func(string) string { return "" }}
		if code := Run(context.Background(), env, []string{"export", "--format", format, "--config", cfg}); code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, stderr.String())
		}
		if out := stdout.String(); strings.ContainsAny(out, "\x1b\x07") || strings.Contains(out, `\u001b`) || !strings.Contains(out, "SUM(A1)") {
			t.Errorf("%s to a terminal: %q", format, out)
		}
	}
}

func TestExportSelectsAppsAndRejectsUnknownOnes(t *testing.T) {
	cfg := exportFixture(t)
	r := runCLI(t, nil, "export", "--app", "shop", "--format", "jsonl", "--config", cfg)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, `"app":"shop"`) {
		t.Errorf("--app shop: exit %d, stdout %q", r.code, r.stdout)
	}
	r = runCLI(t, nil, "export", "--app", "nope", "--config", cfg)
	if r.code != 2 || !strings.Contains(r.stderr, `no app named "nope"`) || !strings.Contains(r.stderr, "the apps are news, shop") || r.stdout != "" {
		t.Errorf("--app nope: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestExportWithoutACacheSaysToSync(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("cache = %q\n%s", filepath.Join(dir, "none.db"), goodConfig))
	r := runCLI(t, nil, "export", "--config", cfg)
	if r.code != 1 || r.stderr != "wxscope: nothing synced yet; run wxscope sync\n" || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("export created the cache file")
	}
}

// exportRow is the row of `wxscope export`, as the tests decode it.
type exportRow = export.Row

// readParquetDir reads every part file under dir with parquet-go's reader,
// checking that each lies in the partition of its rows' app.
func readParquetDir(t *testing.T, dir string) []exportRow {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(dir, "app=*", "part-*.parquet"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("no part files under %s (%v)", dir, err)
	}
	var rows []exportRow
	for _, part := range parts {
		f, err := os.Open(part)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		got, err := parquet.Read[exportRow](f, st.Size())
		f.Close()
		if err != nil {
			t.Fatalf("read %s: %v", part, err)
		}
		for _, r := range got {
			if want := "app=" + r.App; filepath.Base(filepath.Dir(part)) != want {
				t.Fatalf("a row of %s in %s", r.App, part)
			}
		}
		rows = append(rows, got...)
	}
	return rows
}

func TestExportParquetReadsBackAsTheJSONLinesExport(t *testing.T) {
	s := newSimSetup(t, wechattest.DemoWorld(21, 600), "")
	s.mustSync(t)
	want := s.export(t)
	out := filepath.Join(t.TempDir(), "export")
	r := s.run(context.Background(), "export", "--format", "parquet", "--out", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := readParquetDir(t, out)
	if len(got) != len(want) || len(want) < 600 {
		t.Fatalf("%d rows in Parquet, %d in JSON lines", len(got), len(want))
	}
	type key struct{ app, openid string }
	byKey := map[key]exportRow{}
	for _, r := range want {
		byKey[key{r.App, r.OpenID}] = r
	}
	apps := map[string]bool{}
	for _, g := range got {
		w, ok := byKey[key{g.App, g.OpenID}]
		if !ok {
			t.Fatalf("Parquet row %+v is not in the JSON lines export", g)
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("Parquet row\n%+v\nJSON lines row\n%+v", g, w)
		}
		delete(byKey, key{g.App, g.OpenID})
		apps[g.App] = true
	}
	if len(byKey) != 0 || len(apps) != len(s.world.Apps()) {
		t.Errorf("%d JSON lines rows not in Parquet; apps %v", len(byKey), apps)
	}
	// stdout names every file written, one a line.
	lines := strings.Fields(r.stdout)
	if parts, _ := filepath.Glob(filepath.Join(out, "app=*", "*.parquet")); len(lines) != len(parts) {
		t.Errorf("stdout %q, files %v", r.stdout, parts)
	}
}

func TestExportParquetNeedsOutAndNeverWritesOverAPartition(t *testing.T) {
	cfg := exportFixture(t)
	r := runCLI(t, nil, "export", "--format", "parquet", "--config", cfg)
	if r.code != 2 || !strings.Contains(r.stderr, "--format parquet needs --out DIR") || r.stdout != "" {
		t.Errorf("parquet without --out: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "x")
	if r := runCLI(t, nil, "export", "--format", "parquet", "--out", out, "--config", cfg); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	before := readParquetDir(t, out)
	if len(before) != 3 {
		t.Fatalf("%d rows, want 3", len(before))
	}
	r = runCLI(t, nil, "export", "--format", "parquet", "--out", out, "--app", "shop", "--config", cfg)
	if r.code != 1 || !strings.Contains(r.stderr, filepath.Join(out, "app=shop")+" exists already with files in it; nothing was written") {
		t.Errorf("second export into the same folder: exit %d, stderr %q", r.code, r.stderr)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 || !reflect.DeepEqual(readParquetDir(t, out), before) {
		t.Errorf("the refused export changed the folder: %v", entries)
	}
}

func TestExportOutWritesANewFileAndNeverOverwrites(t *testing.T) {
	cfg := exportFixture(t)
	for _, format := range []string{"csv", "jsonl"} {
		path := filepath.Join(t.TempDir(), "followers."+format)
		r := runCLI(t, nil, "export", "--format", format, "--out", path, "--config", cfg)
		if r.code != 0 || r.stdout != "" {
			t.Fatalf("%s: exit %d, stdout %q, stderr %s", format, r.code, r.stdout, r.stderr)
		}
		file, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if plain := runCLI(t, nil, "export", "--format", format, "--config", cfg); string(file) != plain.stdout {
			t.Errorf("%s: the file differs from the export to stdout:\n%s\n%s", format, file, plain.stdout)
		}
		r = runCLI(t, nil, "export", "--format", format, "--out", path, "--config", cfg)
		if r.code != 1 || r.stderr != "wxscope: "+path+" exists already; nothing was written: remove it or choose another --out\n" {
			t.Errorf("%s again: exit %d, stderr %q", format, r.code, r.stderr)
		}
		if again, _ := os.ReadFile(path); !bytes.Equal(again, file) {
			t.Errorf("%s: the refused export changed the file", format)
		}
	}
}

func TestExportThatFailsLeavesNoHalfFile(t *testing.T) {
	cfg := exportFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as Ctrl-C during the export: the first row fails
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--format", "csv", "--out", filepath.Join(dir, "x.csv")},
		{"--format", "parquet", "--out", filepath.Join(dir, "pq")},
	} {
		var stdout, stderr bytes.Buffer
		env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
		code := Run(ctx, env, append(append([]string{"export"}, args...), "--config", cfg))
		if code != 1 || !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
		if e.IsDir() {
			inside, _ := os.ReadDir(filepath.Join(dir, e.Name()))
			for _, i := range inside {
				left = append(left, e.Name()+"/"+i.Name())
			}
		}
	}
	if !reflect.DeepEqual(left, []string{"pq"}) {
		t.Errorf("the failed exports left %v; want only the (empty) folder named by --out", left)
	}
}
