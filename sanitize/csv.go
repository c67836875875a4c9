package sanitize

import "strings"

// CSVCell defuses a text cell a spreadsheet would run as a formula (CSV
// injection): one starting with = + - @ TAB or CR gets a leading apostrophe,
// as OWASP advises. Both exports (`wxscope export` and the Followers view's
// e) write their text cells through it; numbers they write themselves need
// none.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
