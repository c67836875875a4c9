package syncer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/wechat"
)

// listsFetch reads an app's tags (cgi-bin/tags/get) and the start of its
// blacklist (tags/members/getblacklist) while its followers sync: two or
// three calls that, made after the sync, added a latency each to it. At
// most prefetchedOpenIDs blacklisted openids are held; a longer list goes
// on from its cursor when the store takes it (readLists). A sync that
// fails stores neither, as before, though their calls were made.
type listsFetch struct {
	c      *wechat.Client
	done   chan struct{}
	cancel context.CancelFunc
	at     time.Time

	// Set by the fetch before done closes.
	tags    []wechat.Tag
	tagsErr error
	pages   []wechat.Page // the blacklist's pages so far
	err     error         // the blacklist listing's error
	more    bool          // the listing goes on after pages
}

// prefetchedOpenIDs bounds the blacklist a listsFetch holds in memory
// (28 bytes an openid): the list can be as long as the account. A
// variable, so that a test can have a short list go on after the sync.
var prefetchedOpenIDs = 100_000

// fetchLists starts reading the lists of the app c is the client of, read
// at now().
func fetchLists(ctx context.Context, c *wechat.Client, now func() time.Time) *listsFetch {
	if now == nil {
		now = time.Now
	}
	fctx, cancel := context.WithCancel(ctx)
	f := &listsFetch{c: c, done: make(chan struct{}), cancel: cancel, at: now()}
	go func() {
		defer close(f.done)
		f.tags, f.tagsErr = c.Tags(fctx)
		held := 0
		for p, err := range c.Blacklist(fctx, "") {
			if err != nil {
				f.err = err
				return
			}
			f.pages = append(f.pages, p)
			if held += len(p.OpenIDs); !p.Last && held >= prefetchedOpenIDs {
				f.more = true
				return
			}
		}
	}()
	return f
}

// stop abandons the fetch and waits for it to end.
func (f *listsFetch) stop() {
	f.cancel()
	<-f.done
}

// blacklist is the blacklist's pages of openids: those fetched, then the
// rest from the API.
func (f *listsFetch) blacklist(ctx context.Context) iter.Seq2[[]string, error] {
	return func(yield func([]string, error) bool) {
		for _, p := range f.pages {
			if !yield(p.OpenIDs, nil) {
				return
			}
		}
		switch {
		case f.err != nil:
			yield(nil, &listingError{f.err})
		case f.more:
			blacklistPages(f.c.Blacklist(ctx, f.pages[len(f.pages)-1].NextOpenID))(yield)
		}
	}
}

// readLists stores the tags and the whole blacklist of app that lists
// fetched beside the follower sync whose outcome is synced. Both are read
// again on every sync: what the cache holds is what WeChat last said.
//
// Neither is the sync's job, so an API failure fails nothing: it is
// recorded in the store as a sentence (Tags().Unavailable,
// BlacklistState().Unavailable), the last list read stays, and the sync
// command says so. An account without WeChat verification cannot list its
// tags (48001): its followers' tag ids then show as numbers. Only a failed
// write to the cache is returned.
func (s *Syncer) readLists(ctx context.Context, app config.App, lists *listsFetch, synced error) error {
	if synced != nil && !errors.Is(synced, cache.ErrDailyQuota) {
		// The API or the cache is failing already; a user/get quota stop is
		// no reason to keep these stale, they have their own quotas.
		lists.stop()
		return nil
	}
	<-lists.done
	defer lists.cancel()
	at := lists.at
	switch err := lists.tagsErr; {
	case ctx.Err() != nil:
		return nil
	case err != nil:
		if err := s.store.SetTagsUnavailable(app.AppID, listFailure(app, "tags", err), at); err != nil {
			return err
		}
	default:
		if err := s.store.SetTags(app.AppID, cacheTags(lists.tags), at); err != nil {
			return err
		}
	}

	_, err := s.store.ReplaceBlacklist(app.AppID, lists.blacklist(ctx), at)
	var le *listingError
	switch {
	case err == nil, ctx.Err() != nil:
		return nil
	case errors.As(err, &le):
		return s.store.SetBlacklistUnavailable(app.AppID, listFailure(app, "blacklist", le.err), at)
	default:
		return err // the cache's
	}
}

// cacheTags is what the cache keeps of tags/get's answer.
func cacheTags(tags []wechat.Tag) []cache.Tag {
	out := make([]cache.Tag, len(tags))
	for i, t := range tags {
		out[i] = cache.Tag{ID: t.ID, Name: t.Name, Count: t.Count}
	}
	return out
}

// blacklistPages hands the client's blacklist pages to the cache as pages
// of openids. An error of the listing comes as a *listingError, to tell it
// from the cache's own.
func blacklistPages(pages iter.Seq2[wechat.Page, error]) iter.Seq2[[]string, error] {
	return func(yield func([]string, error) bool) {
		for p, err := range pages {
			if err != nil {
				yield(nil, &listingError{err})
				return
			}
			if !yield(p.OpenIDs, nil) {
				return
			}
		}
	}
}

// listingError is an error of the API while listing the blacklist.
type listingError struct{ err error }

func (e *listingError) Error() string { return e.err.Error() }
func (e *listingError) Unwrap() error { return e.err }

// listFailure says in one sentence why app's tags or blacklist could not be
// read, and what it means for what the screens show.
func listFailure(app config.App, what string, err error) string {
	if errors.Is(err, wechat.ErrNoPermission) {
		if what == "tags" {
			return fmt.Sprintf("%s: the tag names cannot be read: WeChat lists tags for verified accounts only (tags/get answered 48001); tag ids show as numbers", app.Name)
		}
		return fmt.Sprintf("%s: the blacklist cannot be read: getblacklist answered 48001 (the account lacks the permission); nobody shows as blacklisted", app.Name)
	}
	kept := "the names of the last read stay"
	if what == "blacklist" {
		kept = "the list of the last complete read stays"
	}
	return fmt.Sprintf("%s: the %s could not be read (%v); %s, and the next sync tries again", app.Name, what, err, kept)
}
