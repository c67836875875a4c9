package config

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret holds an AppSecret read from the environment. Every way of printing
// it — fmt with any verb, JSON, text encoders, slog — yields "[redacted]", so
// an accidental %v of a Config or an App cannot leak it. Reveal is the one
// door to the value, for the code that sends it to the token endpoint.
type Secret struct {
	value string
}

// NewSecret wraps a secret value, for tests and for the demo's simulator.
func NewSecret(value string) Secret { return Secret{value: value} }

// Reveal returns the secret itself. Call it only where the value leaves for
// the API, never to build a message.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no secret is held.
func (s Secret) IsZero() bool { return s.value == "" }

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (Secret) GoString() string { return redacted }

// Format writes "[redacted]" whatever the verb, so %x or %q cannot leak it
// either.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalText returns "[redacted]"; encoding/json and the TOML encoder use it.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue returns "[redacted]" for log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
