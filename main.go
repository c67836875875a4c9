// Command wxscope browses the followers of a company's WeChat Official
// Accounts, caches their profiles and links them across accounts by unionid.
// The commands live in package cli; see "wxscope help" and the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"

	"wxscope/cli"
	"wxscope/termsig"
)

// softMemoryLimit keeps the TUI over a 1 M-follower cache under the design's
// 200 MB: the live heap there is about 110 MB, and by default the garbage
// collector lets the heap grow to twice the live size before it collects.
// GOMEMLIMIT, when set, wins. It is a soft limit; the TUI and the server
// keep it as a floor and let the heap grow an eighth above the live heap
// when a larger cache's views hold more (package memlimit), so that the
// collector does not run back to back.
const softMemoryLimit = 160 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	// SIGINT, SIGTERM and (on Unix) SIGHUP, a closed terminal, cancel the
	// context: a sync saves its progress and returns, the TUI restores the
	// terminal and the demo removes its cache. A second signal finds the
	// default handler again and kills.
	ctx, stop := signal.NotifyContext(context.Background(), termsig.Signals()...)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.Run(ctx, cli.OSEnv(), os.Args[1:])
	stop()
	os.Exit(code)
}
