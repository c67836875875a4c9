// Package config reads wxscope's TOML configuration: where the cache lives,
// which API to talk to, and the Official Accounts (apps) to look at. Every
// problem is found before anything touches the network and reported as an
// *Error naming the file, line and key.
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Defaults for the optional top-level keys.
const (
	DefaultAPIBase     = "https://api.weixin.qq.com"
	DefaultConcurrency = 4
	DefaultMaxAge      = 24 * time.Hour
	MaxConcurrency     = 32
)

// MaxApps is the most [[app]] tables a configuration holds: the link
// analysis (cache.MaxLinkedApps) relates at most that many apps, and an
// open platform binds at most 50 official accounts. A config with more is
// refused at its first extra app, file and line named, rather than by the
// first command that analyses links.
const MaxApps = 64

// maxFileSize bounds the config file read: a file of 60 000 apps is 6 MB,
// and --config /dev/zero must not fill the memory.
const maxFileSize = 32 << 20

// TokenKind says how an app gets its access token.
type TokenKind string

// The ways to get an access token.
const (
	// TokenStable uses cgi-bin/stable_token, which never invalidates the
	// token that production services hold. The default.
	TokenStable TokenKind = "stable"
	// TokenClassic uses cgi-bin/token; each call invalidates the previous
	// token after five minutes.
	TokenClassic TokenKind = "classic"
	// TokenFromCommand runs App.TokenCommand and reads the token from its
	// standard output.
	TokenFromCommand TokenKind = "command"
)

// Kind is what sort of app an [[app]] is. Official accounts list their
// followers through the API; the other kinds have no such API, and their
// members are read from the company's own login records (Import or
// ImportCommand).
type Kind string

// The kinds of app.
const (
	KindOfficial    Kind = "official"    // 公众号, the default
	KindMiniProgram Kind = "miniprogram" // 小程序
	KindMobile      Kind = "mobile"      // 移动应用
	KindWeb         Kind = "web"         // 网站应用
)

// Kinds lists every kind in the order the docs give them.
var Kinds = []Kind{KindOfficial, KindMiniProgram, KindMobile, KindWeb}

// Config is a loaded and checked configuration.
type Config struct {
	// File is the file it was read from, for messages.
	File string
	// Cache is the absolute path of the bbolt cache file.
	Cache string
	// APIBase is the API's base URL without a trailing slash.
	APIBase string
	// Concurrency is the number of batchget calls in flight per app.
	Concurrency int
	// MaxAge is how long a cached profile stays fresh.
	MaxAge time.Duration
	// Apps are in the order of the file; there is at least one.
	Apps []App
	// Serve is the [serve] section, for `wxscope serve` (see serve.go).
	Serve Serve
}

// App is one configured app: an official account, or a mini program,
// mobile app or website whose members are imported.
type App struct {
	Name  string
	AppID string
	// Kind is KindOfficial unless the file says otherwise.
	Kind Kind
	// Import is the absolute path of the file an imported app's members are
	// read from ("~" expanded, a relative path taken from the config file's
	// folder); "" for an official account or an app with ImportCommand.
	Import string
	// ImportCommand is run by the system's shell; its standard output is the
	// import. "" for an official account or an app with Import.
	ImportCommand string
	// Token is TokenStable or TokenClassic for an app with SecretEnv, and
	// TokenFromCommand for an app with TokenCommand.
	Token TokenKind
	// SecretEnv names the environment variable holding the AppSecret.
	SecretEnv string
	// Secret is the AppSecret read from SecretEnv; zero for a command app,
	// and zero when the variable is unset and Options.Offline allowed it.
	Secret Secret
	// TokenCommand is run by a shell; its standard output is the token.
	TokenCommand string
	// Line is the line of the app's [[app]] header in File.
	Line int

	secretErr *Error
}

// Imported reports whether the app's members come from Import or
// ImportCommand rather than from the API: every kind but KindOfficial.
func (a App) Imported() bool { return a.Kind != "" && a.Kind != KindOfficial }

// ImportSource names where an imported app's members are read from, as
// errors and rejections say it: the file's path, or "import_command of
// NAME". "" for an official account.
func (a App) ImportSource() string {
	switch {
	case a.Import != "":
		return a.Import
	case a.ImportCommand != "":
		return "import_command of " + a.Name
	}
	return ""
}

// SecretErr returns the error for an app whose secret variable is unset or
// empty, nil otherwise. With Options.Offline, Load succeeds without the
// secret; whatever then wants to call the API for this app should return
// this error first.
func (a App) SecretErr() error {
	if a.secretErr == nil {
		return nil
	}
	return a.secretErr
}

// App returns the app with the given name.
func (c *Config) App(name string) (App, bool) {
	for _, a := range c.Apps {
		if a.Name == name {
			return a, true
		}
	}
	return App{}, false
}

// AppNames returns the apps' names in the order of the file.
func (c *Config) AppNames() []string {
	names := make([]string, len(c.Apps))
	for i, a := range c.Apps {
		names[i] = a.Name
	}
	return names
}

// Options says where Load looks and how it reads the environment.
type Options struct {
	// Path is the --config flag; "" when it was not given.
	Path string
	// Getenv reads an environment variable; nil means os.Getenv.
	Getenv func(string) string
	// Offline lets an app's secret variable be unset: commands that only read
	// the cache need no secret. App.SecretErr still reports it.
	Offline bool

	// goos is the system whose folder rules apply; "" means runtime.GOOS.
	// Tests set it to check every system's rules on any system.
	goos string
}

func (o Options) getenv(key string) string {
	if o.Getenv == nil {
		return os.Getenv(key)
	}
	return o.Getenv(key)
}

// Where a config file path came from, for the message when it is missing.
const (
	FromFlag    = "--config"
	FromEnv     = "$WXSCOPE_CONFIG"
	FromDefault = "the default location"
)

// Locate returns the config file to read and where that choice came from:
// opts.Path, else $WXSCOPE_CONFIG, else $XDG_CONFIG_HOME/wxscope/config.toml,
// else the system's config folder: ~/.config/wxscope/config.toml on Linux,
// ~/Library/Application Support/wxscope/config.toml on macOS,
// %APPDATA%\wxscope\config.toml on Windows (os.UserConfigDir). It does not
// check that the file exists.
func Locate(opts Options) (file, from string, err error) {
	if opts.Path != "" {
		return opts.Path, FromFlag, nil
	}
	if p := opts.getenv("WXSCOPE_CONFIG"); p != "" {
		return p, FromEnv, nil
	}
	d := opts.dirs()
	dir, err := d.config()
	if err != nil {
		return "", "", &Error{File: d.defaultConfigName(), Err: err,
			Msg: fmt.Sprintf("cannot find the config file because %v; pass --config FILE or set $WXSCOPE_CONFIG", err)}
	}
	return filepath.Join(dir, "wxscope", "config.toml"), FromDefault, nil
}

// Load locates, reads, parses and checks the configuration.
func Load(opts Options) (*Config, error) {
	file, from, err := Locate(opts)
	if err != nil {
		return nil, err
	}
	data, err := readFile(file)
	if errors.Is(err, errTooLarge) {
		return nil, &Error{File: file, Err: err,
			Msg: fmt.Sprintf("the config file is larger than %d MiB, which no configuration is; check that --config names the right file", maxFileSize>>20)}
	}
	if errors.Is(err, fs.ErrNotExist) {
		where, how := "at this path, given with --config", "create it"
		switch from {
		case FromEnv:
			where = "at this path, given by $WXSCOPE_CONFIG"
		case FromDefault:
			where, how = "at the default location", "create it, or pass --config FILE or set $WXSCOPE_CONFIG"
		}
		return nil, &Error{File: file, Err: err, Hint: minimalExample,
			Msg: fmt.Sprintf("no config file %s; %s, or run \"wxscope demo\" to try wxscope without one", where, how)}
	}
	if err != nil {
		return nil, &Error{File: file, Err: err,
			Msg: fmt.Sprintf("cannot read the config file (%v); check its permissions", unwrapPathError(err))}
	}
	return Parse(file, data, opts)
}

var errTooLarge = errors.New("file too large")

// readFile reads file, at most maxFileSize bytes of it.
func readFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err == nil && len(data) > maxFileSize {
		err = errTooLarge
	}
	return data, err
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// The keys a config may hold, for the unknown-key message.
var (
	topKeys = []string{"cache", "api_base", "concurrency", "max_age", "app", "serve"}
	appKeys = []string{"name", "appid", "kind", "secret_env", "token_command", "token", "import", "import_command"}

	appIDPattern   = regexp.MustCompile(`^wx[0-9a-f]{16}$`)
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// A 32-hex-digit value where a variable name belongs is most likely the
	// AppSecret itself pasted into the file: never echo it.
	secretPattern = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
)

// parser holds the state of one Parse: the file, the key lines and the
// problems found so far.
type parser struct {
	file  string
	lines keyLines
	opts  Options
	errs  []*Error
}

func (p *parser) fail(path []string, elem int, format string, args ...any) {
	p.errs = append(p.errs, &Error{
		File: p.file,
		Line: p.lines.find(path, elem),
		Key:  strings.Join(path, "."),
		Msg:  fmt.Sprintf(format, args...),
	})
}

// first returns the problem nearest the top of the file, so that the
// message is the same on every run.
func (p *parser) first() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.Slice(p.errs, func(i, j int) bool {
		a, b := p.errs[i], p.errs[j]
		if (a.Line == 0) != (b.Line == 0) {
			return a.Line != 0 // errors with a line first
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Msg < b.Msg
	})
	return p.errs[0]
}

// Parse parses and checks a configuration read from file. opts.Path is not
// used.
func Parse(file string, data []byte, opts Options) (*Config, error) {
	src := string(data)
	var raw map[string]any
	if _, err := toml.Decode(src, &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: file, Line: pe.Position.Line, Key: pe.LastKey, Err: err,
				Msg: fmt.Sprintf("TOML syntax error: %s; fix this line", pe.Message)}
		}
		return nil, &Error{File: file, Err: err, Msg: fmt.Sprintf("cannot parse the TOML (%v); fix the file", err)}
	}
	p := &parser{file: file, lines: scanKeyLines(src), opts: opts}
	cfg := p.config(raw)
	if err := p.first(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (p *parser) config(raw map[string]any) *Config {
	cfg := &Config{
		File:        p.file,
		APIBase:     DefaultAPIBase,
		Concurrency: DefaultConcurrency,
		MaxAge:      DefaultMaxAge,
	}
	p.unknownKeys(raw, topKeys, nil, -1,
		"the top-level keys are cache, api_base, concurrency, max_age, [[app]] tables and [serve]")

	if s, ok := p.str(raw, "cache", nil, -1); ok {
		cfg.Cache = p.cachePath(s)
	} else if _, present := raw["cache"]; !present {
		cfg.Cache = p.defaultCache()
	}
	if s, ok := p.str(raw, "api_base", nil, -1); ok {
		cfg.APIBase = p.apiBase(s)
	}
	if v, present := raw["concurrency"]; present {
		n, isInt := v.(int64)
		switch {
		case !isInt:
			p.fail([]string{"concurrency"}, -1, "concurrency must be a whole number, not %s; write e.g. concurrency = 4", typeName(v))
		case n < 1 || n > MaxConcurrency:
			p.fail([]string{"concurrency"}, -1, "concurrency %d is out of range; use 1 to %d batchget calls in flight per app", n, MaxConcurrency)
		default:
			cfg.Concurrency = int(n)
		}
	}
	if s, ok := p.str(raw, "max_age", nil, -1); ok {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			p.fail([]string{"max_age"}, -1, "max_age %q is not a duration; write it like \"24h\" or \"90m\"", s)
		case d < 0:
			p.fail([]string{"max_age"}, -1, "max_age %q is negative; use \"0s\" to refetch every profile on each sync, or a positive duration like \"24h\"", s)
		default:
			cfg.MaxAge = d
		}
	}
	cfg.Apps = p.apps(raw["app"])
	cfg.Serve = p.serve(raw["serve"])
	return cfg
}

// unknownKeys reports every key of table that is not one of known.
func (p *parser) unknownKeys(table map[string]any, known []string, prefix []string, elem int, list string) {
	for key := range table {
		if slices.Contains(known, key) {
			continue
		}
		path := append(append([]string(nil), prefix...), key)
		where := ""
		if prefix != nil {
			where = fmt.Sprintf(" in the %s [[app]]", ordinal(elem+1))
		}
		switch {
		case prefix != nil && (key == "secret" || key == "appsecret" || key == "app_secret"):
			p.fail(path, elem, "unknown key %q%s: wxscope never reads a secret from the file; put it in an environment variable and name that variable with secret_env", key, where)
		default:
			hint := ""
			if s := Closest(key, known); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.fail(path, elem, "unknown key %q%s%s; %s", key, where, hint, list)
		}
	}
}

// str returns table[key] when it is a string; a value of another type is a
// problem.
func (p *parser) str(table map[string]any, key string, prefix []string, elem int) (string, bool) {
	v, present := table[key]
	if !present {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		path := append(append([]string(nil), prefix...), key)
		p.fail(path, elem, "%s must be a string in quotes, not %s", key, typeName(v))
		return "", false
	}
	return s, true
}

func (p *parser) cachePath(s string) string {
	if strings.TrimSpace(s) == "" {
		p.fail([]string{"cache"}, -1, "cache is empty; remove the line to use the default, or give the path of the cache file")
		return ""
	}
	return p.filePath(s, []string{"cache"}, -1)
}

// filePath expands ~ in the path s of key path (in the elem-th [[app]], or
// -1) and makes it absolute: a relative path is relative to the config
// file, not to wherever the command happens to run.
func (p *parser) filePath(s string, path []string, elem int) string {
	key := path[len(path)-1]
	d := p.opts.dirs()
	if s == "~" || strings.HasPrefix(s, "~/") || (d.goos == "windows" && strings.HasPrefix(s, `~\`)) {
		home, err := d.home()
		if err != nil {
			p.fail(path, elem, "cannot expand ~ because %v; give an absolute path", err)
			return ""
		}
		s = filepath.Join(home, s[1:])
	} else if strings.HasPrefix(s, "~") {
		p.fail(path, elem, "%s %q uses ~user, which wxscope does not expand; write the absolute path", key, s)
		return ""
	}
	if !filepath.IsAbs(s) {
		dir, err := filepath.Abs(filepath.Dir(p.file))
		if err != nil {
			p.fail(path, elem, "%s %q is relative and the config file's directory is unknown (%v); give an absolute path", key, s, err)
			return ""
		}
		s = filepath.Join(dir, s)
	}
	return filepath.Clean(s)
}

func (p *parser) defaultCache() string {
	dir, err := p.opts.dirs().cache()
	if err != nil {
		p.fail([]string{"cache"}, -1, "cannot find a place for the cache (%v); set cache = \"/path/to/wxscope.db\"", err)
		return ""
	}
	return filepath.Join(dir, "wxscope", "wxscope.db")
}

func (p *parser) apiBase(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		p.fail([]string{"api_base"}, -1, "api_base %q is not an absolute http(s) URL without query or credentials; write e.g. %q", s, DefaultAPIBase)
		return ""
	}
	return strings.TrimRight(s, "/")
}

func (p *parser) apps(v any) []App {
	var tables []map[string]any
	switch t := v.(type) {
	case nil:
		p.errs = append(p.errs, &Error{File: p.file, Key: "app",
			Msg: "no [[app]] tables; add one per Official Account with name, appid and secret_env or token_command"})
		return nil
	case []map[string]any:
		tables = t
	case []any:
		for _, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				p.fail([]string{"app"}, -1, "app must be a list of tables; write each app as an [[app]] table")
				return nil
			}
			tables = append(tables, m)
		}
	case map[string]any:
		p.fail([]string{"app"}, -1, "app is a single table; write [[app]] with double brackets, once per app")
		return nil
	default:
		p.fail([]string{"app"}, -1, "app must be a list of [[app]] tables, not %s", typeName(v))
		return nil
	}
	if len(tables) == 0 {
		p.fail([]string{"app"}, -1, "app is an empty list; add an [[app]] table per Official Account")
		return nil
	}

	if len(tables) > MaxApps {
		p.fail([]string{"app"}, MaxApps, "the %s [[app]] is one too many: wxscope relates at most %d apps (an open platform binds at most 50 official accounts); keep the apps to link in this file and the others in a config of their own", ordinal(MaxApps+1), MaxApps)
		tables = tables[:MaxApps]
	}
	apps := make([]App, 0, len(tables))
	names := map[string]int{} // name → index of the first app with it
	appids := map[string]int{}
	for i, t := range tables {
		a := p.app(t, i)
		if a.Name != "" {
			if j, dup := names[a.Name]; dup {
				p.fail([]string{"app", "name"}, i, "app name %q is used twice (first at line %d); give each app its own name", a.Name, apps[j].Line)
			} else {
				names[a.Name] = i
			}
		}
		if a.AppID != "" {
			if j, dup := appids[a.AppID]; dup {
				p.fail([]string{"app", "appid"}, i, "appid %s is used twice (first by app %q at line %d); list each app once", a.AppID, apps[j].Name, apps[j].Line)
			} else {
				appids[a.AppID] = i
			}
		}
		apps = append(apps, a)
	}
	return apps
}

func (p *parser) app(t map[string]any, i int) App {
	prefix := []string{"app"}
	a := App{Line: p.lines.find(prefix, i)}
	p.unknownKeys(t, appKeys, prefix, i,
		"the keys of an [[app]] are name, appid, kind, secret_env, token_command, token, import and import_command")
	nth := ordinal(i + 1)

	if s, ok := p.str(t, "name", prefix, i); ok {
		if err := checkName(s); err != "" {
			p.fail([]string{"app", "name"}, i, "app name %q %s; use letters, digits, '-', '_' or '.', up to 32 characters", s, err)
		} else {
			a.Name = s
		}
	} else if _, present := t["name"]; !present {
		p.fail(prefix, i, "the %s [[app]] has no name; add name = \"...\", the short label used in the UI and in output", nth)
	}
	label := a.Name
	if label == "" {
		label = "#" + fmt.Sprint(i+1)
	}

	if s, ok := p.str(t, "appid", prefix, i); ok {
		if !appIDPattern.MatchString(s) {
			p.fail([]string{"app", "appid"}, i, "appid %q of app %q is not an appid; an appid is \"wx\" and 16 lowercase hex digits, as shown in the account's settings", s, label)
		} else {
			a.AppID = s
		}
	} else if _, present := t["appid"]; !present {
		p.fail(prefix, i, "app %q has no appid; add appid = \"wx...\" from the account's settings", label)
	}

	a.Kind = KindOfficial
	if s, ok := p.str(t, "kind", prefix, i); ok {
		if !slices.Contains(Kinds, Kind(s)) {
			p.fail([]string{"app", "kind"}, i, "kind %q of app %q is not a kind of app; use \"official\" (the default), \"miniprogram\", \"mobile\" or \"web\"", s, label)
			return a
		}
		a.Kind = Kind(s)
	} else if _, present := t["kind"]; present {
		return a // the type error is reported
	}
	if a.Imported() {
		p.imported(&a, t, label, i)
		return a
	}
	for _, key := range []string{"import", "import_command"} {
		if _, present := t[key]; present {
			p.fail([]string{"app", key}, i, "app %q is an official account, whose followers come from the API, so it takes no %s; set kind = \"miniprogram\", \"mobile\" or \"web\" for an app whose members are imported", label, key)
		}
	}

	secretEnv, hasSecret := p.str(t, "secret_env", prefix, i)
	tokenCmd, hasCmd := p.str(t, "token_command", prefix, i)
	tokenKind, hasToken := p.str(t, "token", prefix, i)
	_, secretPresent := t["secret_env"]
	_, cmdPresent := t["token_command"]
	switch {
	case secretPresent && cmdPresent:
		p.fail([]string{"app", "token_command"}, i, "app %q has both secret_env and token_command; keep the one that gives its token", label)
	case !secretPresent && !cmdPresent:
		p.fail(prefix, i, "app %q has neither secret_env nor token_command; set secret_env to the environment variable holding its AppSecret, or token_command to a command printing its token", label)
	case hasCmd:
		if strings.TrimSpace(tokenCmd) == "" {
			p.fail([]string{"app", "token_command"}, i, "token_command of app %q is empty; give the command that prints its access token", label)
		}
		if _, present := t["token"]; present {
			p.fail([]string{"app", "token"}, i, "app %q sets token but takes its token from token_command; remove token", label)
		}
		a.TokenCommand = tokenCmd
		a.Token = TokenFromCommand
	case hasSecret:
		a.Token = TokenStable
		if hasToken {
			switch TokenKind(tokenKind) {
			case TokenStable, TokenClassic:
				a.Token = TokenKind(tokenKind)
			default:
				p.fail([]string{"app", "token"}, i, "token %q of app %q is neither \"stable\" nor \"classic\"; use \"stable\" unless you know you need cgi-bin/token", tokenKind, label)
			}
		}
		p.secret(&a, secretEnv, label, i)
	}
	return a
}

// imported checks the keys of an app of another kind than official: exactly
// one of import and import_command, and nothing about tokens.
func (p *parser) imported(a *App, t map[string]any, label string, i int) {
	for _, key := range []string{"secret_env", "token", "token_command"} {
		if _, present := t[key]; present {
			p.fail([]string{"app", key}, i, "app %q is a %s, which has no follower API, so it takes no %s; its members come from import or import_command: remove %s", label, KindName(a.Kind), key, key)
		}
	}
	file, hasFile := p.str(t, "import", []string{"app"}, i)
	cmd, hasCmd := p.str(t, "import_command", []string{"app"}, i)
	_, filePresent := t["import"]
	_, cmdPresent := t["import_command"]
	switch {
	case filePresent && cmdPresent:
		p.fail([]string{"app", "import_command"}, i, "app %q has both import and import_command; keep the one its members come from", label)
	case !filePresent && !cmdPresent:
		for key := range t {
			if !slices.Contains(appKeys, key) && Closest(key, []string{"import", "import_command"}) != "" {
				return // a misspelt import key: its unknown-key error says more
			}
		}
		p.fail([]string{"app"}, i, "app %q is a %s and has neither import nor import_command; set import to the file of its openids and unionids (CSV, TSV or JSON lines), or import_command to a command printing them", label, KindName(a.Kind))
	case hasFile:
		if strings.TrimSpace(file) == "" {
			p.fail([]string{"app", "import"}, i, "import of app %q is empty; give the path of the file its members are read from", label)
			return
		}
		a.Import = p.filePath(file, []string{"app", "import"}, i)
	case hasCmd:
		if strings.TrimSpace(cmd) == "" {
			p.fail([]string{"app", "import_command"}, i, "import_command of app %q is empty; give the command that prints its members", label)
			return
		}
		a.ImportCommand = cmd
	}
}

// KindName is how a kind reads in a sentence: "official account", "mini
// program", "mobile app", "website".
func KindName(k Kind) string {
	switch k {
	case KindMiniProgram:
		return "mini program"
	case KindMobile:
		return "mobile app"
	case KindWeb:
		return "website"
	}
	return "official account"
}

// secret checks the secret variable's name and reads it.
func (p *parser) secret(a *App, name, label string, i int) {
	path := []string{"app", "secret_env"}
	switch {
	case secretPattern.MatchString(name):
		p.fail(path, i, "secret_env of app %q looks like an AppSecret itself, not the name of an environment variable; put the secret in a variable and write its name here", label)
		return
	case !envNamePattern.MatchString(name):
		p.fail(path, i, "secret_env of app %q is not the name of an environment variable; write a name like \"WX_NEWS_SECRET\"", label)
		return
	}
	a.SecretEnv = name
	if v := strings.TrimSpace(p.opts.getenv(name)); v != "" {
		a.Secret = NewSecret(v)
		return
	}
	e := &Error{File: p.file, Line: p.lines.find(path, i), Key: strings.Join(path, "."),
		Msg: fmt.Sprintf("the environment variable %s for app %q is unset or empty; set it to the app's AppSecret", name, label)}
	a.secretErr = e
	if !p.opts.Offline {
		p.errs = append(p.errs, e)
	}
}

// checkName returns why an app name is unusable, or "".
func checkName(s string) string {
	if s == "" {
		return "is empty"
	}
	if utf8.RuneCountInString(s) > 32 {
		return "is longer than 32 characters"
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return fmt.Sprintf("contains %q", r)
		}
	}
	return ""
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "a number"
	case float64:
		return "a decimal number"
	case bool:
		return "true/false"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	default:
		return "a date or time"
	}
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

// Closest returns the known word within two edits of key, if any: the
// "did you mean" of config keys and command-line flags.
func Closest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 30 // not a typo of a short key; spare the work
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
