package resolve

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wxscope/cache"
)

// fakeAPI answers batchget from a set of followers; any other openid fails
// the whole batch as 40003 does. It counts what it was asked.
type fakeAPI struct {
	mu        sync.Mutex
	followers map[string]string // openid → unionid
	asked     map[string]int
	calls     int
	quotaFrom int // the call from which the quota is spent; 0: never
}

func (f *fakeAPI) Profiles(ctx context.Context, ids []string) (map[string]cache.Profile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.quotaFrom > 0 && f.calls >= f.quotaFrom {
		return nil, &cache.QuotaError{API: "cgi-bin/user/info/batchget", Err: fmt.Errorf("45009")}
	}
	out := map[string]cache.Profile{}
	for _, id := range ids {
		u, ok := f.followers[id]
		if !ok && !strings.HasPrefix(id, "oGone") {
			return nil, fmt.Errorf("40003: %w", cache.ErrInvalidOpenID)
		}
		out[id] = cache.Profile{OpenID: id, UnionID: u, Subscribed: ok}
	}
	for id := range out { // answered: asked once more
		f.asked[id]++
	}
	return out, nil
}

func openStore(t *testing.T) *cache.Store {
	t.Helper()
	s, err := cache.Open(filepath.Join(t.TempDir(), "c.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func id(prefix string, i int) string { return fmt.Sprintf("%s%022d", prefix, i) }

// Over many chunks, rows keep the input order, a duplicate in a later chunk
// (even the very next one, whose cache read came before the answer was
// stored) is asked once, an invalid openid is asked once, and a spent quota
// leaves the rest as errors with a row each.
func TestRunOverChunksAsksEachOpenIDOnceAndKeepsOrder(t *testing.T) {
	defer func(n int) { chunkRows = n }(chunkRows)
	chunkRows = 250
	api := &fakeAPI{followers: map[string]string{}, asked: map[string]int{}}
	var input []string
	for i := range 2000 {
		o := id("oFol", i)
		api.followers[o] = id("uUni", i)
		input = append(input, o)
		if i%97 == 0 {
			input = append(input, id("oFol", max(i-260, 0))) // a duplicate one chunk later
		}
		if i%500 == 0 {
			input = append(input, id("oBad", i%3), "x") // invalid (and repeated), malformed
		}
		if i%700 == 0 {
			input = append(input, id("oGone", i))
		}
	}
	store := openStore(t)
	pos := 0
	next := func() (string, bool, error) {
		if pos == len(input) {
			return "", false, nil
		}
		pos++
		return input[pos-1], true, nil
	}
	var rows []Row
	st, err := Run(context.Background(), store, "wxA", api, next, func(r Row) error { rows = append(rows, r); return nil },
		Options{Concurrency: 3, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(input) || st.Rows != len(input) {
		t.Fatalf("%d rows (stats %d) for %d input rows", len(rows), st.Rows, len(input))
	}
	for i, r := range rows {
		want := Following
		switch {
		case r.OpenID == "x":
			want = Malformed
		case strings.HasPrefix(r.OpenID, "oBad"):
			want = Invalid
		case strings.HasPrefix(r.OpenID, "oGone"):
			want = Unfollowed
		}
		if r.OpenID != input[i] || r.Status != want {
			t.Fatalf("row %d: %+v, want openid %s status %s", i, r, input[i], want)
		}
		if want == Following && r.UnionID != api.followers[r.OpenID] {
			t.Fatalf("row %d: %+v, want unionid %s", i, r, api.followers[r.OpenID])
		}
	}
	for o, n := range api.asked {
		if n != 1 {
			t.Errorf("%s was asked %d times", o, n)
		}
	}
	if p, ok, err := store.Profile("wxA", id("oFol", 1999)); err != nil || !ok || p.UnionID != id("uUni", 1999) {
		t.Errorf("the last answer is not cached: %+v %v %v", p, ok, err)
	}

	// The quota runs out on the 4th call of a fresh run: the first chunk's
	// 250 rows are answered, the rest are errors, each with a row.
	api2 := &fakeAPI{followers: api.followers, asked: map[string]int{}, quotaFrom: 4}
	var fresh []string
	for i := range 1000 {
		fresh = append(fresh, id("oFol", 5000+i))
		api2.followers[id("oFol", 5000+i)] = id("uUni", 5000+i)
	}
	pos, input, rows = 0, fresh, nil
	st, err = Run(context.Background(), store, "wxA", api2, next, func(r Row) error { rows = append(rows, r); return nil }, Options{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1000 || st.ByStatus[Following] != 250 || st.ByStatus[Error] != 750 || st.Err == nil {
		t.Fatalf("after a quota stop: %d rows, %v, err %v", len(rows), st.ByStatus, st.Err)
	}
}
