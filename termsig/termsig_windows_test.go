//go:build windows

package termsig

import (
	"os"
	"slices"
	"syscall"
	"testing"
)

// A closed console arrives as SIGTERM: it must be listened to; SIGHUP never
// comes on Windows.
func TestWindowsListensToInterruptAndTheConsoleEvents(t *testing.T) {
	if got := Signals(); !slices.Equal(got, []os.Signal{os.Interrupt, syscall.SIGTERM}) {
		t.Fatalf("Signals() = %v", got)
	}
}
