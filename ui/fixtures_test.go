package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// testNow is the fixed clock of every UI test.
var testNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// day returns the unix time of 2024-01-01 plus d days, at 14:05 UTC.
func day(d int) int64 {
	return time.Date(2024, 1, 1+d, 14, 5, 0, 0, time.UTC).Unix()
}

// fakeProfiles returns n deterministic followers of news: every 10th without
// unionid, every 7th unfollowed, every 5th with a remark.
func fakeProfiles(n int) []cache.Profile {
	ps := make([]cache.Profile, n)
	for i := range ps {
		p := cache.Profile{
			AppID:          "wxnews",
			OpenID:         fmt.Sprintf("oNw3kT%06dAbCdEfGhIjKlMnOpQ", i)[:28],
			UnionID:        fmt.Sprintf("oP1aQ%06dXkLm2nB7cD9eF1gH3", i)[:28],
			Subscribed:     true,
			SubscribeTime:  day(i % 150),
			SubscribeScene: []string{"ADD_SCENE_QR_CODE", "ADD_SCENE_SEARCH", "ADD_SCENE_PROFILE_CARD"}[i%3],
			FetchedAt:      testNow.Unix(),
		}
		if i%10 == 9 {
			p.UnionID = ""
		}
		if i%7 == 6 {
			p.Subscribed = false
			p.UnfollowedAt = day(150 + i%10)
		}
		if i%5 == 0 {
			p.Remark = fmt.Sprintf("remark %d", i)
		}
		ps[i] = p
	}
	return ps
}

// setPresence is a Presence over explicit (appid, unionid) pairs.
type setPresence map[string]bool

func (s setPresence) Has(appID, unionid string) bool { return s[appID+"/"+unionid] }

// slicePersons is a PersonFinder over a fixed table.
type slicePersons map[string]*cache.Person

func (s slicePersons) Person(_ context.Context, id string) (*cache.Person, error) {
	if p, ok := s[id]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("look up %s: %w", id, ErrUnknownID)
}

// sliceFollowers is a FollowerReader over profiles in memory.
type sliceFollowers []cache.Profile

func (s sliceFollowers) EachFollower(ctx context.Context, appID string, fn func(*cache.Profile) error) error {
	for i := range s {
		if s[i].AppID != appID {
			continue
		}
		if err := fn(&s[i]); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// newTestRoot returns a root with the plain theme, UTC dates and the fixed
// clock, sized width × height, with the page first builds.
func newTestRoot(width, height int, persons PersonFinder, first func(c *Common) Page) *uitest.Driver {
	r := NewRoot(Options{Theme: ThemePlain, Persons: persons, Now: func() time.Time { return testNow }, Loc: time.UTC})
	if first != nil {
		r.Open(first(r.Common()))
	}
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: width, Height: height})
	d.Run(r.Init())
	return d
}

// lines splits a screen and fails if it is not exactly height lines, none
// wider than width.
func lines(t *testing.T, screen string, width, height int) []string {
	t.Helper()
	ls := strings.Split(screen, "\n")
	if len(ls) != height {
		t.Fatalf("screen has %d lines, want %d:\n%s", len(ls), height, screen)
	}
	for i, l := range ls {
		if w := ansi.StringWidth(l); w > width {
			t.Fatalf("line %d is %d cells wide, more than %d: %q", i, w, width, l)
		}
	}
	return ls
}
