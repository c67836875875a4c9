#!/bin/sh
# bench/ab.sh BENCH ROUNDS OUT ENV DIR...: runs the cli benchmarks matching
# BENCH once in each DIR (a checkout of the module whose cli test binary is
# DIR.bin, e.g. `go test -c -o DIR.bin ./cli/` inside it), DIR after DIR,
# ROUNDS times, so that every version meets the same load; ENV (e.g.
# WXSCOPE_BIG=1, or - for none) goes to each run; the lines go to
# OUT-$(basename DIR).txt for benchstat.
bench=$1; rounds=$2; out=$3; ev=$4; shift 4
[ "$ev" = - ] && ev=
for d in "$@"; do : > "$out-$(basename "$d").txt"; done
for i in $(seq "$rounds"); do
	for d in "$@"; do
		(cd "$d/cli" && env $ev "$d.bin" -test.run '^$' -test.bench "$bench" -test.benchtime 1x -test.timeout 3h 2>&1) |
			grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >> "$out-$(basename "$d").txt"
	done
done
