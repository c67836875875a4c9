//go:build !unix

package cache

import "time"

// processCPU is 0 where getrusage is missing: the benchmarks then report
// no CPU figure.
func processCPU() time.Duration { return 0 }
