#!/bin/sh
# run.sh — runs the libFuzzer targets built by `make fuzz-build` (what
# `make fuzz` calls).
#
#   sh fuzz/run.sh BUILD SECONDS JOBS TARGET...
#
# Each target runs SECONDS seconds, JOBS targets at a time, on a scratch
# copy of fuzz/corpus/<target>/ (BUILD/corpus/<target>/, so that new inputs
# never land in the repository), with every input ever saved under
# fuzz/crashes/<target>/ replayed first, and fuzz/<target>.dict (tokens of
# the format) as libFuzzer dictionary when there is one.  A crash, leak, timeout or
# out-of-memory is saved to fuzz/crashes/<target>/ (commit it once fixed:
# `make test` replays it for ever).  Prints one line per target:
#   fuzz_<t>: <executions> execs in <s> s, corpus <n> -> <m> inputs, OK|FAILED
# and exits non-zero if any target failed.
set -u
BUILD=$1; SECONDS_EACH=$2; JOBS=$3; shift 3
[ $# -gt 0 ] || { echo "run.sh: no targets" >&2; exit 2; }

run_one() {
    t=$1
    bin=$BUILD/fuzz/fuzz_$t
    scratch=$BUILD/corpus/$t
    log=$BUILD/fuzz_$t.log
    crashes=fuzz/crashes/$t
    rm -rf "$scratch"; mkdir -p "$scratch" "$crashes"
    [ -d "fuzz/corpus/$t" ] && cp fuzz/corpus/$t/* "$scratch"/ 2>/dev/null
    before=$(ls "$scratch" | wc -l)
    # replay the saved crashes first: each must now pass
    rc=0
    if [ -n "$(ls "$crashes" 2>/dev/null)" ]; then
        "$bin" -runs=0 "$crashes" >"$log.replay" 2>&1 || rc=$?
    fi
    dict=""
    [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
    if [ $rc -eq 0 ]; then
        "$bin" $dict -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$crashes/" "$scratch" >"$log" 2>&1 || rc=$?
    else
        cp "$log.replay" "$log"
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    after=$(ls "$scratch" | wc -l)
    if [ $rc -eq 0 ]; then res=OK; else res="FAILED (exit $rc, see $log)"; fi
    echo "fuzz_$t: ${execs:-0} execs in ${SECONDS_EACH} s, corpus $before -> $after inputs, $res"
    if [ $rc -ne 0 ]; then
        grep -E 'ERROR|SUMMARY|broken promise|Test unit written' "$log" | head -n 20 | sed 's/^/    /'
    fi
    return $rc
}

status=0
pids=""
names=""
running=0
for t in "$@"; do
    run_one "$t" >"$BUILD/fuzz_$t.result" 2>&1 &
    pids="$pids $!"
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        for p in $pids; do wait "$p" || status=1; done
        pids=""; running=0
    fi
    names="$names $t"
done
for p in $pids; do wait "$p" || status=1; done
for t in $names; do cat "$BUILD/fuzz_$t.result"; done
if [ $status -eq 0 ]; then echo "fuzz: all $# targets OK"; else echo "fuzz: FAILED"; fi
exit $status
