package config

import (
	"errors"
	"strings"
	"testing"
)

const importedApps = `
[[app]]
name = "news"
appid = "wx1111111111111111"
secret_env = "WX_NEWS_SECRET"

[[app]]
name   = "mall"
kind   = "miniprogram"
appid  = "wx3333333333333333"
import = "~/exports/mall-users.csv"

[[app]]
name = "app"
kind = "mobile"
appid = "wx4444444444444444"
import_command = "mysql -B -e 'select openid, unionid from wx_user' app"

[[app]]
name = "site"
kind = "web"
appid = "wx5555555555555555"
import = "exports/site.jsonl"
`

func TestImportedAppsLoad(t *testing.T) {
	cfg, err := parse(t, importedApps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name          string
		kind          Kind
		file, command string
		source        string
	}{
		{"news", KindOfficial, "", "", ""},
		{"mall", KindMiniProgram, "/home/op/exports/mall-users.csv", "", "/home/op/exports/mall-users.csv"},
		{"app", KindMobile, "", "mysql -B -e 'select openid, unionid from wx_user' app", "import_command of app"},
		// Relative to the config file's folder, like the cache.
		{"site", KindWeb, "/etc/wx/exports/site.jsonl", "", "/etc/wx/exports/site.jsonl"},
	}
	for i, w := range want {
		a := cfg.Apps[i]
		if a.Name != w.name || a.Kind != w.kind || a.Import != w.file || a.ImportCommand != w.command || a.ImportSource() != w.source {
			t.Errorf("app %d = %+v, want %+v", i, a, w)
		}
		if a.Imported() != (w.kind != KindOfficial) {
			t.Errorf("%s: Imported() = %t", a.Name, a.Imported())
		}
		if a.Imported() && (a.Token != "" || a.SecretErr() != nil) {
			t.Errorf("%s: an imported app has token %q, secret error %v", a.Name, a.Token, a.SecretErr())
		}
	}
	if news := cfg.Apps[0]; news.Kind != KindOfficial || news.Token != TokenStable {
		t.Errorf("news = %+v", news)
	}
}

// Every wrong combination of kind, import and token keys is a config error
// naming the file, the line and the key, and saying what to change.
func TestImportConfigErrorsNameFileLineAndKey(t *testing.T) {
	mall := func(extra string) string {
		return "[[app]]\nname = \"mall\"\nkind = \"miniprogram\"\nappid = \"wx3333333333333333\"\n" + extra
	}
	news := func(extra string) string {
		return "[[app]]\nname = \"news\"\nappid = \"wx1111111111111111\"\nsecret_env = \"WX_NEWS_SECRET\"\n" + extra
	}
	tests := []struct {
		name string
		src  string
		line int
		key  string
		want string
	}{
		{"unknown kind", "[[app]]\nname = \"mall\"\nkind = \"mini\"\nappid = \"wx3333333333333333\"\nimport = \"m.csv\"\n", 3, "app.kind", `kind "mini" of app "mall" is not a kind of app`},
		{"kind not a string", "[[app]]\nname = \"mall\"\nkind = 2\nappid = \"wx3333333333333333\"\nimport = \"m.csv\"\n", 3, "app.kind", "must be a string"},
		{"import on an official account", news("import = \"n.csv\"\n"), 5, "app.import", `app "news" is an official account, whose followers come from the API, so it takes no import`},
		{"import_command on an explicit official account", "[[app]]\nname = \"news\"\nkind = \"official\"\nappid = \"wx1111111111111111\"\nsecret_env = \"WX_NEWS_SECRET\"\nimport_command = \"cat n\"\n", 6, "app.import_command", "takes no import_command"},
		{"secret_env on a mini program", mall("import = \"m.csv\"\nsecret_env = \"WX_NEWS_SECRET\"\n"), 6, "app.secret_env", `app "mall" is a mini program, which has no follower API, so it takes no secret_env`},
		{"token on a website", "[[app]]\nname = \"site\"\nkind = \"web\"\nappid = \"wx5555555555555555\"\nimport = \"s.csv\"\ntoken = \"stable\"\n", 6, "app.token", `app "site" is a website`},
		{"token_command on a mobile app", "[[app]]\nname = \"app\"\nkind = \"mobile\"\nappid = \"wx4444444444444444\"\ntoken_command = \"t\"\nimport = \"a.csv\"\n", 5, "app.token_command", `app "app" is a mobile app`},
		{"both import and import_command", mall("import = \"m.csv\"\nimport_command = \"cat m.csv\"\n"), 6, "app.import_command", "both import and import_command"},
		{"neither import nor import_command", mall(""), 1, "app", `app "mall" is a mini program and has neither import nor import_command`},
		{"empty import", mall("import = \"  \"\n"), 5, "app.import", "import of app \"mall\" is empty"},
		{"empty import_command", mall("import_command = \"\"\n"), 5, "app.import_command", "import_command of app \"mall\" is empty"},
		{"import of another user's home", mall("import = \"~bob/m.csv\"\n"), 5, "app.import", "import \"~bob/m.csv\" uses ~user"},
		{"import not a string", mall("import = [\"m.csv\"]\n"), 5, "app.import", "must be a string"},
		{"typo of import_command", mall("import_comand = \"cat m\"\n"), 5, "app.import_comand", `did you mean "import_command"`},
		{"second app's problem", news("") + "\n" + mall("import = \"m.csv\"\ntoken = \"classic\"\n"), 11, "app.token", `app "mall" is a mini program`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.src, Options{})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if ce.File != "/etc/wx/config.toml" || ce.Line != tt.line || ce.Key != tt.key {
				t.Errorf("at %s:%d key %q, want line %d key %q\n%v", ce.File, ce.Line, ce.Key, tt.line, tt.key, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("message %q lacks %q", err.Error(), tt.want)
			}
		})
	}
}
