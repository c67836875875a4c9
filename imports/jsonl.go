package imports

import (
	"bytes"
	"encoding/json"
	"strings"
)

// jsonRow holds the known keys of one JSON line. encoding/json matches keys
// case-insensitively, as the header of delimited text is matched.
type jsonRow struct {
	OpenID    rawValue `json:"openid"`
	UnionID   rawValue `json:"unionid"`
	FirstSeen rawValue `json:"first_seen"`
	LastSeen  rawValue `json:"last_seen"`
}

// rawValue keeps a value's JSON text without copying it: encoding/json
// hands UnmarshalJSON a slice of the line, which stays valid while the
// line is read.
type rawValue []byte

func (v *rawValue) UnmarshalJSON(b []byte) error {
	*v = b
	return nil
}

// jsonLines reads one JSON object a line; blank lines are skipped.
func (rd *reader) jsonLines() error {
	var scratch []byte
	var jr jsonRow // one for all lines: passed to encoding/json, it lives on the heap
	for {
		b, tooLong, ok := rd.lines.next()
		if !ok {
			return nil
		}
		line := rd.lines.n
		if tooLong {
			rd.reject(line, tooLongReason)
			continue
		}
		if isBlankLine(b) {
			continue
		}
		b = bytes.Trim(b, " \t\r") // JSON's blank space, less the "\n" already gone
		if b[0] != '{' {
			rd.reject(line, "the line is not a JSON object")
			continue
		}
		jr = jsonRow{}
		if !fastJSONRow(b, &jr) {
			jr = jsonRow{}
			if err := json.Unmarshal(b, &jr); err != nil {
				rd.reject(line, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
				continue
			}
		}
		scratch = scratch[:0]
		var f fields
		var bad string
		if f.openid, bad = jsonText(jr.OpenID, "openid", &scratch); bad == "" {
			if f.unionid, bad = jsonText(jr.UnionID, "unionid", &scratch); bad == "" {
				if f.first, bad = jsonTime(jr.FirstSeen, "first_seen", &scratch); bad == "" {
					f.last, bad = jsonTime(jr.LastSeen, "last_seen", &scratch)
				}
			}
		}
		if bad != "" {
			rd.reject(line, "%s", bad)
			continue
		}
		if err := rd.row(line, f); err != nil {
			return err
		}
	}
}

// jsonText is the text of a JSON string value, nil for null or absent.
func jsonText(v rawValue, key string, scratch *[]byte) ([]byte, string) {
	switch {
	case len(v) == 0 || string(v) == "null":
		return nil, ""
	case v[0] != '"':
		return nil, key + " is " + jsonKind(v) + ", not a string"
	}
	s, err := unquoteJSON(v, scratch)
	if err != nil {
		return nil, "malformed JSON: " + err.Error()
	}
	return trimSpaces(s), ""
}

// jsonTime is the text of a time value: a string, or a number of unix
// seconds.
func jsonTime(v rawValue, key string, scratch *[]byte) ([]byte, string) {
	if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		return v, ""
	}
	return jsonText(v, key, scratch)
}

// unquoteJSON is the content of a JSON string: a slice of it when it holds
// no escapes, else decoded into *scratch.
func unquoteJSON(v []byte, scratch *[]byte) ([]byte, error) {
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, err
	}
	start := len(*scratch)
	*scratch = append(*scratch, s...)
	return (*scratch)[start:], nil
}

func jsonKind(v []byte) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}
