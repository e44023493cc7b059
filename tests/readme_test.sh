#!/bin/sh
# readme_test.sh — the README's commands work as written: the lines of
# the shell block between "<!-- quickstart" and "<!-- /quickstart -->" are
# run one by one, verbatim (comments included), in a scratch folder whose
# ./build is the build under test, then every `./build/...` line of the
# README's other shell blocks, in the same folder; `make ...` lines are what `make test`
# itself has just done and are only checked to name real targets.  Each
# command must exit 0 and print something, and the files the block names
# must exist after it.  LF_BUILD names the build folder (default build).
# Last line: "readme: N passed, N failed".
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LF_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/latefuse_readme.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
ln -s "$BUILD" "$T/build"
# run_line WHAT LINE: LINE in the scratch folder must exit 0 and print something
run_line() {
    (cd "$T" && sh -c "$2") >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    if [ "$rc" -eq 0 ] && [ -s "$T/out" ]; then ok; else bad "$1'$2' -> exit $rc: $(tail -3 "$T/err")"; fi
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
    make*)
        target=$(echo "$line" | awk '{ print $2 }')
        case $target in ''|\#*|test|demo) ok ;;
        *) if make -n -C "$ROOT" "$target" >/dev/null 2>&1; then ok; else bad "line $i: no make target '$target'"; fi ;;
        esac
        continue ;;
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
# the numbers the quick start ends with: auto's choice beats both models alone
acc=$(cd "$T" && ./build/latefuse eval demo/fusion.lf -m image=demo/image_test.npy -m text=demo/text_test.npy \
      -y demo/y_test.npy --json | sed -n 's/.*"accuracy": *\([0-9.]*\).*/\1/p')
if [ -n "$acc" ] && awk "BEGIN { exit !($acc > 0.85) }"; then ok; else bad "fused test accuracy '$acc' <= 0.85"; fi
echo "readme: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
