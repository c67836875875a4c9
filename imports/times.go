package imports

import (
	"bytes"
	"strconv"
	"time"
)

// maxUnix is 9999-12-31T23:59:59Z: a larger number of "seconds" is almost
// always milliseconds, and is refused rather than read as the far future.
const maxUnix = 253402300799

// parseTime reads a time of the source as unix seconds: a number of
// seconds (a fraction is dropped), RFC 3339, or a date and time without a
// zone as mysql prints a DATETIME, or a date. Empty, and mysql's zero date,
// are 0 (unknown).
func parseTime(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	if secs, ok := parseSeconds(b); ok {
		return secs, secs <= maxUnix
	}
	if bytes.HasPrefix(b, []byte("0000-00-00")) && (len(b) == 10 || string(b[10:]) == " 00:00:00") {
		return 0, true
	}
	return parseDateTime(b)
}

// parseDateTime reads YYYY-MM-DD, optionally followed by 'T' or a space,
// hh:mm:ss, a fraction (dropped) and a zone: Z or ±hh:mm. A time without a
// zone is China time (+08:00): the company's records are kept in Beijing
// time. It reads what time.Parse reads with time.RFC3339 (with or without
// its zone, then in China time) or "2006-01-02", the same way, without
// allocating (FuzzParseTimeAgreesWithTimeParse).
func parseDateTime(b []byte) (int64, bool) {
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return 0, false
	}
	var hour, minute, sec int
	offset := 8 * 60 * 60 // China time, when no zone is given
	if len(b) > 10 {
		if len(b) < 19 || b[10] != 'T' && b[10] != ' ' || b[13] != ':' || b[16] != ':' {
			return 0, false
		}
		var ok4, ok5, ok6 bool
		hour, ok4 = num(b[11:13])
		minute, ok5 = num(b[14:16])
		sec, ok6 = num(b[17:19])
		if !ok4 || !ok5 || !ok6 || hour > 23 || minute > 59 || sec > 59 {
			return 0, false
		}
		i := 19
		if i < len(b) && b[i] == '.' {
			i++
			j := i
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				i++
			}
			if i == j || i-j > 9 {
				return 0, false
			}
		}
		switch zone := b[i:]; {
		case len(zone) == 0:
		case string(zone) == "Z":
			offset = 0
		case len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':':
			zh, ok7 := num(zone[1:3])
			zm, ok8 := num(zone[4:6])
			if !ok7 || !ok8 || zh > 23 || zm > 59 {
				return 0, false
			}
			offset = zh*3600 + zm*60
			if zone[0] == '-' {
				offset = -offset
			}
		default:
			return 0, false
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	return t.Unix() - int64(offset), true
}

// num reads a fixed number of digits.
func num(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
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
