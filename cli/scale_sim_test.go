package cli

import (
	"encoding/json"
	"io"
	"os"

	"wxscope/wechat/wechattest"
)

// scaleSpec is the world of n profiles.
func scaleSpec(n int) wechattest.WorldSpec {
	return wechattest.WorldSpec{Seed: 12, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: n * 8 / 10},
		{Name: "shop", Platform: "P1", Followers: n - n*8/10},
	}}
}

// scalePaths are the endpoints whose daily quota a scale world lifts.
var scalePaths = []string{"/cgi-bin/user/get", "/cgi-bin/user/info/batchget", "/cgi-bin/tags/members/getblacklist"}

// simulatorEnv makes this test binary serve a scale world instead of
// running tests (TestMain): its value is the number of profiles.
const simulatorEnv = "WXSCOPE_BENCH_SIMULATOR"

// simulatorInfo is what the simulator child prints on its first line.
type simulatorInfo struct {
	URL  string
	Apps []wechattest.AppInfo
}

// simulatorChild serves the world of n profiles (scaleWorld's) until its
// stdin closes, printing a simulatorInfo first.
func simulatorChild(n int) {
	w := wechattest.NewWorld(scaleSpec(n))
	srv := wechattest.NewServer(w)
	defer srv.Close()
	for _, path := range scalePaths {
		srv.SetDailyQuota("", path, -1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(simulatorInfo{URL: srv.URL, Apps: w.Apps()}); err != nil {
		os.Exit(1)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}
