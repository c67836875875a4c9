package wording

import (
	"errors"
	"regexp"
	"strings"
)

// Explainer is an error that words itself for each audience: a sync's
// failure (syncer.Failure) tells the command line to run `wxscope sync
// --app news` and the TUI to press s.
type Explainer interface {
	Explain(a Audience) string
}

// Error is err as the audience a reads it: the error's own sentence for a
// when it has one (an Explainer anywhere in its chain), else its text; for
// the TUI without the prefixes that say where in the code it failed (Bare).
// A leading "subject: " is cut, as often as it repeats, since the screen
// shows the subject beside the sentence ("news: news: cannot reach…" was
// the app's row naming its app twice). subject "" cuts nothing.
func Error(a Audience, subject string, err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var e Explainer
	if errors.As(err, &e) {
		s = e.Explain(a)
	} else if a == TUI {
		s = Bare(s)
	}
	if subject != "" {
		for {
			rest, ok := strings.CutPrefix(s, subject+": ")
			if !ok {
				break
			}
			s = rest
		}
	}
	return s
}

// machinePrefixes are the wrappers the sync engine and the API client put
// in front of an error for logs and for the command line: "sync of app
// news (wx22…): ", `list followers after "oAb…": `, "fetch 100 profiles: ",
// "wechat wx1234…: ". A person in the TUI, on the app's row, needs none.
var machinePrefixes = regexp.MustCompile(`^(sync of app .*?( stopped)?: |list followers after "[^"]*": |fetch \d+ profiles: |write profiles: |wechat wx[0-9A-Za-z]+: )`)

// interrupted is the engine's error for a sync stopped on purpose (x, q,
// a signal): "sync of app news interrupted (context canceled)".
var interrupted = regexp.MustCompile(`^sync of app .*? interrupted \(`)

// rid is the request id WeChat appends to an errmsg: it helps WeChat's
// support, not the person reading the sentence.
var rid = regexp.MustCompile(` rid: [0-9a-f-]+`)

// resumeTails are the command-line endings of the engine's stop errors;
// the TUI's rows say "s resumes" themselves.
var resumeTails = regexp.MustCompile(`; progress is saved, sync again( after [^;]+)? to resume$`)

// Bare strips an engine error's text down to what went wrong, for the TUI:
// the prefixes that say which layer failed and the command-line advice to
// "sync again". `sync of app news (wx22…): list followers after "": wechat wx22…:
// token_command failed: exit status 1` becomes "token_command failed: exit
// status 1".
func Bare(s string) string {
	for {
		loc := machinePrefixes.FindStringIndex(s)
		if loc == nil {
			break
		}
		s = s[loc[1]:]
	}
	if loc := interrupted.FindStringIndex(s); loc != nil {
		s = "interrupted (" + s[loc[1]:]
	}
	return rid.ReplaceAllString(resumeTails.ReplaceAllString(s, ""), "")
}

// SyncAgain is how the audience a starts app's sync again, as a verb
// phrase: "run `wxscope sync --app news`" on the command line, "press s" in
// the TUI (the home view's key on the app's row, where the sentence shows).
func SyncAgain(a Audience, app string) string {
	if a == TUI {
		return "press s"
	}
	return "run `wxscope sync --app " + app + "`"
}
