package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"wxscope/cache"
	"wxscope/syncer"
	"wxscope/wording"
)

// runSalvage is the way out of a damaged cache that deletes nothing: every
// record that can still be read goes into a fresh cache, which takes the
// damaged file's place; the damaged file stays beside it under a dated
// name, and the next sync fetches the rest.
//
// Exit status: 0 when the cache was salvaged or has no damage to salvage, 1
// when nothing could be salvaged or the cache is busy, 2 for usage and
// configuration errors.
func runSalvage(ctx context.Context, env *Env, args []string) error {
	c := newInvocation(env, "salvage")
	if err := c.parseNoArgs(args); err != nil {
		return err
	}
	if err := c.load(); err != nil {
		return err
	}
	path := c.cfg.Cache
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("there is no cache at %s, so nothing to salvage; run wxscope sync", path)
	}
	// No sync may start on the file meanwhile: the sync lock, as a second
	// sync would take it.
	release, err := syncer.New(c.cfg, nil, syncer.Options{Command: "wxscope salvage"}).Hold()
	if err != nil {
		return err
	}
	defer release()

	store, err := cache.Open(path, cache.Options{Mode: cache.SharedReadOnly})
	if errors.Is(err, cache.ErrOlderSchema) {
		// Only a writer upgrades an older layout, and damage can stop the
		// upgrade (the sync then says to salvage): upgrade it here, and
		// salvage the file if it stops. Salvage reads either layout.
		if store, err = cache.Open(path, cache.Options{Mode: cache.Shared, Command: "wxscope salvage"}); err == nil {
			store.Close()
			store, err = cache.Open(path, cache.Options{Mode: cache.SharedReadOnly})
		}
	}
	switch {
	case errors.Is(err, cache.ErrNoCache):
		return fmt.Errorf("there is no cache at %s, so nothing to salvage; run wxscope sync", path)
	case err == nil:
		err = store.Check()
		store.Close()
		if err == nil {
			fmt.Fprintf(env.Stdout, "the cache %s has no damage that a check of every page and record finds: nothing to salvage\n", path)
			return nil
		}
	}
	if !errors.Is(err, cache.ErrDamaged) && !errors.Is(err, cache.ErrNotCache) {
		return err
	}
	r, err := cache.Salvage(path, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "salvaged %s of %s into a fresh cache at %s\n",
		wording.Plural(int(r.Profiles), "profile"), wording.Plural(r.Apps, "app"), path)
	if r.LostPages > 0 || r.LostValues > 0 {
		fmt.Fprintf(env.Stdout, "could not read %s and %s of the damaged file\n",
			wording.Plural(r.LostPages, "part"), wording.Plural(r.LostValues, "record"))
	}
	fmt.Fprintf(env.Stdout, "the damaged file is kept as %s\n", r.Kept)
	fmt.Fprintln(env.Stdout, "run wxscope sync to fetch what was lost; each app's sync starts over")
	return nil
}
