package cache

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"wxscope/imports"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// Kind is the app's kind as configured ("miniprogram", "mobile",
	// "web"), kept with the import.
	Kind string
	// Source names the source in errors and rejections: the file's path, or
	// "import_command of NAME".
	Source string
	// Progress, when set, receives reports at most every ProgressEvery
	// (default 100 ms) and once at the end, as for Sync.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Now stamps the import (its ReadAt, the members' FetchedAt, the left
	// members' UnfollowedAt); time.Now by default.
	Now func() time.Time
}

// How an import writes a new member set: its rows and openid index go into
// the stage buckets stageChunk members a transaction, in openid order, so
// each transaction only appends; its unionid indexes, sorted, follow in
// indexChunk entries a transaction; then one transaction swaps all of them
// in for the app's. A bbolt transaction holds every node it touches until
// it commits, and the appended keys of one transaction pile up in one node,
// so larger chunks cost memory faster than they save the pauses a Shared
// store makes between writes: at 256 Ki members a chunk the import of a
// million rows peaked at 300 MB of heap, at 64 Ki at 120 MB, at about the
// same speed (BENCHMARKS.md, "Imports").
const stageChunk = 1 << 16

// Tags of the unionid index keys an import sorts: which index the key
// (after the tag) goes in.
const (
	tagMember = 'u'
	tagFormer = 'f'
)

// SourceError is an import whose source could not be read to its end: it
// could not be opened, the command exited non-zero or broke off, the header
// had no openid column. The previous import is kept.
type SourceError struct {
	Source string
	Err    error // what imports.Read (or opening the source) said
}

func (e *SourceError) Error() string { return e.Err.Error() + "; the previous import is kept" }
func (e *SourceError) Unwrap() error { return e.Err }

// ErrEmptySource marks an import refused because its source held nothing,
// not even a header row, while the previous import had members: far more
// likely a broken export than an app whose every member left.
var ErrEmptySource = errors.New("the import source is empty")

// Import replaces the members of the imported app appid (a mini program, a
// mobile app, a website) with the rows read from r, as design.md's "Sync"
// says of imported apps.
//
// The whole source is read first, streaming: rows are sorted by openid in
// runs spilled to a temporary file beside the cache (imports.Merge combines
// an openid's rows), so memory does not grow with the source. A source that
// fails (r returns an error: the file could not be read, the command exited
// non-zero or broke off) or a cancelled ctx leaves the cache exactly as it
// was. Then the new member set is written beside the current one and swapped
// in with one transaction: members of the previous import missing from this
// one stay, marked left (not Subscribed, UnfollowedAt now); members are
// Subscribed with SubscribeTime = first_seen and FetchedAt = the import's
// time; last_seen is kept beside them (LastSeen). The unionid index entries
// that change go in with the swap; when more change than one transaction
// holds (a first import of a large app), the rest follow within moments and
// the import record says Pending until they have.
//
// Rejected rows are not an error: the returned Stats counts and lists them,
// and the valid rows are imported.
func Import(ctx context.Context, store *Store, appid string, r io.Reader, opts ImportOptions) (imports.Stats, error) {
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 100 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := validID("appid", appid); err != nil {
		return imports.Stats{Source: opts.Source}, fmt.Errorf("import: %w", err)
	}
	if store.opts.Mode.readOnly() {
		return imports.Stats{Source: opts.Source}, fmt.Errorf("import into %s: %w", store.path, ErrReadOnly)
	}
	store.syncMu.Lock()
	if store.syncing[appid] {
		store.syncMu.Unlock()
		return imports.Stats{Source: opts.Source}, fmt.Errorf("import of app %s: another sync of this app is already running in this process", appid)
	}
	store.syncing[appid] = true
	store.syncMu.Unlock()
	defer func() {
		store.syncMu.Lock()
		delete(store.syncing, appid)
		store.syncMu.Unlock()
	}()

	run := &importRun{s: store, appid: appid, label: appid, o: opts, started: time.Now(), dir: filepath.Dir(store.path)}
	run.phase.Store(PhaseStarting)
	stop := run.startReports()
	st, err := run.run(ctx, r)
	stop()
	run.report(true, err)
	return st, err
}

// importRun is one Import call.
type importRun struct {
	s       *Store
	appid   string
	label   string // "name (appid)" for errors
	name    string
	o       ImportOptions
	started time.Time
	dir     string // where the sort's temporary files go

	prev ImportInfo // the previous import, zero when none

	phase                       atomic.Value
	rows, members, joined, left atomic.Int64
	rejected                    atomic.Int64
	reportMu                    sync.Mutex
}

func (r *importRun) run(ctx context.Context, src io.Reader) (imports.Stats, error) {
	if err := r.begin(); err != nil {
		return imports.Stats{Source: r.o.Source}, fmt.Errorf("import of app %s: %w", r.label, err)
	}
	rows := newSorter(r.dir)
	defer rows.close()
	r.phase.Store(PhaseReading)
	st, err := r.read(ctx, src, rows)
	r.rejected.Store(int64(st.Rejected))
	if err != nil {
		return st, err
	}
	if st.Format == "" && r.prev.Members > 0 {
		return st, fmt.Errorf("%w: %s held nothing, not even a header row, so the %d members of the previous import are kept; if the app really has no members any more, give a source with just its header row", ErrEmptySource, r.o.Source, r.prev.Members)
	}
	r.phase.Store(PhaseWriting)
	// The import reads the app's members through its openid index.
	if err := r.s.catchUp(r.appid); err != nil {
		return st, fmt.Errorf("import of app %s: %w", r.label, err)
	}
	if r.prev.Pending {
		if err := r.reindex(); err != nil {
			return st, fmt.Errorf("import of app %s: repair the unionid index after an interrupted import: %w", r.label, err)
		}
	}
	if err := r.write(ctx, rows, st); err != nil {
		return st, err
	}
	r.phase.Store(PhaseDone)
	return st, nil
}

// begin reads the app's name and its previous import.
func (r *importRun) begin() error {
	return r.s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketApps).Get([]byte(r.appid)); v != nil {
			var rec appRecord
			if err := decodeApp(v, &rec); err != nil {
				return fmt.Errorf("app %s: %w", r.appid, err)
			}
			r.reportMu.Lock()
			r.name = rec.Name
			r.reportMu.Unlock()
			if rec.Name != "" {
				r.label = fmt.Sprintf("%s (%s)", rec.Name, r.appid)
			}
		}
		var err error
		r.prev, _, err = getImport(tx, r.appid)
		r.members.Store(r.prev.Members)
		return err
	})
}

// read sorts the source's valid rows into rows. The key of a row is its
// openid, a NUL (which no openid holds, and which sorts before every
// character of one) and its place in the source, so that an openid's rows
// come out together and in source order; the value is its unionid,
// first_seen and last_seen.
func (r *importRun) read(ctx context.Context, src io.Reader, rows *sorter) (imports.Stats, error) {
	var seq uint64
	var key, val []byte
	st, err := imports.Read(src, r.o.Source, func(row imports.Row) error {
		if seq%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		key = append(append(key[:0], row.OpenID...), 0)
		key = binary.BigEndian.AppendUint64(key, seq)
		seq++
		val = appendString(val[:0], row.UnionID)
		val = binary.AppendVarint(val, row.FirstSeen)
		val = binary.AppendVarint(val, row.LastSeen)
		r.rows.Add(1)
		return rows.add(key, val)
	})
	if err == nil {
		// Cancelled where no row came to look (an empty source, or the
		// last rows): the import stops all the same, writing nothing.
		err = ctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			return st, fmt.Errorf("import of app %s interrupted (%w) while reading %s; the previous import is kept", r.label, context.Cause(ctx), r.o.Source)
		}
		return st, fmt.Errorf("import of app %s: %w", r.label, &SourceError{Source: r.o.Source, Err: err})
	}
	return st, nil
}

// diffMax is how many members an import may change and still be written in
// place, in one transaction with the app's record: the daily re-read of a
// login table, where a few thousand people are new or gone. Each change
// touches a page of the app's B-tree and of the index, which that
// transaction keeps in memory; more changes than this (a first import, a
// source that changed a lot) are written as a new member set instead,
// beside the current one, and swapped in.
var diffMax = 4096 // a variable so that tests can take either way

// errManyChanges stops the first pass over an import that changes more
// than diffMax members.
var errManyChanges = errors.New("more than diffMax changes")

// mergeTotals are what a pass over the new import learns of it.
type mergeTotals struct {
	counts                Counts
	members, joined, left int64
}

// member is one openid's state before and after the import: row its merged
// row in the new import, prev what the cache held (either may be nil, not
// both), p and seen what it becomes.
type member struct {
	row     *imports.Row
	prev    *oldRow
	p       Profile
	seen    int64
	changed bool
}

// merge walks the sorted rows of the import beside the app's cached
// profiles, both in openid order, and calls fn with every openid of either.
func (r *importRun) merge(ctx context.Context, rows *sorter, now int64, fn func(m *member) error) (mergeTotals, error) {
	var t mergeTotals
	it, err := rows.iter()
	if err != nil {
		return t, err
	}
	src := &mergedRows{it: it}
	src.advance()
	old := &oldIter{s: r.s, appid: r.appid}
	old.advance()
	var m member
	for n := 0; src.ok || old.ok; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return t, fmt.Errorf("interrupted (%w) before the new members were written; the previous import is kept", context.Cause(ctx))
		}
		m = member{}
		switch {
		case !old.ok:
			m.row = &src.row
		case !src.ok:
			m.prev = old.cur()
		default:
			switch c := compareID(src.row.OpenID, old.cur().p.OpenID); {
			case c < 0:
				m.row = &src.row
			case c > 0:
				m.prev = old.cur()
			default:
				m.row, m.prev = &src.row, old.cur()
			}
		}
		m.p, m.seen, m.changed = nextMember(r.appid, m.row, m.prev, now)
		switch {
		case m.row != nil:
			t.members++
			if m.prev == nil || !active(&m.prev.p) {
				t.joined++
			}
		case active(&m.prev.p):
			t.left++
		}
		t.counts.add(&m.p, 1)
		if err := fn(&m); err != nil {
			return t, err
		}
		if m.row != nil {
			src.advance()
		}
		if m.prev != nil {
			old.advance()
		}
	}
	if src.err != nil {
		return t, src.err
	}
	return t, old.err
}

// write brings the app's members, index entries, counters and import
// record to what the import says: in place when few members change,
// through a new member set otherwise.
func (r *importRun) write(ctx context.Context, rows *sorter, st imports.Stats) error {
	now := r.o.Now()
	info := ImportInfo{Kind: r.o.Kind, Source: r.o.Source, Format: string(st.Format), ReadAt: now,
		Rows: int64(st.Rows), Rejected: int64(st.Rejected)}

	var changes []member
	t, err := r.merge(ctx, rows, now.Unix(), func(m *member) error {
		if !m.changed {
			return nil
		}
		if len(changes) == diffMax {
			return errManyChanges
		}
		c := *m
		if c.prev != nil {
			prev := *c.prev
			c.prev = &prev
		}
		c.row = nil
		changes = append(changes, c)
		return nil
	})
	switch {
	case err == nil:
		if err := r.writeChanges(changes, t, info); err != nil {
			return fmt.Errorf("import of app %s: %w", r.label, err)
		}
		return nil
	case !errors.Is(err, errManyChanges):
		return fmt.Errorf("import of app %s: %w", r.label, err)
	}
	changes = nil
	return r.rebuild(ctx, rows, info)
}

// writeChanges writes the few members an import changes, in place, in one
// transaction with the app's record and the import record. update and add
// keep the indexes and the counters in step.
func (r *importRun) writeChanges(changes []member, t mergeTotals, info ImportInfo) error {
	err := r.s.update(func(tx *bolt.Tx) error {
		a, err := openAppTx(tx, r.appid)
		if err != nil {
			return err
		}
		seen, err := tx.CreateBucketIfNotExists(bucketImportSeen)
		if err != nil {
			return err
		}
		sb, err := seen.CreateBucketIfNotExists([]byte(r.appid))
		if err != nil {
			return err
		}
		a.rec.Writes++
		for i := range changes {
			c := &changes[i]
			var err error
			if c.prev != nil {
				err = a.update(c.prev.row, &c.p, &c.prev.p)
			} else {
				_, err = a.add(&c.p, true)
			}
			if err != nil {
				return err
			}
			if c.prev == nil || c.seen != c.prev.seen {
				if err := setLastSeen(sb, a.keep, c.p.OpenID, c.seen); err != nil {
					return err
				}
			}
		}
		a.rec.Counts = t.counts // what put kept in step, unless they were off before
		r.finishRecord(a, &info, t)
		if err := putImport(tx, r.appid, &info, a); err != nil {
			return err
		}
		return a.save()
	})
	if err != nil {
		return fmt.Errorf("write the changed members: %w", err)
	}
	return nil
}

// finishRecord sets the app's sync state and fills info from t, for the
// transaction that puts the import in place.
func (r *importRun) finishRecord(a *appTx, info *ImportInfo, t mergeTotals) {
	info.Members, info.Joined, info.Left = t.members, t.joined, t.left
	r.members.Store(t.members)
	r.joined.Store(t.joined)
	r.left.Store(t.left)
	a.rec.Sync = SyncState{
		RunID:          a.rec.Sync.RunID + 1,
		StartedAt:      r.started,
		FinishedAt:     info.ReadAt,
		LastCompleteAt: info.ReadAt,
		Listed:         t.members,
		Total:          t.members,
		Unfollowed:     t.left,
	}
}

// rebuild writes the new member set beside the current one, with its
// openid and unionid indexes, and swaps it in.
func (r *importRun) rebuild(ctx context.Context, rows *sorter, info ImportInfo) error {
	fail := func(err error) error {
		r.dropStage()
		return fmt.Errorf("import of app %s: %w", r.label, err)
	}
	keys := newSorter(r.dir)
	defer keys.close()
	stage := &stageWriter{s: r.s, appid: []byte(r.appid)}
	var enc, key []byte
	n := uint32(0)
	var prefix appRecord // its Prefix, as the staged rows would give it
	t, err := r.merge(ctx, rows, info.ReadAt.Unix(), func(m *member) error {
		prefix.notePrefix(m.p.OpenID)
		prefix.Rows++
		switch {
		case indexed(&m.p):
			key = memberKey(append(key[:0], tagMember), m.p.UnionID, m.p.OpenID)
		case former(&m.p):
			key = memberKey(append(key[:0], tagFormer), m.p.UnionID, m.p.OpenID)
		default:
			key = key[:0]
		}
		if len(key) > 0 {
			if err := keys.add(key, nil); err != nil {
				return err
			}
		}
		enc = encodeRecord(enc[:0], &m.p)
		n++
		return stage.add(m.p.OpenID, enc, m.seen)
	})
	if err != nil {
		stage.finish()
		return fail(err)
	}
	if err := stage.finish(); err != nil {
		return fail(err)
	}
	if err := r.stageMembers(keys); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("interrupted (%w) before the new members were swapped in; the previous import is kept", context.Cause(ctx)))
	}
	if err := r.swap(t, info, n, prefix.Prefix); err != nil {
		return fail(err)
	}
	return nil
}

// stageMembers writes the staged unionid indexes from the sorted keys
// (tagged with the index they go in), indexChunk a transaction.
func (r *importRun) stageMembers(keys *sorter) error {
	it, err := keys.iter()
	if err != nil {
		return err
	}
	empty := []byte{}
	var batch [][]byte
	var tag byte
	flush := func() error {
		for len(batch) > 0 {
			err := r.s.update(func(tx *bolt.Tx) error {
				parent := stageMembers
				if tag == tagFormer {
					parent = stageFormers
				}
				b, err := stageBucket(tx, parent, []byte(r.appid), false)
				if err != nil {
					return err
				}
				n, err := (&packed{b: b, tx: cloneKeeper{}, owner: []byte(r.appid)}).merge(batch, func(int, []byte, bool) []byte { return empty })
				batch = batch[n:]
				return err
			})
			if err != nil {
				return fmt.Errorf("write the new members' unionid index: %w", err)
			}
		}
		batch = nil
		return nil
	}
	for it.next() {
		k := it.key
		if len(k) < 2 {
			return fmt.Errorf("a malformed index key in the temporary file: %w", errCorrupt)
		}
		if k[0] != tag || len(batch) == indexChunk {
			if err := flush(); err != nil {
				return err
			}
			tag = k[0]
		}
		batch = append(batch, bytes.Clone(k[1:]))
	}
	if it.err != nil {
		return it.err
	}
	return flush()
}

// stageBucket is appid's sub-bucket of the stage bucket parent, created
// (and with fresh, emptied) on demand.
func stageBucket(tx *bolt.Tx, parent, appid []byte, fresh bool) (*bolt.Bucket, error) {
	stage, err := tx.CreateBucketIfNotExists(bucketImportStage)
	if err != nil {
		return nil, err
	}
	p, err := stage.CreateBucketIfNotExists(parent)
	if err != nil {
		return nil, err
	}
	if fresh && p.Bucket(appid) != nil {
		if err := p.DeleteBucket(appid); err != nil {
			return nil, err
		}
	}
	b, err := p.CreateBucketIfNotExists(appid)
	if err != nil {
		return nil, err
	}
	b.FillPercent = 1 // appended in key order, replaced whole by the next import
	return b, nil
}

// nextMember is the profile (and last_seen) an openid has after the import,
// and whether that changes what the cache holds: row is its merged row in
// the new import, prev what the cache held; either may be nil, not both. A
// member of the import follows with the row's unionid and first_seen,
// falling back to what the cache knew when the row leaves them empty (a
// unionid does not change; an old login row may be gone from a rotated
// log); FetchedAt is the import that last changed it. A previous member
// missing from the import is marked left, keeping everything else.
func nextMember(appid string, row *imports.Row, prev *oldRow, now int64) (Profile, int64, bool) {
	if row == nil {
		p := prev.p
		if !active(&p) {
			return p, prev.seen, false
		}
		p.Subscribed = false
		p.UnfollowedAt = now
		return p, prev.seen, true
	}
	p := Profile{AppID: appid, OpenID: row.OpenID, UnionID: row.UnionID, Subscribed: true,
		SubscribeTime: row.FirstSeen, FetchedAt: now}
	seen := row.LastSeen
	if prev != nil {
		if p.UnionID == "" {
			p.UnionID = prev.p.UnionID
		}
		if p.SubscribeTime == 0 {
			p.SubscribeTime = prev.p.SubscribeTime
		}
		if seen == 0 {
			seen = prev.seen
		}
		if seen == prev.seen && sameMember(&p, &prev.p) {
			return prev.p, seen, false
		}
	}
	return p, seen, true
}

// sameMember reports whether a and b hold the same values, when it was
// fetched aside.
func sameMember(a, b *Profile) bool {
	return a.UnionID == b.UnionID && a.Subscribed == b.Subscribed && a.SubscribeTime == b.SubscribeTime &&
		a.UnfollowedAt == b.UnfollowedAt && a.SubscribeScene == b.SubscribeScene && a.QRScene == b.QRScene &&
		a.QRSceneStr == b.QRSceneStr && a.Remark == b.Remark && len(a.TagIDs) == 0 && len(b.TagIDs) == 0 && a.GroupID == b.GroupID
}

// swap puts the staged member set (n rows, their openids all starting with
// prefix) in place of the app's rows,
// indexes and last_seen values, with the app's counters, sync state and
// import record, in one transaction.
func (r *importRun) swap(t mergeTotals, info ImportInfo, n uint32, prefix string) error {
	appid := []byte(r.appid)
	err := r.s.update(func(tx *bolt.Tx) error {
		stage := tx.Bucket(bucketImportStage)
		for _, sp := range stageParents {
			if stage == nil || stage.Bucket(sp.stage) == nil || stage.Bucket(sp.stage).Bucket(appid) == nil {
				if bytes.Equal(sp.stage, stageRows) || bytes.Equal(sp.stage, stageIDs) {
					return errors.New("the staged members are gone (another process imported this app meanwhile?); import again")
				}
				if _, err := stageBucket(tx, sp.stage, appid, false); err != nil { // none to stage: an empty one
					return err
				}
				stage = tx.Bucket(bucketImportStage)
			}
			live, err := tx.CreateBucketIfNotExists(sp.live)
			if err != nil {
				return err
			}
			if live.Bucket(appid) != nil {
				if err := live.DeleteBucket(appid); err != nil {
					return err
				}
			}
			if err := tx.MoveBucket(appid, stage.Bucket(sp.stage), live); err != nil {
				return fmt.Errorf("swap the members in: %w", err)
			}
		}
		// What a sync of the app had listed means nothing to the new set.
		if b := tx.Bucket(bucketSeen); b.Bucket(appid) != nil {
			if err := b.DeleteBucket(appid); err != nil {
				return err
			}
		}
		a, err := openAppTx(tx, r.appid)
		if err != nil {
			return err
		}
		a.rec.Rows, a.rec.Indexed, a.rec.Prefix = n, n, prefix
		a.rec.Writes++
		info.Pending = false
		a.rec.Counts = t.counts
		r.finishRecord(a, &info, t)
		if err := putImport(tx, r.appid, &info, a); err != nil {
			return err
		}
		return a.save()
	})
	if err != nil {
		return fmt.Errorf("swap the new members in: %w", err)
	}
	return nil
}

func putImport(tx *bolt.Tx, appid string, info *ImportInfo, a *appTx) error {
	b, err := tx.CreateBucketIfNotExists(bucketImports)
	if err != nil {
		return err
	}
	return b.Put([]byte(appid), a.keep(encodeImport(nil, info)))
}

// setPending sets the Pending flag of the app's import record.
func setPending(tx *bolt.Tx, a *appTx, pending bool) error {
	info, ok, err := getImport(tx, a.appid)
	if err != nil || !ok {
		return err
	}
	info.Pending = pending
	return putImport(tx, a.appid, &info, a)
}

// dropStage removes what a failed import staged. A failure here only leaves
// the stage for the next import to clear.
func (r *importRun) dropStage() {
	_ = r.s.update(func(tx *bolt.Tx) error {
		stage := tx.Bucket(bucketImportStage)
		if stage == nil {
			return nil
		}
		for _, name := range [][]byte{stageRows, stageIDs, stageMembers, stageFormers, stageSeen, stageProfiles} {
			if b := stage.Bucket(name); b != nil && b.Bucket([]byte(r.appid)) != nil {
				if err := b.DeleteBucket([]byte(r.appid)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// compareID orders openids as bbolt orders their keys.
func compareID(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mergedRows walks the sorted rows of a source one openid at a time, its
// rows combined with imports.Merge in source order.
type mergedRows struct {
	it   *sortIter
	look imports.Row // the next record, not yet merged
	has  bool        // look holds a record
	row  imports.Row // the current openid's merged row
	ok   bool
	err  error
	init bool
}

func (m *mergedRows) advance() {
	if !m.init {
		m.init = true
		m.has = m.load()
	}
	if !m.has {
		m.ok = false
		return
	}
	row := m.look
	for {
		m.has = m.load()
		if !m.has || m.look.OpenID != row.OpenID {
			break
		}
		row = imports.Merge(row, m.look)
	}
	m.row, m.ok = row, true
}

// load decodes the sorter's next record into look.
func (m *mergedRows) load() bool {
	if m.err != nil || !m.it.next() {
		if m.err == nil {
			m.err = m.it.err
		}
		return false
	}
	k, v := m.it.key, m.it.val
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		m.err = fmt.Errorf("a malformed row in the temporary file: %w", errCorrupt)
		return false
	}
	rd := reader{s: string(v)}
	union := rd.string()
	first, last := rd.varint(), rd.varint()
	if err := rd.end("sorted row"); err != nil {
		m.err = err
		return false
	}
	m.look = imports.Row{OpenID: string(k[:i]), UnionID: union, FirstSeen: first, LastSeen: last}
	return true
}

// oldRow is a cached member with its last_seen and its row.
type oldRow struct {
	p    Profile
	seen int64
	row  uint32
}

// oldIter walks the cached profiles of an app in openid order (its openid
// index), a chunk of profileChunk per read transaction, with their
// last_seen values.
type oldIter struct {
	s     *Store
	appid string
	buf   []oldRow
	i     int
	after []byte
	more  bool // a chunk was full: there may be more after it
	init  bool
	ok    bool
	err   error
}

func (o *oldIter) cur() *oldRow { return &o.buf[o.i] }

func (o *oldIter) advance() {
	if o.init {
		o.i++
	}
	if !o.init || (o.i >= len(o.buf) && o.more) {
		o.init = true
		o.fill()
	}
	o.ok = o.err == nil && o.i < len(o.buf)
}

func (o *oldIter) fill() {
	o.buf, o.i, o.more = o.buf[:0], 0, false
	o.err = o.s.view(func(tx *bolt.Tx) error {
		ar, err := readRows(tx, o.appid)
		if err != nil || ar.rows == nil {
			return err
		}
		var sc *seenCursor
		if sb := seenBucket(tx, o.appid); sb != nil {
			sc = &seenCursor{c: sb.Cursor()}
		}
		it := ar.ids.seek(o.after)
		k, rv, ok := it.next()
		if ok && o.after != nil && bytes.Equal(k, o.after) {
			k, rv, ok = it.next()
		}
		if sc != nil && ok {
			sc.seek(k)
		}
		for ; ok; k, rv, ok = it.next() {
			if len(o.buf) == profileChunk {
				o.more = true
				break
			}
			n, okRow := rowOf(rv)
			v := ar.rows.Get(rowKey(nil, n))
			if !okRow || v == nil {
				return fmt.Errorf("openid %s: the index names a missing row: %w", k, errCorrupt)
			}
			row := oldRow{row: n}
			if err := decodeRecord(v, &row.p); err != nil {
				return fmt.Errorf("openid %s: %w", k, err)
			}
			row.p.AppID = o.appid
			if sc != nil {
				for e := sc.cur(); e != nil && e.openid < row.p.OpenID; e = sc.cur() {
					sc.next()
				}
				if e := sc.cur(); e != nil && e.openid == row.p.OpenID {
					row.seen = e.t
				}
			}
			o.buf = append(o.buf, row)
		}
		if err := it.err(); err != nil {
			return err
		}
		if sc != nil && sc.err != nil {
			return sc.err
		}
		if len(o.buf) > 0 {
			o.after = append(o.after[:0], o.buf[len(o.buf)-1].p.OpenID...)
		}
		return nil
	})
	if o.err != nil {
		o.err = fmt.Errorf("read the cached members: %w", o.err)
	}
}

// stageWriter appends the next member set to the stage buckets, stageChunk
// members a transaction. The transactions run in a goroutine of their own,
// one chunk behind, so that the merge goes on while a chunk is written (and
// while a Shared store pauses between writes).
type stageWriter struct {
	s     *Store
	appid []byte
	arena []byte
	recs  []stageRec
	n     int    // members added
	rows  uint32 // rows written (the writer's)

	started bool
	work    chan []stageRec // chunks to write; closed by finish
	done    chan error      // the writer's result
	failed  error           // the writer's error, once known
}

type stageRec struct {
	key, val []byte
	seen     int64
}

func (w *stageWriter) add(openid string, val []byte, seen int64) error {
	if need := len(openid) + len(val); len(w.arena)+need > cap(w.arena) {
		// A new block rather than a grown one: the records point into it.
		w.arena = make([]byte, 0, max(1<<20, need))
	}
	start := len(w.arena)
	w.arena = append(w.arena, openid...)
	w.arena = append(w.arena, val...)
	k := w.arena[start : start+len(openid) : start+len(openid)]
	v := w.arena[start+len(openid) : len(w.arena) : len(w.arena)]
	w.recs = append(w.recs, stageRec{key: k, val: v, seen: seen})
	w.n++
	if len(w.recs) >= stageChunk {
		return w.send()
	}
	return nil
}

// send hands the gathered members to the writer. The arena and the records
// go with them: bbolt keeps the slices until the commit.
func (w *stageWriter) send() error {
	if !w.started {
		w.started = true
		w.work, w.done = make(chan []stageRec, 1), make(chan error, 1)
		go w.writer()
	}
	select {
	case w.work <- w.recs:
	case err := <-w.done:
		w.failed = err
		close(w.work)
		w.work = nil
		return err
	}
	w.arena, w.recs = nil, make([]stageRec, 0, stageChunk)
	return nil
}

// finish writes what is left and waits for the writer; it must be called
// once after the last add, whatever happened.
func (w *stageWriter) finish() error {
	if w.failed != nil {
		return w.failed
	}
	if err := w.send(); err != nil { // an empty chunk still makes the buckets
		return err
	}
	close(w.work)
	return <-w.done
}

// writer writes the chunks it is sent until the channel closes or a write
// fails; the first chunk also clears what an earlier import left staged.
func (w *stageWriter) writer() {
	first := true
	for recs := range w.work {
		if err := w.write(recs, first); err != nil {
			w.done <- err
			for range w.work { // let the sender finish
			}
			return
		}
		first = false
	}
	w.done <- nil
}

func (w *stageWriter) write(recs []stageRec, first bool) error {
	err := w.s.update(func(tx *bolt.Tx) error {
		if first {
			for _, name := range [][]byte{stageMembers, stageFormers, stageProfiles} {
				if stage := tx.Bucket(bucketImportStage); stage != nil && stage.Bucket(name) != nil && stage.Bucket(name).Bucket(w.appid) != nil {
					if err := stage.Bucket(name).DeleteBucket(w.appid); err != nil {
						return err
					}
				}
			}
		}
		var bs [3]*bolt.Bucket
		for i, name := range [][]byte{stageRows, stageIDs, stageSeen} {
			var err error
			if bs[i], err = stageBucket(tx, name, w.appid, first); err != nil {
				return err
			}
		}
		seen := &seenBlockWriter{put: bs[2].Put}
		ids := make([][]byte, len(recs))
		rowKeys := make([][]byte, len(recs))
		for i, rec := range recs {
			rowKeys[i] = rowKey(nil, w.rows)
			w.rows++
			if err := bs[0].Put(rowKeys[i], rec.val); err != nil {
				return err
			}
			ids[i] = rec.key
			if rec.seen > 0 {
				if err := seen.add(string(rec.key), rec.seen); err != nil {
					return err
				}
			}
		}
		// The records come in openid order: the index's blocks are appended.
		idx := &packed{b: bs[1], tx: cloneKeeper{}, owner: w.appid}
		for len(ids) > 0 {
			n, err := idx.merge(ids, func(i int, _ []byte, _ bool) []byte { return rowKeys[i] })
			if err != nil {
				return err
			}
			ids, rowKeys = ids[n:], rowKeys[n:]
		}
		return seen.flush()
	})
	if err != nil {
		return fmt.Errorf("write the new members: %w", err)
	}
	return nil
}

// reindex rebuilds the app's unionid indexes from its rows, sorted and
// written in key order in place of what is there. It repairs what a schema
// 2 import stopped during its last step left (Pending).
func (r *importRun) reindex() error {
	keys := newSorter(r.dir)
	defer keys.close()
	var key []byte
	err := r.s.EachProfile(r.appid, "", func(p Profile) error {
		switch {
		case indexed(&p):
			key = memberKey(append(key[:0], tagMember), p.UnionID, p.OpenID)
		case former(&p):
			key = memberKey(append(key[:0], tagFormer), p.UnionID, p.OpenID)
		default:
			return nil
		}
		return keys.add(key, nil)
	})
	if err != nil {
		return err
	}
	// Built as a stage, then swapped in for the live indexes.
	if err := r.stageMembers(keys); err != nil {
		return err
	}
	return r.s.update(func(tx *bolt.Tx) error {
		appid := []byte(r.appid)
		for _, sp := range stageParents[2:4] {
			b, err := stageBucket(tx, sp.stage, appid, false)
			if err != nil {
				return err
			}
			_ = b
			live := tx.Bucket(sp.live)
			if live.Bucket(appid) != nil {
				if err := live.DeleteBucket(appid); err != nil {
					return err
				}
			}
			if err := tx.MoveBucket(appid, tx.Bucket(bucketImportStage).Bucket(sp.stage), live); err != nil {
				return err
			}
		}
		a, err := openAppTx(tx, r.appid)
		if err != nil {
			return err
		}
		if err := setPending(tx, a, false); err != nil {
			return err
		}
		return a.save()
	})
}

// startReports delivers throttled progress reports until the returned
// function is called.
func (r *importRun) startReports() (stop func()) {
	if r.o.Progress == nil {
		return func() {}
	}
	return everyTick(r.o.ProgressEvery, func() { r.report(false, nil) })
}

func (r *importRun) report(final bool, err error) {
	if r.o.Progress == nil {
		return
	}
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	ph := r.phase.Load().(Phase)
	switch {
	case final && errors.Is(err, context.Canceled):
		ph = PhasePaused
	case final && err != nil:
		ph = PhaseFailed
	}
	p := Progress{
		AppID:    r.appid,
		Name:     r.name,
		Phase:    ph,
		Elapsed:  time.Since(r.started),
		Final:    final,
		Err:      err,
		Source:   r.o.Source,
		Rows:     r.rows.Load(),
		Rejected: r.rejected.Load(),
		Members:  r.members.Load(),
		Joined:   r.joined.Load(),
		Left:     r.left.Load(),
	}
	p.Listed, p.Total = p.Rows, p.Members
	if secs := p.Elapsed.Seconds(); secs > 0 {
		p.Rate = float64(p.Rows) / secs
	}
	r.o.Progress(p)
}
