package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The values in the cache are a compact binary format rather than JSON: a
// million profiles of one app must load in a fraction of a second. Every
// value starts with a format version byte so a later version can read older
// values; the decoders reject anything they do not fully understand with an
// error, never a panic (see FuzzDecodeProfile).

// profileFormat is the version byte of an encoded profile.
//
// Layout of version 1:
//
//	[0]      version (1)
//	[1:9]    seen run, big endian: the sync run that last saw this openid in a listing
//	[9]      flags (bit 0: subscribed)
//	varint   subscribe_time, qr_scene, groupid, fetched_at, unfollowed_at
//	byte     subscribe_scene code: 0 = literal string follows, else an index into knownScenes
//	string*  unionid, qr_scene_str, remark (uvarint length + bytes)
//	uvarint  tag count, then one varint per tag
//
// AppID and OpenID are not stored in the value: they are the bucket and key.
const profileFormat = 1

// seenRunOffset is where the seen-run stamp sits, at a fixed offset so a sync
// can stamp an unchanged profile without decoding it.
const seenRunOffset = 1

var errCorrupt = errors.New("corrupt value")

// knownScenes are the subscribe_scene values the API is known to send,
// stored as one byte. Unknown values are stored literally. Append only: the
// index is part of the format.
var knownScenes = []string{
	"", // code 0 is the literal marker, never used for a value
	"",
	"ADD_SCENE_SEARCH",
	"ADD_SCENE_ACCOUNT_MIGRATION",
	"ADD_SCENE_PROFILE_CARD",
	"ADD_SCENE_QR_CODE",
	"ADD_SCENE_PROFILE_LINK",
	"ADD_SCENE_PROFILE_ITEM",
	"ADD_SCENE_PAID",
	"ADD_SCENE_WECHAT_ADVERTISEMENT",
	"ADD_SCENE_OTHERS",
	"ADD_SCENE_LIVESTREAM",
	"ADD_SCENE_CHANNELS",
	"ADD_SCENE_REPRINT",
	"ADD_SCENE_WXA",
}

var sceneCodes = func() map[string]byte {
	m := make(map[string]byte, len(knownScenes))
	for i := 1; i < len(knownScenes); i++ {
		m[knownScenes[i]] = byte(i)
	}
	return m
}()

// appendProfileTail appends what both row formats (schema 2's profile and
// schema 3's row, record.go) end with: the subscribe scene (its code, or 0
// and the name), the unionid, the QR scene string, the remark and the tag
// ids.
func appendProfileTail(dst []byte, p *Profile) []byte {
	if code, ok := sceneCodes[p.SubscribeScene]; ok {
		dst = append(dst, code)
	} else {
		dst = append(dst, 0)
		dst = appendString(dst, p.SubscribeScene)
	}
	dst = appendString(dst, p.UnionID)
	dst = appendString(dst, p.QRSceneStr)
	dst = appendString(dst, p.Remark)
	dst = binary.AppendUvarint(dst, uint64(len(p.TagIDs)))
	for _, t := range p.TagIDs {
		dst = binary.AppendVarint(dst, t)
	}
	return dst
}

// profileTail reads what appendProfileTail wrote into p, appending the tag
// ids to p.TagIDs.
func (r *reader) profileTail(p *Profile) {
	code := r.byte()
	switch {
	case r.err != nil:
	case code == 0:
		p.SubscribeScene = r.string()
	case int(code) < len(knownScenes):
		p.SubscribeScene = knownScenes[code]
	default:
		r.fail()
	}
	p.UnionID = r.string()
	p.QRSceneStr = r.string()
	p.Remark = r.string()
	if n := r.count(); n > 0 {
		p.TagIDs = slices.Grow(p.TagIDs, int(n))
		for range n {
			p.TagIDs = append(p.TagIDs, r.varint())
		}
	}
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeProfile reads a stored profile into p (AppID and OpenID are left as
// they are) and returns its seen-run stamp. All strings of p share one copy
// of v, so v may be memory that goes away (a bbolt page) once this returns.
func decodeProfile(v []byte, p *Profile) (seenRun uint64, err error) {
	if len(v) == 0 {
		return 0, fmt.Errorf("profile: empty value: %w", errCorrupt)
	}
	if v[0] != profileFormat {
		return 0, fmt.Errorf("profile: unknown format version %d: %w", v[0], errCorrupt)
	}
	if len(v) < 10 {
		return 0, fmt.Errorf("profile: %d bytes is too short: %w", len(v), errCorrupt)
	}
	r := reader{s: string(v), off: 10} // every string field below is a substring of one copy of v
	seenRun = binary.BigEndian.Uint64(v[seenRunOffset : seenRunOffset+8])
	flags := v[9]
	if flags&^1 != 0 {
		return 0, fmt.Errorf("profile: unknown flags %#x: %w", flags, errCorrupt)
	}
	p.Subscribed = flags&1 != 0
	p.SubscribeTime = r.varint()
	p.QRScene = r.varint()
	p.GroupID = r.varint()
	p.FetchedAt = r.varint()
	p.UnfollowedAt = r.varint()
	p.TagIDs = nil
	r.profileTail(p)
	if err := r.end("profile"); err != nil {
		return 0, err
	}
	return seenRun, nil
}

// reader decodes varints and strings from a string, remembering the first
// error so the decoders read as a plain sequence of fields.
type reader struct {
	s   string
	off int
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.s) {
		r.fail()
		return 0
	}
	b := r.s[r.off]
	r.off++
	return b
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; ; i++ {
		if r.off >= len(r.s) || i == binary.MaxVarintLen64 {
			r.fail()
			return 0
		}
		b := r.s[r.off]
		r.off++
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				r.fail()
				return 0
			}
			return x | uint64(b)<<shift
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
}

func (r *reader) varint() int64 {
	ux := r.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.s)-r.off) {
		r.fail()
		return ""
	}
	v := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return v
}

// count reads how many elements follow. Each takes at least one byte, so a
// count beyond the bytes left is corrupt (and must not size an allocation).
func (r *reader) count() uint64 {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.s)-r.off) {
		r.fail()
		return 0
	}
	return n
}

// end is the decoder's verdict on the value it read as what: an error when a
// field was malformed or bytes are left over.
func (r *reader) end(what string) error {
	if r.err == nil && r.off != len(r.s) {
		r.fail()
	}
	if r.err != nil {
		return fmt.Errorf("%s: malformed at byte %d: %w", what, r.off, errCorrupt)
	}
	return nil
}

func (r *reader) time() time.Time {
	n := r.varint()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// appFormat is the version byte of an encoded app record: 2 adds the row
// counters of schema 3 (Rows, Indexed) at the end; 1 is read for the
// migration from schema 2.
const appFormat = 2

// maxBadOpenIDs bounds the bad openids kept in a sync state: they are
// evidence for the operator, not a work list, and the record is rewritten on
// every commit.
const maxBadOpenIDs = 1000

// appRecord is what the cache keeps per app besides its profiles.
type appRecord struct {
	Name   string
	Counts Counts
	Sync   SyncState
	// Rows is how many rows were ever appended to the app's rows bucket:
	// the number of the next one (removed rows leave gaps).
	Rows uint32
	// Indexed: every row below it is in the openid and unionid indexes;
	// the rows from it on are the tail a sync appended and will index
	// (layout.go, index.go).
	Indexed uint32
	// Writes counts the transactions outside a sync that changed the
	// app's rows, so that a sync's catch-up notices a write that came
	// between its reading of the tail and its indexing (index.go).
	Writes uint64
	// Prefix is what every openid ever appended to the app's rows starts
	// with (real ones share six characters): salvage tells a damaged
	// file's rows apart by it when no page above them can be read.
	Prefix string
}

// notePrefix narrows a.Prefix to what openid shares with it; the first row
// sets it.
func (a *appRecord) notePrefix(openid string) {
	if a.Rows == 0 {
		a.Prefix = openid
		return
	}
	i := 0
	for i < len(a.Prefix) && i < len(openid) && a.Prefix[i] == openid[i] {
		i++
	}
	a.Prefix = a.Prefix[:i]
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(dst, 0)
	}
	return binary.AppendVarint(dst, t.UnixNano())
}

func encodeApp(dst []byte, a *appRecord) []byte {
	dst = append(dst, appFormat)
	dst = appendString(dst, a.Name)
	c := &a.Counts
	for _, n := range []int64{c.Profiles, c.Subscribed, c.WithUnionID, c.Unfollowed} {
		dst = binary.AppendVarint(dst, n)
	}
	s := &a.Sync
	var flags byte
	if s.InProgress {
		flags |= 1
	}
	if s.ListingComplete {
		flags |= 2
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, s.RunID)
	dst = appendString(dst, s.Cursor)
	dst = appendTime(dst, s.StartedAt)
	dst = appendTime(dst, s.FinishedAt)
	dst = appendTime(dst, s.LastCompleteAt)
	for _, n := range []int64{s.Pages, s.Listed, s.Total, s.Fetched, s.Skipped, s.Unfollowed} {
		dst = binary.AppendVarint(dst, n)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.BadOpenIDs)))
	for _, id := range s.BadOpenIDs {
		dst = appendString(dst, id)
	}
	dst = appendString(dst, s.LastError)
	dst = appendTime(dst, s.QuotaResetAt)
	// Format 1 had the next two fields optional (Unanswered, Suspect);
	// format 2 always writes them, then the row counters.
	dst = binary.AppendUvarint(dst, uint64(len(s.Unanswered)))
	for _, id := range s.Unanswered {
		dst = appendString(dst, id)
	}
	dst = binary.AppendVarint(dst, s.Suspect)
	dst = binary.AppendUvarint(dst, uint64(a.Rows))
	dst = binary.AppendUvarint(dst, uint64(a.Indexed))
	dst = binary.AppendUvarint(dst, a.Writes)
	dst = appendString(dst, a.Prefix)
	return dst
}

func decodeApp(v []byte, a *appRecord) error {
	if len(v) == 0 || (v[0] != appFormat && v[0] != 1) {
		return fmt.Errorf("app record: unknown format: %w", errCorrupt)
	}
	r := reader{s: string(v), off: 1}
	a.Name = r.string()
	c := &a.Counts
	for _, n := range []*int64{&c.Profiles, &c.Subscribed, &c.WithUnionID, &c.Unfollowed} {
		*n = r.varint()
	}
	s := &a.Sync
	flags := r.byte()
	if flags&^3 != 0 {
		r.fail()
	}
	s.InProgress = flags&1 != 0
	s.ListingComplete = flags&2 != 0
	s.RunID = r.uvarint()
	s.Cursor = r.string()
	s.StartedAt = r.time()
	s.FinishedAt = r.time()
	s.LastCompleteAt = r.time()
	for _, n := range []*int64{&s.Pages, &s.Listed, &s.Total, &s.Fetched, &s.Skipped, &s.Unfollowed} {
		*n = r.varint()
	}
	nbad := r.count()
	s.BadOpenIDs = nil
	for i := uint64(0); r.err == nil && i < nbad; i++ {
		s.BadOpenIDs = append(s.BadOpenIDs, r.string())
	}
	s.LastError = r.string()
	s.QuotaResetAt = r.time()
	s.Unanswered, s.Suspect = nil, 0
	if v[0] >= 2 || (r.err == nil && r.off < len(r.s)) {
		n := r.count()
		for i := uint64(0); r.err == nil && i < n; i++ {
			s.Unanswered = append(s.Unanswered, r.string())
		}
		s.Suspect = r.varint()
	}
	a.Rows, a.Indexed, a.Writes, a.Prefix = 0, 0, 0, ""
	if v[0] >= 2 {
		rows, indexed := r.uvarint(), r.uvarint()
		if rows > 1<<32-1 || indexed > rows {
			r.fail()
		}
		a.Rows, a.Indexed = uint32(rows), uint32(indexed)
		a.Writes = r.uvarint()
		a.Prefix = r.string()
	}
	return r.end("app record")
}
