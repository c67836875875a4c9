//go:build unix

package imports

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"wxscope/shell"
)

// importCommand reads the rows an import_command prints, as sync does.
func importCommand(t *testing.T, line string) (int, Stats, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := shell.Command{Line: line, Env: []string{"PATH=/usr/bin:/bin"}}.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	n := 0
	st, err := Read(p, "import_command of mall", func(Row) error { n++; return nil })
	return n, st, err
}

func TestImportCommandStreamsItsRows(t *testing.T) {
	n, st, err := importCommand(t, `printf 'openid\tunionid\n'; seq -f 'o6_bmjrPTlm6_2sgVt7h%08g' 1 100000 | sed 's/$/\tNULL/'`)
	if err != nil || n != 100000 || st.Format != TSV || st.Rejected != 0 {
		t.Fatalf("%d rows, %+v, %v", n, st, err)
	}
}

func TestImportCommandFailingMidwayIsAnErrorNotAShortSource(t *testing.T) {
	// mysql losing its server halfway through a result.
	n, _, err := importCommand(t, `printf 'openid\n'; seq -f 'o6_bmjrPTlm6_2sgVt7h%08g' 1 50000; echo "ERROR 2013 (HY000): Lost connection to MySQL server during query" >&2; exit 1`)
	var xe *exec.ExitError
	if err == nil || !errors.As(err, &xe) || !strings.Contains(err.Error(), "Lost connection to MySQL server") ||
		!strings.HasPrefix(err.Error(), "reading import_command of mall at line 50001: exit status 1: ERROR 2013") {
		t.Fatalf("err = %v after %d rows, want the command's failure", err, n)
	}
}
