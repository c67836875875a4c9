package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The file holds these top-level buckets:
//
//	meta      "schema" → uint32 big endian; "kind" → "wxscope cache"
//	apps      appid → app record (name, counters, sync state, how far its rows are indexed)
//	rows, ids, seen (schema 3) one sub-bucket per appid each: the profiles as
//	          numbered rows, openid → row, the rows the running sync listed (layout.go)
//	unionids        unionid \x00 appid \x00 openid → empty (only following profiles with a unionid)
//	formerunionids  the same keys for profiles that carry a unionid but no longer follow
//	                (schema 2): a lookup by unionid still shows the apps the person left
//
// Which app has an openid is answered by one Get in each app's openid index
// (a handful of apps, each a B-tree lookup). Schemas 1 and 2 kept the
// profiles in "profiles", one sub-bucket per appid: openid → profile.
var (
	bucketMeta     = []byte("meta")
	bucketApps     = []byte("apps")
	bucketProfiles = []byte("profiles")
	bucketUnionIDs = []byte("unionids")
	// bucketFormerUnionIDs is kept apart from the unionid index so that
	// groups, overlaps and counts, which walk that index, stay defined by
	// current followers alone.
	bucketFormerUnionIDs = []byte("formerunionids")

	keySchema = []byte("schema")
	keyKind   = []byte("kind")
	kindValue = []byte("wxscope cache")
)

// SchemaVersion is the layout version this build writes. Opening a file of a
// later version fails with ErrNewerSchema; an older one is migrated.
const SchemaVersion = 3

// migrations[n] moves a file from schema n to n+1, inside one transaction.
// Version 0 is a new, empty bbolt file. Schema 2 → 3 moves every profile and
// takes many transactions: migrateRows, after these.
var migrations = map[uint32]func(tx *bolt.Tx) error{
	0: func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketApps, bucketProfiles, bucketUnionIDs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyKind, kindValue)
	},
	1: migrateFormerUnionIDs,
}

// migrateFormerUnionIDs (schema 1 → 2) builds the former-members index from
// the profiles in one pass: every profile that carries a unionid and no
// longer follows.
func migrateFormerUnionIDs(tx *bolt.Tx) error {
	formers, err := tx.CreateBucketIfNotExists(bucketFormerUnionIDs)
	if err != nil {
		return err
	}
	var p Profile
	return tx.Bucket(bucketProfiles).ForEachBucket(func(appid []byte) error {
		return tx.Bucket(bucketProfiles).Bucket(appid).ForEach(func(openid, v []byte) error {
			// A profile that does not decode is Check's to report; refusing
			// to open the whole cache over it would help nobody.
			if _, err := decodeProfile(v, &p); err != nil || !former(&p) {
				return nil
			}
			// A fresh slice per key: bbolt keeps it until the commit.
			return formers.Put(unionKey(nil, p.UnionID, string(appid), string(openid)), nil)
		})
	})
}

// Mode says how a Store holds the file lock.
type Mode int

const (
	// ReadWrite holds the exclusive lock from Open to Close: other processes
	// cannot even read meanwhile. For tests, benchmarks and short commands.
	ReadWrite Mode = iota
	// ReadOnly holds a shared lock from Open to Close; writes fail with
	// ErrReadOnly. Several readers may hold it at once, but a writer waits
	// for all of them to close: anything that stays open a while wants
	// SharedReadOnly.
	ReadOnly
	// Shared holds no lock between operations: each read takes the shared
	// lock and each write the exclusive lock only while it runs, and a writer
	// pauses SharedWriteGap between writes when another process waits for
	// the file (wait.go), so that it gets in. A long sync uses this mode so
	// that a lookup in another process answers within moments.
	Shared
	// SharedReadOnly is Shared for a reader that never writes: each read
	// opens the file read-only and takes the shared lock only while it
	// runs (a chunk of a long iteration at a time), so a writer in another
	// process gets in while the store is open and idle, or between chunks.
	// Every write fails with ErrReadOnly. Open neither creates nor migrates
	// the file: a missing one is ErrNoCache, an older schema asks for a
	// sync. For the read-only TUI and the read-only commands.
	SharedReadOnly
)

// readOnly reports whether m never writes.
func (m Mode) readOnly() bool { return m == ReadOnly || m == SharedReadOnly }

// DefaultTimeout is how long Open (and, in the Shared modes, each read) waits for
// the file lock before saying who holds it.
const DefaultTimeout = 3 * time.Second

// DefaultWriteTimeout is how long a write in Shared mode waits for readers
// (e.g. an export streaming a large app) to let go.
const DefaultWriteTimeout = time.Minute

// SharedWriteGap is the pause between two writes of a Shared store while
// another process waits for the file. bbolt polls a busy lock every 50 ms,
// so a gap longer than that lets any waiting process in.
const SharedWriteGap = 100 * time.Millisecond

// sharedWriteBurst is how long a Shared store may hold the file, over writes
// in quick succession, before it owes SharedWriteGap. A few short writes
// (a sync's start: the app names, then the run's state) delay a waiting
// process by no more than this, and need not pay a full gap each: at a
// 20 ms API latency two gaps are a sync of 100 000 followers 4% slower.
const sharedWriteBurst = 50 * time.Millisecond

// Options configure Open. The zero value opens for ReadWrite with the
// default timeout.
type Options struct {
	Mode Mode
	// Timeout bounds the wait for the file lock; DefaultTimeout when zero.
	Timeout time.Duration
	// WriteTimeout bounds a Shared store's wait to write; DefaultWriteTimeout when zero.
	WriteTimeout time.Duration
	// Command names this process in the lock-info file that other processes
	// quote when the cache is busy, e.g. "wxscope sync". Default: the program
	// name and its arguments.
	Command string
	// OnDamage, when set, is called once, in a goroutine of its own, with
	// the first *DamagedError a read or write of the store meets: the TUI
	// ends on it rather than showing a screen of errors.
	OnDamage func(error)
}

// Errors a caller can test with errors.Is.
var (
	// ErrInUse: another process holds the file; the error is an *InUseError.
	ErrInUse = errors.New("cache in use by another process")
	// ErrNotCache: the file is not a bbolt file, or a bbolt file of something else.
	ErrNotCache = errors.New("not a wxscope cache")
	// ErrNewerSchema: the file was written by a newer wxscope.
	ErrNewerSchema = errors.New("cache written by a newer wxscope")
	// ErrOlderSchema: a read-only open found a file of an older schema, which
	// only a writer (a sync) migrates.
	ErrOlderSchema = errors.New("written by an older wxscope")
	// ErrNoCache: a read-only open found no cache file.
	ErrNoCache = errors.New("no cache yet")
	// ErrReadOnly: a write through a ReadOnly or SharedReadOnly store.
	ErrReadOnly = errors.New("cache opened read-only")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("cache closed")
)

// Store is the wxscope cache: one bbolt file. Its methods are safe for
// concurrent use; reads never see half a write.
type Store struct {
	path string
	opts Options

	// mu orders this process's own reads and writes in Shared mode: flock
	// locks belong to open files, so an in-process writer would otherwise
	// wait for an in-process reader's shared lock.
	mu          sync.RWMutex
	db          *bolt.DB // open for the Store's life unless Shared or SharedReadOnly
	closed      bool
	lastRelease time.Time // Shared: when the last write let go of the file
	// heldSinceGap is how long writes held the file since the last pause
	// of at least SharedWriteGap (Shared).
	heldSinceGap time.Duration
	gapPauses    int           // how often a write waited for the gap (for tests)
	gapsSkipped  int           // how often a write owed the gap but nobody waited (for tests)
	heldTotal    time.Duration // how long writes held the file in all (for benchmarks)
	holder       *Holder       // set once this process wrote the lock-info file

	syncMu  sync.Mutex
	syncing map[string]bool // appids with a Sync running in this process

	damageOnce  sync.Once
	firstDamage atomic.Pointer[DamagedError]
}

// Open opens (creating it if needed, unless ReadOnly or SharedReadOnly) the
// cache file at path.
// The folder is created 0700 and the file 0600. When another process holds
// the file longer than the timeout, the error is an *InUseError naming it.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Command == "" {
		opts.Command = defaultCommand()
	}
	s := &Store{path: path, opts: opts, syncing: map[string]bool{}}

	if opts.Mode < ReadWrite || opts.Mode > SharedReadOnly {
		return nil, fmt.Errorf("cache: unknown mode %d", opts.Mode)
	}
	readOnly := opts.Mode.readOnly()
	if readOnly {
		// bbolt would try (and fail) to initialise an empty file.
		if fi, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, s.noCache("")
		} else if err == nil && fi.Size() == 0 {
			return nil, s.noCache(" (the file is empty)")
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the cache folder: %w", err)
	}

	// A reader checks the schema, a writer migrates (or creates) the file,
	// once now, so every later read finds the current schema.
	start := time.Now()
	db, err := s.openBolt(readOnly, opts.Timeout)
	if err != nil {
		return nil, err
	}
	if readOnly {
		err = s.guard(func() error { return db.View(s.checkSchema) })
	} else {
		// A file already at this schema is not written: every write
		// transaction rewrites the meta and freelist pages.
		current, older := false, false
		err = s.guard(func() error {
			return db.View(func(tx *bolt.Tx) error {
				v, err := schemaOf(tx, s.path)
				current = err == nil && v == SchemaVersion && !midMigration(tx)
				older = err == nil && v > 0 && !current
				return nil
			})
		})
		if older {
			// Moving every profile takes a while on a large cache: a reader
			// kept waiting meanwhile says who holds the file, and why.
			s.writeHolder(s.opts.Command + ", upgrading the cache to schema 3")
		}
		if err == nil && !current {
			err = s.asDiskFull(s.guard(func() error { return db.Update(s.migrate) }))
		}
		if err == nil && !current {
			if err = s.asDiskFull(s.guard(func() error { return migrateRows(db) })); err != nil {
				err = fmt.Errorf("migrate the cache %s from schema 2 to 3: %w", s.path, err)
			}
		}
		s.removeHolder()
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	if opts.Mode == Shared || opts.Mode == SharedReadOnly {
		// The Shared modes let the file go until the first read or write.
		db.Close()
		s.lastRelease = time.Now()
		s.heldSinceGap = s.lastRelease.Sub(start)
		return s, nil
	}
	s.db = db
	if !readOnly {
		s.writeHolder(s.opts.Command)
	}
	return s, nil
}

// Path is the file this store reads and writes.
func (s *Store) Path() string { return s.path }

// Close releases the file. Further calls fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.db != nil {
		err = s.db.Close()
		s.db = nil
	}
	s.removeHolder()
	return err
}

// openBolt opens the bbolt file, turning the library's failures into errors a
// user can act on. A damaged file must give an error, never a panic: the
// pages bbolt reads first are checked before it maps the file (precheck),
// and a fault in what it reads then is caught (guard).
func (s *Store) openBolt(readOnly bool, timeout time.Duration) (db *bolt.DB, err error) {
	var w waitNotice
	defer w.withdraw()
	if err := s.precheck(time.Now().Add(timeout), &w); err != nil {
		return nil, err
	}
	o := &bolt.Options{Timeout: timeout, ReadOnly: readOnly}
	var size int64
	mapAhead := !readOnly && s.opts.Mode == Shared && writeMmapSize > 0
	if mapAhead {
		if fi, err := os.Stat(s.path); err == nil {
			size = fi.Size()
		}
		o.InitialMmapSize = writeMmapSize
	}
	err = s.guard(func() error {
		// One try first: a process that finds the file busy says so before
		// it waits (wait.go), so that a Shared writer pauses for it.
		try := *o
		try.Timeout = time.Nanosecond
		var err error
		db, err = bolt.Open(s.path, 0o600, &try)
		if errors.Is(err, bolterrors.ErrTimeout) {
			w.announce(s.path)
			db, err = bolt.Open(s.path, 0o600, o)
		}
		return err
	})
	var de *DamagedError
	switch {
	case err == nil:
		if mapAhead {
			db.AllocSize = growStep(size)
		}
		return db, nil
	case errors.As(err, &de):
		return nil, err
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, s.inUse(err)
	case errors.Is(err, bolterrors.ErrChecksum):
		return nil, s.damaged("both meta pages fail their checksum", err)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch),
		errors.Is(err, bolterrors.ErrInvalidMapping):
		return nil, fmt.Errorf("the file %s is %w (not a bbolt file: %v); point the config's cache at another path or move the file away", s.path, ErrNotCache, err)
	case errors.Is(err, os.ErrNotExist):
		return nil, s.noCache("")
	case diskFull(err):
		return nil, s.asDiskFull(err) // creating the file
	default:
		return nil, fmt.Errorf("open the cache %s: %w", s.path, err)
	}
}

// growStep is how much a transaction of a Shared store grows the file of
// size bytes by, beyond what it needs (bolt.DB.AllocSize): about the size
// again, up to bbolt's default of 16 MB, so that a small cache grows by
// doubling as it does when bbolt maps the file at the next power of two
// of its size (writeMmapSize), and a large one in steps of 16 MB, each a
// truncate and an fsync. bbolt's rule would grow a file mapped that far
// ahead by 16 MB at once, however small.
func growStep(size int64) int {
	return int(min(max(size, 32<<10), 16<<20))
}

// schemaOf reads the schema version: 0 for a new empty file.
func schemaOf(tx *bolt.Tx, path string) (uint32, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		empty := true
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if empty {
			return 0, nil
		}
		return 0, fmt.Errorf("the file %s is a bbolt file but %w (no meta bucket); point the config's cache at another path", path, ErrNotCache)
	}
	v := meta.Get(keySchema)
	if len(v) != 4 || string(meta.Get(keyKind)) != string(kindValue) {
		return 0, fmt.Errorf("the file %s is a bbolt file but %w (bad meta bucket); point the config's cache at another path", path, ErrNotCache)
	}
	return binary.BigEndian.Uint32(v), nil
}

// noCache is the ErrNoCache a reader gets, why saying more about the file.
func (s *Store) noCache(why string) error {
	return fmt.Errorf("%w at %s%s: run wxscope sync first", ErrNoCache, s.path, why)
}

// newerSchema is the ErrNewerSchema of a file at schema v.
// A schema number this far beyond the current one no wxscope will write
// for years: a damaged meta bucket, not a newer program.
const implausibleSchema = 1000

func (s *Store) newerSchema(v uint32) error {
	if v >= implausibleSchema {
		return s.damaged(fmt.Sprintf("its schema number %d is not one any wxscope writes", v), nil)
	}
	return fmt.Errorf("the cache %s has schema %d, %w (this one reads up to %d); upgrade wxscope or use another cache path", s.path, v, ErrNewerSchema, SchemaVersion)
}

func (s *Store) migrate(tx *bolt.Tx) error {
	v, err := schemaOf(tx, s.path)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return s.newerSchema(v)
	}
	if v >= 2 {
		return nil // migrateRows goes on from 2; 3 is current
	}
	if v == 0 {
		// A new file is made at the current schema at once: one write.
		for _, name := range [][]byte{bucketMeta, bucketApps} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if err := createRowBuckets(tx); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Put(keyKind, kindValue); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion))
	}
	for ; v < 2; v++ {
		if err := migrations[v](tx); err != nil {
			return fmt.Errorf("migrate the cache %s from schema %d to %d: %w", s.path, v, v+1, err)
		}
	}
	return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, 2))
}

func (s *Store) checkSchema(tx *bolt.Tx) error {
	v, err := schemaOf(tx, s.path)
	if err != nil {
		return err
	}
	switch {
	case v > SchemaVersion:
		return s.newerSchema(v)
	case v == 0:
		return s.noCache(" (the file is empty)")
	case midMigration(tx):
		return fmt.Errorf("the cache %s is part-way through its upgrade from schema 2 (%w); run wxscope sync once to upgrade it", s.path, ErrOlderSchema)
	case v < SchemaVersion:
		return fmt.Errorf("the cache %s has the older schema %d (%w); run wxscope sync once to upgrade it", s.path, v, ErrOlderSchema)
	}
	return nil
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if s.db != nil {
		return s.guard(func() error { return s.db.View(fn) })
	}
	db, err := s.openBolt(true, s.opts.Timeout)
	if err != nil {
		return err
	}
	defer db.Close()
	return s.guard(func() error { return db.View(fn) })
}

// update runs fn in a write transaction; fn's changes commit together or not
// at all.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.opts.Mode.readOnly() {
		return fmt.Errorf("write to %s: %w", s.path, ErrReadOnly)
	}
	if s.db != nil {
		return s.asDiskFull(s.guard(func() error { return s.db.Update(fn) }))
	}
	wait := time.Until(s.lastRelease.Add(SharedWriteGap))
	switch {
	case wait <= 0:
		s.heldSinceGap = 0 // the file was free for a whole gap already
	case s.heldSinceGap >= sharedWriteBurst && !someoneWaits(s.path):
		// The gap is still owed: the next write tests again, and pauses
		// once someone waits.
		s.gapsSkipped++
	case s.heldSinceGap >= sharedWriteBurst:
		// Let this process's readers in during the gap too.
		s.gapPauses++
		s.mu.Unlock()
		time.Sleep(wait)
		s.mu.Lock()
		if s.closed {
			return ErrClosed
		}
		s.heldSinceGap = 0
	}
	start := time.Now()
	db, err := s.openBolt(false, s.opts.WriteTimeout)
	if err != nil {
		return err
	}
	if s.holder == nil {
		s.writeHolder(s.opts.Command)
	}
	err = s.guard(func() error { return db.Update(fn) })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	s.lastRelease = time.Now()
	s.heldSinceGap += s.lastRelease.Sub(start)
	s.heldTotal += s.lastRelease.Sub(start)
	return s.asDiskFull(err)
}
