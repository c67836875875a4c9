// Package cachetest damages cache files the ways disks, crashes and people
// do, for the tests that hold every read of a damaged cache to an error
// saying so (never a crash, never a partial answer). It reads bbolt's page
// layout on its own and imports nothing from the cache package, so that the
// cache's own tests can use it.
package cachetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
)

// Outcome is what opening or reading a damaged file must say.
type Outcome int

const (
	// Damaged: the file is a damaged cache (cache.ErrDamaged).
	Damaged Outcome = iota
	// NoCache: the file is empty, as if no sync ever wrote it (cache.ErrNoCache).
	NoCache
	// NotCache: the file is not a bbolt file at all (cache.ErrNotCache).
	NotCache
)

// Kind is one way of damaging a cache file.
type Kind struct {
	Name string
	// Damage returns the damaged bytes of the healthy file b (b may be
	// changed in place).
	Damage func(b []byte) ([]byte, error)
	Want   Outcome
}

// Kinds are the damaged files every read path must survive, as TESTING.md
// counts them.
var Kinds = []Kind{
	{"flipped bytes in data pages", flipLeaves, Damaged},
	{"flipped bytes in branch pages", flipBranches, Damaged},
	{"a broken root page", breakRoot, Damaged},
	{"broken meta pages", breakMetas, Damaged},
	{"truncated to half", truncateHalf, Damaged},
	{"truncated to 8 KiB", func(b []byte) ([]byte, error) { return b[:min(len(b), 8192)], nil }, Damaged},
	{"zero-length", func([]byte) ([]byte, error) { return nil, nil }, NoCache},
	{"not a bbolt file", func([]byte) ([]byte, error) {
		return bytes.Repeat([]byte("hello, this is not a database\n"), 1000), nil
	}, NotCache},
}

// bbolt's layout: a 16-byte page header (id u64, flags u16, count u16,
// overflow u32), the meta after the header of pages 0 and 1, in the
// machine's byte order.
const (
	headerSize = 16
	flagBranch = 0x01
	flagLeaf   = 0x02
)

var native = binary.NativeEndian

// Meta is what a damage needs of the current meta page.
type Meta struct {
	PageSize int64
	Root     uint64
	Pages    uint64 // the high water mark
}

// ReadMeta reads the meta page bbolt would use (the higher txid).
func ReadMeta(b []byte) (Meta, error) {
	read := func(off int64) (Meta, uint64, bool) {
		if int64(len(b)) < off+headerSize+64 || native.Uint32(b[off+headerSize:]) != 0xED0CDAED {
			return Meta{}, 0, false
		}
		m := b[off+headerSize:]
		return Meta{PageSize: int64(native.Uint32(m[8:])), Root: native.Uint64(m[16:]), Pages: native.Uint64(m[40:])}, native.Uint64(m[48:]), true
	}
	m0, tx0, ok0 := read(0)
	if !ok0 || m0.PageSize < 512 {
		return Meta{}, errors.New("no bbolt meta page")
	}
	if m1, tx1, ok1 := read(m0.PageSize); ok1 && tx1 > tx0 {
		return m1, nil
	}
	return m0, nil
}

// Pages returns the ids of b's pages of the given flags below the high
// water mark.
func Pages(b []byte, flags uint16) ([]uint64, error) {
	m, err := ReadMeta(b)
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for id := uint64(2); id < m.Pages && int64(id+1)*m.PageSize <= int64(len(b)); id++ {
		off := int64(id) * m.PageSize
		if native.Uint64(b[off:]) == id && native.Uint16(b[off+8:]) == flags {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// flipLeaves flips an element's key offset and 16 more bytes in each of
// three leaf pages (the same three for the same file).
func flipLeaves(b []byte) ([]byte, error) {
	m, err := ReadMeta(b)
	if err != nil {
		return nil, err
	}
	leaves, err := Pages(b, flagLeaf)
	if err != nil || len(leaves) < 3 {
		return nil, errors.New("fewer than three leaf pages to damage")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, i := range rng.Perm(len(leaves))[:3] {
		off := int64(leaves[i]) * m.PageSize
		b[off+headerSize+7] ^= 0xff
		for range 16 {
			b[off+headerSize+rng.Int64N(m.PageSize-headerSize)] ^= 0xff
		}
	}
	return b, nil
}

// flipBranches garbles the elements of every branch page.
func flipBranches(b []byte) ([]byte, error) {
	m, err := ReadMeta(b)
	if err != nil {
		return nil, err
	}
	branches, err := Pages(b, flagBranch)
	if err != nil || len(branches) == 0 {
		return nil, errors.New("no branch page to damage")
	}
	for _, id := range branches {
		off := int64(id) * m.PageSize
		for k := int64(headerSize); k < 200; k++ {
			b[off+k] ^= 0x5a
		}
	}
	return b, nil
}

// breakRoot zeroes the current root page.
func breakRoot(b []byte) ([]byte, error) {
	m, err := ReadMeta(b)
	if err != nil {
		return nil, err
	}
	clear(b[int64(m.Root)*m.PageSize : int64(m.Root+1)*m.PageSize])
	return b, nil
}

// breakMetas changes the page count of both meta pages, so both fail
// their checksum.
func breakMetas(b []byte) ([]byte, error) {
	m, err := ReadMeta(b)
	if err != nil {
		return nil, err
	}
	for _, off := range []int64{0, m.PageSize} {
		b[off+headerSize+40] ^= 0xff
	}
	return b, nil
}

// truncateHalf cuts the file to half its pages.
func truncateHalf(b []byte) ([]byte, error) {
	m, err := ReadMeta(b)
	if err != nil {
		return nil, err
	}
	return b[:int64(m.Pages)*m.PageSize/2], nil
}
