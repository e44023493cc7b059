#!/bin/sh
# Fault injection (see tests/fault/faults.c): builds the library sources with
# the test's allocation and I/O hooks (-Wl,--wrap) under AddressSanitizer +
# LeakSanitizer and runs every sweep; then the same sources with OpenMP
# (`faults threads`, on 2 and 3 threads), where compare's and auto's folds
# and the members of two ensembles fail on the library's threads.
# Last line: "faults: N passed, N failed" (both builds together).
set -u
cd "$(dirname "$0")/.."
BUILD=${LF_BUILD:-build}
out="$BUILD/tests/faults"
mkdir -p "$BUILD/tests"
CC=${CC:-cc}
wraps="malloc calloc realloc open read fwrite fflush fsync rename mmap pread pwrite"
wl=""
for w in $wraps; do wl="$wl -Wl,--wrap=$w"; done
# the image decoders when pkg-config finds them (as the Makefile does)
img="" imglibs=""
if pkg-config --exists libpng libjpeg 2>/dev/null; then
    img="-DLF_HAVE_PNG -DLF_HAVE_JPEG $(pkg-config --cflags libpng libjpeg)"
    imglibs=$(pkg-config --libs libpng libjpeg)
fi
build() { # build OUTPUT [extra flags]
    o=$1; shift
    if ! $CC -std=c11 -O1 -g -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $img -fsanitize=address -fno-omit-frame-pointer \
         "$@" -o "$o" tests/fault/faults.c src/*.c src/*/*.c $wl $imglibs -lm 2>"$o.log"; then
        cat "$o.log"
        echo "faults: 0 passed, 1 failed"
        exit 1
    fi
}
build "$out"
pass=0 fail=0
omp=1
if ! echo 'int main(void) { return 0; }' | $CC -fopenmp -x c -o "$out-probe" - 2>/dev/null; then
    omp=0
    echo "faults: $CC builds no OpenMP: the sweeps on threads are not run"
    [ "${CI:-}" = true ] && fail=1 && echo "faults: under CI=true OpenMP is required"
else
    build "$out-omp" -fopenmp
fi
rm -f "$out-probe"
run() { # run LABEL COMMAND...: its lines but the totals, which add up
    label=$1; shift
    res=$("$@" 2>&1); rc=$?
    printf '%s\n' "$res" | grep -v '^faults: [0-9]* passed' | sed "s/^/$label/"
    line=$(printf '%s\n' "$res" | grep '^faults: [0-9]* passed' | tail -1)
    if [ -z "$line" ]; then
        fail=$((fail + 1)); echo "${label}faults: no result (exit $rc)"
        return
    fi
    p=$(echo "$line" | sed 's/faults: \([0-9]*\) passed, \([0-9]*\) failed/\1/')
    f=$(echo "$line" | sed 's/faults: \([0-9]*\) passed, \([0-9]*\) failed/\2/')
    pass=$((pass + p)) fail=$((fail + f))
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { fail=$((fail + 1)); echo "${label}exit $rc"; }
}
run "" env ASAN_OPTIONS=detect_leaks=1 "$out"
for t in 2 3; do
    [ $omp -eq 1 ] || break
    run "[$t threads] " env ASAN_OPTIONS=detect_leaks=1 OMP_NUM_THREADS=$t "$out-omp" threads
done
echo "faults: $pass passed, $fail failed"
