//go:build unix

package termsig

import (
	"os"
	"syscall"
)

// candidates on Unix: Ctrl-C; kill, systemd's stop and docker stop; and
// the terminal going away (its window closed, the SSH connection dropped),
// after which the TUI has nothing to draw on.
var candidates = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}
