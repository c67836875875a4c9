package wechattest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// An openid (or unionid) is 28 characters, like the real ones: "o", a
// 5-character prefix shared by every id of the same app (or open platform),
// and 22 url-safe base64 characters carrying an AES block. The block holds
// the person's index and a 12-byte tag of the app, so an id decodes back to
// its person without any lookup table, and an id of another app (or a
// garbled one) fails the tag check. So no table of ids is kept, however
// large the world.
const idLen = 28

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

var b64 = base64.RawURLEncoding.Strict()

// idCodec maps person indexes to the ids one app or platform sees.
type idCodec struct {
	prefix string // "o" + 5 characters
	block  cipher.Block
	tag    [12]byte
}

func newIDCodec(seed int64, kind, name string) *idCodec {
	sum := sha256.Sum256([]byte(fmt.Sprintf("wechattest/%s/%d/%s", kind, seed, name)))
	block, err := aes.NewCipher(sum[:16])
	if err != nil {
		panic(err) // a 16-byte key never fails
	}
	c := &idCodec{block: block}
	copy(c.tag[:], sum[16:28])
	var p strings.Builder
	p.WriteByte('o')
	bits := binary.BigEndian.Uint32(sum[28:32])
	for range 5 {
		p.WriteByte(b64Alphabet[bits&63])
		bits >>= 6
	}
	c.prefix = p.String()
	return c
}

// seal encrypts the block of person p.
func (c *idCodec) seal(p uint32) (ct [16]byte) {
	var plain [16]byte
	binary.BigEndian.PutUint32(plain[:4], p)
	copy(plain[4:], c.tag[:])
	c.block.Encrypt(ct[:], plain[:])
	return ct
}

// checkBits fills the 4 bits that 16 bytes leave unused in the last of 22
// base64 characters, so that the last character varies like the others.
func checkBits(ct *[16]byte) byte { return (ct[3] ^ ct[9]) & 0x0f }

// encode returns the id of person p.
func (c *idCodec) encode(p uint32) string {
	ct := c.seal(p)
	var buf [idLen]byte
	copy(buf[:6], c.prefix)
	b64.Encode(buf[6:], ct[:])
	last := strings.IndexByte(b64Alphabet, buf[idLen-1])
	buf[idLen-1] = b64Alphabet[last|int(checkBits(&ct))]
	return string(buf[:])
}

// decode returns the person behind id, or false if id is not one of this
// codec's ids.
func (c *idCodec) decode(id string) (uint32, bool) {
	if len(id) != idLen || id[:6] != c.prefix {
		return 0, false
	}
	var body [22]byte
	copy(body[:], id[6:])
	last := strings.IndexByte(b64Alphabet, body[21])
	if last < 0 {
		return 0, false
	}
	check := byte(last) & 0x0f
	body[21] = b64Alphabet[last&^0x0f]
	var ct [16]byte
	if n, err := b64.Decode(ct[:], body[:]); err != nil || n != 16 {
		return 0, false
	}
	if checkBits(&ct) != check {
		return 0, false
	}
	var plain [16]byte
	c.block.Decrypt(plain[:], ct[:])
	if [12]byte(plain[4:]) != c.tag {
		return 0, false
	}
	return binary.BigEndian.Uint32(plain[:4]), true
}

// mix is splitmix64's finaliser: a cheap, well-spread hash of one word.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// salt derives a 64-bit key from the seed and a label.
func salt(seed int64, label string) uint64 {
	sum := sha256.Sum256([]byte(fmt.Sprintf("wechattest/salt/%d/%s", seed, label)))
	return binary.BigEndian.Uint64(sum[:8])
}

// perm is a keyed pseudo-random permutation of [0, n): a 4-round Feistel
// network on the smallest even number of bits that covers n, with cycle
// walking to stay inside [0, n). Each app takes its followers from the
// start of its own permutation of the population, so apps overlap the way
// independent random samples do.
type perm struct {
	n    uint64
	half uint
	mask uint64
	keys [4]uint64
}

func newPerm(n uint64, key uint64) *perm {
	bits := uint(2)
	for uint64(1)<<bits < n {
		bits += 2
	}
	q := &perm{n: n, half: bits / 2, mask: uint64(1)<<(bits/2) - 1}
	for i := range q.keys {
		key = mix(key)
		q.keys[i] = key
	}
	return q
}

// at is the element at position i of the permutation.
func (q *perm) at(i uint64) uint64 {
	x := i
	for {
		l, r := x>>q.half, x&q.mask
		for _, k := range q.keys {
			l, r = r, l^(mix(r^k)&q.mask)
		}
		x = l<<q.half | r
		if x < q.n {
			return x
		}
	}
}

// index is the inverse of at: the position of x. Cycle walking backwards
// (the rounds undone in reverse order until the value falls inside [0, n))
// retraces exactly the walk at took.
func (q *perm) index(x uint64) uint64 {
	for {
		l, r := x>>q.half, x&q.mask
		for i := len(q.keys) - 1; i >= 0; i-- {
			l, r = r^(mix(l^q.keys[i])&q.mask), l
		}
		x = l<<q.half | r
		if x < q.n {
			return x
		}
	}
}
