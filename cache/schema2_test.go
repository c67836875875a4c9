package cache

import "encoding/binary"

// encodeProfile appends the schema 2 form of p, stamped with seenRun, to
// dst: what wxscope wrote before schema 3, which only tests write now (the
// migration and salvage read it, decodeProfile).
func encodeProfile(dst []byte, p *Profile, seenRun uint64) []byte {
	dst = append(dst, profileFormat)
	dst = binary.BigEndian.AppendUint64(dst, seenRun)
	var flags byte
	if p.Subscribed {
		flags |= 1
	}
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, p.SubscribeTime)
	dst = binary.AppendVarint(dst, p.QRScene)
	dst = binary.AppendVarint(dst, p.GroupID)
	dst = binary.AppendVarint(dst, p.FetchedAt)
	dst = binary.AppendVarint(dst, p.UnfollowedAt)
	return appendProfileTail(dst, p)
}
