package imports

import (
	"bytes"
	"strconv"
	"time"
)

// chinaTime is the zone of a time written without one: the company's
// records are kept in Beijing time.
var chinaTime = time.FixedZone("CST", 8*60*60)

// maxUnix is 9999-12-31T23:59:59Z: a larger number of "seconds" is almost
// always milliseconds, and is refused rather than read as the far future.
const maxUnix = 253402300799

// Layouts of times with a zone, and without one (then China time). A
// fractional second after the seconds is accepted by every one of them.
var (
	zonedLayouts = []string{time.RFC3339, "2006-01-02 15:04:05Z07:00"}
	localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}
)

// parseTime reads a time of the source as unix seconds: a number of
// seconds (a fraction is dropped), RFC 3339, or a date and time without a
// zone as mysql prints a DATETIME. Empty, and mysql's zero date, are 0
// (unknown).
func parseTime(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	if secs, ok := parseSeconds(b); ok {
		return secs, secs <= maxUnix
	}
	if len(b) < len("2006-01-02") || b[4] != '-' {
		return 0, false
	}
	if bytes.HasPrefix(b, []byte("0000-00-00")) {
		return 0, true
	}
	s := string(b)
	layouts := localLayouts
	if hasZone(b) {
		layouts = zonedLayouts
	}
	for _, layout := range layouts {
		if t, err := time.ParseInLocation(layout, s, chinaTime); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}

// hasZone reports whether a date and time ends in a zone: Z, or +hh:mm or
// -hh:mm after the time of day.
func hasZone(b []byte) bool {
	if len(b) <= len("2006-01-02T15:04:05") {
		return false
	}
	tail := b[len("2006-01-02T15:04:05"):]
	return bytes.ContainsAny(tail, "Z+-")
}

// parseSeconds reads digits with an optional fraction, or a JSON number in
// exponent form.
func parseSeconds(b []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if n <= maxUnix {
			n = n*10 + int64(b[i]-'0')
		}
	}
	switch {
	case i == 0:
		return 0, false
	case i == len(b):
		return n, true
	case b[i] == '.' && i+1 < len(b) && allDigits(b[i+1:]):
		return n, true
	case b[i] == 'e' || b[i] == 'E' || b[i] == '.':
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return 0, false
		}
		return int64(min(f, maxUnix+1)), true
	}
	return 0, false
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
