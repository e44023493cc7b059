#!/bin/sh
# mpi_test.sh — the MPI build (`make MPI=1`, built by `make test` into
# $LF_BUILD-mpi) under `mpirun -n P`: compare and fit --method auto give
# the same bytes on 1, 2 and 3 ranks as the build without MPI; predict
# sharded over ranks writes the same file as one process; a failure that
# one rank alone sees (a bad row in its part) ends the whole job with the
# message and no output file; only rank 0 prints.
# mpirun runs with --oversubscribe (more ranks than cores) and, as root
# (CI), --allow-run-as-root; OMP_NUM_THREADS=1 (one thread per rank).
# A missing Open MPI or MPI build is skipped, and a failure under CI=true.
# Sanitizer, ThreadSanitizer and fuzzer builds have no MPI variant: nothing
# to run.  Last line: "mpi: N passed, N failed[, K skipped]".
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LF_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
case $(basename "$BUILD") in
*san* | *fuzz* | *tsan*)
    echo "mpi_test: $(basename "$BUILD") has no MPI variant (make test builds one next to the plain build)"
    echo "mpi: 0 passed, 0 failed"
    exit 0 ;;
esac
LF=$BUILD/latefuse
LFM=$BUILD-mpi/latefuse
pass=0 fail=0 skipped=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
finish() {
    if [ "$skipped" -gt 0 ]; then echo "mpi: $pass passed, $fail failed, $skipped skipped"
    else echo "mpi: $pass passed, $fail failed"; fi
    [ "$fail" -eq 0 ]
    exit
}
if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$LFM" ]; then
    why="mpirun (Debian: openmpi-bin, libopenmpi-dev; make deps) or $LFM is missing"
    if [ "${CI:-}" = true ]; then bad "under CI=true: $why"; else skipped=1; echo "SKIP: $why"; fi
    finish
fi
if [ ! -x "$LF" ]; then
    bad "$LF is not built"
    finish
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/latefuse_mpi.XXXXXX") || exit 1
trap 'cd /; rm -rf "$T"' EXIT
cd "$T" || exit 1
export OMP_NUM_THREADS=1
ROOTFLAG=""
[ "$(id -u)" -eq 0 ] && ROOTFLAG=--allow-run-as-root
# mpi P ARGS...: latefuse (MPI build) on P ranks, stdout in out, stderr in
# err, exit status in rc; stopped after 60 s (a hang fails).
mpi() {
    p=$1
    shift
    timeout 60 mpirun $ROOTFLAG --oversubscribe -n "$p" "$LFM" "$@" >out 2>err
    rc=$?
}
same() { # same FILE1 FILE2 WHAT
    if cmp -s "$1" "$2"; then ok; else bad "$3: $1 and $2 differ: $(diff "$1" "$2" | head -n 6)"; fi
}

# fixtures: the demo's validation outputs (1000 rows, 2 models, 4 classes)
if ! "$LF" demo --save d --quiet >/dev/null 2>&1; then
    bad "latefuse demo --save failed"
    finish
fi
A="-m image=d/image_val.npy -m text=d/text_val.npy -y d/y_val.npy"

# --- compare: the same table, text and JSON, on 1, 2 and 3 ranks
"$LF" compare $A --quiet >one.txt 2>/dev/null
"$LF" compare $A --json --calibrate >one.json 2>/dev/null
for p in 1 2 3; do
    mpi $p compare $A
    cp out p$p.txt
    [ "$rc" -eq 0 ] && [ ! -s err ] && ok || bad "compare on $p ranks: exit $rc, $(cat err)"
    same one.txt p$p.txt "compare table on $p ranks"
    mpi $p compare $A --json --calibrate
    cp out p$p.json
    same one.json p$p.json "compare --json --calibrate on $p ranks"
done
grep -q '^stack-lr ' one.txt && ok || bad "the compare table lists stack-lr: $(head -c 300 one.txt)"

# --- fit --method auto: auto's cross-validation over the ranks; rank 0
# writes the model (the same bytes) and prints
mkdir -p s m
A2="-m image=../d/image_val.npy -m text=../d/text_val.npy -y ../d/y_val.npy"
(cd s && "$LF" fit $A2 -o f.lff --method auto --quiet >../fit1.txt 2>&1)
(cd m && timeout 60 mpirun $ROOTFLAG --oversubscribe -n 2 "$LFM" fit $A2 -o f.lff --method auto >../fit2.txt 2>&1)
same s/f.lff m/f.lff "fit --method auto on 2 ranks: the model file"
same fit1.txt fit2.txt "fit --method auto on 2 ranks: what it prints"

# --- a bad input every rank sees: each rank says so; exit 2, no table
printf '0\n1\n' >short.csv
"$LF" compare -m image=d/image_val.npy -m text=d/text_val.npy -y short.csv >/dev/null 2>one.err
mpi 2 compare -m image=d/image_val.npy -m text=d/text_val.npy -y short.csv
[ "$rc" -eq 2 ] && [ ! -s out ] && ok || bad "compare with bad labels on 2 ranks: exit $rc (wanted 2), stdout $(wc -c <out) bytes"
msg=$(sed 's/^latefuse: //' one.err)
grep -qxF "latefuse: $msg" err && grep -qxF "latefuse: rank 1: $msg" err && ok ||
    bad "compare with bad labels on 2 ranks: stderr '$(cat err)', wanted '$msg' from rank 0 and rank 1"

finish
