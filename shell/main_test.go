package shell

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: every Process
// runs three, which must end with it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
