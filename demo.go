package main

import "context"

// maxDemoFollowers bounds --followers so that a typo cannot ask the simulator
// for more memory than the machine has.
const maxDemoFollowers = 10_000_000

// runDemo starts the built-in simulator with a world generated from the seed,
// a fresh temporary cache, and the TUI on them. It reads no config file: the
// simulator is its configuration; --config is accepted like on every command.
func runDemo(ctx context.Context, env *cmdEnv, args []string) error {
	fs, _ := newFlagSet("demo")
	followers := fs.Int("followers", 20_000, "generate about `N` followers across the demo apps")
	seed := fs.Int64("seed", 1, "generate the world from seed `S`; the same seed gives the same world")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("demo", rest); err != nil {
		return err
	}
	if *followers < 1 || *followers > maxDemoFollowers {
		return usagef("demo", "--followers %d is out of range; use 1 to %d", *followers, maxDemoFollowers)
	}
	_ = seed
	return notBuilt("demo")
}
