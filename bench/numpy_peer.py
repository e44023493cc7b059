"""numpy_peer.py — the numpy side of benchmark B4: fixed-rule fusion of
three models' .npy files into a fused .npy, the rules computed as
latefuse's `mean` and `product` define them (src/fusion/rules.h):

    mean     (a + b + c) / 3
    product  exp(mean_k log max(p_k, 1e-12)), renormalised per row (computed
             as latefuse does: the row maximum subtracted before exp)

Each timed run loads every file (np.load, mmap_mode=None: read into
memory), computes with in-place numpy operations (no temporary per
operation beyond the first load), and saves the result with np.save; the
interpreter's start and numpy's import are outside the timer.  One untimed
warm-up run first; median of RUNS.  Afterwards the result is compared with
latefuse's output file for the same rule (max absolute difference).

Each rule is timed twice: writing over the previous run's output, as the
timed `latefuse predict` runs do ("numpy"), and into a fresh file, the old
one removed before the timer starts ("numpy_fresh").  They differ on ext4:
a file truncated and rewritten (np.save over an existing file) has its new
blocks allocated and written out when it is closed, while a fresh file's
wait in the page cache.

    /usr/bin/python3 bench/numpy_peer.py b4 DIR RUNS LF_MEAN.npy LF_PRODUCT.npy

DIR holds a.npy, b.npy, c.npy (bench/gendata.py rules); the peer's outputs
go to DIR/np_mean.npy and DIR/np_product.npy.  Prints "RESULT <key>
<value>" lines.
"""
import os
import statistics
import sys
import time

import numpy as np


def result(key, value):
    print(f"RESULT {key} {value}", flush=True)


def fuse_mean(paths, out):
    acc = np.load(paths[0], mmap_mode=None)
    for p in paths[1:]:
        acc += np.load(p, mmap_mode=None)
    acc /= np.float32(len(paths))
    np.save(out, acc)


def fuse_product(paths, out):
    acc = None
    for p in paths:
        x = np.load(p, mmap_mode=None)
        np.maximum(x, np.float32(1e-12), out=x)
        np.log(x, out=x)
        if acc is None:
            acc = x
        else:
            acc += x
    acc /= np.float32(len(paths))
    acc -= acc.max(axis=1, keepdims=True)
    np.exp(acc, out=acc)
    acc /= acc.sum(axis=1, keepdims=True)
    np.save(out, acc)


def b4(folder, runs, lf_outputs):
    paths = [os.path.join(folder, f"{k}.npy") for k in "abc"]
    for rule, fn, lf_out in (("mean", fuse_mean, lf_outputs[0]),
                             ("product", fuse_product, lf_outputs[1])):
        out = os.path.join(folder, f"np_{rule}.npy")
        for key, fresh in (("numpy", False), ("numpy_fresh", True)):
            times = []
            for r in range(runs + 1):  # run 0 is the warm-up
                if fresh and os.path.exists(out):
                    os.remove(out)
                t0 = time.perf_counter()
                fn(paths, out)
                dt = time.perf_counter() - t0
                if r > 0:
                    times.append(dt)
                print(f"numpy_peer: B4 {rule} {key} {'warm-up' if r == 0 else 'run'} {dt:.3f} s",
                      file=sys.stderr)
            result(f"b4.{rule}.{key}.runs", runs)
            result(f"b4.{rule}.{key}.median_s", f"{statistics.median(times):.6g}")
            result(f"b4.{rule}.{key}.min_s", f"{min(times):.6g}")
        if os.path.exists(lf_out):
            a = np.load(lf_out, mmap_mode="r")
            b = np.load(out, mmap_mode="r")
            if a.shape != b.shape:
                result(f"b4.{rule}.max_abs_diff", "shape-mismatch")
            else:
                diff = 0.0
                for r0 in range(0, a.shape[0], 1_000_000):
                    d = np.abs(a[r0:r0 + 1_000_000].astype(np.float64) -
                               b[r0:r0 + 1_000_000]).max()
                    diff = max(diff, float(d))
                result(f"b4.{rule}.max_abs_diff", f"{diff:.3g}")
        os.remove(out)


def main(argv):
    if len(argv) == 6 and argv[1] == "b4":
        b4(argv[2], int(argv[3]), argv[4:6])
        return 0
    print("usage: numpy_peer.py b4 DIR RUNS LF_MEAN.npy LF_PRODUCT.npy", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
