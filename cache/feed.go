package cache

// An indexFeed gathers the catch-up's records (index.go) of the rows a sync
// run appends, as each commit writes them: the run has the rows in memory
// then, and a catch-up that read them all back from the file at the end of
// the run, decoded them and only then sorted them, was a quarter of a cold
// sync's CPU and, being the run's last step, all on its wall time.
//
// The feed is only a shortcut. The file alone says what is to be indexed
// (rec.Indexed to rec.Rows), and a run killed at any moment leaves that to
// the next run's catch-up, which reads the rows (readTail). So the feed is
// used only when it holds exactly those rows as they are (covers): none
// written again since it took them (the sync rewrites a tail row when an
// openid is listed twice), no write outside the sync (the app's write
// counter), no row appended that it did not see, and no commit that failed
// after it was fed. Anything else spoils it, and the catch-up reads the
// rows as before.
type indexFeed struct {
	dir        string
	started    bool
	spoiled    bool
	from, next uint32 // the rows fed: [from, next)
	writes     uint64 // the app's write counter when the first row came

	ids, following, left *sorter
	key, row             []byte
}

// feedRunBytes bounds each of the feed's sorters in memory: they live for
// the whole run, beside the groups of fetched profiles, so they spill
// sooner than a catch-up's own (sortRunBytes). 100 000 rows fit. A
// variable, so that a test can have a few rows spill.
var feedRunBytes = 8 << 20

func newIndexFeed(dir string) *indexFeed {
	f := &indexFeed{dir: dir}
	f.ids, f.following, f.left = newSorter(dir), newSorter(dir), newSorter(dir)
	for _, s := range []*sorter{f.ids, f.following, f.left} {
		s.limit = feedRunBytes
	}
	return f
}

// expect says about how many rows the feed will take (a first sync
// appends every follower it lists), so that its sorters size their buffers
// once rather than doubling them.
func (f *indexFeed) expect(rows int) {
	if f == nil || f.started || rows <= 0 {
		return
	}
	f.ids.expectRecords(rows)
	f.following.expectRecords(rows) // most rows are followers with a unionid
}

// rowLog is what one write transaction of a sync appended to the tail and
// which rows it rewrote, for the feed to take once the transaction has
// committed (appTx.log).
type rowLog struct {
	added     []addedRow
	rewroteTo uint32 // one past the highest row written again; 0 for none
	writes    uint64 // the app's write counter in the transaction
}

// addedRow is a row appended to the tail, with what its index entries
// need. The strings are the answer's: they outlive the commit.
type addedRow struct {
	row             uint32
	openID, unionID string
	active          bool
}

// take feeds the rows of a committed transaction's log. A sorter that
// fails to spill spoils the feed: the catch-up will read the rows.
func (f *indexFeed) take(l *rowLog) {
	if f == nil || f.spoiled {
		return
	}
	if len(l.added) > 0 && !f.started {
		f.started, f.from, f.next, f.writes = true, l.added[0].row, l.added[0].row, l.writes
	}
	if !f.started {
		return // nothing fed yet that this transaction could have changed
	}
	if l.rewroteTo > f.from || l.writes != f.writes {
		f.spoil()
		return
	}
	for _, a := range l.added {
		if a.row != f.next {
			f.spoil()
			return
		}
		f.next++
		f.row = rowKey(f.row[:0], a.row)
		if err := f.ids.add([]byte(a.openID), f.row); err != nil {
			f.spoil()
			return
		}
		if a.unionID == "" {
			continue
		}
		to := f.left
		if a.active {
			to = f.following
		}
		f.key = memberKey(f.key[:0], a.unionID, a.openID)
		if err := to.add(f.key, f.row); err != nil {
			f.spoil()
			return
		}
	}
}

// covers reports whether the feed holds exactly the rows [from, end) of an
// app whose write counter is writes, as they are in the file.
func (f *indexFeed) covers(from, end uint32, writes uint64) bool {
	return f != nil && f.started && !f.spoiled && f.from == from && f.next == end && f.writes == writes
}

// sorters hands the feed's sorters over to the catch-up, which closes them.
func (f *indexFeed) sorters() (ids, following, left *sorter) {
	ids, following, left = f.ids, f.following, f.left
	f.ids, f.following, f.left = nil, nil, nil
	f.spoiled = true // nothing more to feed into
	return ids, following, left
}

// spoil gives up the feed, freeing what it holds.
func (f *indexFeed) spoil() {
	f.spoiled = true
	f.close()
}

func (f *indexFeed) close() {
	if f == nil {
		return
	}
	for _, s := range []*sorter{f.ids, f.following, f.left} {
		if s != nil {
			s.close()
		}
	}
	f.ids, f.following, f.left = nil, nil, nil
}
