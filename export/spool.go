package export

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// Spool keeps rows in a temporary file so that they can be written out in
// another order than they came in: the TUI reads the cache in openid order
// and writes the rows in the order its view shows them, holding only a
// SpoolRef per row in memory. The file is removed by Close.
type Spool struct {
	f     *os.File
	w     *bufio.Writer
	off   int64
	enc   []byte
	dec   []byte
	dirty bool
}

// SpoolRef is where one row lies in a Spool; the zero value is no row.
type SpoolRef struct {
	off int64
	n   uint32
}

// Valid reports whether r refers to a row.
func (r SpoolRef) Valid() bool { return r.n > 0 }

// NewSpool creates a spool in dir; the same folder as the export's file
// keeps it off a RAM-backed /tmp.
func NewSpool(dir string) (*Spool, error) {
	f, err := os.CreateTemp(dir, ".wxscope-spool-*")
	if err != nil {
		return nil, fmt.Errorf("create a temporary file in %s: %w", dir, err)
	}
	return &Spool{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// Add stores r and returns where it lies.
func (s *Spool) Add(r *Row) (SpoolRef, error) {
	b := appendRow(s.enc[:0], r)
	s.enc = b
	if _, err := s.w.Write(b); err != nil {
		return SpoolRef{}, fmt.Errorf("write the temporary file %s: %w", s.f.Name(), err)
	}
	ref := SpoolRef{off: s.off, n: uint32(len(b))}
	s.off += int64(len(b))
	s.dirty = true
	return ref, nil
}

// Read fills r with the row at ref.
func (s *Spool) Read(ref SpoolRef, r *Row) error {
	if !ref.Valid() {
		return errors.New("no row at this spool reference")
	}
	if s.dirty {
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("write the temporary file %s: %w", s.f.Name(), err)
		}
		s.dirty = false
	}
	if cap(s.dec) < int(ref.n) {
		s.dec = make([]byte, ref.n)
	}
	b := s.dec[:ref.n]
	if _, err := s.f.ReadAt(b, ref.off); err != nil {
		return fmt.Errorf("read the temporary file %s: %w", s.f.Name(), err)
	}
	return decodeRow(b, r)
}

// Close removes the spool's file.
func (s *Spool) Close() error {
	s.f.Close()
	return os.Remove(s.f.Name())
}

// The spool's encoding of a row: the fields in Columns order, strings and
// lists length-prefixed, numbers as varints.

func appendRow(b []byte, r *Row) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(r.App)
	str(r.Kind)
	str(r.AppID)
	str(r.OpenID)
	str(r.UnionID)
	b = binary.AppendVarint(b, int64(r.Subscribe))
	b = binary.AppendVarint(b, r.SubscribeTime)
	str(r.SubscribeScene)
	b = binary.AppendVarint(b, r.QRScene)
	str(r.QRSceneStr)
	str(r.Remark)
	b = binary.AppendUvarint(b, uint64(len(r.TagIDList)))
	for _, id := range r.TagIDList {
		b = binary.AppendVarint(b, id)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Tags)))
	for _, t := range r.Tags {
		str(t)
	}
	black := byte(0)
	if r.Blacklisted {
		black = 1
	}
	b = append(b, black)
	b = binary.AppendVarint(b, r.GroupID)
	b = binary.AppendVarint(b, r.FetchedAt)
	b = binary.AppendVarint(b, r.UnfollowedAt)
	return b
}

var errSpool = errors.New("a row in the temporary file is damaged")

func decodeRow(b []byte, r *Row) error {
	bad := false
	uvar := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	ivar := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	str := func() string {
		n := uvar()
		if bad || n > uint64(len(b)) {
			bad = true
			return ""
		}
		s := string(b[:n])
		b = b[n:]
		return s
	}
	r.App = str()
	r.Kind = str()
	r.AppID = str()
	r.OpenID = str()
	r.UnionID = str()
	r.Subscribe = int(ivar())
	r.SubscribeTime = ivar()
	r.SubscribeScene = str()
	r.QRScene = ivar()
	r.QRSceneStr = str()
	r.Remark = str()
	n := uvar()
	if n > uint64(len(b)) {
		return errSpool
	}
	r.TagIDList = make([]int64, n)
	for i := range r.TagIDList {
		r.TagIDList[i] = ivar()
	}
	n = uvar()
	if n > uint64(len(b)) {
		return errSpool
	}
	r.Tags = make([]string, n)
	for i := range r.Tags {
		r.Tags[i] = str()
	}
	if len(b) == 0 {
		return errSpool
	}
	r.Blacklisted, b = b[0] == 1, b[1:]
	r.GroupID = ivar()
	r.FetchedAt = ivar()
	r.UnfollowedAt = ivar()
	if bad || len(b) != 0 {
		return errSpool
	}
	return nil
}
