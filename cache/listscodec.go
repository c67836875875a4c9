package cache

import (
	"encoding/binary"
	"fmt"
)

// The stored forms of the tag lists, the blacklist states and the growth
// days (tags.go), in codec.go's manner: a version byte, then varints and
// length-prefixed strings, read with its reader so that a damaged value is
// an error, never a panic (FuzzDecodeTagList and its siblings).

// tagListFormat, blacklistStateFormat and growthDayFormat are the version
// bytes of the three values.
const (
	tagListFormat        = 1
	blacklistStateFormat = 1
	growthDayFormat      = 1
)

// maxStoredTags bounds the tags one list may hold when decoded: the API
// allows 100 besides the system's three, so anything near this is damage.
const maxStoredTags = 10000

// encodeTagList appends the stored form of l:
//
//	[0]      version (1)
//	time     ReadAt, TriedAt (varint unix nanoseconds, 0 for zero)
//	string   Unavailable
//	uvarint  tag count, then per tag: varint id, string name, varint count
func encodeTagList(dst []byte, l *TagList) []byte {
	dst = append(dst, tagListFormat)
	dst = appendTime(dst, l.ReadAt)
	dst = appendTime(dst, l.TriedAt)
	dst = appendString(dst, l.Unavailable)
	dst = binary.AppendUvarint(dst, uint64(len(l.Tags)))
	for _, t := range l.Tags {
		dst = binary.AppendVarint(dst, t.ID)
		dst = appendString(dst, t.Name)
		dst = binary.AppendVarint(dst, t.Count)
	}
	return dst
}

// decodeTagList reads a stored tag list into l; its strings are copies.
func decodeTagList(v []byte, l *TagList) error {
	if len(v) == 0 || v[0] != tagListFormat {
		return fmt.Errorf("tag list: unknown format: %w", errCorrupt)
	}
	r := reader{s: string(v), off: 1}
	*l = TagList{ReadAt: r.time(), TriedAt: r.time(), Unavailable: r.string()}
	n := r.count()
	if n > maxStoredTags {
		r.fail()
	}
	for i := uint64(0); r.err == nil && i < n; i++ {
		l.Tags = append(l.Tags, Tag{ID: r.varint(), Name: r.string(), Count: r.varint()})
	}
	return r.end("tag list")
}

// encodeBlacklistState appends the stored form of st:
//
//	[0]      version (1)
//	uvarint  current generation
//	varint   Count
//	time     ReadAt, TriedAt
//	string   Unavailable
func encodeBlacklistState(dst []byte, st *BlacklistState) []byte {
	dst = append(dst, blacklistStateFormat)
	dst = binary.AppendUvarint(dst, st.current)
	dst = binary.AppendVarint(dst, st.Count)
	dst = appendTime(dst, st.ReadAt)
	dst = appendTime(dst, st.TriedAt)
	return appendString(dst, st.Unavailable)
}

func decodeBlacklistState(v []byte, st *BlacklistState) error {
	if len(v) == 0 || v[0] != blacklistStateFormat {
		return fmt.Errorf("blacklist state: unknown format: %w", errCorrupt)
	}
	r := reader{s: string(v), off: 1}
	*st = BlacklistState{current: r.uvarint(), Count: r.varint(), ReadAt: r.time(), TriedAt: r.time(), Unavailable: r.string()}
	return r.end("blacklist state")
}

// encodeGrowthDay appends the stored form of d (its Date is the key):
//
//	[0]      version (1)
//	[1]      flags (bit 0: HasSummary, bit 1: HasCumulate)
//	varint   New, Cancel, Cumulate
//	time     FetchedAt
func encodeGrowthDay(dst []byte, d *GrowthDay) []byte {
	var flags byte
	if d.HasSummary {
		flags |= 1
	}
	if d.HasCumulate {
		flags |= 2
	}
	dst = append(dst, growthDayFormat, flags)
	dst = binary.AppendVarint(dst, d.New)
	dst = binary.AppendVarint(dst, d.Cancel)
	dst = binary.AppendVarint(dst, d.Cumulate)
	return appendTime(dst, d.FetchedAt)
}

// decodeGrowthDay reads a stored day into d, leaving its Date as it is.
func decodeGrowthDay(v []byte, d *GrowthDay) error {
	if len(v) == 0 || v[0] != growthDayFormat {
		return fmt.Errorf("growth day: unknown format: %w", errCorrupt)
	}
	r := reader{s: string(v), off: 1}
	flags := r.byte()
	if flags&^3 != 0 {
		r.fail()
	}
	d.HasSummary, d.HasCumulate = flags&1 != 0, flags&2 != 0
	d.New, d.Cancel, d.Cumulate = r.varint(), r.varint(), r.varint()
	d.FetchedAt = r.time()
	return r.end("growth day")
}
