package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// importSetup is a config of imported apps in a folder of its own, with
// the files their imports read.
type importSetup struct {
	dir, cfg string
}

// newImportSetup writes a config with the given [[app]] tables (and a cache
// beside it) in a new folder.
func newImportSetup(t *testing.T, apps string) *importSetup {
	t.Helper()
	dir := t.TempDir()
	s := &importSetup{dir: dir, cfg: filepath.Join(dir, "config.toml")}
	if err := os.WriteFile(s.cfg, []byte("cache = \"wxscope.db\"\n\n"+apps), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *importSetup) write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *importSetup) run(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, nil, append(args, "--config", s.cfg)...)
}

// exported is one row of `wxscope export --format jsonl`.
type exported struct {
	App            string  `json:"app"`
	Kind           string  `json:"kind"`
	OpenID         string  `json:"openid"`
	UnionID        string  `json:"unionid"`
	Subscribe      int     `json:"subscribe"`
	SubscribeTime  int64   `json:"subscribe_time"`
	SubscribeScene string  `json:"subscribe_scene"`
	Remark         string  `json:"remark"`
	TagIDList      []int64 `json:"tagid_list"`
	FetchedAt      int64   `json:"fetched_at"`
	UnfollowedAt   int64   `json:"unfollowed_at"`
}

// export returns the exported rows of app by openid.
func (s *importSetup) export(t *testing.T, app string) map[string]exported {
	t.Helper()
	r := s.run(t, "export", "--app", app, "--format", "jsonl")
	if r.code != 0 {
		t.Fatalf("export: exit %d, %s", r.code, r.stderr)
	}
	out := map[string]exported{}
	for line := range strings.Lines(r.stdout) {
		var e exported
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		out[e.OpenID] = e
	}
	return out
}

func mallID(i int) string  { return fmt.Sprintf("oMall_%022d", i) }
func mallUID(i int) string { return fmt.Sprintf("oUnion%022d", i) }

const mallApp = `[[app]]
name = "mall"
kind = "miniprogram"
appid = "wx3333333333333333"
import = "mall-users.csv"
`

// A spreadsheet export: a BOM, CRLF, quoted fields with commas, quotes and
// a line break, a column wxscope does not know, and bad rows. The valid rows
// are imported; the bad ones are listed on stderr as FILE:LINE: reason, and
// sync exits 1.
func TestSyncImportsACSVWithABOMQuotesAndBadRows(t *testing.T) {
	s := newImportSetup(t, mallApp)
	csv := "\ufeffOpenID,UnionID,nickname,first_seen,last_seen\r\n" +
		mallID(1) + "," + mallUID(1) + ",\"Li, Lei\",2024-03-02 14:05:00,2024-05-01T10:00:00+08:00\r\n" +
		mallID(2) + ",,\"say \"\"hi\"\"\",1700000000,\r\n" + // recorded before the binding
		"not an openid,,x,,\r\n" +
		mallID(3) + "," + mallUID(3) + ",\"two\r\nlines\",,\r\n" +
		mallID(4) + ",short,y,,\r\n" +
		mallID(5) + "," + mallUID(5) + ",z,yesterday,\r\n"
	s.write(t, "mall-users.csv", csv)
	r := s.run(t, "sync")
	path := filepath.Join(s.dir, "mall-users.csv")
	wantErr := []string{
		path + ":4: openid \"not an openid\" is not an openid",
		path + ":7: unionid \"short\" is not a unionid",
		path + ":8: first_seen \"yesterday\" is not a time",
		"wxscope: mall: 3 rows of " + path + " rejected, the first " + path + ":4:",
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1 for rejected rows", r.code)
	}
	for _, w := range wantErr {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if i, j := strings.Index(r.stderr, ":4: openid"), strings.Index(r.stderr, "wxscope: mall"); i < 0 || j < i {
		t.Errorf("the rejected rows do not come before the sentence:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "mall: 3 rows read from "+path+" (3 rejected): 3 members, 3 new, 0 left") {
		t.Errorf("stdout: %q", r.stdout)
	}
	got := s.export(t, "mall")
	if len(got) != 3 {
		t.Fatalf("exported %v", got)
	}
	m1 := got[mallID(1)]
	if m1.Kind != "miniprogram" {
		t.Errorf("member 1 is of kind %q", m1.Kind)
	}
	if m1.UnionID != mallUID(1) || m1.Subscribe != 1 || m1.SubscribeTime != 1709359500 || m1.Remark != "" || m1.SubscribeScene != "" || len(m1.TagIDList) != 0 || m1.FetchedAt == 0 {
		t.Errorf("member 1 = %+v", m1)
	}
	if m2 := got[mallID(2)]; m2.UnionID != "" || m2.SubscribeTime != 1700000000 {
		t.Errorf("member 2 = %+v", m2)
	}
	if m3 := got[mallID(3)]; m3.UnionID != mallUID(3) || m3.SubscribeTime != 0 {
		t.Errorf("member 3 (a quoted field over two lines) = %+v", m3)
	}
}

func TestManyRejectedRowsShowTheFirstTwentyAndACount(t *testing.T) {
	s := newImportSetup(t, mallApp)
	var b strings.Builder
	b.WriteString("openid\n")
	for i := range 25 {
		fmt.Fprintf(&b, "bad-%d\n", i)
	}
	b.WriteString(mallID(1) + "\n")
	s.write(t, "mall-users.csv", b.String())
	r := s.run(t, "sync")
	path := filepath.Join(s.dir, "mall-users.csv")
	if r.code != 1 || strings.Count("\n"+r.stderr, "\n"+path+":") != 21 || !strings.Contains(r.stderr, path+":21: openid \"bad-19\"") ||
		strings.Contains(r.stderr, ":22: ") || !strings.Contains(r.stderr, path+": 5 more rejected rows not shown") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if got := s.export(t, "mall"); len(got) != 1 {
		t.Errorf("exported %v", got)
	}
}

// What mysql -B prints: a tab-separated header, NULL for no unionid,
// DATETIMEs in China time.
func TestSyncImportsAMysqlBatchTSV(t *testing.T) {
	s := newImportSetup(t, `[[app]]
name = "app"
kind = "mobile"
appid = "wx4444444444444444"
import = "~/app.tsv"
`)
	home := t.TempDir()
	tsv := "openid\tunionid\tfirst_seen\tlast_seen\n" +
		mallID(1) + "\tNULL\t2024-03-02 14:05:00\t2024-03-03 00:00:00\n" +
		mallID(2) + "\t" + mallUID(2) + "\t0000-00-00 00:00:00\tNULL\n"
	if err := os.WriteFile(filepath.Join(home, "app.tsv"), []byte(tsv), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, map[string]string{"HOME": home}, "sync", "--config", s.cfg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got []exported
	out := runCLI(t, map[string]string{"HOME": home}, "export", "--format", "jsonl", "--config", s.cfg)
	for line := range strings.Lines(out.stdout) {
		var e exported
		json.Unmarshal([]byte(line), &e)
		got = append(got, e)
	}
	if len(got) != 2 || got[0].OpenID != mallID(1) || got[0].Kind != "mobile" || got[0].UnionID != "" || got[0].SubscribeTime != 1709359500 ||
		got[1].UnionID != mallUID(2) || got[1].SubscribeTime != 0 {
		t.Errorf("exported %+v", got)
	}
}

// The next import without some of the rows: they stay, marked left at the
// sync that saw them gone; the others stay as they were.
func TestRowsGoneFromTheNextImportAreMarkedLeft(t *testing.T) {
	s := newImportSetup(t, mallApp)
	s.write(t, "mall-users.csv", "openid,unionid\n"+mallID(1)+","+mallUID(1)+"\n"+mallID(2)+","+mallUID(2)+"\n"+mallID(3)+",\n")
	if r := s.run(t, "sync"); r.code != 0 {
		t.Fatalf("first sync: exit %d, %s", r.code, r.stderr)
	}
	before := s.export(t, "mall")
	s.write(t, "mall-users.csv", "openid,unionid\n"+mallID(1)+","+mallUID(1)+"\n")
	r := s.run(t, "sync")
	if r.code != 0 || !strings.Contains(r.stdout, "1 members, 0 new, 2 left") {
		t.Fatalf("second sync: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
	after := s.export(t, "mall")
	if len(after) != 3 {
		t.Fatalf("exported %v", after)
	}
	for _, gone := range []int{2, 3} {
		e := after[mallID(gone)]
		if e.Subscribe != 0 || e.UnfollowedAt == 0 || e.UnfollowedAt < before[mallID(gone)].FetchedAt || e.UnionID != before[mallID(gone)].UnionID {
			t.Errorf("member %d gone from the import: %+v", gone, e)
		}
	}
	if e := after[mallID(1)]; fmt.Sprint(e) != fmt.Sprint(before[mallID(1)]) {
		t.Errorf("member 1, unchanged, became %+v (was %+v)", e, before[mallID(1)])
	}
	// A lookup shows the person left the mini program.
	look := s.run(t, "lookup", mallUID(2), "--json")
	if look.code != 0 || !strings.Contains(look.stdout, `"app":"mall"`) || !strings.Contains(look.stdout, `"subscribe":0`) {
		t.Errorf("lookup of a member who left: exit %d %s %s", look.code, look.stdout, look.stderr)
	}
}

// A file that cannot be opened is one sentence naming it, exit 1, and the
// previous import stays.
func TestAMissingImportFileKeepsThePreviousImport(t *testing.T) {
	s := newImportSetup(t, mallApp)
	s.write(t, "mall-users.csv", "openid,unionid\n"+mallID(1)+","+mallUID(1)+"\n")
	if r := s.run(t, "sync"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	before := s.export(t, "mall")
	os.Remove(filepath.Join(s.dir, "mall-users.csv"))
	r := s.run(t, "sync")
	path := filepath.Join(s.dir, "mall-users.csv")
	if r.code != 1 || !strings.Contains(r.stderr, "mall: cannot read its import "+path+" (no such file or directory); the previous import is kept") ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if after := s.export(t, "mall"); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the import changed: %v → %v", before, after)
	}
}

func TestResolveRefusesAnImportedApp(t *testing.T) {
	s := newImportSetup(t, mallApp)
	r := s.run(t, "resolve", "--app", "mall")
	if r.code != 2 || !strings.Contains(r.stderr, "mall is a mini program, and resolve asks the API of an official account") ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestAWrongImportConfigExitsTwoNamingTheLine(t *testing.T) {
	s := newImportSetup(t, mallApp+"secret_env = \"WX_MALL_SECRET\"\n")
	r := s.run(t, "sync")
	if r.code != 2 || !strings.Contains(r.stderr, s.cfg+":8: app.secret_env: app \"mall\" is a mini program, which has no follower API, so it takes no secret_env") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// In CSV too the kind is the app's; an official account's rows say
// official.
func TestExportSaysEachRowsKind(t *testing.T) {
	s := newImportSetup(t, mallApp+`
[[app]]
name = "site"
kind = "web"
appid = "wx5555555555555555"
import = "site.jsonl"
`)
	s.write(t, "mall-users.csv", "openid\n"+mallID(1)+"\n")
	s.write(t, "site.jsonl", `{"openid":"`+mallID(2)+`","unionid":"`+mallUID(2)+`","first_seen":1700000000}`+"\n")
	if r := s.run(t, "sync"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := s.run(t, "export")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "app,kind,appid,openid,unionid,subscribe,subscribe_time") ||
		!strings.HasPrefix(lines[1], "mall,miniprogram,wx3333333333333333,"+mallID(1)+",,1,0,") ||
		!strings.HasPrefix(lines[2], "site,web,wx5555555555555555,"+mallID(2)+","+mallUID(2)+",1,1700000000,,0,,,,,0,0,") {
		t.Errorf("exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestGrowthRefusesAnImportedApp(t *testing.T) {
	s := newImportSetup(t, mallApp)
	r := s.run(t, "growth", "--app", "mall")
	if r.code != 2 || !strings.Contains(r.stderr, "mall is a mini program; growth reads the official daily follower figures of official accounts only") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
