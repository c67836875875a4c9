package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/ui"
	"wxscope/wechat/wechattest"
)

// maxDemoFollowers bounds --followers so that a typo cannot ask the simulator
// for more memory than the machine has.
const maxDemoFollowers = 10_000_000

// demoLatency is the simulator's delay per API call: enough that the sync's
// progress shows on the home view, little enough that the demo world syncs
// in seconds. Real calls take 50-150 ms; the demo would take minutes.
const demoLatency = 4 * time.Millisecond

// runDemo starts the built-in simulator with a world generated from the seed,
// a fresh temporary cache, and the TUI on them. It reads no config file: the
// simulator is its configuration; --config is accepted like on every command.
// It has no --readonly: its cache starts empty and lives only as long as the
// demo, so a demo that may not sync would show nothing and protect nothing.
// With --serve it starts no TUI: see serveDemo.
func runDemo(ctx context.Context, env *Env, args []string) error {
	fs, _ := newFlagSet("demo")
	followers := fs.Int("followers", 20_000, "give the largest demo app `N` followers (the others have fewer)")
	seed := fs.Int64("seed", 1, "generate the world from seed `S`; the same seed gives the same world")
	serve := fs.Bool("serve", false, "serve the simulator without the TUI, for trying every other command: prints config=PATH and the export lines it needs")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *followers < 1 || *followers > maxDemoFollowers {
		return usagef("demo", "--followers %d is out of range; use 1 to %d", *followers, maxDemoFollowers)
	}
	if *serve {
		return serveDemo(ctx, env, *seed, *followers)
	}
	if err := needTerminal(env, "wxscope demo"); err != nil {
		return err
	}
	d, err := startDemo(*seed, *followers, demoLatency)
	if err != nil {
		return err
	}
	defer d.close()
	t, err := newTUI(env, d.cfg, tuiOptions{httpClient: d.server.Client(), syncOnStart: true,
		clipboard: ui.DetectLocalClipboard(env.Getenv, exec.LookPath)})
	if err != nil {
		return err
	}
	return t.run(ctx, env)
}

// demo is the simulator and the temporary cache the demo runs on.
type demo struct {
	server *wechattest.Server
	dir    string
	cfg    *config.Config
}

// startDemo starts a simulator of DemoWorld(seed, followers) and describes
// it as a configuration would: its apps with their secrets, api_base at the
// simulator, the cache in a new temporary folder. The TUI is then wired
// exactly as for a real configuration.
func startDemo(seed int64, followers int, latency time.Duration) (*demo, error) {
	dir, err := os.MkdirTemp("", "wxscope-demo-")
	if err != nil {
		return nil, fmt.Errorf("create the demo's temporary cache folder: %w", err)
	}
	spec := wechattest.DemoSpec(seed, followers)
	spec.Today = time.Now() // follow dates lead up to today, so the charts look current
	for i := range spec.Apps {
		if spec.Apps[i].Name == "shop" {
			// A few of shop's followers carry another one's unionid: the
			// doctor's conflict finding, which support should know.
			spec.Apps[i].Conflicts = min(max(spec.Apps[i].Followers/4000, 2), spec.Apps[i].Followers/2)
		}
	}
	world := wechattest.NewWorld(spec)
	srv := wechattest.NewServer(world)
	srv.SetLatency(latency)
	cfg := &config.Config{
		File:        "(the demo's configuration)",
		Cache:       filepath.Join(dir, "wxscope.db"),
		APIBase:     srv.URL,
		Concurrency: config.DefaultConcurrency,
		MaxAge:      config.DefaultMaxAge,
	}
	for _, a := range world.Apps() {
		cfg.Apps = append(cfg.Apps, config.App{
			Name:      a.Name,
			AppID:     a.AppID,
			Kind:      config.KindOfficial,
			Token:     config.TokenStable,
			SecretEnv: "WXSCOPE_DEMO_" + strings.ToUpper(a.Name),
			Secret:    config.NewSecret(a.Secret),
		})
	}
	// The mini program and the app have no API: the world writes their
	// login records as the company's backend would export them.
	for _, im := range world.Imports() {
		path := filepath.Join(dir, im.Name+"-users."+im.Format)
		if err := writeDemoImport(world, im.Name, path); err != nil {
			srv.Close()
			os.RemoveAll(dir)
			return nil, err
		}
		cfg.Apps = append(cfg.Apps, config.App{Name: im.Name, AppID: im.AppID, Kind: config.Kind(im.Kind), Import: path})
	}
	if err := seedDemoCache(cfg.Cache, world, time.Now()); err != nil {
		srv.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return &demo{server: srv, dir: dir, cfg: cfg}, nil
}

// seedDemoCache fills the demo's new cache as an earlier sync would have
// left it, so that the first sync shows what the product is for, not only
// the happy path:
//   - every former follower's profile as that sync cached it, a week ago:
//     the first complete listing misses them and marks them unfollowed, so
//     u in the Followers view has someone to show;
//   - one in a hundred of news's followers cached before news was bound to
//     the open platform, without unionid, an hour ago (fresh, so the sync
//     keeps them): the no_unionid finding and the Links "no unionid" group.
//
// It is deterministic from the world, as the world is from its seed.
func seedDemoCache(path string, world *wechattest.World, now time.Time) error {
	store, err := cache.Open(path, cache.Options{})
	if err != nil {
		return err
	}
	profile := func(u wechattest.User, fetched time.Time) cache.Profile {
		return cache.Profile{OpenID: u.OpenID, UnionID: u.UnionID, Subscribed: u.Subscribe == 1,
			SubscribeTime: u.SubscribeTime, SubscribeScene: u.SubscribeScene, QRScene: u.QRScene,
			QRSceneStr: u.QRSceneStr, Remark: u.Remark, TagIDs: u.TagIDList, GroupID: u.GroupID,
			FetchedAt: fetched.Unix()}
	}
	for _, a := range world.Apps() {
		var ps []cache.Profile
		for _, o := range world.FormerFollowers(a.AppID) {
			if u, ok := world.FormerUser(a.AppID, o); ok {
				ps = append(ps, profile(u, now.AddDate(0, 0, -7)))
			}
		}
		if a.Name == "news" {
			for i, o := range world.Followers(a.AppID) {
				if u, ok := world.User(a.AppID, o); ok && i%100 == 0 {
					u.UnionID = ""
					ps = append(ps, profile(u, now.Add(-time.Hour)))
				}
			}
		}
		if err := store.PutProfiles(a.AppID, ps); err != nil {
			store.Close()
			return fmt.Errorf("prepare the demo's cache: %w", err)
		}
	}
	return store.Close()
}

// writeDemoImport writes the export of the world's imported app name to
// path.
func writeDemoImport(world *wechattest.World, name, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		err = world.WriteImport(name, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("write the demo's import %s: %w", path, err)
	}
	return nil
}

// close stops the simulator and removes the temporary cache.
func (d *demo) close() {
	d.server.Close()
	os.RemoveAll(d.dir)
}

// serveDemo is `wxscope demo --serve`: the simulator and its world without
// the TUI, so that sync, lookup, links, export and doctor can be tried with
// no credentials. It writes a config for the simulator beside a fresh cache,
// prints config=PATH and then one "export NAME=VALUE" line per secret the
// config reads (so the output is also a shell script: ". ./demo.env"), serves
// until interrupted, and removes what it made.
func serveDemo(ctx context.Context, env *Env, seed int64, followers int) error {
	d, err := startDemo(seed, followers, demoLatency)
	if err != nil {
		return err
	}
	defer d.close()
	path := filepath.Join(d.dir, "config.toml")
	if err := os.WriteFile(path, demoConfigTOML(d.cfg), 0o600); err != nil {
		return fmt.Errorf("write the demo's configuration %s: %w", path, err)
	}
	fmt.Fprintf(env.Stdout, "config=%s\n", path)
	for _, a := range d.cfg.Apps {
		if a.SecretEnv != "" {
			fmt.Fprintf(env.Stdout, "export %s=%s\n", a.SecretEnv, a.Secret.Reveal())
		}
	}
	fmt.Fprintf(env.Stderr, "wxscope: the demo API serves at %s with a fresh cache in %s; stop it with Ctrl-C (that removes both)\n", d.server.URL, d.dir)
	<-ctx.Done()
	return nil
}

// demoConfigTOML writes cfg as the config file a user would write for it.
// Strings are TOML basic strings: strconv.Quote's escapes are TOML's for the
// ASCII paths, URLs and names the demo has.
func demoConfigTOML(cfg *config.Config) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# The configuration of `wxscope demo --serve`: its simulator and a fresh cache.\n")
	fmt.Fprintf(&b, "cache = %s\napi_base = %s\nconcurrency = %d\nmax_age = %s\n",
		strconv.Quote(cfg.Cache), strconv.Quote(cfg.APIBase), cfg.Concurrency, strconv.Quote(cfg.MaxAge.String()))
	for _, a := range cfg.Apps {
		fmt.Fprintf(&b, "\n[[app]]\nname = %s\nappid = %s\n", strconv.Quote(a.Name), strconv.Quote(a.AppID))
		if a.Imported() {
			fmt.Fprintf(&b, "kind = %s\n", strconv.Quote(string(a.Kind)))
			if a.Import != "" {
				fmt.Fprintf(&b, "import = %s\n", strconv.Quote(a.Import))
			} else {
				fmt.Fprintf(&b, "import_command = %s\n", strconv.Quote(a.ImportCommand))
			}
		}
		if a.SecretEnv != "" {
			fmt.Fprintf(&b, "secret_env = %s\ntoken = \"stable\"\n", strconv.Quote(a.SecretEnv))
		}
	}
	return []byte(b.String())
}
