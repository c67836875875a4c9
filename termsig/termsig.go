// Package termsig names the signals that ask wxscope to stop, on each
// system, for signal.NotifyContext: a sync then saves its cursor and the TUI
// closes its cache before the process ends.
//
//	ctx, stop := signal.NotifyContext(ctx, termsig.Signals()...)
//	defer stop()
//
// context.Cause(ctx) then says which one came ("hangup signal received").
package termsig

import (
	"os"
	"os/signal"
)

// Signals returns this system's stop signals (see candidates), less those
// the process was started with ignored: nohup ignores SIGHUP and a shell
// ignores SIGINT in its background jobs, and notifying such a signal would
// un-ignore it, so that closing the terminal would stop a nohup'ed sync.
// Call it before any signal.Notify of these signals: after one, Ignored
// reports false.
func Signals() []os.Signal {
	var sigs []os.Signal
	for _, s := range candidates {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	return sigs
}
