package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"wxscope/wechat/wechattest"
)

// stallingWriter stands for a slow pipe (an export into a pager): its first
// Write runs stall before taking the bytes.
type stallingWriter struct {
	buf   bytes.Buffer
	stall func()
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	if w.stall != nil {
		stall := w.stall
		w.stall = nil
		stall()
	}
	return w.buf.Write(p)
}

// TestSyncRunsWhileAnExportWaitsOnItsReader: an export stalled on a slow
// reader mid-stream holds no lock on the cache, so a `wxscope sync` started
// meanwhile runs to the end, and the export then finishes whole.
func TestSyncRunsWhileAnExportWaitsOnItsReader(t *testing.T) {
	s := newSimSetup(t, wechattest.DemoWorld(4, 2000), "")
	s.mustSync(t)

	var during result
	out := &stallingWriter{stall: func() { during = s.run(context.Background(), "sync") }}
	var stderr bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: &stderr, Getenv: func(k string) string { return s.vars[k] }}
	if code := Run(context.Background(), env, []string{"export", "--format", "jsonl", "--config", s.cfg}); code != 0 {
		t.Fatalf("export: exit %d, stderr %s", code, stderr.String())
	}
	if out.stall != nil {
		t.Fatal("the export never wrote")
	}
	if during.code != 0 {
		t.Fatalf("wxscope sync while an export waited on its reader: exit %d\nstderr %s", during.code, during.stderr)
	}
	rows := decodeRows(t, out.buf.String())
	if len(rows) == 0 || out.buf.Len() <= 64<<10 {
		t.Fatalf("the export wrote %d rows in %d bytes; the test wants it stalled mid-stream, past its 64 KiB buffer", len(rows), out.buf.Len())
	}
	if again := s.export(t); len(again) != len(rows) {
		t.Fatalf("the stalled export wrote %d rows, a fresh one %d", len(rows), len(again))
	}
}
