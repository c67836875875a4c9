package config

import (
	"fmt"
	"strconv"
)

// Error is a problem with the configuration: a missing or unreadable file, a
// syntax error, an unknown key, a bad value, a missing secret variable. Its
// message names the file, the line and the key where they are known, and says
// what to do. Commands exit with status 2 on it.
type Error struct {
	File string // the config file, or where it was looked for
	Line int    // 1-based; 0 when no line applies
	Key  string // the dotted key, such as "app.secret_env"; "" when none applies
	Msg  string // one sentence: what is wrong and what to do
	// Hint is an optional longer help text, such as an example file, for a
	// command line to print after the message.
	Hint string
	Err  error // the underlying error, if any
}

// Error returns "FILE:LINE: KEY: MSG", leaving out the parts that are unknown.
func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// minimalExample is shown when no config file is found.
const minimalExample = `A minimal config file:

    [[app]]
    name       = "news"
    appid      = "wx1111111111111111"   # the Official Account's AppID
    secret_env = "WX_NEWS_SECRET"       # the environment variable holding its AppSecret

To try wxscope without any account, run: wxscope demo`
