"""sklearn_peer.py — the scikit-learn side of benchmark B5 for `stack-lr`:
LogisticRegression (multinomial, lbfgs) on the concatenated
log-probabilities of the three models, as latefuse's stack-lr sees them
(log max(p, 1e-7); latefuse's mask columns are all ones here and are left
out: the intercept plays their part).

The L2 strength is the one latefuse uses on more than 20000 rows: latefuse
minimises mean loss + l2 * |W|^2 with l2 = 0.003 * 20000 / n (the weakest
of stack-lr's grid, scaled; W its correction to the product rule, which is
itself a fixed linear map of the same inputs, so the model family is the
same and only the point the penalty pulls towards differs: the product
rule there, 0 here), scikit-learn C * sum loss + |W|^2 / 2, so
C = 1 / (2 * l2 * n).  scikit-learn trains on all n training rows (latefuse
holds out 10 % for validation), with its default tolerance and at most
LF_BENCH_B5_SK_ITER (default 100, scikit-learn's default) iterations; the
iterations used are reported.  The time covers the input preparation and
fit; the held-out log-loss is computed like lf_fusion_metrics
(-mean log clip(q_y, 1e-15, 1)).  One untimed warm-up fit first, as the
other sides do.

    /usr/bin/python3 bench/sklearn_peer.py b5 DIR [RUNS]

Prints "RESULT <key> <value>" lines.
"""
import os
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression


def result(key, value):
    print(f"RESULT {key} {value}", flush=True)


def load(folder, part):
    ps = [np.load(os.path.join(folder, f"{part}_{k}.npy")) for k in "abc"]
    y = np.load(os.path.join(folder, f"{part}_y.npy"))
    return ps, y


def features(ps):
    return np.log(np.maximum(np.concatenate(ps, axis=1), np.float32(1e-7)))


def b5(folder, runs):
    ps, y = load(folder, "train")
    pt, yt = load(folder, "test")
    n = y.shape[0]
    max_iter = int(os.environ.get("LF_BENCH_B5_SK_ITER", "100"))
    times, clf = [], None
    for r in range(runs + 1):  # r = 0: the warm-up, as latefuse's
        t0 = time.perf_counter()
        x = features(ps)
        l2 = 0.003 * min(1.0, 20000 / n)  # learned.c: the weakest x 20000 / rows
        clf = LogisticRegression(multi_class="multinomial", solver="lbfgs", C=1.0 / (2 * l2 * n),
                                 max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(x, y)
        dt = time.perf_counter() - t0
        if r:
            times.append(dt)
        print(f"sklearn_peer: B5 stack-lr fit {dt:.3f} s, {int(clf.n_iter_[0])} iterations"
              f"{'' if r else ' (warm-up)'}", file=sys.stderr)
    q = clf.predict_proba(features(pt))
    pty = np.clip(q[np.arange(yt.shape[0]), yt], 1e-15, 1.0)
    result("sklearn.version", sklearn.__version__)
    result("b5.stack-lr.sklearn.runs", runs)
    result("b5.stack-lr.sklearn.median_s", f"{statistics.median(times):.6g}")
    result("b5.stack-lr.sklearn.min_s", f"{min(times):.6g}")
    result("b5.stack-lr.sklearn.max_s", f"{max(times):.6g}")
    result("b5.stack-lr.sklearn.iterations", int(clf.n_iter_[0]))
    result("b5.stack-lr.sklearn.max_iter", max_iter)
    result("b5.stack-lr.sklearn.logloss", f"{float(-np.log(pty).mean()):.6g}")
    result("b5.stack-lr.sklearn.accuracy", f"{float((q.argmax(axis=1) == yt).mean()):.6g}")


def main(argv):
    if len(argv) >= 3 and argv[1] == "b5":
        b5(argv[2], int(argv[3]) if len(argv) > 3 else 1)
        return 0
    print("usage: sklearn_peer.py b5 DIR [RUNS]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
