package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"wxscope/sanitize"
)

// FuzzWritersKeepEveryString writes a row whose strings come from the
// fuzzer through every writer and reads it back: Parquet and the spool
// give back every byte, JSON lines every valid UTF-8 string, CSV every
// string with formulas defused, and no writer fails.
func FuzzWritersKeepEveryString(f *testing.F) {
	f.Add("老客户, \"VIP\" 🎁", "=HYPERLINK(\"x\")", "星标", int64(2))
	f.Add("\x1b]52;c;ZXZpbA==\x07", "\r\n\t", "", int64(-1))
	f.Add("\xff\xfe", "a\x00b", ";", int64(1<<62))
	f.Fuzz(func(t *testing.T, remark, scene, tag string, n int64) {
		in := Follower{AppID: "wx1", OpenID: "o" + remark, UnionID: scene, Subscribed: n%2 == 0, SubscribeTime: n,
			SubscribeScene: scene, QRScene: -n, QRSceneStr: tag, Remark: remark, TagIDs: []int64{n, 7}, GroupID: n, FetchedAt: n, UnfollowedAt: n}
		row := NewRow(Input{App: "news", Profile: &in, TagNames: map[int64]string{n: tag}, Blacklisted: n%3 == 0})

		var pq bytes.Buffer
		w := NewParquet(&pq, ParquetOptions{})
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, err := parquet.Read[Row](bytes.NewReader(pq.Bytes()), int64(pq.Len()))
		if err != nil || len(back) != 1 || !reflect.DeepEqual(back[0], row) {
			t.Fatalf("Parquet gave back %+v (%v), want %+v", back, err, row)
		}

		var sp Row
		if err := decodeRow(appendRow(nil, &row), &sp); err != nil || !reflect.DeepEqual(sp, row) {
			t.Fatalf("the spool gave back %+v (%v)", sp, err)
		}

		var js bytes.Buffer
		if err := NewJSONL(&js).Write(&row); err != nil {
			t.Fatal(err)
		}
		var jr Row
		if err := json.Unmarshal(js.Bytes(), &jr); err != nil {
			t.Fatalf("JSON line %q: %v", js.String(), err)
		}
		if utf8.ValidString(remark) && utf8.ValidString(scene) && utf8.ValidString(tag) && !reflect.DeepEqual(jr, row) {
			t.Fatalf("JSON lines gave back %+v, want %+v", jr, row)
		}

		var cs bytes.Buffer
		cw := NewCSV(&cs)
		if err := cw.Write(&row); err != nil {
			t.Fatal(err)
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&cs).ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("CSV %q: %d records, %v", cs.String(), len(recs), err)
		}
		// encoding/csv turns \r\n inside a quoted field into \n.
		if got, want := recs[1][10], string(bytes.ReplaceAll([]byte(sanitize.CSVCell(remark)), []byte("\r\n"), []byte("\n"))); utf8.ValidString(remark) && got != want {
			t.Fatalf("CSV remark %q, want %q", got, want)
		}
	})
}
