#!/bin/sh
# compat_test.sh — model files written before a change of a method's
# training still load and predict the same bits: tests/compat/ holds small
# fitted files of stack-lr, wavg, wavg-class and gate written by main at
# 1b0d7aa (before issue 14's shrinkage; tests/compat/make_fixtures.sh), a
# shrunk stack-lr written by dc1b400 (Adam lr 0.01, since 0.003: the
# learning rate in its architecture differs from today's), their inputs (one
# model with missing rows) and the predictions those binaries made.
# Each is predicted again here and compared byte for byte, and inspected.
# Run from the repository root; LF_BUILD = build folder.
# Last line: "compat: N passed, N failed"; exit status non-zero on failure.
cd "$(dirname "$0")/.." || exit 1
BUILD=${LF_BUILD:-build}
BIN=$BUILD/latefuse
D=tests/compat
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
tmp=$(mktemp -d /tmp/compat_test.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

for m in stack-lr wavg wavg-class gate stack-lr.s13; do
    if "$BIN" predict $D/$m.fusion -m a=$D/in_0.npy -m b=$D/in_1.npy -m c=$D/in_2.npy --no-fsync \
        -o "$tmp/$m.npy" >"$tmp/out" 2>&1; then
        cmp -s "$tmp/$m.npy" $D/$m.expected.npy && ok || bad "$m: the predictions differ from $D/$m.expected.npy"
    else
        bad "$m: predict failed: $(cat "$tmp/out")"
    fi
    "$BIN" inspect $D/$m.fusion >"$tmp/insp" 2>&1 && grep -q "^method: *${m%.s13}\$" "$tmp/insp" && ok ||
        bad "$m: inspect: $(head -5 "$tmp/insp")"
done
echo "compat: $pass passed, $fail failed"
[ $fail -eq 0 ]
