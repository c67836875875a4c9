package imports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

// The fuzz targets check what holds for any input: no panic, only valid
// rows handed on, lines that only go forward, and every record accounted
// for as a row or a rejection. Seed corpora live in testdata/fuzz/<FuzzName>.

// checkRead reads src and checks the invariants every format keeps.
func checkRead(t *testing.T, src []byte) (Stats, error) {
	t.Helper()
	last := 0
	st, err := Read(bytes.NewReader(src), "fuzz", func(r Row) error {
		if !ValidID(r.OpenID) || r.UnionID != "" && !ValidID(r.UnionID) {
			t.Fatalf("invalid ids handed on: %+v", r)
		}
		if r.Line <= last {
			t.Fatalf("line %d after line %d", r.Line, last)
		}
		last = r.Line
		return nil
	})
	if err != nil {
		return st, err
	}
	if st.Rows+st.Rejected > st.Lines || len(st.Rejections) > MaxRejections || len(st.Rejections) > st.Rejected {
		t.Fatalf("stats do not add up: %+v", st)
	}
	prev := 0
	for _, r := range st.Rejections {
		if r.Line <= prev || r.Line > st.Lines || strings.ContainsAny(r.Reason, "\n\r") {
			t.Fatalf("rejection %q after line %d of %d", r, prev, st.Lines)
		}
		prev = r.Line
	}
	return st, nil
}

// nonBlankLines counts the lines that are not blank.
func nonBlankLines(src []byte) int {
	n := 0
	for line := range bytes.Lines(src) {
		if !isBlankLine(bytes.TrimSuffix(line, []byte("\n"))) {
			n++
		}
	}
	return n
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("openid,unionid\n" + oid(1) + "," + uid(1) + "\n"))
	f.Add([]byte("\xef\xbb\xbfopenid,note\r\n" + oid(1) + ",\"a\r\n\"\"b\"\"\"\r\n"))
	f.Add([]byte("openid\n\"" + oid(1) + "\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		checkRead(t, src)
		csvAgreesWithEncodingCSV(t, src)
	})
}

// csvAgreesWithEncodingCSV checks the records of csvReader against
// encoding/csv's, for input that encoding/csv reads without complaint and
// where the two are meant to agree: no "\r" (encoding/csv rewrites it), no
// line of only spaces (a record there, blank here).
func csvAgreesWithEncodingCSV(t *testing.T, src []byte) {
	if bytes.IndexByte(src, '\r') >= 0 || bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) {
		return
	}
	for line := range bytes.Lines(src) {
		if l := bytes.TrimSuffix(line, []byte("\n")); len(l) > 0 && isBlankLine(l) {
			return
		}
	}
	cr := csv.NewReader(bytes.NewReader(src))
	cr.FieldsPerRecord = -1
	var want [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return
		}
		line, _ := cr.FieldPos(0)
		want, lines = append(want, rec), append(lines, line)
	}
	c := &csvReader{lines: newLineReader(bytes.NewReader(src))}
	for i := 0; ; i++ {
		line, bad, ok := c.next()
		if !ok {
			if i != len(want) {
				t.Fatalf("%d records, encoding/csv reads %d", i, len(want))
			}
			return
		}
		if bad != "" || i >= len(want) {
			t.Fatalf("record %d at line %d: %q, encoding/csv reads %d records", i, line, bad, len(want))
		}
		var got []string
		start := 0
		for _, end := range c.ends {
			got = append(got, string(c.buf[start:end]))
			start = end
		}
		if line != lines[i] || strings.Join(got, "\x00") != strings.Join(want[i], "\x00") || len(got) != len(want[i]) {
			t.Fatalf("record %d: line %d %q, encoding/csv line %d %q", i, line, got, lines[i], want[i])
		}
	}
}

func FuzzReadTSV(f *testing.F) {
	f.Add([]byte("openid\tunionid\tfirst_seen\n" + oid(1) + "\tNULL\t2024-03-02 14:05:00\n"))
	f.Add([]byte("openid\tnote\n" + oid(1) + "\\t\tx\\\\y\\n\n\n" + oid(2) + "\t\\N\r\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		st, err := checkRead(t, src)
		if err == nil && st.Format == TSV {
			// One record a line: every line after the header is a row or
			// a rejection.
			if got, want := st.Rows+st.Rejected, nonBlankLines(src)-1; got != want {
				t.Fatalf("%d rows and rejections for %d lines", got, want)
			}
		}
	})
}

func FuzzReadJSONLines(f *testing.F) {
	f.Add([]byte(`{"openid":"` + oid(1) + `","unionid":null,"first_seen":1709359500}` + "\n"))
	f.Add([]byte(`{"OpenID":"\u006f` + oid(1)[1:] + `","last_seen":"2024-03-02T14:05:00Z"}` + "\r\n[1]\n{\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		st, err := checkRead(t, src)
		if err == nil && st.Format == JSONLines {
			if got, want := st.Rows+st.Rejected, nonBlankLines(bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))); got != want {
				t.Fatalf("%d rows and rejections for %d lines", got, want)
			}
		}
	})
}

// FuzzParseTimeAgreesWithTimeParse checks the hand-written date reader
// against time.Parse.
func FuzzParseTimeAgreesWithTimeParse(f *testing.F) {
	for _, s := range []string{"2024-03-02T14:05:00+08:00", "2024-03-02 14:05:00", "2024-02-29", "2023-02-29",
		"2024-03-02T06:05:00.123Z", "1709359500", "1.5e9", "0000-00-00 00:00:00", "2024-03-02T14:05:00-23:59"} {
		f.Add(s)
	}
	china := time.FixedZone("CST", 8*60*60)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTime([]byte(s))
		if !ok || len(s) < 10 || s[4] != '-' || strings.HasPrefix(s, "0000-00-00") {
			return
		}
		var want time.Time
		var err error
		switch {
		case len(s) == 10:
			want, err = time.ParseInLocation("2006-01-02", s, china)
		default:
			rfc := s[:10] + "T" + s[11:]
			if want, err = time.Parse(time.RFC3339Nano, rfc); err != nil {
				want, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", rfc, china)
			}
		}
		if err != nil {
			t.Fatalf("parseTime(%q) = %d, time.Parse: %v", s, got, err)
		}
		if want.Unix() != got {
			t.Fatalf("parseTime(%q) = %d, time.Parse %d", s, got, want.Unix())
		}
	})
}

// FuzzFastJSONRowAgreesWithEncodingJSON checks the accelerator: whenever
// it takes a line, encoding/json takes it too and gives the same values.
func FuzzFastJSONRowAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"openid":"` + oid(1) + `","unionid":null,"first_seen":1709359500,"last_seen":"2024-03-02 14:05:00"}`,
		`{"OpenID":"a","openid":"b","x":-0.5e+3,"y":true,"z":false}`,
		`{ "openid" : "é" , "n":01}`, `{}`, `{"a":"\u0041"}`, `{"a":[1]}`, `{"a":1}x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast jsonRow
		if !fastJSONRow(b, &fast) {
			return
		}
		var want jsonRow
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("fast path took %q, encoding/json: %v", b, err)
		}
		for i, pair := range [][2]rawValue{{fast.OpenID, want.OpenID}, {fast.UnionID, want.UnionID},
			{fast.FirstSeen, want.FirstSeen}, {fast.LastSeen, want.LastSeen}} {
			if !bytes.Equal(pair[0], pair[1]) || (pair[0] == nil) != (pair[1] == nil) {
				t.Fatalf("%q: value %d is %q, encoding/json %q", b, i, pair[0], pair[1])
			}
		}
	})
}
