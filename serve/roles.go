package serve

import (
	"fmt"
	"slices"
	"strings"

	"wxscope/config"
)

// What each role may run over SSH. Support answers from the cache; an
// operator may also sync, which spends the apps' API quota. Anything else
// (demo, serve, a typo) is refused whatever the role.
var (
	supportCommands  = []string{"lookup", "links", "export", "doctor", "resolve", "help", "version"}
	operatorCommands = append(slices.Clone(supportCommands), "sync")
)

// Plan is what a session's command line asks for, once permitted.
type Plan struct {
	// TUI is set for the TUI (no command, or only --readonly); ReadOnly
	// then says whether it may sync.
	TUI      bool
	ReadOnly bool
	// Command is the subcommand of a headless command line, and Args the
	// command line to run: the session's, with --offline added to a support
	// user's resolve (support answers from the cache, never the API).
	Command string
	Args    []string
}

// Refusal is a command line the user's role may not run over SSH: the
// session exits 2 with Sentence.
type Refusal struct{ Sentence string }

func (r *Refusal) Error() string { return r.Sentence }

// Permit decides whether u may run args (the session's command line, split
// as a shell would), and what it asks for.
func Permit(u config.ServeUser, args []string) (Plan, error) {
	for _, a := range args {
		if isFlag(a, "config") {
			return Plan{}, &Refusal{"over SSH every command uses the server's configuration; run it without --config"}
		}
	}
	if len(args) == 0 || (len(args) == 1 && isFlag(args[0], "readonly")) {
		return Plan{TUI: true, ReadOnly: u.Role != config.RoleOperator || len(args) == 1}, nil
	}
	name := args[0]
	switch {
	case isFlag(name, "h"), isFlag(name, "help"):
		name = "help"
	case isFlag(name, "version"):
		name = "version"
	case strings.HasPrefix(name, "-"):
		return Plan{}, &Refusal{fmt.Sprintf("%s is no command; over SSH the TUI takes only --readonly, and a command goes first, as in lookup ID --json", quote(name))}
	}
	allowed := supportCommands
	if u.Role == config.RoleOperator {
		allowed = operatorCommands
	}
	switch {
	case !slices.Contains(operatorCommands, name):
		return Plan{}, &Refusal{fmt.Sprintf("%s is not a command wxscope serves over SSH; the commands are %s", quote(name), strings.Join(allowed, ", "))}
	case !slices.Contains(allowed, name):
		return Plan{}, &Refusal{fmt.Sprintf("%s has the %s role, which may not run %s; the commands for %s are %s, and an operator can run %s",
			u.Name, u.Role, name, u.Role, strings.Join(allowed, ", "), name)}
	case name == "lookup" && u.Role != config.RoleOperator && slices.ContainsFunc(args, func(a string) bool { return isFlag(a, "live") }):
		return Plan{}, &Refusal{fmt.Sprintf("%s has the %s role, which answers lookups from the cache; --live asks the API, which an operator can do", u.Name, u.Role)}
	}
	plan := Plan{Command: name, Args: slices.Clone(args)}
	if name == "resolve" && u.Role != config.RoleOperator {
		plan.Args = append(plan.Args, "--offline")
	}
	return plan, nil
}

// isFlag reports whether arg is the flag name, as the flag package reads
// it: -name or --name, alone or with =value.
func isFlag(arg, name string) bool {
	a := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	if a == arg {
		return false
	}
	return a == name || strings.HasPrefix(a, name+"=")
}

// quote quotes a word of the client's for a message, escaping whatever it
// holds: it may carry escape sequences.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}
