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
    assert f.auto_note_.startswith("auto chose " + f.method_)
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
