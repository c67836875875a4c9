//go:build windows

package termsig

import (
	"os"
	"syscall"
)

// candidates on Windows, as Go's runtime delivers console events (see
// os/signal's doc and runtime.ctrlHandler): Ctrl-C and Ctrl-Break arrive as
// os.Interrupt; the console window closed, the user logging off and the
// machine shutting down (CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT,
// CTRL_SHUTDOWN_EVENT) as syscall.SIGTERM. The runtime holds the handler
// back while the program cleans up, but Windows ends the process anyway a
// few seconds later (5 s for a closed console), so what runs on SIGTERM
// must be quick. syscall.SIGHUP exists on Windows but nothing sends it.
var candidates = []os.Signal{os.Interrupt, syscall.SIGTERM}
