#!/bin/sh
# python_test.sh — runs the Python package's tests (python/tests, pytest)
# against the shared library of a build folder ($LF_BUILD, default build).
#
# Why a script: tests/run.sh runs every tests/*_test.sh and sums their
# "NAME: N passed, N failed[, K skipped]" last lines.  Here the Python tests
# need Debian's /usr/bin/python3 with numpy and pytest (the `python3` on PATH
# may be another interpreter); without them the run counts as one skipped
# check, with its reason, and pytest's own skips (e.g. the tests that need
# torch) are counted as skipped.  Under CI=true a skip is a failure.
# --capture=sys leaves the C library's stderr (sanitizer reports) visible
# when a test crashes.
# Exit status: non-zero when a test failed or pytest itself failed.
cd "$(dirname "$0")/.." || exit 1
PY=/usr/bin/python3
BUILD=${LF_BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$(pwd)/$BUILD" ;; esac
LIB="$BUILD/liblatefuse.so"

skip() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL (skipped under CI=true): Python tests: $1"
        echo "python: 0 passed, 1 failed"
        exit 1
    fi
    echo "SKIP: Python tests: $1"
    echo "python: 0 passed, 0 failed, 1 skipped"
    exit 0
}

[ -x "$PY" ] || skip "$PY is missing (install python3, python3-numpy, python3-pytest)"
"$PY" -c 'import numpy' 2>/dev/null || skip "numpy is missing for $PY (apt-get install python3-numpy)"
"$PY" -c 'import pytest' 2>/dev/null || skip "pytest is missing for $PY (apt-get install python3-pytest)"
if [ ! -f "$LIB" ]; then
    echo "$LIB is missing: build it with make"
    echo "python: 0 passed, 1 failed"
    exit 1
fi

# A sanitizer build's library needs its runtime loaded first (san_preload.sh)
. tests/san_preload.sh
PRELOAD=$(san_preload "$LIB") || skip "$LIB is a clang sanitizer build and $PRELOAD was not found"
if [ -n "$PRELOAD" ]; then
    export LD_PRELOAD="$PRELOAD"
    # Python itself is not leak-free; and ASan's quarantine would keep freed
    # memory resident, which the 10 000-call memory test measures.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:quarantine_size_mb=0"
    echo "sanitizer build: preloading $PRELOAD"
fi

out=$(PYTHONPATH="$(pwd)/python${PYTHONPATH:+:$PYTHONPATH}" LATEFUSE_LIB="$LIB" \
      LATEFUSE_CLI="$BUILD/latefuse" PYTHONDONTWRITEBYTECODE=1 \
      "$PY" -m pytest -q -rs --capture=sys -p no:cacheprovider -p no:hypothesispytest python/tests 2>&1)
rc=$?
printf '%s\n' "$out"
summary=$(printf '%s\n' "$out" | grep -E '[0-9]+ (passed|failed|errors?|skipped)' | tail -n 1)
count() { printf '%s\n' "$summary" | grep -oE "[0-9]+ $1" | head -n 1 | cut -d' ' -f1; }
passed=$(count passed); failed=$(count failed); errors=$(count 'errors?'); skipped=$(count skipped)
passed=${passed:-0}; failed=$((${failed:-0} + ${errors:-0})); skipped=${skipped:-0}
if [ $rc -ne 0 ] && [ $failed -eq 0 ]; then
    echo "pytest exited with status $rc"
    failed=1
fi
if [ $skipped -gt 0 ] && [ "${CI:-}" = true ]; then
    echo "FAIL (skipped under CI=true): $skipped Python tests skipped"
    failed=$((failed + skipped)); skipped=0
fi
if [ $skipped -gt 0 ]; then echo "python: $passed passed, $failed failed, $skipped skipped"
else echo "python: $passed passed, $failed failed"; fi
[ $failed -eq 0 ]
