#!/bin/sh
# readme_test.sh — the README's commands work as written: the lines of
# the shell block between "<!-- quickstart" and "<!-- /quickstart -->" are
# run one by one, verbatim (comments included), in a scratch folder whose
# ./build is the build under test, then every `./build/...` line of the
# README's other shell blocks, in the same folder; `make ...` lines are what `make test`
# itself has just done and are only checked to name real targets.  Each
# command must exit 0 and print something, and the files the block names
# must exist after it.  The `make` lines of the other shell blocks must
# name real targets (`make -n`), and the Python block runs with its
# arrays bound to the quick start's demo/ files (skipped, with its reason,
# where /usr/bin/python3 or numpy is missing).  LF_BUILD names the build
# folder (default build).
# Last line: "readme: N passed, N failed, K skipped".
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LF_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
pass=0 fail=0 skipped=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $*"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/latefuse_readme.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
ln -s "$BUILD" "$T/build"
# run_line WHAT LINE: LINE in the scratch folder must exit 0 and print something
run_line() {
    (cd "$T" && sh -c "$2") >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    if [ "$rc" -eq 0 ] && [ -s "$T/out" ]; then ok; else bad "$1'$2' -> exit $rc: $(tail -3 "$T/err")"; fi
}
# make_target WHAT LINE: the target (or variable) a `make ...` line names
# is one make knows (`make` alone, `make test` and `make demo`: what
# `make test` itself runs)
make_target() {
    target=$(echo "$2" | awk '{ print $2 }')
    case $target in ''|\#*|test|demo) ok ;;
    *) if make -n -C "$ROOT" "$target" >/dev/null 2>&1; then ok; else bad "$1no make target '$target'"; fi ;;
    esac
}
# written BLOCK: every demo/ file BLOCK names exists and is not empty
written() {
    for f in $(grep -o 'demo/[a-z_]*\.[a-z]*' "$1" | sort -u); do
        if [ -s "$T/$f" ]; then ok; else bad "$f was not written"; fi
    done
}

sed -n '/^<!-- quickstart/,/^<!-- \/quickstart -->/p' "$ROOT/README.md" |
    sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' >"$T/block"
n=$(wc -l <"$T/block")
if [ "$n" -ge 5 ]; then ok; else bad "the quick start block has $n lines"; fi
i=0
while IFS= read -r line; do
    i=$((i + 1))
    case $line in
    make*) make_target "line $i: " "$line"; continue ;;
    esac
    run_line "line $i: " "$line"
done <"$T/block"
written "$T/block"
# every other ./build/ command of the README's shell blocks, after the quick
# start, in the same folder (they read its demo/ files)
awk '/^<!-- quickstart/ { q = 1 } /^<!-- \/quickstart -->/ { q = 0; next }
     !q && /^```sh$/ { b = 1; next } b && /^```$/ { b = 0 } !q && b && /^\.\/build\// { print }' \
    "$ROOT/README.md" >"$T/more"
n=$(wc -l <"$T/more")
if [ "$n" -ge 4 ]; then ok; else bad "the README's other shell blocks have $n ./build/ commands"; fi
while IFS= read -r line; do run_line "" "$line"; done <"$T/more"
written "$T/more"
# the `make` lines of the other shell blocks
awk '/^<!-- quickstart/ { q = 1 } /^<!-- \/quickstart -->/ { q = 0; next }
     !q && /^```sh$/ { b = 1; next } b && /^```$/ { b = 0 } !q && b && /^make/ { print }' \
    "$ROOT/README.md" >"$T/make"
n=$(wc -l <"$T/make")
if [ "$n" -ge 5 ]; then ok; else bad "the README's other shell blocks have $n make lines"; fi
while IFS= read -r line; do make_target "" "$line"; done <"$T/make"
# the Python block, its validation and test arrays the demo's files
sed -n '/^```python$/,/^```$/p' "$ROOT/README.md" | sed '/^```/d' >"$T/block.py"
if [ ! -s "$T/block.py" ]; then bad "the README has no Python block"
elif ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then skip "the README's Python block: /usr/bin/python3 with numpy is missing"
else
    { echo 'import numpy as np'
      echo 'p_image, p_text, y = (np.load("demo/%s.npy" % n) for n in ("image_val", "text_val", "y_val"))'
      echo 'p_image_test = np.load("demo/image_test.npy")'
      cat "$T/block.py"; } >"$T/readme.py"
    # a sanitizer build's library needs its runtime loaded first (as python_test.sh)
    . "$ROOT/tests/san_preload.sh"
    if ! pre=$(san_preload "$BUILD/liblatefuse.so"); then
        skip "the README's Python block: the sanitizer runtime $pre was not found"
    elif (cd "$T" && PYTHONPATH="$ROOT/python" LATEFUSE_LIB="$BUILD/liblatefuse.so" LD_PRELOAD="$pre" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" /usr/bin/python3 readme.py) >"$T/out" 2>&1; then ok
    else bad "the README's Python block: $(tail -3 "$T/out")"; fi
fi
# the numbers the quick start ends with: auto's choice beats both models alone
acc=$(cd "$T" && ./build/latefuse eval demo/fusion.lf -m image=demo/image_test.npy -m text=demo/text_test.npy \
      -y demo/y_test.npy --json | sed -n 's/.*"accuracy": *\([0-9.]*\).*/\1/p')
if [ -n "$acc" ] && awk "BEGIN { exit !($acc > 0.85) }"; then ok; else bad "fused test accuracy '$acc' <= 0.85"; fi
echo "readme: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
