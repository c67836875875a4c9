#!/bin/bash
# run.sh LABEL CMD...: runs CMD with stdout to /dev/null, samples its memory every 10 ms, prints peak RSS
W=${WXBIG:-/tmp/wxbig}
label=$1; shift
/usr/bin/time -f "%e s wall, %U s user, maxrss %M kB" -o $W/time.out "$@" > /dev/null 2>$W/stderr.out &
TP=$!
sleep 0.02; CP=$(pgrep -P $TP | head -1)
python3 $(dirname $0)/rss.py $CP 0.01 > $W/rss.out
wait $TP; rc=$?
echo "$label | rc=$rc | $(cat $W/time.out) | sampled: $(cat $W/rss.out)"
