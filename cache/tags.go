package cache

import (
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The tags, the blacklists and the growth figures live in buckets of their
// own, beside the schema-2 layout (store.go):
//
//	tags        appid → the app's tag list (encodeTagList)
//	blacklists  one sub-bucket per appid: "state" → encodeBlacklistState,
//	            and one sub-bucket per generation of the list: openid → empty
//	growth      one sub-bucket per appid: yyyy-MM-dd → encodeGrowthDay
//
// They are created by the first write that needs them, not by a migration:
// a reader finds them missing in a cache no sync has touched since, and
// reads that as "never read", so neither an older cache nor an older
// wxscope (which ignores buckets it does not know) has to be upgraded for
// them.
var (
	bucketTags       = []byte("tags")
	bucketBlacklists = []byte("blacklists")
	bucketGrowth     = []byte("growth")
)

// Tag is one of an account's tags as cgi-bin/tags/get last listed it.
type Tag struct {
	ID    int64
	Name  string // raw, as the operator wrote it: sanitise before drawing
	Count int64  // followers with the tag, as the API counted them
}

// TagList is what the cache knows of an app's tags. Every sync reads them
// again; a failed read keeps the last list it had, and says why it failed.
type TagList struct {
	Tags   []Tag     // in the API's order, from the last read that succeeded
	ReadAt time.Time // when that read was; zero when the tags were never read
	// Unavailable says why the last read failed, "" when it succeeded: an
	// account without WeChat verification cannot list its tags (48001).
	Unavailable string
	TriedAt     time.Time // when the last read, successful or not, was
}

// Name is the name of tag id, or its number when the list does not have
// it: the tag was deleted since, or the tags were never read.
func (l *TagList) Name(id int64) string {
	for i := range l.Tags {
		if l.Tags[i].ID == id {
			return l.Tags[i].Name
		}
	}
	return strconv.FormatInt(id, 10)
}

// Names are the names of ids in their order, as Name says them.
func (l *TagList) Names(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = l.Name(id)
	}
	return out
}

// NameMap maps each listed tag id to its name, for a caller naming many
// followers' tags.
func (l *TagList) NameMap() map[int64]string {
	m := make(map[int64]string, len(l.Tags))
	for _, t := range l.Tags {
		m[t.ID] = t.Name
	}
	return m
}

// SetTags records the tags the API just listed for appid, replacing the
// last list.
func (s *Store) SetTags(appid string, tags []Tag, at time.Time) error {
	l := TagList{Tags: tags, ReadAt: at, TriedAt: at}
	if err := s.putTagList(appid, func(*TagList) TagList { return l }); err != nil {
		return fmt.Errorf("store the tags of app %s: %w", appid, err)
	}
	return nil
}

// SetTagsUnavailable records that the tags of appid could not be read at
// at, and why (one sentence); the last list read stays.
func (s *Store) SetTagsUnavailable(appid, why string, at time.Time) error {
	err := s.putTagList(appid, func(old *TagList) TagList {
		l := *old
		l.Unavailable, l.TriedAt = why, at
		return l
	})
	if err != nil {
		return fmt.Errorf("record that the tags of app %s are unavailable: %w", appid, err)
	}
	return nil
}

func (s *Store) putTagList(appid string, next func(old *TagList) TagList) error {
	if err := validID("appid", appid); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketTags)
		if err != nil {
			return err
		}
		var old TagList
		if v := b.Get([]byte(appid)); v != nil {
			if err := decodeTagList(v, &old); err != nil {
				return err
			}
		}
		l := next(&old)
		return b.Put([]byte(appid), encodeTagList(nil, &l))
	})
}

// Tags returns what the cache knows of appid's tags; a zero TagList when
// they were never read.
func (s *Store) Tags(appid string) (TagList, error) {
	var l TagList
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTags)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(appid))
		if v == nil {
			return nil
		}
		return decodeTagList(v, &l)
	})
	if err != nil {
		return TagList{}, fmt.Errorf("read the tags of app %s: %w", appid, err)
	}
	return l, nil
}
