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
