"""gendata.py — the input files of benchmarks B4, B5 and B6: model outputs as
float32 .npy files (N x C, rows summing to 1) and int32 labels, written
once, outside every timed region.

    /usr/bin/python3 bench/gendata.py rules DIR N [SUBSET ...]
        DIR/{a,b,c}.npy  3 models x N rows x 10 classes, each row U(0,1)
                         values divided by their sum (the content does not
                         matter to a fixed rule's cost), DIR/y.npy labels;
        for every SUBSET n < N also DIR/n{n}_{a,b,c,y}.npy: the first n rows
        (B4 fits its fixed rule on one, B6 scales over them).
    /usr/bin/python3 bench/gendata.py b5 DIR NTRAIN NTEST
        DIR/{train,test}_{a,b,c,y}.npy  3 models x 10 classes whose outputs
        are informative on different classes: model k is confident on the
        classes c with c % 3 == k and weak elsewhere, so per-class weights
        (wavg-class) and a stacker (stack-lr) beat a single weight per model.

Written in chunks of 1 million rows (np.lib.format.open_memmap), so the
generator itself needs little memory at 10 million rows.  Prints
"RESULT <key> <value>" lines (bytes written).
"""
import os
import sys

import numpy as np

C = 10
M = 3
NAMES = "abc"
CHUNK = 1_000_000


def result(key, value):
    print(f"RESULT {key} {value}", flush=True)


def rules(out, n, subsets):
    rng = np.random.default_rng(4)
    maps = [np.lib.format.open_memmap(os.path.join(out, f"{k}.npy"), mode="w+",
                                      dtype=np.float32, shape=(n, C)) for k in NAMES]
    y = np.lib.format.open_memmap(os.path.join(out, "y.npy"), mode="w+", dtype=np.int32,
                                  shape=(n,))
    for r0 in range(0, n, CHUNK):
        r1 = min(n, r0 + CHUNK)
        for m in maps:
            p = rng.random((r1 - r0, C), dtype=np.float32) + np.float32(1e-3)
            p /= p.sum(axis=1, keepdims=True)
            m[r0:r1] = p
        y[r0:r1] = rng.integers(0, C, r1 - r0, dtype=np.int32)
    for m in maps + [y]:
        m.flush()
    for s in subsets:
        if s >= n:
            continue
        for k, m in zip(NAMES + "y", maps + [y]):
            np.save(os.path.join(out, f"n{s}_{k}.npy"), np.ascontiguousarray(m[:s]))
    del maps, y
    result("data.rules_rows", n)
    result("data.rules_bytes", sum(os.path.getsize(os.path.join(out, f"{k}.npy"))
                                   for k in NAMES))


def informative(rng, y, k):
    """Model k's probabilities: softmax of N(0,1) logits plus a bump on the
    true class, large (3) where y % 3 == k, small (0.6) elsewhere."""
    n = y.shape[0]
    z = rng.standard_normal((n, C), dtype=np.float32)
    z[np.arange(n), y] += np.where(y % M == k, 3.0, 0.6).astype(np.float32)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def b5(out, ntrain, ntest):
    rng = np.random.default_rng(5)
    for part, n in (("train", ntrain), ("test", ntest)):
        y = rng.integers(0, C, n, dtype=np.int32)
        np.save(os.path.join(out, f"{part}_y.npy"), y)
        for k, name in enumerate(NAMES):
            np.save(os.path.join(out, f"{part}_{name}.npy"), informative(rng, y, k))
    result("data.b5_train_rows", ntrain)
    result("data.b5_test_rows", ntest)


def main(argv):
    if len(argv) >= 4 and argv[1] == "rules":
        rules(argv[2], int(argv[3]), [int(a) for a in argv[4:]])
    elif len(argv) == 5 and argv[1] == "b5":
        b5(argv[2], int(argv[3]), int(argv[4]))
    else:
        print("usage: gendata.py rules DIR N [SUBSET ...] | b5 DIR NTRAIN NTEST", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
