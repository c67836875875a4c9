package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"wxscope/config"
	"wxscope/sanitize"
)

// Env is what every command gets from the outside world, so that tests
// can run commands in-process with buffers and a fake environment.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// StdoutTTY says whether stdout is a terminal: sync draws a progress bar
	// then and plain progress lines otherwise.
	StdoutTTY bool
	// StderrTTY says whether stderr is a terminal: resolve draws its
	// progress line there then.
	StderrTTY bool

	// served is set for a command that `wxscope serve` runs for an SSH
	// session: the server's configuration, store and syncs (serve.go).
	served *serveHost
	// termWidth is the width of a terminal that is no file (an SSH
	// session's window); nil asks stdout.
	termWidth func() int
}

// command is one subcommand. The TUI is the command with the empty name.
type command struct {
	name    string
	args    string // what follows the name in the usage line
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands is the command line's contract (design.md, "Command line").
var commands = []command{
	{"", "[--readonly] [--config FILE]", "the TUI over the configured apps and cache; works offline from the cache", runTUI},
	{"demo", "[--followers N] [--seed S] [--serve]", "the TUI on the built-in API simulator, a generated world and a fresh temporary cache", runDemo},
	{"sync", "[--app NAME]... [--config FILE]", "fetch the followers of all (or the named) apps into the cache; resumable; 0 only if all finish", runSync},
	{"resolve", "--app NAME [FILE] [--format csv|jsonl] [--offline] [--config FILE]", "the unionid and follow status of each openid of old records, in input order (cache first, then the API)", runResolve},
	{"lookup", "ID [--json] [--live] [--config FILE]", "an openid or unionid: its person across all apps (cache first; --live asks the API)", runLookup},
	{"links", "[--missing APP] [--format table|csv|jsonl] [--config FILE]", "the unionid groups across apps", runLinks},
	{"export", "[--app NAME]... [--format csv|jsonl|parquet] [--out PATH] [--config FILE]", "the cached followers", runExport},
	{"growth", "[--app NAME]... [--days N] [--format table|csv|jsonl] [--config FILE]", "the official daily follower figures of each official account (datacube), one row per app and day", runGrowth},
	{"doctor", "[--json] [--config FILE]", "findings about bindings and the cache, with the evidence and what to do", runDoctor},
	{"serve", "[--config FILE]", "serve the TUI and the read commands to the team over SSH ([serve] in the config)", runServe},
	{"salvage", "[--config FILE]", "copy what a damaged cache still holds into a fresh one, keeping the damaged file beside it", runSalvage},
	{"help", "[COMMAND]", "this help, or a command's flags", nil},
	{"version", "", "the version of wxscope", nil},
}

func findCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// commandNames lists the subcommands for a usage hint.
func commandNames() string {
	var names []string
	for _, c := range commands {
		if c.name != "" {
			names = append(names, c.name)
		}
	}
	return strings.Join(names, ", ")
}

func usageLine(c command) string {
	return strings.TrimRight(strings.Join(strings.Fields("wxscope "+c.name+" "+c.args), " "), " ")
}

// usageError is a command line that cannot be run as typed; it exits 2 and
// prints the command's usage line.
type usageError struct {
	cmd string // "" for the top level
	msg string
}

func (e *usageError) Error() string {
	return e.msg + "; run \"" + strings.TrimSpace("wxscope help "+e.cmd) + "\" for usage"
}

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// helpRequest is returned by a command's flag parsing for -h or --help:
// the help goes to stdout and the exit status is 0.
type helpRequest struct {
	cmd string
	fs  *flag.FlagSet
}

func (h *helpRequest) Error() string { return "help requested" }

// parseArgs parses flags wherever they stand among the positional
// arguments ("lookup ID --json" as well as "lookup --json ID"), which the
// flag package alone does not: it stops at the first non-flag. After "--"
// everything is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{cmd: fs.Name(), fs: fs}
			}
			return nil, usagef(fs.Name(), "%s", flagError(fs, err))
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// parseNoArgs parses the flags of a command that takes no arguments.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	return noArgs(fs.Name(), rest)
}

// noArgs is a usage error unless args is empty.
func noArgs(cmd string, args []string) error {
	if len(args) > 0 {
		return usagef(cmd, "%s takes no arguments, but got %q", cmd, args[0])
	}
	return nil
}

// oneOf checks a --format value.
func oneOf(cmd, flagName, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return usagef(cmd, "--%s %q is not one of %s", flagName, value, strings.Join(allowed, ", "))
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module and VCS information Go records.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev + modified + ")"
	}
	return v
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "wxscope browses the followers of WeChat Official Accounts and links them by unionid.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %s\n      %s\n", usageLine(c), c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command takes --config FILE; without it wxscope reads $WXSCOPE_CONFIG, else")
	fmt.Fprintln(w, "$XDG_CONFIG_HOME/wxscope/config.toml (~/.config/wxscope/config.toml).")
	fmt.Fprintln(w, "Flags may come before or after arguments. \"wxscope help COMMAND\" shows a command's flags.")
	fmt.Fprintln(w, "Exit status: 0 success, 1 failure, 2 bad usage or configuration.")
}

func printCommandHelp(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s.\n", usageLine(c), upperFirst(c.summary))
	if fs == nil {
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%s%s\n      %s%s\n", f.Name, name, usage, def)
	})
}

func upperFirst(s string) string {
	for i, r := range s {
		return string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}

// plain makes an error message safe for a terminal: an errmsg from the API
// or a name from a file must not carry escape sequences to stderr. Each line
// crosses sanitize.Text, the one sanitiser of outside strings; the newlines
// between them stay (several apps' failures are one line each).
func plain(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = sanitize.Text(l)
	}
	return strings.Join(lines, "\n")
}

// flagError says in wxscope's words, with the --flag spelling the help
// uses, what the flag package found wrong ("flag provided but not defined:
// -bogus" becomes "sync has no flag --bogus").
func flagError(fs *flag.FlagSet, err error) string {
	cmd := strings.TrimSpace("wxscope " + fs.Name())
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		var known []string
		fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
		hint := ""
		if s := config.Closest(name, known); s != "" {
			hint = fmt.Sprintf(" (did you mean --%s?)", s)
		}
		return fmt.Sprintf("%s has no flag --%s%s", cmd, name, hint)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		name = strings.TrimLeft(name, "-")
		what := "a value"
		if f := fs.Lookup(name); f != nil {
			if n, _ := flag.UnquoteUsage(f); n != "" {
				what = "a value (" + n + ")"
			}
		}
		return fmt.Sprintf("--%s needs %s", name, what)
	}
	var value, name string
	if _, e := fmt.Sscanf(msg, "invalid boolean value %q for -%s", &value, &name); e == nil {
		return fmt.Sprintf("--%s is true or false, not %q", strings.TrimSuffix(name, ":"), value)
	}
	if _, e := fmt.Sscanf(msg, "invalid value %q for flag -%s", &value, &name); e == nil {
		name = strings.TrimSuffix(name, ":")
		want := "a valid value"
		if f := fs.Lookup(name); f != nil {
			if g, ok := f.Value.(flag.Getter); ok {
				switch g.Get().(type) {
				case int, int64, uint, uint64:
					want = "a whole number"
				case float64:
					want = "a number"
				case time.Duration:
					want = "a duration such as 30s or 5m"
				}
			}
		}
		return fmt.Sprintf("--%s takes %s, not %q", name, want, value)
	}
	if arg, ok := strings.CutPrefix(msg, "bad flag syntax: "); ok {
		return fmt.Sprintf("%q is not a flag wxscope can read; flags are written --name or --name=value", arg)
	}
	return cmd + ": " + msg
}
