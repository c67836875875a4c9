package cache

import "testing"

func TestProgressFractionIsDoneOnlyWhenTheSyncIsDone(t *testing.T) {
	cases := []struct {
		name string
		p    Progress
		want float64
	}{
		{"no total yet", Progress{Phase: PhaseListing, Fetched: 5}, 0},
		{"fetched, fresh and rejected all count", Progress{Phase: PhaseListing, Total: 100, Fetched: 20, Skipped: 10, Errors: 10}, 0.4},
		{"all processed but not done stays below 1", Progress{Phase: PhaseHydrating, Total: 100, Fetched: 100}, 0.99},
		{"more than the moving total stays below 1", Progress{Phase: PhaseListing, Total: 100, Fetched: 150}, 0.99},
		{"done is 1 whatever the counts", Progress{Phase: PhaseDone, Total: 100, Fetched: 3}, 1},
	}
	for _, c := range cases {
		if got := c.p.Fraction(); got != c.want {
			t.Errorf("%s: Fraction() = %v, want %v", c.name, got, c.want)
		}
	}
}
