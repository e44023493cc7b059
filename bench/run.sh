#!/bin/sh
# shellcheck disable=SC2317 # the bench_* functions are called by name
# run.sh — the benchmark harness behind `make bench` (see bench/README.md).
#
#   sh bench/run.sh [BUILD]        (BUILD: the build folder, default build)
#
# Compiles the C benchmark programs against BUILD/liblatefuse.a into
# BUILD/bench/, measures the machine (peak FLOP/s, streaming bandwidth), runs
# every benchmark for latefuse and for its peer in the same run, then prints
# the results table and writes it to BUILD/bench/results.md.  Each program
# prints "RESULT <key> <value>" lines; they are collected in
# BUILD/bench/results.txt and turned into the table by bench/report.py.
#
# One shell function per benchmark (bench_b1, bench_b2, ...): a new
# benchmark is a new function, its name in LF_BENCH's default, and its rows
# in bench/report.py.
#
# Environment (all optional):
#   LF_BENCH            benchmarks to run, default "machine b1 b2 b3 b4 b5 b6 b7 b8 b9 b11"
#   LF_BENCH_QUICK=1    tiny sizes, to check that the harness works (the
#                       numbers mean nothing)
#   LF_BENCH_B1_RUNS    timed fits of B1 (default 7, after one warm-up)
#   LF_BENCH_B2_CALLS   timed predict calls of B2 (default 20000)
#   LF_BENCH_B3_ROWS    rows of B3 (default 100000)
#   LF_BENCH_B3_RUNS    timed epochs of B3 (default 3)
#   LF_BENCH_B3_MAX_RUN_S  if latefuse's warm-up projects a longer epoch,
#                       B3 runs on 20000 rows (and says so); if PyTorch's
#                       does, it times one epoch only; default 30
#   LF_BENCH_B4_ROWS    rows of B4's .npy files (default 10000000)
#   LF_BENCH_B4_RUNS    timed `latefuse predict` runs per rule, with fsync and
#                       with --no-fsync (default 5, after one warm-up; the same
#                       for numpy)
#   LF_BENCH_B5_ROWS, LF_BENCH_B5_TEST  training / held-out rows of B5
#                       (default 1000000 / 200000)
#   LF_BENCH_B5_EPOCHS  epochs of B5's fits (default 1)
#   LF_BENCH_B5_RUNS    timed fits per method, on every side, after one
#                       warm-up fit (default 3)
#   LF_BENCH_B7_DATA    the Web_News folder of B7 (default ../shared/data/webnews;
#                       B7 is skipped when its train_images.npy is missing)
#   LF_BENCH_B7_RUNS    timed epochs of B7 on every side, after one warm-up
#                       epoch (default 3)
#   LF_BENCH_B7_THREADS threads of both sides in B7 (default: every core)
#   LF_BENCH_B9_ROWS, LF_BENCH_B9_FIT_ROWS  rows of B9's ges fit and DES
#                       predict / DES fitting rows (default 1000000 / 100000)
#   LF_BENCH_B9_RUNS    timed calls of B9 after a warm-up (default 3)
#   LF_BENCH_B8_BATCHES training steps per timed epoch of B8 (default 16)
#   LF_BENCH_B8_RUNS    timed epochs of B8, after one warm-up epoch (default 3)
#   LF_BENCH_B11_BATCHES training steps per timed epoch of B11 (default 4)
#   LF_BENCH_B11_RUNS   timed epochs of B11, after one warm-up epoch (default 3)
#   LF_BENCH_B6_SIZES   row counts of B6 (default "10000 100000 1000000
#                       10000000"; sizes above B4's rows are skipped)
#   LF_BENCH_B6_EPOCHS  epochs of B6's wavg fits (default 1)
#   LF_BENCH_DATA       folder for B4-B6's data files (default: a new
#                       folder under /tmp, removed at the end); needs about
#                       7 x 40 bytes per B4 row (2.8 GB at 10 million rows)
#   LF_BENCH_COPY_MIB   buffer size of the bandwidth test (default 512)
#   LF_BENCH_PYTHON     Python with torch (default /usr/bin/python3)
#   LF_BENCH_OPENBLAS   folder holding OpenBLAS' libblas.so.3 for the peer;
#                       by default Debian's openblas-openmp (or -pthread)
#                       folder when installed.  Without it Debian's python3-torch
#                       runs on the reference BLAS, and B3's peer is slow.
#   LF_BENCH_LDLIBS     extra libraries to link the C programs with
#   CC                  C compiler (default cc)
set -u

BUILD=${1:-build}
OUT=$BUILD/bench
CC=${CC:-cc}
PY=${LF_BENCH_PYTHON:-/usr/bin/python3}
RESULTS=$OUT/results.txt
STATUS=0

if [ "${LF_BENCH_QUICK:-0}" = 1 ]; then
    B1_RUNS=${LF_BENCH_B1_RUNS:-1}
    B2_CALLS=${LF_BENCH_B2_CALLS:-200}
    B3_ROWS=${LF_BENCH_B3_ROWS:-512}
    B3_RUNS=${LF_BENCH_B3_RUNS:-1}
    B4_ROWS=${LF_BENCH_B4_ROWS:-100000}
    B4_RUNS=${LF_BENCH_B4_RUNS:-1}
    B5_ROWS=${LF_BENCH_B5_ROWS:-20000}
    B5_TEST=${LF_BENCH_B5_TEST:-5000}
    B5_RUNS=${LF_BENCH_B5_RUNS:-1}
    B6_SIZES=${LF_BENCH_B6_SIZES:-1000 10000 100000}
    B9_ROWS=${LF_BENCH_B9_ROWS:-20000}
    B9_FIT_ROWS=${LF_BENCH_B9_FIT_ROWS:-2000}
    B9_RUNS=${LF_BENCH_B9_RUNS:-1}
    B7_RUNS=${LF_BENCH_B7_RUNS:-1}
    B7_ROWS=64
    B8_BATCHES=${LF_BENCH_B8_BATCHES:-2}
    B8_RUNS=${LF_BENCH_B8_RUNS:-1}
    B11_BATCHES=${LF_BENCH_B11_BATCHES:-1}
    B11_RUNS=${LF_BENCH_B11_RUNS:-1}
    COPY_MIB=${LF_BENCH_COPY_MIB:-16}
else
    B1_RUNS=${LF_BENCH_B1_RUNS:-7}
    B2_CALLS=${LF_BENCH_B2_CALLS:-20000}
    B3_ROWS=${LF_BENCH_B3_ROWS:-100000}
    B3_RUNS=${LF_BENCH_B3_RUNS:-3}
    B4_ROWS=${LF_BENCH_B4_ROWS:-10000000}
    B4_RUNS=${LF_BENCH_B4_RUNS:-5}
    B5_ROWS=${LF_BENCH_B5_ROWS:-1000000}
    B5_TEST=${LF_BENCH_B5_TEST:-200000}
    B5_RUNS=${LF_BENCH_B5_RUNS:-3}
    B6_SIZES=${LF_BENCH_B6_SIZES:-10000 100000 1000000 10000000}
    B9_ROWS=${LF_BENCH_B9_ROWS:-1000000}
    B9_FIT_ROWS=${LF_BENCH_B9_FIT_ROWS:-100000}
    B9_RUNS=${LF_BENCH_B9_RUNS:-3}
    B7_RUNS=${LF_BENCH_B7_RUNS:-3}
    B7_ROWS=0
    B8_BATCHES=${LF_BENCH_B8_BATCHES:-16}
    B8_RUNS=${LF_BENCH_B8_RUNS:-3}
    B11_BATCHES=${LF_BENCH_B11_BATCHES:-4}
    B11_RUNS=${LF_BENCH_B11_RUNS:-3}
    COPY_MIB=${LF_BENCH_COPY_MIB:-512}
fi
B3_MAX_RUN_S=${LF_BENCH_B3_MAX_RUN_S:-30}
B5_EPOCHS=${LF_BENCH_B5_EPOCHS:-1}
B6_EPOCHS=${LF_BENCH_B6_EPOCHS:-1}
LF=$BUILD/latefuse
DATA=
DATA_OWNED=0

say() { printf '%s\n' "bench: $*" >&2; }

# ------------------------------------------------------------------ build

# Libraries the static library needs beyond libm: OpenMP when it was built
# with it, OpenBLAS when it calls cblas_sgemm, zlib, libpng and libjpeg
# when it was built with them.
lib_flags() {
    flags="-lm -pthread"
    if command -v nm >/dev/null 2>&1; then
        syms=$(nm "$BUILD/liblatefuse.a" 2>/dev/null | grep ' U ' || true)
        case "$syms" in *GOMP_*|*omp_get_*) flags="$flags -fopenmp" ;; esac
        case "$syms" in *cblas_*) flags="$flags -lopenblas" ;; esac
        # the optional image/npz decoders the build found (Makefile's IMGLIBS)
        case "$syms" in *" U inflate"*) flags="$flags $(pkg-config --libs zlib 2>/dev/null || echo -lz)" ;; esac
        case "$syms" in *" U png_"*) flags="$flags $(pkg-config --libs libpng 2>/dev/null || echo -lpng)" ;; esac
        case "$syms" in *" U jpeg_"*) flags="$flags $(pkg-config --libs libjpeg 2>/dev/null || echo -ljpeg)" ;; esac
    fi
    echo "$flags ${LF_BENCH_LDLIBS:-}"
}

build() {
    if [ ! -f "$BUILD/liblatefuse.a" ]; then
        say "$BUILD/liblatefuse.a is missing: run make first"
        exit 1
    fi
    mkdir -p "$OUT"
    libs=$(lib_flags)
    for prog in machine engine fusion cmdtime cnn knnsearch; do
        # shellcheck disable=SC2086 # $libs is a list of flags
        if ! $CC -O2 -std=c11 -Iinclude -Isrc -o "$OUT/$prog" "bench/$prog.c" \
            "$BUILD/liblatefuse.a" $libs; then
            say "cannot compile bench/$prog.c"
            exit 1
        fi
    done
}

# --------------------------------------------------------------- helpers

# run_step NAME COMMAND...: runs one program, keeps its RESULT lines (its
# stderr shows progress); a failure is recorded (status 1) and the run goes on.
run_step() {
    name=$1
    shift
    say "$name"
    if "$@" >"$OUT/$name.out"; then
        grep '^RESULT ' "$OUT/$name.out" >>"$RESULTS"
    else
        say "$name failed (exit $?)"
        echo "RESULT $name.failed 1" >>"$RESULTS"
        STATUS=1
        return 1
    fi
}

# Share of the CPUs busy (with other work) over one second, from /proc/stat.
cpu_busy() {
    [ -r /proc/stat ] || { echo '?'; return; }
    a=$(head -n 1 /proc/stat)
    sleep 1
    b=$(head -n 1 /proc/stat)
    printf '%s\n%s\n' "$a" "$b" | awk '{ idle[NR] = $5 + $6; tot[NR] = 0
        for (i = 2; i <= NF; i++) tot[NR] += $i }
        END { d = tot[2] - tot[1]; b = 0; if (d > 0) b = 1 - (idle[2] - idle[1]) / d
              printf "%.2f\n", b }'
}

result_of() { sed -n "s/^RESULT $1 //p" "$RESULTS" | tail -n 1; }

PEER_OK=0
peer_setup() {
    if "$PY" -c 'import torch' >/dev/null 2>&1; then
        PEER_OK=1
    else
        say "no torch in $PY: the PyTorch columns stay empty (apt-get install python3-torch)"
        echo "RESULT torch.missing 1" >>"$RESULTS"
    fi
    PEER_LIBPATH=
    # the OpenMP build first: PyTorch runs on OpenMP, and OpenBLAS' own
    # pthreads would compete with its OpenMP threads for the cores
    for d in "${LF_BENCH_OPENBLAS:-}" /usr/lib/x86_64-linux-gnu/openblas-openmp \
        /usr/lib/x86_64-linux-gnu/openblas-pthread; do
        if [ -n "$d" ] && [ -e "$d/libblas.so.3" ]; then
            PEER_LIBPATH=$d
            break
        fi
    done
    [ -z "$PEER_LIBPATH" ] && say "no OpenBLAS found: PyTorch uses the system's libblas.so.3"
}

# peer NAME ARGS...: the PyTorch side of a benchmark
peer() {
    [ "$PEER_OK" = 1 ] || return 0
    name=$1
    shift
    run_step "$name" env LD_LIBRARY_PATH="$PEER_LIBPATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        "$PY" bench/torch_peer.py "$@"
}

# py_step NAME MODULE SCRIPT ARGS...: a numpy or scikit-learn peer, run
# when the Python has MODULE (with the OpenBLAS folder the PyTorch peer uses)
py_step() {
    name=$1
    mod=$2
    shift 2
    if ! "$PY" -c "import $mod" >/dev/null 2>&1; then
        say "no $mod in $PY: $name is skipped (apt-get install python3-$mod)"
        echo "RESULT $mod.missing 1" >>"$RESULTS"
        return 0
    fi
    run_step "$name" env LD_LIBRARY_PATH="$PEER_LIBPATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        "$PY" "$@"
}

# The data folder of B4-B6 (made on first use, removed at exit when made here).
data_dir() {
    if [ -z "$DATA" ]; then
        if [ -n "${LF_BENCH_DATA:-}" ]; then
            DATA=$LF_BENCH_DATA
            mkdir -p "$DATA" || return 1
        else
            DATA=$(mktemp -d "${TMPDIR:-/tmp}/latefuse-bench.XXXXXX") || return 1
            DATA_OWNED=1
        fi
    fi
}

cleanup() {
    if [ "$DATA_OWNED" = 1 ] && [ -n "$DATA" ]; then rm -rf "$DATA"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bytes_of() { wc -c <"$1" | tr -d ' '; }

# Share of a file's pages in the page cache (fincore, util-linux), or '?'.
cached_share() {
    command -v fincore >/dev/null 2>&1 || { echo '?'; return; }
    fincore --bytes --raw --noheadings -o RES,SIZE "$1" 2>/dev/null |
        awk '{ if ($2 > 0) printf "%.3f\n", $1 / $2; else print "?" }'
}

# rules_data: the 3 x B4_ROWS x 10 float32 files of B4 and B6 (once per run),
# when the disk has room; their first 10000 rows and every B6 size as
# separate files.
RULES_DONE=0
rules_data() {
    [ "$RULES_DONE" = 1 ] && return 0
    [ "$RULES_DONE" = 2 ] && return 1
    RULES_DONE=2
    if ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
        say "no numpy in $PY: B4 and B6 need it to write their data"
        echo "RESULT numpy.missing 1" >>"$RESULTS"
        return 1
    fi
    data_dir || return 1
    need_kib=$((B4_ROWS * 280 / 1024))
    avail_kib=$(df -Pk "$DATA" | awk 'NR == 2 { print $4 }')
    mem_kib=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo)
    {
        echo "RESULT data.disk_avail_gb $(awk "BEGIN { printf \"%.1f\", $avail_kib / 1048576 }")"
        echo "RESULT data.disk_need_gb $(awk "BEGIN { printf \"%.1f\", $need_kib / 1048576 }")"
        echo "RESULT data.mem_avail_gb $(awk "BEGIN { printf \"%.1f\", ${mem_kib:-0} / 1048576 }")"
    } >>"$RESULTS"
    if [ "${avail_kib:-0}" -lt "$need_kib" ]; then
        say "B4/B6: $DATA has $avail_kib KiB free, $need_kib KiB are needed: skipped"
        echo "RESULT data.no_room 1" >>"$RESULTS"
        return 1
    fi
    # shellcheck disable=SC2086 # the sizes are a list
    run_step data.rules "$PY" bench/gendata.py rules "$DATA" "$B4_ROWS" 10000 $B6_SIZES || return 1
    [ -f "$DATA/a.npy" ] || return 1
    RULES_DONE=1
}

# rules_prefix ROWS: the path prefix of the files of ROWS rows
rules_prefix() {
    if [ "$1" -ge "$B4_ROWS" ]; then echo "$DATA/"; else echo "$DATA/n$1_"; fi
}


# The machine limits are measured at the start and again at the end of the
# run (keys prefixed "again."); the report keeps the better of the two, so a
# burst of other work during one of them does not lower the limits.
bench_machine() { run_step machine "$OUT/machine" "$COPY_MIB"; }

machine_again() {
    say "machine (again)"
    if "$OUT/machine" "$COPY_MIB" >"$OUT/machine.again.out"; then
        sed -n 's/^RESULT /RESULT again./p' "$OUT/machine.again.out" >>"$RESULTS"
    fi
}

bench_b1() {
    run_step b1.latefuse "$OUT/engine" b1 "$B1_RUNS"
    peer b1.torch b1 "$B1_RUNS"
}

bench_b2() {
    run_step b2.latefuse "$OUT/engine" b2 "$B2_CALLS"
    peer b2.torch b2 "$B2_CALLS"
}

bench_b3() {
    run_step b3.latefuse "$OUT/engine" b3 "$B3_ROWS" "$B3_RUNS" "$B3_MAX_RUN_S"
    rows=$(result_of b3.rows)
    peer b3.torch b3 "${rows:-$B3_ROWS}" "$B3_RUNS" "$B3_MAX_RUN_S"
}

# B4: `latefuse predict` of the fixed rules mean and product (fitted once on
# the first 10000 rows: a fixed rule learns nothing) over B4_ROWS rows,
# against numpy doing the same from the same files.
bench_b4() {
    rules_data || return 0
    sub=$(rules_prefix 10000)
    for rule in mean product; do
        say "b4: fit $rule on ${sub}*"
        if ! "$LF" fit -m a="${sub}a.npy" -m b="${sub}b.npy" -m c="${sub}c.npy" -y "${sub}y.npy" \
            --method "$rule" -o "$DATA/$rule.lf" >"$OUT/b4.fit.$rule.out" 2>&1; then
            say "b4: latefuse fit --method $rule failed (see $OUT/b4.fit.$rule.out)"
            echo "RESULT b4.$rule.latefuse.failed 1" >>"$RESULTS"
            STATUS=1
            continue
        fi
        # as users run it (the output fsynced), then with --no-fsync (numpy
        # does not fsync: the fair comparison)
        run_step "b4.$rule.latefuse" "$OUT/cmdtime" "b4.$rule.latefuse" "$B4_RUNS" 1 -- \
            "$LF" predict "$DATA/$rule.lf" -m a="$DATA/a.npy" -m b="$DATA/b.npy" \
            -m c="$DATA/c.npy" -o "$DATA/lf_$rule.npy"
        run_step "b4.$rule.latefuse_nofsync" "$OUT/cmdtime" "b4.$rule.latefuse_nofsync" "$B4_RUNS" 1 -- \
            "$LF" predict "$DATA/$rule.lf" -m a="$DATA/a.npy" -m b="$DATA/b.npy" \
            -m c="$DATA/c.npy" -o "$DATA/lf_$rule.npy" --no-fsync
    done
    # what the files alone cost through the kernel, on one thread: cat the
    # three inputs (read() from the page cache) and write the output's size
    # with dd (no fsync) into a new file, removed again at once (a file
    # truncated and rewritten would have its blocks written out at close on
    # ext4; new files kept would pile up dirty pages for the writeback)
    if [ -f "$DATA/lf_mean.npy" ]; then
        out_mib=$(($(bytes_of "$DATA/lf_mean.npy") / 1048576))
        run_step b4.io_floor "$OUT/cmdtime" b4.io_floor "$B4_RUNS" 1 -- sh -c \
            'cat "$1" "$2" "$3" >/dev/null && dd if=/dev/zero of="$4" bs=1M count="$5" status=none && rm "$4"' \
            sh "$DATA/a.npy" "$DATA/b.npy" "$DATA/c.npy" "$DATA/floor.npy" "$out_mib"
        rm -f "$DATA/floor.npy"
    fi
    py_step b4.numpy numpy bench/numpy_peer.py b4 "$DATA" "$B4_RUNS" "$DATA/lf_mean.npy" \
        "$DATA/lf_product.npy"
    {
        echo "RESULT b4.rows $B4_ROWS"
        echo "RESULT b4.bytes_read $(($(bytes_of "$DATA/a.npy") * 3))"
        [ -f "$DATA/lf_mean.npy" ] && echo "RESULT b4.bytes_written $(bytes_of "$DATA/lf_mean.npy")"
        echo "RESULT b4.cached_share $(cached_share "$DATA/a.npy")"
    } >>"$RESULTS"
    rm -f "$DATA/lf_mean.npy" "$DATA/lf_product.npy"
}

# B5: fitting wavg, wavg-class and stack-lr with the C API, against PyTorch
# (the same networks and Adam settings) and scikit-learn (stack-lr).
bench_b5() {
    if ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
        say "no numpy in $PY: B5 needs it to write its data"
        echo "RESULT numpy.missing 1" >>"$RESULTS"
        return 0
    fi
    data_dir || return 0
    mkdir -p "$DATA/b5"
    run_step data.b5 "$PY" bench/gendata.py b5 "$DATA/b5" "$B5_ROWS" "$B5_TEST" || return 0
    run_step b5.latefuse "$OUT/fusion" b5 "$DATA/b5" "$B5_EPOCHS" "$B5_RUNS"
    peer b5.torch b5 "$DATA/b5" "$B5_EPOCHS" "$B5_RUNS"
    py_step b5.sklearn sklearn bench/sklearn_peer.py b5 "$DATA/b5" "$B5_RUNS"
    rm -rf "$DATA/b5"
}

# B6: time and peak memory of `latefuse fit --method wavg` and `latefuse
# predict` for every size of B6_SIZES (3 runs each up to 10^6 rows, 1 above).
bench_b6() {
    rules_data || return 0
    for n in $B6_SIZES; do
        if [ "$n" -gt "$B4_ROWS" ]; then
            say "b6: $n rows is above B4's $B4_ROWS: skipped"
            continue
        fi
        pre=$(rules_prefix "$n")
        runs=3
        [ "$n" -gt 1000000 ] && runs=1
        echo "RESULT b6.$n.input_bytes $(($(bytes_of "${pre}a.npy") * 3 + $(bytes_of "${pre}y.npy")))" \
            >>"$RESULTS"
        run_step "b6.$n.fit" "$OUT/cmdtime" "b6.$n.fit" "$runs" 0 -- \
            "$LF" fit -m a="${pre}a.npy" -m b="${pre}b.npy" -m c="${pre}c.npy" -y "${pre}y.npy" \
            --method wavg --epochs "$B6_EPOCHS" -o "$DATA/b6.lf"
        run_step "b6.$n.predict" "$OUT/cmdtime" "b6.$n.predict" "$runs" 0 -- \
            "$LF" predict "$DATA/b6.lf" -m a="${pre}a.npy" -m b="${pre}b.npy" -m c="${pre}c.npy" \
            -o "$DATA/b6_out.npy"
        rm -f "$DATA/b6_out.npy"
    done
    echo "RESULT b6.epochs $B6_EPOCHS" >>"$RESULTS"
}

# ------------------------------------------------------------------ main

# Waits (up to 30 s) for other work to leave the CPUs mostly idle.
wait_quiet() {
    i=0
    while [ $i -lt 30 ]; do
        busy=$(cpu_busy)
        case "$busy" in '?' | 0.0* | 0.1*) echo "$busy"; return ;; esac
        [ $i = 0 ] && say "the CPUs are busy ($busy) with other work: waiting up to 30 s"
        i=$((i + 1))
    done
    echo "$busy"
}


build
: >"$RESULTS"
{
    echo "RESULT env.date $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "RESULT env.cpu $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
    echo "RESULT env.cores $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')"
    echo "RESULT env.commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "RESULT env.cc $($CC --version 2>/dev/null | head -n 1)"
    echo "RESULT env.command make bench"
    echo "RESULT env.busy_start $(wait_quiet)"
} >>"$RESULTS"
peer_setup
start=$(date +%s)
# B9: greedy ensemble selection's fit and dynamic selection's predict (no
# peer: goals are absolute times on this machine; data drawn by the program)
bench_b9() { run_step b9.latefuse "$OUT/fusion" b9 "$B9_ROWS" "$B9_FIT_ROWS" "$B9_RUNS"; }

# B7: one training epoch of the Web_News image CNN (bench/cnn.c), against
# the same network in PyTorch, each side in its own process
bench_b7() {
    dir=${LF_BENCH_B7_DATA:-../shared/data/webnews}
    if [ ! -f "$dir/train_images.npy" ]; then
        say "b7: no $dir/train_images.npy (set LF_BENCH_B7_DATA): skipped"
        echo "RESULT b7.no_data 1" >>"$RESULTS"
        return 0
    fi
    nt=${LF_BENCH_B7_THREADS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
    echo "RESULT b7.threads $nt" >>"$RESULTS"
    LF_BENCH_THREADS=$nt
    export LF_BENCH_THREADS
    # the example's network (B7), then the larger one it had before (B7L)
    for net in example large; do
        k=b7; [ "$net" = large ] && k=b7l
        run_step $k.latefuse env OMP_NUM_THREADS="$nt" "$OUT/cnn" b7 "$dir" "$B7_RUNS" "$B7_ROWS" "$net"
        peer $k.torch b7 "$dir" "$B7_RUNS" "$B7_ROWS" "$net"
    done
    unset LF_BENCH_THREADS
}

# B8: training steps of a MultiHeadAttention encoder block, against the
# same block in PyTorch (nn.MultiheadAttention)
bench_b8() {
    run_step b8.latefuse "$OUT/engine" b8 "$B8_BATCHES" "$B8_RUNS"
    peer b8.torch b8 "$B8_BATCHES" "$B8_RUNS"
}

# B11: training steps of a small C3D-style video network (Conv3D), against
# the same network in PyTorch (nn.Conv3d, its own NCDHW layout)
bench_b11() {
    run_step b11.latefuse "$OUT/engine" b11 "$B11_BATCHES" "$B11_RUNS"
    peer b11.torch b11 "$B11_BATCHES" "$B11_RUNS"
}

for b in ${LF_BENCH:-machine b1 b2 b3 b4 b5 b6 b7 b8 b9 b11}; do
    if command -v "bench_$b" >/dev/null 2>&1; then
        "bench_$b"
    else
        say "unknown benchmark '$b'"
        STATUS=1
    fi
done
case " ${LF_BENCH:-machine} " in *" machine "*) machine_again ;; esac
echo "RESULT env.total_s $(($(date +%s) - start))" >>"$RESULTS"
echo "RESULT env.busy_end $(cpu_busy)" >>"$RESULTS"

# the report needs no torch: any Python 3 will do
REPORT_PY=$PY
command -v "$REPORT_PY" >/dev/null 2>&1 || REPORT_PY=python3
"$REPORT_PY" bench/report.py "$RESULTS" "$OUT/results.md" || STATUS=1
exit $STATUS
