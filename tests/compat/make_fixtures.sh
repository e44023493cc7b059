#!/bin/sh
# make_fixtures.sh — writes the model files of tests/compat/ with a given
# latefuse binary: one small fitted file per learned method whose training
# changed (stack-lr, wavg, wavg-class, gate), and the predictions that binary
# makes with them.  tests/compat_test.sh checks that later binaries load
# these files and predict the same bits.  The files in the repository were
# written by main at 1b0d7aa, before the shrinkage of issue 14 (a model
# file then had no 'penalty'); do not rewrite them with a newer binary.
# With a TAG, only the named methods' files are written, as METHOD.TAG.fusion
# and METHOD.TAG.expected.npy, over the inputs already here: stack-lr.s13
# by main at dc1b400 (shrunk, Adam lr 0.01 before 0.003).
# Usage: sh tests/compat/make_fixtures.sh BUILD/latefuse [TAG METHOD...]
set -e
BIN=${1:?usage: make_fixtures.sh LATEFUSE [TAG METHOD...]}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
cd "$(dirname "$0")"
if [ $# -ge 3 ]; then
    tag=$2
    shift 2
    for m in "$@"; do
        "$BIN" fit -q -m a=in_0.npy -m b=in_1.npy -m c=in_2.npy -y labels.npy --method "$m" \
            --epochs 5 --seed 3 --no-fsync -o "$m.$tag.fusion"
        "$BIN" predict "$m.$tag.fusion" -m a=in_0.npy -m b=in_1.npy -m c=in_2.npy --no-fsync \
            -o "$m.$tag.expected.npy"
    done
    exit 0
fi
/usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(14)
N, C = 40, 3
y = rng.integers(0, C, N)
for k, sharp in enumerate([2.0, 1.0, 0.5]):
    z = rng.normal(0, 1, (N, C)); z[np.arange(N), y] += sharp
    p = np.exp(z); p /= p.sum(1, keepdims=True)
    p = p.astype(np.float32)
    if k == 2: p[[3, 17]] = np.nan  # missing rows
    np.save(f"in_{k}.npy", p)
np.save("labels.npy", y.astype(np.int64))
PY
for m in stack-lr wavg wavg-class gate; do
    "$BIN" fit -q -m a=in_0.npy -m b=in_1.npy -m c=in_2.npy -y labels.npy --method $m \
        --epochs 5 --seed 3 --no-fsync -o $m.fusion
    "$BIN" predict $m.fusion -m a=in_0.npy -m b=in_1.npy -m c=in_2.npy --no-fsync -o $m.expected.npy
done
