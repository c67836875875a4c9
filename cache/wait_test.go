package cache

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// waitChildEnv names the cache a child of TestWaitChild opens.
const waitChildEnv = "WXSCOPE_TEST_WAIT_CHILD"

// TestWaitChild is the other process of
// TestASharedWriterPausesOnlyWhileAnotherProcessWaits: a lookup that opens
// the cache read-only, as `wxscope lookup` does, and says how long it
// waited. It does nothing unless started as that child.
func TestWaitChild(t *testing.T) {
	path := os.Getenv(waitChildEnv)
	if path == "" {
		t.Skip("the child process of another test")
	}
	start := time.Now()
	r, err := Open(path, Options{Mode: ReadOnly, Timeout: 3 * time.Second})
	if err != nil {
		fmt.Printf("open: %v\n", err)
		return
	}
	_, err = r.Apps()
	r.Close()
	fmt.Printf("in after %d ms: %v\n", time.Since(start).Milliseconds(), err)
}

// A Shared writer that holds the file most of the time (a sync's long
// commits and its catch-up) does not pause while nobody waits, and pauses
// once a lookup in another process does, so that the lookup gets in within
// moments; once it is in, the writer stops pausing again. Without the
// pauses the lookup would not get in: bbolt tries a busy lock every 50 ms,
// and the writer lets the file go for microseconds between its writes.
func TestASharedWriterPausesOnlyWhileAnotherProcessWaits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	s := openTestStore(t, Options{Mode: Shared, Command: "wxscope sync"})
	must(t, s.PutProfiles("wxA", []Profile{testProfile("oA1", "u1")}))
	hold := func() {
		t.Helper()
		must(t, s.update(func(*bolt.Tx) error {
			time.Sleep(2 * sharedWriteBurst / 3)
			return nil
		}))
	}
	pauses := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.gapPauses
	}

	for range 8 {
		hold()
	}
	if p := pauses(); p != 0 {
		t.Fatalf("with nobody waiting, 8 writes paused %d times", p)
	}

	cmd := exec.Command(os.Args[0], "-test.run", "^TestWaitChild$", "-test.v")
	cmd.Env = append(os.Environ(), waitChildEnv+"="+s.Path())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "in after") || strings.HasPrefix(l, "open:") {
				lines <- l
				return
			}
		}
		close(lines)
	}()
	var got string
	deadline := time.After(10 * time.Second)
writing:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the child said nothing")
			}
			got = l
			break writing
		case <-deadline:
			t.Fatal("the child neither got in nor gave up in 10 s")
		default:
			hold()
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if !strings.HasPrefix(got, "in after") || !strings.HasSuffix(got, ": <nil>") {
		t.Fatalf("the lookup while the writer held the file: %s", got)
	}
	if pauses() == 0 {
		t.Fatalf("the lookup got in (%s) without the writer pausing", got)
	}
	t.Logf("the lookup got in %s; the writer paused %d times", strings.TrimPrefix(got, "in "), pauses())

	// In and gone: nobody waits any more.
	before := pauses()
	for range 4 {
		hold()
	}
	if p := pauses(); p != before {
		t.Fatalf("after the lookup left, 4 writes paused %d times", p-before)
	}
}
