"""
digits.py — late fusion of five scikit-learn models on a third real data
set, with nothing to download: scikit-learn's bundled digits (1797 8x8
images of handwritten digits, 10 classes; Alpaydin & Kaynak, UCI).

Per split (seeded, stratified): TRAIN training images (default 500, as
mfeat's protocol has), the rest for test.  Five models of different kinds,
each fitted by scikit-learn: logistic regression and an RBF SVM (Platt's
probabilities) on standardised pixels, k nearest neighbours (10, distance
weights), a random forest (200 trees) and Gaussian naive Bayes.  Their
out-of-fold probabilities on the training part (stratified 5-fold,
cross_val_predict) are what every fusion is fitted on; their test
probabilities come from the models refitted on the whole training part.
Then latefuse.Fusion for every method, with and without calibration, and
for method="auto" (its choice by cross-validated log-loss), each scored on
the test part.  Prints, over the splits, each model's and each method's test
error (%, mean +- std) and log-loss, sorted by log-loss, then issue 14's
checks on this data: auto's log-loss against the best method's in
hindsight, auto's error against the best single model's, and the trained
methods whose error is above the mean rule's (by more than one standard
error of the split-by-split difference, or within it).

Run from the repository root after `make` (scikit-learn: Debian's
python3-sklearn, which `make deps` installs):
    /usr/bin/python3 python/examples/digits.py [--splits N] [--train N]
                                               [--seed S] [--folds K]
The table of 10 splits, seed 7, 5 folds (about a minute here):
examples/digits-results.md.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import latefuse  # noqa: E402
from latefuse import Fusion, fusion_metrics  # noqa: E402

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

FIXED = ("mean", "product", "max", "min", "median", "vote", "borda")


def members():
    return {
        "lr": make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)),
        "svm": make_pipeline(StandardScaler(), SVC(C=10, gamma="scale", probability=True, random_state=0)),
        "knn": KNeighborsClassifier(n_neighbors=10, weights="distance"),
        "rf": RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1),
        "nb": GaussianNB(var_smoothing=1e-2),
    }


def split_outputs(X, y, split, train):
    """The members' out-of-fold probabilities on the training part and their
    test probabilities, with both parts' labels."""
    Xtr, Xte, ytr, yte = train_test_split(X, y, train_size=train, stratify=y, random_state=split)
    cv = StratifiedKFold(5, shuffle=True, random_state=split)
    oof, test = [], []
    for m in members().values():
        oof.append(cross_val_predict(m, Xtr, ytr, cv=cv, method="predict_proba").astype(np.float32))
        test.append(m.fit(Xtr, ytr).predict_proba(Xte).astype(np.float32))
    return oof, ytr, test, yte


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--train", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7, help="the fusions' seed")
    ap.add_argument("--folds", type=int, default=5, help="auto's cross-validation folds")
    a = ap.parse_args()
    X, y = load_digits(return_X_y=True)
    names = list(members())
    methods = [(m, c) for m in latefuse.METHODS if m != "auto" for c in (False, True)]
    res = {}  # row name -> per split (error %, log-loss)
    t0 = time.time()
    for s in range(1, a.splits + 1):
        oof, ytr, test, yte = split_outputs(X, y, s, a.train)
        for n, p in zip(names, test):
            met = fusion_metrics(p, yte)
            res.setdefault("model:" + n, []).append((100 * (1 - met["accuracy"]), met["log_loss"]))
        for m, c in methods + [("auto", False)]:
            f = Fusion(method=m, calibrate=c, seed=a.seed, folds=a.folds).fit(oof, ytr, names=names)
            met = fusion_metrics(f.predict_proba(test), yte)
            res.setdefault(m + (" +calibrate" if c else ""), []).append((100 * (1 - met["accuracy"]), met["log_loss"]))
        print("split %d done (%.0f s)" % (s, time.time() - t0), file=sys.stderr)

    def mean(r, i):
        return float(np.mean([v[i] for v in res[r]]))

    print("digits: %d splits, %d training images, fusion seed %d, auto over %d folds; %.0f s" %
          (a.splits, a.train, a.seed, a.folds, time.time() - t0))
    print("| model or method | test error (%) | test log-loss |\n|---|---:|---:|")
    for r in sorted(res, key=lambda r: mean(r, 1)):
        e = [v[0] for v in res[r]]
        print("| `%s` | %.2f ± %.2f | %.4f |" % (r, np.mean(e), np.std(e, ddof=1) if len(e) > 1 else 0.0, mean(r, 1)))
    cands = [r for r in res if not r.startswith("model:") and r != "auto"]
    best = min(cands, key=lambda r: mean(r, 1))
    single = min((r for r in res if r.startswith("model:")), key=lambda r: mean(r, 0))
    se = np.std([v[0] for v in res[single]], ddof=1) / np.sqrt(a.splits) if a.splits > 1 else 0.0
    print("\nauto's test log-loss %.4f against %.4f for the best method in hindsight (`%s`): %+.1f %%" %
          (mean("auto", 1), mean(best, 1), best, 100 * (mean("auto", 1) / mean(best, 1) - 1)))
    print("auto's error %.2f %% against the best single model's %.2f %% (`%s`) + one standard error (%.2f)" %
          (mean("auto", 0), mean(single, 0), single[6:], se))
    over, within = [], []
    for r in cands:
        if r.split(" ")[0] in FIXED:
            continue
        d = np.array([v[0] - w[0] for v, w in zip(res[r], res["mean"])])
        if d.mean() > 0:
            sd = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
            (over if d.mean() > sd else within).append("`%s` %+.2f" % (r, d.mean()))
    print("trained methods worse than the mean rule (%.2f %%): %d by more than one standard error of the "
          "split-by-split difference (%s), %d within it (%s)" %
          (mean("mean", 0), len(over), ", ".join(over) or "none", len(within), ", ".join(within) or "none"))


if __name__ == "__main__":
    main()
