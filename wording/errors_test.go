package wording

import (
	"errors"
	"fmt"
	"testing"
)

// explained is an error with its own sentence per audience, as a sync's
// failure has.
type explained struct{ cli, tui string }

func (e explained) Error() string { return e.cli }

func (e explained) Explain(a Audience) string {
	if a == TUI {
		return e.tui
	}
	return e.cli
}

func TestErrorWordsAnErrorForItsAudienceAndNamesTheSubjectOnce(t *testing.T) {
	failure := fmt.Errorf("sync: %w", explained{cli: "news: cannot reach the API; run `wxscope sync --app news` again", tui: "cannot reach the API; press s again"})
	for _, tt := range []struct {
		name    string
		a       Audience
		subject string
		err     error
		want    string
	}{
		{"an explainer for the TUI", TUI, "news", failure, "cannot reach the API; press s again"},
		{"an explainer for the command line", CLI, "", failure, "news: cannot reach the API; run `wxscope sync --app news` again"},
		{"a repeated subject", TUI, "news", errors.New("news: news: the cache is busy"), "the cache is busy"},
		{"the engine's layers", TUI, "news", errors.New(`sync of app news (wx1111111111111111): list followers after "": wechat wx1111111111111111: token_command failed: exit status 1`), "token_command failed: exit status 1"},
		{"a stop's command-line tail", TUI, "", errors.New("sync of app news (wx11) stopped: cgi-bin/user/get: errcode 45009: reach max api daily quota limit rid: 6b0e96c5-dd21; progress is saved, sync again after 2025-06-02 00:00 to resume"), "cgi-bin/user/get: errcode 45009: reach max api daily quota limit"},
		{"an interruption", TUI, "", errors.New("sync of app news (wx11) interrupted (context canceled); progress is saved, sync again to resume"), "interrupted (context canceled)"},
		{"the command line keeps the layers", CLI, "", errors.New(`sync of app news: list followers after "": boom`), `sync of app news: list followers after "": boom`},
		{"no error", TUI, "news", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Error(tt.a, tt.subject, tt.err); got != tt.want {
				t.Errorf("Error = %q, want %q", got, tt.want)
			}
		})
	}
}
