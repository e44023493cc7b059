"""The fusion methods of issue 14 from Python: auto is Fusion()'s default and
says why it chose; ges's and the dynamic methods' settings reach the
library; every method reports each model's importance."""
import numpy as np
import pytest

import latefuse


def _task(n=300, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    ps = []
    for k in range(3):
        z = rng.normal(size=(n, c)) * 1.5
        z[np.arange(n), y] += 0.8 + 0.4 * k
        p = np.exp(z)
        ps.append((p / p.sum(1, keepdims=True)).astype(np.float32))
    return ps, y


def test_default_is_auto_and_explains():
    ps, y = _task()
    f = latefuse.Fusion(epochs=2, folds=3)
    assert f.method == "auto"
    f.fit(ps, y)
    if f.method_ == "ensemble":  # its best candidates, within a standard error of the best single
        assert f.auto_note_.startswith("auto chose an ensemble of ") and len(f.ensemble_) >= 1
    else:
        assert f.auto_note_.startswith("auto chose " + f.method_) and f.ensemble_ is None
    imp = f.importance_
    assert set(imp["without"]) == {"model0", "model1", "model2"}
    # the strongest model matters most
    assert imp["without"]["model2"]["accuracy"] < imp["accuracy"]


def test_ges_settings_reach_the_library():
    ps, y = _task()
    f = latefuse.Fusion(method="ges", ensemble_size=7).fit(ps, y)
    counts = f.weights_ * 7
    assert np.allclose(counts, np.round(counts), atol=1e-5) and abs(counts.sum() - 7) < 1e-4
    g = latefuse.Fusion(method="ges", ensemble_size=7, bags=3, seed=1).fit(ps, y)
    assert abs((g.weights_ * 21).sum() - 21) < 1e-4
    assert latefuse.Fusion(method="knora-u", neighbors=3).fit(ps, y).predict_proba(ps).shape == (300, 3)


def test_bad_settings():
    ps, y = _task(60)
    with pytest.raises(ValueError, match="metric must be 'log-loss', 'accuracy' or 'macro-f1', got 'f1'"):
        latefuse.Fusion(metric="f1").fit(ps, y)
    with pytest.raises(ValueError, match="neighbors must be an integer in 1..1000, got 0"):
        latefuse.Fusion(method="ola", neighbors=0).fit(ps, y)


def _hand():
    """test_dynamic.c's hand case: two models, six fitting rows, features
    (x, 7) with x = 0..5; queries at x = 0.6 and 4.9."""
    ua = np.array([0.9, 0.8, 0.3, 0.2, 0.6, 0.35], np.float32)
    ub = np.array([0.6, 0.3, 0.7, 0.2, 0.4, 0.35], np.float32)
    two = lambda u: np.stack([u, 1 - u], 1).astype(np.float32)  # noqa: E731
    y = np.array([0, 0, 1, 1, 1, 0])
    F = np.stack([np.arange(6), np.full(6, 7)], 1).astype(np.float32)
    q = [two(np.array([0.7, 0.4], np.float32)), two(np.array([0.55, 0.38], np.float32))]
    qf = np.array([[0.6, 7], [4.9, 7]], np.float32)
    return [two(ua), two(ub)], y, F, q, qf


def test_dynamic_selection_in_a_feature_space(tmp_path):
    P, y, F, q, qf = _hand()
    f = latefuse.Fusion(method="knora-u", neighbors=3).fit(P, y, features=F)
    assert f.n_features_ == 2 and f.n_neighbors_ == 3
    got = f.predict_proba(q, features=qf)
    # neighbours r1, r0, r2 by the features: (3 A + 1 B) / 4; r5, r4, r3: (1 A + 2 B) / 3
    assert np.allclose(got[:, 0], [0.6625, 1.16 / 3], atol=1e-6)
    plain = latefuse.Fusion(method="knora-u", neighbors=3).fit(P, y)
    assert plain.n_features_ == 0 and latefuse.Fusion(method="mean").fit(P, y).n_neighbors_ == 0 and abs(plain.predict_proba(q)[0, 0] - 0.625) < 1e-6
    path = str(tmp_path / "kf.lf")
    f.save(path)
    g = latefuse.Fusion.load(path)
    assert g.n_features_ == 2 and g.n_neighbors_ == 3 and np.array_equal(g.predict_proba(q, features=qf), got)
    import pickle
    assert np.array_equal(pickle.loads(pickle.dumps(f)).predict_proba(q, features=qf), got)
    assert list(f.predict(q, features=qf)) == [0, 1]


def test_feature_space_errors():
    P, y, F, q, qf = _hand()
    f = latefuse.Fusion(method="knora-e", neighbors=3).fit(P, y, features=F)
    with pytest.raises(latefuse.LatefuseError, match=r"the fusion \(knora-e\) was fitted with 2 features a row: give them"):
        f.predict_proba(q)
    with pytest.raises(latefuse.LatefuseError,
                       match=r"the features have 1 values a row, the fusion \(knora-e\) was fitted with 2"):
        f.predict_proba(q, features=qf[:, :1])
    bad = qf.copy()
    bad[1, 0] = np.inf
    with pytest.raises(latefuse.LatefuseError, match=r"feature row 1 holds a non-finite value \(inf in column 0\)"):
        f.predict_proba(q, features=bad)
    with pytest.raises(ValueError, match=r"predict_proba: features must be \(N, F\) with N = 2 rows"):
        f.predict_proba(q, features=F)
    with pytest.raises(latefuse.LatefuseError, match="mean does not use features: only knora-e, knora-u, ola and lca"):
        latefuse.Fusion(method="mean").fit(P, y, features=F)
    plain = latefuse.Fusion(method="ola").fit(P, y)
    with pytest.raises(latefuse.LatefuseError, match=r"the fusion \(ola\) was fitted without features: give none"):
        plain.predict_proba(q, features=qf)


def test_auto_given_features_takes_them_at_predict():
    """Fusion() (auto) fitted with features that carry nothing chooses a
    method that does not search them; predict takes the same features and
    leaves them (the numbers of a predict without)"""
    ps, y = _task()
    F = np.random.default_rng(7).random((len(y), 4)).astype(np.float32)
    f = latefuse.Fusion(epochs=2, folds=3).fit(ps, y, features=F)
    assert f.method_ not in ("knora-e", "knora-u", "ola", "lca")
    assert np.array_equal(f.predict_proba(ps, features=F), f.predict_proba(ps))


def test_compare_with_features():
    ps, y = _task()
    rng = np.random.default_rng(5)
    F = (y[:, None] * np.arange(1, 4) + 3 * rng.random((300, 3))).astype(np.float32) * 100
    with_f = latefuse.compare(ps, y, methods="knora-u,mean", features=F, as_frame=False)
    without = latefuse.compare(ps, y, methods="knora-u,mean", as_frame=False)
    row = lambda t, m: next(r for r in t if r["method"] == m)  # noqa: E731
    assert row(with_f, "mean")["log_loss"] == row(without, "mean")["log_loss"]
    assert row(with_f, "knora-u")["log_loss"] != row(without, "knora-u")["log_loss"]
