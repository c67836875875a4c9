package cache

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// recordFormat is the version byte of a profile row (schema 3): the value
// of rowid → profile in an app's rows bucket.
//
//	[0]      version (2)
//	string   openid (uvarint length + bytes): first, so that a sync can
//	         match a listed openid against the row without decoding the rest
//	[ ]      flags (bit 0: subscribed)
//	varint   fetched_at, unfollowed_at (next, for the same reason), then
//	         subscribe_time, qr_scene, groupid
//	byte     subscribe_scene code: 0 = literal string follows, else an index into knownScenes
//	string*  unionid, qr_scene_str, remark
//	uvarint  tag count, then one varint per tag
//
// Unlike format 1 there is no seen-run stamp: which rows a sync listed is
// kept in a bitmap beside them (seen.go), so that a re-sync of an
// unchanged account writes nothing per follower.
const recordFormat = 2

// encodeRecord appends the row of p to dst.
func encodeRecord(dst []byte, p *Profile) []byte {
	dst = append(dst, recordFormat)
	dst = appendString(dst, p.OpenID)
	var flags byte
	if p.Subscribed {
		flags |= 1
	}
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, p.FetchedAt)
	dst = binary.AppendVarint(dst, p.UnfollowedAt)
	dst = binary.AppendVarint(dst, p.SubscribeTime)
	dst = binary.AppendVarint(dst, p.QRScene)
	dst = binary.AppendVarint(dst, p.GroupID)
	return appendProfileTail(dst, p)
}

// recordHead is what a sync needs of a row to classify a listed openid.
type recordHead struct {
	openID       []byte // aliases the value
	subscribed   bool
	fetchedAt    int64
	unfollowedAt int64
}

// active is active(p) for the row's profile.
func (h *recordHead) active() bool { return h.subscribed && h.unfollowedAt == 0 }

// decodeHead reads the head of a row without allocating.
func decodeHead(v []byte, h *recordHead) error {
	if len(v) == 0 || v[0] != recordFormat {
		return fmt.Errorf("profile row: unknown format: %w", errCorrupt)
	}
	off := 1
	n, w := binary.Uvarint(v[off:])
	if w <= 0 || n > uint64(len(v)-off-w) {
		return fmt.Errorf("profile row: malformed openid: %w", errCorrupt)
	}
	off += w
	h.openID = v[off : off+int(n)]
	off += int(n)
	if off >= len(v) || v[off]&^1 != 0 {
		return fmt.Errorf("profile row: malformed flags: %w", errCorrupt)
	}
	h.subscribed = v[off]&1 != 0
	off++
	var ok bool
	if h.fetchedAt, off, ok = varintAt(v, off); !ok {
		return fmt.Errorf("profile row: malformed fetched_at: %w", errCorrupt)
	}
	if h.unfollowedAt, _, ok = varintAt(v, off); !ok {
		return fmt.Errorf("profile row: malformed unfollowed_at: %w", errCorrupt)
	}
	return nil
}

func varintAt(v []byte, off int) (int64, int, bool) {
	x, w := binary.Varint(v[off:])
	if w <= 0 {
		return 0, off, false
	}
	return x, off + w, true
}

// decodeRecord reads a row into p (AppID is left as it is). All strings of
// p share one copy of v, so v may be memory that goes away (a bbolt page)
// once this returns.
func decodeRecord(v []byte, p *Profile) error {
	p.TagIDs = nil
	return decodeRecordFrom(v, string(v), p)
}

// scanRecord decodes v into p without a copy, for checks that read
// millions of rows: p's strings alias v, so they are valid only while v
// is, and its TagIDs reuse those of the row scanned before.
func scanRecord(v []byte, p *Profile) error {
	p.TagIDs = p.TagIDs[:0]
	return decodeRecordFrom(v, unsafe.String(unsafe.SliceData(v), len(v)), p)
}

// decodeRecordFrom is decodeRecord over s, the text of v (a copy of it, or
// v itself), appending the tags to p.TagIDs.
func decodeRecordFrom(v []byte, s string, p *Profile) error {
	if len(v) == 0 || v[0] != recordFormat {
		return fmt.Errorf("profile row: unknown format: %w", errCorrupt)
	}
	r := reader{s: s, off: 1}
	p.OpenID = r.string()
	flags := r.byte()
	if flags&^1 != 0 {
		r.fail()
	}
	p.Subscribed = flags&1 != 0
	p.FetchedAt = r.varint()
	p.UnfollowedAt = r.varint()
	p.SubscribeTime = r.varint()
	p.QRScene = r.varint()
	p.GroupID = r.varint()
	r.profileTail(p)
	return r.end("profile row")
}

// rowKey is the key of row n in an app's rows bucket: big endian, so that
// rows sort by number and a sync appends them at the end of the B-tree.
func rowKey(dst []byte, n uint32) []byte { return binary.BigEndian.AppendUint32(dst, n) }

// rowOf reads a row key or an ids value.
func rowOf(b []byte) (uint32, bool) {
	if len(b) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(b), true
}
