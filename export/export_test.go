package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"wxscope/cache"
)

// sampleRows are rows with every kind of value: CJK and emoji, quotes and
// formulas, escape sequences, empty and long tag lists, large numbers.
func sampleRows() []Row {
	ps := []cache.Profile{
		{AppID: "wx1111111111111111", OpenID: "oNews0000000000000000000001", UnionID: "oUnion000000000000000000001", Subscribed: true,
			SubscribeTime: 1700000000, SubscribeScene: "ADD_SCENE_QR_CODE", QRScene: 42, QRSceneStr: "=HYPERLINK(\"http://evil\")",
			Remark: "老客户, \"VIP\" 🎁", TagIDs: []int64{2, 101}, GroupID: 2, FetchedAt: 1700000100},
		{AppID: "wx1111111111111111", OpenID: "oNews0000000000000000000002", SubscribeTime: 1600000000, SubscribeScene: "ADD_SCENE_SEARCH",
			Remark: "@SUM(A1)\x1b]52;c;ZXZpbA==\x07 <b>&</b>", FetchedAt: 1700000100, UnfollowedAt: 1700000200},
		{AppID: "wx2222222222222222", OpenID: "oShop0000000000000000000001", Subscribed: true, SubscribeTime: 1650000000,
			SubscribeScene: "ADD_SCENE_OTHERS", QRScene: 1 << 40, Remark: "-1+1\nsecond line", TagIDs: []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
			GroupID: 1 << 33, FetchedAt: 1700000300},
	}
	names := map[int64]string{2: "星标", 101: "=VIP"}
	rows := make([]Row, len(ps))
	for i := range ps {
		app := "news"
		if i == 2 {
			app = "shop"
		}
		rows[i] = NewRow(Input{App: app, Profile: (*Follower)(&ps[i]), TagNames: names, Blacklisted: i == 1})
	}
	return rows
}

func TestNewRowFillsTheNewFieldsWithWhatIsKnown(t *testing.T) {
	p := &cache.Profile{AppID: "wx1", OpenID: "o1", TagIDs: []int64{2, 7}}
	r := NewRow(Input{App: "news", Profile: (*Follower)(p), TagNames: map[int64]string{2: "vip"}})
	if r.Kind != KindOfficial || !reflect.DeepEqual(r.Tags, []string{"vip", "7"}) || r.Blacklisted || r.Subscribe != 0 {
		t.Errorf("row %+v: want kind official, tags [vip 7] (7 has no name), not blacklisted", r)
	}
	r = NewRow(Input{App: "news", Profile: &Follower{AppID: "wx1", OpenID: "o2", Subscribed: true}})
	if r.TagIDList == nil || r.Tags == nil || len(r.Tags) != 0 || r.Subscribe != 1 {
		t.Errorf("row %+v: want empty (not nil) lists and subscribe 1", r)
	}
}

func TestJSONLinesHaveTheContractsFieldsInOrder(t *testing.T) {
	var b bytes.Buffer
	w := NewJSONL(&b)
	rows := sampleRows()
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := `{"app":"news","kind":"official","appid":"wx1111111111111111","openid":"oNews0000000000000000000001","unionid":"oUnion000000000000000000001",` +
		`"subscribe":1,"subscribe_time":1700000000,"subscribe_scene":"ADD_SCENE_QR_CODE","qr_scene":42,"qr_scene_str":"=HYPERLINK(\"http://evil\")",` +
		`"remark":"老客户, \"VIP\" 🎁","tagid_list":[2,101],"tags":["星标","=VIP"],"blacklisted":false,"groupid":2,"fetched_at":1700000100,"unfollowed_at":0}`
	if lines[0] != want {
		t.Errorf("line 1\n got %s\nwant %s", lines[0], want)
	}
	if !strings.Contains(lines[1], `"remark":"@SUM(A1)\u001b]52;c;ZXZpbA==\u0007 <b>&</b>","tagid_list":[],"tags":[],"blacklisted":true,`) {
		t.Errorf("line 2 should keep < > & and have empty lists: %s", lines[1])
	}
	// The keys, in order, are Columns.
	dec := json.NewDecoder(strings.NewReader(lines[2]))
	var keys []string
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	if !reflect.DeepEqual(keys, Columns) {
		t.Errorf("keys %v, want %v", keys, Columns)
	}
}

func TestCSVHasAHeaderAndDefusesFormulas(t *testing.T) {
	var b bytes.Buffer
	w := NewCSV(&b)
	rows := sampleRows()
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs[0], Columns) || len(recs) != 4 {
		t.Fatalf("header %v, %d records", recs[0], len(recs))
	}
	col := func(rec []string, name string) string {
		for i, c := range Columns {
			if c == name {
				return rec[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	r1, r2, r3 := recs[1], recs[2], recs[3]
	if col(r1, "qr_scene_str") != `'=HYPERLINK("http://evil")` || col(r1, "tagid_list") != "2;101" || col(r1, "tags") != "星标;=VIP" ||
		col(r1, "kind") != "official" || col(r1, "blacklisted") != "0" || col(r1, "subscribe_time") != "1700000000" {
		t.Errorf("row 1 %q", r1)
	}
	if !strings.HasPrefix(col(r2, "remark"), "'@SUM(A1)") || col(r2, "blacklisted") != "1" || col(r2, "tags") != "" || col(r2, "unfollowed_at") != "1700000200" {
		t.Errorf("row 2 %q", r2)
	}
	if col(r3, "remark") != "'-1+1\nsecond line" || col(r3, "groupid") != "8589934592" || col(r3, "app") != "shop" {
		t.Errorf("row 3 %q", r3)
	}
}

func TestCSVWithoutRowsStillHasItsHeader(t *testing.T) {
	var b bytes.Buffer
	if err := NewCSV(&b).Close(); err != nil {
		t.Fatal(err)
	}
	if b.String() != strings.Join(Columns, ",")+"\n" {
		t.Errorf("got %q", b.String())
	}
}

// readParquet reads every row of a Parquet file with parquet-go's reader.
func readParquet(t *testing.T, path string) []Row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rows, err := parquet.Read[Row](f, st.Size())
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return rows
}

func TestParquetHoldsEveryFieldWithItsType(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := NewParquet(f, ParquetOptions{RowGroupRows: 2})
	rows := sampleRows()
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := readParquet(t, path); !reflect.DeepEqual(got, rows) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, rows)
	}

	pf := openParquet(t, path)
	if n := len(pf.RowGroups()); n != 2 {
		t.Errorf("%d row groups of at most 2 rows for 3 rows, want 2", n)
	}
	var names []string
	for _, fld := range pf.Schema().Fields() {
		names = append(names, fld.Name())
	}
	if !reflect.DeepEqual(names, Columns) {
		t.Errorf("columns %v, want %v", names, Columns)
	}
	schema := pf.Schema().String()
	for _, want := range []string{
		"required binary remark (STRING)", "required int64 subscribe_time", "required boolean blacklisted",
		"required group tagid_list (LIST)", "required group tags (LIST)", "required binary element (STRING)",
	} {
		if !strings.Contains(schema, want) {
			t.Errorf("schema lacks %q:\n%s", want, schema)
		}
	}
	for _, cc := range pf.Metadata().RowGroups[0].Columns {
		if cc.MetaData.Codec.String() != "ZSTD" {
			t.Errorf("column %v is %v, want ZSTD", cc.MetaData.PathInSchema, cc.MetaData.Codec)
		}
	}
}

func openParquet(t *testing.T, path string) *parquet.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

// manyRows returns n rows of app, numbered so that the order can be checked.
func manyRows(app string, n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		p := cache.Profile{AppID: "wx" + app, OpenID: "o" + app + strings.Repeat("0", 8) + string(rune('a'+i%26)), SubscribeTime: int64(i)}
		rows[i] = NewRow(Input{App: app, Profile: (*Follower)(&p)})
	}
	return rows
}

func TestParquetDirPartitionsByAppAndRollsParts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	d, err := CreateParquetDir(dir, []string{"news", "shop", "idle"}, ParquetOptions{RowGroupRows: 3, PartRows: 4})
	if err != nil {
		t.Fatal(err)
	}
	news, shop := manyRows("news", 10), manyRows("shop", 2)
	for _, rows := range [][]Row{news, shop} {
		for i := range rows {
			if err := d.Write(&rows[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "app=news")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a partition is in place before Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "app=news", "part-00000.parquet"), filepath.Join(dir, "app=news", "part-00001.parquet"),
		filepath.Join(dir, "app=news", "part-00002.parquet"), filepath.Join(dir, "app=shop", "part-00000.parquet"),
	}
	if !reflect.DeepEqual(d.Files(), want) {
		t.Errorf("files %v, want %v", d.Files(), want)
	}
	var got []Row
	for _, f := range want[:3] {
		got = append(got, readParquet(t, f)...)
	}
	if !reflect.DeepEqual(got, news) {
		t.Errorf("news read back differs:\n%+v", got)
	}
	if got := readParquet(t, want[3]); !reflect.DeepEqual(got, shop) {
		t.Errorf("shop read back differs:\n%+v", got)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"app=news", "app=shop"}) {
		t.Errorf("dir holds %v: want the two partitions only (no staging folder, none for an app without rows)", names)
	}

	// A second export into the same folder is refused, and writes nothing.
	if _, err := CreateParquetDir(dir, []string{"shop"}, ParquetOptions{}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "app=shop") {
		t.Errorf("export over a partition with files: %v, want ErrExists naming app=shop", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("the refused export left %d entries", len(entries))
	}
	// An empty partition folder is no obstacle.
	if err := os.Mkdir(filepath.Join(dir, "app=idle"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err = CreateParquetDir(dir, []string{"idle"}, ParquetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	idle := manyRows("idle", 1)
	if err := d.Write(&idle[0]); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readParquet(t, filepath.Join(dir, "app=idle", "part-00000.parquet")); !reflect.DeepEqual(got, idle) {
		t.Errorf("idle: %+v", got)
	}
}

func TestParquetDirAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	d, err := CreateParquetDir(dir, []string{"news"}, ParquetOptions{PartRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	rows := manyRows("news", 5)
	for i := range rows {
		if err := d.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	other := manyRows("other", 1)
	if err := d.Write(&other[0]); err == nil {
		t.Error("a row of an app the export was not started for should fail")
	}
	d.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("an aborted export left %v", entries)
	}
}

func TestPartitionNameEscapesWhatAPathCannotHold(t *testing.T) {
	for in, want := range map[string]string{"news": "app=news", "shop-2.cn_x": "app=shop-2.cn_x", "a/b=c": "app=a%2Fb%3Dc", "新闻": "app=%E6%96%B0%E9%97%BB"} {
		if got := PartitionName(in); got != want {
			t.Errorf("PartitionName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCreateNeverOverwritesAndLeavesNoHalfFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("a,b\n"))
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file is in place before Commit: %v", err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "a,b\n" {
		t.Errorf("file holds %q", b)
	}
	if _, err := Create(path); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), path) {
		t.Errorf("Create over an existing file: %v", err)
	}

	// A file that appears while the export runs is kept.
	late := filepath.Join(dir, "late.csv")
	f, err = Create(late)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("mine\n"))
	if err := os.WriteFile(late, []byte("theirs\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); !errors.Is(err, ErrExists) {
		t.Errorf("Commit over a file that appeared: %v", err)
	}
	if b, _ := os.ReadFile(late); string(b) != "theirs\n" {
		t.Errorf("the other file was overwritten: %q", b)
	}

	f, err = Create(filepath.Join(dir, "aborted.csv"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	f.Abort()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"late.csv", "out.csv"}) {
		t.Errorf("dir holds %v: no temporary file may stay", names)
	}
}

func TestFormatOfTheExtension(t *testing.T) {
	for name, want := range map[string]Format{"a.csv": CSV, "a.JSONL": JSONL, "a.ndjson": JSONL, "a.json": JSONL, "a.parquet": Parquet, "a": CSV, "a.txt": CSV} {
		if got := FormatOf(name); got != want {
			t.Errorf("FormatOf(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestSpoolGivesBackEveryRowInAnyOrder(t *testing.T) {
	s, err := NewSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rows := append(sampleRows(), manyRows("news", 3000)...)
	refs := make([]SpoolRef, len(rows))
	for i := range rows {
		if refs[i], err = s.Add(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := len(rows) - 1; i >= 0; i-- {
		var r Row
		if err := s.Read(refs[i], &r); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r, rows[i]) {
			t.Fatalf("row %d\n got %+v\nwant %+v", i, r, rows[i])
		}
	}
	if err := s.Read(SpoolRef{}, new(Row)); err == nil {
		t.Error("the zero SpoolRef should be no row")
	}
	name := s.f.Name()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the spool file stays after Close: %v", err)
	}
}

func TestSpoolRejectsADamagedRow(t *testing.T) {
	rows := sampleRows()
	b := appendRow(nil, &rows[0])
	for n := 0; n < len(b); n++ {
		if err := decodeRow(b[:n], new(Row)); err == nil {
			t.Fatalf("a row cut to %d of %d bytes decoded", n, len(b))
		}
	}
	if err := decodeRow(append(b, 0), new(Row)); err == nil {
		t.Error("a row with a byte too many decoded")
	}
}
