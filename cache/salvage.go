package cache

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SalvageReport is what Salvage copied and where it left the damaged file.
type SalvageReport struct {
	// Kept is the damaged file under its new, dated name beside the cache.
	Kept string
	// Apps and Profiles are what the fresh cache holds.
	Apps     int
	Profiles int64
	// LostPages counts the parts of the file (a page and what hangs below
	// it) that could not be read; LostValues the records that did not
	// decode. Problems are the first few reasons, in words.
	LostPages  int
	LostValues int
	Problems   []string
}

// salvageBatch is how many profiles one transaction of the fresh cache
// takes.
const salvageBatch = 5000

// Salvage copies every record that can still be read from the damaged cache
// at path into a fresh cache, which then takes its place; the damaged file
// is kept beside it as PATH.damaged-YYYYMMDD-HHMM. Nothing is deleted.
//
// The damaged file is read without bbolt, page by page (see pageFile),
// skipping what cannot be read: of each app its name, its profiles with the
// sync run that last saw them and the time they were fetched. The indexes
// and counters are rebuilt from the profiles. Each app's sync starts over
// on the next Sync, which fetches what was lost and leaves profiles still
// fresh in place. Salvage holds the file's lock exclusively meanwhile:
// another process using the cache makes it fail with an *InUseError.
func Salvage(path string, now time.Time) (*SalvageReport, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s: there is nothing to salvage; run wxscope sync", ErrNoCache, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open the cache %s: %w", path, err)
	}
	defer f.Close()
	if err := flockExclusive(f, time.Now().Add(DefaultTimeout)); err != nil {
		return nil, &InUseError{Path: path, Holder: ReadHolder(path), Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read the cache %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("%w at %s (the file is empty): there is nothing to salvage; run wxscope sync", ErrNoCache, path)
	}

	// Of the trees the file holds (bbolt's meta pages point at the current
	// one and the one before), copy the one with the most profiles.
	var best *salvageSource
	sources := salvageSources(f, fi.Size())
	for _, src := range sources {
		if err := src.read(nil); err != nil {
			return nil, err
		}
		if best == nil || src.profiles > best.profiles {
			best = src
		}
	}
	if best != nil {
		// An older tree may still name apps whose record the chosen one lost.
		best.extra = map[string]appRecord{}
		for _, src := range sources {
			for appid, rec := range src.apps {
				if _, ok := best.extra[appid]; !ok {
					best.extra[appid] = rec
				}
			}
		}
	}
	if best == nil {
		return nil, fmt.Errorf("nothing in %s reads as a wxscope cache, so there is nothing to salvage; move the file away and run wxscope sync", path)
	}
	orphans, err := best.orphans()
	if err != nil {
		return nil, err
	}
	if best.profiles == 0 && len(orphans) == 0 && len(best.apps) == 0 {
		return nil, fmt.Errorf("nothing in %s reads as a wxscope cache, so there is nothing to salvage; move the file away and run wxscope sync", path)
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".salvage-*")
	if err != nil {
		return nil, fmt.Errorf("create the fresh cache beside %s: %w", path, err)
	}
	tmp.Close()
	fresh, err := Open(tmp.Name(), Options{Command: "wxscope salvage"})
	if err != nil {
		return nil, err
	}
	report, err := best.copyTo(fresh, orphans)
	if err == nil {
		err = fresh.Check()
	}
	if cerr := fresh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("salvage %s into %s (left there): %w", path, tmp.Name(), err)
	}

	kept, err := keepAside(path, now)
	if err != nil {
		return nil, fmt.Errorf("keep the damaged cache %s aside (the salvaged copy is %s): %w", path, tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("put the salvaged cache %s in place of %s (the damaged file is %s): %w", tmp.Name(), path, kept, err)
	}
	report.Kept = kept
	return report, nil
}

// keepAside gives the file at path a second, dated name beside it and
// returns it: a hard link, so that path stays in place until the fresh
// cache replaces it in one rename; a rename where links are not possible.
func keepAside(path string, now time.Time) (string, error) {
	base := path + ".damaged-" + now.Format("20060102-1504")
	for n := 1; ; n++ {
		kept := base
		if n > 1 {
			kept += "-" + strconv.Itoa(n)
		}
		err := os.Link(path, kept)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			if _, serr := os.Lstat(kept); serr == nil {
				continue
			}
			err = os.Rename(path, kept)
		}
		return kept, err
	}
}

func flockExclusive(f *os.File, deadline time.Time) error {
	for {
		err := tryLockExclusive(f)
		if err == nil || !lockHeld(err) {
			return err
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// salvageSource is one tree of a damaged file, read tolerantly.
type salvageSource struct {
	pf   *pageFile
	root uint64
	// Filled in by read:
	apps     map[string]appRecord // the app records that decoded
	appIDs   []string             // every app with a record or profiles, in order
	profiles int64
	lostVals int
	walker   *walker
	prefixes map[string]string // appid → the prefix its salvaged openids share
	// extra are app records found outside the tree (an older tree, a leaf
	// no branch leads to), for the apps whose record the tree lost.
	extra map[string]appRecord
}

// salvageSources are the trees worth trying: each meta page's (checksum or
// not), and when no meta page is left, every leaf page that looks like the
// root of a wxscope cache.
func salvageSources(f *os.File, size int64) []*salvageSource {
	var out []*salvageSource
	add := func(m boltMeta) {
		if !validPageSize(m.pageSize) || size/m.pageSize < 3 {
			return
		}
		// A truncated file holds fewer pages than its meta says; the
		// walker must not size its bitmap by a damaged page count either.
		m.hwm = min(m.hwm, uint64(size/m.pageSize))
		if !m.valid {
			m.hwm = uint64(size / m.pageSize) // the page count may be what broke
		}
		// A root past the end of a cut-off file leaves no tree to walk,
		// but the pages that are left still hold profiles (orphans).
		out = append(out, &salvageSource{pf: &pageFile{r: f, size: size, meta: m}, root: m.root})
	}
	for _, m := range readMetas(f, size) {
		add(m)
	}
	if len(out) > 0 {
		return out
	}
	const guess = 4096 // the page size bbolt picks on every system wxscope runs on
	hwm := uint64(size / guess)
	if hwm < 3 {
		return nil
	}
	pf := &pageFile{r: f, size: size, meta: boltMeta{pageSize: guess, hwm: hwm}}
	var buf []byte
	for id := uint64(2); id < hwm; id++ {
		var err error
		if buf, err = pf.page(id, pageFlagLeaf, buf); err == nil && looksLikeRoot(buf) {
			m := pf.meta
			m.root = id
			out = append(out, &salvageSource{pf: &pageFile{r: f, size: size, meta: m}, root: id})
			if len(out) == maxRootGuesses {
				break
			}
		}
	}
	return out
}

// maxRootGuesses bounds the trees tried when no meta page is left: each
// try reads the whole tree, and the file holds old roots too, freed pages
// not yet reused.
const maxRootGuesses = 16

// looksLikeRoot reports whether leaf page p holds the profiles bucket and
// the apps bucket, as the root of a wxscope cache does.
func looksLikeRoot(p []byte) bool {
	found := 0
	for i := range int(native.Uint16(p[10:])) {
		el, err := elementAt(p, pageFlagLeaf, i)
		if err == nil && el.bucket && (bytes.Equal(el.key, bucketProfiles) || bytes.Equal(el.key, bucketApps)) {
			found++
		}
	}
	return found == 2
}

// read walks the tree. With put nil it only counts what it finds;
// otherwise it hands each readable profile of each app to put.
func (src *salvageSource) read(put func(appid string, p Profile, seen uint64) error) error {
	w := newWalker(src.pf, true)
	src.walker, src.apps, src.appIDs, src.profiles, src.lostVals = w, map[string]appRecord{}, nil, 0, 0
	src.prefixes = map[string]string{}
	known := map[string]bool{}
	note := func(appid string) {
		if !known[appid] {
			known[appid] = true
			src.appIDs = append(src.appIDs, appid)
		}
	}
	var p Profile
	if src.root < 2 || src.root >= src.pf.meta.hwm {
		return w.fail(problemf("the root page %d is outside the file's %d pages", src.root, src.pf.meta.hwm))
	}
	return w.each(bucketRef{root: src.root}, func(name, _ []byte, top *bucketRef) error {
		switch {
		case top == nil:
			return nil
		case bytes.Equal(name, bucketApps):
			return w.each(*top, func(k, v []byte, child *bucketRef) error {
				var rec appRecord
				if child != nil || validID("appid", string(k)) != nil || decodeApp(v, &rec) != nil {
					src.lostVals++
					return nil
				}
				src.apps[string(k)] = rec
				note(string(k))
				return nil
			})
		case bytes.Equal(name, bucketProfiles):
			return w.each(*top, func(appid, _ []byte, app *bucketRef) error {
				if app == nil || validID("appid", string(appid)) != nil {
					src.lostVals++
					return nil
				}
				id := string(appid)
				return w.each(*app, func(k, v []byte, child *bucketRef) error {
					seen, err := decodeProfile(v, &p)
					if child != nil || err != nil || validID("openid", string(k)) != nil || bytes.IndexByte([]byte(p.UnionID), 0) >= 0 {
						src.lostVals++
						return nil
					}
					note(id)
					src.profiles++
					if pre, ok := src.prefixes[id]; !ok {
						src.prefixes[id] = string(k)
					} else if !bytes.HasPrefix(k, []byte(pre)) {
						src.prefixes[id] = pre[:commonPrefix(pre, k)]
					}
					if put == nil {
						return nil
					}
					p.AppID, p.OpenID = id, string(k)
					return put(id, p, seen)
				})
			})
		}
		return nil
	})
}

// orphanProfile is a profile read from a leaf page that no readable branch
// page leads to: below a damaged one, or an older copy in a freed page.
type orphanProfile struct {
	p    Profile
	seen uint64
}

// orphans reads the leaf pages the walk of src did not reach, and keeps
// the ones that hold nothing but profiles, attributed to their app: by the
// prefix the app's salvaged openids share, else by the unionid indexes.
// Of two copies of one openid the one fetched later wins. A profile the
// tree holds too is ignored when copying (copyTo).
func (src *salvageSource) orphans() ([]orphanProfile, error) {
	w := src.walker
	var buf []byte
	var leaves []orphanProfile
	// Leaves of the unionid indexes that no branch leads to still say
	// which app an openid is of.
	indexed := map[string]string{}
	for id := uint64(2); id < src.pf.meta.hwm; id++ {
		if w.seen[id/64]&(1<<(id%64)) != 0 {
			continue
		}
		var err error
		if buf, err = src.pf.page(id, pageFlagLeaf, buf); err != nil {
			continue
		}
		if n := int(native.Uint16(buf[10:])); n > 0 {
			if recs := appRecordsIn(buf); recs != nil {
				// A leaf of the apps bucket: the names the tree lost.
				for appid, rec := range recs {
					if _, ok := src.extra[appid]; !ok {
						src.extra[appid] = rec
					}
				}
				continue
			}
			if el, err := elementAt(buf, pageFlagLeaf, 0); err == nil && len(el.value) == 0 {
				for i := range n {
					el, err := elementAt(buf, pageFlagLeaf, i)
					if err != nil {
						break
					}
					if _, a, o, ok := splitUnionKey(el.key); ok && !el.bucket && len(el.value) == 0 {
						indexed[string(o)] = string(a)
					}
				}
				continue
			}
		}
		var page []orphanProfile
		for i := range int(native.Uint16(buf[10:])) {
			el, err := elementAt(buf, pageFlagLeaf, i)
			var p Profile
			var seen uint64
			if err == nil && !el.bucket && validID("openid", string(el.key)) == nil {
				seen, err = decodeProfile(el.value, &p)
			} else if err == nil {
				err = errCorrupt
			}
			if err != nil || bytes.IndexByte([]byte(p.UnionID), 0) >= 0 {
				page = nil
				break
			}
			p.OpenID = string(el.key)
			page = append(page, orphanProfile{p, seen})
		}
		leaves = append(leaves, page...)
	}
	if len(leaves) == 0 {
		return nil, nil
	}
	// Attribute by prefix where exactly one app's openids share it.
	var unknown map[string]bool
	for i := range leaves {
		o := &leaves[i]
		for appid, pre := range src.prefixes {
			if len(pre) >= minPrefix && strings.HasPrefix(o.p.OpenID, pre) {
				if o.p.AppID != "" {
					o.p.AppID = "?"
					break
				}
				o.p.AppID = appid
			}
		}
		if o.p.AppID == "" || o.p.AppID == "?" {
			o.p.AppID = ""
			if unknown == nil {
				unknown = map[string]bool{}
			}
			unknown[o.p.OpenID] = true
		}
	}
	if unknown != nil {
		owner, err := src.indexOwners(unknown)
		if err != nil {
			return nil, err
		}
		for i := range leaves {
			if o := &leaves[i]; o.p.AppID == "" {
				o.p.AppID = cmp.Or(owner[o.p.OpenID], indexed[o.p.OpenID])
			}
		}
	}
	best := map[[2]string]int{}
	var out []orphanProfile
	for _, o := range leaves {
		if o.p.AppID == "" || validID("appid", o.p.AppID) != nil {
			src.lostVals++
			continue
		}
		k := [2]string{o.p.AppID, o.p.OpenID}
		if i, ok := best[k]; ok {
			if o.p.FetchedAt > out[i].p.FetchedAt {
				out[i] = o
			}
			continue
		}
		best[k] = len(out)
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b orphanProfile) int {
		return cmp.Or(strings.Compare(a.p.AppID, b.p.AppID), strings.Compare(a.p.OpenID, b.p.OpenID))
	})
	return out, nil
}

// appRecordsIn returns the app records of leaf page p when every element
// of it is one (the page is a leaf of the apps bucket), else nil.
func appRecordsIn(p []byte) map[string]appRecord {
	n := int(native.Uint16(p[10:]))
	recs := make(map[string]appRecord, n)
	for i := range n {
		el, err := elementAt(p, pageFlagLeaf, i)
		var rec appRecord
		if err != nil || el.bucket || !bytes.HasPrefix(el.key, []byte("wx")) || validID("appid", string(el.key)) != nil || decodeApp(el.value, &rec) != nil {
			return nil
		}
		recs[string(el.key)] = rec
	}
	return recs
}

// indexOwners finds the app of each of openids in the unionid indexes, as
// far as they can be read: appid \x00 openid is in each key.
func (src *salvageSource) indexOwners(openids map[string]bool) (map[string]string, error) {
	owner := map[string]string{}
	w := newWalker(src.pf, true)
	err := w.each(bucketRef{root: src.root}, func(name, _ []byte, top *bucketRef) error {
		if top == nil || !bytes.Equal(name, bucketUnionIDs) && !bytes.Equal(name, bucketFormerUnionIDs) {
			return nil
		}
		return w.each(*top, func(k, _ []byte, _ *bucketRef) error {
			if _, a, o, ok := splitUnionKey(k); ok && openids[string(o)] {
				owner[string(o)] = string(a)
			}
			return nil
		})
	})
	return owner, err
}

// commonPrefix is the length of the prefix a and b share.
func commonPrefix(a string, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// copyTo writes what src holds, then the orphans it lacks, into the fresh
// store s.
func (src *salvageSource) copyTo(s *Store, orphans []orphanProfile) (*SalvageReport, error) {
	type item struct {
		p    Profile
		seen uint64
	}
	var batch []item
	var batchApp string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.updateApp(batchApp, func(a *appTx) error {
			for i := range batch {
				it := &batch[i]
				old, _, ok, err := a.get(it.p.OpenID)
				if err != nil {
					return err
				}
				var oldp *Profile
				if ok {
					oldp = &old
				}
				if err := a.put(&it.p, oldp, it.seen); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	err := src.read(func(appid string, p Profile, seen uint64) error {
		if appid != batchApp || len(batch) >= salvageBatch {
			if err := flush(); err != nil {
				return err
			}
			batchApp = appid
		}
		batch = append(batch, item{p, seen})
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, fmt.Errorf("write the salvaged profiles: %w", err)
	}
	// The orphans, where the tree had no copy.
	added := int64(0)
	for start := 0; start < len(orphans); {
		appid := orphans[start].p.AppID
		end := start
		for end < len(orphans) && end-start < salvageBatch && orphans[end].p.AppID == appid {
			end++
		}
		err := s.updateApp(appid, func(a *appTx) error {
			for i := start; i < end; i++ {
				o := &orphans[i]
				if _, _, ok, err := a.get(o.p.OpenID); ok || err != nil {
					continue
				}
				if err := a.put(&o.p, nil, o.seen); err != nil {
					return err
				}
				added++
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("write the salvaged profiles: %w", err)
		}
		if !slices.Contains(src.appIDs, appid) {
			src.appIDs = append(src.appIDs, appid)
		}
		start = end
	}
	src.profiles += added
	// Each app keeps its name and its run count (the runs that stamped the
	// profiles); its sync starts over.
	err = s.update(func(tx *bolt.Tx) error {
		for _, appid := range src.appIDs {
			a, err := openAppTx(tx, appid)
			if err != nil {
				return err
			}
			rec, ok := src.apps[appid]
			if !ok {
				rec, ok = src.extra[appid]
			}
			if ok {
				a.rec.Name = rec.Name
				a.rec.Sync = SyncState{RunID: rec.Sync.RunID, Total: rec.Sync.Total}
			}
			if err := a.save(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write the salvaged apps: %w", err)
	}
	r := &SalvageReport{Apps: len(src.appIDs), Profiles: src.profiles, LostPages: src.walker.skipped, LostValues: src.lostVals}
	for _, p := range src.walker.problems {
		r.Problems = append(r.Problems, p.Error())
	}
	return r, nil
}
