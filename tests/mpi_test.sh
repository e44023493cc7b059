#!/bin/sh
# mpi_test.sh — the MPI build (`make MPI=1`, built by `make test` into
# $LF_BUILD-mpi) under `mpirun -n P`: compare and fit --method auto give
# the same bytes on 1, 2 and 3 ranks as the build without MPI; predict
# sharded over ranks writes the same file as one process; a failure that
# one rank alone sees (a bad row in its part) ends the whole job with the
# message and no output file; rank 1's disk full during a sharded
# predict (ulimit -f) and rank 1 killed (kill -9) while rank 0 waits for
# it, in the middle of compare's cross-validation and in the middle of a
# predict end the job within seconds, every rank non-zero, with no output
# and no temporary file; predict's cancel flag set on some ranks
# (tests/mpi_cancel.c) returns LF_ERR_CANCELLED on every rank, nothing
# left; only rank 0 prints; the engine's fit over
# the ranks (tests/mpi_fit.c: with dropout, augmentation and synchronised
# BatchNormalization too) is the plain build's bits on 1 rank and
# within the golden tolerance on 2.
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
# `make test MPI=1` runs this in the MPI build itself (build-mpi): the
# plain build it is checked against is the same name without "-mpi"
case $BUILD in *-mpi) BUILD=${BUILD%-mpi} ;; esac
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
# the dynamic-selection methods cross-validated as one group (a unit per
# fold makes every member's record), interleaved with others, one twice,
# with and without calibration (the tool lists a method once)
D="--methods ola,mean,knora-e,lca,wavg,knora-u,ola"
"$LF" compare $A $D --quiet >des1.txt 2>/dev/null
"$LF" compare $A $D --calibrate --json >des1.json 2>/dev/null
[ "$(grep -c '^ola \|^knora-e \|^knora-u \|^lca ' des1.txt)" -eq 4 ] && ok ||
    bad "compare $D: the table: $(head -c 400 des1.txt)"
for p in 2 3; do
    mpi $p compare $A $D
    cp out des$p.txt
    same des1.txt des$p.txt "compare $D on $p ranks"
    mpi $p compare $A $D --calibrate --json
    cp out des$p.json
    same des1.json des$p.json "compare $D --calibrate --json on $p ranks"
done
# a DES group's fold cut into tasks of its scoring passes (cv_units.c,
# plan_tasks): with 2 folds, 3 ranks deal a fold as 2 tasks (the fold's
# metrics; both models absent) and 6 ranks as 3 (one pass each), every
# field gathered from the task that made it
"$LF" compare $A $D --folds 2 --quiet >desf.txt 2>/dev/null
for p in 3 6; do
    mpi $p compare $A $D --folds 2
    cp out desf$p.txt
    same desf.txt desf$p.txt "compare $D --folds 2 on $p ranks (a fold's passes in several tasks)"
done

# each rank's tasks on its threads (cv_units.c, cv_threads): 2 threads per
# rank on 2 and 3 ranks, the DES group's passes cut into tasks too
export OMP_NUM_THREADS=2
for p in 2 3; do
    mpi $p compare $A $D --calibrate --json
    cp out thr$p.json
    [ "$rc" -eq 0 ] && [ ! -s err ] && ok || bad "compare on $p ranks of 2 threads: exit $rc, $(cat err)"
    same des1.json thr$p.json "compare $D --calibrate --json on $p ranks of 2 threads"
done
export OMP_NUM_THREADS=1

# --- fit --method auto: auto's cross-validation over the ranks; rank 0
# writes the model (the same bytes) and prints
mkdir -p s m
A2="-m image=../d/image_val.npy -m text=../d/text_val.npy -y ../d/y_val.npy"
(cd s && "$LF" fit $A2 -o f.lff --method auto --quiet >../fit1.txt 2>&1)
(cd m && timeout 60 mpirun $ROOTFLAG --oversubscribe -n 2 "$LFM" fit $A2 -o f.lff --method auto >../fit2.txt 2>&1)
same s/f.lff m/f.lff "fit --method auto on 2 ranks: the model file"
same fit1.txt fit2.txt "fit --method auto on 2 ranks: what it prints"
mkdir -p t
(cd t && OMP_NUM_THREADS=2 timeout 60 mpirun $ROOTFLAG --oversubscribe -n 2 "$LFM" fit $A2 -o f.lff --method auto \
    >../fit2t.txt 2>&1)
same s/f.lff t/f.lff "fit --method auto on 2 ranks of 2 threads: the model file"
same fit1.txt fit2t.txt "fit --method auto on 2 ranks of 2 threads: what it prints"
# auto keeps its ensemble on these rows (the ensemble phase's units dealt
# to the ranks, auto.c): 1, 3 and 4 ranks too (4: more ranks than some
# candidates have folds left), and with --folds 3 --seed 1 --bags 2
grep -q '^auto chose an ensemble of ' fit1.txt && ok || bad "fit --method auto kept no ensemble: $(head -n 3 fit1.txt)"
(cd s && "$LF" fit $A2 -o g.lff --method auto --folds 3 --seed 1 --bags 2 --quiet >../bag1.txt 2>&1)
grep -q '^auto chose an ensemble of ' bag1.txt && ok || bad "fit --method auto --folds 3 --seed 1 --bags 2 kept no ensemble: $(head -n 3 bag1.txt)"
for p in 1 3 4; do
    mkdir -p m$p
    (cd m$p && timeout 60 mpirun $ROOTFLAG --oversubscribe -n $p "$LFM" fit $A2 -o f.lff --method auto >../fitm$p.txt 2>&1)
    same s/f.lff m$p/f.lff "fit --method auto (its ensemble kept) on $p ranks: the model file"
    same fit1.txt fitm$p.txt "fit --method auto (its ensemble kept) on $p ranks: what it prints"
done
for p in 2 3; do
    mkdir -p m$p
    (cd m$p && timeout 60 mpirun $ROOTFLAG --oversubscribe -n $p "$LFM" fit $A2 -o g.lff --method auto --folds 3 --seed 1 \
        --bags 2 --quiet >../bagm$p.txt 2>&1)
    same s/g.lff m$p/g.lff "fit --method auto --folds 3 --seed 1 --bags 2 on $p ranks: the model file"
    same bag1.txt bagm$p.txt "fit --method auto --folds 3 --seed 1 --bags 2 on $p ranks: what it prints"
done

# --- a bad input every rank sees: each rank says so; exit 2, no table
printf '0\n1\n' >short.csv
"$LF" compare -m image=d/image_val.npy -m text=d/text_val.npy -y short.csv >/dev/null 2>one.err
mpi 2 compare -m image=d/image_val.npy -m text=d/text_val.npy -y short.csv
[ "$rc" -eq 2 ] && [ ! -s out ] && ok || bad "compare with bad labels on 2 ranks: exit $rc (wanted 2), stdout $(wc -c <out) bytes"
msg=$(sed 's/^latefuse: //' one.err)
grep -qxF "latefuse: $msg" err && grep -qxF "latefuse: rank 1: $msg" err && ok ||
    bad "compare with bad labels on 2 ranks: stderr '$(cat err)', wanted '$msg' from rank 0 and rank 1"


# --- fit of a learned method over the ranks (lf_fusion_fit_rows_dist):
# data-parallel as the engine's fit; 1 rank is the plain build's file, 2
# ranks the same file run to run and a different one from 1 rank's (the
# batch's gradient summed in two slices: a fit repeated whole on every
# rank would give 1 rank's bytes), its predictions within 1e-5 of 1 rank's
floats() { # floats NPY: the values of a float32 .npy, one per line
    hl=$(od -An -t u2 -j 8 -N 2 "$1" | tr -d ' ')
    od -An -v -t f4 -j $((10 + hl)) -w4 "$1"
}
for meth in stack-lr mlp; do
    "$LF" fit $A -o l0.lff --method $meth --quiet >/dev/null 2>&1 || bad "fit $meth failed"
    mpi 1 fit $A -o l1.lff --method $meth --quiet
    same l0.lff l1.lff "fit --method $meth on 1 rank: the model file"
    mpi 2 fit $A -o l2.lff --method $meth --quiet
    [ "$rc" -eq 0 ] && ok || bad "fit --method $meth on 2 ranks: exit $rc, $(cat err)"
    cp l2.lff l2a.lff
    mpi 2 fit $A -o l2.lff --method $meth --quiet
    same l2a.lff l2.lff "fit --method $meth on 2 ranks, twice: the model file"
    cmp -s l1.lff l2.lff && bad "fit --method $meth on 2 ranks: 1 rank's file (not data-parallel?)" || ok
    "$LF" predict l1.lff -m image=d/image_val.npy -m text=d/text_val.npy -o q1.npy >/dev/null 2>&1
    "$LF" predict l2.lff -m image=d/image_val.npy -m text=d/text_val.npy -o q2.npy >/dev/null 2>&1
    floats q1.npy >q1.txt
    floats q2.npy >q2.txt
    [ "$(wc -l <q1.txt)" -eq 4000 ] && paste q1.txt q2.txt | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5) bad = 1 }
        END { exit bad }' && ok || bad "fit --method $meth: predictions on 2 ranks not within 1e-5 of 1 rank's: $(paste q1.txt q2.txt | head -n 4)"
done

# --- predict sharded over ranks: 100000 rows (7 chunks of 16384), each
# rank its range; the same bytes as one process
"$LF" fit $A -o wavg.lff --method wavg --quiet >/dev/null 2>&1 || bad "fit wavg failed"
gen() { # gen A B C: 100000 rows of 4 probabilities (deterministic)
    awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { for (i = 0; i < 100000; i++) {
        x = (i * a) % 97 + 1; y = (i * b) % 89 + 1; z = (i * c) % 13 + 1; w = i % 5 + 1; s = x + y + z + w;
        printf "%.6f,%.6f,%.6f,%.6f\n", x / s, y / s, z / s, 1 - x / s - y / s - z / s } }'
}
gen 7919 104729 31 >b1.csv
gen 13 101 17 >b2.csv
# .npy inputs (streamed by rows): fused by the tool itself
"$LF" predict wavg.lff -m image=b1.csv -m text=b2.csv -o i.npy >/dev/null 2>&1 &&
    "$LF" predict wavg.lff -m image=b2.csv -m text=b1.csv -o t.npy >/dev/null 2>&1 || bad "predict fixtures failed"
P="wavg.lff -m image=i.npy -m text=t.npy"
"$LF" predict $P -o one.npy --classes-out onec.npy >one.out 2>&1
for p in 1 2 3; do
    mpi $p predict $P -o p$p.npy --classes-out p${p}c.npy
    [ "$rc" -eq 0 ] && [ ! -s err ] && ok || bad "predict on $p ranks: exit $rc, $(cat err)"
    same one.npy p$p.npy "predict on $p ranks: the probabilities"
    same onec.npy p${p}c.npy "predict on $p ranks: the classes"
    sed "s/p${p}c*\.npy/X/g" out >got.out
    sed "s/onec*\.npy/X/g" one.out >want.out
    same want.out got.out "predict on $p ranks: what rank 0 alone prints"
done

# --- a bad row that only rank 1 reads (row 70001: in the second half):
# the whole job stops with one process's message, exit 2, no output file
awk 'NR == 70001 { print "0.5,0.7,-0.2,0"; next } { print }' b2.csv >bad.csv
"$LF" predict wavg.lff -m image=b1.csv -m text=bad.csv -o bad1.npy >/dev/null 2>one.err
want=$(cat one.err)
[ "$want" = "latefuse: row 70001 of 'bad.csv' holds a negative probability -0.2 in column 3 (append :logits to the file's name for raw scores)" ] &&
    ok || bad "predict with a bad row, one process: '$want'"
start=$(date +%s)
mpi 2 predict wavg.lff -m image=b1.csv -m text=bad.csv -o bad2.npy
secs=$(($(date +%s) - start))
[ "$rc" -eq 2 ] && ok || bad "predict with a bad row on rank 1: exit $rc, wanted 2"
[ "$(grep '^latefuse' err)" = "$want" ] && ok || bad "predict with a bad row on rank 1: stderr '$(cat err)'"
[ ! -e bad2.npy ] && [ -z "$(ls -a | grep -i 'tmp')" ] && ok || bad "predict with a bad row on rank 1 left files: $(ls -a)"
[ "$secs" -le 20 ] && ok || bad "predict with a bad row on rank 1 took $secs s"
# an output that cannot be created (rank 0 creates it): every rank stops
mpi 2 predict $P -o nodir/x.npy
[ "$rc" -eq 1 ] && [ "$(grep '^latefuse' err)" = "latefuse: cannot write -o 'nodir/x.npy': the folder 'nodir' does not exist; nothing was read or written" ] &&
    ok || bad "predict to a missing folder on 2 ranks: exit $rc, '$(cat err)'"
# standard output cannot be written by position
mpi 2 predict $P -o -
[ "$rc" -eq 2 ] && [ ! -s out ] &&
    [ "$(grep '^latefuse' err)" = "latefuse: a prediction over 2 MPI ranks writes its outputs by position: they must be files, not standard output or a FIFO" ] &&
    ok || bad "predict to standard output on 2 ranks: exit $rc, '$(cat err)'"


# --- a rank that dies or cannot write: Open MPI ends the job (its default
# orte_abort_on_non_zero_status=true: a rank that exits non-zero, or is
# killed, makes mpirun stop the others with SIGTERM, SIGKILL a second
# later); each rank's guard removes the temporary outputs on the way out.
# Rank-specific commands go through mpirun's MPMD form (-n 1 A : -n 1 B).
cat >pid.sh <<'EOF'
#!/bin/sh
echo $$ >"pid.$OMPI_COMM_WORLD_RANK"
exec "$@"
EOF
cat >fsize.sh <<'EOF'
#!/bin/sh
ulimit -f 100
exec "$@"
EOF
chmod +x pid.sh fsize.sh
ranks_gone() { # ranks_gone: the job ends within 20 s of the kill
    t=$(date +%s)
    wait "$job"
    rc=$? secs=$(($(date +%s) - t))
}
cpu_ticks() { # cpu_ticks PID: user + system clock ticks used so far
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
SIGTERM_MSG="latefuse: stopped by SIGTERM; no output was written"
# disk full on rank 1 only (ulimit -f: its writes past 100 blocks raise
# SIGXFSZ; its rows start at byte 786560 of the output).  The limit caps
# Open MPI's shared-memory segment file as well, so this run takes TCP
# over loopback (--mca btl self,tcp).
start=$(date +%s)
timeout 60 mpirun $ROOTFLAG --oversubscribe --mca btl self,tcp -n 1 "$LFM" predict $P -o full.npy : \
    -n 1 ./fsize.sh "$LFM" predict $P -o full.npy >out 2>err
rc=$? secs=$(($(date +%s) - start))
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$secs" -le 20 ] && ok ||
    bad "predict with rank 1's disk full: exit $rc after $secs s"
grep -qxF "latefuse: rank 1: stopped by SIGXFSZ (the file size limit, ulimit -f, was reached); no output was written" err &&
    grep -qxF "$SIGTERM_MSG" err && ok || bad "predict with rank 1's disk full: stderr '$(cat err)'"
[ ! -e full.npy ] && [ -z "$(ls -a | grep 'tmp-')" ] && ok || bad "predict with rank 1's disk full left files: $(ls -a)"
# rank 1 killed (kill -9) while rank 0 waits for it in a collective call:
# rank 1 reads its labels from a FIFO that holds only their first bytes
mkfifo labels.fifo
(head -c 100 d/y_val.npy; exec sleep 30) >labels.fifo &
feeder=$!
rm -f pid.0 pid.1
timeout 60 mpirun $ROOTFLAG --oversubscribe -n 1 "$LFM" compare $A : \
    -n 1 ./pid.sh "$LFM" compare -m image=d/image_val.npy -m text=d/text_val.npy -y labels.fifo >out 2>err &
job=$!
n=0
while [ ! -s pid.1 ] && [ "$n" -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
# rank 1 has the FIFO open (both ranks are past MPI_Init), blocked reading
# it; rank 0 waits for it in cli_mpi_agree
while ! ls -l "/proc/$(cat pid.1)/fd" 2>/dev/null | grep -q 'labels\.fifo' && [ "$n" -lt 600 ]; do
    sleep 0.1
    n=$((n + 1))
done
sleep 0.5
kill -9 "$(cat pid.1)"
ranks_gone
kill "$feeder" 2>/dev/null
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$secs" -le 20 ] && [ ! -s out ] && ok ||
    bad "compare with rank 1 killed while reading: exit $rc after $secs s, stdout $(wc -c <out) bytes"
grep -qxF "$SIGTERM_MSG" err && grep -q "rank 1 .*exited on signal 9" err && ok ||
    bad "compare with rank 1 killed while reading: stderr '$(cat err)'"
# rank 1 killed in the middle of the cross-validation (after 0.5 s of
# its CPU time: loading 100000 rows takes a small part of that, the
# methods several seconds)
awk 'BEGIN { for (i = 0; i < 100000; i++) print (i * 7) % 4 }' >yb.csv
rm -f pid.0 pid.1
timeout 120 mpirun $ROOTFLAG --oversubscribe -n 2 ./pid.sh "$LFM" compare -m image=i.npy -m text=t.npy -y yb.csv \
    --methods mlp,stack-lr,gate >out 2>err &
job=$!
n=0
while [ ! -s pid.1 ] && [ "$n" -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
while [ "$(cpu_ticks "$(cat pid.1)")" -lt 50 ] && [ "$n" -lt 1200 ]; do sleep 0.1; n=$((n + 1)); done
kill -9 "$(cat pid.1)"
ranks_gone
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$secs" -le 20 ] && [ ! -s out ] && ok ||
    bad "compare with rank 1 killed mid-way: exit $rc after $secs s, stdout $(wc -c <out) bytes"
grep -qxF "$SIGTERM_MSG" err && grep -q "rank 1 .*exited on signal 9" err && ok ||
    bad "compare with rank 1 killed mid-way: stderr '$(cat err)'"
# rank 1 killed mid-predict, once rank 0 has made the temporary output
# (10^6 rows: the rows of i.npy and t.npy ten times, under a new header)
big() {
    head -c 128 "$1" | sed 's/(100000, 4), } /(1000000, 4), }/'
    for k in 1 2 3 4 5 6 7 8 9 10; do tail -c +129 "$1"; done
}
big i.npy >I.npy
big t.npy >T.npy
rm -f pid.0 pid.1
timeout 60 mpirun $ROOTFLAG --oversubscribe -n 2 ./pid.sh "$LFM" predict wavg.lff -m image=I.npy -m text=T.npy \
    -o big.npy >out 2>err &
job=$!
n=0
while [ -z "$(ls -a | grep 'big\.npy\.tmp-')" ] && [ ! -e big.npy ] && [ "$n" -lt 100000 ]; do n=$((n + 1)); done
kill -9 "$(cat pid.1)"
ranks_gone
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$secs" -le 20 ] && ok ||
    bad "predict with rank 1 killed mid-way: exit $rc after $secs s"
grep -qxF "$SIGTERM_MSG" err && grep -q "rank 1 .*exited on signal 9" err && ok ||
    bad "predict with rank 1 killed mid-way: stderr '$(cat err)'"
[ ! -e big.npy ] && [ -z "$(ls -a | grep 'tmp-')" ] && ok || bad "predict with rank 1 killed mid-way left files: $(ls -a)"
rm -f I.npy T.npy

# --- the engine's fit over the ranks (tests/mpi_fit.c, built here twice):
# P = 1 is the plain build's bits; P = 2 is the same run to run and within
# the golden tolerance of P = 1: the seed network, and models with Dropout,
# BatchNormalization (synchronised over the ranks; also of masked
# statistics after an Embedding(mask_zero)), a masked sequence output (its
# loss over the whole batch's unmasked steps) and a CNN with
# augmentation (draws by global row); a NaN target that rank 1 alone sees
# and a rank killed during the fit end the job within seconds, no model
# file written; rank 0 alone with validation batch events
LIBS="$(pkg-config --libs libpng libjpeg zlib 2>/dev/null) -lm -fopenmp"
if cc -std=c11 -O2 -I"$ROOT/include" "$ROOT/tests/mpi_fit.c" "$BUILD/liblatefuse.a" $LIBS -o fit0 &&
    mpicc -std=c11 -O2 -DLF_HAVE_MPI -I"$ROOT/include" "$ROOT/tests/mpi_fit.c" "$BUILD-mpi/liblatefuse.a" $LIBS -o fitm; then
    ok
    ./fit0 f0.lfm >f0.txt
    fit() { timeout 60 mpirun $ROOTFLAG --oversubscribe -n "$1" ./fitm "$2" $3 >"$4" 2>/dev/null; rc=$?; }
    fit 1 f1.lfm "" f1.txt
    same f0.lfm f1.lfm "fit on 1 rank: the model file"
    same f0.txt f1.txt "fit on 1 rank: losses and weights"
    # within2 A B WHAT: every number of A's lines within the golden
    # tolerance of B's
    within2() {
        paste -d' ' "$1" "$2" | awk '{ for (i = 2; i <= NF / 2; i++) { a = $i; b = $(i + NF / 2); d = a - b;
            if (d < 0) d = -d; if (d > 2e-5 + 2e-4 * (a < 0 ? -a : a)) bad = 1 } } END { exit bad }' &&
            ok || bad "$3 on 2 ranks is not within the golden tolerance of 1 rank: $(paste "$1" "$2" | head -n 8)"
    }
    fit 2 f2.lfm "" f2.txt
    fit 2 f2b.lfm "" f2b.txt
    same f2.lfm f2b.lfm "fit on 2 ranks, twice: the model file"
    [ "$(wc -l <f2.txt)" -eq 4 ] && ok || bad "fit on 2 ranks printed: $(cat f2.txt)"
    within2 f1.txt f2.txt "fit"
    for k in dropout batchnorm cnn seqbn seqout; do
        ./fit0 "${k}0.lfm" $k >"${k}0.txt"
        fit 1 "${k}1.lfm" $k "${k}1.txt"
        same "${k}0.lfm" "${k}1.lfm" "fit of the $k model on 1 rank: the model file"
        fit 2 "${k}2.lfm" $k "${k}2.txt"
        [ "$rc" -eq 0 ] && [ "$(wc -l <"${k}2.txt")" -ge 11 ] && ok ||
            bad "fit of the $k model on 2 ranks: exit $rc, '$(head -n 3 "${k}2.txt")'"
        fit 2 "${k}2b.lfm" $k "${k}2b.txt"
        same "${k}2.lfm" "${k}2b.lfm" "fit of the $k model on 2 ranks, twice: the model file"
        within2 "${k}1.txt" "${k}2.txt" "fit of the $k model"
    done
    # Winograd Conv2D with a last batch of 1 row: the ranks without rows
    # add nothing to the kernel's gradient (not a stale one)
    fit 1 wino1.lfm wino wino1.txt
    for p in 2 3; do
        fit $p "wino$p.lfm" wino "wino$p.txt"
        [ "$rc" -eq 0 ] && [ "$(wc -l <"wino$p.txt")" -eq 3 ] && ok ||
            bad "fit of the wino model on $p ranks: exit $rc, '$(head -n 3 "wino$p.txt")'"
        within2 wino1.txt "wino$p.txt" "fit of the wino model (a 1-row last batch, $p ranks)"
    done
    # the same data but a NaN target on rank 1: its message, from rank 0
    ./fit0 bad0.lfm bad >bad0.txt && ok || bad "mpi_fit bad on one process failed"
    start=$(date +%s)
    fit 2 bad2.lfm bad bad2.txt
    secs=$(($(date +%s) - start))
    [ "$rc" -eq 1 ] && [ "$(cat bad2.txt)" = "mpi_fit: fit: target at row 500, column 0 is not finite" ] &&
        [ ! -e bad2.lfm ] && [ "$secs" -le 20 ] && ok ||
        bad "fit with a NaN target on rank 1: exit $rc after $secs s, '$(cat bad2.txt)', $(ls bad2.lfm 2>&1)"
    # rank 1 given other validation rows, or another min_delta: every rank
    # fails with the message naming it (early stopping would otherwise end
    # rank 1's fit alone, the others waiting for it in the next step's sums);
    # rank 1 compiled with a clipnorm or given an L2 penalty: each rank adds
    # its own penalty gradient and runs its own optimizer step, so its
    # weights would drift from the others' (before: OK, weights differing)
    for k in valdiff mindelta optdiff l2diff; do
        case $k in
        valdiff) want="mpi_fit: fit: epoch 1: the MPI ranks were given different validation data (their validation losses differ): every rank of a collective call must pass the same data and options" ;;
        mindelta) want="mpi_fit: fit: the MPI ranks were given different min_delta options: every rank of a collective call must pass the same data and options" ;;
        *) want="mpi_fit: fit: the MPI ranks were given different models or optimizers (layers, penalties, trainable flags, losses or optimizer settings): every rank of a collective call must pass the same data and options" ;;
        esac
        fit 2 "${k}2.lfm" $k "${k}2.txt"
        [ "$rc" -eq 1 ] && [ "$(cat "${k}2.txt")" = "$want" ] && [ ! -e "${k}2.lfm" ] && ok ||
            bad "fit on 2 ranks, $k on rank 1: exit $rc, '$(cat "${k}2.txt")'"
    done
    # the last rank alone asks to stop at epoch 2's step 5: every rank ends
    # after that step (no rank waits for the others' next step), 2 epochs
    ./fit0 stopstep0.lfm stopstep >stopstep0.txt && [ "$(grep -c '^loss' stopstep0.txt)" -eq 2 ] && ok ||
        bad "mpi_fit stopstep on one process: '$(cat stopstep0.txt)'"
    for p in 2 3; do
        start=$(date +%s)
        fit $p "stopstep$p.lfm" stopstep "stopstep$p.txt"
        secs=$(($(date +%s) - start))
        [ "$rc" -eq 0 ] && [ "$(grep -c '^loss' "stopstep$p.txt")" -eq 2 ] && [ "$secs" -le 20 ] && ok ||
            bad "stop asked by the last of $p ranks: exit $rc after $secs s, '$(head -n 3 "stopstep$p.txt")'"
        within2 stopstep0.txt "stopstep$p.txt" "a fit stopped at a step on $p ranks"
    done
    # rank 0 alone with a progress callback (as the CLI's progress bar):
    # every rank takes part in the stop requests' exchange, the seed fit
    start=$(date +%s)
    fit 2 progress02.lfm progress0 progress02.txt
    secs=$(($(date +%s) - start))
    [ "$rc" -eq 0 ] && [ "$secs" -le 20 ] && ok || bad "progress on rank 0 alone: exit $rc after $secs s"
    same f2.lfm progress02.lfm "fit on 2 ranks with progress on rank 0 alone: the model file"
    # rank 0 alone asks for the validation batches' events
    # (progress_validation_steps): every rank measures the validation rows
    # in those batches, so their validation losses agree (else: 'different
    # validation data'); rank 0 reports every batch, as one process does
    ./fit0 valsteps0.lfm valsteps >valsteps0.txt && grep -q '^valsteps [1-9]' valsteps0.txt && ok ||
        bad "mpi_fit valsteps on one process: '$(tail -n 1 valsteps0.txt)'"
    fit 2 valsteps2.lfm valsteps valsteps2.txt
    [ "$rc" -eq 0 ] && [ "$(grep '^valsteps' valsteps2.txt)" = "$(grep '^valsteps' valsteps0.txt)" ] && ok ||
        bad "validation events on rank 0 alone of 2: exit $rc, '$(head -n 3 valsteps2.txt)'"
    within2 valsteps0.txt valsteps2.txt "a fit with validation events on rank 0"
    # rank 1 killed (SIGKILL) during a long fit: mpirun ends the job
    rm -f rank0.pid rank1.pid
    start=$(date +%s)
    timeout 60 mpirun $ROOTFLAG --oversubscribe -n 2 ./fitm kill.lfm seed 100000 >kill.txt 2>kill.err &
    job=$!
    i=0
    while [ ! -s rank1.pid ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
    sleep 1
    [ -s rank1.pid ] && kill -9 "$(cat rank1.pid)"
    wait $job
    rc=$?
    secs=$(($(date +%s) - start))
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$secs" -le 30 ] && grep -q 'rank 1 .*signal 9' kill.err &&
        [ ! -e kill.lfm ] && ok ||
        bad "a rank killed during fit: exit $rc after $secs s, '$(grep -v '^-*$' kill.err | head -n 3)', $(ls kill.lfm 2>&1)"
else
    bad "tests/mpi_fit.c does not build"
fi
# the ring allreduce of the gradients (tests/mpi_ring.c): exact sums, in
# the documented order, with blocks of unequal size or empty, on 2-4 ranks
if mpicc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -DLF_HAVE_MPI -I"$ROOT/include" -I"$ROOT/src" "$ROOT/tests/mpi_ring.c" \
    "$BUILD-mpi/liblatefuse.a" $LIBS -o ring; then
    for p in 2 3 4; do
        timeout 60 mpirun $ROOTFLAG --oversubscribe -n $p ./ring check >ring.txt 2>/dev/null
        [ "$(cat ring.txt)" = "ring ok" ] && ok || bad "the ring allreduce on $p ranks: $(head -n 3 ring.txt)"
    done
else
    bad "tests/mpi_ring.c does not build"
fi
# predict's cancel flag over the ranks (tests/mpi_cancel.c): set on one
# rank before the call, on every rank, or on rank 0 once its temporary
# files exist, every rank returns LF_ERR_CANCELLED (8) within the minute,
# no output or temporary file left; not set, every rank succeeds; then
# fit's and compare's
if mpicc -std=c11 -O2 -DLF_HAVE_MPI -I"$ROOT/include" "$ROOT/tests/mpi_cancel.c" "$BUILD-mpi/liblatefuse.a" $LIBS \
    -o cancel; then
    for mode in none rank1 all late0; do
        for p in 2 3; do
            rm -f out.npy cls.npy
            timeout 60 mpirun $ROOTFLAG --oversubscribe -n $p ./cancel $mode >cancel.txt 2>/dev/null
            rc=$?
            if [ $mode = none ]; then want=0 msg="" files=yes; else want=8 msg=cancelled files=; fi
            lines=$(awk -v s=$want -v m="$msg" '$2 == s && $3 == m && NF == (m == "" ? 2 : 3)' cancel.txt | wc -l)
            left=$(ls -a | grep -c 'tmp-')
            [ -e out.npy ] && [ -e cls.npy ] && got=yes || got=
            [ -z "$got" ] && { [ -e out.npy ] || [ -e cls.npy ]; } && got=half
            [ "$rc" -eq 0 ] && [ "$lines" -eq $p ] && [ "$left" -eq 0 ] && [ "$got" = "$files" ] && ok ||
                bad "predict cancelled ($mode) on $p ranks: exit $rc, '$(cat cancel.txt)', outputs '$got', $left temporary"
        done
    done
    # fit and compare (lf_fusion_options.cancel): rank 1's flag in auto's
    # cross-validation and in a data-parallel mlp's first step, every
    # rank's in compare: every rank returns 8 'cancelled' within the minute
    for mode in auto-rank1 mlp-rank1 compare-all; do
        for p in 2 3; do
            timeout 60 mpirun $ROOTFLAG --oversubscribe -n $p ./cancel $mode >cancel.txt 2>/dev/null
            rc=$?
            lines=$(awk '$2 == 8 && $3 == "cancelled" && NF == 3' cancel.txt | wc -l)
            [ "$rc" -eq 0 ] && [ "$lines" -eq $p ] && ok ||
                bad "$mode on $p ranks: exit $rc, '$(cat cancel.txt)'"
        done
    done
    # a failure rank 1 alone meets before the first collective call (its
    # own bad row; an allocation that fails there takes the same path):
    # every rank returns 3 with rank 1's message within the minute
    want="model 'a': row 5, class 0 is a negative probability (-0.5)"
    for mode in compare-bad1 auto-bad1 mlp-bad1; do
        for p in 2 3; do
            timeout 60 mpirun $ROOTFLAG --oversubscribe -n $p ./cancel $mode >cancel.txt 2>/dev/null
            rc=$?
            lines=$(awk -v w="$want" '$2 == 3 && (index($0, w) > 0)' cancel.txt | wc -l)
            msgs=$(cut -d' ' -f3- cancel.txt | sort -u | wc -l)
            [ "$rc" -eq 0 ] && [ "$lines" -eq $p ] && [ "$msgs" -eq 1 ] && ok ||
                bad "$mode on $p ranks: exit $rc, '$(cat cancel.txt)'"
        done
    done
    # arguments that differ between the ranks: rank 1 given one row fewer,
    # or one other label: every rank returns 5 (LF_ERR_ARG) with one
    # message naming what differs, within the minute
    for mode in compare-rows1 auto-rows1 mlp-rows1 compare-labels1 auto-labels1 mlp-labels1; do
        case $mode in
        compare-rows1 | auto-rows1) want="the MPI ranks were given different rows (2999 to 3000)" ;;
        mlp-rows1) want="the MPI ranks were given different training rows" ;;
        *) want="the MPI ranks were given different labels:" ;;
        esac
        for p in 2 3; do
            timeout 60 mpirun $ROOTFLAG --oversubscribe -n $p ./cancel $mode >cancel.txt 2>/dev/null
            rc=$?
            lines=$(awk -v w="$want" '$2 == 5 && (index($0, w) > 0)' cancel.txt | wc -l)
            msgs=$(cut -d' ' -f3- cancel.txt | sort -u | wc -l)
            [ "$rc" -eq 0 ] && [ "$lines" -eq $p ] && [ "$msgs" -eq 1 ] && ok ||
                bad "$mode on $p ranks: exit $rc, '$(cat cancel.txt)'"
        done
    done
    rm -f a.npy b.npy out.npy cls.npy
else
    bad "tests/mpi_cancel.c does not build"
fi
# the Web_News image CNN (bench/mpi_cnn.c: augmentation, 4 x Conv2D +
# BatchNormalization) on its first 96 rows, 2 epochs: 1 rank is the plain
# build's bits, 2 ranks the same run to run and within the golden
# tolerance (the loss and the first 10 weights of the last layer)
WN="$ROOT/../shared/data/webnews"
if [ -f "$WN/train_images.npy" ]; then
    if cc -std=c11 -O2 -I"$ROOT/include" -I"$ROOT/bench" "$ROOT/bench/mpi_cnn.c" "$BUILD/liblatefuse.a" $LIBS -o cnn0 &&
        mpicc -std=c11 -O2 -DLF_HAVE_MPI -I"$ROOT/include" -I"$ROOT/bench" "$ROOT/bench/mpi_cnn.c" \
            "$BUILD-mpi/liblatefuse.a" $LIBS -o cnnm; then
        ./cnn0 "$WN" 2 96 cnn0.lfm | sed 's/ seconds .* loss / loss /' >cnn0.txt
        for run in 1 2a 2b; do
            timeout 120 mpirun $ROOTFLAG --oversubscribe -n "${run%[ab]}" ./cnnm "$WN" 2 96 "cnn$run.lfm" 2>/dev/null |
                sed 's/ seconds .* loss / loss /' >"cnn$run.txt"
        done
        same cnn0.lfm cnn1.lfm "the Web_News CNN on 1 rank: the model file"
        same cnn2a.lfm cnn2b.lfm "the Web_News CNN on 2 ranks, twice: the model file"
        [ "$(wc -l <cnn2a.txt)" -eq 12 ] && ok || bad "the Web_News CNN on 2 ranks printed: $(head -n 3 cnn2a.txt)"
        paste -d' ' cnn1.txt cnn2a.txt | awk '{ for (i = 1; i <= NF / 2; i++) { a = $i; b = $(i + NF / 2);
            if (a !~ /^-?[0-9]/) continue; d = a - b; if (d < 0) d = -d;
            if (d > 2e-5 + 2e-4 * (a < 0 ? -a : a)) bad = 1 } } END { exit bad }' && ok ||
            bad "the Web_News CNN on 2 ranks is not within the golden tolerance of 1 rank: $(paste cnn1.txt cnn2a.txt | head -n 4)"
    else
        bad "bench/mpi_cnn.c does not build"
    fi
else
    skipped=$((skipped + 1))
    echo "SKIP: the Web_News CNN check: $WN/train_images.npy is missing"
fi
# seed-example under mpirun: rank 0 prints the summary and the weights once
"$LF" seed-example --quiet >seed1.txt 2>/dev/null
mpi 2 seed-example --quiet
[ "$rc" -eq 0 ] && [ "$(grep -c '^weights: ' out)" -eq 1 ] && [ "$(grep -c 'Total params' out)" -eq 1 ] &&
    [ "$(tail -n 1 out)" = "$(tail -n 1 seed1.txt)" ] && ok ||
    bad "seed-example on 2 ranks: exit $rc, '$(tail -n 2 out)', one process '$(tail -n 1 seed1.txt)'"

finish
