package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxscope/wechat/wechattest"
)

func TestZZManual(t *testing.T) {
	if os.Getenv("ZZMANUAL") == "" {
		t.Skip()
	}
	lin, _ := os.ReadFile("/tmp/wxserve-manual/lin.pub")
	wu, _ := os.ReadFile("/tmp/wxserve-manual/wu.pub")
	extra := fmt.Sprintf("[serve]\nlisten = \"127.0.0.1:2222\"\nidle_timeout = \"2m\"\n[[serve.user]]\nname = \"lin\"\nrole = \"support\"\nkeys = [%q]\n[[serve.user]]\nname = \"wu\"\nrole = \"operator\"\nkeys = [%q]\n",
		strings.TrimSpace(string(lin)), strings.TrimSpace(string(wu)))
	s := newSimSetup(t, loadWorld(), "concurrency = 2\n"+extra, wechattest.WithPageSize(1000))
	s.mustSync(t, "--app", "news", "--app", "shop")
	s.srv.SetLatency(150 * time.Millisecond)
	vars := map[string]string{"HOME": "/tmp/wxserve-manual/home", "XDG_DATA_HOME": "/tmp/wxserve-manual/data", "XDG_STATE_HOME": "/tmp/wxserve-manual/state", "PATH": os.Getenv("PATH")}
	for k, v := range s.vars {
		vars[k] = v
	}
	log, _ := os.Create("/tmp/wxserve-manual/server.log")
	env := &Env{Stdin: strings.NewReader(""), Stdout: log, Stderr: log, Getenv: func(k string) string { return vars[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat("/tmp/wxserve-manual/stop"); err == nil {
				cancel()
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	cfg, err := env.loadConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/tmp/wxserve-manual/news-openid", []byte(s.world.Followers(s.app(t, "news").AppID)[5]), 0o644)
	_ = filepath.Join
	err = serveTeam(ctx, env, cfg, serveHooks{ready: func(a net.Addr) { fmt.Fprintln(log, "READY", a) }})
	fmt.Fprintln(log, "serveTeam returned", err)
}
