package wechat

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// silentServer accepts connections and never reads from or answers them,
// as a firewall that swallows packets or a wedged gateway does.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// A server that accepts and never answers costs one call at most
// CallTimeout (the retries) and one AttemptTimeout (the last try), here
// configured short; the error says it timed out.
func TestAServerThatNeverAnswersIsGivenUpOnInBoundedTime(t *testing.T) {
	base := silentServer(t)
	c, err := New(Config{AppID: testAppID, Secret: testSecret, APIBase: base,
		AttemptTimeout: 100 * time.Millisecond, CallTimeout: 500 * time.Millisecond,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.FollowerPage(context.Background(), "")
	took := time.Since(start)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("a silent server: %v, want a timeout", err)
	}
	if took > 2*time.Second {
		t.Fatalf("gave up after %v, want within CallTimeout + AttemptTimeout (0.6 s) and some", took)
	}
	t.Logf("gave up after %v: %v", took, err)
}

// With the defaults a call gives up in under two minutes whatever the
// server does: no retry starts past CallTimeout, and a try lasts at most
// AttemptTimeout (the token's fetch within one try included).
func TestTheDefaultWaitForOneCallIsUnderTwoMinutes(t *testing.T) {
	c, err := New(Config{AppID: testAppID, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if worst := c.cfg.CallTimeout + c.cfg.AttemptTimeout; worst >= 2*time.Minute {
		t.Fatalf("CallTimeout %v + AttemptTimeout %v = %v", c.cfg.CallTimeout, c.cfg.AttemptTimeout, worst)
	}
	if tokenFetchTimeout > c.cfg.AttemptTimeout {
		t.Fatalf("a token fetch may take %v, longer than a try (%v)", tokenFetchTimeout, c.cfg.AttemptTimeout)
	}
}
