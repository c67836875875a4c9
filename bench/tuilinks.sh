#!/bin/bash
# tuilinks.sh LABEL CONFIG [ENV=...]: the TUI in tmux: home, then l, waiting for the Links view's groups (its
# "N rows · row 1"; up to 10 minutes: at 10 M persons the analysis and the groups take tens of seconds, which
# bench/tui.sh's four seconds after l do not wait for); prints the peaks as bench/tui.sh does.
# TUI_SESSION names the tmux session (default m), so that two people can run it at once.
W=${WXBIG:-/tmp/wxbig}  # the folder with wxscope, the cache files and the configs
S=${TUI_SESSION:-m}
label=$1; cfg=$2; shift 2
tmux new -d -s $S -x 160 -y 45 "env $* GODEBUG=gctrace=1 $W/wxscope --readonly --config $cfg 2>$W/gc-$label.txt; sleep 600"
for i in $(seq 50); do PID=$(pgrep -o -f "^$W/wxscope --readonly --config $cfg"); [ -n "$PID" ] && break; sleep 0.02; done
python3 $(dirname $0)/rss.py $PID 0.01 > $W/rss-$label.out &
SP=$!
sleep 3; tmux send-keys -t $S l
start=$(date +%s.%N)
for i in $(seq 6000); do tmux capture-pane -p -t $S | head -1 | grep -q "rows · row" && break; sleep 0.1; done
loaded=$(echo "$(date +%s.%N) - $start" | bc | cut -c1-5)
sleep 1
l=$(tmux capture-pane -p -t $S | head -1 | cut -c1-60)
cpu=$(awk '{print ($14+$15)/100}' /proc/$PID/stat)
touch $W/stop-$PID; wait $SP; rm -f $W/stop-$PID
tmux send-keys -t $S q; sleep 0.5; tmux kill-session -t $S
echo "$label | $(cat $W/rss-$label.out) | links in ${loaded}s | cpu ${cpu}s | gcs $(grep -c '^gc ' $W/gc-$label.txt) | max live $(grep -o -- '->[0-9]* MB' $W/gc-$label.txt | tr -dc '0-9\n' | sort -n | tail -1) MB | $l"
