//go:build unix

package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An import_command runs in the config's folder through sh; one that breaks
// off midway (mysql losing its server) is a failure naming the command and
// what it said, exit 1, and the previous import stays exactly as it was.
func TestAnImportCommandFailingMidwayKeepsThePreviousImport(t *testing.T) {
	s := newImportSetup(t, `[[app]]
name = "mall"
kind = "miniprogram"
appid = "wx3333333333333333"
import_command = "cat mall.tsv; if [ -e fail ]; then echo 'ERROR 2013 (HY000): Lost connection to MySQL server during query' >&2; exit 1; fi"
`)
	var first strings.Builder
	first.WriteString("openid\tunionid\tfirst_seen\n")
	for i := range 3000 {
		fmt.Fprintf(&first, "%s\t%s\t%d\n", mallID(i), mallUID(i), 1700000000+i)
	}
	s.write(t, "mall.tsv", first.String())
	if r := s.run(t, "sync"); r.code != 0 || !strings.Contains(r.stdout, "mall: 3000 rows read from import_command of mall") {
		t.Fatalf("first sync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	before := s.export(t, "mall")

	// The next run prints other rows, many of them, then fails.
	var next strings.Builder
	next.WriteString("openid\tunionid\n")
	for i := 2000; i < 60000; i++ {
		fmt.Fprintf(&next, "%s\t%s\n", mallID(i), mallUID(i+1))
	}
	s.write(t, "mall.tsv", next.String())
	s.write(t, "fail", "")
	r := s.run(t, "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "mall: reading import_command of mall at line 58001: exit status 1: ERROR 2013 (HY000): Lost connection to MySQL server during query; the previous import is kept") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("more than one sentence: %q", r.stderr)
	}
	after := s.export(t, "mall")
	if len(after) != len(before) || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the failed import changed the cache: %d rows, had %d", len(after), len(before))
	}
	if leftovers, _ := filepath.Glob(filepath.Join(s.dir, ".wxscope-import-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// Once the command succeeds, its rows are the import.
	os.Remove(filepath.Join(s.dir, "fail"))
	if r := s.run(t, "sync"); r.code != 0 || !strings.Contains(r.stdout, "58000 members, 57000 new, 2000 left") {
		t.Fatalf("sync after the fix: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	got := s.export(t, "mall")
	if e := got[mallID(2500)]; e.Subscribe != 1 || e.UnionID != mallUID(2501) || e.SubscribeTime != 1700002500 {
		t.Errorf("a member in both imports: %+v", e)
	}
	if e := got[mallID(10)]; e.Subscribe != 0 || e.UnfollowedAt == 0 {
		t.Errorf("a member gone: %+v", e)
	}
}

// The command gets WXSCOPE_APP and WXSCOPE_APPID, so one script can serve
// several apps.
func TestAnImportCommandKnowsItsApp(t *testing.T) {
	s := newImportSetup(t, `[[app]]
name = "mall"
kind = "miniprogram"
appid = "wx3333333333333333"
import_command = "printf 'openid,unionid\n%s,\n' \"oX_${WXSCOPE_APP}_${WXSCOPE_APPID}\""
`)
	if r := s.run(t, "sync"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got := s.export(t, "mall"); len(got) != 1 || got["oX_mall_wx3333333333333333"].Subscribe != 1 {
		t.Errorf("exported %v", got)
	}
}
