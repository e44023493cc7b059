#!/bin/sh
# mpi.sh — benchmark B10 (`make bench MPI=1`, or sh bench/mpi.sh BUILD-MPI):
# the MPI build on 1 and 2 ranks of this machine, one thread per rank
# (OMP_NUM_THREADS=1), each configuration LF_BENCH_B10_RUNS times in a row:
#   compare   LF_BENCH_B10_ROWS rows (default 1000000) x 3 models x 10
#             classes, the methods of LF_BENCH_B10_METHODS (default every
#             one), 5 folds, 1 and 2 ranks alternately; the speed-up of 2
#             ranks over 1, and every rank's CPU time
#   predict   the same models' files fused by `wavg`, sharded over the ranks
#             (LF_BENCH_B10_PRED_ROWS rows, default 10000000); wall time and
#             every rank's peak resident memory (/usr/bin/time -f %M)
# The data come from numpy (bench/README.md "B10").  Prints one line per
# run and the ranges; writes nothing outside a scratch folder.
set -eu
B=${1:-build-mpi}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
LF=$B/latefuse
[ -x "$LF" ] || { echo "mpi.sh: $LF is not built (make MPI=1)"; exit 1; }
N=${LF_BENCH_B10_ROWS:-1000000}
NP=${LF_BENCH_B10_PRED_ROWS:-10000000}
RUNS=${LF_BENCH_B10_RUNS:-3}
METHODS=${LF_BENCH_B10_METHODS:-}
export OMP_NUM_THREADS=1
ROOTFLAG=""
[ "$(id -u)" -eq 0 ] && ROOTFLAG=--allow-run-as-root
T=$(mktemp -d "${TMPDIR:-/tmp}/latefuse_b10.XXXXXX")
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 - "$T" "$N" "$NP" <<'PY'
import sys, numpy as np
d, n, npred = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(10)
y = rng.integers(0, 10, n)
np.save(f"{d}/y.npy", y.astype(np.int64))
for m, s in enumerate([1.5, 1.0, 0.5]):
    z = rng.normal(size=(n, 10)).astype(np.float32)
    z[np.arange(n), y] += s
    p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    np.save(f"{d}/m{m}.npy", p.astype(np.float32))
    # the predict files: the same rows repeated, written in blocks
    with open(f"{d}/big{m}.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (npred, 10)})
        left = npred
        while left:
            k = min(left, n)
            f.write(p[:k].astype(np.float32).tobytes())
            left -= k
PY
A="-m a=$T/m0.npy -m b=$T/m1.npy -m c=$T/m2.npy -y $T/y.npy"
[ -n "$METHODS" ] && A="$A --methods $METHODS"
secs() { python3 -c 'import time; print(f"{time.monotonic():.3f}")'; }
echo "B10 compare: $N rows x 3 models x 10 classes, methods: ${METHODS:-every}; load: $(cut -d' ' -f1-3 /proc/loadavg)"
# 1 and 2 ranks alternately; each rank's CPU time (user + system) beside
# the wall time: with the ranks' waits asleep (lf_dist_wait_all), a rank's
# CPU time is about its share of the work: the balance measure a loaded
# machine blurs least (the wall time it blurs most: Linux's autogroup
# gives a session's processes one share of the CPUs however many ranks
# it runs)
for r in $(seq "$RUNS"); do
    for p in 1 2; do
        t0=$(secs)
        mpirun $ROOTFLAG --oversubscribe -n "$p" /usr/bin/time -f "rank CPU %U+%S s" "$LF" compare $A --quiet \
            >"$T/c$p.txt" 2>"$T/cpu"
        t1=$(secs)
        echo "compare ranks=$p run=$r seconds=$(python3 -c "print(round($t1 - $t0, 2))") $(grep -h 'rank CPU' "$T/cpu" | tr '\n' ' ')"
    done
done
cmp -s "$T/c1.txt" "$T/c2.txt" && echo "compare: the same table on 1 and 2 ranks" || echo "compare: THE TABLES DIFFER"
"$LF" fit -m a="$T/m0.npy" -m b="$T/m1.npy" -m c="$T/m2.npy" -y "$T/y.npy" --method wavg -o "$T/w.lff" --quiet >/dev/null
echo "B10 predict: $NP rows x 3 models x 10 classes (wavg); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for p in 1 2; do
    for r in $(seq "$RUNS"); do
        t0=$(secs)
        mpirun $ROOTFLAG --oversubscribe -n "$p" /usr/bin/time -f "rank peak RSS %M KiB" "$LF" predict "$T/w.lff" \
            -m a="$T/big0.npy" -m b="$T/big1.npy" -m c="$T/big2.npy" -o "$T/out.npy" >/dev/null 2>"$T/rss"
        t1=$(secs)
        echo "predict ranks=$p run=$r seconds=$(python3 -c "print(round($t1 - $t0, 2))") $(grep -h 'peak RSS' "$T/rss" | tr '\n' ' ')"
    done
done
# the engine (bench/mpi_cnn.c, tests/mpi_ring.c): one epoch of the Web_News
# image CNN (LF_BENCH_B10_CNN_ROWS rows, default all 1696) on 1 and 2
# ranks, alternating, RUNS times each: the epoch's wall time and the CPU
# time of every rank added; then the ring allreduce of the CNN's gradient
# (243 178 floats) against the gather-and-add it replaced
WN=${LF_BENCH_B10_WEBNEWS:-$(dirname "$0")/../../shared/data/webnews}
if [ -f "$WN/train_images.npy" ]; then
    ROOT=$(cd "$(dirname "$0")/.." && pwd)
    LIBS="$(pkg-config --libs libpng libjpeg zlib 2>/dev/null) -lm -fopenmp"
    mpicc -std=c11 -O2 -DLF_HAVE_MPI -I"$ROOT/include" -I"$ROOT/bench" "$ROOT/bench/mpi_cnn.c" "$B/liblatefuse.a" \
        $LIBS -o "$T/cnn"
    mpicc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -DLF_HAVE_MPI -I"$ROOT/include" -I"$ROOT/src" \
        "$ROOT/tests/mpi_ring.c" "$B/liblatefuse.a" $LIBS -o "$T/ring"
    echo "B10 CNN: one epoch of the Web_News image CNN; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    for r in $(seq "$RUNS"); do
        for p in 1 2; do
            mpirun $ROOTFLAG --oversubscribe -n "$p" "$T/cnn" "$WN" 1 "${LF_BENCH_B10_CNN_ROWS:-0}" >"$T/cnn.txt"
            echo "cnn ranks=$p run=$r $(head -n 1 "$T/cnn.txt") load=$(cut -d' ' -f1 /proc/loadavg)"
        done
    done
    for p in 2 4 8; do
        mpirun $ROOTFLAG --oversubscribe -n "$p" "$T/ring" time 243178 20
    done
else
    echo "B10 CNN: skipped ($WN/train_images.npy is missing; LF_BENCH_B10_WEBNEWS names the folder)"
fi
