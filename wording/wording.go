// Package wording writes the sentences wxscope shows people about the
// cache: a doctor finding's evidence and action, why a person has no
// openid in an app, the guess of an unknown openid's app, and the counts and
// ages in them. The cache returns facts (cache.Finding, cache.PersonApp,
// cache.Guess); this package puts them into words, for the command line or
// for the TUI: where the command line says "run wxscope sync --app news",
// the TUI says which key does it.
//
// It returns plain text: strings that came from outside (an app's name, a
// sync's last error) are in it as they are, and the TUI sanitises the whole
// sentence before it draws it.
package wording

import (
	"fmt"
	"strings"
	"time"
)

// Audience is who reads a sentence, which decides how an action is said.
type Audience int

const (
	// CLI is a person at a shell: an action names the command to run.
	CLI Audience = iota
	// TUI is a person in wxscope's TUI: an action names the key to press.
	TUI
)

// syncApp is how the reader starts a sync of app, as a verb phrase: "run
// wxscope sync --app news", or "press s on news's row" (the home view's
// key, which syncs the app under the cursor).
func (a Audience) syncApp(app string) string {
	if a == TUI {
		return "press s on " + app + "'s row"
	}
	return "run wxscope sync --app " + app
}

// Plural counts n of a word for a sentence: "1 finding", "2 013 findings".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return FormatCount(int64(n)) + " " + word + "s"
}

// FormatCount writes n with thin groups of three digits ("20 000"), as the
// screens do.
func FormatCount(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FormatAge writes a duration the way a person says it: "40 s", "3 min",
// "26 h", "9 days".
func FormatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 72*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
}

// JoinAnd lists names as a sentence does: "news", "news and shop", "news,
// shop and mall".
func JoinAnd(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	default:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
}

// Kind is how an app's kind reads in a sentence: "official account", "mini
// program", "mobile app", "website".
func Kind(kind string) string {
	switch kind {
	case "miniprogram":
		return "mini program"
	case "mobile":
		return "mobile app"
	case "web":
		return "website"
	}
	return "official account"
}

// imported reports whether an app of kind has its members imported rather
// than listed by the API.
func imported(kind string) bool { return kind != "" && kind != "official" }

// members is what an app of kind calls the people in it: an official
// account's followers, an imported app's members.
func members(kind string) string {
	if imported(kind) {
		return "members"
	}
	return "followers"
}

// console is where an app of kind is bound, in the open platform's
// console (open.weixin.qq.com).
func console(kind string) string {
	page := "公众号"
	switch kind {
	case "miniprogram":
		page = "小程序"
	case "mobile":
		page = "移动应用"
	case "web":
		page = "网站应用"
	}
	return "开放平台 open.weixin.qq.com → 管理中心 → " + page
}
