#!/bin/sh
# Fault injection (see tests/fault/faults.c): builds the library sources with
# the test's allocation and I/O hooks (-Wl,--wrap) under AddressSanitizer +
# LeakSanitizer and runs every sweep.  Last line: "faults: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${LF_BUILD:-build}
out="$BUILD/tests/faults"
mkdir -p "$BUILD/tests"
CC=${CC:-cc}
wraps="malloc calloc realloc open read fwrite fflush fsync rename mmap pread pwrite"
wl=""
for w in $wraps; do wl="$wl -Wl,--wrap=$w"; done
if ! $CC -std=c11 -O1 -g -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -fsanitize=address -fno-omit-frame-pointer \
     -o "$out" tests/fault/faults.c src/*.c src/*/*.c $wl -lm 2>"$out.log"; then
    cat "$out.log"
    echo "faults: 0 passed, 1 failed"
    exit 1
fi
ASAN_OPTIONS=detect_leaks=1 "$out"
