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
# the image decoders when pkg-config finds them (as the Makefile does)
img="" imglibs=""
if pkg-config --exists libpng libjpeg 2>/dev/null; then
    img="-DLF_HAVE_PNG -DLF_HAVE_JPEG $(pkg-config --cflags libpng libjpeg)"
    imglibs=$(pkg-config --libs libpng libjpeg)
fi
if ! $CC -std=c11 -O1 -g -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $img -fsanitize=address -fno-omit-frame-pointer \
     -o "$out" tests/fault/faults.c src/*.c src/*/*.c $wl $imglibs -lm 2>"$out.log"; then
    cat "$out.log"
    echo "faults: 0 passed, 1 failed"
    exit 1
fi
ASAN_OPTIONS=detect_leaks=1 "$out"
