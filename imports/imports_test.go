package imports

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func oid(n int) string { return fmt.Sprintf("o6_bmjrPTlm6_2sgVt7hMZOPf%03d", n) }
func uid(n int) string { return fmt.Sprintf("oXyZ_unionid_AbCdEfGhIjKl%03d", n) }

// readAll reads a source and returns its rows.
func readAll(t *testing.T, src, name string) ([]Row, Stats, error) {
	t.Helper()
	var rows []Row
	st, err := Read(strings.NewReader(src), name, func(r Row) error {
		rows = append(rows, r)
		return nil
	})
	return rows, st, err
}

func readFile(t *testing.T, name string) ([]Row, Stats) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []Row
	st, err := Read(f, name, func(r Row) error {
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Read(%s): %v", name, err)
	}
	return rows, st
}

func unix(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

func rejections(st Stats) []string {
	var out []string
	for _, r := range st.Rejections {
		out = append(out, r.String())
	}
	return out
}

func checkRows(t *testing.T, got, want []Row) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", got, want)
	}
}

func checkRejections(t *testing.T, st Stats, want []string) {
	t.Helper()
	if got := rejections(st); !reflect.DeepEqual(got, want) {
		t.Errorf("rejections:\n got %q\nwant %q", got, want)
	}
	if st.Rejected != len(want) {
		t.Errorf("Rejected = %d, want %d", st.Rejected, len(want))
	}
}

func TestCSVWithBOMQuotesAndCRLF(t *testing.T) {
	rows, st := readFile(t, "bom_crlf.csv")
	if st.Format != CSV {
		t.Errorf("format = %q, want csv", st.Format)
	}
	checkRows(t, rows, []Row{
		{OpenID: oid(1), UnionID: uid(1), FirstSeen: 1709359500, LastSeen: unix("2024-03-02T14:05:00+08:00"), Line: 2},
		{OpenID: oid(2), UnionID: uid(2), FirstSeen: unix("2024-03-02T14:05:00+08:00"), Line: 3},
		{OpenID: oid(3), Line: 6},
		{OpenID: oid(8), FirstSeen: 1709359500, Line: 12},
	})
	checkRejections(t, st, []string{
		`bom_crlf.csv:7: openid "short-id" is not an openid (16 to 64 letters, digits, _ or -)`,
		`bom_crlf.csv:8: first_seen "yesterday" is not a time (unix seconds or RFC 3339)`,
		`bom_crlf.csv:9: the row has 3 fields, the header 5`,
		`bom_crlf.csv:11: malformed CSV: "q" after the closing quote of field 2; a quote inside a quoted field is written twice`,
	})
	if st.Rows != 4 || st.Lines != 12 {
		t.Errorf("Rows, Lines = %d, %d; want 4, 12", st.Rows, st.Lines)
	}
}

func TestMysqlBatchTSVWithNULLAndEscapes(t *testing.T) {
	rows, st := readFile(t, "mysql.tsv")
	if st.Format != TSV {
		t.Errorf("format = %q, want tsv", st.Format)
	}
	checkRows(t, rows, []Row{
		{OpenID: oid(1), UnionID: uid(1), FirstSeen: unix("2024-03-02T14:05:00+08:00"), Line: 2},
		{OpenID: oid(2), Line: 3},
		{OpenID: oid(3), UnionID: uid(3), FirstSeen: 1709359500, Line: 4},
		{OpenID: oid(6), UnionID: uid(6), Line: 7},
	})
	checkRejections(t, st, []string{
		`mysql.tsv:5: openid "` + oid(4) + `\t" is not an openid (16 to 64 letters, digits, _ or -)`,
		`mysql.tsv:6: unionid "not a unionid" is not a unionid (16 to 64 letters, digits, _ or -)`,
	})
}

func TestJSONLinesWithBadLines(t *testing.T) {
	rows, st := readFile(t, "members.jsonl")
	if st.Format != JSONLines {
		t.Errorf("format = %q, want jsonl", st.Format)
	}
	checkRows(t, rows, []Row{
		{OpenID: oid(1), UnionID: uid(1), FirstSeen: 1709359500, LastSeen: unix("2024-03-02T14:05:00+08:00"), Line: 1},
		{OpenID: oid(2), FirstSeen: 1709359500, Line: 2},
		{OpenID: oid(7), FirstSeen: unix("2024-03-02T14:05:00+08:00"), Line: 7},
		{OpenID: oid(8), Line: 8},
	})
	checkRejections(t, st, []string{
		`members.jsonl:4: malformed JSON: unexpected end of JSON input`,
		`members.jsonl:5: the line is not a JSON object`,
		`members.jsonl:6: openid is a number, not a string`,
		`members.jsonl:9: openid is empty`,
		`members.jsonl:10: last_seen is a boolean, not a string`,
	})
}

func TestCSVQuotedFieldSpanningLinesCountsItsLines(t *testing.T) {
	src := "openid,note\n" +
		oid(1) + ",\"a\nb\nc\"\n" + // lines 2-4
		"bad,x\n" + // line 5
		oid(2) + ",\"\"\"quoted\"\", with comma\"\n" // line 6
	rows, st, err := readAll(t, src, "s.csv")
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, []Row{{OpenID: oid(1), Line: 2}, {OpenID: oid(2), Line: 6}})
	checkRejections(t, st, []string{`s.csv:5: openid "bad" is not an openid (16 to 64 letters, digits, _ or -)`})
}

func TestCSVUnclosedQuoteIsOneRejectionAtTheEnd(t *testing.T) {
	src := "openid,note\n" + oid(1) + ",ok\n" + oid(2) + ",\"never closed\n" + oid(3) + ",x\n"
	rows, st, err := readAll(t, src, "s.csv")
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, []Row{{OpenID: oid(1), Line: 2}})
	checkRejections(t, st, []string{`s.csv:3: the quoted field opened on line 3 never closes`})
}

func TestMissingOpenidColumnIsAnError(t *testing.T) {
	for name, src := range map[string]string{
		"csv": "unionid,first_seen\n" + uid(1) + ",1\n",
		"tsv": "unionid\tfirst_seen\n" + uid(1) + "\t1\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := readAll(t, src, "x."+name)
			if err == nil || !strings.Contains(err.Error(), `x.`+name+`:1: the header row has no openid column (it has "unionid", "first_seen")`) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestTwoOpenidColumnsIsAnError(t *testing.T) {
	_, _, err := readAll(t, "openid,OpenID\n", "x.csv")
	if err == nil || !strings.Contains(err.Error(), "two openid columns") {
		t.Fatalf("err = %v", err)
	}
}

func TestHeaderIsFoundAfterBlankLinesAndCounted(t *testing.T) {
	rows, _, err := readAll(t, "\n  \r\n\tOpenid \t note\n\t"+oid(1)+"\tx\n", "x.tsv")
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, []Row{{OpenID: oid(1), Line: 4}})
}

func TestEmptySourceHasNoRows(t *testing.T) {
	for _, src := range []string{"", "\n\n", "\xef\xbb\xbf", "  \r\n"} {
		rows, st, err := readAll(t, src, "x")
		if err != nil || len(rows) != 0 || st.Format != "" {
			t.Errorf("%q: rows %v, format %q, err %v", src, rows, st.Format, err)
		}
	}
}

func TestTimes(t *testing.T) {
	china := unix("2024-03-02T14:05:00+08:00")
	for in, want := range map[string]int64{
		"":                            0,
		"1709359500":                  1709359500,
		"1709359500.999":              1709359500,
		"2024-03-02T14:05:00+08:00":   china,
		"2024-03-02T06:05:00Z":        china,
		"2024-03-02T07:05:00.5+01:00": china,
		"2024-03-02 14:05:00+08:00":   china,
		"2024-03-02 14:05:00":         china,
		"2024-03-02T14:05:00":         china,
		"2024-03-02 14:05:00.123456":  china,
		"2024-03-02":                  china - (14*3600 + 5*60),
		"0000-00-00 00:00:00":         0,
		"1.7093595e9":                 1709359500,
		"253402300799":                253402300799,
		"2024-03-01T23:05:00-07:00":   unix("2024-03-02T06:05:00Z"),
	} {
		got, ok := parseTime([]byte(in))
		if !ok || got != want {
			t.Errorf("parseTime(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"yesterday", "1709359500000", "-5", "2024-13-02", "2024-03-02T14:05", "17093x", "1.5.5", "12345678901234567890123"} {
		if got, ok := parseTime([]byte(in)); ok {
			t.Errorf("parseTime(%q) = %d, want a rejection", in, got)
		}
	}
}

func TestValidID(t *testing.T) {
	for s, want := range map[string]bool{
		oid(1):                         true,
		strings.Repeat("a", 16):        true,
		strings.Repeat("a", 64):        true,
		strings.Repeat("a", 15):        false,
		strings.Repeat("a", 65):        false,
		"o6_bmjrPTlm6_2sgVt7hMZOPf0 1": false,
		"o6_bmjrPTlm6_2sgVt7hMZOPféé":  false,
		"":                             false,
	} {
		if ValidID(s) != want {
			t.Errorf("ValidID(%q) = %v", s, !want)
		}
	}
}

func TestRejectionsKeepTheFirst20AndCountTheRest(t *testing.T) {
	var b strings.Builder
	b.WriteString("openid\n")
	for range 25 {
		b.WriteString("bad\n")
	}
	_, st, err := readAll(t, b.String(), "big.csv")
	if err != nil {
		t.Fatal(err)
	}
	if st.Rejected != 25 || len(st.Rejections) != MaxRejections || st.Rejections[19].Line != 21 {
		t.Fatalf("Rejected %d, kept %d", st.Rejected, len(st.Rejections))
	}
	var out strings.Builder
	if err := st.WriteRejections(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 21 || lines[0] != `big.csv:2: openid "bad" is not an openid (16 to 64 letters, digits, _ or -)` ||
		lines[20] != "big.csv: 5 more rejected rows not shown" {
		t.Fatalf("WriteRejections:\n%s", out.String())
	}
}

func TestLongLineIsRejectedAndReadingGoesOn(t *testing.T) {
	src := "openid,note\n" + oid(1) + "," + strings.Repeat("x", MaxLine+10) + "\n" + oid(2) + ",y\n"
	rows, st, err := readAll(t, src, "s.csv")
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, []Row{{OpenID: oid(2), Line: 3}})
	checkRejections(t, st, []string{"s.csv:2: the line is longer than 1 MiB"})

	// A line longer than the read buffer but within the limit is read.
	src = "openid,note\n" + oid(1) + "," + strings.Repeat("x", 200<<10) + "\n"
	if rows, _, err = readAll(t, src, "s.csv"); err != nil || len(rows) != 1 {
		t.Fatalf("rows %v, err %v", rows, err)
	}
}

func TestLongQuotedFieldIsSkippedToItsEnd(t *testing.T) {
	long := strings.Repeat(strings.Repeat("x", 1000)+"\n", 1100) // 1.1 MB over 1100 lines
	src := "openid,note\n" + oid(1) + ",\"" + long + "\"\n" + oid(2) + ",y\n"
	rows, st, err := readAll(t, src, "s.csv")
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, []Row{{OpenID: oid(2), Line: 1103}})
	checkRejections(t, st, []string{"s.csv:2: the row is longer than 1 MiB"})
}

func TestReadErrorIsWrappedWithTheLine(t *testing.T) {
	boom := errors.New("boom")
	src := strings.NewReader("openid\n" + oid(1) + "\n" + oid(2) + "\n")
	r := iotest.TimeoutReader(iotest.OneByteReader(src)) // fails on the second read
	_, err := Read(r, "cmd", func(Row) error { return nil })
	if err == nil || !strings.HasPrefix(err.Error(), "reading cmd at line") {
		t.Fatalf("err = %v", err)
	}
	_, err = Read(iotest.ErrReader(boom), "cmd", func(Row) error { return nil })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap the reader's error", err)
	}
}

func TestFnErrorStopsReading(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	_, err := Read(strings.NewReader("openid\n"+oid(1)+"\n"+oid(2)+"\n"), "x", func(Row) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d rows", err, n)
	}
}

func TestRepeatedOpenidReachesFnEachTimeAndMergeCombines(t *testing.T) {
	src := "openid,unionid,first_seen,last_seen\n" +
		oid(1) + "," + uid(1) + ",200,300\n" +
		oid(1) + ",,100,250\n"
	rows, _, err := readAll(t, src, "log.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %v, want both", rows)
	}
	got := Merge(rows[0], rows[1])
	want := Row{OpenID: oid(1), UnionID: uid(1), FirstSeen: 100, LastSeen: 300, Line: 3}
	if got != want {
		t.Errorf("Merge = %+v, want %+v", got, want)
	}
	if got := Merge(Row{FirstSeen: 100}, Row{}); got.FirstSeen != 100 {
		t.Errorf("Merge lost the only known first_seen: %+v", got)
	}
}
