#!/bin/sh
# abi_test.sh — the public boundary of the shared library: the `lf_`
# functions that liblatefuse.so exports are exactly the functions that
# include/latefuse.h declares (the library is built with -fvisibility=hidden
# and the header marks its declarations visible), and nothing else is
# exported.  The header's functions are listed by the compiler itself
# (gcc -aux-info), not by pattern-matching its text.
# LF_BUILD names the build folder (default build).  Last line:
# "abi: N passed, N failed".
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LF_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SO=$BUILD/liblatefuse.so
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/latefuse_abi.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

if [ ! -f "$SO" ]; then
    echo "abi_test: $SO is not built"
    echo "abi: 0 passed, 1 failed"
    exit 1
fi
echo '#include <latefuse.h>' >"$T/h.c"
if ! gcc -std=c11 -I"$ROOT/include" -aux-info "$T/h.aux" -fsyntax-only "$T/h.c"; then
    echo "abi: 0 passed, 1 failed"
    exit 1
fi
grep 'latefuse\.h:' "$T/h.aux" | grep -oE '\blf_[a-z0-9_]+ \(' | sed 's/ ($//' | sort -u >"$T/header"
# every defined dynamic symbol that is not the toolchain's own: _init,
# _fini, __bss_start, ..., and, in sanitizer builds (-O1), names with a dot
# (the resolvers of function clones, OpenMP's critical-section locks),
# which no C declaration can name
nm -D --defined-only "$SO" | awk '{ print $3 }' | grep -v '^_' | grep -v '\.' | sort -u >"$T/exported"

n=$(wc -l <"$T/header")
if [ "$n" -ge 60 ]; then ok; else bad "only $n functions found in the header"; fi
extra=$(comm -13 "$T/header" "$T/exported")
missing=$(comm -23 "$T/header" "$T/exported")
if [ -z "$extra" ]; then ok; else bad "exported but not in the header: $(echo $extra)"; fi
if [ -z "$missing" ]; then ok; else bad "declared in the header but not exported: $(echo $missing)"; fi
echo "abi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
