package wechattest

import (
	"sync"
	"time"
)

// Clock is the simulator's sense of time: token lifetimes, quota days and
// per-minute windows are all measured on it, so a test can jump past 300 s,
// 7200 s or midnight without waiting.
//
// A clock from NewClock stands still until Set or Advance moves it. A clock
// from NewRealClock follows the wall clock, shifted by whatever Set and
// Advance added; servers use one of those unless WithClock says otherwise,
// so that `wxscope demo` sees minutes pass.
type Clock struct {
	mu     sync.Mutex
	manual bool
	t      time.Time     // the time of a manual clock
	offset time.Duration // the shift of a real clock
}

// NewClock returns a manual clock that reads start until moved.
func NewClock(start time.Time) *Clock {
	return &Clock{manual: true, t: start}
}

// NewRealClock returns a clock that follows time.Now.
func NewRealClock() *Clock {
	return &Clock{}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.manual {
		return c.t
	}
	return time.Now().Add(c.offset)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.manual {
		c.t = t
		return
	}
	c.offset = time.Until(t)
}

// Advance moves the clock forward by d (backward if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.manual {
		c.t = c.t.Add(d)
		return
	}
	c.offset += d
}
