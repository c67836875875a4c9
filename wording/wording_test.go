package wording

import (
	"testing"
	"time"
)

func TestFormatCountGroupsThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 2013: "2 013", 1000000: "1 000 000", -12345: "-12 345"} {
		if got := FormatCount(n); got != want {
			t.Errorf("FormatCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPluralAndFormatAgeSayItAsAPersonWould(t *testing.T) {
	for n, want := range map[int]string{0: "0 findings", 1: "1 finding", 2: "2 findings", 2013: "2 013 findings"} {
		if got := Plural(n, "finding"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{40 * time.Second: "40 s", 3 * time.Minute: "3 min", 26 * time.Hour: "26 h", 71 * time.Hour: "71 h", 9 * 24 * time.Hour: "9 days"} {
		if got := FormatAge(d); got != want {
			t.Errorf("FormatAge(%v) = %q, want %q", d, got, want)
		}
	}
}
