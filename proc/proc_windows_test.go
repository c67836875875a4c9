//go:build windows

package proc

import (
	"testing"

	"golang.org/x/sys/windows"
)

// systemPID is the System process's, 4 on every Windows since XP, which a
// user may not open with all rights. Wine (where these tests can run on
// Linux) has no such process: it says so by exporting wine_get_version.
func systemPID(t *testing.T) int {
	if windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil {
		t.Skip("under Wine, which has no System process")
	}
	return 4
}
