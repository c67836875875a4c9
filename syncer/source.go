// Package syncer is the seam where the WeChat API meets the cache: it builds
// each app's API client and the cache.Source over it, takes the cache's sync
// lock, sets the engine's options from the config and says in one sentence
// why a sync did not finish. The headless `wxscope sync` and the TUI both
// sync through Syncer.Sync.
package syncer

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/wechat"
)

// wechatSource adapts a *wechat.Client to cache.Source, the small interface
// the sync engine pulls followers through (cache knows nothing of WeChat).
// It maps the client's profiles and typed errors to the cache's, and counts
// the client's retries for the progress reports (cache.RetryCounter).
type wechatSource struct {
	client *wechat.Client
	// retries counts the client's retries; a client kept across syncs
	// (Options.KeepClients) counts for all of them, so this sync's are
	// those since base.
	retries *atomic.Int64
	base    int64
	// restarts counts listings restarted from the beginning because the
	// saved cursor was rejected; bounded so that a broken API cannot loop.
	restarts atomic.Int64
}

// maxListingRestarts bounds how often one source starts the listing over
// after the API rejected a cursor.
const maxListingRestarts = 2

// NewClient builds the API client of one configured app. hc may be nil
// (the client's default transport); onRetry may be nil.
//
// Calls are limited by the number in flight (Concurrency batchget calls plus
// the lister), not by a rate: the client sets no per-second limit by default,
// and the API itself says when to slow down (45011, which the client waits
// out).
func NewClient(cfg *config.Config, app config.App, hc *http.Client, onRetry func(string, int, error)) (*wechat.Client, error) {
	return newClient(cfg, app, hc, onRetry, nil)
}

// newClient is NewClient, with adjust (when set) changing the client's
// configuration last: for tests that shorten its waits.
func newClient(cfg *config.Config, app config.App, hc *http.Client, onRetry func(string, int, error), adjust func(*wechat.Config)) (*wechat.Client, error) {
	wc := wechat.Config{
		AppID:       app.AppID,
		APIBase:     cfg.APIBase,
		HTTPClient:  hc,
		MaxInFlight: cfg.Concurrency + 1,
		OnRetry:     onRetry,
	}
	switch app.Token {
	case config.TokenFromCommand:
		wc.TokenMode = wechat.TokenCommand
		wc.TokenCommand = app.TokenCommand
	case config.TokenClassic:
		wc.TokenMode = wechat.TokenClassic
		wc.Secret = app.Secret.Reveal()
	default:
		wc.TokenMode = wechat.TokenStable
		wc.Secret = app.Secret.Reveal()
	}
	if adjust != nil {
		adjust(&wc)
	}
	// wechat.New names the appid; the sentence built on this error names
	// the app (failureSentence), so it is not named here too.
	return wechat.New(wc)
}

// appClient is the API client of one app with its retry counter.
type appClient struct {
	client  *wechat.Client
	retries atomic.Int64
}

// newAppClient builds the API client of one configured app; adjust, when
// set, changes the client's configuration last (tests shorten its waits).
func newAppClient(cfg *config.Config, app config.App, hc *http.Client, adjust func(*wechat.Config)) (*appClient, error) {
	ac := &appClient{}
	c, err := newClient(cfg, app, hc, func(string, int, error) { ac.retries.Add(1) }, adjust)
	if err != nil {
		return nil, err
	}
	ac.client = c
	return ac, nil
}

// source returns the cache.Source of one sync over ac.
func (ac *appClient) source() *wechatSource {
	return &wechatSource{client: ac.client, retries: &ac.retries, base: ac.retries.Load()}
}

var (
	_ cache.Source       = (*wechatSource)(nil)
	_ cache.RetryCounter = (*wechatSource)(nil)
)

// Retries is how many calls the client repeated after transient failures
// during this sync.
func (s *wechatSource) Retries() int64 { return s.retries.Load() - s.base }

// ListFollowers returns the page of followers after next.
//
// A cursor saved by an interrupted sync can stop being a follower before the
// sync resumes; the API then rejects it (40003, wechat-api.md §2.2). The
// listing then starts over from the beginning, and the page says so
// (FromStart): the engine indexes what it appended before it lists again,
// so a re-listed openid goes to its row, stamped again, and fresh profiles
// are not fetched twice.
func (s *wechatSource) ListFollowers(ctx context.Context, next string) (cache.FollowerPage, error) {
	p, err := s.client.FollowerPage(ctx, next)
	fromStart := false
	if err != nil && next != "" && errors.Is(err, wechat.ErrInvalidOpenID) && s.restarts.Add(1) <= maxListingRestarts {
		p, err = s.client.FollowerPage(ctx, "")
		fromStart = true
	}
	if err != nil {
		return cache.FollowerPage{}, mapError(err)
	}
	return cache.FollowerPage{OpenIDs: p.OpenIDs, Next: p.NextOpenID, Total: p.Total, Count: p.Count, Last: p.Last, FromStart: fromStart}, nil
}

// Profiles fetches 1..100 profiles with one batchget call.
func (s *wechatSource) Profiles(ctx context.Context, openids []string) (map[string]cache.Profile, error) {
	users, err := s.client.BatchGetList(ctx, openids)
	if err != nil {
		return nil, mapError(err)
	}
	out := make(map[string]cache.Profile, len(users))
	for _, u := range users {
		out[u.OpenID] = ProfileOf(s.client.AppID(), u) // in order: a repeated openid keeps its later answer, as BatchGet's map does
	}
	return out, nil
}

// ProfileOf is what the cache keeps of a user/info answer.
func ProfileOf(appid string, u wechat.User) cache.Profile {
	return cache.Profile{
		AppID:          appid,
		OpenID:         u.OpenID,
		UnionID:        u.UnionID,
		Subscribed:     u.Subscribe == 1,
		SubscribeTime:  u.SubscribeTime,
		SubscribeScene: u.SubscribeScene,
		QRScene:        u.QRScene,
		QRSceneStr:     u.QRSceneStr,
		Remark:         u.Remark,
		TagIDs:         u.TagIDList,
		GroupID:        u.GroupID,
	}
}

// mapError turns the client's typed errors into the cache's, keeping the
// client's error in the chain (so the sync command can still find the
// *wechat.APIError behind a failure) and its text unchanged.
func mapError(err error) error {
	var qe *wechat.QuotaError
	switch {
	case errors.As(err, &qe):
		return &cache.QuotaError{API: qe.Path, ResetAt: qe.ResetAt, Err: err}
	case errors.Is(err, wechat.ErrInvalidOpenID):
		return &markedError{mark: cache.ErrInvalidOpenID, err: err}
	default:
		return err
	}
}

// markedError adds a sentinel to an error's chain without changing its text.
type markedError struct {
	mark error
	err  error
}

func (e *markedError) Error() string   { return e.err.Error() }
func (e *markedError) Unwrap() []error { return []error{e.mark, e.err} }
