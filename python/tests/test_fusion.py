"""
test_fusion.py — Fusion / compare over the C fusion API, and identity with
the `latefuse` CLI on the same files.

Fixed rules are checked by hand (mean of the two models' probabilities);
learned methods by their invariants (probabilities, weights summing to 1,
save/load bit-identical).  The CLI test writes .npy files, runs `latefuse
fit` and `latefuse predict`, and requires the CLI's output to equal
predict_proba exactly, both ways (CLI file read by Python, Python file read
by the CLI); it skips with a reason where the CLI lacks the fit command.
"""
import os
import subprocess

import numpy as np
import pytest

import latefuse
from conftest import cli_path, make_task


def test_mean_rule_by_hand_with_missing_rows_and_models(task):
    (p1, p2), y = task
    f = latefuse.Fusion(method="mean").fit([p1, p2], y, names=["image", "text"])
    assert f.method_ == "mean" and f.names_ == ["image", "text"] and f.n_classes_ == 3
    np.testing.assert_allclose(f.predict_proba([p1, p2]), (p1 + p2) / 2, atol=1e-6)
    q2 = p2.copy()
    q2[5] = np.nan  # a missing output: the mean of the models present
    got = f.predict_proba([p1, q2])
    np.testing.assert_allclose(got[5], p1[5], atol=1e-6)
    np.testing.assert_allclose(got[6], (p1[6] + p2[6]) / 2, atol=1e-6)
    np.testing.assert_allclose(f.predict_proba([None, p2]), p2, atol=1e-6)
    both = np.full_like(p1, np.nan)
    np.testing.assert_allclose(f.predict_proba([both, None])[0], [1 / 3] * 3, atol=1e-6)
    np.testing.assert_array_equal(f.predict([p1, p2]), np.argmax((p1 + p2) / 2, axis=1))
    assert f.weights_ is None and np.all(f.temperatures_ == 1.0)


def test_wavg_learns_the_better_model_and_round_trips(task, tmp_path):
    (p1, p2), y = task
    f = latefuse.Fusion(method="wavg", seed=0).fit([p1, p2], y)
    assert f.names_ == ["model0", "model1"]
    assert f.weights_.shape == (2,) and abs(f.weights_.sum() - 1) < 1e-5
    assert f.weights_[0] > f.weights_[1]  # model 0 has the stronger signal
    prob = f.predict_proba([p1, p2])
    assert prob.dtype == np.float32 and prob.shape == (300, 3)
    np.testing.assert_allclose(prob.sum(1), 1, atol=1e-5)
    f.save(tmp_path / "f.lf")
    g = latefuse.Fusion.load(tmp_path / "f.lf")
    assert g.method_ == "wavg" and g.names_ == f.names_
    np.testing.assert_array_equal(g.weights_, f.weights_)
    np.testing.assert_array_equal(g.predict_proba([p1, p2]), prob)
    h = latefuse.load_fusion(str(tmp_path / "f.lf"))
    np.testing.assert_array_equal(h.predict_proba([p1, None]), g.predict_proba([p1, None]))
    assert f.score([p1, p2], y) == pytest.approx(float(np.mean(prob.argmax(1) == y)))


def test_wavg_class_weights_calibration_and_logits(task):
    (p1, p2), y = task
    f = latefuse.Fusion(method="wavg-class", calibrate=True).fit([p1, p2], y)
    assert f.calibrated_ and f.weights_.shape == (2, 3)
    np.testing.assert_allclose(f.weights_.sum(0), 1, atol=1e-5)
    assert f.temperatures_.shape == (2,) and np.all(f.temperatures_ > 0)
    z1, z2 = np.log(p1) + 3.0, np.log(p2) - 1.0  # raw scores: softmax gives p back
    g = latefuse.Fusion(method="mean", logits=True).fit([z1, z2], y)
    np.testing.assert_allclose(g.predict_proba([z1, z2]), (p1 + p2) / 2, atol=1e-5)


def test_compare_table(task):
    (p1, p2), y = task
    rows = latefuse.compare([p1, p2], y, methods=["mean", "wavg"], names=["image", "text"],
                            folds=3, as_frame=False)
    names = [r["method"] for r in rows]
    assert set(names) == {"mean", "wavg", "model:image", "model:text", "oracle"}
    assert names[-1] == "oracle"
    keys = {"method", "calibrated", "accuracy", "accuracy_std", "macro_f1", "log_loss", "brier", "ece",
            "acc_without_image", "acc_without_text"}
    assert keys <= set(rows[0])
    mean = next(r for r in rows if r["method"] == "mean")
    assert 0 < mean["accuracy"] <= 1 and mean["log_loss"] > 0 and not mean["calibrated"]
    assert 0 < mean["acc_without_image"] < mean["accuracy"] + 0.2
    meth = [r for r in rows if r["kind"] != "oracle"]
    assert [r["log_loss"] for r in meth] == sorted(r["log_loss"] for r in meth)
    m = latefuse.fusion_metrics((p1 + p2) / 2, y)
    assert m["accuracy"] == pytest.approx(float(np.mean(((p1 + p2) / 2).argmax(1) == y)))
    try:
        import pandas  # noqa: F401
    except ImportError:
        assert isinstance(latefuse.compare([p1, p2], y, methods="mean", folds=3), list)
    else:
        assert list(latefuse.compare([p1, p2], y, methods="mean", folds=3)["method"])[-1] == "oracle"


def _env():
    """The CLI's environment: without the sanitizer runtime that
    tests/python_test.sh preloads for Python (the CLI brings its own)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def _run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env())


def _cli_has_fit():
    exe = cli_path()
    if not os.path.isfile(exe):
        return False, "the CLI %s is not built" % exe
    try:
        r = _run([exe, "fit", "--help"])
    except OSError as e:
        return False, "the CLI %s cannot run: %s" % (exe, e)
    if "usage: latefuse fit" not in r.stdout + r.stderr:
        return False, "the CLI %s has no `fit` command yet" % exe
    return True, ""


@pytest.mark.parametrize("method,calibrate", [("mean", False), ("wavg", False), ("stack-lr", True)])
def test_identical_to_cli(tmp_path, method, calibrate):
    ok, why = _cli_has_fit()
    if not ok:
        pytest.skip(why)
    exe = cli_path()
    (p1, p2), y = make_task(n=240, seed=3)
    p2[7] = np.nan  # a missing output travels through the files too
    np.save(tmp_path / "image.npy", p1)
    np.save(tmp_path / "text.npy", p2)
    np.save(tmp_path / "y.npy", y.astype(np.int64))
    models = ["-m", "image=%s" % (tmp_path / "image.npy"), "-m", "text=%s" % (tmp_path / "text.npy")]
    fit = [exe, "fit"] + models + ["-y", str(tmp_path / "y.npy"), "--method", method, "--seed", "0",
                                   "-o", str(tmp_path / "cli.lf")] + (["--calibrate"] if calibrate else [])
    r = _run(fit)
    assert r.returncode == 0, r.stderr
    r = _run([exe, "predict", str(tmp_path / "cli.lf")] + models + ["-o", str(tmp_path / "cli.npy")])
    assert r.returncode == 0, r.stderr
    cli_out = np.load(tmp_path / "cli.npy")
    f = latefuse.Fusion(method=method, calibrate=calibrate, seed=0).fit([p1, p2], y, names=["image", "text"])
    np.testing.assert_array_equal(f.predict_proba([p1, p2]), cli_out.astype(np.float32))
    g = latefuse.Fusion.load(tmp_path / "cli.lf")  # the CLI's file in Python
    np.testing.assert_array_equal(g.predict_proba([p1, p2]), cli_out.astype(np.float32))
    f.save(tmp_path / "py.lf")  # Python's file in the CLI
    r = _run([exe, "predict", str(tmp_path / "py.lf")] + models + ["-o", str(tmp_path / "py.npy")])
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "py.npy").astype(np.float32), cli_out.astype(np.float32))


def test_fit_with_missing_rows_and_a_missing_model(task):
    (p1, p2), y = task
    q1 = p1.copy()
    q1[:40] = np.nan  # image missing for the first 40 samples
    f = latefuse.Fusion(method="wavg").fit([q1, p2], y)
    prob = f.predict_proba([q1, p2])
    np.testing.assert_allclose(prob[:40], p2[:40], atol=1e-5)  # only text is present there
    g = latefuse.Fusion(method="acc-weighted").fit([p1, p2, None], y)
    assert g.n_models_ == 3
    np.testing.assert_allclose(g.predict_proba([p1, p2, None]).sum(1), 1, atol=1e-5)


def test_seed_example_runs():
    import sys
    from conftest import REPO
    r = subprocess.run([sys.executable, os.path.join(REPO, "python", "examples", "seed.py")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("weights:")]
    w = [float(v) for v in line[0].split()[1:]]
    assert len(w) == 2 and abs(sum(w) - 1) < 1e-5


def test_predict_files_streams_every_format(tmp_path):
    """predict_files (lf_fusion_predict_files) gives predict_proba's bytes
    for C-order, Fortran-order and CSV inputs, the classes, and a bad row
    names its file and 1-based row, leaving no output."""
    rng = np.random.default_rng(3)
    a = rng.dirichlet(np.ones(3), size=20000).astype(np.float32)
    b = rng.dirichlet(np.ones(3), size=20000).astype(np.float32)
    y = rng.integers(0, 3, 20000)
    f = latefuse.Fusion(method="product").fit([a, b], y, names=["a", "b"])
    want = f.predict_proba([a, b])
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "bf.npy", np.asfortranarray(b))
    np.savetxt(tmp_path / "b.csv", b, delimiter=",", fmt="%.9g")
    for bpath in ("bf.npy", "b.csv"):
        out = tmp_path / "out.npy"
        shape = f.predict_files({"a": tmp_path / "a.npy", "b": tmp_path / bpath}, out,
                                classes_out=tmp_path / "cls.npy", mmap=bpath == "bf.npy")
        assert shape == (20000, 3)
        assert np.array_equal(np.load(out), want)
        assert np.array_equal(np.load(tmp_path / "cls.npy"), want.argmax(axis=1))
    bad = b.copy()
    bad[17000, 0] += 0.5
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(latefuse.LatefuseError, match=r"row 17001 of '.*bad.npy' sums to 1.5"):
        f.predict_files([("a", tmp_path / "a.npy"), ("b", tmp_path / "bad.npy")], tmp_path / "x.npy")
    assert not (tmp_path / "x.npy").exists()
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def _auto_task():
    """test_ensemble.c's data (3 models, 500 rows, 3 classes, model k right
    more often as k grows, some rows of model 0 missing), bit for bit"""
    import math
    M, N, C, s = 3, 500, 3, 2
    mask = (1 << 64) - 1
    P = [np.empty((N, C), dtype=np.float32) for _ in range(M)]
    y = np.empty(N, dtype=np.int32)

    def urand():
        nonlocal s
        s = (s * 6364136223846793005 + 1442695040888963407) & mask
        return (s >> 11) / 9007199254740992.0
    for r in range(N):
        y[r] = int(urand() * C)
        for k in range(M):
            e = [math.exp(2.0 * urand() + ((0.3 + 0.15 * k) if c == y[r] else 0.0)) for c in range(C)]
            z = sum(e)
            P[k][r] = [v / z for v in e]
        if r % 37 == 5:
            P[0][r] = np.nan
    return P, y


def test_auto_keeps_an_ensemble_and_round_trips(tmp_path):
    P, y = _auto_task()
    f = latefuse.Fusion(method="auto", epochs=4, folds=4).fit(P, y, names=["a", "b", "c"])
    assert f.method_ == "ensemble" and f.auto_note_.startswith("auto chose an ensemble of ")
    assert len(f.ensemble_) >= 2 and abs(sum(w for _, _, w in f.ensemble_) - 1) < 1e-12
    assert all(m in latefuse.METHODS for m, _, _ in f.ensemble_)
    assert "ensemble" not in latefuse.METHODS and "auto" in latefuse.METHODS
    f.save(tmp_path / "e.lf")
    g = latefuse.Fusion.load(tmp_path / "e.lf")
    assert g.method_ == "ensemble" and g.method == "auto" and g.ensemble_ == f.ensemble_
    np.testing.assert_array_equal(g.predict_proba(P), f.predict_proba(P))
    with pytest.raises(ValueError, match="unknown method 'ensemble'"):
        latefuse.Fusion(method="ensemble").fit(P, y, names=["a", "b", "c"])


def test_penalty_is_shown_and_stored(task, tmp_path):
    """the shrunk learned methods say which L2 penalty they chose and how
    (penalty_, the C API's lf_fusion_penalty, inspect's 'penalty:' line);
    it survives the file; other methods have none"""
    (p1, p2), y = task
    for method in ("stack-lr", "wavg", "wavg-class", "gate"):
        f = latefuse.Fusion(method=method).fit([p1, p2], y, names=["image", "text"])
        pen = f.penalty_
        assert pen is not None and pen["l2"] >= 0, method
        assert pen["chosen_by"].startswith(("chosen by 5-fold", "the strongest", "the weakest")), pen
        f.save(tmp_path / "f.lf")
        assert latefuse.Fusion.load(tmp_path / "f.lf").penalty_ == pen
        cli = cli_path()
        if os.path.exists(cli):
            out = subprocess.run([cli, "inspect", str(tmp_path / "f.lf")], capture_output=True, text=True,
                                 check=True, env=_env()).stdout
            assert "penalty:     L2 %g, %s" % (pen["l2"], pen["chosen_by"]) in out, out
    assert latefuse.Fusion(method="mean").fit([p1, p2], y, names=["image", "text"]).penalty_ is None


def test_auto_single_fits_one_candidate():
    """auto_single=True (the C API's auto_single, fit --single): the data on
    which auto keeps an ensemble get its single choice instead"""
    P, y = _auto_task()
    f = latefuse.Fusion(method="auto", epochs=4, folds=4, auto_single=True).fit(P, y, names=["a", "b", "c"])
    assert f.get_params()["auto_single"] is True
    assert f.method_ in latefuse.METHODS and f.method_ != "auto" and f.ensemble_ is None
    assert f.auto_note_.startswith("auto chose ") and "ensemble" not in f.auto_note_


def test_n_jobs_sets_the_threads_not_the_result(tmp_path):
    """n_jobs (lf_fusion_options.threads, lf_predict_files_options.threads,
    the CLI's --threads): fit, compare and predict_files give the same bits
    on one thread as on OpenMP's count; a clone keeps it; a bad value is
    refused by name"""
    P, y = _auto_task()
    names = ["a", "b", "c"]
    a = latefuse.Fusion(method="auto", epochs=4, folds=4).fit(P, y, names=names)
    b = latefuse.Fusion(method="auto", epochs=4, folds=4, n_jobs=1).fit(P, y, names=names)
    assert np.array_equal(a.predict_proba(P), b.predict_proba(P)) and a.method_ == b.method_
    assert b.get_params()["n_jobs"] == 1 and "n_jobs=1" in repr(b) and "n_jobs" not in repr(a)
    import pickle
    from sklearn.base import clone
    assert clone(b).n_jobs == 1 and pickle.loads(pickle.dumps(b)).n_jobs == 1
    t = [latefuse.compare(P, y, folds=3, epochs=2, n_jobs=n, as_frame=False) for n in (1, -1, None)]
    assert repr(t[0]) == repr(t[1]) == repr(t[2])
    for i, p in enumerate(P):
        np.save(tmp_path / ("p%d.npy" % i), p)
    files = {n: tmp_path / ("p%d.npy" % i) for i, n in enumerate(names)}
    a.predict_files(files, tmp_path / "a.npy", fsync=False)
    b.predict_files(files, tmp_path / "b.npy", fsync=False)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    for bad in (0, 1.5, True, "2", 5000, -(os.cpu_count() or 1) - 1):
        with pytest.raises(ValueError, match="n_jobs"):
            latefuse.Fusion(method="mean", n_jobs=bad).fit(P, y)
        with pytest.raises(ValueError, match="n_jobs"):
            latefuse.compare(P, y, n_jobs=bad)


def _knora_e(seed, N, n_jobs=None):
    """knora-e fitted on the first 3000 of N rows of three models' outputs
    over 4 classes (its predict on N rows takes CPU seconds); the N rows"""
    rng = np.random.default_rng(seed)
    P = []
    for _ in range(3):
        x = rng.random((N, 4), dtype=np.float32) ** 3
        P.append(x / x.sum(1, keepdims=True))
    f = latefuse.Fusion(method="knora-e", n_jobs=n_jobs).fit([p[:3000] for p in P], rng.integers(0, 4, 3000))
    return f, P


def test_n_jobs_sets_the_threads_of_predict():
    """n_jobs in predict (lf_fusion_predict_options.threads): knora-e's
    predict on one thread leaves the other threads idle, on two it shares
    the work; the same bits; a bad value is refused by name"""
    import time
    f, P = _knora_e(3, 60000, n_jobs=1)
    time.sleep(0.3)  # an earlier test's idle OpenMP threads may spin for a while (libomp: 200 ms)

    def cpu(n_jobs):
        f.set_params(n_jobs=n_jobs)
        t0, p0 = time.thread_time(), time.process_time()
        out = f.predict_proba(P)
        own = time.thread_time() - t0
        return out, own, time.process_time() - p0 - own

    a, own1, other1 = cpu(1)
    b, own2, other2 = cpu(2)
    assert other1 <= 0.25 * own1 + 0.02, (own1, other1)
    assert other2 >= 0.2 * (own2 + other2), (own2, other2)
    assert np.array_equal(a, b) and np.array_equal(a, cpu(None)[0])
    f.set_params(n_jobs=5000)
    with pytest.raises(ValueError, match="n_jobs"):
        f.predict(P)


def test_n_jobs_none_keeps_a_limit_set_on_the_callers_thread():
    """n_jobs=None is OpenMP's count read on the caller's thread
    (lf_threads_default), so a threadpoolctl limit set there holds although
    the C call runs on a worker thread, whose count OpenMP keeps apart: a
    knora-e predict over more than one block runs on one thread"""
    import time
    import threadpoolctl  # scikit-learn's dependency
    from latefuse._lib import lib as clib
    f, P = _knora_e(4, 100000)
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert clib.lf_threads_default() == 1
        time.sleep(0.3)  # idle OpenMP threads of the fit may still spin
        t0, c0 = time.perf_counter(), time.process_time()
        f.predict_proba(P)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert cpu <= 1.3 * wall + 0.05, "one thread asked, %.3f s of CPU in %.3f s" % (cpu, wall)


def test_stratified_folds_is_the_library_split():
    """latefuse.stratified_folds: lf_folds_stratified's split (the same for the
    same labels, K and seed; balanced per class), and its errors."""
    y = np.repeat(np.arange(4), [10, 7, 5, 3])
    f = latefuse.stratified_folds(y, 3, seed=5)
    assert f.dtype == np.int64 and f.shape == y.shape
    assert set(f.tolist()) == {0, 1, 2}
    assert np.array_equal(f, latefuse.stratified_folds(y, 3, seed=5))
    assert not np.array_equal(f, latefuse.stratified_folds(y, 3, seed=6))
    sizes = np.bincount(f, minlength=3)
    assert sizes.max() - sizes.min() <= 1
    for c in range(4):
        per = np.bincount(f[y == c], minlength=3)
        assert per.max() - per.min() <= 1
    with pytest.raises(ValueError, match="^stratified_folds: k-fold: K = 1 folds; K must be at least 2$"):
        latefuse.stratified_folds(y, 1)
    with pytest.raises(ValueError, match="^stratified_folds: label 5 at row 2 is out of range 0..2$"):
        latefuse.stratified_folds([0, 1, 5], 2, n_classes=3)
    # without n_classes: bad labels named as such (not as one-hot rows)
    with pytest.raises(ValueError, match="^stratified_folds: label -1 at row 0 is out of range 0..1$"):
        latefuse.stratified_folds([-1, 0], 2)
    with pytest.raises(ValueError, match="^stratified_folds: label nan at row 0 is not an integer$"):
        latefuse.stratified_folds([np.nan, 1], 2)
    with pytest.raises(ValueError, match="^stratified_folds: labels must be integers in 0..1$"):
        latefuse.stratified_folds(["a", "b"], 2)
