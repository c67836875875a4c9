package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"wxscope/shell"
)

// API paths of the token endpoints.
const (
	PathToken       = "cgi-bin/token"
	PathStableToken = "cgi-bin/stable_token"
)

// Safety margins before a token's announced expiry. stable_token rotates
// its token in the last 5 minutes; a classic token can be superseded by any
// other holder's fetch, so it is given up well before expiry (as silenceper
// does).
const (
	stableMargin  = 300 * time.Second
	classicMargin = 1500 * time.Second
)

// tokenFetchTimeout bounds a shared token fetch, which runs detached from
// the context of whichever caller started it.
const tokenFetchTimeout = 30 * time.Second

// accessToken returns the cached token, or fetches one. Concurrent callers
// share one fetch; each can still give up through its own ctx.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if tok, ok := c.cachedToken(); ok {
		return tok, nil
	}

	ch := c.flight.DoChan("token", func() (any, error) {
		// Another caller may have refreshed while this one waited.
		if tok, ok := c.cachedToken(); ok {
			return tok, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenFetchTimeout)
		defer cancel()
		tok, ttl, err := c.fetchToken(fctx)
		if err != nil {
			return "", err
		}
		c.keepToken(tok, ttl)
		return tok, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// cachedToken returns the cached token while it is still valid.
func (c *Client) cachedToken() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.expiry) {
		return c.token, true
	}
	return "", false
}

// keepToken caches tok for ttl and remembers it for scrubbing.
func (c *Client) keepToken(tok string, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token, c.expiry = tok, c.now().Add(ttl)
	c.seen[tok] = true
}

// dropToken forgets tok if it is still the cached token, so that several
// callers rejected with the same token cause one refresh, not several.
func (c *Client) dropToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token, c.expiry = "", time.Time{}
	}
}

// ForceRefreshToken drops the cached token and fetches a new one. In stable
// mode it asks stable_token for force_refresh, which invalidates the token
// every other holder of this app uses and is limited to 20 calls a day: use
// it only when asked to by a person.
func (c *Client) ForceRefreshToken(ctx context.Context) error {
	c.mu.Lock()
	c.token, c.expiry = "", time.Time{}
	c.mu.Unlock()
	var (
		tok string
		ttl time.Duration
		err error
	)
	if c.cfg.TokenMode == TokenStable {
		tok, ttl, err = c.fetchStable(ctx, true)
	} else {
		tok, ttl, err = c.fetchToken(ctx)
	}
	if err != nil {
		return err
	}
	c.keepToken(tok, ttl)
	return nil
}

// fetchToken gets a token by the configured mode and says how long to use it.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	switch c.cfg.TokenMode {
	case TokenClassic:
		return c.fetchClassic(ctx)
	case TokenCommand:
		return c.runTokenCommand(ctx)
	default:
		return c.fetchStable(ctx, false)
	}
}

func (c *Client) fetchStable(ctx context.Context, force bool) (string, time.Duration, error) {
	body, err := json.Marshal(map[string]any{
		"grant_type":    "client_credential",
		"appid":         c.cfg.AppID,
		"secret":        c.cfg.Secret,
		"force_refresh": force,
	})
	if err != nil {
		return "", 0, err
	}
	resp, err := c.roundTrip(ctx, "POST", PathStableToken, nil, body)
	if err != nil {
		return "", 0, err
	}
	return c.tokenFrom(PathStableToken, resp, stableMargin)
}

func (c *Client) fetchClassic(ctx context.Context) (string, time.Duration, error) {
	q := map[string][]string{
		"grant_type": {"client_credential"},
		"appid":      {c.cfg.AppID},
		"secret":     {c.cfg.Secret},
	}
	resp, err := c.roundTrip(ctx, "GET", PathToken, q, nil)
	if err != nil {
		return "", 0, err
	}
	return c.tokenFrom(PathToken, resp, classicMargin)
}

// tokenFrom reads a token answer and turns its lifetime into a cache time:
// the lifetime less margin, but never less than half of it, so a short-lived
// token is still reused a little.
func (c *Client) tokenFrom(path string, body []byte, margin time.Duration) (string, time.Duration, error) {
	if err := c.checkErrcode(path, body); err != nil {
		return "", 0, err
	}
	tok, expiresIn, err := decodeToken(body)
	if err != nil {
		return "", 0, errTransient{&BodyError{AppID: c.cfg.AppID, Path: path, Start: "(a token answer)", Err: err}}
	}
	life := time.Duration(expiresIn) * time.Second
	return tok, max(life-margin, life/2), nil
}

// Caps on what a token command may print: a token is a few hundred bytes.
const (
	tokenCommandMaxOutput = 64 << 10
	tokenCommandStderr    = 4 << 10
)

// runTokenCommand runs TokenCommand through the platform's shell (package
// shell: sh -c, or cmd.exe on Windows) with a timeout that ends every
// process it started. Its trimmed stdout is the token. Its stderr may go
// into the error, scrubbed of the AppSecret and of anything that printed
// on stdout; stdout never does.
func (c *Client) runTokenCommand(ctx context.Context) (string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.TokenCommandTimeout)
	defer cancel()
	out, err := shell.Command{
		Line:       c.cfg.TokenCommand,
		Env:        append(os.Environ(), "WXSCOPE_APPID="+c.cfg.AppID),
		MaxOutput:  tokenCommandMaxOutput,
		StderrTail: tokenCommandStderr,
	}.Output(ctx)
	tok := strings.TrimSpace(string(out))
	var limit *shell.LimitError
	if errors.As(err, &limit) {
		return "", 0, fmt.Errorf("wechat %s: token_command printed more than %d bytes; it must print only the token", c.cfg.AppID, limit.Limit)
	}
	if err != nil {
		s := c.scrubber()
		if tok != "" {
			s.secrets = append(s.secrets, tok)
		}
		var detail string
		var exit *shell.ExitError
		if errors.As(err, &exit) {
			detail = strings.TrimSpace(s.scrub(exit.Stderr))
			err = exit.Err
		}
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %s", c.cfg.TokenCommandTimeout)
		}
		msg := fmt.Sprintf("wechat %s: token_command failed: %s", c.cfg.AppID, s.scrub(err.Error()))
		if detail != "" {
			msg += ": " + detail
		}
		return "", 0, errors.New(msg)
	}
	if tok == "" {
		return "", 0, fmt.Errorf("wechat %s: token_command printed no token on stdout", c.cfg.AppID)
	}
	if !validToken(tok) {
		return "", 0, fmt.Errorf("wechat %s: token_command printed something that is not a token (spaces or control characters); it must print only the token", c.cfg.AppID)
	}
	return tok, c.cfg.TokenCommandTTL, nil
}
