package termsig

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"testing"
)

// childEnv makes the test binary a child that waits on
// signal.NotifyContext(Signals()...) as wxscope's main does: it prints
// "ready" and the signals it listens to, then, once one came, the context's
// cause, and exits 0.
const childEnv = "TERMSIG_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		sigs := Signals()
		ctx, stop := signal.NotifyContext(context.Background(), sigs...)
		defer stop()
		fmt.Println("ready", sigs)
		<-ctx.Done()
		fmt.Println(context.Cause(ctx))
		return
	}
	os.Exit(m.Run())
}

func TestSignalsAlwaysIncludeInterrupt(t *testing.T) {
	skipIfStartedIgnoring(t, os.Interrupt)
	sigs := Signals()
	if len(sigs) == 0 || sigs[0] != os.Interrupt {
		t.Fatalf("Signals() = %v, want os.Interrupt first", sigs)
	}
}

// skipIfStartedIgnoring skips a test that needs sig to be listened to when
// the test binary itself was started with it ignored (go test run as a
// background job, under nohup): its children inherit that.
func skipIfStartedIgnoring(t *testing.T, sigs ...os.Signal) {
	t.Helper()
	for _, s := range sigs {
		if signal.Ignored(s) {
			t.Skipf("the tests were started with %v ignored", s)
		}
	}
}
