package syncer

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzHolder: whatever the sync lock file holds (a record half written by
// a killed sync, another program's file), Holder returns nil or a holder
// with a pid, and the message naming it is built without a panic.
func FuzzHolder(f *testing.F) {
	f.Add([]byte(`{"pid":4242,"command":"wxscope sync --app news","since":"2026-12-01T08:46:00+08:00"}`))
	f.Add([]byte(`{"pid":4242,"command":"wxscope sy`))
	f.Add([]byte(`{"pid":0}`))
	f.Add([]byte(`{"pid":1,"command":"\u001b]52;c;ZXZpbA==\u0007","since":"9999-12-31T23:59:59Z"}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, record []byte) {
		lp := filepath.Join(t.TempDir(), "wxscope.db.sync-lock")
		if err := os.WriteFile(lp, record, 0o600); err != nil {
			t.Fatal(err)
		}
		h := Holder(lp)
		if h != nil && h.PID <= 0 {
			t.Fatalf("holder %+v from %q", h, record)
		}
		_ = (&lockError{path: "wxscope.db", holder: h}).Error()
		if h != nil {
			SyncsApp(h, "news")
		}
	})
}
