package ui

import "strings"

// filterMemoSize is how many filters a filterMemo keeps: a word typed and
// backspaced over; each costs a bit a row (1.25 MB at 10 M followers).
const filterMemoSize = 4

// filterMemo remembers the matches of the last few filters over one index
// and base (the rows a filter searches), so a backspace to a query typed a
// moment ago costs no scan, and a query narrows the match of the longest
// remembered query it contains rather than only the one before it. It is
// used from one goroutine (the view's Update); the bitsets it hands out
// are shared and never changed.
type filterMemo struct {
	queries []string
	matches [][]uint64
}

// get returns the remembered match of q, or nil.
func (m *filterMemo) get(q string) []uint64 {
	for i, mq := range m.queries {
		if mq == q {
			return m.matches[i]
		}
	}
	return nil
}

// within returns the match of the longest remembered query q contains, the
// rows q can only narrow, or nil. Containing one only up to case is not
// enough: ids match case-sensitively.
func (m *filterMemo) within(q string) []uint64 {
	var best []uint64
	bestLen := 0
	for i, mq := range m.queries {
		if mq != "" && len(mq) > bestLen && strings.Contains(q, mq) {
			best, bestLen = m.matches[i], len(mq)
		}
	}
	return best
}

// add remembers match as q's, forgetting the oldest beyond filterMemoSize.
func (m *filterMemo) add(q string, match []uint64) {
	if q == "" || match == nil || m.get(q) != nil {
		return
	}
	if len(m.queries) == filterMemoSize {
		m.queries, m.matches = m.queries[1:], m.matches[1:]
	}
	m.queries, m.matches = append(m.queries, q), append(m.matches, match)
}

// reset forgets everything: the index or the base changed.
func (m *filterMemo) reset() { m.queries, m.matches = nil, nil }
